"""Pages: the templates, the menu by role, and the one way a page request is run.

`page()` finds the signed-in user (none: to the sign-in page), refuses a role the page is
not for (an HTTP 403 page, never a redirect), runs the page's work in a worker thread
with a unit of work of its own (as the JSON API runs its use cases), and renders a
MedaidError as a page with the API's status: 403, 404, 409, 422.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool

from medaid.core import divisions, labels
from medaid.core.dates import BEIJING
from medaid.core.errors import (
    Conflict,
    Forbidden,
    InputError,
    MedaidError,
    NotFound,
    Unauthenticated,
)
from medaid.core.money import fmt_yuan, to_fen
from medaid.policy import fields, model
from medaid.store.models import ROLES
from medaid.web import guard
from medaid.web.guard import Visitor

# Every page's response: no framing, no inline script, no caching of personal data.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

ROLE_LABELS = {code: zh for code, (zh, _) in labels.ROLES.items()}
TIER_LABELS = {"hifp": "基本医保", "hifmi": "大病保险", "assistance": "医疗救助",
               "tilted": "倾斜救助", "special": "特殊救助",
               "reassistance": labels.TIERS["reassistance"][0], "chain": "结算"}
KIND_LABELS = {code: zh for code, (zh, _) in labels.KINDS.items()} | {"pharmacy": "药店购药"}
# each shipped jurisdiction by the name its policy file gives (宿迁市, 淄博市淄川区)
CITY_LABELS = {j: model.jurisdiction_name(j) for j in model.jurisdictions()}


@dataclass(frozen=True, slots=True)
class Page:
    """A page of the menu and the roles that may open it (the one list of both)."""

    key: str
    label: str
    href: str
    roles: tuple[str, ...]
    hint: str = ""  # what it is for, on the home page
    menu: bool = True


PAGES: dict[str, Page] = {p.key: p for p in (
    Page("home", "首页", "/", ROLES, menu=False),
    Page("persons", "人员", "/persons", ("caseworker", "admin", "auditor", "finance"),
         "按身份证号或姓名查找救助对象：身份与在保期、年度额度、结算与计算依据"),
    Page("settle", "结算", "/settle", ("hospital", "caseworker", "admin"),
         "试算或结算一次就诊：基本医保、大病保险、医疗救助，每个数字附规则与条款"),
    Page("settlement", "结算单", "/settlements", ROLES, menu=False),
    Page("rosters", "名单导入", "/rosters", ("caseworker", "admin"),
         "上传部门月度名单：先试导入，查看新增、退出、变更与错误行，再确认导入"),
    Page("policy", "政策", "/policy", ROLES,
         "各地政策的规则与条款原文、省级底线（JS-X）对照、政策模拟报告"),
)}


# The menu's order, fixed here rather than by which module happens to be imported first.
MENU_ORDER = ("home", "persons", "settle", "settlement", "cancel", "rosters", "applications",
              "warnings", "charity", "funds", "indicators", "person_list", "settlement_list",
              "audit", "audit_log", "policy")


def add_page(page: Page) -> None:
    """Register a casework page (its menu entry and roles) at its place in MENU_ORDER."""
    if page.key not in MENU_ORDER:
        raise ValueError(f"page {page.key!r} has no place in MENU_ORDER")
    PAGES[page.key] = page
    for key in sorted(PAGES, key=MENU_ORDER.index):
        PAGES[key] = PAGES.pop(key)


# -- formatting ---------------------------------------------------------------------------
def yuan(value: Decimal | int | str | None, fen: bool = False) -> str:
    """¥1,234.56 (from yuan, or from fen with fen=True); '—' for nothing."""
    if value is None or value == "":
        return "—"
    return fmt_yuan(int(value) if fen else to_fen(Decimal(value).quantize(Decimal("0.01"))))


def when(at: datetime | str) -> str:
    """A stored moment (UTC, or its ISO text) as caseworkers read it: Beijing time to the
    minute."""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def source_article(source: str) -> str:
    """The article of a trace line's source ('000_….txt （四）' → '（四）')."""
    doc, _, article = source.partition(" ")
    return article or doc


def document_titles() -> dict[str, str]:
    return {d.file: d.title for j in model.jurisdictions() for p in model.versions(j)
            for d in (p.spec.document, *p.spec.notices)}


