"""年终救助's route: the `when: year_end` stages of a city-, district- or person-year paid
once the year has ended (app.year_end), by the finance role or an administrator."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from medaid.api.caller import ActorDep
from medaid.api.routes import ERRORS, reply
from medaid.api.schemas import body
from medaid.app import year_end
from medaid.app.wire import ROOT, parse_body
from medaid.core.errors import InputError
from medaid.core.money import to_yuan

router = APIRouter(prefix="/api/v1", tags=["year-end"], responses=ERRORS)


class YearEndIn(BaseModel):
    jurisdiction: str
    year: int = Field(description="a year that has ended")
    district: str | None = Field(None, description="only this district's persons")
    psn_no: str | None = Field(None, description="only this person")
    dry_run: bool = Field(False, description="plan only: pay nothing")


@router.post("/year-end", summary="年终救助: pay the year-end stages of a year",
             openapi_extra=body(YearEndIn))
async def run(request: Request, actor: ActorDep) -> Response:
    """`{jurisdiction, year, district?, psn_no?, dry_run?}`: each person-year's year-end
    stages over its settled visits; a stage already paid pays only a difference. Answers
    the person-years found and those with a payout or an error."""
    raw = parse_body(await request.body())
    jurisdiction, year, district, psn_no = year_end.fields(
        raw, {name: f"{ROOT}.{name}" for name in ("jurisdiction", "year", "district",
                                                  "psn_no")})
    dry_run = raw.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise InputError(f"{ROOT}.dry_run", "须为 true 或 false / must be true or false")

    def work() -> dict[str, Any]:
        found, plans = year_end.run_for(request.app.state.sessions, actor, jurisdiction, year,
                                        district, psn_no, dry_run,
                                        (f"{ROOT}.year", f"{ROOT}.psn_no",
                                         f"{ROOT}.jurisdiction"))
        return {"jurisdiction": jurisdiction, "year": year, "district": district,
                "dry_run": dry_run, "person_years": found,
                "amount": to_yuan(sum(p.amount for p in plans if p.error is None)),
                "results": [year_end.plan_json(p) for p in plans]}

    return reply(await run_in_threadpool(work))
