"""The assistance fund (NJ-F and the other documents' 专户/分账核算; docs/FUNDS.md):
budgets, the quarterly pre-allocation schedule, receipts, monthly payment batches to
institutions less the assessment reserve, and the annual clearing.

Every amount is integer fen; every write posts a balanced journal entry
(`app.fund_journal`) and an audit entry in the same transaction. Percentages and dates
come from the policy's `funds:` section. Months and days are Beijing time (UTC+8): a
settlement made at 23:30 on 31 March belongs to March's batch.

Roles: finance and admin write; auditors read everything; a caseworker reads its
district's funds; a hospital reads its own batches only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, true

from medaid.app import auth, year_end
from medaid.app.auth import Actor
from medaid.app.fund_journal import Fund, Leg, balance, post
from medaid.app.uow import UnitOfWork
from medaid.app.wire import ROOT
from medaid.casework.funds import Installment, deficit_status, installments, reserve_of
from medaid.core import clock, labels
from medaid.core.dates import BEIJING, add_months, month_end
from medaid.core.errors import Conflict, Forbidden, InputError, NotFound, PolicyError
from medaid.core.money import BP, MoneyError, to_bp, to_yuan
from medaid.engine.case import (
    as_choice,
    as_date,
    as_district,
    as_fen,
    as_jurisdiction,
    as_text,
    as_year,
)
from medaid.policy import model
from medaid.policy.funds import Funds
from medaid.store.fund_models import (
    FundAssessment,
    FundBatch,
    FundBatchLine,
    FundBudget,
    FundClearing,
    FundReceipt,
    JournalEntry,
    JournalLine,
)
from medaid.store.models import Adjustment, Institution, Person, Settlement

WRITERS = ("finance", "admin")


# -- input -------------------------------------------------------------------------------------
def _share(raw: object, path: str) -> int:
    """A share between 0 and 1 (0.9) → basis points."""
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal) or not 0 <= raw <= 1:
        raise InputError(path, "应为 0 至 1 之间的数 / must be a number from 0 to 1")
    try:
        return to_bp(raw)
    except MoneyError as e:
        raise InputError(path, str(e)) from None


def _state(status: str) -> str:
    return labels.label(labels.BATCH_STATES, status)


PURPOSES = {"budget": "预算资金", "deficit": "超支补足资金"}


def parse_month(raw: object, path: str) -> date:
    text = raw if isinstance(raw, str) else ""
    try:
        return date.fromisoformat(f"{text}-01") if len(text) == 7 else date.fromisoformat("x")
    except ValueError:
        raise InputError(path, "应为年月，如 2026-03 / expected a month as YYYY-MM") from None


def fund_of(raw: dict[str, Any]) -> Fund:
    return Fund(as_jurisdiction(raw.get("jurisdiction"), f"{ROOT}.jurisdiction"),
                as_district(raw.get("district"), f"{ROOT}.district"))


# -- policy and scope --------------------------------------------------------------------------
def rules(jurisdiction: str, year: int) -> tuple[model.Policy, Funds]:
    """The `funds:` section of the version in force on 31 December of `year`."""
    policy = model.in_force(model.versions(jurisdiction), date(year, 12, 31))
    if policy is None or policy.spec.funds is None:
        raise PolicyError(f"{jurisdiction}：{year} 年没有施行中的含基金规则（funds）的政策 / "
                          f"no policy with a funds section in force in {year}")
    return policy, policy.spec.funds


def require_write(actor: Actor) -> None:
    auth.require(actor, *WRITERS)


def require_fund_read(actor: Actor, district: str | None) -> str | None:
    """The district an actor may read (None: every district); a hospital reads no fund."""
    if actor.role in auth.READ_ALL:
        return district
    if actor.role == "caseworker":
        if district not in (None, actor.district):
            raise Forbidden(f"区经办只能查看本区（{actor.district}）的基金 / a caseworker of "
                            f"{actor.district} reads only its district's fund")
        return actor.district
    raise Forbidden(f"{labels.label(labels.ROLES, actor.role)}不能查看基金账 / "
                    f"role {actor.role} may not read the fund ledger")


def _commit(uow: UnitOfWork, actor: Actor, action: str, obj: str, detail: dict[str, Any]
            ) -> None:
    """A fund's rows are unique per fund, year and month: a second writer's is a 409."""
    uow.commit_audited(actor.subject, action, obj, detail,
                       f"{obj} was written at the same time by another request; "
                       f"read it and retry")


# -- budgets and the pre-allocation schedule ---------------------------------------------------
def set_budget(uow: UnitOfWork, actor: Actor, raw: dict[str, Any]) -> FundBudget:
    """Enter (or change) a district's annual budget: Dr budget_receivable / Cr budget_revenue
    by the amount it grows (the reverse when it shrinks)."""
    require_write(actor)
    fund, year = fund_of(raw), as_year(raw.get("year"), f"{ROOT}.year")
    amount = as_fen(raw.get("amount"), f"{ROOT}.amount", positive=True)
    source = as_text(raw.get("source"), f"{ROOT}.source")
    rules(fund.jurisdiction, year)
    s = uow.session
    if clearing_of(uow, fund, year) is not None:
        raise Conflict(f"基金 {fund} {year} 年已清算，预算已关闭 / "
                       f"fund {fund} {year} is already cleared; its budget is closed")
    row = s.scalars(select(FundBudget).where(
        FundBudget.jurisdiction == fund.jurisdiction, FundBudget.district == fund.district,
        FundBudget.year == year)).first()
    old = 0 if row is None else row.amount
    received = _received(uow, fund, year, "budget")
    if amount < received:
        raise Conflict(f"本区 {year} 年预算已到账 {to_yuan(received)} 元，预算不能少于此数 / "
                       f"the district has already paid in {to_yuan(received)} yuan of {year}'s "
                       f"budget; the budget cannot be less")
    if row is None:
        row = FundBudget(jurisdiction=fund.jurisdiction, district=fund.district, year=year,
                         amount=amount, source=source, updated_at=clock.now())
        s.add(row)
    else:
        row.amount, row.source, row.updated_at = amount, source, clock.now()
    if amount != old:
        post(s, fund, year, "budget", f"budget:{fund}/{year}",
             f"{year}年度预算 {to_yuan(amount)} 元（{source}）", clock.today(),
             [("budget_receivable", amount - old, None), ("budget_revenue", old - amount, None)])
    _commit(uow, actor, "fund.budget", f"fund:{fund}/{year}",
            {"amount": amount, "previous": old, "source": source})
    return row


def budget_of(uow: UnitOfWork, fund: Fund, year: int) -> int:
    found = uow.session.scalar(select(FundBudget.amount).where(
        FundBudget.jurisdiction == fund.jurisdiction, FundBudget.district == fund.district,
        FundBudget.year == year))
    return int(found or 0)


def _received(uow: UnitOfWork, fund: Fund, year: int, purpose: str) -> int:
    total = uow.session.scalar(select(func.coalesce(func.sum(FundReceipt.amount), 0)).where(
        FundReceipt.jurisdiction == fund.jurisdiction, FundReceipt.district == fund.district,
        FundReceipt.year == year, FundReceipt.purpose == purpose))
    return int(total or 0)


@dataclass(frozen=True, slots=True)
class Schedule:
    fund: Fund
    year: int
    budget: int
    received: int
    rule: str
    source: str
    installments: list[Installment]


def schedule(uow: UnitOfWork, actor: Actor, fund: Fund, year: int, on: date | None = None
             ) -> Schedule:
    require_fund_read(actor, fund.district)
    policy, funds = rules(fund.jurisdiction, year)
    budget, received = budget_of(uow, fund, year), _received(uow, fund, year, "budget")
    return Schedule(fund, year, budget, received, funds.rule, policy.cite(funds.article),
                    installments(budget, year, funds, received, on or clock.today()))


def record_receipt(uow: UnitOfWork, actor: Actor, raw: dict[str, Any]) -> FundReceipt:
    """Money a district paid in: Dr bank / Cr budget_receivable (or deficit_receivable);
    never more than is outstanding."""
    require_write(actor)
    fund, year = fund_of(raw), as_year(raw.get("year"), f"{ROOT}.year")
    purpose = as_choice(raw.get("purpose", "budget"), f"{ROOT}.purpose",
                        ("budget", "deficit"), "purpose")
    amount = as_fen(raw.get("amount"), f"{ROOT}.amount", positive=True)
    on = as_date(raw["received_on"], f"{ROOT}.received_on") if "received_on" in raw \
        else clock.today()
    account = f"{purpose}_receivable"
    outstanding = balance(uow.session, fund, account, year=year)
    if amount > outstanding:
        raise Conflict(f"基金 {fund} {year} 年{PURPOSES[purpose]}待到账 {to_yuan(outstanding)} 元，"
                       f"到账 {to_yuan(amount)} 元超出 / fund {fund} {year}: "
                       f"{to_yuan(outstanding)} yuan of {purpose} is outstanding; a receipt of "
                       f"{to_yuan(amount)} is more")
    row = FundReceipt(jurisdiction=fund.jurisdiction, district=fund.district, year=year,
                      purpose=purpose, amount=amount, received_on=on,
                      created_at=clock.now())
    uow.session.add(row)
    label = "预拨资金" if purpose == "budget" else "超支补足资金"
    post(uow.session, fund, year, "receipt", f"receipt:{fund}/{year}",
         f"{fund.district} {label}到账 {to_yuan(amount)} 元", on,
         [("bank", amount, None), (account, -amount, None)])
    _commit(uow, actor, "fund.receipt", f"fund:{fund}/{year}",
            {"purpose": purpose, "amount": amount, "received_on": str(on)})
    return row


def _beijing_month(month: date) -> tuple[datetime, datetime]:
    start = datetime(month.year, month.month, 1, tzinfo=BEIJING)
    nxt = add_months(month, 1)
    return start, datetime(nxt.year, nxt.month, 1, tzinfo=BEIJING)


def month_assistance(uow: UnitOfWork, month: date) -> dict[tuple[int, str, str], int]:
    """(institution, jurisdiction, district of the person) → net maf_pay settled in the
    month (a cancellation is a negative entry, so sums are net), with the re-settlement
    adjustments posted in the month that go to the institution's batch (an adjustment of
    a visit settled on paper goes to the person: resettle.refunds)."""
    start, end = _beijing_month(month)
    out: dict[tuple[int, str, str], int] = {}
    for table, only in ((Settlement, true()), (Adjustment, Adjustment.route == "batch")):
        rows = uow.session.execute(
            select(table.institution_id, Person.jurisdiction, Person.district,
                   func.sum(table.maf_pay))
            .join(Person, Person.id == table.person_id)
            .where(table.created_at >= start, table.created_at < end, only)
            .group_by(table.institution_id, Person.jurisdiction, Person.district)).all()
        for i, j, d, total in rows:
            out[(i, j, d)] = out.get((i, j, d), 0) + int(total)
    return out


@dataclass(frozen=True, slots=True)
class BatchRun:
    month: date
    created: list[FundBatch]
    existing: list[FundBatch]


def create_batches(uow: UnitOfWork, actor: Actor, month: date, on: date | None = None
                   ) -> BatchRun:
    """The month's payment batch of every institution with assistance settled in it, once:
    a batch that exists is left as it is. Only a month that has ended (Beijing time)."""
    require_write(actor)
    on = on or clock.today()
    if month_end(month) >= on:
        raise InputError(f"{ROOT}.month", f"{month:%Y-%m} 尚未结束：月末之后才能生成支付批次 / "
                                          f"{month:%Y-%m} has not ended: a month is paid "
                                          f"after its last day")
    s = uow.session
    existing = {b.institution_id: b for b in s.scalars(
        select(FundBatch).where(FundBatch.month == month))}
    by_institution: dict[int, list[tuple[Fund, int]]] = {}
    for (inst, j, d), amount in sorted(month_assistance(uow, month).items()):
        if amount:
            by_institution.setdefault(inst, []).append((Fund(j, d), amount))
    created = []
    for inst, parts in by_institution.items():
        if inst in existing:
            continue
        lines = []
        for fund, assistance in parts:
            _, funds = rules(fund.jurisdiction, month.year)
            reserve = reserve_of(assistance, to_bp(funds.payment.reserve_share))
            lines.append(FundBatchLine(jurisdiction=fund.jurisdiction, district=fund.district,
                                       assistance=assistance, reserve=reserve,
                                       payment=assistance - reserve))
        batch = FundBatch(institution_id=inst, month=month, status="created",
                          assistance=sum(ln.assistance for ln in lines),
                          reserve=sum(ln.reserve for ln in lines),
                          payment=sum(ln.payment for ln in lines),
                          created_at=clock.now(), lines=lines)
        s.add(batch)
        s.flush()
        for ln in lines:
            post(s, Fund(ln.jurisdiction, ln.district), month.year, "batch", f"batch:{batch.id}",
                 f"{month:%Y年%m月} 救助费用 {to_yuan(ln.assistance)} 元，"
                 f"考核预留 {to_yuan(ln.reserve)} 元", on,
                 [("assistance_expense", ln.assistance, None),
                  ("payable_institution", -ln.payment, inst),
                  ("assessment_reserve", -ln.reserve, inst)])
        created.append(batch)
    _commit(uow, actor, "fund.batches", f"batches:{month:%Y-%m}",
            {"created": [b.id for b in created], "existing": len(existing)})
    return BatchRun(month, created, list(existing.values()))


def get_batch(uow: UnitOfWork, actor: Actor, batch_id: int) -> FundBatch:
    batch = uow.session.get(FundBatch, batch_id)
    if batch is None:
        raise NotFound("batch_id", f"没有编号为 {batch_id} 的支付批次 / "
                                   f"no payment batch {batch_id}")
    _require_batch_read(actor, batch)
    return batch


def _require_batch_read(actor: Actor, batch: FundBatch) -> None:
    if actor.role == "hospital":
        if actor.institution_id != batch.institution_id:
            raise Forbidden("定点医院只能查看本院的支付批次 / "
                            "a hospital reads only its own payment batches")
        return
    if actor.role == "caseworker" and all(ln.district != actor.district for ln in batch.lines):
        raise Forbidden(f"此批次不含本区（{actor.district}）的结算 / "
                        f"this batch pays nothing for district {actor.district}")
    if actor.role != "caseworker":
        auth.require(actor, *auth.READ_ALL)


def list_batches(uow: UnitOfWork, actor: Actor, month: date | None = None,
                 year: int | None = None) -> list[FundBatch]:
    q = select(FundBatch).order_by(FundBatch.month, FundBatch.institution_id)
    if month is not None:
        q = q.where(FundBatch.month == month)
    if year is not None:
        q = q.where(FundBatch.month >= date(year, 1, 1), FundBatch.month <= date(year, 12, 1))
    if actor.role == "hospital":
        q = q.where(FundBatch.institution_id == actor.institution_id)
    elif actor.role == "caseworker":
        q = q.where(FundBatch.id.in_(select(FundBatchLine.batch_id).where(
            FundBatchLine.district == actor.district)))
    else:
        auth.require(actor, *auth.READ_ALL)
    return list(uow.session.scalars(q))


def approve_batch(uow: UnitOfWork, actor: Actor, batch_id: int) -> FundBatch:
    require_write(actor)
    batch = get_batch(uow, actor, batch_id)
    if batch.status != "created":
        raise Conflict(f"支付批次 {batch_id} {_state(batch.status)} / "
                       f"batch {batch_id} is already {batch.status}")
    batch.status, batch.approved_at = "approved", clock.now()
    _commit(uow, actor, "fund.batch.approve", f"batch:{batch_id}", {"payment": batch.payment})
    return batch


def pay_batch(uow: UnitOfWork, actor: Actor, batch_id: int, paid_on: date | None = None
              ) -> FundBatch:
    """Mark an approved batch paid: Dr payable_institution / Cr bank, per fund."""
    require_write(actor)
    batch = get_batch(uow, actor, batch_id)
    if batch.status != "approved":
        raise Conflict(f"支付批次 {batch_id} {_state(batch.status)}：只有已审核的批次才能付款 / "
                       f"batch {batch_id} is {batch.status}: only an approved batch is paid")
    on = paid_on or clock.today()
    batch.status, batch.paid_on = "paid", on
    for ln in batch.lines:
        post(uow.session, Fund(ln.jurisdiction, ln.district), batch.month.year, "payment",
             f"batch:{batch.id}", f"支付 {batch.institution.code} {batch.month:%Y年%m月} "
             f"{to_yuan(ln.payment)} 元", on,
             [("payable_institution", ln.payment, batch.institution_id),
              ("bank", -ln.payment, None)])
    _commit(uow, actor, "fund.batch.pay", f"batch:{batch_id}",
            {"payment": batch.payment, "paid_on": str(on)})
    return batch


# -- annual clearing ---------------------------------------------------------------------------
def clearing_of(uow: UnitOfWork, fund: Fund, year: int) -> FundClearing | None:
    return uow.session.scalars(select(FundClearing).where(
        FundClearing.jurisdiction == fund.jurisdiction, FundClearing.district == fund.district,
        FundClearing.year == year)).first()


def _unfinished(uow: UnitOfWork, fund: Fund, year: int) -> list[str]:
    """Why the year cannot be cleared yet: months with assistance and no batch, batches
    not paid, year-end stages (年终救助) owed to a person-year or not payable."""
    problems = []
    owed = year_end.owed(uow, fund.jurisdiction, fund.district, year)
    if owed:
        named = "、".join(p.psn_no for p in owed[:5]) + (" 等" if len(owed) > 5 else "")
        problems.append(f"年终救助尚未办理完毕：{named} {len(owed)} 个人员年度（medaid "
                        f"year-end 或 POST /api/v1/year-end） / year-end stages are owed to "
                        f"{len(owed)} person-years")
    batched = {(b.institution_id, b.month): b for b in uow.session.scalars(
        select(FundBatch).where(FundBatch.month >= date(year, 1, 1),
                                FundBatch.month <= date(year, 12, 1)))}
    for m in range(1, 13):
        month = date(year, m, 1)
        for (inst, j, d), amount in month_assistance(uow, month).items():
            if amount and Fund(j, d) == fund and (inst, month) not in batched:
                problems.append(f"{month:%Y-%m}：机构 {inst} 未生成支付批次 / "
                                f"institution {inst} has no batch")
    for b in batched.values():
        if b.status != "paid" and any(Fund(ln.jurisdiction, ln.district) == fund
                                      for ln in b.lines):
            problems.append(f"支付批次 {b.id}（{b.month:%Y-%m}）{_state(b.status)} / "
                            f"batch {b.id} is {b.status}")
    return problems


def _assessments(uow: UnitOfWork, raw: object, reserves: dict[int, int]
                 ) -> dict[int, int]:
    """institution id → released share (bp), one for every institution holding a reserve."""
    path = f"{ROOT}.assessments"
    items = raw if isinstance(raw, list) else None
    if items is None:
        raise InputError(path, "应为考核结果列表（fixmedins_code、share） / "
                               "a list of {fixmedins_code, share}")
    codes = dict(uow.session.execute(select(Institution.code, Institution.id)).all())
    out: dict[int, int] = {}
    for k, item in enumerate(items):
        where = f"{path}[{k}]"
        if not isinstance(item, dict):
            raise InputError(where, "应为 JSON 对象 / must be an object")
        code = as_text(item.get("fixmedins_code"), f"{where}.fixmedins_code")
        if code not in codes:
            raise InputError(f"{where}.fixmedins_code", f"没有定点医疗机构「{code}」 / "
                                                        f"no institution {code!r}")
        inst = codes[code]
        if inst in out:
            raise InputError(f"{where}.fixmedins_code", f"{code} 的考核结果重复 / "
                                                        f"{code} is assessed twice")
        if inst not in reserves:
            raise InputError(f"{where}.fixmedins_code",
                             f"{code} 本年度没有考核预留款 / "
                             f"{code} holds no assessment reserve in this fund year")
        out[inst] = _share(item.get("share"), f"{where}.share")
    missing = sorted(c for c, i in codes.items() if i in reserves and i not in out)
    if missing:
        raise InputError(path, f"缺少考核结果：{'、'.join(missing)} / "
                               f"an assessment share is needed for {', '.join(missing)}")
    return out


def run_clearing(uow: UnitOfWork, actor: Actor, raw: dict[str, Any], on: date | None = None
                 ) -> FundClearing:
    """清算 of a fund year (NJ-F: by 31 March of the next year): each institution's
    assessment reserve is released by its assessment share (half-up to the fen; the rest
    is forfeited to the fund), then the year's budget, forfeits and assistance are closed
    into the surplus carried forward; a negative result is a deficit the district owes
    (NJ-F: by 30 June)."""
    require_write(actor)
    fund, year = fund_of(raw), as_year(raw.get("year"), f"{ROOT}.year")
    on = as_date(raw["cleared_on"], f"{ROOT}.cleared_on") if "cleared_on" in raw \
        else (on or clock.today())
    if on <= date(year, 12, 31):
        raise InputError(f"{ROOT}.cleared_on", f"{year} 年结束后才能清算 / "
                                               f"a year is cleared after it ends ({year})")
    _, funds = rules(fund.jurisdiction, year)
    s = uow.session
    if clearing_of(uow, fund, year) is not None:
        raise Conflict(f"基金 {fund} {year} 年已清算 / fund {fund} {year} is already cleared")
    problems = _unfinished(uow, fund, year)
    if problems:
        raise Conflict(f"基金 {fund} {year} 年尚不能清算：{'；'.join(problems)} / "
                       f"fund {fund} {year} cannot be cleared yet")
    reserves = {i: -int(r) for i, r in s.execute(
        reserve_query(fund, year)).all() if r}
    shares = _assessments(uow, raw.get("assessments", []), reserves)
    clearing = FundClearing(jurisdiction=fund.jurisdiction, district=fund.district, year=year,
                            cleared_on=on, due=None if funds.clearing.due is None
                            else funds.clearing.due.of(year + 1),
                            created_at=clock.now(), assessments=[])
    legs: list[Leg] = []
    for inst, reserve in sorted(reserves.items()):
        released = reserve_of(reserve, shares[inst])  # the same half-up rule
        clearing.assessments.append(FundAssessment(
            institution_id=inst, share_bp=shares[inst], reserve=reserve, released=released,
            forfeited=reserve - released))
        legs += [("assessment_reserve", reserve, inst), ("bank", -released, None),
                 ("reserve_forfeited", released - reserve, None)]
    closing: list[Leg] = []
    released = sum(a.released for a in clearing.assessments)
    forfeited = sum(a.forfeited for a in clearing.assessments)
    budget = -balance(s, fund, "budget_revenue", year=year)
    assistance = balance(s, fund, "assistance_expense", year=year)
    opening = -balance(s, fund, "surplus_carried_forward", before_year=year)
    result = opening + budget + forfeited - assistance
    deficit = max(0, -result)
    closing += [("budget_revenue", budget, None), ("reserve_forfeited", forfeited, None),
             ("assistance_expense", -assistance, None),
             ("surplus_carried_forward", assistance - budget - forfeited, None),
             ("deficit_receivable", deficit, None), ("surplus_carried_forward", -deficit, None)]
    clearing.opening_surplus, clearing.budget, clearing.assistance = opening, budget, assistance
    clearing.released, clearing.forfeited = released, forfeited
    clearing.surplus, clearing.deficit = max(0, result), deficit
    clearing.deficit_due = None if not deficit or funds.clearing.deficit_due is None \
        else funds.clearing.deficit_due.of(year + 1)
    s.add(clearing)
    s.flush()
    if legs:
        post(s, fund, year, "release", f"clearing:{clearing.id}",
             f"{year}年度考核预留款：拨付 {to_yuan(released)} 元，扣减 {to_yuan(forfeited)} 元",
             on, legs)
    post(s, fund, year, "clearing", f"clearing:{clearing.id}",
         f"{year}年度清算：结转 {to_yuan(clearing.surplus)} 元，超支 {to_yuan(deficit)} 元", on,
         _merge(closing))
    _commit(uow, actor, "fund.clearing", f"fund:{fund}/{year}",
            {"surplus": clearing.surplus, "deficit": deficit, "released": released,
             "forfeited": forfeited})
    return clearing


def reserve_query(fund: Fund, year: int) -> Any:
    return (select(JournalLine.institution_id, func.sum(JournalLine.debit - JournalLine.credit))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(JournalEntry.jurisdiction == fund.jurisdiction,
                   JournalEntry.district == fund.district, JournalEntry.year == year,
                   JournalLine.account == "assessment_reserve")
            .group_by(JournalLine.institution_id).order_by(JournalLine.institution_id))


def _merge(legs: Iterable[Leg]) -> list[Leg]:
    """One leg per account and institution (the closing and the deficit both touch the
    surplus account)."""
    out: dict[tuple[str, int | None], int] = {}
    for account, amount, inst in legs:
        out[(account, inst)] = out.get((account, inst), 0) + amount
    return [(a, amount, i) for (a, i), amount in out.items()]


def get_clearing(uow: UnitOfWork, actor: Actor, fund: Fund, year: int) -> FundClearing:
    require_fund_read(actor, fund.district)
    c = clearing_of(uow, fund, year)
    if c is None:
        raise NotFound("year", f"基金 {fund} {year} 年尚未清算 / "
                               f"fund {fund} {year} has not been cleared")
    return c


def deficit_received(uow: UnitOfWork, c: FundClearing) -> int:
    return _received(uow, Fund(c.jurisdiction, c.district), c.year, "deficit")


# -- out ---------------------------------------------------------------------------------------
def budget_json(row: FundBudget) -> dict[str, Any]:
    return {"jurisdiction": row.jurisdiction, "district": row.district, "year": row.year,
            "amount": to_yuan(row.amount), "source": row.source}


def receipt_json(row: FundReceipt) -> dict[str, Any]:
    return {"id": row.id, "jurisdiction": row.jurisdiction, "district": row.district,
            "year": row.year, "purpose": row.purpose, "amount": to_yuan(row.amount),
            "received_on": str(row.received_on)}


def schedule_json(sch: Schedule) -> dict[str, Any]:
    return {"jurisdiction": sch.fund.jurisdiction, "district": sch.fund.district,
            "year": sch.year, "rule": sch.rule, "source": sch.source,
            "budget": to_yuan(sch.budget), "received": to_yuan(sch.received),
            "installments": [{"quarter": i.quarter, "due": str(i.due),
                              "amount": to_yuan(i.amount), "received": to_yuan(i.received),
                              "status": i.status} for i in sch.installments]}


def batch_json(b: FundBatch, district: str | None = None) -> dict[str, Any]:
    """A batch; for a caseworker (`district`) only its district's lines."""
    lines = [ln for ln in b.lines if district is None or ln.district == district]
    return {"id": b.id, "fixmedins_code": b.institution.code, "institution": b.institution.name,
            "month": f"{b.month:%Y-%m}", "status": b.status,
            "assistance": to_yuan(b.assistance), "reserve": to_yuan(b.reserve),
            "payment": to_yuan(b.payment),
            "paid_on": None if b.paid_on is None else str(b.paid_on),
            "lines": [{"jurisdiction": ln.jurisdiction, "district": ln.district,
                       "assistance": to_yuan(ln.assistance), "reserve": to_yuan(ln.reserve),
                       "payment": to_yuan(ln.payment)} for ln in lines]}


