"""审计日志 The audit log, for the auditor: every entry, newest first, filtered by date
(Beijing time), actor and action, a page at a time, each with who did it by name; and
"校验哈希链", which recomputes the chain from its first entry (`store.audit.verify`) and
says whether it is intact or where it first breaks. Reading and verifying are audited
(`app.audit_log`).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from medaid.app import audit_log as use
from medaid.app.uow import UnitOfWork
from medaid.core import labels
from medaid.core.errors import InputError
from medaid.store.audit import Verdict
from medaid.web.guard import Visitor
from medaid.web.lists import query_date
from medaid.web.render import Page, add_page, page, render

router = APIRouter()
add_page(Page("audit_log", "审计日志", "/audit-log", use.READERS,
              "谁在何时做了什么：按日期、操作人、操作筛选审计日志，校验哈希链是否完整"))

ACTIONS = {k: zh for k, (zh, _) in labels.AUDIT_ACTIONS.items()}
Text = Annotated[str | None, Query(max_length=80)]
FILTERS = ("start", "end", "actor", "action")


class Pages:
    """Where a page of `total` entries is (the shape `_lists.html`'s pager reads)."""

    def __init__(self, page: int, total: int) -> None:
        self.page, self.total = page, total
        self.pages = max(1, -(-total // use.PAGE_SIZE))


def _page(uow: UnitOfWork, who: Visitor, given: dict[str, str], page_no: int,
          verdict: Verdict | None = None, status: int = 200) -> Response:
    error = ""
    try:
        f = use.Filters(query_date(given.get("start"), "start", "开始日期"),
                        query_date(given.get("end"), "end", "结束日期"),
                        given.get("actor") or None, given.get("action") or None)
        found, total = use.search(uow, who.actor, f, page_no)
    except InputError as e:
        uow.rollback()
        found, total, status, error = [], 0, 422, e.message
    who_is = use.names(uow, [e.actor for e in found])
    entries: list[dict[str, Any]] = [use.entry_json(e, who_is) for e in found]
    return render(who, "audit_log.html", status, active="audit_log", entries=entries,
                  found=Pages(page_no, total), given=given, error=error, verdict=verdict,
                  actions=use.actions(uow), ACTIONS=ACTIONS,
                  query=urlencode({k: v for k, v in given.items() if v}))


@router.get("/audit-log")
async def audit_log(request: Request, start: Text = None, end: Text = None, actor: Text = None,
                    action: Text = None,
                    page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1
                    ) -> Response:
    given = dict(zip(FILTERS, (start or "", end or "", actor or "", action or ""),
                     strict=True))
    return await page(request, "audit_log", lambda uow, who: _page(uow, who, given, page_no))


@router.post("/audit-log/verify")
async def verify(request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        verdict = use.verify(uow, who.actor)
        return _page(uow, who, dict.fromkeys(FILTERS, ""), 1, verdict)

    return await page(request, "audit_log", work, form=True)
