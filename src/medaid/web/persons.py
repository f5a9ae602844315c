"""人员 Person: find a person (within the caseworker's district; other readers all), and a
person's year: identities on a timeline, pools against deductibles and caps, settlements
with their traces. The record is read through `records.person_year`, which checks scope,
masks ID numbers for the roles that get them masked, and audits the read.

Searching is a POST form, so that an ID number never appears in a URL.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import func, select

from medaid.app import records, settlements
from medaid.app.persons import LIMIT, search
from medaid.app.uow import UnitOfWork
from medaid.core import clock
from medaid.core.errors import InputError
from medaid.policy import model
from medaid.store.models import Institution, Settlement
from medaid.web.guard import Visitor
from medaid.web.render import page, render
from medaid.web.views import MONTHS, amount_rows, pool_bars, timeline

router = APIRouter()


@router.get("/persons")
async def search_page(request: Request) -> Response:
    return await page(request, "persons", lambda uow, who: render(
        who, "persons.html", active="persons", q="", found=None, error="", limit=LIMIT))


@router.post("/persons")
async def search_results(request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        q = str(request.state.form.get("q") or "")
        try:
            found = search(uow, who.actor, q)
        except InputError as e:
            return render(who, "persons.html", 422, active="persons", q=q, found=None,
                          error=e.message, limit=LIMIT)
        return render(who, "persons.html", active="persons", q=q, found=found[:LIMIT],
                      more=len(found) > LIMIT, error="", limit=LIMIT)

    return await page(request, "persons", work, form=True)


def hospital_names(uow: UnitOfWork, codes: set[str]) -> dict[str, str]:
    return {code: name for code, name in uow.session.execute(
        select(Institution.code, Institution.name).where(Institution.code.in_(codes)))}


PsnNo = Annotated[str, Path(max_length=40)]


def latest_year(uow: UnitOfWork, psn_no: str) -> int:
    """The year a person's page opens on: the latest with a settlement, not after this
    year; this year when there is none."""
    this_year = clock.today().year
    found = uow.session.scalar(select(func.max(Settlement.year)).where(
        Settlement.psn_no == psn_no, Settlement.year <= this_year))
    return int(found) if found is not None else this_year


@router.get("/persons/{psn_no}")
async def person_page(psn_no: PsnNo, request: Request,
                      year: Annotated[int | None, Query(ge=1990, le=2100)] = None) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        shown = year or latest_year(uow, psn_no)
        data = records.person_year(uow, who.actor, psn_no, shown)  # scope, masking, audit
        person = settlements.find_person(uow, psn_no)
        policy = model.in_force(model.versions(person.jurisdiction), date(shown, 12, 31))
        rows = [] if policy is None else timeline(policy, person.person, shown)
        return render(who, "person.html", active="persons", p=data, year=shown,
                      timeline=rows, months=MONTHS, bars=pool_bars(data["pools"]),
                      amount_rows=amount_rows, policy=policy,
                      hospitals=hospital_names(uow, {s["fixmedins_code"]
                                                     for s in data["settlements"]}))

    return await page(request, "persons", work)
