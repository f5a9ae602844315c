"""The findings workbook's rows made as XML (`audit.xlsx_rows`) are the bytes openpyxl
writes for the same values, row by row through its own cells: text of every awkward kind,
numbers, amounts, empty amounts and values of other types alike."""

from __future__ import annotations

import datetime
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import IllegalCharacterError

from medaid.audit import workbook, xlsx_rows
from medaid.audit.summary import Summary

MONEY = (3, 4)
AWKWARD = ["", " leading", "trailing ", '=HYPERLINK("http://evil.example","点此")', "=",
           "#N/A", "#DIV/0!", "a&b<c>d\"e'f", "x\r\ny", "tab\there", "emoji 😀", "x" * 40_000,
           "\u00a0nbsp", "中文 名称", "line\nbreak", "\x7f\u2028\ufeff"]


def _rows() -> list[list[object]]:
    rows: list[list[object]] = [
        [k, text, f"S{k}", Decimal(k * 137 - 500) / 100, Decimal("0.01"), "原因"]
        for k, text in enumerate(AWKWARD)]
    rows += [
        [None, None, None, None, None, None],  # empty amounts keep their format
        [2.5, True, datetime.datetime(2023, 1, 2, 3, 4, 5), 7, "#REF!", 1e20],
        [-3, datetime.date(2023, 1, 1), "", 1.25, False, 2**60],
    ]
    return rows


def _book(path: Path, made_here: bool, rows: list[list[object]]) -> dict[str, bytes]:
    wb = Workbook(write_only=True)
    workbook._summary_sheet(wb.create_sheet("汇总"), _summary(), "export.csv", "nanjing", 1,
                            None)  # its styles first, as in the audit's workbook
    ws = wb.create_sheet("差异明细")
    workbook._header(ws, [f"列{c}" for c in range(6)], [12] * 6)
    if made_here:
        xlsx_rows.append_rows(ws, rows, 2, MONEY, workbook.YUAN)
    else:
        for r, row in enumerate(rows, start=2):
            ws.append(xlsx_rows.cells(ws, r, row, MONEY, False, workbook.YUAN))
    ws2 = wb.create_sheet("after")
    workbook._header(ws2, ["a"], [8])
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def _summary() -> Summary:
    return Summary(records=3, settlements=3, cancellations=0, duplicates=0, person_years=1,
                persons=1, not_in_roster=0, platform=100, medaid=90, overpaid=10, underpaid=0,
                findings=1, checked=1, fallback=False, rounding="cumulative")


@pytest.mark.parametrize("rows", [_rows(), _rows()[-2:], _rows()[:3] * 700, []],
                         ids=["awkward", "other types first", "blocks", "none"])
def test_rows_made_as_xml_are_the_bytes_openpyxl_writes(tmp_path: Path,
                                                         rows: list[list[object]]) -> None:
    theirs = _book(tmp_path / "openpyxl.xlsx", False, rows)
    ours = _book(tmp_path / "here.xlsx", True, rows)
    assert theirs.keys() == ours.keys()
    for name, content in theirs.items():
        assert ours[name] == content, name
    ws = load_workbook(tmp_path / "here.xlsx", read_only=True)["差异明细"]
    got = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(got) == len(rows)
    if len(rows) == len(AWKWARD) + 3:
        assert got[3][1] == '=HYPERLINK("http://evil.example","点此")'  # text, not a formula
        assert got[1][1] == " leading" and got[0][3] == -5 and got[5][1] == "#N/A"


def test_a_control_character_is_refused_as_openpyxl_refuses_it(tmp_path: Path) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("s")
    workbook._header(ws, ["a"], [8])
    with pytest.raises(IllegalCharacterError):
        xlsx_rows.append_rows(ws, [["bell\x07"]], 2, (), workbook.YUAN)
