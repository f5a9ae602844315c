"""Re-settlement (重新结算与补差): a person's year settled again on today's facts, the
differences appended as adjustments (docs/RESETTLEMENT.md).

The invariant: for every person-year, each visit's ledger amounts (its settlement, less
its cancellation, plus its adjustments) equal, tier by tier, what the engine gives when
the year's live visits are settled in ledger order on the current identities, local
parameters and policy file; a cancelled visit's net is zero; the stored pools are the
pools the engine leaves.

`plan_year` computes the differences and writes nothing; `post_year` appends them under
the person-year's lock (the lock settlement takes), so a settlement waits for it or is
seen by it. A second run finds no difference and posts nothing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select

from medaid.app import settlements
from medaid.app.uow import LockedYear, UnitOfWork
from medaid.app.wire import trace_rows
from medaid.core import clock, labels
from medaid.core.errors import MedaidError
from medaid.core.money import to_yuan
from medaid.engine.types import Settlement as EngineSettlement
from medaid.engine.types import Visit
from medaid.policy.params import Num
from medaid.store import audit, pools, queries, visits
from medaid.store.application_models import ApplicationPayment, ApplicationVisit
from medaid.store.models import TIERS, Adjustment, Person, PersonYear, Settlement

TIER_LABELS = {"hifp_pay": "统筹基金支出", "hifmi_pay": "大病保险支出", "base": "救助基数",
               "assistance": "医疗救助", "tilted": "倾斜救助", "special": "特殊救助",
               "reassistance": labels.TIERS["reassistance"][0],
               "maf_pay": "医疗救助基金支出", "psn_part_amt": "个人负担"}
ROUTE_LABELS = {"batch": "并入机构下一支付批次", "person": "列入个人退补清单"}


@dataclass(frozen=True, slots=True)
class Cause:
    """Why a person-year is settled again: kind (models.CAUSES), what (`settlement:…`,
    `roster:…`, `application:…`, `parameter:…`), in words (Chinese first)."""

    kind: str
    ref: str
    reason: str


@dataclass(frozen=True, slots=True)
class EntryRef:
    """A visit's `settle` entry, as a plan keeps it (plans outlive their session)."""

    id: int
    setl_id: str
    medins_setl_id: str
    mdtrt_id: str
    institution_id: int

    @classmethod
    def of(cls, e: Settlement) -> EntryRef:
        return cls(e.id, e.setl_id, e.medins_setl_id, e.mdtrt_id, e.institution_id)


@dataclass(frozen=True, slots=True)
class Change:
    """One visit's difference between the ledger and the rules on today's facts."""

    entry: EntryRef  # the visit's `settle` entry
    route: str  # batch | person
    live: bool  # False: cancelled, its net must be zero
    ledger: dict[str, int]  # tier → the ledger's net amount now
    rules: dict[str, int]  # tier → what the rules give now
    pool_deltas: dict[str, Num]  # what the adjustment adds to the pools
    category: str | None
    rule_ids: list[str]
    trace: list[dict[str, Any]]

    @property
    def diff(self) -> dict[str, int]:
        return {t: self.rules[t] - self.ledger[t] for t in TIERS}

    @property
    def maf_pay(self) -> int:
        return self.diff["maf_pay"]


@dataclass
class YearPlan:
    person_id: int
    psn_no: str
    name: str
    jurisdiction: str
    year: int
    changes: list[Change] = field(default_factory=list)
    pools: dict[str, Num] = field(default_factory=dict)  # what the rules leave
    stored: dict[str, Num] = field(default_factory=dict)  # what person_years holds
    error: str | None = None  # the year cannot be settled again: why
    # each live visit and the engine's settlement of it now, in ledger order (year-end)
    settled: list[tuple[Visit, EngineSettlement]] = field(default_factory=list)

    @property
    def pools_differ(self) -> bool:
        return _exact(self.pools) != _exact(self.stored)

    @property
    def clean(self) -> bool:
        return self.error is None and not self.changes and not self.pools_differ

    def problems(self) -> list[str]:
        """Each difference in words, for `ledger verify`. Stored pools that differ from
        the rules' while every visit's pool additions agree are pools that differ from the
        ledger's sum, which the ledger's own check names."""
        who = f"person {self.psn_no} year {self.year}"
        if self.error is not None:
            return [f"{who}: cannot be settled again on today's facts: {self.error}"]
        out = []
        for c in self.changes:
            e = c.entry
            for tier, d in c.diff.items():
                if d:
                    out.append(f"{who} visit {e.mdtrt_id} ({e.setl_id}"
                               f"{'' if c.live else ', cancelled'}): {tier} "
                               f"{to_yuan(c.ledger[tier])} in the ledger, "
                               f"{to_yuan(c.rules[tier])} by the rules ({_signed(d)})")
            if c.pool_deltas and not any(c.diff.values()):
                out.append(f"{who} visit {e.mdtrt_id} ({e.setl_id}): pool additions differ "
                           f"by {_show(c.pool_deltas)}")
        return out


def _exact(p: Mapping[str, Num]) -> dict[str, Fraction]:
    return {k: Fraction(v) for k, v in p.items() if v}


