"""首页 Home: each role's work queue, then the pages it may open.

A caseworker (and the city's admin) sees the applications waiting for a decision with the
working days left, the new 因病致贫返贫 warnings and the rosters it checked and has not
confirmed yet; a fund manager the districts' fund year, budget against spending; a
hospital its latest settlements; an auditor the latest audit entries. The figures come
from `app.work_queue`, which reads them through the use cases that own them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from medaid.app import early_warning as ew
from medaid.app import rosters as roster_use
from medaid.app import work_queue as queue
from medaid.app.uow import UnitOfWork
from medaid.core import clock, labels
from medaid.policy import monitoring
from medaid.web import choices, rosters
from medaid.web.applications import KIND_LABELS, STATE_LABELS
from medaid.web.guard import Visitor
from medaid.web.render import page, render

router = APIRouter()
CASEWORK = ("caseworker", "admin")


def _queue(uow: UnitOfWork, who: Visitor) -> dict[str, Any]:
    role, today = who.actor.role, clock.today()
    if role in CASEWORK:
        count, warnings = queue.new_warnings(uow, who.actor)
        return {"applications": queue.waiting_applications(uow, who.actor, today),
                "warning_count": count, "warnings": warnings,
                "staged": rosters.staged(who.csrf)}
    if role == "finance":
        year = choices.year(uow, None)
        return {"year": year, "funds": queue.fund_years(uow, who.actor, year, today)}
    if role == "hospital":
        return {"settlements": queue.recent_settlements(uow, who.actor)}
    return {"entries": queue.recent_audit(uow, who.actor)}


def home_page(uow: UnitOfWork, who: Visitor) -> Response:
    return render(who, "home.html", active="home", q=_queue(uow, who), today=clock.today(),
                  APP_STATES=STATE_LABELS, APP_KINDS=KIND_LABELS,
                  WARNING_KINDS=monitoring.KIND_LABELS, WARNING_STATES=ew.STATE_LABELS,
                  MODES=roster_use.MODE_LABELS,
                  AUDIT_ACTIONS={k: zh for k, (zh, _) in labels.AUDIT_ACTIONS.items()})


@router.get("/")
async def home(request: Request) -> Response:
    return await page(request, "home", home_page)
