"""Policies compiled for the engine: categories in tie order, lines with their match sets.

`load_policy` validates a YAML file against the schema and then across references (every
category, pool and parameter a line names exists). Numbers stay in the schema's exact
Decimal form here; `policy.params` turns them into fen and basis points for a year.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import BaseModel, ValidationError

from medaid.core import labels
from medaid.core.errors import InputError, PolicyError
from medaid.policy import articles, schema_errors
from medaid.policy import schema as s
from medaid.policy.schema_errors import Step
from medaid.policy.structured import PARSERS
from medaid.policy.yaml_lines import line_of, parse_path

INTERNAL_POOL_PREFIX = "_"


@dataclass(frozen=True, slots=True)
class Line:
    """A rule line ready for matching; `spec` keeps its numbers (resolved per year)."""

    index: int
    rule: str
    source: str
    citation: str  # 南京市《宁政办发〔2023〕1号》（四）
    tier: str
    categories: frozenset[str] | None  # None: every category
    kinds: frozenset[str] | None  # None: every kind
    flags: frozenset[str]
    grades: frozenset[int] | None
    exclusive: bool
    alternative: bool
    pool: str
    base: s.Base  # its composition from the national amount fields
    spec: s.Line
    conditional: bool = False  # it names statuses or visit facts (s.Conditions)

    def matches_visit(self, kind: str, flags: frozenset[str], grade: int | None) -> bool:
        if self.kinds is not None and kind not in self.kinds:
            return False
        if not self.flags <= flags:
            return False
        return self.grades is None or grade in self.grades

    def covers(self, category: str) -> bool:
        return self.categories is None or category in self.categories


@dataclass(frozen=True, slots=True)
class Refusal:
    rule: str
    source: str
    citation: str
    categories: frozenset[str] | None
    kinds: frozenset[str] | None
    reason: str


@dataclass(frozen=True)
class Policy:
    spec: s.PolicyFile
    path: str
    categories: tuple[str, ...]  # tie order
    lines: tuple[Line, ...]
    exclusive_lines: tuple[Line, ...]
    alternative_lines: tuple[Line, ...]
    regular_lines: tuple[Line, ...]
    refusals: tuple[Refusal, ...]
    order: dict[str, int]  # category → tie order
    visit_pools: frozenset[str] = frozenset()  # pools that start from 0 at each visit

    @property
    def jurisdiction(self) -> str:
        return self.spec.jurisdiction

    @property
    def in_force(self) -> date:
        return self.spec.in_force

    def cite(self, article: str, document: str | None = None) -> str:
        return source(self.spec, article, document)

    def reference(self, article: str, document: str | None = None) -> str:
        return reference(self.spec, article, document)

    def cites(self, entry: CitedEntry) -> tuple[str, str]:
        """A rule of the file's article as a trace line's `source` and as people cite it."""
        return source(self.spec, entry.article, entry.document), \
            reference(self.spec, entry.article, entry.document)

    def reference_of(self, source: str) -> str:
        """A trace line's `source` ('file article') as people cite it."""
        for doc in (*self.spec.notices, self.spec.document):
            if source.startswith(doc.file):
                return reference(self.spec, source[len(doc.file):].strip(), doc.file)
        return reference(self.spec, source)

    @cached_property
    def pool_labels(self) -> dict[str, str]:
        """The labels the file gives its pools (`pools: {main_cap: {label: 年度救助限额}}`),
        each with the article that sets it where the pool names one (年度救助限额（第八条）)."""
        def cited(p: s.Pool) -> str:
            if p.article is None:
                return ""
            # a notice's article names the notice: the base document's is the line's
            return f"（{reference(self.spec, p.article, p.document) if p.document else p.article}）"
        return {name: (p.label or name) + cited(p)
                for name, p in (self.spec.pools or {}).items() if p.label or p.article}

    def refused(self, category: str, kind: str) -> bool:
        """Whether a refusal names the category and this kind of visit explicitly: such a
        visit is refused even where it would fall back to another setting's lines."""
        return any((r.categories is None or category in r.categories)
                   and r.kinds is not None and kind in r.kinds for r in self.refusals)

    def closes(self, category: str, kind: str, setting: str) -> bool:
        """Whether a refusal names the category for visits of this kind or of the setting it
        is settled as: where no line covers such a visit, no stage after assistance takes
        it either (a 再救助, a grant or a ceiling is medical assistance too)."""
        return self.closes_kind(category, kind) or self.closes_kind(category, setting)

    def closes_kind(self, category: str, kind: str) -> bool:
        """Whether a refusal names the category for this kind of visit (or for every kind)."""
        return any((r.categories is None or category in r.categories)
                   and (r.kinds is None or kind in r.kinds) for r in self.refusals)

    def label(self, category: str) -> str:
        for c in self.spec.categories:
            if c.id == category:
                return c.label
        return category

    def parameter(self, name: str) -> s.Parameter | None:
        return self.spec.parameters.get(name)

    def article_text(self, article: str, document: str | None = None) -> str:
        """An article of the policy's document (or of the notice `document`), found beside
        the policy file, in a deployment's folder or among the shipped seeds
        (articles.ArticleNotFound if not)."""
        return articles.article_text(document or self.spec.document.file, article,
                                     document_folders(self.path))


