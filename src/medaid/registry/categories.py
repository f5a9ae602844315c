"""A roster's category cell → a category id of the jurisdiction's policy.

Tried in order:
1. the medaid id itself (`dibao`);
2. the policy file's label, also without its leading number (Ningbo's "2 ") or its
   parenthetical (Yichun's "（二类）"): `最低生活保障对象`, `低保对象`;
3. the national `psn_idet_type` code (`2303`) when exactly one category of the
   jurisdiction carries it — 2360 (local extension) never does, it names many;
4. the short forms of ALIASES, each mapped to candidate ids, the first the jurisdiction
   has wins (孤儿 is `orphan`, or Ningbo's `tekun`, which includes scattered orphans).
Everything comes from the policy file except the short forms: no city is named here.
"""

from __future__ import annotations

import re
import unicodedata

from medaid.policy.model import Policy
from medaid.registry.types import Problem

ALIASES: dict[str, tuple[str, ...]] = {
    "低保": ("dibao",),
    "低保户": ("dibao",),
    "低保对象": ("dibao",),
    "特困": ("tekun",),
    "特困供养": ("tekun",),
    "五保": ("tekun",),  # rural 五保 was merged into 特困供养 in 2014
    "低边": ("dibao_edge",),
    "低保边缘": ("dibao_edge",),
    "低保边缘户": ("dibao_edge",),
    "孤儿": ("orphan", "tekun"),
    "优抚": ("youfu",),
    "支出型": ("zhichu_illness",),
    "支出型困难": ("zhichu_illness",),
    "因病致贫": ("yinbing", "zhichu_illness"),
    "临时救助": ("linshi_illness",),
    "精减退职": ("jingjian",),
    "困境儿童": ("kunjing_child",),
    "特困职工": ("tekun_worker", "tekun_worker_family"),
    "重残": ("zhongcan",),
    "返贫致贫": ("fanpin",),
    "监测对象": ("jiance",),
}

_LEADING_NUMBER = re.compile(r"^\d+\s*")
_PARENTHETICAL = re.compile(r"\([^)]*\)")
_CODE = re.compile(r"\d{4}")


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


class Categories:
    """The spellings one policy accepts, built once per roster."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        spellings: dict[str, set[str]] = {}
        codes: dict[str, list[str]] = {}
        for c in policy.spec.categories:
            label = _key(c.label)
            bare = _LEADING_NUMBER.sub("", label)
            for form in {label, bare, _PARENTHETICAL.sub("", bare)}:
                spellings.setdefault(form, set()).add(c.id)
            if c.idet_type:
                codes.setdefault(c.idet_type, []).append(c.id)
        # A spelling two categories share decides nothing (it falls through to the aliases).
        self.spellings = {form: next(iter(ids)) for form, ids in spellings.items()
                          if len(ids) == 1}
        for c in policy.spec.categories:
            self.spellings[c.id.lower()] = c.id
        self.codes = {code: tuple(ids) for code, ids in codes.items()}

    def resolve(self, value: str) -> str:
        """The category id for a cell, or Problem saying what the jurisdiction accepts."""
        policy = self.policy
        key = _key(value)
        if not key:
            raise Problem("人员类别为空", "category is empty")
        if key in self.spellings:
            return self.spellings[key]
        if _CODE.fullmatch(key):
            ids = self.codes.get(key, ())
            if len(ids) == 1:
                return ids[0]
            if ids:
                raise Problem(
                    f"人员身份类别代码{key}对应多个类别（{'、'.join(ids)}），请填写具体类别",
                    f"code {key} names several categories here ({', '.join(ids)}): "
                    f"give the category")
            raise Problem(f"{policy.spec.name}无人员身份类别代码{key}",
                          f"no category of {policy.jurisdiction} has psn_idet_type {key}")
        for candidate in ALIASES.get(key, ()):
            if candidate in policy.order:
                return candidate
        raise Problem(f"{policy.spec.name}无此人员类别：{value}",
                      f"unknown category {value!r} for {policy.jurisdiction} "
                      f"(ids: {', '.join(policy.categories)})")
