"""资金 Funds: a jurisdiction's fund year per district — budget against spending (a bar
chart), the quarterly pre-allocation schedule with due dates and status, the payment
batches per institution and month (and a batch's page with its lines), the clearing, the
account balances and the balance check. Read through `app.funds` (`report`,
`list_batches`, `get_batch`) and `fund_journal.check`, which decide who reads what: a
caseworker its district, a hospital its own batches only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from medaid.app import funds as use
from medaid.app.fund_journal import check
from medaid.app.uow import UnitOfWork
from medaid.core import labels
from medaid.core.errors import PolicyError
from medaid.core.money import fmt_ratio, to_bp
from medaid.policy import model
from medaid.web import choices
from medaid.web.charts import chart
from medaid.web.guard import Visitor
from medaid.web.render import Page, add_page, page, render, yuan

router = APIRouter()
add_page(Page("funds", "资金", "/funds", ("admin", "auditor", "finance", "caseworker", "hospital"),
              "医疗救助基金：预算与支出、季度预拨、按月支付批次、年度清算、账簿平衡校验"))

ACCOUNT_LABELS = {"bank": "专户存款", "budget_receivable": "应收预拨资金",
                  "deficit_receivable": "应收超支补足", "payable_institution": "应付定点医疗机构",
                  "assessment_reserve": "考核预留款", "budget_revenue": "预算资金收入",
                  "reserve_forfeited": "考核扣减", "assistance_expense": "医疗救助支出",
                  "surplus_carried_forward": "结余结转"}
INSTALLMENT_LABELS = {"received": "已到账", "due": "待拨付", "overdue": "已逾期"}
BATCH_LABELS = {code: zh for code, (zh, _) in labels.BATCH_STATES.items()}
DEFICIT_LABELS = {"none": "无超支", "received": "已补足", "due": "待补足", "overdue": "已逾期"}
LEGEND = (("budget", "年度预算"), ("spent", "救助支出（支付批次）"), ("paid", "已支付"))


def _chart(funds: list[dict[str, Any]]) -> Any:
    rows = []
    for f in funds:
        figures = (Decimal(f["schedule"]["budget"]), Decimal(f["batches"]["assistance"]),
                   Decimal(f["batches"]["paid"]))
        rows.append((f["district"], [(s, v, yuan(v)) for (s, _), v in zip(LEGEND, figures,
                                                                            strict=True)],
                     "bad" if figures[1] > figures[0] else ""))
    return chart(rows, LEGEND)


def _batches(uow: UnitOfWork, who: Visitor, year: int, jurisdiction: str | None
             ) -> list[dict[str, Any]]:
    """The year's batches the visitor may read (a caseworker: its district's lines), those
    paying for `jurisdiction` (None: all)."""
    scope = who.actor.district if who.actor.role == "caseworker" else None
    found = [use.batch_json(b, scope) for b in use.list_batches(uow, who.actor, year=year)]
    return [b for b in found if jurisdiction is None
            or any(ln["jurisdiction"] == jurisdiction for ln in b["lines"])]


Year = Annotated[int | None, Query(ge=1990, le=2100)]


@router.get("/funds")
async def fund_year(request: Request, year: Year = None,
                    jurisdiction: Annotated[str | None, Query(max_length=40)] = None,
                    district: Annotated[str | None, Query(max_length=12)] = None) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        y = choices.year(uow, year)
        if who.actor.role == "hospital":  # its own batches, nothing of the districts' funds
            return render(who, "funds.html", active="funds", year=y, report=None,
                          batches=_batches(uow, who, y, None), **_labels())
        j = choices.jurisdiction(uow, who.actor, jurisdiction)
        d = use.require_fund_read(who.actor, district or None)
        report = use.report(uow, who.actor, j, y, d)
        books = check(uow.session, j, d)
        return render(who, "funds.html", active="funds", year=y, report=report, books=books,
                      chart=_chart(report["funds"]), district=d or "",
                      jurisdictions=model.jurisdictions(),
                      batches=_batches(uow, who, y, j),
                      pick_district=who.actor.role != "caseworker", **_labels())

    return await page(request, "funds", work)


def _labels() -> dict[str, Any]:
    return {"ACCOUNTS": ACCOUNT_LABELS, "INSTALLMENTS": INSTALLMENT_LABELS,
            "BATCHES": BATCH_LABELS, "DEFICITS": DEFICIT_LABELS, "percent": percent}


def percent(share: str) -> str:
    """An assessment share ("0.8") as the documents write it (80%)."""
    return fmt_ratio(to_bp(share))


@router.get("/funds/batches/{batch_id}")
async def batch(batch_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        b = use.get_batch(uow, who.actor, batch_id)  # scope: hospital, district
        scope = who.actor.district if who.actor.role == "caseworker" else None
        data = use.batch_json(b, scope)
        shares = {}
        for ln in data["lines"]:
            try:
                _, f = use.rules(ln["jurisdiction"], b.month.year)
            except PolicyError:  # no funds section: the line shows no share
                continue
            shares[ln["jurisdiction"]] = (fmt_ratio(to_bp(f.payment.reserve_share)), f.rule,
                                          f.article)
        return render(who, "batch.html", active="funds", b=data, shares=shares,
                      partial=scope is not None, **_labels())

    return await page(request, "funds", work)