def document_folders(path: str) -> tuple[Path, ...]:
    """Where the document of the policy file at `path` is looked for before the shipped
    seeds: the policy file's own folder, then the folders of `MEDAID_POLICY_DIR`."""
    here = [Path(path).parent] if Path(path).is_file() else []
    local = [Path(d) for d in os.environ.get(POLICY_DIR_ENV, "").split(os.pathsep) if d]
    return tuple(dict.fromkeys([*here, *local]))


class CitedEntry(Protocol):
    """A rule of a policy file: its id, its article, the notice it is in (None: the
    policy's own document)."""

    @property
    def rule(self) -> str: ...
    @property
    def article(self) -> str: ...
    @property
    def document(self) -> str | None: ...


def source(spec: s.PolicyFile, article: str, document: str | None = None) -> str:
    """An article as a trace line's `source` gives it: the text's file, then the article
    (`document`: a notice's file; none: the policy's own document)."""
    return f"{document or spec.document.file} {article}"


def reference(spec: s.PolicyFile, article: str, document: str | None = None) -> str:
    """An article as people cite it: 南京市《宁政办发〔2023〕1号》（十六） (the document's
    number when its title starts with one, else the whole title); `document`: the file of
    one of the notices that amended it."""
    title = next((n.title for n in spec.notices if n.file == document), spec.document.title)
    number, _, rest = title.partition(" ")
    short = number if rest and number.endswith("号") else title
    return f"{spec.name}《{short}》{article}"


def cited(spec: s.PolicyFile) -> list[tuple[list[Step], str, str | None]]:
    """Every article the file cites, with the YAML path of its `article` key and the text
    it is in (None: the document; else a notice's file), in the file's order (a
    framework's floors cite theirs under `framework.article`)."""
    out: list[tuple[list[Step], str, str | None]] = []

    def walk(node: object, steps: list[Step], document: str | None) -> None:
        if isinstance(node, BaseModel):  # an entry's `by_category` values cite in its text
            fields = type(node).model_fields
            if isinstance(node, s.Cited | s.Pool):
                document = node.document
            for key, f in fields.items():
                value = getattr(node, key)
                if key == "article" and isinstance(value, str):
                    out.append(([*steps, key], value, document))
                else:
                    walk(value, [*steps, f.alias or key], document)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, [*steps, i], document)
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*steps, str(key)], document)

    walk(spec, [], None)
    if spec.framework.get("article"):
        out.append((["framework", "article"], spec.framework["article"], None))
    return out


def ci_tilts(spec: s.PolicyFile) -> list[s.CriticalIllnessTilt]:
    """The critical-illness tilts, in the order they are tried (none, one, or a list)."""
    tilt = spec.critical_illness_tilt
    return [] if tilt is None else tilt if isinstance(tilt, list) else [tilt]


def _set(values: list[str] | list[s.Kind] | str) -> frozenset[str] | None:
    return None if values == "*" else frozenset(values)


