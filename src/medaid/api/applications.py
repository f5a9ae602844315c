"""The routes of applications for assistance (依申请救助 / 事后救助): create, list, read,
submit, tick the documents, approve, reject, withdraw, add visits (JSON or an invoice
file). Use cases in medaid.app.applications; docs/APPLICATIONS.md.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from medaid.api.caller import ActorDep
from medaid.api.routes import ERRORS, _run, reply
from medaid.api.schemas import District, SettlementOut, VisitIn, Yuan, body
from medaid.app import applications as use
from medaid.app.uow import UnitOfWork
from medaid.app.wire import parse_body
from medaid.core import clock, labels
from medaid.core.errors import InputError
from medaid.store.application_models import KINDS, STATES, Application


# -- shapes for the OpenAPI document (the use cases validate, by JSON path) ----------------
class ApplicationVisitIn(VisitIn):  # type: ignore[valid-type, misc]  # a built model
    """A visit of the application: the settlement API's fields; `psn_no` is the
    application's, and `fixmedins_code` (free text) may name an institution elsewhere."""

    psn_no: str | None = None
    institution_name: str | None = Field(None, description="医疗机构名称, as on the invoice")


class ApplicationIn(BaseModel):
    psn_no: str = Field(description="人员编号")
    kind: Literal[KINDS] = Field(  # type: ignore[valid-type]
        description="post_hoc 事后救助 (paper invoices) · lookback 追溯期 (before "
        "recognition: NJ-W, NB-A3) · tilted 倾斜救助 on application (YC-T)")
    applied_on: date | None = Field(None, description="申请日期 (default today)")
    note: str | None = None
    visits: list[ApplicationVisitIn] = []


class VisitsIn(BaseModel):
    visits: list[ApplicationVisitIn]


class ChecklistIn(BaseModel):
    items: dict[str, bool] = Field(description="document → received, e.g. "
                                   '{"invoices": true}')


class ReasonIn(BaseModel):
    reason: str = Field(description="required to reject; optional to withdraw")


class ApplicationVisitOut(BaseModel):
    seq: int
    mdtrt_id: str
    kind: str
    start: date
    end: date
    medfee_sumamt: Yuan
    settlement: SettlementOut | None = Field(description="its ledger entry, once approved")
    not_covered: str | None = Field(description="why approval settled nothing for it")


class ChecklistItemOut(BaseModel):
    item: str
    label: str
    source: str
    received: bool


class ApplicationOut(BaseModel):
    app_no: str
    psn_no: str
    district: str
    kind: str
    state: Literal[STATES]  # type: ignore[valid-type]
    applied_on: date
    submitted_on: date | None
    review_due: date | None
    overdue: bool
    reason: str | None
    checklist: list[ChecklistItemOut]
    visits: list[ApplicationVisitOut]
    payment: dict[str, Any] | None = Field(description="amount (yuan) owed to the person")

router = APIRouter(prefix="/api/v1", tags=["applications"], responses=ERRORS)
AppNo = Annotated[str, Path(max_length=24, description="申请编号")]
ONE: dict[int | str, dict[str, Any]] = {200: {"model": ApplicationOut}}


@router.post("/applications", summary="依申请救助: a new application (draft)",
             openapi_extra=body(ApplicationIn), status_code=201,
             responses={201: {"model": ApplicationOut}})
async def create(request: Request, actor: ActorDep) -> Response:
    """A person's application with the visits concerned, entered by a caseworker of the
    person's district (or an admin)."""
    raw = await request.body()
    today = clock.today()
    return await _run(request, lambda uow: reply(use.application_json(
        use.create(uow, actor, parse_body(raw), today), today), 201))


@router.get("/applications", summary="applications, by state, district, overdue")
async def listing(request: Request, actor: ActorDep,
                  state: Annotated[str | None, Query(description=", ".join(STATES))] = None,
                  district: District = None,
                  overdue: Annotated[bool, Query(
                      description="only those past their review deadline")] = False
                  ) -> Response:
    if state is not None and state not in STATES:
        raise InputError("state", "应为" + "、".join(
            labels.label(labels.APPLICATION_STATES, x) for x in STATES)
            + f" / one of {', '.join(STATES)}")
    today = clock.today()
    return await _run(request, lambda uow: reply({"applications": use.listing(
        uow, actor, today, state, district, overdue)}))


