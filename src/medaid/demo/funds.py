"""A demo fund year: budgets, receipts, payment batches and a clearing (`medaid demo`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from medaid.app import auth
from medaid.app.fund_journal import Fund
from medaid.app.funds import (
    approve_batch,
    budget_of,
    clearing_of,
    create_batches,
    month_assistance,
    pay_batch,
    record_receipt,
    reserve_query,
    run_clearing,
    schedule,
    set_budget,
)
from medaid.app.uow import UnitOfWork
from medaid.core import clock
from medaid.core.dates import month_end
from medaid.core.money import to_yuan
from medaid.store.models import Institution


@dataclass(frozen=True, slots=True)
class DemoFunds:
    year: int
    budgets: int
    batches: int
    clearings: int


DEMO_BUDGET_FACTORS = (Decimal("1.2"), Decimal("0.8"))  # a surplus and a deficit, in turn
DEMO_SHARES = (Decimal("1.00"), Decimal("0.80"))  # assessment results, in turn


def demo(uow: UnitOfWork, year: int, on: date | None = None) -> DemoFunds:
    """On a store whose settlements of `year` exist: budgets (the year's assistance × 1.2
    or × 0.8, district by district in turn, rounded to 10,000 yuan; source "demo"), the
    pre-allocations due by `on` received on their due days, every ended month's batches
    created, approved and paid, and, once the year has ended, its clearing (assessment
    shares 1.00 and 0.80 in turn). Safe to run again: what exists is kept."""
    actor, on = auth.CLI, on or clock.today()
    months = [date(year, m, 1) for m in range(1, 13) if month_end(date(year, m, 1)) < on]
    spent: dict[Fund, int] = {}
    for m in range(1, 13):
        for (_, j, d), amount in month_assistance(uow, date(year, m, 1)).items():
            spent[Fund(j, d)] = spent.get(Fund(j, d), 0) + amount
    budgets = 0
    for k, (fund, amount) in enumerate(sorted(spent.items(), key=lambda x: str(x[0]))):
        if budget_of(uow, fund, year) or clearing_of(uow, fund, year) is not None:
            continue
        factor = DEMO_BUDGET_FACTORS[k % len(DEMO_BUDGET_FACTORS)]
        budget = max(1, int(amount * factor / 1_000_000 + 1)) * 1_000_000
        set_budget(uow, actor, {"jurisdiction": fund.jurisdiction, "district": fund.district,
                                "year": year, "amount": to_yuan(budget), "source": "demo"})
        budgets += 1
        sch = schedule(uow, actor, fund, year, on)
        for i in sch.installments:
            if i.due <= on and i.status != "received":
                record_receipt(uow, actor, {
                    "jurisdiction": fund.jurisdiction, "district": fund.district,
                    "year": year, "amount": to_yuan(i.amount - i.received),
                    "received_on": str(i.due)})
        if not sch.installments and date(year, 1, 10) <= on:
            record_receipt(uow, actor, {"jurisdiction": fund.jurisdiction,
                                        "district": fund.district, "year": year,
                                        "amount": to_yuan(budget), "received_on": f"{year}-01-10"})
    batches = 0
    for month in months:
        for b in create_batches(uow, actor, month, on).created:
            approve_batch(uow, actor, b.id)
            pay_batch(uow, actor, b.id, min(on, month_end(month) + timedelta(days=10)))
            batches += 1
    clearings = 0
    if on > date(year, 12, 31):
        for k, fund in enumerate(sorted(spent, key=str)):
            if clearing_of(uow, fund, year) is not None:
                continue
            held = sorted(i for i, r in uow.session.execute(
                reserve_query(fund, year)).all() if r)
            codes = dict(uow.session.execute(select(Institution.id, Institution.code)
                                             .where(Institution.id.in_(held))).all())
            run_clearing(uow, actor, {
                "jurisdiction": fund.jurisdiction, "district": fund.district, "year": year,
                "cleared_on": str(min(on, date(year + 1, 3, 20))),
                "assessments": [{"fixmedins_code": codes[i],
                                 "share": DEMO_SHARES[(k + n) % len(DEMO_SHARES)]}
                                for n, i in enumerate(held)]}, on)
            clearings += 1
    return DemoFunds(year, budgets, batches, clearings)
