"""年终救助: the `when: year_end` stages of a policy (a year's grant, re-assistance, a
ceiling on what a person bears, docs/POLICY-FILES.md §12) paid once a year has ended,
over each person-year's settled, not cancelled, visits.

A person-year's payout is the engine's own (`engine.stages.at_year_end`), over its live
visits settled again in ledger order on today's facts: the run refuses a year whose
ledger differs from the rules (a re-settlement is owed first). Each stage's payout is
written to the year-end ledger (`year_end_payouts`) as the difference from what its
entries already paid: the first run pays it, a run after the visits changed pays or
recovers the difference, any other run pays nothing. The person-year's lock (the one
settlement takes) serializes runs with settlements, and the unique key (person, year,
stage, seq) makes two runs that would write the same entry fail one of them.

A payout is the fund's expense of the year, paid from its special account (a journal
entry of kind `year_end`: assistance_expense against bank), so the clearing counts it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from medaid.app import auth, resettle, settlements
from medaid.app.auth import Actor
from medaid.app.fund_journal import Fund, post
from medaid.app.parameters import params_for
from medaid.app.uow import UnitOfWork
from medaid.app.wire import trace_rows
from medaid.core import clock
from medaid.core.errors import Conflict, InputError, NotFound
from medaid.core.money import to_yuan
from medaid.engine import stages
from medaid.engine.case import as_district, as_jurisdiction, as_text, as_year
from medaid.policy import model
from medaid.store import audit
from medaid.store.fund_models import FundClearing
from medaid.store.models import Person, Settlement, YearEndPayout

RUNNERS = ("finance", "admin")
PSN_NO_CHARS = 40  # persons.psn_no


@dataclass(frozen=True, slots=True)
class StagePayout:
    """One year-end stage of a person-year: what it pays now, what its entries paid."""

    rule: str
    label: str
    category: str | None
    visits: list[str]
    total: int  # fen: the stage's payout for the year on today's facts
    paid: int  # fen: the sum of its entries so far
    entries: int  # how many entries it has
    trace: list[dict[str, Any]]

    @property
    def difference(self) -> int:
        return self.total - self.paid


@dataclass
class YearEndPlan:
    person_id: int
    psn_no: str
    name: str
    jurisdiction: str
    district: str
    year: int
    policy: str | None = None
    stages: list[StagePayout] = field(default_factory=list)
    error: str | None = None  # why the person-year cannot be paid

    @property
    def changes(self) -> list[StagePayout]:
        return [s for s in self.stages if s.difference]

    @property
    def amount(self) -> int:
        return sum(s.difference for s in self.changes)


def plan(uow: UnitOfWork, person_id: int, year: int) -> YearEndPlan:
    """Each year-end stage's payout for the person-year and what its entries paid; writes
    nothing."""
    s = uow.session
    row = s.get(Person, person_id)
    assert row is not None
    out = YearEndPlan(person_id, row.psn_no, row.name, row.jurisdiction, row.district, year)
    paid = {r: (label, int(total), int(n)) for r, label, total, n in s.execute(
        select(YearEndPayout.rule, func.max(YearEndPayout.label), func.sum(YearEndPayout.amount),
               func.count()).where(YearEndPayout.person_id == person_id,
                                   YearEndPayout.year == year)
        .group_by(YearEndPayout.rule))}
    if not paid and not any(st.when == "year_end" for v in model.versions(row.jurisdiction)
                            for st in v.spec.stages):
        return out  # a city without year-end stages: nothing to settle again
    again = resettle.plan_year(uow, person_id, year)
    if again.error is not None:
        out.error = f"本年度不能按现行规则重新结算：{again.error}"
        return out
    if not again.clean:
        out.error = (f"本年度账目与现行规则不一致（{len(again.changes)} 次就诊待补差），请先重新"
                     f"结算（medaid ledger resettle）再办理年终救助；政策文件更正后，服务须重启"
                     f"才读到新文件 / the ledger differs from the rules: settle the year again "
                     f"first (after a corrected policy file, restart the service first)")
        return out
    found = []
    if again.settled:
        policy = model.closing(model.versions(row.jurisdiction), year)
        assert policy is not None  # its visits were settled under one just now
        out.policy = f"{policy.jurisdiction} {policy.spec.version}"
        person = settlements.find_person(uow, row.psn_no, "psn_no").person
        found = stages.at_year_end(policy, params_for(uow, policy, year), person,
                                   again.settled, dict(again.pools))
    for y in found:
        label, before, n = paid.pop(y.rule, (y.label, 0, 0))
        out.stages.append(StagePayout(y.rule, y.label, y.category, y.visits, y.amount, before,
                                      n, trace_rows(y.trace)))
    for rule, (label, before, n) in sorted(paid.items()):  # no visit qualifies any more
        out.stages.append(StagePayout(rule, label, None, [], 0, before, n, []))
    return out


def post_year(uow: UnitOfWork, subject: str, person_id: int, year: int, run_id: str
              ) -> YearEndPlan:
    """Lock the person-year, plan it and append each stage's difference, its fund's
    journal entry and the audit entry; not committed."""
    uow.lock_year(person_id, year)
    p = plan(uow, person_id, year)
    conn = uow.session.connection()
    obj = f"person_year:{p.psn_no}/{year}"
    if p.error is None and p.changes and _cleared(uow, p):
        p.error = (f"基金 {p.jurisdiction}/{p.district} {year} 年已清算，不能再支付年终救助 / "
                   f"the fund year is cleared")
    if p.error is not None:
        audit.append(conn, subject, "year_end.failed", obj, {"error": p.error})
        return p
    if not p.changes:
        return p
    now = clock.now()
    for st in p.changes:
        uow.session.add(YearEndPayout(
            payout_id=uuid.uuid4().hex, run_id=run_id, person_id=person_id, psn_no=p.psn_no,
            jurisdiction=p.jurisdiction, district=p.district, year=year,
            policy=p.policy or "", rule=st.rule, label=st.label, seq=st.entries + 1,
            category=st.category, visits=st.visits, amount=st.difference, total=st.total,
            trace=st.trace, created_by=subject, created_at=now))
    post(uow.session, Fund(p.jurisdiction, p.district), year, "year_end", obj[:80],
         f"{year}年度年终救助 {p.psn_no}：{to_yuan(p.amount)} 元", clock.today(),
         [("assistance_expense", p.amount, None), ("bank", -p.amount, None)])
    uow.session.flush()
    audit.append(conn, subject, "year_end", obj, {
        "run_id": run_id, "amount": p.amount,
        "stages": {st.rule: st.difference for st in p.changes}})
    return p


def _cleared(uow: UnitOfWork, p: YearEndPlan) -> bool:
    return uow.session.scalars(select(FundClearing.id).where(
        FundClearing.jurisdiction == p.jurisdiction, FundClearing.district == p.district,
        FundClearing.year == p.year)).first() is not None


def person_years(uow: UnitOfWork, jurisdiction: str, year: int, district: str | None = None,
                 psn_no: str | None = None, path: str = "psn_no") -> list[tuple[int, int]]:
    """(person id, year) of each person of the jurisdiction (its district, or one person)
    with ledger entries in `year`, in the order of person (so two runs never deadlock)."""
    q = (select(Settlement.person_id).distinct()
         .join(Person, Person.id == Settlement.person_id)
         .where(Person.jurisdiction == jurisdiction, Settlement.year == year))
    if district is not None:
        q = q.where(Person.district == district)
    if psn_no is not None:
        if uow.session.scalars(select(Person.id).where(Person.psn_no == psn_no,
                                                       Person.jurisdiction == jurisdiction)
                               ).first() is None:
            raise NotFound(path, f"{jurisdiction} 没有人员编号为「{psn_no}」的人员 / "
                                     f"no person {psn_no!r} in {jurisdiction}")
        q = q.where(Person.psn_no == psn_no)
    return sorted((int(p), year) for p in uow.session.scalars(q))


def fields(raw: dict[str, Any], paths: dict[str, str]
           ) -> tuple[str, int, str | None, str | None]:
    """A run's jurisdiction, year, district and person as the caller gave them (`paths`:
    how it names each), checked, each refusal Chinese first."""
    jurisdiction = as_jurisdiction(raw.get("jurisdiction"), paths["jurisdiction"])
    year = as_year(raw.get("year"), paths["year"])
    district = None if raw.get("district") is None else as_district(raw["district"],
                                                                     paths["district"])
    psn_no = None if raw.get("psn_no") is None else as_text(raw["psn_no"], paths["psn_no"],
                                                            PSN_NO_CHARS)
    return jurisdiction, year, district, psn_no


def check_year_ended(year: int, path: str) -> None:
    if clock.today() <= date(year, 12, 31):
        raise InputError(path, f"{year} 年尚未结束：年终救助在年度结束后办理 / {year} has not "
                               f"ended: year-end stages are paid after it")


def run(sessions: Any, subject: str, pairs: Iterable[tuple[int, int]], dry_run: bool = False,
        progress: Callable[[], None] | None = None) -> list[YearEndPlan]:
    """Each person-year in a transaction of its own (an interrupted run resumes: a second
    run pays nothing twice); a dry run only plans. Each person-year's plan. A run that
    loses the race for an entry to another run plans again, after it."""
    run_id = uuid.uuid4().hex
    out = []
    for person_id, year in pairs:
        for attempt in range(2):
            with UnitOfWork(sessions) as uow:
                try:
                    if dry_run:
                        p = plan(uow, person_id, year)
                        uow.rollback()
                    else:
                        p = post_year(uow, subject, person_id, year, run_id)
                        uow.commit()
                    break
                except IntegrityError:
                    uow.rollback()
                    if attempt:
                        raise Conflict("另一年终救助正在办理同一人员年度，请稍后重试 / another "
                                       "year-end run is writing this person-year") from None
        out.append(p)
        if progress is not None:
            progress()
    return out


def has_stages(jurisdiction: str, year: int) -> bool:
    """Whether a version of the jurisdiction in force in `year` has a `when: year_end`
    stage."""
    versions = model.versions(jurisdiction)
    first = model.in_force(versions, date(year, 1, 1))
    during = [v for v in versions if (first is not None and v is first)
              or date(year, 1, 1) < v.in_force <= date(year, 12, 31)]
    return any(st.when == "year_end" for v in during for st in v.spec.stages)


def owed(uow: UnitOfWork, jurisdiction: str, district: str, year: int) -> list[YearEndPlan]:
    """The person-years of a district-year whose year-end stages would pay or recover
    something now, or cannot be settled again: what its fund's clearing waits for (once a
    year is cleared no stage of it is paid). Writes nothing."""
    if not has_stages(jurisdiction, year) and uow.session.scalars(
            select(YearEndPayout.id).where(YearEndPayout.jurisdiction == jurisdiction,
                                           YearEndPayout.year == year)).first() is None:
        return []
    plans = (plan(uow, person_id, y)
             for person_id, y in person_years(uow, jurisdiction, year, district))
    return [p for p in plans if p.changes or p.error is not None]


def run_for(sessions: Any, actor: Actor, jurisdiction: str, year: int,
            district: str | None = None, psn_no: str | None = None, dry_run: bool = False,
            paths: tuple[str, str, str] = ("year", "psn_no", "jurisdiction")
            ) -> tuple[int, list[YearEndPlan]]:
    """The run of a finance or admin user over a city-, district- or person-year: the
    person-years found and the plans with a payout or an error (one person's: its plan
    whatever it pays, each stage's trace saying why). `paths`: how the caller
    names the year, the person and the jurisdiction (`$.year` in a body, `--year` on the
    command line). A jurisdiction-year without year-end stages (and no payout to correct)
    is refused, naming the jurisdiction."""
    auth.require(actor, *RUNNERS)
    check_year_ended(year, paths[0])
    if psn_no is not None:
        as_text(psn_no, paths[1], PSN_NO_CHARS)
    with UnitOfWork(sessions) as uow:
        if not has_stages(jurisdiction, year) and uow.session.scalars(
                select(YearEndPayout.id).where(YearEndPayout.jurisdiction == jurisdiction,
                                               YearEndPayout.year == year)).first() is None:
            raise InputError(paths[2], f"{jurisdiction} {year} 年施行的政策文件没有年终救助"
                                       f"（when: year_end 的救助阶段），无需办理 / the policy "
                                       f"of {jurisdiction} in {year} has no year-end stage")
        pairs = person_years(uow, jurisdiction, year, district, psn_no, paths[1])
        uow.rollback()
    plans = [p for p in run(sessions, actor.subject, pairs, dry_run)
             if p.changes or p.error is not None or psn_no is not None]
    with UnitOfWork(sessions) as uow:
        uow.commit_audited(actor.subject, "year_end.run", f"year_end:{jurisdiction}/{year}",
                           {"district": district, "psn_no": psn_no, "dry_run": dry_run,
                            "person_years": len(pairs),
                            "amount": sum(p.amount for p in plans if p.error is None)})
    return len(pairs), plans


# -- out ---------------------------------------------------------------------------------------
def plan_json(p: YearEndPlan) -> dict[str, Any]:
    return {"psn_no": p.psn_no, "name": p.name, "district": p.district, "year": p.year,
            "policy": p.policy, "error": p.error, "amount": to_yuan(p.amount),
            "stages": [{"rule": s.rule, "label": s.label, "category": s.category,
                        "visits": s.visits, "total": to_yuan(s.total),
                        "paid_before": to_yuan(s.paid), "amount": to_yuan(s.difference),
                        "trace": _trace_json(s.trace)}
                       for s in p.stages]}


def payout_json(e: YearEndPayout) -> dict[str, Any]:
    """A year-end ledger entry, amounts in yuan (its trace too)."""
    return {"payout_id": e.payout_id, "rule": e.rule, "label": e.label, "seq": e.seq,
            "category": e.category, "visits": e.visits, "amount": to_yuan(e.amount),
            "total": to_yuan(e.total), "policy": e.policy,
            "trace": _trace_json(e.trace),
            "time": e.created_at.isoformat(timespec="seconds")}


def _trace_json(trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**t, "amount": to_yuan(t["amount"])} for t in trace]


def payouts(uow: UnitOfWork, person_id: int, year: int) -> list[YearEndPayout]:
    return list(uow.session.scalars(select(YearEndPayout).where(
        YearEndPayout.person_id == person_id, YearEndPayout.year == year
    ).order_by(YearEndPayout.id)))

