"""A policy file's schema errors as an official reads them: the YAML path of the key at
fault (not pydantic's union tags), in Chinese first, and a misspelt key named as such with
the key it probably meant, rather than the required key it left missing."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from medaid.policy import schema as s

Step = str | int



def _within(node: Any, step: Step) -> bool:
    if isinstance(node, dict):
        return step in node
    return isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)


def _path(loc: Sequence[Step], data: Any, missing: bool = False) -> list[Step]:
    """The steps of `loc` that lead through `data`; the others are pydantic's names for
    the branches of a union, but for the key a `missing` error names, kept at the end."""
    out: list[Step] = []
    node = data
    for k, step in enumerate(loc):
        if _within(node, step):
            node = node[step]
        elif not (missing and k == len(loc) - 1):
            continue
        out.append(step)
    return out


def dotted(steps: Sequence[Step]) -> str:
    """['stages', 0, 'caps', 1, 'pool'] → 'stages[0].caps[1].pool'."""
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


@cache
def _keys() -> tuple[str, ...]:
    """Every key a policy file's models know: what a misspelt key is compared with."""
    found: set[str] = set()
    for value in vars(s).values():
        if isinstance(value, type) and issubclass(value, BaseModel):
            for name, f in value.model_fields.items():
                found.add(f.alias or name)
    return tuple(sorted(found))


