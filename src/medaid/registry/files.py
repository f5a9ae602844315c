"""Reading a roster file into numbered rows of cells: CSV (UTF-8, GBK/GB18030) or XLSX.

Row numbers are the ones the office sees: the spreadsheet's own row numbers for XLSX,
the record number for CSV (a quoted field may span lines; a spreadsheet shows it as one
row). Encodings are told apart without guessing heuristics: a BOM means UTF-8; text
that decodes as UTF-8 is UTF-8; otherwise GB18030, a superset of GBK and GB2312.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from openpyxl import load_workbook

from medaid.core.errors import InputError

Row = tuple[int, list[object]]

# Limits no real roster reaches (docs/ROSTERS.md): a city's whole list of one month is a few
# tens of thousands of people. They keep a small upload from becoming a large amount of
# work: a 570 KB workbook can declare 200,000 rows.
MAX_ROWS = 100_000  # rows of a file, header and blank rows included
MAX_SHEET_BYTES = 64 * 1024 * 1024  # the worksheets' XML, uncompressed

_BOM = b"\xef\xbb\xbf"
_OLE = b"\xd0\xcf\x11\xe0"  # legacy .xls (and other OLE compound files)


def decode(data: bytes, where: str) -> str:
    if data.startswith(_BOM):
        try:
            return data[len(_BOM):].decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(where, "文件以UTF-8标记开头，但内容不是UTF-8 / "
                                    "starts with a UTF-8 byte-order mark but is not UTF-8"
                             ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise InputError(where, "无法识别文件编码（应为UTF-8或GBK） / "
                                "not UTF-8 or GBK/GB18030 text") from None


def csv_rows(data: bytes, where: str) -> Iterator[Row]:
    content = decode(data, where)
    first = next((line for line in content.splitlines() if line.strip()), "")
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    try:
        for number, record in enumerate(reader, start=1):
            if number > MAX_ROWS:
                raise too_many_rows(where)
            yield number, list(record)
    except csv.Error as e:
        raise InputError(where, f"CSV格式错误 / malformed CSV: {e}") from None


def _unreadable(where: str, e: Exception) -> InputError:
    return InputError(where, f"无法读取Excel文件 / cannot read the workbook: {e}")


def too_many_rows(where: str) -> InputError:
    return InputError(where, f"文件超过{MAX_ROWS:,}行，请按区县或类别拆分后分批导入 / "
                             f"more than {MAX_ROWS:,} rows: split the file")


def _sheet_bytes(path: Path, where: str) -> int:
    try:
        with zipfile.ZipFile(path) as z:
            return sum(i.file_size for i in z.infolist() if i.filename.startswith("xl/worksheets/"))
    except (zipfile.BadZipFile, OSError) as e:
        raise _unreadable(where, e) from None


def xlsx_rows(path: Path, where: str) -> Iterator[Row]:
    """Every row of the first sheet, streamed. The sheet's `<dimension>` tag is not trusted:
    a file that declares A1:E2 but holds more rows is read in full."""
    if _sheet_bytes(path, where) > MAX_SHEET_BYTES:
        raise InputError(where, f"工作表超过{MAX_SHEET_BYTES // 2**20} MB，请拆分后导入 / "
                                "the worksheet is too large: split the file")
    # A damaged workbook makes openpyxl raise whatever its zip and XML readers meet
    # (BadZipFile, ParseError, KeyError, ValueError, TypeError, …), while opening it or
    # while reading a row: every one of them means the file is not a readable workbook.
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:
        raise _unreadable(where, e) from None
    try:
        try:
            ws = wb.worksheets[0]
            ws.reset_dimensions()  # read to the last row present, whatever the tag says
            rows = enumerate(ws.iter_rows(min_row=1, values_only=True), start=1)
        except Exception as e:
            raise _unreadable(where, e) from None
        while True:
            try:
                number, values = next(rows)
            except StopIteration:
                return
            except Exception as e:
                raise _unreadable(where, e) from None
            if number > MAX_ROWS:
                raise too_many_rows(where)
            yield number, list(values)
    finally:
        wb.close()


def read_rows(path: Path) -> Iterator[Row]:
    """Every row of the file (the first sheet of a workbook), numbered from 1."""
    where = path.name
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as e:
        raise InputError(where, f"无法读取文件 / cannot read: {e.strerror}") from None
    if head.startswith(_OLE):
        raise InputError(where, "不支持旧版.xls文件，请另存为.xlsx或CSV / "
                                "legacy .xls is not supported: save as .xlsx or CSV")
    if head.startswith(b"PK"):
        return xlsx_rows(path, where)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise InputError(where, "不是有效的Excel文件 / not an .xlsx workbook")
    return csv_rows(path.read_bytes(), where)
