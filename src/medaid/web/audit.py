"""稽核 Audit: an auditor uploads a platform export and its identity roster, the audit
runs (`medaid audit-payments`'s modules: `audit.export`, `audit.roster`, `audit.resettle`,
`audit.causes`, `audit.summary`), and the page shows the totals, the charts, the causes,
the institutions and the largest findings, with the workbook and the HTML report to
download. Runs are kept (the latest `KEEP`, in this server process) so an auditor picks a
run again from the list instead of uploading again.
"""

from __future__ import annotations

import io
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Any

from fastapi import APIRouter, Path, Request, Response
from starlette.datastructures import FormData, UploadFile

from medaid.app.uow import UnitOfWork
from medaid.core.errors import InputError, MedaidError, NotFound
from medaid.policy import model
from medaid.web import form_errors
from medaid.web.guard import Visitor
from medaid.web.render import HEADERS, Page, add_page, page, render

router = APIRouter()
add_page(Page("audit", "稽核", "/audit", ("auditor", "admin"),
              "上传平台结算数据与身份名单，逐笔重算医疗救助，查看多付、少付及其原因、规则与条款"))

KEEP = 20  # runs kept in this process
MAX_BYTES = 200 * 1024 * 1024  # an upload larger is refused
SHOWN_BAD = 20


@dataclass
class Run:
    id: str
    by: str
    at: str
    source: str
    jurisdiction: str
    summary: Any
    rows: list[Any]
    charts: dict[str, str]
    workbook: bytes
    report: str
    policy: str


_RUNS: OrderedDict[str, Run] = OrderedDict()
_LOCK = threading.Lock()


def _keep(run: Run) -> None:
    with _LOCK:
        _RUNS[run.id] = run
        while len(_RUNS) > KEEP:
            _RUNS.popitem(last=False)


def _runs() -> list[Run]:
    with _LOCK:
        return list(reversed(_RUNS.values()))


def _get(run_id: str) -> Run:
    with _LOCK:
        found = _RUNS.get(run_id)
    if found is None:
        raise NotFound("run", "没有这次稽核（服务重启后需重新上传）/ no such audit run")
    return found


def _saved(folder: FilePath, upload: object, field: str, what: str) -> FilePath:
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InputError(field, f"请选择{what} / choose a file")
    data = upload.file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise InputError(field, f"{what}超过200 MB，请用命令行 medaid audit-payments / too large")
    folder.mkdir()  # one folder per file: an export and a roster may share a name
    path = folder / FilePath(upload.filename).name
    path.write_bytes(data)
    return path


def audit_files(export: FilePath, roster: FilePath, jurisdiction: str,
                rounding: str | None, by: str) -> Run:
    """Run the audit of an export and its roster; InputError for bad input."""
    from medaid.audit import causes, resettle, summary, workbook
    from medaid.audit import export as reading
    from medaid.audit import report as audit_report
    from medaid.audit import roster as rosters

    versions = model.versions(jurisdiction)
    if not versions:
        raise InputError("jurisdiction", model.unknown_jurisdiction(jurisdiction))
    chosen = rounding or versions[-1].spec.rounding
    versions = resettle.with_rounding(versions, chosen)
    try:
        records = reading.read_export(export)
        ids = rosters.read_roster(roster, versions[-1])
    except (reading.BadExport, rosters.BadRoster) as e:
        lines = "；".join(b.line() for b in e.bad[:SHOWN_BAD])
        more = f"；另有{len(e.bad) - SHOWN_BAD}处" if len(e.bad) > SHOWN_BAD else ""
        raise InputError(e.path, f"{e.message}：{lines}{more}") from None
    out = resettle.run(records, ids, versions, {})
    found = causes.findings(out)
    s = summary.summarise(out, found, chosen)
    name = f"{versions[-1].spec.name} {versions[-1].spec.document.title}"
    book = io.BytesIO()
    workbook.write(out, found, s, book, name)
    charts = audit_report.charts(s)
    return Run(uuid.uuid4().hex[:12], by, time.strftime("%Y-%m-%d %H:%M"), records.source,
               jurisdiction, s, audit_report.rows(out, found), charts, book.getvalue(),
               audit_report.render(out, found, s, name, charts), name)


