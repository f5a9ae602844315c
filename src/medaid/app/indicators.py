"""The documents' cost-control and service indicators for a jurisdiction's year
(docs/INDICATORS.md): each from the policy's `indicators:` section, with its threshold,
rule id and article, computed from the settlement ledger, the registry and the
premium-subsidy list, with statistics by category, district, month and visit kind.

Ledger measures count beneficiaries' settlements (those settled under a category) of the
jurisdiction's persons whose visit ended in the year, net of cancellations and
adjustments (a cancellation's amounts are what the visit stood at negated, and it takes
its visit back out).
Ratios are exact fractions; the threshold test is exact, the shown value is rounded to
four places.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import select

from medaid.app import auth
from medaid.app.auth import Actor
from medaid.app.parameters import stored
from medaid.app.rosters import registered
from medaid.app.uow import UnitOfWork
from medaid.core import workdays
from medaid.core.dates import BEIJING
from medaid.core.errors import Forbidden, PolicyError
from medaid.core.money import to_yuan
from medaid.engine.case import parse_json
from medaid.policy import model
from medaid.policy.indicators import Indicator
from medaid.registry.premium import in_year, policy_for, subsidy_list
from medaid.store.identity_receipts import IdentityReceipt
from medaid.store.models import Adjustment, Identity, Institution, Person, Settlement

MONEY = ("policy_range_self_pay_share", "out_of_catalog_share")  # numerator, denominator: fen
DIMENSIONS = ("category", "district", "month", "kind")
PLACES = Decimal("0.0001")


@dataclass
class Tally:
    """A ratio's numerator and denominator, summed."""

    num: int = 0
    den: int = 0

    def add(self, num: int, den: int) -> None:
        self.num += num
        self.den += den

    @property
    def value(self) -> Fraction | None:
        return None if self.den == 0 else Fraction(self.num, self.den)


@dataclass(frozen=True, slots=True)
class Row:
    """One subject's value against the threshold: an institution, or a district."""

    subject: str
    name: str
    num: int
    den: int
    value: Fraction | None
    passes: bool | None  # None: nothing to measure
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Result:
    indicator: Indicator
    source: str  # document and article
    per: str  # what a row is: institution | jurisdiction | district
    rows: list[Row]
    stats: dict[str, dict[str, Tally]]  # dimension → key → tally

    @property
    def passes(self) -> bool | None:
        judged = [r.passes for r in self.rows if r.passes is not None]
        return None if not judged else all(judged)


@dataclass(frozen=True, slots=True)
class Report:
    jurisdiction: str
    year: int
    version: str
    results: list[Result]


def _judge(ind: Indicator, value: Fraction | None) -> bool | None:
    """Exact: a share against its bound; roster_push_days' value is the longest delay."""
    if value is None:
        return None
    return value >= Fraction(ind.min) if ind.min is not None else value <= Fraction(ind.max or 0)


def shown(value: Fraction | None) -> str | None:
    if value is None:
        return None
    return str((Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        PLACES, ROUND_HALF_UP))


# -- the ledger --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Visit:
    institution: tuple[str, str]  # code, name
    in_city: bool
    in_county: bool
    category: str
    district: str
    month: str
    kind: str
    sign: int  # 1 a settlement, −1 a cancellation, 0 an adjustment
    medfee_sumamt: int
    fulamt_ownpay_amt: int
    inscp_scp_amt: int
    policy_self_pay: int  # inscp_scp_amt − hifp_pay − hifmi_pay − oth_pay − maf_pay


