"""Writing workbooks safely: every text cell is text, never a formula.

openpyxl stores a string that begins with "=" as a formula. Exported cells hold names,
addresses and reasons typed by people (a person named `=HYPERLINK(…)`), so a workbook is
saved through `save`, which turns every formula cell back into the text it was given
(spreadsheet formula injection). medaid's exports never write a formula of their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from openpyxl import Workbook


def as_text(wb: Workbook) -> Workbook:
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    return wb


def save(wb: Workbook, target: str | Path | BinaryIO) -> None:
    as_text(wb).save(target)
