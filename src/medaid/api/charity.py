"""The 社会力量参与 routes: the charity register (admin), matches and referrals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from medaid.api.caller import ActorDep
from medaid.api.routes import ERRORS, _run, reply
from medaid.api.schemas import RowId, body
from medaid.app import charity, wire
from medaid.app.uow import UnitOfWork

router = APIRouter(prefix="/api/v1/charity", tags=["charity"], responses=ERRORS)


class ProgrammeIn(BaseModel):
    """A charity programme; on PATCH only the fields given change."""

    name: str
    organisation: str
    jurisdictions: list[str] = Field([], description="empty: every jurisdiction")
    categories: list[str] = Field([], description="empty: anyone; \"none\": persons with no "
                                  "identity in force")
    min_burden: float = Field(0, description="yuan: burden after assistance it starts at")
    min_age: int | None = None
    max_age: int | None = None
    annual_budget: float | None = Field(None, description="yuan, for information")
    annual_slots: int | None = Field(None, description="referrals (open or accepted) a year")
    active_from: str = Field(description="YYYY-MM-DD")
    active_to: str | None = None


class ReferralIn(BaseModel):
    programme_id: int
    psn_no: str
    year: int
    note: str | None = None


class DecisionIn(BaseModel):
    note: str | None = Field(None, description="required to decline")


@router.get("/programmes", summary="the register")
async def list_programmes(request: Request, actor: ActorDep) -> Response:
    return await _run(request, lambda uow: reply({"programmes": [
        charity.programme_json(p) for p in charity.programmes(uow, actor)]}))


@router.post("/programmes", status_code=201, openapi_extra=body(ProgrammeIn))
async def create_programme(request: Request, actor: ActorDep) -> Response:
    raw = await request.body()
    return await _run(request, lambda uow: reply(charity.programme_json(
        charity.create_programme(uow, actor, wire.parse_body(raw))), 201))


@router.get("/programmes/{programme_id}")
async def get_programme(programme_id: RowId, request: Request, actor: ActorDep
                        ) -> Response:
    return await _run(request, lambda uow: reply(charity.programme_json(
        charity.programme(uow, actor, programme_id))))


@router.patch("/programmes/{programme_id}", openapi_extra=body(ProgrammeIn))
async def update_programme(programme_id: RowId, request: Request, actor: ActorDep
                           ) -> Response:
    raw = await request.body()
    return await _run(request, lambda uow: reply(charity.programme_json(
        charity.update_programme(uow, actor, programme_id, wire.parse_body(raw)))))


@router.delete("/programmes/{programme_id}", status_code=204)
async def delete_programme(programme_id: RowId, request: Request, actor: ActorDep
                           ) -> Response:
    def work(uow: UnitOfWork) -> Response:
        charity.delete_programme(uow, actor, programme_id)
        return Response(status_code=204)

    return await _run(request, work)


@router.get("/matches/{psn_no}", summary="the programmes a person-year matches now")
async def matches(psn_no: Annotated[str, Path(max_length=40)], request: Request,
                  actor: ActorDep, year: Annotated[int, Query(ge=1990, le=2100)]) -> Response:
    def work(uow: UnitOfWork) -> Response:
        c, found = charity.matches(uow, actor, psn_no, year)
        return reply(charity.candidate_json(c, found, actor.sees_ids))

    return await _run(request, work)


@router.post("/referrals", status_code=201, openapi_extra=body(ReferralIn))
async def refer(request: Request, actor: ActorDep) -> Response:
    """Refer a matching person-year (409 with the reason when it does not match)."""
    raw = await request.body()
    return await _run(request, lambda uow: reply(charity.referral_json(
        charity.refer(uow, actor, wire.parse_body(raw)), actor.sees_ids), 201))


@router.get("/referrals")
async def list_referrals(request: Request, actor: ActorDep,
                         year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
                         status: Annotated[str | None, Query(max_length=12)] = None,
                         programme_id: Annotated[int | None,
                                                 Query(ge=1, le=2**31 - 1)] = None,
                         psn_no: Annotated[str | None, Query(max_length=40)] = None
                         ) -> Response:
    return await _run(request, lambda uow: reply({"referrals": [
        charity.referral_json(r, actor.sees_ids)
        for r in charity.referrals(uow, actor, year, status, programme_id, psn_no)]}))


async def _decide(request: Request, actor: ActorDep, referral_id: int, accepted: bool
                  ) -> Response:
    raw = await request.body()

    def work(uow: UnitOfWork) -> Response:
        given = wire.parse_body(raw) if raw.strip() else {}
        r = charity.decide(uow, actor, referral_id, accepted,
                           wire.optional_text(given, "note"))
        return reply(charity.referral_json(r, actor.sees_ids))

    return await _run(request, work)


@router.post("/referrals/{referral_id}/accept", openapi_extra=body(DecisionIn, required=False))
async def accept(referral_id: RowId, request: Request, actor: ActorDep) -> Response:
    return await _decide(request, actor, referral_id, True)


@router.post("/referrals/{referral_id}/decline", openapi_extra=body(DecisionIn))
async def decline(referral_id: RowId, request: Request, actor: ActorDep) -> Response:
    return await _decide(request, actor, referral_id, False)


