"""指标 Indicators: a jurisdiction's year of the documents' cost-control and service
indicators — each per institution (or district) with its value, threshold, 合格/不合格 and
article, a chart of the values against the threshold, the statistics by category,
district, month and visit kind, and the workbook. Computed by `app.indicators.compute`,
which scopes a caseworker to its district and a hospital to itself, and audits the read.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from medaid.app import indicators as use
from medaid.app import indicators_export as export
from medaid.app.premiums import XLSX
from medaid.app.uow import UnitOfWork
from medaid.policy import model
from medaid.store.models import ROLES
from medaid.web import choices
from medaid.web.charts import Chart, chart
from medaid.web.guard import Visitor
from medaid.web.render import CITY_LABELS, Page, add_page, page, render

router = APIRouter()
add_page(Page("indicators", "指标", "/indicators", ROLES,
              "控费和服务指标：各定点医疗机构、各区的指标值、阈值与是否合格，分类统计"))

VERDICTS = {True: "合格", False: "不合格", None: "无数据"}
PER_LABELS = {"institution": "按定点医疗机构", "jurisdiction": "全市", "district": "按区县"}
DAYS = ("roster_push_days",)  # a row's value is the longest delay; the others are shares
HUNDRED = Decimal(100)
# NJ-K, CZ-K: 结报后的政策范围内个人自付 / 政策范围内住院总费用
POLICY_RANGE = ("政策范围内个人自付", "政策范围内住院总费用", "自付比例")
# (numerator, denominator, value) headings of a row and of a statistics line; a roster
# push row counts pushes in time of all pushes and shows the longest delay, its
# statistics the share in time; NJ-K and CZ-K name their policy-range amounts
HEADS = {"roster_push_days": (("按时推送", "推送次数", "最长用时"),
                              ("按时推送", "推送次数", "按时比例")),
         "policy_range_self_pay_share": (POLICY_RANGE, POLICY_RANGE)}
PLAIN = (("分子", "分母", "指标值"), ("分子", "分母", "指标值"))


def percent(value: str | Decimal | None) -> str:
    """A share as a percentage, 0.1267 → 12.67%."""
    if value is None:
        return "—"
    return f"{(Decimal(value) * HUNDRED).quantize(Decimal('0.01')):f}%"


def shown(measure: str, value: str | Decimal | None) -> str:
    """A row's value or a threshold as read: a share as a percentage, a delay in days."""
    if value is None or measure not in DAYS:
        return percent(value)
    return f"{Decimal(value).normalize():f} 个工作日"


def subject(x: dict[str, Any], row: dict[str, Any]) -> str:
    """What a row is about, in words: the city for a jurisdiction-wide indicator."""
    name = str(row["name"])
    return CITY_LABELS.get(name, name) if x["per"] == "jurisdiction" else name


def bound(x: dict[str, Any]) -> str:
    return (f"≥ {shown(x['measure'], x['min'])}" if "min" in x
            else f"≤ {shown(x['measure'], x['max'])}")


def _chart(x: dict[str, Any]) -> Chart:
    line = Decimal(x["min"] if "min" in x else x["max"])
    rows = [(subject(x, r), [("pass" if r["passes"] else "fail", Decimal(r["value"]),
               shown(x["measure"], r["value"]))], "" if r["passes"] else "bad")
            for r in x["rows"] if r["value"] is not None]
    return chart(rows, [("pass", "合格"), ("fail", "不合格")], line, f"阈值 {bound(x)}")


Year = Annotated[int | None, Query(ge=1990, le=2100)]
Short = Annotated[str | None, Query(max_length=40)]


def _report(uow: UnitOfWork, who: Visitor, year: int | None, jurisdiction: str | None,
            district: str | None) -> use.Report:
    return use.compute(uow, who.actor, choices.jurisdiction(uow, who.actor, jurisdiction),
                       choices.year(uow, year), district or None)


@router.get("/indicators")
async def indicators(request: Request, year: Year = None, jurisdiction: Short = None,
                     district: Short = None) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        r = _report(uow, who, year, jurisdiction, district)
        data = use.report_json(r)
        query = {"year": r.year, "jurisdiction": r.jurisdiction}
        if district and who.actor.role not in ("caseworker", "hospital"):
            query["district"] = district
        return render(who, "indicators.html", active="indicators", r=data, query=query,
                      district=district or "", charts=[_chart(x) for x in data["indicators"]],
                      shown=shown, percent=percent, bound=bound, subject=subject,
                      heads=lambda measure: HEADS.get(measure, PLAIN),
                      VERDICTS=VERDICTS, PER=PER_LABELS,
                      DIMENSIONS=export.DIMENSION_LABELS, MONEY=use.MONEY,
                      jurisdictions=model.jurisdictions(),
                      pick_district=who.actor.role not in ("caseworker", "hospital"))

    return await page(request, "indicators", work)


@router.get("/indicators/export")
async def workbook(request: Request, year: Year = None, jurisdiction: Short = None,
                   district: Short = None) -> Response:
    """The API's workbook (sheets 指标 and 分类统计) for the same choice."""
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        r = _report(uow, who, year, jurisdiction, district)
        return Response(export.workbook(r), media_type=XLSX, headers={
            "Content-Disposition": f'attachment; filename="indicators-{r.jurisdiction}-'
                                   f'{r.year}.xlsx"', "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff"})

    return await page(request, "indicators", work)
