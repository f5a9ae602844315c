"""名单与清单 Lists to work from, a page at a time, with filters and an Excel export of the
list as filtered: persons by district and category (人员名单), settlements by date,
hospital, person and category (结算清单; a hospital: its own), and a payment batch's
settlements (to reconcile the batch). Scope and audit are `app.listings`'s.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request, Response
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from medaid.app import funds, listings
from medaid.app.listings import PersonRow, SettlementFilters, SettlementRow
from medaid.app.uow import UnitOfWork
from medaid.core import divisions, labels, sheets
from medaid.core.errors import InputError
from medaid.core.money import to_yuan
from medaid.policy import model
from medaid.store.models import Institution, Person
from medaid.web import choices
from medaid.web.guard import Visitor
from medaid.web.render import (
    CITY_LABELS,
    HEADERS,
    Page,
    add_page,
    category_label,
    page,
    render,
    when,
)

router = APIRouter()
add_page(Page("person_list", "人员名单", "/lists/persons",
              ("caseworker", "admin", "auditor", "finance"),
              "按辖区和救助身份列出救助对象，分页查看，导出 Excel"))
add_page(Page("settlement_list", "结算清单", "/lists/settlements", (
    "hospital", "caseworker", "admin", "auditor", "finance"),
    "按出院日期、医院、人员和身份列出结算（医院：本院结算），分页查看，导出 Excel"))

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ENTRY_LABELS = {"settle": "结算", "cancel": "撤销", "adjust": "重算调整"}
YUAN = "#,##0.00"

Text = Annotated[str | None, Query(max_length=40)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]


def query_date(value: str | None, name: str, label: str) -> date | None:
    """A page's optional date filter (ISO), refused in Chinese by its label."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(name, f"{label}应为日期，如 2026-03-01") from None


def _categories(uow: UnitOfWork, who: Visitor) -> list[tuple[str, str]]:
    """The categories one may filter by: those of the visitor's own city, else of all."""
    if who.actor.role in ("caseworker", "hospital"):
        cities = [choices.home_jurisdiction(uow, who.actor)]
    else:
        cities = model.jurisdictions()
    found: dict[str, str] = {}
    for j in cities:
        versions = model.versions(j)
        if versions:
            for c in versions[-1].spec.categories:
                found.setdefault(c.id, c.label)
    return list(found.items())


def _districts(uow: UnitOfWork) -> list[tuple[str, str]]:
    codes = uow.session.scalars(select(Person.district).distinct().order_by(Person.district))
    return [(c, divisions.name(c)) for c in codes]


def _hospitals(uow: UnitOfWork) -> list[tuple[str, str]]:
    return [(r.code, r.name) for r in uow.session.execute(
        select(Institution.code, Institution.name).order_by(Institution.code))]


def _query(**given: Any) -> str:
    return urlencode({k: v for k, v in given.items() if v})