def _visits(uow: UnitOfWork, jurisdiction: str, year: int, district: str | None,
            institution_id: int | None) -> list[_Visit]:
    q = (select(Institution.code, Institution.name, Institution.jurisdiction,
                Institution.district, Person.district, Settlement.category,
                Settlement.visit_kind, Settlement.end, Settlement.kind,
                Settlement.medfee_sumamt, Settlement.fulamt_ownpay_amt,
                Settlement.inscp_scp_amt, Settlement.hifp_pay, Settlement.hifmi_pay,
                Settlement.oth_pay, Settlement.maf_pay)
         .join(Institution, Institution.id == Settlement.institution_id)
         .join(Person, Person.id == Settlement.person_id)
         .where(Person.jurisdiction == jurisdiction, Settlement.year == year,
                Settlement.category.is_not(None),
                Institution.kind == "hospital"))  # not the office's paper invoices
    # Re-settlement's adjustments (docs/RESETTLEMENT.md) change a visit's amounts, never its
    # cost: each is a row of no visit (sign 0) and no cost whose policy-range self-pay is
    # its psn_part_amt difference (the tiers of an adjustment add up to zero), counted
    # under the visit's own institution, category, kind and month.
    aq = (select(Institution.code, Institution.name, Institution.jurisdiction,
                 Institution.district, Person.district, Settlement.category,
                 Settlement.visit_kind, Settlement.end, Adjustment.psn_part_amt)
          .join(Settlement, Settlement.id == Adjustment.settlement_id)
          .join(Institution, Institution.id == Adjustment.institution_id)
          .join(Person, Person.id == Adjustment.person_id)
          .where(Person.jurisdiction == jurisdiction, Adjustment.year == year,
                 Settlement.category.is_not(None), Institution.kind == "hospital"))
    if district is not None:
        q = q.where(Person.district == district)
        aq = aq.where(Person.district == district)
    if institution_id is not None:
        q = q.where(Settlement.institution_id == institution_id)
        aq = aq.where(Adjustment.institution_id == institution_id)
    return [_Visit((code, name), ij == jurisdiction, ij == jurisdiction and idist == pdist,
                   str(cat), pdist, f"{end:%Y-%m}", kind, 1 if entry == "settle" else -1,
                   fee, own, inscp, inscp - hifp - hifmi - oth - maf)
            for (code, name, ij, idist, pdist, cat, kind, end, entry, fee, own, inscp, hifp,
                 hifmi, oth, maf) in uow.session.execute(q)] + [
        _Visit((code, name), ij == jurisdiction, ij == jurisdiction and idist == pdist,
               str(cat), pdist, f"{end:%Y-%m}", kind, 0, 0, 0, 0, int(part))
        for (code, name, ij, idist, pdist, cat, kind, end, part) in uow.session.execute(aq)]


def _in_scope(ind: Indicator, v: _Visit) -> bool:
    if ind.kinds != "*" and v.kind not in ind.kinds:
        return False
    return ind.scope == "any" or (v.in_city if ind.scope == "city" else v.in_county)


def _stats(items: Iterable[tuple[dict[str, str], int, int]]) -> dict[str, dict[str, Tally]]:
    out: dict[str, dict[str, Tally]] = {d: {} for d in DIMENSIONS}
    for keys, num, den in items:
        for dim, key in keys.items():
            out[dim].setdefault(key, Tally()).add(num, den)
    return {d: dict(sorted(t.items())) for d, t in out.items() if t}


def _keys(v: _Visit) -> dict[str, str]:
    return {"category": v.category, "district": v.district, "month": v.month, "kind": v.kind}


# measure → (numerator, denominator) of a visit, in fen
_AMOUNTS: dict[str, Callable[[_Visit], tuple[int, int]]] = {
    # NJ-K, CZ-K (amended 2026-12-04): policy-range self-pay after basic insurance, critical
    # illness, other funds and assistance / policy-range cost; out-of-catalog, over-limit
    # and class-B first self-pay amounts are in neither
    "policy_range_self_pay_share": lambda v: (v.policy_self_pay, v.inscp_scp_amt),
    # YC-K: out-of-catalog (全自费) / total
    "out_of_catalog_share": lambda v: (v.fulamt_ownpay_amt, v.medfee_sumamt),
}


