"""Rows of a write-only openpyxl sheet made as the XML openpyxl itself writes for them,
without a cell object per value.

openpyxl spends about 6 µs of CPU on a cell in write-only mode (a `Cell` bound, its type
inferred, lxml called per element): the province-year's 19,896 findings of 22 columns
are 2.7 s, serial after every piece is audited. Here the rows after a sheet's header are
made as text in the bytes openpyxl's lxml writer makes (ASCII, other characters as
numeric references; a test compares the sheets byte for byte) and put into the sheet's
XML once openpyxl has closed it, before `</sheetData>`.

Text, integers and the amounts of the money columns are made here; any other value is
written by openpyxl's own cell writer, one cell at a time. A sheet of an openpyxl without
the write-only internals used here (`close`, `_writer.out`) takes its rows the ordinary
way.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Collection, Iterable, Sequence
from decimal import Decimal
from itertools import islice
from typing import Any

from lxml import etree  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell._writer import write_cell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

BLOCK = 1000  # rows made at a time
BOLD = Font(bold=True)
_COLUMNS = [get_column_letter(c) for c in range(1, 16385)]
_END = b"</sheetData>"


def cells(ws: Any, r: int, values: Sequence[object], money: Collection[int], bold: bool,
          number_format: str) -> list[object]:
    """Row `r` for openpyxl's append: a plain value as it is, a cell object (a third of a
    detail sheet's time) only where it must be: text openpyxl would read as a formula, an
    amount in `number_format`, a bold cell (the first column, or the whole first row)."""
    out: list[object] = []
    for c, v in enumerate(values):
        if not bold and c not in money and not (isinstance(v, str) and v.startswith("=")):
            out.append(v)
            continue
        cell = WriteOnlyCell(ws, value=v)  # type: ignore[arg-type]  # Decimal: a number
        if isinstance(v, str):
            cell.data_type = "s"  # text, never a formula
        elif c in money:
            cell.number_format = number_format
        if bold and (c == 0 or r == 1):
            cell.font = BOLD
        out.append(cell)
    return out


def append_rows(ws: Any, rows: Iterable[Sequence[object]], first: int,
                money: Collection[int], number_format: str) -> None:
    """Rows `first`, `first`+1, … (as `cells` gives them to openpyxl) after the rows `ws`
    has, and `ws` closed: made here into a temporary file, then put into the sheet's XML
    as openpyxl closes it."""
    if not (isinstance(ws, WriteOnlyWorksheet) and hasattr(ws, "_writer")
            and hasattr(ws, "close")) or ws.closed:
        for k, row in enumerate(rows):
            ws.append(cells(ws, first + k, row, money, False, number_format))
        return
    style: list[str] = []  # the amounts' style id, registered where the first one is
    with tempfile.TemporaryFile() as made:
        it = iter(rows)
        r = first
        try:
            while block := list(islice(it, BLOCK)):
                xml = "".join(_row(ws, r + k, row, money, style, number_format)
                              for k, row in enumerate(block))
                made.write(xml.encode("ascii", "xmlcharrefreplace"))
                r += len(block)
        finally:
            ws.close()  # its XML ends as openpyxl ends it, whatever a value raised
        path = ws._writer.out
        with open(path, "rb") as f:
            sheet = f.read()
        at = sheet.index(_END)  # cell text cannot hold it: its < is escaped
        made.seek(0)
        with open(path, "wb") as f:
            f.write(sheet[:at])
            shutil.copyfileobj(made, f)
            f.write(sheet[at:])


def _money_style(ws: Any, number_format: str, style: list[str]) -> str:
    """The style id openpyxl gives an amount in `number_format`, registered (in the
    workbook's styles) where openpyxl would: at the first amount written."""
    if not style:
        cell = WriteOnlyCell(ws, value=0)
        cell.number_format = number_format
        style.append(str(cell.style_id))
    return style[0]


def _row(ws: Any, r: int, values: Sequence[object], money: Collection[int],
         style: list[str], number_format: str) -> str:
    """Row `r` as openpyxl writes `cells(ws, r, values, money, False, …)`: text that reads
    as an error code (#N/A) is an error cell, as openpyxl infers it; text starting with
    = is text."""
    out = [f'<row r="{r}">']
    for c, v in enumerate(values):
        ref = f"{_COLUMNS[c]}{r}"
        if c in money:
            if isinstance(v, Decimal | int) and type(v) is not bool:
                out.append(f'<c r="{ref}" s="{_money_style(ws, number_format, style)}" '
                           f't="n"><v>{float(v):.16g}</v></c>')
            elif isinstance(v, str):
                out.append(_text_cell(ref, v, errors=False))
            else:  # an empty amount keeps its format, as openpyxl writes it
                out.append(_openpyxl_cell(ws, r, c, v, number_format))
        elif v is None:
            continue
        elif type(v) is int:
            out.append(f'<c r="{ref}" t="n"><v>{float(v):.16g}</v></c>')
        elif type(v) is str:
            out.append(_text_cell(ref, v, errors=True))
        else:
            out.append(_openpyxl_cell(ws, r, c, v, None))
    out.append("</row>")
    return "".join(out)


def _text_cell(ref: str, v: str, errors: bool) -> str:
    """A text cell; `errors`: one that reads as an error code is an error cell (openpyxl
    infers so for a plain value, not for a cell made text)."""
    v = v[:32767]  # as openpyxl truncates, and refuses control characters
    if ILLEGAL_CHARACTERS_RE.search(v):
        raise IllegalCharacterError(f"{v} cannot be used in worksheets.")
    if v == "":
        return f'<c r="{ref}" t="inlineStr"></c>'
    if errors and v in ERROR_CODES:
        return f'<c r="{ref}" t="e"><v>{_escaped(v)}</v></c>'
    space = ' xml:space="preserve"' if v != v.strip() else ""
    return f'<c r="{ref}" t="inlineStr"><is><t{space}>{_escaped(v)}</t></is></c>'


def _escaped(v: str) -> str:
    """Text as libxml2 writes it (four replaces: 5× a translation table here)."""
    return v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        "\r", "&#13;")


def _openpyxl_cell(ws: Any, r: int, c: int, v: object, number_format: str | None) -> str:
    """One cell by openpyxl's own writer (a value of a type not made here)."""
    cell = WriteOnlyCell(ws, value=v)  # type: ignore[arg-type]
    if number_format is not None:
        cell.number_format = number_format
    cell.column, cell.row = c + 1, r
    buf = io.BytesIO()
    with etree.xmlfile(buf) as xf:
        write_cell(xf, ws, cell, cell.has_style)
    return buf.getvalue().decode("ascii")