def _xlsx(title: str, headers: list[str], rows: list[list[Any]], money: set[int],
          text: set[int]) -> bytes:
    """One sheet: a title, the headers, the rows; amounts as yuan numbers to the fen, the
    columns in `text` stored as text (ID and person numbers are never numbers)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title[:31]
    ws.cell(row=1, column=1, value=title).font = Font(bold=True, size=14)
    for col, label in enumerate(headers, start=1):
        ws.cell(row=2, column=col, value=label).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(col)].width = 16
    for n, values in enumerate(rows, start=3):
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=n, column=col, value=value)
            if col - 1 in money:
                cell.number_format = YUAN
            elif col - 1 in text:
                cell.number_format = "@"
    ws.freeze_panes = "A3"
    out = io.BytesIO()
    sheets.save(wb, out)
    return out.getvalue()


def _download(content: bytes, name: str) -> Response:
    return Response(content, media_type=XLSX, headers=HEADERS | {
        "Content-Disposition": f'attachment; filename="{name}.xlsx"'})


# -- persons -----------------------------------------------------------------------------------
def _person_cells(r: PersonRow) -> list[Any]:
    return [r.name, r.certno, r.psn_no, CITY_LABELS.get(r.jurisdiction, r.jurisdiction),
            divisions.name(r.district),
            "、".join(category_label(r.jurisdiction, c) for c in r.categories) or "无在保身份"]


PERSON_HEADERS = ["姓名", "身份证号", "人员编号", "参保地", "辖区", "在保身份"]


@router.get("/lists/persons")
async def person_list(request: Request, district: Text = None, category: Text = None,
                      page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1
                      ) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        filters = {"district": district or "", "category": category or ""}
        try:
            found = listings.persons(uow, who.actor, district, category, page_no)
        except InputError as e:
            return _persons(uow, who, filters, None, e.message, 422)
        return _persons(uow, who, filters, found, "")

    return await page(request, "person_list", work)


def _persons(uow: UnitOfWork, who: Visitor, filters: dict[str, str],
             found: listings.Paged[PersonRow] | None, error: str, status: int = 200
             ) -> Response:
    return render(who, "person_list.html", status, active="person_list", f=filters,
                  found=found, error=error, categories=_categories(uow, who),
                  districts=_districts(uow) if who.actor.role != "caseworker" else [],
                  query=_query(**filters), cells=_person_cells, headers=PERSON_HEADERS)


@router.get("/lists/persons/export")
async def person_export(request: Request, district: Text = None, category: Text = None
                        ) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        found = listings.persons(uow, who.actor, district, category, page=None)
        title = "救助对象名单" + (f"（{divisions.name(district)}）" if district else "")
        return _download(_xlsx(title, PERSON_HEADERS, [_person_cells(r) for r in found.rows],
                               set(), {1, 2}), "persons")

    return await page(request, "person_list", work)


# -- settlements -------------------------------------------------------------------------------
SETTLEMENT_HEADERS = ["出院/就诊日期", "结算时间", "单据", "定点医疗机构", "姓名", "人员编号",
                      "辖区", "救助身份", "就诊类别", "医疗费用总额", labels.TIERS["hifp"][0],
                      labels.TIERS["hifmi"][0], labels.TIERS["assistance"][0], "个人支付",
                      "结算单号"]
MONEY_COLUMNS = {9, 10, 11, 12, 13}


def _settlement_cells(r: SettlementRow) -> list[Any]:
    return [str(r.end), when(r.settled_at), ENTRY_LABELS.get(r.entry, r.entry), r.hospital,
            r.name, r.psn_no, divisions.name(r.district),
            category_label(r.jurisdiction, r.category),
            labels.label(labels.KINDS, r.kind) if r.kind else "—",
            *(to_yuan(v) for v in (r.medfee_sumamt, r.hifp_pay, r.hifmi_pay, r.maf_pay,
                                   r.psn_part_amt)), r.setl_id]


def _settlement_filters(first: str | None, last: str | None, hospital: str | None,
                        psn_no: str | None, category: str | None, district: str | None
                        ) -> SettlementFilters:
    return SettlementFilters(query_date(first, "first", "开始日期"),
                             query_date(last, "last", "结束日期"),
                             hospital or None, (psn_no or "").strip() or None, category or None,
                             district or None)


@router.get("/lists/settlements")
async def settlement_list(request: Request, first: Text = None, last: Text = None,
                          hospital: Text = None, psn_no: Text = None, category: Text = None,
                          district: Text = None,
                          page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1
                          ) -> Response:
    given = {"first": first or "", "last": last or "", "hospital": hospital or "",
             "psn_no": psn_no or "", "category": category or "", "district": district or ""}

    def work(uow: UnitOfWork, who: Visitor) -> Response:
        try:
            f = _settlement_filters(first, last, hospital, psn_no, category, district)
            found = listings.settlements(uow, who.actor, f, page_no)
        except InputError as e:
            return _settlements(uow, who, given, None, e.message, 422)
        return _settlements(uow, who, given, found, "")

    return await page(request, "settlement_list", work)


def _settlements(uow: UnitOfWork, who: Visitor, given: dict[str, str],
                 found: listings.Paged[SettlementRow] | None, error: str, status: int = 200
                 ) -> Response:
    role = who.actor.role
    return render(who, "settlement_list.html", status, active="settlement_list", f=given,
                  found=found, error=error, categories=_categories(uow, who),
                  hospitals=_hospitals(uow) if role != "hospital" else [],
                  districts=_districts(uow) if role not in ("caseworker", "hospital") else [],
                  query=_query(**given), cells=_settlement_cells, headers=SETTLEMENT_HEADERS,
                  money=MONEY_COLUMNS, totals=_totals(found.rows if found else []))


def _totals(rows: list[SettlementRow]) -> dict[str, Decimal]:
    return {name: to_yuan(sum(getattr(r, name) for r in rows))
            for name in ("medfee_sumamt", "hifp_pay", "hifmi_pay", "maf_pay", "psn_part_amt")}


@router.get("/lists/settlements/export")
async def settlement_export(request: Request, first: Text = None, last: Text = None,
                            hospital: Text = None, psn_no: Text = None, category: Text = None,
                            district: Text = None) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        f = _settlement_filters(first, last, hospital, psn_no, category, district)
        found = listings.settlements(uow, who.actor, f, page=None)
        return _download(_xlsx("结算清单", SETTLEMENT_HEADERS,
                               [_settlement_cells(r) for r in found.rows], MONEY_COLUMNS,
                               {0, 5, 14}), "settlements")

    return await page(request, "settlement_list", work)


# -- a payment batch's settlements -------------------------------------------------------------
BatchId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/funds/batches/{batch_id}/settlements")
async def batch_settlements(batch_id: BatchId, request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        rows = listings.batch_settlements(uow, who.actor, batch_id)
        scope = who.actor.district if who.actor.role == "caseworker" else None
        b = funds.batch_json(funds.get_batch(uow, who.actor, batch_id), scope)
        listed = sum(r.maf_pay for r in rows)
        expected = sum(Decimal(ln["assistance"]) for ln in b["lines"])
        return render(who, "batch_settlements.html", active="funds", b=b, rows=rows,
                      cells=_settlement_cells, headers=SETTLEMENT_HEADERS, money=MONEY_COLUMNS,
                      listed=to_yuan(listed), expected=expected,
                      matches=to_yuan(listed) == expected, totals=_totals(rows))

    return await page(request, "funds", work)


@router.get("/funds/batches/{batch_id}/settlements/export")
async def batch_export(batch_id: BatchId, request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        rows = listings.batch_settlements(uow, who.actor, batch_id)
        return _download(_xlsx(f"支付批次{batch_id}结算明细", SETTLEMENT_HEADERS,
                               [_settlement_cells(r) for r in rows], MONEY_COLUMNS,
                               {0, 5, 14}), f"batch-{batch_id}")

    return await page(request, "funds", work)
