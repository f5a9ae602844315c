"""申请录入 Taking in an application: a caseworker enters the person and the kind of
application (a draft), adds the invoices — typed in one by one or as an invoice list
(CSV or XLSX, `applications.invoice_rows`) — and submits it for review. The use cases are
`app.applications`'s (create, add_visits, submit), as through the API and the CLI.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from starlette.datastructures import FormData, UploadFile

from medaid.app import applications as use
from medaid.app import wire
from medaid.app.uow import UnitOfWork
from medaid.core import clock
from medaid.core.errors import Conflict, InputError
from medaid.store.application_models import KINDS
from medaid.web import form_errors, settle
from medaid.web.applications import KIND_LABELS, after
from medaid.web.applications import _detail as detail_page
from medaid.web.guard import Visitor
from medaid.web.render import page, render, status_of

router = APIRouter()
AppNo = Annotated[str, Path(max_length=40)]
FIELDS = {"psn_no": "人员编号", "kind": "申请类型", "applied_on": "申请日期", "note": "备注"}
NEUTRAL = {"psn_no": "0", "kind": KINDS[0]}  # a new application's fields the reading accepts
INVOICE_TEXTS = {"mdtrt_id": "发票号", "med_type": "医疗类别", "institution_name": "医疗机构名称",
                 "location": "就医地", "start": "入院/就诊日期", "end": "出院日期"}
INVOICE_LABELS = INVOICE_TEXTS | dict(settle.AMOUNTS)
# a visit the parser accepts (an application's visit has no settlement id of its own)
INVOICE_NEUTRAL = {k: v for k, v in form_errors.NEUTRAL.items() if k != "medins_setl_id"}


def _form(who: Visitor, given: dict[str, str], status: int = 200,
          errors: dict[str, str] | None = None) -> Response:
    return render(who, "application_new.html", status, active="applications", given=given,
                  errors=errors or {}, KINDS=[(k, KIND_LABELS.get(k, k)) for k in KINDS])


@router.get("/applications/new")
async def new_form(request: Request) -> Response:
    return await page(request, "applications",
                      lambda uow, who: _form(who, {"applied_on": str(clock.today())}))


@router.post("/applications/new")
async def create(request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        form: FormData = request.state.form
        given = {k: str(form.get(k) or "").strip() for k in FIELDS}
        raw: dict[str, Any] = {k: v for k, v in given.items() if v}
        today = clock.today()
        errors = form_errors.all_errors(lambda body: use.read_new(body, today), raw,
                                        list(FIELDS), FIELDS, NEUTRAL)
        if errors:
            return _form(who, given, 422, errors)
        try:
            app = use.create(uow, who.actor, raw, today)
        except InputError as e:  # a person not found or of another district, a kind refused
            uow.rollback()
            field = form_errors.field_of(e)
            return _form(who, given, status_of(e),
                         {field: form_errors.labelled(field, e.message, FIELDS)})
        return after(app.app_no, "created")

    return await page(request, "applications", work, form=True)


def _typed_visit(form: FormData) -> dict[str, Any]:
    """One invoice as the API takes a visit: texts as typed, amounts as exact yuan (what is
    not a number is passed on as typed, for the parser to name)."""
    raw: dict[str, Any] = {}
    for name in INVOICE_TEXTS:
        value = str(form.get(name) or "").strip()
        if value:
            raw[name] = value
    for name, _ in settle.AMOUNTS:
        value = str(form.get(name) or "").strip().replace(",", "").removeprefix("¥")
        try:
            raw[name] = Decimal(value or "0")
        except InvalidOperation:
            raw[name] = value
    return raw


def _given(form: FormData) -> dict[str, str]:
    """What was typed into the invoice form, to show again with its errors."""
    return {k: str(v) for k, v in form.items() if isinstance(v, str) and k in INVOICE_LABELS}


def _invoice_errors(raw: dict[str, Any]) -> dict[str, str]:
    """Every error of the typed invoice, in Chinese, by its label (form_errors)."""
    def parse(body: dict[str, Any]) -> Any:
        return wire.visit_request(body | {"psn_no": "0"}, settling=False,
                                  also=("institution_name",))

    return form_errors.all_errors(parse, raw, list(INVOICE_LABELS), INVOICE_LABELS,
                                  INVOICE_NEUTRAL)


@router.post("/applications/{app_no}/invoices")
async def add_invoices(app_no: AppNo, request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        form: FormData = request.state.form
        upload = form.get("file")
        try:
            if isinstance(upload, UploadFile) and upload.filename:
                name = FilePath(upload.filename).name
                with tempfile.TemporaryDirectory() as folder:
                    path = FilePath(folder) / name
                    path.write_bytes(upload.file.read())
                    rows = use.invoice_rows(path, name)
                use.add_visits(uow, who.actor, app_no, rows, name)
                return after(app_no, "invoices")
        except (InputError, Conflict) as e:  # the list's row and column, as the file says
            uow.rollback()
            return detail_page(uow, who, app_no, status_of(e), str(e))
        raw = _typed_visit(form)
        errors = _invoice_errors(raw)
        if errors:
            return detail_page(uow, who, app_no, 422, errors=errors, given=_given(form))
        try:
            use.add_visits(uow, who.actor, app_no, [("$", raw)], "form")
        except InputError as e:  # what the application refuses: no policy, a number twice
            uow.rollback()
            field = form_errors.field_of(e)
            return detail_page(uow, who, app_no, status_of(e), errors={
                field: form_errors.labelled(field, e.message, INVOICE_LABELS)},
                given=_given(form))
        except Conflict as e:
            uow.rollback()
            return detail_page(uow, who, app_no, status_of(e), str(e))
        return after(app_no, "invoices")

    return await page(request, "applications", work, form=True)


@router.post("/applications/{app_no}/submit")
async def submit(app_no: AppNo, request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        try:
            use.submit(uow, who.actor, app_no, clock.today())
        except Conflict as e:
            uow.rollback()
            return detail_page(uow, who, app_no, 409, str(e))
        return after(app_no, "submitted")

    return await page(request, "applications", work, form=True)