@router.get("/applications/{app_no}", responses=ONE)
async def get(app_no: AppNo, request: Request, actor: ActorDep) -> Response:
    """An application with its visits, documents, and after approval each visit's
    settlement with its trace."""
    today = clock.today()
    return await _run(request, lambda uow: reply(use.get(uow, actor, app_no, today)))


@router.post("/applications/{app_no}/submit", responses=ONE)
async def submit(app_no: AppNo, request: Request, actor: ActorDep) -> Response:
    """draft → submitted; the review deadline runs from today."""
    today = clock.today()
    return await _run(request, lambda uow: _answer(use.submit(uow, actor, app_no, today)))


@router.post("/applications/{app_no}/checklist", openapi_extra=body(ChecklistIn),
             responses=ONE)
async def checklist(app_no: AppNo, request: Request, actor: ActorDep) -> Response:
    """Tick the documents received (or not): the application is then under review."""
    raw = await request.body()
    today = clock.today()
    return await _run(request, lambda uow: _answer(use.checklist(
        uow, actor, app_no, parse_body(raw), today)))


@router.post("/applications/{app_no}/approve", responses=ONE)
async def approve(app_no: AppNo, request: Request, actor: ActorDep) -> Response:
    """Settle the covered visits into the ledger and owe the person the assistance;
    approving again changes nothing. Not by whoever created or submitted it."""
    return await _run(request, lambda uow: _answer(use.approve(uow, actor, app_no)))


@router.post("/applications/{app_no}/reject", openapi_extra=body(ReasonIn), responses=ONE)
async def reject(app_no: AppNo, request: Request, actor: ActorDep) -> Response:
    """under_review → rejected, with the reason (required)."""
    raw = await request.body()
    return await _run(request, lambda uow: _answer(use.reject(
        uow, actor, app_no, parse_body(raw))))


@router.post("/applications/{app_no}/withdraw", openapi_extra=body(ReasonIn, required=False),
             responses=ONE)
async def withdraw(app_no: AppNo, request: Request, actor: ActorDep) -> Response:
    """Withdrawn on the applicant's side, before a decision."""
    raw = await request.body()
    return await _run(request, lambda uow: _answer(use.withdraw(
        uow, actor, app_no, parse_body(raw) if raw.strip() else {})))


@router.post("/applications/{app_no}/visits", openapi_extra=body(VisitsIn), responses=ONE)
async def add_visits(app_no: AppNo, request: Request, actor: ActorDep) -> Response:
    """Add visits to a draft: JSON `{"visits": [...]}`, or an invoice list (CSV or XLSX)
    as multipart form data (`file`); a bad row adds nothing."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        upload = (await request.form()).get("file")
        if not isinstance(upload, UploadFile):
            raise InputError("file", "请上传发票清单（CSV 或 XLSX） / "
                                     "an invoice list (CSV or XLSX) is required")
        data, name = await upload.read(), _file_name(upload.filename)

        def from_file(uow: UnitOfWork) -> Response:
            with tempfile.TemporaryDirectory() as folder:
                path = FilePath(folder) / name
                path.write_bytes(data)
                rows = use.invoice_rows(path, name)
            return _answer(use.add_visits(uow, actor, app_no, rows, name))

        return await _run(request, from_file)
    raw = await request.body()
    return await _run(request, lambda uow: _answer(use.add_visits(
        uow, actor, app_no, use.visits_json(parse_body(raw)), "$.visits")))


def _answer(app: Application) -> Response:
    return reply(use.application_json(app, clock.today()))


def _file_name(given: str | None) -> str:
    """The upload's own name (its errors cite it), when it can name a file here."""
    name = FilePath(given or "").name
    ok = name not in ("", ".", "..") and name.isprintable() and len(name) <= 100
    return name if ok else "invoices.csv"
