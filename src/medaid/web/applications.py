"""申请 Applications (依申请救助, 事后救助): the list, one application with its documents
checklist, visits and history (who did what, when, for how much), and the caseworker's
acts on it — tick the documents received, approve (the visits are settled into the
ledger), reject with a reason. Every act is a use case of `app.applications`, which
checks role, scope and who may decide.

批准并结算 pays money, so it takes two steps: the first shows the amount approving would
pay now (`applications.approval_amount`), the second — a form with the CSRF token and
that amount — approves only if it still pays exactly that (`approve(expected=…)`, refused
with nothing stored otherwise). Each act ends on the application's page, saying what
happened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from medaid.app import applications as use
from medaid.app.uow import UnitOfWork
from medaid.core import clock, labels
from medaid.core.errors import Conflict, Forbidden, InputError
from medaid.store.application_models import STATES
from medaid.web import form_errors, settle
from medaid.web.guard import Visitor
from medaid.web.render import (
    HEADERS,
    Page,
    add_page,
    page,
    render,
    status_of,
    yuan,
)

router = APIRouter()
add_page(Page("applications", "申请", "/applications", use.READERS,
              "依申请救助、事后救助：查看申请，核对材料清单，批准或驳回"))

STATE_LABELS = {k: zh for k, (zh, _) in labels.APPLICATION_STATES.items()}
KIND_LABELS = {"post_hoc": "事后救助", "lookback": "回溯期救助", "tilted": "倾斜救助"}
ACTORS = ("caseworker", "admin")  # who acts on an application (in its district)
ACT_LABELS = {"reason": "驳回理由", "expected": "确认的金额", "action": "操作", "items": "材料"}


@router.get("/applications")
async def listing(request: Request,
                  state: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    chosen = state if state in STATES else None

    def work(uow: UnitOfWork, who: Visitor) -> Response:
        found = use.listing(uow, who.actor, clock.today(), chosen)
        return render(who, "applications.html", active="applications", found=found,
                      state=chosen, STATES=STATES, STATE_LABELS=STATE_LABELS,
                      KINDS=KIND_LABELS)

    return await page(request, "applications", work)


AppNo = Annotated[str, Path(max_length=40)]
# What the page says after an act (its ?done=), with the application as it is now.
DONE: dict[str, Callable[[dict[str, Any]], str]] = {
    "created": lambda a: "申请已录入（草稿）：请添加发票，再核对材料或提交审核。",
    "invoices": lambda a: f"发票已添加：本申请共 {len(a['visits'])} 张。",
    "submitted": lambda a: f"申请已提交，审核期限 {a['review_due']}（工作日）。",
    "checklist": lambda a: "材料核对已保存。",
    "approved": lambda a: "已批准并结算：医疗救助 " + (
        f"{yuan(a['payment']['amount'])}，待支付给申请人。" if a["payment"]
        else "¥0.00（所列就诊均不予救助）。"),
    "rejected": lambda a: "已驳回申请。",
}


def _detail(uow: UnitOfWork, who: Visitor, app_no: str, status: int = 200,
            error: str = "", done: str | None = None,
            errors: dict[str, str] | None = None, given: dict[str, str] | None = None
            ) -> Response:
    """The application's page; `error` a refusal of an act, `errors` a form's (form_errors),
    `given` what was typed into the invoice form, shown again with its errors."""
    app = use.get(uow, who.actor, app_no, clock.today())  # scope and audit
    flash = DONE[done](app) if done in DONE else ""
    return render(who, "application.html", status, active="applications", a=app,
                  error=error, errors=errors or {}, given=given or {}, flash=flash,
                  history=use.history(uow, app_no),
                  STATE_LABELS=STATE_LABELS, KINDS=KIND_LABELS,
                  acts=who.actor.role in ACTORS, MED_TYPES=settle.MED_TYPES,
                  INVOICE_AMOUNTS=settle.AMOUNTS,
                  LOCATIONS=[(k, zh) for k, (zh, _) in labels.LOCATIONS.items()])


def after(app_no: str, done: str) -> Response:
    """An act done: back to the application's page, which says what happened (a reload
    of it repeats nothing)."""
    return RedirectResponse(f"/applications/{quote(app_no)}?done={done}", status_code=303,
                            headers=HEADERS)


@router.get("/applications/{app_no}")
async def detail(app_no: AppNo, request: Request,
                 done: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    return await page(request, "applications",
                      lambda uow, who: _detail(uow, who, app_no, done=done))


def _expected(form: FormData) -> int:
    """The amount the official confirmed (fen), as the confirmation step sent it."""
    text = str(form.get("expected") or "")
    if not text.isdigit():
        raise InputError("expected", "缺少确认的金额：请从审批页面重新确认 / the confirmed "
                                     "amount is missing")
    return int(text)


def _confirm(uow: UnitOfWork, who: Visitor, app_no: str) -> Response:
    """The confirmation step of 批准并结算: the amount approving would pay now."""
    amount = use.approval_amount(uow, who.actor, app_no)
    app = use.get(uow, who.actor, app_no, clock.today())
    return render(who, "application_confirm.html", active="applications", a=app,
                  amount=amount, KINDS=KIND_LABELS)


@router.post("/applications/{app_no}")
async def act(app_no: AppNo, request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        form: FormData = request.state.form
        action = form.get("action")
        try:
            if action == "checklist":
                items = {k.removeprefix("item:"): True for k in form if k.startswith("item:")}
                known = [i["item"] for i in use.get(uow, who.actor, app_no,
                                                    clock.today())["checklist"]]
                use.checklist(uow, who.actor, app_no,
                              {"items": {i: i in items for i in known}}, clock.today())
                return after(app_no, "checklist")
            if action == "approve":
                return _confirm(uow, who, app_no)
            if action == "approve_confirmed":
                use.approve(uow, who.actor, app_no, _expected(form))
                return after(app_no, "approved")
            if action == "reject":
                use.reject(uow, who.actor, app_no, {"reason": str(form.get("reason") or "")})
                return after(app_no, "rejected")
            raise InputError("action", "请选择操作 / checklist, approve or reject")
        except (InputError, Conflict, Forbidden) as e:
            uow.rollback()
            message = (form_errors.labelled(form_errors.field_of(e), e.message, ACT_LABELS)
                       if isinstance(e, InputError) else str(e))
            return _detail(uow, who, app_no, status_of(e), message)

    return await page(request, "applications", work, form=True)