def _show(p: Mapping[str, Num]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(_exact(p).items())) + "}"


def _signed(fen: int) -> str:
    return f"{'+' if fen > 0 else ''}{to_yuan(fen)}"


def _amounts(source: Any) -> dict[str, int]:
    return {t: int(getattr(source, t)) for t in TIERS}


def plan_year(uow: UnitOfWork, person_id: int, year: int) -> YearPlan:
    """Settle the person-year's live visits again, in ledger order, on today's facts, and
    compare each visit with the ledger; writes nothing."""
    s = uow.session
    row = s.get(Person, person_id)
    assert row is not None
    plan = YearPlan(person_id, row.psn_no, row.name, row.jurisdiction, year)
    stored = s.scalars(select(PersonYear.pools).where(PersonYear.person_id == person_id,
                                                      PersonYear.year == year)).first()
    plan.stored = pools.decode(stored or {})
    entries = list(s.scalars(select(Settlement).where(
        Settlement.person_id == person_id, Settlement.year == year).order_by(Settlement.id)))
    settled = [e for e in entries if e.kind == "settle"]
    cancelled = {e.reverses_id for e in entries if e.kind == "cancel"}
    ledger: dict[int, dict[str, int]] = {e.id: _amounts(e) for e in settled}
    deltas: dict[int, dict[str, Num]] = {e.id: pools.decode(e.pool_deltas) for e in settled}
    for e in entries:
        if e.kind == "cancel" and e.reverses_id in ledger:
            ledger[e.reverses_id] = {t: v + getattr(e, t) for t, v in
                                     ledger[e.reverses_id].items()}
            deltas[e.reverses_id] = pools.add(deltas[e.reverses_id],
                                              pools.decode(e.pool_deltas))
    for a in s.scalars(select(Adjustment).where(Adjustment.person_id == person_id,
                                                Adjustment.year == year)):
        if a.settlement_id in ledger:
            ledger[a.settlement_id] = {t: v + getattr(a, t) for t, v in
                                       ledger[a.settlement_id].items()}
            deltas[a.settlement_id] = pools.add(deltas[a.settlement_id],
                                                pools.decode(a.pool_deltas))
    paper = set(s.scalars(select(ApplicationVisit.setl_id).where(
        ApplicationVisit.setl_id.in_([e.setl_id for e in settled])))) if settled else set()
    try:
        person = settlements.find_person(uow, row.psn_no, "psn_no")
        running: dict[str, Num] = {}
        for e in settled:
            live = e.id not in cancelled
            if live:
                visit = visits.of_entry(e, e.institution.level)
                result, after = settlements.compute(uow, person, visit, running)
                plan.settled.append((visit, result))
                rules, rule_deltas = _amounts(result), pools.deltas(running, after)
                running = after
                category, rule_ids, trace = result.category, result.rules, \
                    trace_rows(result.trace)
            else:
                rules, rule_deltas = dict.fromkeys(TIERS, 0), {}
                category, rule_ids, trace = e.category, [], []
            change_deltas = pools.deltas(deltas[e.id], rule_deltas)
            if rules != ledger[e.id] or change_deltas:
                route = "person" if e.setl_id in paper or e.institution.kind == "office" \
                    else "batch"
                plan.changes.append(Change(EntryRef.of(e), route, live, ledger[e.id], rules,
                                           change_deltas, category, rule_ids, trace))
        plan.pools = running
    except MedaidError as e:
        plan.error, plan.changes, plan.settled = str(e), [], []
    return plan


def post_year(uow: UnitOfWork, subject: str, person_id: int, year: int, cause: Cause,
              run_id: str | None = None) -> YearPlan:
    """Lock the person-year (as settlement does), settle it again and append each visit's
    difference as an adjustment, with the pools the rules leave; not committed. A year
    that cannot be settled again is left as it is, its reason audited."""
    locked = uow.lock_year(person_id, year)
    plan = plan_year(uow, person_id, year)
    conn = uow.session.connection()
    # Every re-settlement moves the year's version, changed or not: a plan made before
    # (the bulk path's, a settlement's read of the person) knows it is stale.
    conn.execute(queries.TOUCH_YEAR, {"year_id": locked.id})
    obj = f"person_year:{plan.psn_no}/{year}"
    if plan.error is not None:
        audit.append(conn, subject, "resettle.failed", obj,
                     {"cause": cause.kind, "cause_ref": cause.ref, "error": plan.error})
        return plan
    if plan.clean:
        return plan
    _append(uow, plan, cause, run_id or _new_id(), locked)
    audit.append(conn, subject, "resettle", obj, {
        "cause": cause.kind, "cause_ref": cause.ref, "adjustments": len(plan.changes),
        "maf_pay": sum(c.maf_pay for c in plan.changes)})
    return plan