FORM_LABELS = {"jurisdiction": "政策（统筹地区）", "rounding": "舍入方式",
               "export": "平台结算数据", "roster": "身份名单"}
ROUNDINGS = ("per_visit", "cumulative")
# the form's fields as the checks accept them, for each to be checked on its own
NEUTRAL = {"jurisdiction": model.jurisdictions()[0], "export": "export.csv",
           "roster": "roster.csv"}


def _check_form(fields: dict[str, Any]) -> None:
    """The form's own fields (the files' rows are the audit's to read)."""
    for field in ("export", "roster"):
        if not fields.get(field):
            raise InputError(field, f"请选择{FORM_LABELS[field]}文件 / choose a file")
    if fields.get("jurisdiction") not in model.jurisdictions():
        raise InputError("jurisdiction", "请选择政策 / unknown jurisdiction")
    if fields.get("rounding") not in (None, *ROUNDINGS):
        raise InputError("rounding", "请选择逐次舍入或累计舍入 / per_visit | cumulative")


def _page(who: Visitor, status: int = 200, **context: Any) -> Response:
    defaults: dict[str, Any] = {"run": None, "error": "", "given": {}, "errors": {}}
    return render(who, "audit.html", status, active="audit", runs=_runs(),
                  jurisdictions=model.jurisdictions(), **(defaults | context))


@router.get("/audit")
async def audit_form(request: Request) -> Response:
    return await page(request, "audit", lambda uow, who: _page(who))


@router.post("/audit")
async def audit_run(request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        form: FormData = request.state.form
        given = {k: str(v) for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        fields: dict[str, Any] = {k: v for k, v in given.items() if k in FORM_LABELS and v}
        for name in ("export", "roster"):
            upload = form.get(name)
            if isinstance(upload, UploadFile) and upload.filename:
                fields[name] = upload.filename
        errors = form_errors.all_errors(_check_form, fields, list(FORM_LABELS), FORM_LABELS,
                                        NEUTRAL)
        if errors:
            return _page(who, 422, errors=errors, given=given)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                folder = FilePath(tmp)
                export = _saved(folder / "export", form.get("export"), "export", "平台结算数据")
                roster = _saved(folder / "roster", form.get("roster"), "roster", "身份名单")
                rounding = given.get("rounding") or None
                run = audit_files(export, roster, given.get("jurisdiction", ""), rounding,
                                  who.username)
        except MedaidError as e:
            return _page(who, 422, error=str(e), given=given)
        _keep(run)
        return _page(who, run=run, given=given)

    return await page(request, "audit", work, form=True)


@router.get("/audit/{run_id}")
async def audit_show(request: Request, run_id: str = Path(max_length=40)) -> Response:
    return await page(request, "audit", lambda uow, who: _page(who, run=_get(run_id)))


@router.get("/audit/{run_id}/findings.xlsx")
async def audit_workbook(request: Request, run_id: str = Path(max_length=40)) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        run = _get(run_id)
        return Response(run.workbook, media_type="application/vnd.openxmlformats-"
                        "officedocument.spreadsheetml.sheet", headers={
                            **HEADERS, "Content-Disposition":
                            f'attachment; filename="{run.id}-findings.xlsx"'})

    return await page(request, "audit", work)


@router.get("/audit/{run_id}/report.html")
async def audit_report_file(request: Request, run_id: str = Path(max_length=40)) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        run = _get(run_id)
        return Response(run.report.encode("utf-8"), media_type="text/html; charset=utf-8",
                        headers={**HEADERS, "Content-Disposition":
                                 f'attachment; filename="{run.id}-report.html"'})

    return await page(request, "audit", work)