def _check_refs(spec: s.PolicyFile) -> None:
    """Cross-references the schema alone cannot see."""
    known = {c.id for c in spec.categories}
    if len(known) != len(spec.categories):
        raise PolicyError("categories: 救助对象身份 id 重复 / duplicate category id")
    params = spec.parameters
    notices = [n.file for n in spec.notices]
    for steps, _, document in cited(spec):
        if document is not None and document not in notices:
            where = schema_errors.dotted([*steps[:-1], "document"])
            raise PolicyError(f"{where}: 「{document}」不是本文件所列的修订通知（notices："
                              f"{'、'.join(notices) or '无'}） / not one of the notices")

    def cats(where: str, values: list[str] | str, key: str = "categories") -> None:
        if values != "*":
            for k, c in enumerate(values):
                if c not in known:
                    ids = ", ".join(c.id for c in spec.categories)
                    raise PolicyError(f"{where}.{key}[{k}]: 未列于 categories 的身份「{c}」"
                                      f"（已列：{ids}） / unknown category {c!r}")

    def refs(where: str, node: object) -> None:
        if isinstance(node, s.ParamRef):
            if node.param not in params:
                raise PolicyError(f"{where}: 参数「{node.param}」未在 parameters 中声明 / "
                                  f"parameter {node.param!r} is not declared")
            key = where.rsplit(".", 1)[-1]
            wanted = "ratio" if key in _RATIO_KEYS else "money" if key in _MONEY_KEYS else None
            given = params[node.param].type
            if wanted and given in _PARAM_TYPES and given != wanted:
                raise PolicyError(f"{where}: 参数「{node.param}」是{_PARAM_TYPES[given]}，此处须为"
                                  f"{_PARAM_TYPES[wanted]} / parameter {node.param!r} is a "
                                  f"{given}, not a {wanted}")
        elif isinstance(node, s.Strict):
            for key in type(node).model_fields:
                refs(f"{where}.{key}", getattr(node, key))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                refs(f"{where}[{i}]", item)

    for i, line in enumerate(spec.lines):
        where = f"lines[{i}] ({line.rule})"
        cats(where, line.categories)
        refs(where, line)
        for pool in [line.pool or ""] + [c.pool for c in line.caps]:
            if pool.startswith(INTERNAL_POOL_PREFIX):
                raise PolicyError(f"{where}: 累计池名称不得以「_」开头 / "
                                  "pool names may not start with '_'")
    for i, grace in enumerate(spec.windows.grace):  # 渐退期
        cats(f"windows.grace[{i}]", grace.categories)
        refs(f"windows.grace[{i}]", grace)
    for i, r in enumerate(spec.refusals):
        cats(f"refusals[{i}]", r.categories)
    rule_ids = {ln.rule for ln in spec.lines}
    for i, lb in enumerate(spec.windows.lookback):
        cats(f"windows.lookback[{i}]", lb.categories)
        for rule in lb.rules or []:
            if rule not in rule_ids:
                raise PolicyError(f"windows.lookback[{i}].rules: 没有规则编号为「{rule}」的救助标准"
                                  f" / no line has rule {rule!r}")
        refs(f"windows.lookback[{i}]", lb)
    for i, tilt in enumerate(ci_tilts(spec)):
        where = "critical_illness_tilt" + (f"[{i}]" if isinstance(spec.critical_illness_tilt,
                                                                  list) else "")
        cats(where, tilt.categories)
    if spec.tilted:
        refs("tilted", spec.tilted)
        cats("tilted", spec.tilted.categories)
        for j, entry in enumerate(spec.tilted.by_category):
            cats(f"tilted.by_category[{j}]", entry.categories)
        _check_tilted_kinds(spec)
    statuses = [st.id for st in spec.statuses]
    if len(set(statuses)) != len(statuses):
        raise PolicyError("statuses: 人员状态 id 重复 / duplicate status id")

    def conds(where: str, c: s.Conditions) -> None:
        for key in ("statuses", "not_statuses"):
            for k, st in enumerate(getattr(c, key)):
                if st not in statuses:
                    raise PolicyError(f"{where}.{key}[{k}]: 未在 statuses 中声明的人员状态「{st}」"
                                      f"（已声明：{', '.join(statuses) or '无'}） / "
                                      f"unknown status {st!r}")

    for i, line in enumerate(spec.lines):
        conds(f"lines[{i}]", line)
    for i, stage in enumerate(spec.stages):
        where = f"stages[{i}]"
        cats(where, stage.categories)
        refs(where, stage)
        conds(where, stage)
        _check_stage(spec, i)
        for pool in [stage.pool or ""] + [c.pool for c in stage.caps]:
            if pool.startswith(INTERNAL_POOL_PREFIX):
                raise PolicyError(f"{where}: 累计池名称不得以「_」开头 / "
                                  "pool names may not start with '_'")
    ids = used_by_ids(spec)
    for name, p in params.items():
        refs(f"parameters.{name}", p)
        for j, used in enumerate(p.used_by):
            if used not in ids:
                known_ids = "、".join(ids)
                raise PolicyError(f"parameters.{name}.used_by[{j}]: 没有规则编号或用途「{used}」"
                                  f"（可用：{known_ids}） / no rule or use {used!r}")
        if p.below is not None and p.below not in params:
            raise PolicyError(f"parameters.{name}.below: 参数「{p.below}」未在 parameters 中声明"
                              f" / parameter {p.below!r} is not declared")
    if spec.windows.month_end_categories is not None:
        cats("windows", spec.windows.month_end_categories, "month_end_categories")
    base_pools = {ln.pool or ln.rule for ln in spec.lines if ln.grant is None} | {
        st.pool or st.rule for st in spec.stages}
    for where, caps in [(f"lines[{i}] ({ln.rule})", ln.caps) for i, ln in enumerate(spec.lines)
                        ] + [(f"stages[{i}]", st.caps) for i, st in enumerate(spec.stages)]:
        for c in caps:
            if c.pool in base_pools:
                raise PolicyError(f"{where}: 累计池「{c.pool}」不能既是封顶池又是起付线/分段累计池"
                                  f" / pool {c.pool!r} is both a cap pool and a "
                                  "deductible/segment pool")
    for name, p in params.items():  # structured defaults are checked when the file loads
        for raw in [p.default, *(v.value for v in p.values)]:
            if isinstance(raw, dict):
                parse = PARSERS.get(p.type)
                if parse is None:
                    raise PolicyError(f"parameters.{name}: {p.type} 类参数不能写成键值映射 / "
                                      f"a {p.type} is not a mapping")
                try:
                    parse(raw, f"parameters.{name}")
                except InputError as e:
                    raise PolicyError(str(e)) from None
    for k, v in spec.kind_fallback.items():
        if k == v:
            raise PolicyError(f"kind_fallback.{k}: 不能回退到自身 / maps to itself")
    owners: dict[str, set[str]] = {}
    for where, cap in caps_of(spec):
        owner = where.rsplit(".caps[", 1)[0]
        if cap.pool in owners.setdefault(owner, set()):
            raise PolicyError(f"{where}.pool: 累计池「{cap.pool}」在同一 caps 中重复 / "
                              "the pool repeats within one caps list")
        owners[owner].add(cap.pool)
    if spec.pools is not None:
        for where, pool in pools_used(spec):
            if pool not in spec.pools:
                unnamed = "（未写 pool，以规则编号为累计池）" if where.endswith(".rule") else ""
                close = difflib.get_close_matches(pool, list(spec.pools), n=1, cutoff=0.75)
                if close and not unnamed:  # a misspelt name, not a rule id standing for one
                    unnamed = f"（是否应为「{close[0]}」？）"
                raise PolicyError(f"{where}: 累计池「{pool}」{unnamed}被使用但未在 pools 中定义"
                                  f"（已定义：{', '.join(spec.pools) or '无'}） / "
                                  f"pool {pool!r} is used but never defined under pools")
        for name in spec.pools:
            if name.startswith(INTERNAL_POOL_PREFIX):
                raise PolicyError(f"pools.{name}: 累计池名称不得以「_」开头 / "
                                  "pool names may not start with '_'")