def clearing_json(uow: UnitOfWork, c: FundClearing, on: date | None = None) -> dict[str, Any]:
    received = deficit_received(uow, c)
    return {"id": c.id, "jurisdiction": c.jurisdiction, "district": c.district, "year": c.year,
            "cleared_on": str(c.cleared_on), "due": None if c.due is None else str(c.due),
            "late": c.due is not None and c.cleared_on > c.due,
            "opening_surplus": to_yuan(c.opening_surplus), "budget": to_yuan(c.budget),
            "assistance": to_yuan(c.assistance), "released": to_yuan(c.released),
            "forfeited": to_yuan(c.forfeited), "surplus": to_yuan(c.surplus),
            "deficit": to_yuan(c.deficit),
            "deficit_due": None if c.deficit_due is None else str(c.deficit_due),
            "deficit_received": to_yuan(received),
            "deficit_status": deficit_status(c.deficit, c.deficit_due, received,
                                             on or clock.today()),
            "assessments": [{"fixmedins_code": a.institution.code,
                             "share": str(Decimal(a.share_bp) / BP),
                             "reserve": to_yuan(a.reserve), "released": to_yuan(a.released),
                             "forfeited": to_yuan(a.forfeited)} for a in c.assessments]}


def list_clearings(uow: UnitOfWork, actor: Actor, jurisdiction: str, year: int,
                   district: str | None = None) -> list[FundClearing]:
    district = require_fund_read(actor, district)
    q = select(FundClearing).where(FundClearing.jurisdiction == jurisdiction,
                                   FundClearing.year == year)
    if district is not None:
        q = q.where(FundClearing.district == district)
    return list(uow.session.scalars(q.order_by(FundClearing.district)))


