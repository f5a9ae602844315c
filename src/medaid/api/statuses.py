"""A person's statuses (app.statuses): recorded by the person's district or an admin,
read as the person's record is read."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from medaid.api.caller import ActorDep
from medaid.api.routes import ERRORS, _run, reply
from medaid.api.schemas import body
from medaid.app import statuses
from medaid.app.uow import UnitOfWork
from medaid.app.wire import parse_body
from medaid.store.models import PersonStatus

router = APIRouter(prefix="/api/v1", tags=["persons"], responses=ERRORS)
PsnNo = Annotated[str, Path(max_length=40)]


class StatusIn(BaseModel):
    model_config = {"populate_by_name": True}

    status: str = Field(description="a status the person's policy declares (`statuses:`)")
    from_: date | None = Field(None, alias="from", description="held from (none: all along)")
    to: date | None = Field(None, description="held to (none: open)")
    withdrawn: bool = Field(False, description="recorded in error: remove the one of this "
                                               "status and from (as if never held)")


def _listed(uow: UnitOfWork, psn_no: str, rows: list[PersonStatus]) -> Response:
    person = statuses.person_of(uow, psn_no)
    labels = statuses.declared(person.jurisdiction)
    return reply({"psn_no": psn_no,
                  "statuses": [statuses.status_json(r, labels) for r in rows]})


@router.post("/persons/{psn_no}/statuses", openapi_extra=body(StatusIn),
             summary="人员状态: record a status the person holds, or end it")
async def record(psn_no: PsnNo, request: Request, actor: ActorDep) -> Response:
    """`{status, from, to}`: the same status from the same date again sets its end;
    `{status, from, withdrawn: true}` removes one recorded in error. The person's ledger
    years are settled again. Answers the person's statuses."""
    raw = parse_body(await request.body())

    def work(uow: UnitOfWork) -> Response:
        statuses.record(uow, actor, psn_no, raw)
        return _listed(uow, psn_no, statuses.recorded(uow, psn_no))

    return await _run(request, work)


@router.get("/persons/{psn_no}/statuses", summary="人员状态: the statuses recorded")
async def listed(psn_no: PsnNo, request: Request, actor: ActorDep) -> Response:
    return await _run(request, lambda uow: _listed(uow, psn_no,
                                                   statuses.of_person(uow, actor, psn_no)))