# a stage's forms of payout, and the values by_category may give for each
_FORM_KEYS = {"segments": ("deductible", "segments"), "grant": ("deductible", "grant"),
              "ceiling": ("ceiling",)}
_FORM_NAMES = {"segments": "分段救助（segments）", "grant": "一次性补助（grant）",
               "ceiling": "个人负担封顶（ceiling）"}


def _check_stage(spec: s.PolicyFile, i: int) -> None:
    """What a stage may not say although each key is valid: a rule id another stage or a
    line has, a pool of a line or of tilted assistance, values its form of payout does not
    use."""
    stage, where = spec.stages[i], f"stages[{i}]"
    for j, other in enumerate(spec.stages[:i]):
        if other.rule == stage.rule:
            raise PolicyError(f"{where}.rule: 规则编号「{stage.rule}」与 stages[{j}] 重复；每个"
                              "阶段须有自己的编号（未写 pool 时编号即其累计池） / "
                              f"rule {stage.rule!r} repeats stages[{j}]")
    for j, line in enumerate(spec.lines):
        if line.rule == stage.rule:
            raise PolicyError(f"{where}.rule: 规则编号「{stage.rule}」已是 lines[{j}] 的编号；"
                              "阶段须有自己的编号 / a stage's rule id may not be a line's")
        # a visit stage's pool is its rule id unless it names one; a year-end one reads none
        own = stage.pool or (stage.rule if stage.when == "visit" else None)
        if own is not None and line.grant is None and (line.pool or line.rule) == own:
            key = "pool" if stage.pool else "rule"
            raise PolicyError(f"{where}.{key}: 累计池「{own}」是 lines[{j}]（{line.rule}）的"
                              "起付线/分段累计池；阶段累计其自身的基数，须用自己的池 / a stage "
                              "measures its own base: it may not share a line's pool")
    if spec.tilted is not None and (stage.pool or stage.rule) == spec.tilted.pool:
        key = "pool" if stage.pool else "rule"
        raise PolicyError(f"{where}.{key}: 累计池「{spec.tilted.pool}」是倾斜救助的累计池；"
                          "阶段须用自己的池 / a stage may not share "
                          "tilted assistance's pool")
    form = _form(stage)
    for j, entry in enumerate(stage.by_category):
        for key in ("deductible", "segments", "grant", "ceiling"):
            if getattr(entry, key) is not None and key not in _FORM_KEYS[form]:
                raise PolicyError(f"{where}.by_category[{j}].{key}: 该阶段为{_FORM_NAMES[form]}，"
                                  f"分身份取值不能给出「{key}」；可给："
                                  f"{'、'.join(_FORM_KEYS[form])}、caps / the stage pays by "
                                  f"{form}: {key} does not apply")


