"""慈善 Charity (社会力量参与): the register of programmes (an admin adds one through the
form), and the referrals with their status, where a caseworker or an admin records the
programme's answer. The form becomes the API's body and goes through the same checks
(`app.charity`), which also decide who may read and write what.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.datastructures import FormData

from medaid.app import auth
from medaid.app import charity as use
from medaid.app.uow import UnitOfWork
from medaid.casework.charity import NO_IDENTITY
from medaid.core import clock
from medaid.core.errors import Conflict, InputError
from medaid.policy import model
from medaid.store.warning_models import REFERRAL_STATES
from medaid.web import choices, form_errors
from medaid.web.guard import Visitor
from medaid.web.render import Page, add_page, page, render
from medaid.web.warnings import REFERRAL_LABELS

router = APIRouter()
add_page(Page("charity", "慈善", "/charity", use.REGISTER_READERS,
              "慈善救助项目登记，转介记录及项目方答复"))

ACTORS = ("caseworker", "admin")  # who records a programme's answer (in the district)
TEXTS = (("name", "项目名称"), ("organisation", "实施机构"))
MONEY = (("min_burden", "起助负担（元，三重制度后）"), ("annual_budget", "年度预算（元）"))
COUNTS = (("min_age", "最低年龄"), ("max_age", "最高年龄"), ("annual_slots", "年度名额"))
DATES = (("active_from", "开始日期"), ("active_to", "结束日期（可空）"))
LABELS = dict(TEXTS + MONEY + COUNTS + DATES) | {"jurisdictions": "参保地",
                                                  "categories": "救助身份"}
ANSWER_LABELS = {"note": "拒绝说明", "action": "答复"}
# a programme the reading accepts, for each field to be checked on its own (form_errors)
NEUTRAL = {"name": "0", "organisation": "0", "active_from": "2000-01-01"}


def category_options() -> list[tuple[str, str]]:
    """Every category of the policies in force (id, label), and 'none': no identity."""
    seen: dict[str, str] = {}
    for j in model.jurisdictions():
        for c in model.versions(j)[-1].spec.categories:
            seen.setdefault(c.id, c.label)
    return [*sorted(seen.items()), (NO_IDENTITY, "无身份（因病致贫）")]


def programme_body(form: FormData) -> dict[str, Any]:
    """The API's body for the form: texts as given, yuan as exact decimals, counts as
    integers; an empty field is left out (what a JSON client would not send)."""
    raw: dict[str, Any] = {}
    for name, _ in (*TEXTS, *DATES):
        value = str(form.get(name) or "").strip()
        if value:
            raw[name] = value
    for name, _ in MONEY:
        value = str(form.get(name) or "").strip().replace(",", "")
        if value:
            try:
                raw[name] = Decimal(value)
            except InvalidOperation:
                raw[name] = value  # as typed, for the reading to name
    for name, _ in COUNTS:
        value = str(form.get(name) or "").strip()
        if value:
            raw[name] = int(value) if value.isdigit() else value
    for name in ("jurisdictions", "categories"):
        raw[name] = [str(v) for v in form.getlist(name) if str(v)]
    return raw


def _page(uow: UnitOfWork, who: Visitor, year: int | None, state: str | None,
          status: int = 200, given: dict[str, str] | None = None, error: str = "",
          added: str = "", errors: dict[str, str] | None = None) -> Response:
    programmes = use.programmes(uow, who.actor)
    referrals = use.referrals(uow, who.actor, year, state) \
        if who.actor.role in auth.CASEWORK else None
    return render(who, "charity.html", status, active="charity", programmes=programmes,
                  referrals=referrals, year=year, state=state, STATES=REFERRAL_LABELS,
                  jurisdictions=model.jurisdictions(), categories=dict(category_options()),
                  texts=TEXTS, money=MONEY, counts=COUNTS, dates=DATES,
                  given=given or {"active_from": str(clock.today())}, error=error,
                  errors=errors or {},
                  added=added, adds=who.actor.role == "admin",
                  decides=who.actor.role in ACTORS)


Year = Annotated[int | None, Query(ge=1990, le=2100)]


@router.get("/charity")
async def register(request: Request, year: Year = None,
                   status: Annotated[str | None, Query(max_length=12)] = None) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        return _page(uow, who, year, choices.choice(status, REFERRAL_STATES, "status"))

    return await page(request, "charity", work)


@router.post("/charity")
async def add_programme(request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        form: FormData = request.state.form
        given = {k: str(v) for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        given |= {k: ",".join(str(v) for v in form.getlist(k))
                  for k in ("jurisdictions", "categories")}
        auth.require(who.actor, "admin")  # the role before the form: no other learns its rules
        raw = programme_body(form)
        errors = form_errors.all_errors(use.new_programme, raw, list(LABELS), LABELS, NEUTRAL)
        if errors:
            return _page(uow, who, None, None, 422, given, errors=errors)
        try:
            p = use.create_programme(uow, who.actor, raw)
        except Conflict as e:  # a name already registered
            uow.rollback()
            return _page(uow, who, None, None, 409, given, errors={
                "name": form_errors.labelled("name", str(e), LABELS)})
        return _page(uow, who, None, None, added=p.name)

    return await page(request, "charity", work, form=True)


@router.post("/charity/referrals/{referral_id}")
async def decide(referral_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                 request: Request) -> Response:
    """The programme's answer: accept, or decline with its note."""
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        form: FormData = request.state.form
        action = form.get("action")
        note = str(form.get("note") or "").strip() or None
        try:
            if action not in ("accept", "decline"):
                raise InputError("action", "请选择接受或拒绝 / accept or decline")
            use.decide(uow, who.actor, referral_id, action == "accept", note)
        except InputError as e:
            uow.rollback()
            field = form_errors.field_of(e)
            return _page(uow, who, None, None, 422, error=f"转介 {referral_id}：" +
                         form_errors.labelled(field, e.message, ANSWER_LABELS))
        return _page(uow, who, None, None)

    return await page(request, "charity", work, form=True)