def _append(uow: UnitOfWork, plan: YearPlan, cause: Cause, run_id: str,
            locked: LockedYear) -> None:
    now = clock.now()
    for c in plan.changes:
        e = c.entry
        uow.session.add(Adjustment(
            adj_id=_new_id(), settlement_id=e.id, run_id=run_id,
            institution_id=e.institution_id, person_id=plan.person_id, psn_no=plan.psn_no,
            year=plan.year, cause=cause.kind, cause_ref=cause.ref[:200],
            reason=cause.reason, route=c.route, pool_deltas=pools.encode(c.pool_deltas),
            category=c.category, rules=c.rule_ids, trace=c.trace, created_at=now,
            **c.diff))
    uow.session.flush()
    if plan.pools_differ:
        uow.save_year(locked, plan.pools)


def ledger_years(uow: UnitOfWork, person_id: int) -> list[int]:
    """The years of a person's ledger entries."""
    return sorted(set(uow.session.scalars(select(Settlement.year).where(
        Settlement.person_id == person_id).distinct())))


def post_persons(uow: UnitOfWork, subject: str, causes: Mapping[int, Cause],
                 years: Iterable[int] | None = None) -> list[YearPlan]:
    """Settle again every ledger year (or only `years`) of each person of `causes` (person
    id → cause), in the order of person and year (so that two of these never deadlock);
    not committed."""
    run_id = _new_id()
    wanted = None if years is None else set(years)
    done = []
    uow.session.flush()
    for person_id in sorted(causes):
        for year in ledger_years(uow, person_id):
            if wanted is None or year in wanted:
                done.append(post_year(uow, subject, person_id, year, causes[person_id],
                                      run_id))
    return done


def jurisdiction_years(uow: UnitOfWork, jurisdiction: str, year: int | None
                       ) -> list[tuple[int, int]]:
    """(person id, year) of every person-year of `jurisdiction` with ledger entries (of
    `year`, or of every year)."""
    q = (select(Settlement.person_id, Settlement.year).distinct()
         .join(Person, Person.id == Settlement.person_id)
         .where(Person.jurisdiction == jurisdiction))
    if year is not None:
        q = q.where(Settlement.year == year)
    return sorted((int(p), int(y)) for p, y in uow.session.execute(q))


def all_years(uow: UnitOfWork) -> list[tuple[int, int]]:
    return sorted((int(p), int(y)) for p, y in uow.session.execute(
        select(Settlement.person_id, Settlement.year).distinct()))


def by_person(pairs: Iterable[tuple[int, int]]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for p, y in pairs:
        out[p].append(y)
    return out


def _new_id() -> str:
    return uuid.uuid4().hex


# -- the whole ledger --------------------------------------------------------------------------
def check(uow: UnitOfWork, pairs: Iterable[tuple[int, int]] | None = None
          ) -> tuple[int, list[str]]:
    """`ledger verify`'s rules check: the person-years checked and every difference between
    the ledger and the rules on today's facts, named."""
    pairs = all_years(uow) if pairs is None else list(pairs)
    problems = []
    for person_id, year in pairs:
        problems.extend(plan_year(uow, person_id, year).problems())
    return len(pairs), problems


def run(sessions: Any, subject: str, pairs: Iterable[tuple[int, int]], cause: Cause,
        dry_run: bool, progress: Any = None) -> list[YearPlan]:
    """Settle each person-year again, each in a transaction of its own (so settlements go
    on meanwhile, and an interrupted run resumes where it stopped: a second run posts
    nothing); a dry run only plans. The plans with a difference or an error."""
    run_id = _new_id()
    out = []
    for person_id, year in pairs:
        with UnitOfWork(sessions) as uow:
            if dry_run:
                plan = plan_year(uow, person_id, year)
                uow.rollback()
            else:
                plan = post_year(uow, subject, person_id, year, cause, run_id)
                uow.commit()
        if not plan.clean:
            out.append(plan)
        if progress is not None:
            progress()
    return out


@dataclass(frozen=True, slots=True)
class Refund:
    psn_no: str
    name: str
    year: int
    amount: int  # fen: > 0 owed to the person (补付), < 0 to recover (追回)
    adjustments: int


def refunds(uow: UnitOfWork, year: int | None = None) -> list[Refund]:
    """The refund/recovery list: the net assistance of the adjustments of visits settled on
    paper (route person), per person and year, where it is not zero; those of an
    application made before it is paid out are its own (what it owes, `due`, counts
    them), those made after are the list's."""
    unpaid = (select(ApplicationVisit.id)
              .join(ApplicationPayment,
                    ApplicationPayment.application_id == ApplicationVisit.application_id)
              .join(Settlement, Settlement.setl_id == ApplicationVisit.setl_id)
              .where(Settlement.id == Adjustment.settlement_id,
                     ApplicationPayment.paid_at.is_(None)
                     | (Adjustment.created_at <= ApplicationPayment.paid_at)))
    q = (select(Adjustment.psn_no, Person.name, Adjustment.year, func.sum(Adjustment.maf_pay),
                func.count())
         .join(Person, Person.id == Adjustment.person_id)
         .where(Adjustment.route == "person", ~unpaid.exists())
         .group_by(Adjustment.psn_no, Person.name, Adjustment.year)
         .order_by(Adjustment.year, Adjustment.psn_no))
    if year is not None:
        q = q.where(Adjustment.year == year)
    return [Refund(p, n, int(y), int(t), int(c)) for p, n, y, t, c in uow.session.execute(q)
            if t]
