"""The JSON API's routes: read the request, call the use case in a worker thread, answer.

Bodies are read as bytes and validated by `medaid.engine.case` (exact decimals, errors by JSON
path). Each use case runs in one worker thread with a unit of work of its own, since the
database calls block: a connection is never held while a request waits for a thread.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State, UploadFile

from medaid.api.caller import ActorDep, TokenDep
from medaid.api.schemas import (
    CancelIn,
    ErrorOut,
    InstitutionIn,
    LoginIn,
    ParameterIn,
    PersonIn,
    RostersIn,
    SettlementOut,
    SettleVisitIn,
    VisitIn,
    body,
)
from medaid.app import auth, premiums, records, rosters, settlements, users, wire
from medaid.app.uow import UnitOfWork
from medaid.core import clock
from medaid.core.errors import InputError
from medaid.engine.case import as_filename, as_jurisdiction, as_text, dumps
from medaid.registry.roster import parse_roster
from medaid.store import audit

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": what} for code, what in (
        (401, "no valid token"), (403, "outside the token's role or scope"),
        (404, "unknown person, institution or settlement"),
        (409, "conflicts with the ledger"), (422, "bad input: the field is named"))}

router = APIRouter(prefix="/api/v1", responses=ERRORS)


def reply(data: Any, status: int = 200) -> Response:
    return Response(dumps(data, indent=None), status_code=status, media_type="application/json")


def use_case(state: State, work: Callable[[UnitOfWork], Response]) -> Response:
    """`work` with a unit of work of its own on the app's database (`state`: the app's)."""
    with UnitOfWork(state.sessions, state.cache) as uow:
        return work(uow)


async def _run(request: Request, work: Callable[[UnitOfWork], Response]) -> Response:
    """The use case in a worker thread."""
    return await run_in_threadpool(use_case, request.app.state, work)


@router.get("/health", tags=["service"], responses={})
async def health() -> dict[str, str]:
    return {"status": "ok"}


# The two settlement routes are answered by api.fast ahead of FastAPI's routing, with
# these functions (the caller looked up in the use case's own worker thread and unit of
# work); the routes below document them and answer with the same functions.
def preview_answer(uow: UnitOfWork, token: str | None,
                   raw: bytes) -> Response:
    actor = auth.actor_of(uow, token)
    req = wire.parse_visit_request(raw, settling=False)
    inst, s = settlements.preview(uow, actor, req)
    return reply(wire.preview_json(req, inst.code, s))


def settle_answer(uow: UnitOfWork, token: str | None,
                  raw: bytes) -> Response:
    if token is None:
        auth.actor_of(uow, token)  # 401
    try:
        req = wire.parse_visit_request(raw, settling=True)
    except Exception:
        auth.actor_of(uow, token)  # a refused token's 401 before the body's 422
        raise
    # the token read with the person and the lock on their year (PostgreSQL)
    done = settlements.settle_by_token(uow, token, req)
    if done.created:
        return reply(wire.entry_json(done.entry, done.fixmedins_code, rendered=True), 201)
    return reply(wire.entry_json(done.entry, done.fixmedins_code,  # a retry: as it is now
                                 settlements.cancelled_by(uow, done.entry),
                                 adjustments=done.entry.adjustments))


@router.post("/settlements/preview", tags=["settlements"], summary="预结算: pre-settle",
             openapi_extra=body(VisitIn), responses={200: {"model": SettlementOut}})
async def preview(request: Request, token: TokenDep) -> Response:
    """Settle a visit against the person's pools as they are now, and store nothing."""
    raw = await request.body()
    return await _run(request, lambda uow: preview_answer(uow, token, raw))


@router.post("/settlements", tags=["settlements"], summary="结算: settle",
             openapi_extra=body(SettleVisitIn),
             responses={201: {"model": SettlementOut, "description": "settled"},
                        200: {"model": SettlementOut, "description": "a retry: as stored"}})