def _form(stage: s.Stage) -> str:
    return "segments" if stage.segments else "grant" if stage.grant is not None else "ceiling"


# what a parameter reference may stand for, by the key it is written at
_RATIO_KEYS = {"ratio", "share", "deductible_share"}
_MONEY_KEYS = {"amount", "over", "deductible", "grant"}
_PARAM_TYPES = {"money": "金额（money）", "ratio": "比例（ratio）"}


def _check_tilted_kinds(spec: s.PolicyFile) -> None:
    """Tilted assistance follows assistance (RULES §2): a visit no line covers gets none, so
    a kind `tilted.kinds` names that no line names would be silently never paid."""
    tilted = spec.tilted
    assert tilted is not None
    if tilted.kinds == "*" or any(ln.kinds == "*" for ln in spec.lines):
        return
    named = {k for ln in spec.lines if ln.kinds != "*" for k in ln.kinds}
    for k, kind in enumerate(tilted.kinds):
        if kind not in named:
            name = labels.label(labels.KINDS, kind)
            raise PolicyError(
                f"tilted.kinds[{k}]: 没有救助标准（lines）覆盖「{name}」，倾斜救助在医疗救助"
                f"之后，对这类就诊永不支付；如该类费用应计入，请为其写一条"
                f"救助标准（比例可为 0） / no line covers {kind!r}: tilted assistance follows "
                "assistance and would never pay for it")


# what a parameter is used by besides rules: the insurance a case leaves out and medaid
# computes (`basic_insurance`, `critical_illness`), and the early warnings (双预警)
USES = ("hifp_pay", "hifmi_pay", "monitoring")


def used_by_ids(spec: s.PolicyFile) -> list[str]:
    """What a parameter's `used_by` may name: every rule id the file carries (lines,
    windows, referral, tilts, stages, funds…) and the uses of `USES`."""
    found: list[str] = []

    def walk(node: object) -> None:
        rule = getattr(node, "rule", None)
        if isinstance(rule, str):
            found.append(rule)
        if isinstance(node, BaseModel):
            for key in type(node).model_fields:
                walk(getattr(node, key))
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(spec)
    return list(dict.fromkeys([*found, *USES]))