def _amount_share(ind: Indicator, visits: list[_Visit]) -> tuple[list[Row], dict[str, Any]]:
    """Σ numerator / Σ denominator per institution (policy-range self-pay or
    out-of-catalog share)."""
    amounts = _AMOUNTS[ind.measure]
    chosen = [(v, *amounts(v)) for v in visits if _in_scope(ind, v)]
    per: dict[tuple[str, str], Tally] = {}
    for v, num, den in chosen:
        per.setdefault(v.institution, Tally()).add(num, den)
    rows = [Row(code, name, t.num, t.den, t.value, _judge(ind, t.value))
            for (code, name), t in sorted(per.items())]
    return rows, _stats((_keys(v), num, den) for v, num, den in chosen)


def _visit_share(ind: Indicator, visits: list[_Visit], jurisdiction: str
                 ) -> tuple[list[Row], dict[str, Any]]:
    """Visits (net of cancellations) at institutions in scope / all visits."""
    chosen = [v for v in visits if ind.kinds == "*" or v.kind in ind.kinds]
    total = Tally()
    for v in chosen:
        total.add(v.sign if _in_scope(ind, v) else 0, v.sign)
    row = Row(jurisdiction, jurisdiction, total.num, total.den, total.value,
              _judge(ind, total.value))
    return [row], _stats((_keys(v), v.sign if _in_scope(ind, v) else 0, v.sign)
                         for v in chosen)


# -- the registry ------------------------------------------------------------------------------
def _roster_push(uow: UnitOfWork, ind: Indicator, jurisdiction: str, year: int,
                 district: str | None) -> tuple[list[Row], dict[str, Any]]:
    """Per district: every recognition or exit dated in the year, the working days until the
    registry received it; the district passes when none took longer than the limit."""
    q = (select(Person.district, Identity.category, IdentityReceipt.effective,
                IdentityReceipt.received_at)
         .join(Identity, Identity.id == IdentityReceipt.identity_id)
         .join(Person, Person.id == Identity.person_id)
         .where(Person.jurisdiction == jurisdiction,
                IdentityReceipt.effective >= date(year, 1, 1),
                IdentityReceipt.effective <= date(year, 12, 31)))
    if district is not None:
        q = q.where(Person.district == district)
    limit = int(ind.max or 0)
    per: dict[str, list[int]] = {}
    items = []
    for d, category, effective, received_at in uow.session.execute(q):
        n = workdays.workdays_between(effective, received_at.astimezone(BEIJING).date())
        per.setdefault(d, []).append(n)
        items.append(({"category": category, "district": d, "month": f"{effective:%Y-%m}"},
                      int(n <= limit), 1))
    rows = []
    for d, days in sorted(per.items()):
        late = sum(1 for x in days if x > limit)
        rows.append(Row(d, d, len(days) - late, len(days), Fraction(max(days)),
                        max(days) <= limit,
                        {"pushes": len(days), "late": late, "max_days": max(days)}))
    return rows, _stats(items)


def _enrolment(uow: UnitOfWork, ind: Indicator, jurisdiction: str, year: int,
               district: str | None) -> tuple[list[Row], dict[str, Any]]:
    """Per district: persons on the year's premium-subsidy list / persons eligible (an
    identity of a subsidised category, or NB-P's disability grade, in force in the year)."""
    policy = policy_for(jurisdiction, year)
    cfg = policy.spec.premium_subsidy
    if cfg is None:
        raise PolicyError(f"{jurisdiction}：指标 {ind.rule} 需要政策的参保资助（premium_subsidy）"
                          f"部分 / "
                          f"{ind.rule} needs the premium_subsidy section")
    local = {n: parse_json(t) for n, t in stored(uow, jurisdiction, year).items()}
    held = registered(uow, jurisdiction, district)
    listed = {x.certno for x in subsidy_list(policy, year, held, local=local).subsidies}
    subsidised = {c for sh in cfg.shares for c in sh.categories}
    grades = set(cfg.disability_grades_full)
    eligible: dict[str, tuple[str, str]] = {}  # certno → (district, category)
    for i in held:
        if in_year(i.start, i.end, year) and (i.category in subsidised
                                              or i.disability_grade in grades):
            eligible.setdefault(i.certno, (i.district or "", i.category))
    per: dict[str, Tally] = {}
    items = []
    for certno, (d, category) in eligible.items():
        got = int(certno in listed)
        per.setdefault(d, Tally()).add(got, 1)
        items.append(({"category": category, "district": d}, got, 1))
    rows = [Row(d, d, t.num, t.den, t.value, _judge(ind, t.value))
            for d, t in sorted(per.items())]
    return rows, _stats(items)


