"""What the pages draw, from what the use cases return: a settlement's amounts with the
trace lines that explain each, a person's identities as periods on the year, and pools
as bars against their deductibles and caps. Pure functions; no arithmetic of the rules
(the periods are the engine's own, `engine.windows.periods`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from medaid.core import labels
from medaid.engine import types as engine
from medaid.engine.windows import periods
from medaid.policy.model import Policy

# A settlement's amounts in reading order: (field, label, the trace tier that explains it,
# how the engine composes it — engine.types.Settlement, engine.types.Visit).
AMOUNTS = (
    ("medfee_sumamt", "医疗费用总额", None, "医院上传"),
    ("inscp_scp_amt", "政策范围内费用", None, "总额 − 全自费 − 超限价自付 − 先行自付"),
    ("hifp_pay", "基本医保支付", "hifp", "医院上传"),
    ("hifmi_pay", "大病保险支付", "hifmi", "医院上传"),
    ("oth_pay", "其他支付", None, ""),
    ("base", "救助基数（政策范围内个人自付）", None, ""),
    ("assistance", "医疗救助", "assistance", ""),
    ("tilted", "倾斜救助", "tilted", ""),
    ("special", "特殊救助", "special", ""),
    ("reassistance", labels.TIERS["reassistance"][0], "reassistance", ""),
    ("maf_pay", "医疗救助合计", "chain", "医疗救助 + 倾斜救助 + 特殊救助 + 医疗再救助"),
    ("psn_part_amt", "个人负担", None, "总额 − 基本医保 − 大病保险 − 其他支付 − 医疗救助合计"),
)
TIERS = ("hifp_pay", "hifmi_pay", "maf_pay")  # the three tiers, shown strong


@dataclass(frozen=True, slots=True)
class AmountRow:
    name: str
    label: str
    amount: Decimal
    trace: list[dict[str, Any]]
    tier: bool
    formula: str  # shown when no trace line explains it


def amount_rows(result: dict[str, Any]) -> list[AmountRow]:
    """Each amount of a settlement (as the API's JSON gives it) with its trace lines."""
    trace: list[dict[str, Any]] = result.get("trace", [])
    return [AmountRow(name, label, result[name],
                      [t for t in trace if tier is not None and t["tier"] == tier],
                      name in TIERS, formula)
            for name, label, tier, formula in AMOUNTS]


MODE_LABELS = {"in_force": "在保期", "lookback": "回溯期", "tilt_lookback": "倾斜救助回溯期"}


@dataclass(frozen=True, slots=True)
class Bar:
    mode: str
    label: str
    first: date
    last: date | None
    rule: str
    article: str
    left: float  # percent of the year
    width: float


@dataclass(frozen=True, slots=True)
class TimelineRow:
    category: str
    start: date
    end: date | None
    bars: list[Bar] = field(default_factory=list)


def timeline(policy: Policy, person: engine.Person, year: int) -> list[TimelineRow]:
    """Each identity with the periods it covers that reach into `year`, placed on it."""
    first_day, last_day = date(year, 1, 1), date(year, 12, 31)
    days = (last_day - first_day).days + 1
    rows = []
    for ident in person.identities:
        bars = []
        for p in periods(policy, person, ident, year):
            last = p.last or last_day
            if p.first > last_day or last < first_day:
                continue
            a, b = max(p.first, first_day), min(last, last_day)
            label = "渐退期" if p.grace else MODE_LABELS.get(p.mode, p.mode)
            bars.append(Bar(p.mode, label, p.first, p.last, p.rule,
                            p.article, round(100 * (a - first_day).days / days, 2),
                            round(100 * ((b - a).days + 1) / days, 2)))
        if bars:
            rows.append(TimelineRow(ident.category, ident.start, ident.end, bars))
    return rows


MONTHS = [(m, round(100 * (date(2001, m, 1) - date(2001, 1, 1)).days / 365, 2))
          for m in range(1, 13)]  # month ticks (percent of a year; a leap day moves nothing)


@dataclass(frozen=True, slots=True)
class Mark:
    what: str  # 起付线 deductible | 封顶线 cap
    rule: str
    amount: Decimal
    left: Decimal  # what is left of it
    at: Decimal  # percent of the bar


POOLS = {"main": "住院救助累计", "main_cap": "住院救助年度限额", "outpatient": "门诊救助累计",
         "outpatient_cap": "门诊救助年度限额", "annual_cap": "年度救助限额",
         "tilted": "倾斜救助累计", "tilted_cap": "倾斜救助年度限额"}


@dataclass(frozen=True, slots=True)
class PoolBar:
    pool: str
    label: str  # 救助累计 of the rule that names a pool after itself
    used: Decimal
    fill: Decimal  # percent of the bar
    marks: list[Mark]
    notes: list[str]  # limits that could not be resolved


def pool_bars(pools: list[dict[str, Any]]) -> list[PoolBar]:
    """A person's pools (records.person_year) as bars: the scale is the largest cap, or
    a little beyond the deductible and what is used when there is no cap."""
    out = []
    for p in pools:
        used: Decimal = p["used"]
        limits = [("起付线", d["rule"], d["deductible"], d["left"]) for d in p["deductibles"]
                  if d.get("deductible") is not None] + \
                 [("封顶线", c["rule"], c["cap"], c["left"]) for c in p["caps"]
                  if c.get("cap") is not None]
        caps = [c[2] for c in limits if c[0] == "封顶线"]
        scale = max(caps) if caps else max([used] + [c[2] for c in limits]) * Decimal("1.25")
        scale = max(scale, used, Decimal("0.01"))

        def pct(v: Decimal, scale: Decimal = scale) -> Decimal:
            return min(Decimal(100), 100 * v / scale).quantize(Decimal("0.01"))

        label = p.get("label") or POOLS.get(p["pool"], f"{p['pool']} 救助累计")
        out.append(PoolBar(p["pool"], label, used,
                           pct(used),
                           [Mark(w, r, a, left, pct(a)) for w, r, a, left in limits],
                           [f"{d['rule']}: {d['unresolved']}" for d in p["deductibles"]
                            if d.get("unresolved")]))
    return out