# statuses held, statuses not held, locations, hospital levels, referrals
ConditionKey = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...] | None,
                     tuple[int, ...] | None, tuple[str, ...] | None]
# distinct conditions on exclusive or alternative lines: the batch path compiles the lines
# that settle a visit for each combination of them holding (2^n)
MAX_SELECTION_CONDITIONS = 6


def condition_key(c: s.Conditions) -> ConditionKey | None:
    """The conditions of a line or stage as a key (None: none set)."""
    if not s.conditional(c):
        return None
    return (tuple(c.statuses), tuple(c.not_statuses),
            None if c.locations is None else tuple(c.locations),
            None if c.hospital_levels is None else tuple(c.hospital_levels),
            None if c.referrals is None else tuple(c.referrals))


def selection_conditions(spec: s.PolicyFile) -> list[ConditionKey]:
    """The distinct conditions of the exclusive and alternative lines."""
    keys = (condition_key(ln) for ln in spec.lines if ln.exclusive or ln.alternative)
    return list(dict.fromkeys(k for k in keys if k is not None))


def caps_of(spec: s.PolicyFile) -> list[tuple[str, s.Cap]]:
    """Every cap the file writes, with where: (path, cap)."""
    owners: list[tuple[str, list[s.Cap] | None]] = [
        (f"lines[{i}]", ln.caps) for i, ln in enumerate(spec.lines)]
    for i, stage in enumerate(spec.stages):
        owners += [(f"stages[{i}]", stage.caps), *(
            (f"stages[{i}].by_category[{e}]", v.caps) for e, v in enumerate(stage.by_category))]
    if spec.tilted is not None:
        owners += [("tilted", spec.tilted.caps), *(
            (f"tilted.by_category[{e}]", v.caps) for e, v in enumerate(spec.tilted.by_category))]
    return [(f"{at}.caps[{k}]", c) for at, caps in owners for k, c in enumerate(caps or [])]


def pools_used(spec: s.PolicyFile) -> list[tuple[str, str]]:
    """Every pool the file names, with where: (path, pool); a line or a visit stage without
    `pool` uses its rule id."""
    out = [(f"lines[{i}].{'pool' if ln.pool else 'rule'}", ln.pool or ln.rule)
           for i, ln in enumerate(spec.lines) if ln.grant is None]
    out += [(f"stages[{i}].{'pool' if st.pool else 'rule'}", st.pool or st.rule)
            for i, st in enumerate(spec.stages)
            if st.when == "visit" or st.pool]  # a year-end stage measures the year at once
    if spec.tilted is not None:
        out.append(("tilted.pool", spec.tilted.pool))
    return out + [(f"{at}.pool", c.pool) for at, c in caps_of(spec)]


def tilted_entry(cfg: s.Tilted, category: str) -> int | None:
    """Which values of tilted assistance a category gets: 0 its own, k + 1 those of
    `by_category[k]` (the first listing the category), None: it assists not this category."""
    if cfg.categories != "*" and category not in cfg.categories:
        return None
    for k, entry in enumerate(cfg.by_category):
        if category in entry.categories:
            return k + 1
    return 0


def tilted_values(cfg: s.Tilted, entry: int
                  ) -> tuple[s.Amount, list[s.Segment], list[s.Cap]]:
    """The deductible, segments and caps of `tilted_entry`'s entry."""
    if entry == 0:
        return cfg.deductible, cfg.segments, cfg.caps
    v = cfg.by_category[entry - 1]
    return (cfg.deductible if v.deductible is None else v.deductible,
            cfg.segments if v.segments is None else v.segments,
            cfg.caps if v.caps is None else v.caps)


def stage_values(stage: s.Stage, entry: s.StageValues) -> s.Stage:
    """The stage with the values a `by_category` entry gives in place of its own."""
    given = entry.model_dump(exclude={"categories"}, exclude_none=True)
    return stage.model_copy(update={k: getattr(entry, k) for k in given})


def _base(ln: s.Line) -> s.Base:
    return s.BASES[ln.base] if isinstance(ln.base, str) else ln.base


