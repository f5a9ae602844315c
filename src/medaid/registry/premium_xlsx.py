"""The premium-subsidy list as the workbook a civil-affairs office files (参保资助名单).

Sheet 资助名单: a title, the premium and the rule cited, then one row per person and a
total. Amounts are numbers in yuan with two decimals (written from Decimal, so the file
holds exact decimal text and Excel can sum them); ID numbers are text, so Excel never
turns them into rounded numbers. Sheet 未资助 lists the persons considered and why
nothing is paid for them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from medaid.core import sheets
from medaid.core.money import fmt_ratio, to_yuan
from medaid.registry.idcard import mask
from medaid.registry.premium import Subsidy, SubsidyList

HEADERS = ("序号", "姓名", "公民身份号码", "所属区", "资助类别", "人员身份类别代码",
           "资助标准", "个人缴费（元）", "资助金额（元）", "个人实缴（元）", "资助起始日期")
HEADER_ROW = 3
YUAN = "#,##0.00"
_WIDTHS = (6, 10, 22, 12, 30, 10, 16, 14, 14, 14, 14)


def _standard(x: Subsidy) -> str:
    if x.by_grade:
        return "全额（一、二级残疾）"
    if x.share_bp is not None:
        return fmt_ratio(x.share_bp)
    assert x.fixed is not None
    return f"定额{to_yuan(x.fixed)}元"


def _title(ws: Worksheet, text: str, row: int, width: int) -> None:
    ws.cell(row=row, column=1, value=text)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)


def write_subsidy_list(lst: SubsidyList, target: str | Path | BinaryIO, *,
                       mask_ids: bool = False) -> None:
    """Write the workbook; `mask_ids` for copies that leave the office."""
    show = mask if mask_ids else (lambda n: n)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "资助名单"
    _title(ws, f"{lst.city}{lst.year}年度城乡居民基本医疗保险参保资助名单", 1, len(HEADERS))
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    _title(ws, f"个人缴费标准{to_yuan(lst.premium)}元/人·年；依据{lst.rule}（{lst.source}）；"
               f"政策版本{lst.version}", 2, len(HEADERS))
    for col, (label, width) in enumerate(zip(HEADERS, _WIDTHS, strict=True), start=1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=label)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
        ws.column_dimensions[cell.column_letter].width = width
    row = HEADER_ROW
    for n, x in enumerate(lst.subsidies, start=1):
        row += 1
        values: tuple[int | str | Decimal | date, ...] = (
            n, x.name, show(x.certno), x.district or "", x.label, x.idet_type or "",
            _standard(x), to_yuan(x.premium), to_yuan(x.amount), to_yuan(x.premium - x.amount),
            x.subsidised_from)
        for col, value in enumerate(values, start=1):
            ws.cell(row=row, column=col, value=value)
        ws.cell(row=row, column=3).number_format = "@"
        for col in (8, 9, 10):
            ws.cell(row=row, column=col).number_format = YUAN
        ws.cell(row=row, column=11).number_format = "yyyy-mm-dd"
    row += 1
    ws.cell(row=row, column=1, value="合计")
    ws.cell(row=row, column=2, value=f"{len(lst.subsidies)}人")
    total = ws.cell(row=row, column=9, value=to_yuan(lst.total))
    total.number_format = YUAN
    for col in (1, 2, 9):
        ws.cell(row=row, column=col).font = Font(bold=True)
    ws.freeze_panes = f"A{HEADER_ROW + 1}"

    other = wb.create_sheet("未资助")
    for col, (label, width) in enumerate((("姓名", 10), ("公民身份号码", 22), ("原因", 60)),
                                         start=1):
        other.cell(row=1, column=col, value=label).font = Font(bold=True)
        other.column_dimensions[other.cell(row=1, column=col).column_letter].width = width
    for r, y in enumerate(lst.not_subsidised, start=2):
        other.cell(row=r, column=1, value=y.name)
        other.cell(row=r, column=2, value=show(y.certno)).number_format = "@"
        other.cell(row=r, column=3, value=y.reason)
    sheets.save(wb, target)
