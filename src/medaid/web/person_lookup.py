"""The settle form's look-up: who a person number is (name, identities in force on the
visit's first day, district), shown as soon as the number is typed, before anything is
settled. Answered as JSON to the form's script (static/settle.js), to the roles that may
open 结算, in their scope: a caseworker learns nothing of another district's persons (the
answer for a number that exists nowhere). Audited as a read of the person.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from medaid.app import auth, settlements
from medaid.app.uow import UnitOfWork
from medaid.core import clock, divisions
from medaid.core.errors import NotFound
from medaid.policy import model
from medaid.web.guard import Visitor
from medaid.web.render import HEADERS, page

router = APIRouter()


def _day(text: str | None) -> date:
    try:
        return date.fromisoformat(text) if text else clock.today()
    except ValueError:
        return clock.today()


@router.get("/settle/person")
async def person_of(request: Request, psn_no: Annotated[str, Query(max_length=40)],
                    on: Annotated[str | None, Query(max_length=10)] = None) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        number = psn_no.strip()
        try:
            p = settlements.find_person(uow, number)
            auth.hide_outside_district(who.actor, p.district, "psn_no", number)
        except NotFound:
            return JSONResponse({"message": "未找到此人员编号"}, 404, headers=HEADERS)
        day = _day(on)
        versions = model.versions(p.jurisdiction)
        policy = model.in_force(versions, day) or (versions[-1] if versions else None)
        codes = [i.category for i in p.person.identities
                 if i.start <= day and (i.end is None or i.end >= day)]
        if policy is not None:
            codes.sort(key=lambda c: policy.order.get(c, len(policy.order)))
        uow.commit_audited(who.actor.subject, "person.lookup", f"person:{number}",
                           {"on": str(day)})
        return JSONResponse({
            "psn_no": number, "name": p.name,
            "categories": [policy.label(c) if policy else c for c in codes],
            "district": divisions.name(p.district)}, headers=HEADERS)

    return await page(request, "settle", work)