def _meant(key: str, missing: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(key, missing, n=1, cutoff=0.6) or \
        difflib.get_close_matches(key, _keys(), n=1, cutoff=0.75)
    return close[0] if close else None


def _choices(ctx: dict[str, Any] | None) -> str:
    """pydantic's "'exact' or 'month_start'", "1, 2 or 3" as exact、month_start, 1、2、3."""
    expected = str((ctx or {}).get("expected", ""))
    words = [w.strip("'") for w in re.split(r", | or ", expected)]
    # YAML's spelling of a boolean choice: true, false
    return "、".join(w.lower() if w in ("True", "False") else w for w in words)


def _given(value: Any) -> str:
    """A value as the file wrote it: YAML's null (`~`, or nothing after the colon) said as
    such, not as Python's None."""
    return "空值（null）" if value is None else str(value)


def _percent_hint(kind: str, ctx: dict[str, Any] | None, given: Any) -> str:
    """A ratio written as a whole percentage (65 for 65%) is the usual slip: say how to
    write it."""
    if kind != "less_than_equal" or str((ctx or {}).get("le")) != "1":
        return ""
    try:
        pct = Decimal(str(given))
    except ArithmeticError:
        return ""
    if not 1 < pct <= 100 or pct != pct.to_integral_value():  # 1.5 is not 1.5%
        return ""
    return f"；比例写作小数：{given}% 应写作 {(pct / 100).normalize():f}"


_UNITS = {"万": 10000, "千": 1000, "元": 1, "万元": 10000, "千元": 1000}
_MONEY_TEXT = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(万元|千元|万|千|元)")
_PERCENT_TEXT = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*[%％]")


def _number_hint(loc: Sequence[Step], given: Any) -> str:
    """How to write a number the file wrote as words ("75%", 4万): what pydantic's branch
    names (`_bp` a ratio, `_fen` an amount) says which unit is meant."""
    tags = " ".join(str(step) for step in loc if isinstance(step, str))
    ratio, money = "_bp()" in tags, "_fen()" in tags
    text = str(given).strip()
    percent, amount = _PERCENT_TEXT.fullmatch(text), _MONEY_TEXT.fullmatch(text)
    if percent and not money:
        value = (Decimal(percent.group(1)) / 100).normalize()
        return f"；比例写作小数：{text} 应写作 {value:f}"
    if amount and not ratio:
        value = (Decimal(amount.group(1)) * _UNITS[amount.group(2)]).normalize()
        return f"；金额以元为单位写数字：{text} 应写作 {value:f}"
    if ratio:
        return "；比例写作小数，如 75% 写作 0.75"
    if money:
        return "；金额以元为单位写数字，如 4万元 写作 40000"
    return "；比例写作小数，如 0.75；金额以元为单位写数字，如 40000"


def _type_hint(prefix: str, loc: Sequence[Step], given: Any) -> str:
    """What to write instead of a value of the wrong type."""
    if prefix == "decimal":
        return _number_hint(loc, given)
    if prefix == "string" and isinstance(given, int | float | Decimal | date) \
            and not isinstance(given, bool):
        # YAML reads 2024 as a number and 2024-01-01 as a date; quotes keep them text
        return f"；请加引号，写作 \"{given}\""
    if prefix == "list" and isinstance(given, str):  # a word: a list of words expected
        return f"（只有一项也须写成列表），如 [{given}]"
    if prefix == "list" and given is not None and not isinstance(given, dict):
        return "（只有一项也须写成列表）"
    if prefix == "int" and loc and loc[-1] == "ratio_points":  # 0.05 for 5个百分点
        return "：写百分点数，降低10个百分点写 -10，提高5个百分点写 5"
    return ""


def _list_or_all(e: ErrorDetails, errors: Sequence[ErrorDetails]) -> str | None:
    """A union of a list and "*" (`kinds: special_outpatient`): pydantic reports each
    branch; say both, with the list the value was probably meant to be."""
    if e["type"] != "literal_error" or (e.get("ctx") or {}).get("expected") != "'*'" \
            or isinstance(e.get("input"), dict | list):
        return None
    listed = any(x["type"] == "list_type" and x["loc"][:-1] == e["loc"][:-1] for x in errors)
    if not listed:
        return None
    given = _given(e.get("input"))
    if given.lower() in ("all", "any", "全部", "所有", "不限"):
        return f"「{given}」无效：全部写作 \"*\" / for all, write \"*\""
    return (f"「{given}」应为列表或 \"*\"：写作 [{given}]（只有一项也须写成列表），"
            f"或写 \"*\" 表示全部 / must be a list, e.g. [{given}], or \"*\" for all")


def _words(e: ErrorDetails, key: Step | None, missing: Sequence[str]) -> str:
    """Chinese, then English after ' / '."""
    kind, ctx, given = e["type"], e.get("ctx"), e.get("input")
    if kind == "extra_forbidden":
        meant = _meant(str(key), missing)
        if meant == key:  # a key of another part of the file
            return f"此处不能用键「{key}」 / not a key here"
        if meant:
            return f"未知的键「{key}」（是否应为「{meant}」？） / unknown key (did you mean " \
                   f"{meant}?)"
        return f"未知的键「{key}」 / unknown key"
    if kind == "missing":
        if key == "amount" and "caps" in e["loc"]:  # a limit may be the pool's, written once
            return ("缺少必填的键「amount」：限额写在此处，或在 pools 下该累计池的 amount 中"
                    "写一次、供各处共用 / required key missing: the limit here, or once as the "
                    "pool's amount under pools")
        return f"缺少必填的键「{key}」 / required key missing"
    if kind in ("literal_error", "enum"):
        composed = ("，或以 {include: […]} 列出其组成（见 docs/POLICY-FILES.md 第5、12节）"
                    if key == "base" else "")
        return f"取值「{_given(given)}」无效，应为：{_choices(ctx)}{composed} / {e['msg']}" + (
            ", or its composition {include: […]}" if composed else "")
    if kind.startswith(("date_", "datetime_")):
        return f"「{given}」不是有效的日期，应写作 YYYY-MM-DD / not a valid date (YYYY-MM-DD)"
    bounds = {"less_than_equal": ("不得大于", "le"), "greater_than_equal": ("不得小于", "ge"),
              "less_than": ("应小于", "lt"), "greater_than": ("应大于", "gt")}
    if kind in bounds:
        words, name = bounds[kind]
        return f"{given} {words} {(ctx or {}).get(name)}{_percent_hint(kind, ctx, given)}" \
               f" / {e['msg']}"
    types = {"decimal": "数字", "int": "整数", "float": "数字", "bool": "true 或 false",
             "string": "文字", "list": "列表", "dict": "键值映射", "model": "键值映射"}
    for prefix, what in types.items():
        if kind.startswith(prefix + "_"):
            return f"应为{what}{_type_hint(prefix, e['loc'], given)} / {e['msg']}"
    if kind == "value_error":
        return str(e["msg"]).removeprefix("Value error, ")
    return str(e["msg"])


def _rank(e: ErrorDetails) -> int:
    """Which error of a union's branches to report: a key the schema does not know first,
    a branch the value does not even have the shape of (a mapping given where a word is
    expected, a number where a mapping is) last."""
    if e["type"] == "extra_forbidden":
        return 0
    scalar = not isinstance(e.get("input"), dict | list)
    if (e["type"] in ("literal_error", "enum") and not scalar) or e["type"].endswith("_type"):
        return 2
    return 1


def describe(errors: Sequence[ErrorDetails], data: Any) -> tuple[list[Step], str]:
    """The error to report first (a key the schema does not know before all else: its
    misspelling is what left a required key missing) as its YAML path and its words."""
    first = min(errors, key=_rank)
    steps = _path(first["loc"], data, first["type"] == "missing")
    parent = steps[:-1]
    missing = [str(e["loc"][-1]) for e in errors
               if e["type"] == "missing" and _path(e["loc"], data, True)[:-1] == parent]
    key = steps[-1] if steps else None
    words = _list_or_all(first, errors) or _words(first, key, missing)
    return steps, f"{dotted(steps)}: {words}"