def report(uow: UnitOfWork, actor: Actor, jurisdiction: str, year: int,
           district: str | None = None, on: date | None = None) -> dict[str, Any]:
    """A fund year per district: budget and schedule, batches, clearing, account balances."""
    from medaid.app.fund_journal import check, normal_balance

    district = require_fund_read(actor, district)
    on = on or clock.today()
    policy, funds = rules(jurisdiction, year)
    s = uow.session
    districts = set(s.scalars(select(FundBudget.district).where(
        FundBudget.jurisdiction == jurisdiction, FundBudget.year == year)))
    districts |= set(s.scalars(select(JournalEntry.district).where(
        JournalEntry.jurisdiction == jurisdiction, JournalEntry.year == year)))
    if district is not None:
        districts &= {district}
    batches = list_batches(uow, actor, year=year)
    out = []
    for d in sorted(districts):
        fund = Fund(jurisdiction, d)
        lines = [ln for b in batches for ln in b.lines
                 if ln.jurisdiction == jurisdiction and ln.district == d]
        books = check(s, jurisdiction, d)
        cleared = clearing_of(uow, fund, year)
        out.append({
            "district": d,
            "schedule": schedule_json(schedule(uow, actor, fund, year, on)),
            "batches": {"count": len({ln.batch_id for ln in lines}),
                        "assistance": to_yuan(sum(ln.assistance for ln in lines)),
                        "reserve": to_yuan(sum(ln.reserve for ln in lines)),
                        "payment": to_yuan(sum(ln.payment for ln in lines)),
                        "paid": to_yuan(sum(ln.payment for ln in lines
                                            if ln.batch.status == "paid"))},
            "clearing": None if cleared is None else clearing_json(uow, cleared, on),
            "balanced": books.ok,
            "accounts": {a: to_yuan(normal_balance(a, dr, cr))
                         for (_, _, a), (dr, cr) in books.accounts.items()},
        })
    return {"jurisdiction": jurisdiction, "year": year, "rule": funds.rule,
            "source": policy.cite(funds.article), "account": funds.account, "funds": out}