def category_label(jurisdiction: str, category: str | None) -> str:
    return model.category_label(jurisdiction, category) if category else "—"


_env = Environment(loader=PackageLoader("medaid.web", "templates"),
                   autoescape=select_autoescape(("html",), default=True),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_env.filters.update(yuan=yuan, article=source_article, when=when, district=divisions.name)
_env.globals.update(ROLE_LABELS=ROLE_LABELS, TIER_LABELS=TIER_LABELS, KIND_LABELS=KIND_LABELS,
                    CITY_LABELS=CITY_LABELS, category_label=category_label,
                    TITLES=document_titles())


def html(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_env.get_template(name).render(**context), status_code=status,
                        headers=HEADERS)


def render(visitor: Visitor | None, name: str, status: int = 200, active: str = "",
           **context: Any) -> HTMLResponse:
    """A page with the menu of what the visitor's role may open."""
    menu = [p for p in PAGES.values()
            if p.menu and visitor is not None and visitor.actor.role in p.roles]
    return html(name, status, visitor=visitor, menu=menu, active=active,
                csrf=visitor.csrf if visitor else "", **context)


ERROR_LEADS = {403: "您的角色或辖区无权查看或办理此项。",
               404: "所查找的记录不存在，或不在您可查看的范围内。",
               409: "与已保存的记录冲突，未作任何更改。", 422: "输入有误，未作任何更改。"}


def _label_of_path(m: re.Match[str]) -> str:
    """'$.visits[0].end: ' → '出院日期：'; a field without a label is not shown."""
    name = re.split(r"[.\[\]]+", m.group(0).rstrip(": ").strip(".[]$"))[-1]
    label = fields.label(name)
    return "" if label == name else f"{label}："


def error_page(visitor: Visitor | None, status: int, message: str) -> HTMLResponse:
    """A use case's error as a page: its Chinese (without an English gloss, the field its
    path names by its label), else a sentence in Chinese for the status with the message
    beside it as the detail."""
    titles = {403: "无权访问", 404: "未找到", 409: "与已有记录冲突", 422: "输入有误"}
    if re.search(r"[\u4e00-\u9fff]", message):
        shown = re.sub(r"^[$\w.\[\]]+: ", _label_of_path,
                       re.sub(r"\s*/\s*[A-Za-z].*$", "", message))
        detail = ""
    else:
        shown, detail = ERROR_LEADS.get(status, "请求未能完成。"), message
    return render(visitor, "error.html", status, title=titles.get(status, "出错了"),
                  code=status, message=shown, detail=detail)


def status_of(e: MedaidError) -> int:
    for kind, status in ((NotFound, 404), (Forbidden, 403), (Conflict, 409),
                         (Unauthenticated, 401), (InputError, 422)):
        if isinstance(e, kind):
            return status
    return 422


def to_signin(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303, headers=HEADERS)
    if request.cookies.get(guard.COOKIE):
        guard.end_session(request, response)  # an expired or revoked session
    return response


Work = Callable[[Any, Visitor], Response]


async def page(request: Request, key: str, work: Work, form: bool = False) -> Response:
    """Run a page for the signed-in user whose role the page is for.

    `form`: a POST whose CSRF token is checked first; the form is then
    `request.state.form`."""
    allowed = PAGES[key].roles
    try:
        token = guard.session_token(request)
        if form:
            request.state.form = await guard.checked_form(request)
    except Unauthenticated:
        return to_signin(request)
    except guard.CsrfRefused as e:
        return error_page(None, 403, str(e))

    def job() -> Response:
        from medaid.app.uow import UnitOfWork

        with UnitOfWork(request.app.state.sessions, request.app.state.cache) as uow:
            try:
                who = guard.visitor(uow, token)
            except Unauthenticated:
                return to_signin(request)
            if who.actor.role not in allowed:
                return error_page(who, 403, f"{ROLE_LABELS[who.actor.role]}无权打开此页面 / "
                                            f"role {who.actor.role} may not open this page")
            try:
                return work(uow, who)
            except MedaidError as e:
                uow.rollback()
                if isinstance(e, Unauthenticated):
                    return to_signin(request)
                return error_page(who, status_of(e), str(e))

    return await run_in_threadpool(job)


