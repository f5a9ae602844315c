"""申请 Applications (依申请救助, 事后救助): the list, one application with its documents
checklist and visits, and the caseworker's acts on it — tick the documents received,
approve (the visits are settled into the ledger), reject with a reason. Every act is a
use case of `service.applications`, which checks role, scope and who may decide.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.datastructures import FormData

from medaid import clock
from medaid.errors import InputError
from medaid.service import applications as use
from medaid.service.uow import UnitOfWork
from medaid.store.application_models import STATES
from medaid.web.guard import Visitor
from medaid.web.render import Page, add_page, field_errors, page, render

router = APIRouter()
add_page(Page("applications", "申请", "/applications", use.READERS,
              "依申请救助、事后救助：查看申请，核对材料清单，批准或驳回"))

STATE_LABELS = {"draft": "草稿", "submitted": "已提交", "under_review": "审核中",
                "approved": "已批准", "rejected": "已驳回", "withdrawn": "已撤回"}
KIND_LABELS = {"post_hoc": "事后救助", "lookback": "回溯期救助", "tilted": "倾斜救助"}
ACTORS = ("caseworker", "admin")  # who acts on an application (in its district)


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


def _detail(uow: UnitOfWork, who: Visitor, app_no: str, status: int = 200,
            error: str = "") -> Response:
    app = use.get(uow, who.actor, app_no, clock.today())  # scope and audit
    return render(who, "application.html", status, active="applications", a=app,
                  error=error, STATE_LABELS=STATE_LABELS, KINDS=KIND_LABELS,
                  acts=who.actor.role in ACTORS)


@router.get("/applications/{app_no}")
async def detail(app_no: AppNo, request: Request) -> Response:
    return await page(request, "applications", lambda uow, who: _detail(uow, who, app_no))


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
            elif action == "approve":
                use.approve(uow, who.actor, app_no)
            elif action == "reject":
                use.reject(uow, who.actor, app_no, {"reason": str(form.get("reason") or "")})
            else:
                raise InputError("action", "checklist, approve or reject")
        except InputError as e:
            uow.rollback()
            message = next(iter(field_errors(e).values()))
            return _detail(uow, who, app_no, 422, f"{e.path}: {message}")
        return _detail(uow, who, app_no)

    return await page(request, "applications", work, form=True)