def tilted_lookback(spec: s.PolicyFile) -> s.PolicyFile:
    """The file with `tilted.lookback_months` written out as the look-back it stands for:
    every category, that many months before recognition, for a person recognised in the
    visit's year who applied for tilted assistance in it, counted into the pools and not
    paid (YC-T, RULES §4.3)."""
    t = spec.tilted
    if t is None or not t.lookback_months:
        return spec
    lb = s.Lookback(rule=t.rule, article=t.article, categories=[c.id for c in spec.categories],
                    months=t.lookback_months, new_this_year=True, counts_only=True,
                    with_tilted_application=True)
    return spec.model_copy(update={
        "windows": spec.windows.model_copy(update={"lookback": [*spec.windows.lookback, lb]}),
        "tilted": t.model_copy(update={"lookback_months": 0})})


def compile_policy(spec: s.PolicyFile, path: str = "<memory>") -> Policy:
    _check_refs(spec)
    spec = tilted_lookback(spec)
    lines = tuple(
        Line(
            index=i,
            rule=ln.rule,
            source=source(spec, ln.article, ln.document),
            citation=reference(spec, ln.article, ln.document),
            tier=ln.tier,
            categories=_set(ln.categories),
            kinds=_set(ln.kinds),
            flags=frozenset(ln.flags),
            grades=frozenset(ln.disability_grades) if ln.disability_grades is not None else None,
            exclusive=ln.exclusive,
            alternative=ln.alternative,
            pool=ln.pool or ln.rule,
            base=_base(ln),
            spec=ln,
            conditional=s.conditional(ln),
        )
        for i, ln in enumerate(spec.lines)
    )
    refusals = tuple(
        Refusal(r.rule, source(spec, r.article, r.document),
                reference(spec, r.article, r.document),
                _set(r.categories), _set(r.kinds), r.reason)
        for r in spec.refusals
    )
    return Policy(
        spec=spec,
        path=path,
        categories=tuple(c.id for c in spec.categories),
        lines=lines,
        exclusive_lines=tuple(ln for ln in lines if ln.exclusive),
        alternative_lines=tuple(ln for ln in lines if ln.alternative),
        regular_lines=tuple(ln for ln in lines if not (ln.exclusive or ln.alternative)),
        refusals=refusals,
        order={c.id: i for i, c in enumerate(spec.categories)},
        visit_pools=frozenset(name for name, p in (spec.pools or {}).items()
                              if p.period == "visit"),
    )


def located(path: str, text: str, steps: list[str | int], message: str) -> str:
    """`file:line: message`, the line being where `steps` lead in the file."""
    line = line_of(text, steps)
    return f"{path}:{line}: {message}" if line is not None else f"{path}: {message}"


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, with an impossible date (2024-02-30) an error at its line
    rather than Python's ValueError."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, f"「{node.value}」不是有效的日期 / not a valid date",
            node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


# what YAML's own words for the commonest slips of a hand-written file mean
YAML_PROBLEMS = (
    ("'\\t'", "缩进含有制表符（Tab），YAML 只能用空格缩进"),
    ("mapping values are not allowed",
     "此处不能写「键: 值」：多半是缩进不齐，或值里的冒号未加引号"),
    ("could not find expected ':'", "缺少「:」：键与值之间须有冒号和空格"),
    ("found duplicate anchor", "锚点重复"),
    ("expected <block end>", "缩进不齐：同一层的键须左对齐"),
)
# the Chinese of the kinds of file that must be a mapping
MAPPING_FILES = {"policy": ("政策文件", "jurisdiction: …、lines: … 等"),
                 "reform": ("政策调整方案文件", "title: …、policy: …、operations: … 等")}


def yaml_mapping(text: str, path: str, what: str,
                 error: type[PolicyError] = PolicyError) -> dict[str, Any]:
    """YAML text that must be a mapping (a policy or reform file), or `error` saying why."""
    try:
        data = yaml.load(text, Loader=_Loader)  # a safe loader
    except yaml.MarkedYAMLError as e:
        at = f"{path}:{e.problem_mark.line + 1}" if e.problem_mark else path
        meant = next((f"：{zh}" for words, zh in YAML_PROBLEMS if words in str(e.problem)), "")
        raise error(f"{at}: 不是有效的 YAML{meant} / not valid YAML: {e.problem}") from None
    except yaml.YAMLError as e:
        raise error(f"{path}: 不是有效的 YAML / not valid YAML: {e}") from None
    if not isinstance(data, dict):
        zh, keys = MAPPING_FILES.get(what, (what, "…"))
        raise error(f"{path}: {zh}应为键值映射（{keys}） / a {what} file is a mapping")
    return data


