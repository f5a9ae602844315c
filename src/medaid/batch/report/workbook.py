"""The reform report as an Excel workbook: one sheet per table, Chinese headers, money in
yuan with two decimals (written as exact decimals from integer fen)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from medaid.batch.report.tables import Cell, Column, Table, unit
from medaid.core import sheets

SHEETS = {"overview": "概况", "changes": "改革内容", "tiers": "按层级", "categories": "按类别",
          "kinds": "按就诊类型", "caps": "封顶线", "burden": "个人负担分布",
          "burden_shares": "高额负担", "people": "受益与受损", "bands": "变化幅度"}
TITLE_ROW, HEADER_ROW = 1, 2  # data from row 3
MONEY = "#,##0.00"
HEADER = PatternFill("solid", fgColor="F0F3F6")


def _value(cell: Cell, column: Column) -> str | int | Decimal | float | None:
    if cell is None or isinstance(cell, str):
        return cell
    if column.format in ("wan", "yuan"):
        assert isinstance(cell, int)
        return Decimal(cell) / 100  # fen → yuan, exact
    if column.format == "share":
        return float(Fraction(cell))  # a share: Excel shows it as a percentage
    assert isinstance(cell, int)
    return cell


def write(tables: Sequence[Table], path: Path) -> Path:
    wb = Workbook()
    if wb.active is not None:
        wb.remove(wb.active)
    for t in tables:
        ws = wb.create_sheet(SHEETS.get(t.key, t.key)[:31])
        ws.cell(TITLE_ROW, 1, t.title).font = Font(bold=True, size=12)
        widths = []
        for k, col in enumerate(t.columns, start=1):
            head = ws.cell(HEADER_ROW, k, unit(col, workbook=True))
            head.font = Font(bold=True)
            head.fill = HEADER
            head.alignment = Alignment(wrap_text=True, vertical="top")
            widths.append(min(60, max(10, len(unit(col, workbook=True)) + 2)))
        for r, row in enumerate(t.rows, start=HEADER_ROW + 1):
            for k, (cell, col) in enumerate(zip(row, t.columns, strict=True), start=1):
                c = ws.cell(r, k, _value(cell, col))
                if col.format in ("wan", "yuan"):
                    c.number_format = MONEY
                elif col.format == "count":
                    c.number_format = "#,##0"
                elif col.format == "share":
                    c.number_format = "0.0%"
                if isinstance(cell, str):
                    widths[k - 1] = min(60, max(widths[k - 1], len(cell) + 2))
        if t.note:
            ws.cell(HEADER_ROW + len(t.rows) + 2, 1, t.note).font = Font(italic=True,
                                                                        color="5A6775")
        for k, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(k)].width = w
        ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1)
    sheets.save(wb, path)
    return path