# -- the report --------------------------------------------------------------------------------
PER = {"policy_range_self_pay_share": "institution", "out_of_catalog_share": "institution",
       "in_city_visit_share": "jurisdiction", "roster_push_days": "district",
       "subsidised_enrolment_rate": "district"}


def compute(uow: UnitOfWork, actor: Actor, jurisdiction: str, year: int,
            district: str | None = None) -> Report:
    """Every indicator of the policy in force on 31 December of `year`. A caseworker sees
    its district's persons; a hospital only the per-institution indicators, for itself."""
    institution_id = None
    if actor.role == "caseworker":
        if district not in (None, actor.district):
            raise Forbidden(f"区经办只能查看本区（{actor.district}）的指标 / "
                            f"a caseworker of {actor.district} reads only its district")
        district = actor.district
    elif actor.role == "hospital":
        institution_id = actor.institution_id
    else:
        auth.require(actor, *auth.READ_ALL)
    policy = model.in_force(model.versions(jurisdiction), date(year, 12, 31))
    if policy is None:
        raise PolicyError(f"{jurisdiction}：{year} 年没有施行中的政策 / "
                          f"no policy in force in {year}")
    visits: list[_Visit] | None = None
    results = []
    for ind in policy.spec.indicators:
        per = PER[ind.measure]
        if institution_id is not None and per != "institution":
            continue
        if ind.measure in MONEY or ind.measure == "in_city_visit_share":
            if visits is None:
                visits = _visits(uow, jurisdiction, year, district, institution_id)
            rows, stats = _amount_share(ind, visits) if ind.measure in MONEY \
                else _visit_share(ind, visits, jurisdiction)
        elif ind.measure == "roster_push_days":
            rows, stats = _roster_push(uow, ind, jurisdiction, year, district)
        else:
            rows, stats = _enrolment(uow, ind, jurisdiction, year, district)
        results.append(Result(ind, policy.cite(ind.article), per, rows, stats))
    uow.commit_audited(actor.subject, "indicators.read", f"indicators:{jurisdiction}/{year}",
                       {"district": district})
    return Report(jurisdiction, year, policy.spec.version, results)


def _number(ind: Indicator, amount: int) -> Any:
    return to_yuan(amount) if ind.measure in MONEY else amount


def report_json(r: Report) -> dict[str, Any]:
    def threshold(ind: Indicator) -> dict[str, str]:
        return {"min": str(ind.min)} if ind.min is not None else {"max": str(ind.max)}

    return {"jurisdiction": r.jurisdiction, "year": r.year, "policy": r.version, "indicators": [
        {"id": x.indicator.id, "rule": x.indicator.rule, "source": x.source,
         "label": x.indicator.label, "measure": x.indicator.measure, "per": x.per,
         **threshold(x.indicator), "passes": x.passes,
         "rows": [{"subject": row.subject, "name": row.name,
                   "numerator": _number(x.indicator, row.num),
                   "denominator": _number(x.indicator, row.den), "value": shown(row.value),
                   "passes": row.passes, **row.detail} for row in x.rows],
         "stats": {dim: [{"key": k, "numerator": _number(x.indicator, t.num),
                          "denominator": _number(x.indicator, t.den), "value": shown(t.value)}
                         for k, t in tallies.items()] for dim, tallies in x.stats.items()}}
        for x in r.results]}
