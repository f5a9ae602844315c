"""What each role's home page puts first: the work waiting for it. A caseworker: the
applications waiting for a decision with their deadlines in working days, the new
因病致贫返贫 warnings; a fund manager: each district's fund year, budget against spending;
a hospital: its latest settlements; an auditor: the latest audit entries. Every part is
read through the use case that owns it (scope, role and audit as there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from medaid.app import applications, audit_log, auth, funds, listings
from medaid.app import early_warning as ew
from medaid.app.auth import Actor
from medaid.app.uow import UnitOfWork
from medaid.core import workdays
from medaid.store.fund_models import FundBudget

RECENT = 20  # settlements and audit entries shown
WARNINGS = 10  # new warnings shown (the largest burdens first); the count is of all


@dataclass(frozen=True, slots=True)
class Deadline:
    due: date
    left: int  # working days from today to the due day; negative: overdue by that many
    provisional: bool  # the due year's holiday notice is not in the calendar yet

    @property
    def overdue(self) -> bool:
        return self.left < 0


def deadline(due: date, today: date) -> Deadline:
    """Working days left to `due` (holidays and 调休 as `medaid.core.workdays` knows them)."""
    provisional = not workdays.known(due.year)
    if due >= today:
        return Deadline(due, workdays.workdays_between(today, due), provisional)
    return Deadline(due, -workdays.workdays_between(due, today), provisional)


def waiting_applications(uow: UnitOfWork, actor: Actor, today: date) -> list[dict[str, Any]]:
    """Applications submitted or under review, the nearest deadline first."""
    found = [a | {"deadline": None if a["review_due"] is None
                  else deadline(date.fromisoformat(a["review_due"]), today)}
             for a in applications.listing(uow, actor, today)
             if a["state"] in applications.OPEN]
    return sorted(found, key=lambda a: (a["review_due"] is None, a["review_due"] or "",
                                        a["app_no"]))


def new_warnings(uow: UnitOfWork, actor: Actor) -> tuple[int, list[Any]]:
    found = ew.listing(uow, actor, ew.Filters(status="new"))
    return len(found), sorted(found, key=lambda w: -w.burden)[:WARNINGS]


def fund_years(uow: UnitOfWork, actor: Actor, year: int, today: date
               ) -> list[dict[str, Any]]:
    """Each jurisdiction with a fund year (a budget set for `year`): each district's budget,
    what the payment batches spent, and what is left."""
    found = uow.session.scalars(select(FundBudget.jurisdiction).where(
        FundBudget.year == year).distinct().order_by(FundBudget.jurisdiction))
    reports = [funds.report(uow, actor, j, year, on=today) for j in found]
    for f in (f for r in reports for f in r["funds"]):
        budget, spent = f["schedule"]["budget"], f["batches"]["assistance"]
        f["left"] = budget - spent
        f["used_percent"] = None if not budget else round(100 * spent / budget, 1)
    return reports


def recent_settlements(uow: UnitOfWork, actor: Actor) -> list[listings.SettlementRow]:
    """A hospital's latest ledger entries (the settlement list's first page), the latest
    discharge first."""
    auth.require(actor, "hospital")
    return listings.settlements(uow, actor, listings.SettlementFilters(), 1).rows[:RECENT]


def recent_audit(uow: UnitOfWork, actor: Actor) -> list[dict[str, Any]]:
    found, _ = audit_log.search(uow, actor, audit_log.Filters(), 1)
    who = audit_log.names(uow, [e.actor for e in found])
    return [audit_log.entry_json(e, who) for e in found[:RECENT]]