async def settle(request: Request, token: TokenDep) -> Response:
    """Settle a visit and commit it with the person's pools in one transaction.

    Idempotent on (institution, medins_setl_id): the same request again returns the
    stored settlement (200); another request under the same id is a 409."""
    raw = await request.body()
    return await _run(request, lambda uow: settle_answer(uow, token, raw))


SetlId = Annotated[str, Path(max_length=40, description="结算ID")]


@router.get("/settlements/{setl_id}", tags=["settlements"],
            responses={200: {"model": SettlementOut}})
async def get_settlement(setl_id: SetlId, request: Request, actor: ActorDep) -> Response:
    def work(uow: UnitOfWork) -> Response:
        entry, cancelled = settlements.get(uow, actor, setl_id)
        return reply(wire.entry_json(entry, entry.institution.code, cancelled,
                                     adjustments=entry.adjustments))

    return await _run(request, work)


@router.post("/settlements/{setl_id}/cancel", tags=["settlements"], summary="撤销: cancel",
             openapi_extra=body(CancelIn, required=False),
             responses={201: {"model": SettlementOut, "description": "the reversing entry"}})
async def cancel(setl_id: SetlId, request: Request, actor: ActorDep) -> Response:
    """Append the reversing entry and take the settlement's pool additions back out. With
    `maf_pay`, only if the settlement still pays exactly that assistance (else a 409)."""
    raw = await request.body()

    def work(uow: UnitOfWork) -> Response:
        given = wire.parse_body(raw) if raw.strip() else {}
        entry = settlements.cancel(uow, actor, setl_id, wire.optional_text(given, "psn_no"),
                                   wire.optional_text(given, "mdtrt_id"),
                                   wire.optional_fen(given, "maf_pay"))
        return reply(wire.entry_json(entry, entry.institution.code), 201)

    return await _run(request, work)


@router.get("/persons/{psn_no}/years/{year}", tags=["persons"])
async def person_year(psn_no: Annotated[str, Path(max_length=40)],
                      year: Annotated[int, Path(ge=1990, le=2100)],
                      request: Request, actor: ActorDep) -> Response:
    """Identities in force, each pool used and left against its deductibles and caps, and
    the year's settlements with their traces."""
    return await _run(request, lambda uow: reply(records.person_year(uow, actor, psn_no, year)))


@router.post("/persons", tags=["persons"], openapi_extra=body(PersonIn), status_code=201)
async def create_person(request: Request, actor: ActorDep) -> Response:
    raw = await request.body()
    return await _run(request, lambda uow: reply(records.person_json(
        records.create_person(uow, actor, wire.parse_body(raw))), 201))


@router.post("/institutions", tags=["institutions"], openapi_extra=body(InstitutionIn),
             status_code=201)
async def create_institution(request: Request, actor: ActorDep) -> Response:
    raw = await request.body()
    return await _run(request, lambda uow: reply(records.institution_json(
        records.create_institution(uow, actor, wire.parse_body(raw))), 201))


@router.post("/parameters", tags=["parameters"], openapi_extra=body(ParameterIn))
async def set_parameter(request: Request, actor: ActorDep) -> Response:
    """Set a jurisdiction's local parameter (for a year, or any year) with its source."""
    raw = await request.body()
    return await _run(request, lambda uow: reply(records.parameter_json(
        records.set_parameter(uow, actor, wire.parse_body(raw)))))


@router.post("/login", tags=["users"], openapi_extra=body(LoginIn))
async def login(request: Request) -> Response:
    """A session token for a user's name and password (expires; send it as a Bearer)."""
    raw = await request.body()

    def work(uow: UnitOfWork) -> Response:
        given = wire.parse_body(raw)
        s = users.login(uow, as_text(given.get("username"), "$.username"),
                        as_text(given.get("password"), "$.password"))
        return reply({"token": s.token, "role": s.role,
                      "expires_at": s.expires_at.isoformat(timespec="seconds")})

    return await _run(request, work)


