"""The 双预警 routes: list, read and act on warnings, run the job, export the workbook."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from medaid.api.caller import ActorDep
from medaid.api.routes import ERRORS, _run, reply
from medaid.api.schemas import District, OptYear, RowId, body
from medaid.app import auth, wire
from medaid.app import early_warning as ew
from medaid.app.uow import UnitOfWork
from medaid.engine.case import as_jurisdiction, as_year

router = APIRouter(prefix="/api/v1/warnings", tags=["warnings"], responses=ERRORS)
Short = Annotated[str | None, Query(max_length=40)]


class StepIn(BaseModel):
    reason: str | None = Field(None, description="why (required to dismiss)")


class RunIn(BaseModel):
    year: int = Field(ge=1990, le=2100)
    jurisdiction: str | None = Field(None, description="every jurisdiction when absent")


def _filters(year: int | None, jurisdiction: str | None, district: str | None,
             kind: str | None, status: str | None, category: str | None) -> ew.Filters:
    return ew.check_filters(ew.Filters(year, jurisdiction, district, kind, status, category))


@router.get("", summary="预警名单: warnings, filtered")
async def list_warnings(request: Request, actor: ActorDep, year: OptYear = None,
                        jurisdiction: Short = None, district: District = None,
                        kind: Annotated[Literal["poverty", "relapse"] | None, Query()] = None,
                        status: Short = None, category: Short = None) -> Response:
    """A caseworker sees its district; admins and auditors every district."""
    f = _filters(year, jurisdiction, district, kind, status, category)

    def work(uow: UnitOfWork) -> Response:
        found = ew.listing(uow, actor, f)
        return reply({"warnings": [ew.warning_json(w, actor.sees_ids) for w in found]})

    return await _run(request, work)


@router.get("/export", summary="预警名单 as the workbook (xlsx)",
            responses={200: {"content": {ew.XLSX: {}}}})
async def export(request: Request, actor: ActorDep, year: OptYear = None,
                 jurisdiction: Short = None, district: District = None,
                 kind: Annotated[Literal["poverty", "relapse"] | None, Query()] = None,
                 status: Short = None, category: Short = None) -> Response:
    f = _filters(year, jurisdiction, district, kind, status, category)

    def work(uow: UnitOfWork) -> Response:
        found = ew.listing(uow, actor, f, action="warning.export")
        data = ew.export_xlsx(found, actor.sees_ids, ew.export_title(f))
        name = f"warnings-{f.jurisdiction or 'all'}-{f.year or 'all'}.xlsx"
        return Response(data, media_type=ew.XLSX, headers={
            "Content-Disposition": f'attachment; filename="{name}"'})

    return await _run(request, work)


@router.post("/run", summary="run the warning job (admin)", openapi_extra=body(RunIn))
async def run_job(request: Request, actor: ActorDep) -> Response:
    """Compute the year's burdens from the ledger and raise or update warnings; running
    it again updates, never duplicates."""
    raw = await request.body()

    def work(uow: UnitOfWork) -> Response:
        auth.require(actor, "admin")
        given = wire.parse_body(raw)
        year = as_year(given.get("year"), "$.year")
        jurisdiction = given.get("jurisdiction")
        if jurisdiction is not None:
            jurisdiction = as_jurisdiction(jurisdiction, "$.jurisdiction")
        done = ew.run(uow, actor, year, jurisdiction)
        return reply({"year": year, "jurisdictions": [ew.outcome_json(o) for o in done]})

    return await _run(request, work)


@router.get("/{warning_id}", summary="one warning with its history")
async def get_warning(warning_id: RowId, request: Request, actor: ActorDep) -> Response:
    return await _run(request, lambda uow: reply(ew.warning_json(
        ew.get(uow, actor, warning_id), actor.sees_ids, events=True)))


async def _step(request: Request, actor: ActorDep, warning_id: int, action: str) -> Response:
    raw = await request.body()

    def work(uow: UnitOfWork) -> Response:
        given = wire.parse_body(raw) if raw.strip() else {}
        reason = wire.optional_text(given, "reason")
        return reply(ew.warning_json(ew.step(uow, actor, warning_id, action, reason),
                                     actor.sees_ids, events=True))

    return await _run(request, work)


@router.post("/{warning_id}/verify", summary="核实: new → verified",
             openapi_extra=body(StepIn, required=False))
async def verify(warning_id: RowId, request: Request, actor: ActorDep) -> Response:
    return await _step(request, actor, warning_id, "verify")


@router.post("/{warning_id}/enroll", summary="纳入救助: verified → enrolled",
             openapi_extra=body(StepIn, required=False))
async def enroll(warning_id: RowId, request: Request, actor: ActorDep) -> Response:
    return await _step(request, actor, warning_id, "enroll")


@router.post("/{warning_id}/dismiss", summary="排除: verified → dismissed (reason required)",
             openapi_extra=body(StepIn))
async def dismiss(warning_id: RowId, request: Request, actor: ActorDep) -> Response:
    return await _step(request, actor, warning_id, "dismiss")
