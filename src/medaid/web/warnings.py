"""预警 Warnings (双预警): the two lists (因病致贫, 因病返贫) of a year with their filters and
the workbook, and a warning's page — its burden against the threshold with the parameter
and article, its history, the caseworker's steps (核实, 纳入救助, 排除 with a reason) and the
charity programmes the person-year matches, with 转介. Every read and step is a use case of
`app.early_warning` or `app.charity`, which check role and district and audit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.datastructures import FormData

from medaid.app import charity
from medaid.app import early_warning as ew
from medaid.app.uow import UnitOfWork
from medaid.core import labels
from medaid.core.errors import InputError
from medaid.core.money import fmt_ratio, to_yuan
from medaid.policy import model
from medaid.policy import monitoring as m
from medaid.web import choices, form_errors
from medaid.web.charts import chart
from medaid.web.guard import Visitor
from medaid.web.render import Page, add_page, page, render, yuan

router = APIRouter()
add_page(Page("warnings", "预警", "/warnings", ew.READERS,
              "因病致贫、因病返贫双预警：负担对照预警标准，核实、纳入救助或排除，转介慈善项目"))

ACTORS = ("caseworker", "admin")  # who steps a warning and refers (in its district)
STEP_LABELS = {"verify": "核实", "enroll": "纳入救助", "dismiss": "排除"}
LABELS = {"reason": "排除理由", "programme_id": "慈善项目", "note": "转介说明", "action": "操作"}
REFERRAL_LABELS = {code: zh for code, (zh, _) in labels.REFERRAL_STATES.items()}
Year = Annotated[int | None, Query(ge=1990, le=2100)]
Filter = Annotated[str | None, Query(max_length=20)]


def _filters(uow: UnitOfWork, year: int | None, jurisdiction: str | None, kind: str | None,
             status: str | None) -> ew.Filters:
    """The query string's filters (empty: no filter), checked as the API checks them."""
    return ew.check_filters(ew.Filters(choices.year(uow, year), jurisdiction or None, None,
                                       kind or None, status or None))


@router.get("/warnings")
async def listing(request: Request, year: Year = None, jurisdiction: Filter = None,
                  kind: Filter = None, status: Filter = None) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        f = _filters(uow, year, jurisdiction, kind, status)
        found = [ew.warning_json(w, who.actor.sees_ids) for w in ew.listing(uow, who.actor, f)]
        lists = [(k, m.KIND_LABELS[k], [w for w in found if w["kind"] == k])
                 for k in m.KINDS if f.kind in (None, k)]
        query = {k: v for k, v in (("year", f.year), ("jurisdiction", f.jurisdiction),
                                   ("kind", f.kind), ("status", f.status)) if v is not None}
        return render(who, "warnings.html", active="warnings", f=f, lists=lists,
                      query=query, KINDS=m.KIND_LABELS, STATES=ew.STATE_LABELS,
                      jurisdictions=model.jurisdictions(),
                      pick_jurisdiction=who.actor.role != "caseworker")

    return await page(request, "warnings", work)


@router.get("/warnings/export")
async def export(request: Request, year: Year = None, jurisdiction: Filter = None,
                 kind: Filter = None, status: Filter = None) -> Response:
    """The list as the civil-affairs workbook (the API's export: same filters, same file)."""
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        f = _filters(uow, year, jurisdiction, kind, status)
        found = ew.listing(uow, who.actor, f, action="warning.export")
        name = f"warnings-{f.jurisdiction or 'all'}-{f.year}.xlsx"
        return Response(ew.export_xlsx(found, who.actor.sees_ids, ew.export_title(f)),
                        media_type=ew.XLSX, headers={
                            "Content-Disposition": f'attachment; filename="{name}"',
                            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

    return await page(request, "warnings", work)


WarningId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _threshold(uow: UnitOfWork, w: dict[str, Any]) -> dict[str, Any]:
    """How the warning's threshold is made: share × income, the parameters' names and the
    article (as the job resolves them now)."""
    try:
        t = ew.threshold_for(uow, w["jurisdiction"], w["year"])
    except InputError as e:
        return {"error": str(e)}
    if t is None:
        return {"error": "本年度在施政策没有监测条款 / no monitoring article in force"}
    return {"share": fmt_ratio(t.share_bp), "income": to_yuan(t.income),
            "amount": to_yuan(t.amount), "share_name": t.spec.threshold_share,
            "income_name": t.spec.income, "rule": t.spec.rule, "article": t.spec.article,
            "source": t.source, "measure": m.MEASURE_LABELS[t.spec.measure], "error": ""}


def _detail(uow: UnitOfWork, who: Visitor, warning_id: int, status: int = 200,
            error: str = "") -> Response:
    w = ew.warning_json(ew.get(uow, who.actor, warning_id), who.actor.sees_ids, events=True)
    candidate, programmes = charity.matches(uow, who.actor, w["psn_no"], w["year"])
    referred = charity.referrals(uow, who.actor, year=w["year"], psn_no=w["psn_no"])
    burden, threshold = Decimal(w["burden"]), Decimal(w["threshold"])
    bars = chart([("负担", [("burden", burden, yuan(burden))],
                   "bad" if w["level"] > 0 else "ok")],
                 [("burden", m.MEASURE_LABELS[w["measure"]])], threshold,
                 f"预警标准 {yuan(threshold)}")
    return render(who, "warning.html", status, active="warnings", w=w, error=error,
                  limit=_threshold(uow, w), bars=bars, STATES=ew.STATE_LABELS,
                  MEASURES=m.MEASURE_LABELS, programmes=programmes, referred=referred,
                  REFERRALS=REFERRAL_LABELS, after_assistance=candidate.after_assistance,
                  acts=who.actor.role in ACTORS, steps=STEP_LABELS)


@router.get("/warnings/{warning_id}")
async def detail(warning_id: WarningId, request: Request) -> Response:
    return await page(request, "warnings", lambda uow, who: _detail(uow, who, warning_id))


def _refer(uow: UnitOfWork, who: Visitor, warning_id: int, form: FormData) -> None:
    w = ew.get(uow, who.actor, warning_id)
    raw: dict[str, Any] = {"psn_no": w.person.psn_no, "year": w.year}
    programme = str(form.get("programme_id") or "")
    if not programme.isdigit():
        raise InputError("$.programme_id", "请选择 / choose a programme")
    raw["programme_id"] = int(programme)
    note = str(form.get("note") or "").strip()
    if note:
        raw["note"] = note
    charity.refer(uow, who.actor, raw)


@router.post("/warnings/{warning_id}")
async def act(warning_id: WarningId, request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        form: FormData = request.state.form
        action = str(form.get("action") or "")
        try:
            if action in ew.STEPS:
                ew.step(uow, who.actor, warning_id, action,
                        str(form.get("reason") or "").strip() or None)
            elif action == "refer":
                _refer(uow, who, warning_id, form)
            else:
                raise InputError("action", "请选择操作 / verify, enroll, dismiss or refer")
        except InputError as e:
            uow.rollback()
            field = form_errors.field_of(e)
            return _detail(uow, who, warning_id, 422,
                           form_errors.labelled(field, e.message, LABELS))
        return _detail(uow, who, warning_id)

    return await page(request, "warnings", work, form=True)