@router.get("/audit", tags=["audit"])
async def audit_log(request: Request, actor: ActorDep,
                    after: Annotated[int, Query(ge=0, description="entries after this seq")] = 0,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
    """The audit log in order (auditors only); reading it is itself audited."""
    auth.require(actor, "auditor")

    def work(uow: UnitOfWork) -> Response:
        conn = uow.session.connection()
        found = audit.entries(conn, after, limit)
        uow.commit_audited(actor.subject, "audit.read", "audit_log", {"after": after})
        return reply({"entries": found})

    return await _run(request, work)


def _flag(value: object, path: str) -> bool:
    if isinstance(value, bool) or value is None:
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0", ""):
        return value.lower() in ("true", "1")
    raise InputError(path, "应为 true 或 false / true or false")


@router.post("/rosters", tags=["persons"], openapi_extra=body(RostersIn))
async def import_roster(request: Request, actor: ActorDep) -> Response:
    """Import a department's monthly roster for a district: a CSV or XLSX file as
    multipart form data (`file`, `jurisdiction`, `district`, `department`, `month`,
    `mode`, `dry_run`, `confirm_exits`), or JSON with `records`. `mode` is required:
    `complete` (the department's complete list: who is absent exits) or `incremental`
    (nobody exits). The diff report answers; any bad row refuses the whole roster (422 with
    the report) and stores nothing; a complete list ending more than the district's exit
    share without `confirm_exits` is a 409 and stores nothing."""
    today = clock.today()
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        fields: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InputError("file", "请上传名单文件（CSV 或 XLSX） / "
                                     "a roster file (CSV or XLSX) is required")
        data, name = await upload.read(), as_filename(upload.filename or "roster.csv", "file")
    else:
        fields, data, name = wire.parse_body(await request.body()), None, "records"
    to = rosters.target(fields.get("jurisdiction"), fields.get("district"), fields.get("month"))
    department = fields.get("department") or None
    if department is not None:
        department = as_text(department, "department")
    dry_run = _flag(fields.get("dry_run"), "dry_run")
    mode = rosters.as_mode(fields.get("mode"))
    confirm_exits = _flag(fields.get("confirm_exits"), "confirm_exits")
    auth.require_district(actor, to.district)

    def work(uow: UnitOfWork) -> Response:
        if data is None:
            roster = rosters.records_roster(fields.get("records"), to.jurisdiction, today,
                                            department)
        else:
            with tempfile.TemporaryDirectory() as folder:
                path = FilePath(folder) / (name or "roster.csv")
                path.write_bytes(data)
                roster = parse_roster(path, to.jurisdiction, today, department=department)
        plan, applied, unsettled = rosters.import_roster(uow, actor, roster, to, today,
                                                         dry_run, mode, confirm_exits)
        report = rosters.report_json(plan, applied, dry_run, to, roster.source,
                                     rosters.exit_check(uow, plan), unsettled)
        if plan.ok:
            return reply(report)
        return reply({"error": {"status": 422, "path": "rows", "message":
                                f"名单有 {len(plan.errors)} 处错误，未导入任何数据 / "
                                f"{len(plan.errors)} problems in the roster: nothing imported"},
                      "report": report}, 422)

    return await _run(request, work)


@router.get("/premium-subsidies", tags=["persons"])
async def premium_subsidies(
        request: Request, actor: ActorDep, jurisdiction: str,
        year: Annotated[int, Query(ge=1990, le=2100)],
        district: Annotated[str | None, Query(max_length=12)] = None,
        format: Annotated[Literal["json", "xlsx"], Query()] = "json") -> Response:
    """A year's premium-subsidy list (参保资助名单) as JSON or as the workbook."""
    as_jurisdiction(jurisdiction, "jurisdiction")

    def work(uow: UnitOfWork) -> Response:
        lst = premiums.listing(uow, actor, jurisdiction, year, district)
        if format == "xlsx":
            return Response(premiums.listing_xlsx(lst, actor.sees_ids),
                            media_type=premiums.XLSX, headers={
                                "Content-Disposition":
                                    f'attachment; filename="premium-{jurisdiction}-{year}.xlsx"'})
        return reply(premiums.listing_json(lst, actor.sees_ids))

    return await _run(request, work)
