"""撤销结算 Cancelling a settlement from the pages: a hospital (its own) or an admin. It
takes money back, so it takes two steps: the first shows the settlement and the
assistance the cancellation reverses; the second — a form with the CSRF token and that
amount — cancels only if the settlement still pays exactly that and is not cancelled yet
(`settlements.cancel`, which reverses it and settles the person's year again). The page
then says what happened; reloading it repeats nothing.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.datastructures import FormData

from medaid.app import settlements
from medaid.app.uow import UnitOfWork
from medaid.core.errors import Conflict, InputError
from medaid.core.money import fmt_yuan
from medaid.store.models import Settlement
from medaid.web.guard import Visitor
from medaid.web.render import HEADERS, Page, add_page, page, render
from medaid.web.slip import Slip, slip

router = APIRouter()
add_page(Page("cancel", "撤销结算", "/settlements", ("hospital", "admin"), menu=False))
SetlId = Annotated[str, Path(max_length=40)]


def _reversed(uow: UnitOfWork, s: Slip) -> int:
    """The assistance (fen) cancelling the settlement takes back (`settlements.taken_back`),
    or, once cancelled, took back."""
    if s.cancelled_by is not None:
        return -int(uow.session.scalars(select(Settlement.maf_pay).where(
            Settlement.setl_id == s.cancelled_by)).one())
    entry = uow.session.scalars(select(Settlement).where(Settlement.setl_id == s.setl_id)).one()
    return settlements.taken_back(uow, entry)[0]["maf_pay"]


def _page(uow: UnitOfWork, who: Visitor, setl_id: str, status: int = 200, error: str = "",
          done: bool = False) -> Response:
    s = slip(uow, who, setl_id)  # scope (a hospital: its own) and audit
    amount = _reversed(uow, s)
    flash = ""
    if done and s.cancelled_by:
        flash = (f"已撤销结算 {s.number}：撤销单 {s.cancelled_by}，冲回医疗救助 "
                 f"{fmt_yuan(amount)}，本年度其后的结算已重新计算。")
    return render(who, "cancel_confirm.html", status, active="", s=s, amount=amount,
                  error=error, flash=flash)


@router.get("/settlements/{setl_id}/cancel")
async def cancel_form(setl_id: SetlId, request: Request,
                      done: Annotated[str | None, Query(max_length=4)] = None) -> Response:
    return await page(request, "cancel",
                      lambda uow, who: _page(uow, who, setl_id, done=done == "1"))


@router.post("/settlements/{setl_id}/cancel")
async def cancel(setl_id: SetlId, request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        form: FormData = request.state.form
        text = str(form.get("expected") or "")
        try:
            if not text.lstrip("-").isdigit():
                raise InputError("expected", "缺少确认的金额：请从撤销页面重新确认 / the "
                                             "confirmed amount is missing")
            s = slip(uow, who, setl_id)
            if s.entry != "settle":
                raise Conflict(f"{s.number} 是撤销单，不能再撤销 / a cancellation itself")
            settlements.cancel(uow, who.actor, setl_id, None, None, int(text))
        except settlements.AmountChanged as e:  # said with the settlement's readable number
            uow.rollback()
            return _page(uow, who, setl_id, 409,
                         f"结算 {s.number} 的医疗救助已变化：确认时为 {fmt_yuan(e.expected)}，"
                         f"现为 {fmt_yuan(e.actual)}；未撤销，请重新核对")
        except (InputError, Conflict) as e:
            uow.rollback()
            return _page(uow, who, setl_id, 409 if isinstance(e, Conflict) else 422, str(e))
        return RedirectResponse(f"/settlements/{quote(setl_id)}/cancel?done=1",
                                status_code=303, headers=HEADERS)

    return await page(request, "cancel", work, form=True)
