"""结算 Settle: a visit's form, then 试算 (the API's preview: nothing stored) or 结算 (a
post-hoc settlement, as a hospital's system or an admin makes it). A caseworker is offered
试算 alone, for a person of its district at an institution it chooses. The form becomes the
API's request body and goes through the same validation (`wire.parse_visit_request`) and
use cases (`settlements.preview`, `settlements.settle`), so the page shows exactly the
numbers the API answers, each with the trace lines that explain it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from medaid.app import settlements, wire
from medaid.app.uow import UnitOfWork
from medaid.core.errors import InputError
from medaid.engine.case import dumps
from medaid.store.models import Institution
from medaid.web import form_errors
from medaid.web.guard import Visitor
from medaid.web.render import page, render
from medaid.web.views import amount_rows

router = APIRouter()

TEXTS = (("psn_no", "人员编号"), ("mdtrt_id", "就诊ID"), ("medins_setl_id", "医院结算ID"),
         ("med_type", "医疗类别"), ("start", "入院/就诊日期"), ("end", "出院日期"))
AMOUNTS = (("medfee_sumamt", "医疗费用总额"), ("fulamt_ownpay_amt", "全自费金额"),
           ("overlmt_selfpay", "超限价自付"), ("preselfpay_amt", "先行自付"),
           ("hifp_pay", "基本医保支付"), ("hifmi_pay", "大病保险支付"))
OPTIONAL = ("hifp_pay", "hifmi_pay")  # left empty: computed from the local parameters
MED_TYPES = (("21", "住院"), ("14", "门诊特殊病种"), ("11", "普通门诊"), ("52", "生育"))
SETTLERS = ("hospital", "admin")  # offered 结算 (the use case decides: others get a 403)


LABELS = dict(TEXTS) | dict(AMOUNTS) | {"fixmedins_code": "定点医疗机构"}


def request_fields(form: FormData, settling: bool) -> dict[str, Any]:
    """The API's request fields for the form: texts as given, amounts as exact yuan (what
    is not a number is passed on as typed, for the parser to name)."""
    raw: dict[str, Any] = {}
    for name, _ in TEXTS:
        value = str(form.get(name) or "").strip()
        if value and (settling or name != "medins_setl_id"):
            raw[name] = value
    for name, _ in AMOUNTS:
        value = str(form.get(name) or "").strip().replace(",", "").removeprefix("¥")
        if not value and name in OPTIONAL:
            continue
        try:
            raw[name] = Decimal(value or "0")
        except InvalidOperation:
            raw[name] = value
    code = str(form.get("fixmedins_code") or "").strip()
    if code:
        raw["fixmedins_code"] = code
    return raw


def _parser(settling: bool) -> Callable[[dict[str, Any]], wire.VisitRequest]:
    return lambda raw: wire.parse_visit_request(dumps(raw).encode(), settling)


def _checked(raw: dict[str, Any], settling: bool) -> dict[str, str]:
    """Every error of the form, in Chinese, by field (form_errors)."""
    names = [n for n, _ in TEXTS if settling or n != "medins_setl_id"] + [n for n, _ in AMOUNTS]
    return form_errors.all_errors(_parser(settling), raw, names, LABELS)


def _institutions(uow: UnitOfWork, who: Visitor) -> list[tuple[str, str]]:
    query = select(Institution.code, Institution.name).order_by(Institution.code)
    if who.actor.role == "hospital":
        query = query.where(Institution.id == who.actor.institution_id)
    return [(r.code, r.name) for r in uow.session.execute(query)]


def _form(uow: UnitOfWork, who: Visitor, given: dict[str, str], status: int = 200,
          **result: Any) -> Response:
    return render(who, "settle.html", status, active="settle", texts=TEXTS, amounts=AMOUNTS,
                  med_types=MED_TYPES, optional=OPTIONAL, given=given,
                  settles=who.actor.role in SETTLERS,
                  institutions=_institutions(uow, who),
                  errors=result.pop("errors", {}), result=result.pop("result", None),
                  rows=result.pop("rows", []), **result)


def _refused(uow: UnitOfWork, who: Visitor, given: dict[str, str], errors: dict[str, str]
             ) -> Response:
    return _form(uow, who, given, 422, errors=errors, message=f"有 {len(errors)} 处需要修改：")


def _new_ids() -> dict[str, str]:
    """Fresh ids for a new form: a settlement sent twice from it is settled once."""
    tag = secrets.token_hex(4).upper()
    return {"mdtrt_id": f"WEB-M-{tag}", "medins_setl_id": f"WEB-S-{tag}", "med_type": "21"}


@router.get("/settle")
async def settle_form(request: Request) -> Response:
    return await page(request, "settle", lambda uow, who: _form(uow, who, _new_ids()))


@router.post("/settle")
async def settle_visit(request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        form: FormData = request.state.form
        given = {k: str(v) for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        settling = form.get("action") == "settle"
        raw = request_fields(form, settling)
        errors = _checked(raw, settling)
        if errors:
            return _refused(uow, who, given, errors)
        try:
            req = _parser(settling)(raw)
            if settling:
                done = settlements.settle(uow, who.actor, req)
                result = wire.entry_json(done.entry, done.fixmedins_code)
                given = given | _new_ids()
            else:
                inst, s = settlements.preview(uow, who.actor, req)
                result = wire.preview_json(req, inst.code, s)
        except InputError as e:  # the use case's: the person or institution named
            field = form_errors.field_of(e)
            return _refused(uow, who, given, {field: form_errors.labelled(field, e.message,
                                                                          LABELS)})
        return _form(uow, who, given, result=result, rows=amount_rows(result),
                     settled=settling)

    return await page(request, "settle", work, form=True)
