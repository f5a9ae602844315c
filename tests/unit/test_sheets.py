"""Exported workbooks hold text as text (sheets.save): no cell is ever a formula."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from medaid.core import sheets


@pytest.mark.parametrize("text", ["=1+1", '=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0"])
def test_formula_like_text_is_saved_as_text(tmp_path: Path, text: str) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["姓名", text, 12.5])
    wb.create_sheet("二").cell(3, 2, value=text)
    path = tmp_path / "x.xlsx"
    sheets.save(wb, path)
    back = load_workbook(path)
    for cell in (back.worksheets[0].cell(1, 2), back.worksheets[1].cell(3, 2)):
        assert (cell.value, cell.data_type) == (text, "s")
    assert back.worksheets[0].cell(1, 3).value == 12.5
