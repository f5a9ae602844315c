"""The indicators' routes (docs/INDICATORS.md): JSON, the workbook, a chart."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from medaid.api.caller import ActorDep
from medaid.api.routes import ERRORS, _run, reply
from medaid.api.schemas import District, Year
from medaid.app import indicators, indicators_export
from medaid.app.premiums import XLSX
from medaid.app.uow import UnitOfWork
from medaid.core.errors import NotFound
from medaid.engine.case import as_jurisdiction

router = APIRouter(prefix="/api/v1", tags=["indicators"], responses=ERRORS)


@router.get("/indicators", summary="控费和服务指标 of a jurisdiction's year")
async def get_indicators(
        request: Request, actor: ActorDep, jurisdiction: str,
        year: Year, district: District = None,
        format: Annotated[Literal["json", "xlsx"], Query()] = "json") -> Response:
    """Each indicator per institution (or district) with its threshold and verdict, and
    statistics by category, district, month and visit kind; `format=xlsx`: the workbook."""
    j = as_jurisdiction(jurisdiction, "jurisdiction")

    def work(uow: UnitOfWork) -> Response:
        r = indicators.compute(uow, actor, j, year, district)
        if format == "xlsx":
            return Response(indicators_export.workbook(r), media_type=XLSX, headers={
                "Content-Disposition": f'attachment; filename="indicators-{j}-{year}.xlsx"'})
        return reply(indicators.report_json(r))

    return await _run(request, work)


@router.get("/indicators/{indicator_id}/chart", summary="one indicator as a PNG chart",
            responses={200: {"content": {"image/png": {}}}})
async def indicator_chart(
        indicator_id: str, request: Request, actor: ActorDep, jurisdiction: str,
        year: Annotated[int, Query(ge=1990, le=2100)],
        district: Annotated[str | None, Query(max_length=12)] = None) -> Response:
    j = as_jurisdiction(jurisdiction, "jurisdiction")

    def work(uow: UnitOfWork) -> Response:
        r = indicators.compute(uow, actor, j, year, district)
        found = next((x for x in r.results if x.indicator.id == indicator_id), None)
        if found is None:
            raise NotFound("indicator_id", f"{j} {year} 年没有您可查看的指标「{indicator_id}」 / "
                                           f"{j} {year} has no indicator {indicator_id!r} "
                                           f"(for this caller)")
        return Response(indicators_export.chart(found), media_type="image/png")

    return await _run(request, work)
