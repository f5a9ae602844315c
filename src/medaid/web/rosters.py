"""名单导入 Rosters: upload a department's monthly roster (CSV or XLSX), see the diff
against the district's registry and every bad row with its row number and reason (a dry
run: nothing stored), then confirm to apply it. The work is `app.rosters` and
`registry.roster`, as the API's and the CLI's import.

The confirmed file is the one checked: between the dry run and the confirmation it is
held in this process's memory (never on disk: it carries ID numbers), bound to the
session that uploaded it, for HOLD at most, with the mode chosen at upload (complete
or incremental: there is no default). Applying plans it again against the registry as it
is then; a complete list ending more than the district's exit share needs the box that
confirms who ends ticked.
"""

from __future__ import annotations

import dataclasses
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from starlette.datastructures import FormData, UploadFile

from medaid.app import auth, rosters
from medaid.app.uow import UnitOfWork
from medaid.core import clock
from medaid.core.errors import InputError
from medaid.engine.case import as_filename
from medaid.policy import model
from medaid.registry.columns import LABELS, REQUIRED
from medaid.registry.departments import DEPARTMENTS
from medaid.registry.roster import parse_roster
from medaid.store.models import Person
from medaid.web import form_errors
from medaid.web.guard import Visitor
from medaid.web.render import page, render

router = APIRouter()
HOLD = 30 * 60  # seconds a checked roster waits for its confirmation
FORM_LABELS = {"jurisdiction": "参保地", "district": "辖区代码", "month": "名单月份",
               "mode": "名单类型", "file": "名单文件"}
# the form's fields as the checks accept them, for each to be checked on its own
NEUTRAL = {"jurisdiction": model.jurisdictions()[0], "district": "320102",
           "mode": "incremental", "file": "roster.csv"}


def _check_form(fields: dict[str, Any]) -> None:
    """The form's own fields, as the import checks them (the file's rows are the report's)."""
    if not fields.get("file"):
        raise InputError("file", "请选择名单文件（CSV 或 XLSX）/ choose a roster file")
    rosters.as_mode(fields.get("mode"))
    rosters.target(fields.get("jurisdiction"), fields.get("district"),
                   fields.get("month") or None)


@dataclass(frozen=True, slots=True)
class Held:
    owner: str  # the session's CSRF token: only that session may confirm
    data: bytes
    name: str
    jurisdiction: str
    district: str
    department: str | None
    month: str | None
    mode: str
    until: float


_held: dict[str, Held] = {}
_lock = threading.Lock()


def _hold(item: Held) -> str:
    key = secrets.token_urlsafe(18)
    with _lock:
        now = time.monotonic()
        for k in [k for k, v in _held.items() if v.until < now]:
            del _held[k]
        _held[key] = item
    return key


def _take(key: str, owner: str) -> Held:
    with _lock:
        item = _held.get(key)
        if item is None or item.owner != owner or item.until < time.monotonic():
            raise InputError("pending", "试导入已过期，请重新上传名单 / the checked roster "
                                        "has expired: upload it again")
        del _held[key]
    return item


def staged(owner: str) -> list[tuple[str, Held, int]]:
    """The session's checked rosters waiting for their confirmation: key, file, minutes
    left."""
    with _lock:
        now = time.monotonic()
        return [(k, v, int((v.until - now) // 60)) for k, v in _held.items()
                if v.owner == owner and v.until >= now]


def _run(uow: UnitOfWork, who: Visitor, item: Held, dry_run: bool,
         confirm_exits: bool = False) -> tuple[dict[str, Any], bool]:
    """Parse the file and plan (or apply) it: the report, and whether it is good.
    ExitsUnconfirmed: a complete list ending too many, applied without confirmation."""
    to = rosters.target(item.jurisdiction, item.district, item.month)
    auth.require_district(who.actor, to.district)
    today = clock.today()
    with tempfile.TemporaryDirectory() as folder:
        path = FilePath(folder) / item.name
        path.write_bytes(item.data)
        roster = parse_roster(path, to.jurisdiction, today, department=item.department)
    plan, applied, unsettled = rosters.import_roster(uow, who.actor, roster, to, today,
                                                     dry_run, item.mode, confirm_exits)
    return rosters.report_json(plan, applied, dry_run, to, roster.source,
                               rosters.exit_check(uow, plan), unsettled), plan.ok


def _home(uow: UnitOfWork, who: Visitor) -> str:
    """The jurisdiction a caseworker's district belongs to, as its registry says."""
    if who.actor.district is None:
        return ""
    return uow.session.scalars(select(Person.jurisdiction).where(
        Person.district == who.actor.district).limit(1)).first() or ""


def _page(uow: UnitOfWork, who: Visitor, status: int = 200, **context: Any) -> Response:
    defaults: dict[str, Any] = {"report": None, "pending": "", "error": "", "given": {},
                                "errors": {}}
    return render(who, "rosters.html", status, active="rosters", home=_home(uow, who),
                  MODE_LABELS=rosters.MODE_LABELS,
                  jurisdictions=model.jurisdictions(), departments=DEPARTMENTS,
                  columns=[LABELS[f] for f in REQUIRED], **(defaults | context))


@router.get("/rosters")
async def roster_form(request: Request) -> Response:
    return await page(request, "rosters", lambda uow, who: _page(uow, who))


@router.post("/rosters")
async def roster_check(request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        form: FormData = request.state.form
        given = {k: str(v) for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        upload = form.get("file")
        district = who.actor.district or given.get("district", "")
        fields = {k: v for k, v in given.items() if k in FORM_LABELS and v} | {
            "district": district}
        if isinstance(upload, UploadFile) and upload.filename:
            fields["file"] = upload.filename
        errors = form_errors.all_errors(_check_form, fields, list(FORM_LABELS), FORM_LABELS,
                                        NEUTRAL)
        if errors:
            return _page(uow, who, 422, errors=errors, given=given)
        assert isinstance(upload, UploadFile)
        try:
            item = Held(who.csrf, upload.file.read(), as_filename(upload.filename, "file"),
                        given.get("jurisdiction", ""), district,
                        given.get("department") or None, given.get("month") or None,
                        rosters.as_mode(given.get("mode")), time.monotonic() + HOLD)
            report, ok = _run(uow, who, item, dry_run=True)
        except InputError as e:
            return _page(uow, who, 422, error=str(e), given=given)
        return _page(uow, who, 200 if ok else 422, report=report, given=given,
                     pending=_hold(item) if ok else "")

    return await page(request, "rosters", work, form=True)


@router.post("/rosters/apply")
async def roster_apply(request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        form: FormData = request.state.form
        try:
            item = _take(str(form.get("pending") or ""), who.csrf)
            report, ok = _run(uow, who, item, dry_run=False,
                              confirm_exits=form.get("confirm_exits") == "yes")
        except InputError as e:
            return _page(uow, who, 422, error=str(e))
        except rosters.ExitsUnconfirmed as e:
            # the same file waits again, for the confirmation it lacked
            report, _ = _run(uow, who, item, dry_run=True)
            return _page(uow, who, 409, error=str(e), report=report,
                         pending=_hold(dataclasses.replace(item, until=time.monotonic() + HOLD)))
        return _page(uow, who, 200 if ok else 422, report=report)

    return await page(request, "rosters", work, form=True)