def read_file(path: str | Path, error: type[PolicyError] = PolicyError) -> str:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except OSError as e:
        raise error(f"{p}: 无法读取文件 / cannot read: {e.strerror}") from None


def parse_policy(text: str, path: str) -> Policy:
    """YAML text → a validated, compiled policy; PolicyError names what is wrong."""
    data = yaml_mapping(text, path, "policy")
    try:
        spec = s.PolicyFile.model_validate(data)
    except ValidationError as e:
        steps, message = schema_errors.describe(e.errors(), data)
        raise PolicyError(located(path, text, steps, message)) from None
    try:
        return compile_policy(spec, path)
    except PolicyError as e:
        where = str(e).partition(": ")[0]
        raise PolicyError(located(path, text, parse_path(where), str(e))) from None


def load_policy(path: str | Path) -> Policy:
    return parse_policy(read_file(path), str(path))


POLICY_DIR_ENV = "MEDAID_POLICY_DIR"  # a deployment's own policy files, beside the shipped


@cache
def shipped() -> tuple[Policy, ...]:
    """Every policy medaid knows, all jurisdictions and versions: the files that ship with
    it, then the `.yaml` files of the folders `MEDAID_POLICY_DIR` names (os.pathsep
    between them): a city's own file, settled by the service and every command as a
    shipped one is. A version may be an amendment of another (`policy.amend`); a local
    file may not repeat a version medaid already has."""
    from medaid.policy import amend  # it builds on this module

    root = resources.files("medaid") / "policies"
    found = [
        amend.parse(f.read_text(encoding="utf-8"), f"policies/{f.name}")
        for f in sorted(root.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".yaml")
    ]
    folders = [Path(d) for d in os.environ.get(POLICY_DIR_ENV, "").split(os.pathsep) if d]
    for folder in folders:
        if not folder.is_dir():
            raise PolicyError(f"{POLICY_DIR_ENV}={folder}: 不是目录 / not a folder")
    local = amend.load_all([f for d in folders for f in sorted(d.glob("*.yaml"))])
    seen = {(p.jurisdiction, p.spec.version): p.path for p in found}
    for p in local:
        other = seen.setdefault((p.jurisdiction, p.spec.version), p.path)
        if other != p.path:
            raise PolicyError(f"{p.path}: {p.jurisdiction} {p.spec.version} 已由 {other} 定义 "
                              f"/ {p.jurisdiction} {p.spec.version} is already {other}")
    return (*found, *local)


def versions(jurisdiction: str, extra: Iterable[Policy] = ()) -> list[Policy]:
    """The versions of one jurisdiction, oldest first."""
    found = [p for p in (*shipped(), *extra) if p.jurisdiction == jurisdiction]
    return sorted(found, key=lambda p: p.in_force)


def category_label(jurisdiction: str, category: str) -> str:
    """A category's Chinese label in the jurisdiction's latest version (its id where none
    says it)."""
    found = versions(jurisdiction)
    return found[-1].label(category) if found else category


def jurisdictions() -> list[str]:
    return sorted({p.jurisdiction for p in shipped()})


def unknown_jurisdiction(name: object, extra: Iterable[Policy] = ()) -> str:
    """What a name with no policy is told: the ones there are, in Chinese first."""
    names = {p.jurisdiction: p.spec.name for p in (*shipped(), *extra)}
    known = sorted(names)
    offered = "、".join(f"{names[j]}（{j}）" for j in known)
    return (f"没有统筹区「{name}」的政策，可选：{offered} / unknown jurisdiction {name!r} "
            f"(one of: {', '.join(known)})")


def in_force(candidates: list[Policy], day: date) -> Policy | None:
    """The latest version in force on `day`, or None before the first."""
    chosen = None
    for p in candidates:
        if p.in_force <= day:
            chosen = p
    return chosen


def closing(candidates: list[Policy], year: int) -> Policy | None:
    """The version whose year-end stages settle `year`: the one in force on its 31
    December (年末按调整后的标准统一结算), whichever versions its visits fell under."""
    return in_force(candidates, date(year, 12, 31))
