"""Fuzzing the roster parser (atheris, coverage-guided): any file either parses — good rows
and bad rows each with its reason — or is refused with InputError; never another exception.

    python reliability/fuzz_roster.py [-atheris_runs=N] [-max_total_time=S] [CORPUS_DIR ...]

An input is one byte choosing how the rest is used, one choosing the jurisdiction (whose
categories the rows are read with), then:

0. the bytes as a CSV file (any encoding: UTF-8, GBK/GB18030, neither);
1. the bytes as an .xlsx file;
2. a good workbook with one of its parts (the sheet, the workbook, the styles, the
   relationships, the content types) replaced by the bytes, zipped correctly, so that the
   XML inside is what is fuzzed rather than the zip's checksums;
3. a workbook written by openpyxl whose cells, below a good header, are drawn from the
   bytes: text, integers, floats, dates and times, booleans, blanks.

Without a corpus folder a temporary one is filled with seeds (a good roster in each
form). A failing input is saved by libFuzzer as crash-…; run the script with that file to
replay it. Every other libFuzzer option applies.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import warnings
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["medaid.registry"]):
    from medaid.registry.roster import parse_roster

import contextlib

from openpyxl import Workbook
from openpyxl.utils.exceptions import IllegalCharacterError

from medaid.core.errors import InputError
from medaid.registry import idcard

TODAY = date(2026, 1, 15)
JURISDICTIONS = ("nanjing", "jiangsu", "yichun", "ningbo", "changzhou")
HEADER: list[object] = ["序号", "姓名", "身份证号", "人员类别", "认定日期", "退出日期", "所属区",
          "认定部门", "残疾等级", "申请日期"]
GOOD = [[1, "张三", idcard.make("320104", date(1960, 5, 1), 11), "低保", "2023-01-05", "",
         "秦淮区", "民政", "", "2022-12-20"],
        [2, "李四", idcard.make("320102", date(1975, 2, 3), 12), "特困", date(2023, 1, 5), None,
         "玄武区", "民政局", "二级", None]]
PARTS = ("xl/worksheets/sheet1.xml", "xl/workbook.xml", "xl/styles.xml",
         "xl/_rels/workbook.xml.rels", "[Content_Types].xml")  # openpyxl writes no shared strings
FOLDER = Path(tempfile.mkdtemp(prefix="medaid-fuzz-"))


def _workbook(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


TEMPLATE = _workbook([HEADER, *GOOD])
with zipfile.ZipFile(io.BytesIO(TEMPLATE)) as _z:
    MEMBERS = {name: _z.read(name) for name in _z.namelist()}


def _replaced(part: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in MEMBERS.items():
            z.writestr(name, content if name == part else data)
    return out.getvalue()


def _drawn_cells(data: bytes) -> bytes | None:
    """A workbook with a good header and rows of cells drawn from `data` (None if openpyxl
    will not write them: characters XML cannot hold are the writer's refusal, not the
    parser's business)."""
    fdp = atheris.FuzzedDataProvider(data)
    rows: list[list[object]] = [HEADER]
    for _ in range(fdp.ConsumeIntInRange(0, 4)):
        row: list[object] = []
        for _ in range(fdp.ConsumeIntInRange(0, len(HEADER) + 2)):
            kind = fdp.ConsumeIntInRange(0, 6)
            if kind == 0:
                row.append(fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 24)))
            elif kind == 1:
                row.append(fdp.ConsumeInt(8))
            elif kind == 2:
                row.append(fdp.ConsumeRegularFloat())
            elif kind == 3:
                row.append(datetime(1899, 12, 31) + timedelta(
                    days=fdp.ConsumeIntInRange(0, 2_900_000),  # to year 9839
                    seconds=fdp.ConsumeIntInRange(0, 86_399)))
            elif kind == 4:
                row.append(fdp.ConsumeBool())
            elif kind == 5:
                row.append(None)
            else:  # a valid ID number, so the rest of the row is checked further
                row.append(GOOD[0][2])
        rows.append(row)
    try:
        return _workbook(rows)
    except (IllegalCharacterError, ValueError, TypeError, OverflowError):
        return None


def one_input(data: bytes) -> None:
    if len(data) < 2:
        return
    mode, jurisdiction, payload = data[0] % 4, JURISDICTIONS[data[1] % 5], data[2:]
    if mode == 0:
        name, content = "roster.csv", payload
    elif mode == 1:
        name, content = "roster.xlsx", payload
    elif mode == 2:
        if not payload:
            return
        name, content = "roster.xlsx", _replaced(PARTS[payload[0] % len(PARTS)], payload[1:])
    else:
        drawn = _drawn_cells(payload)
        if drawn is None:
            return
        name, content = "roster.xlsx", drawn
    path = FOLDER / name
    path.write_bytes(content)
    with contextlib.suppress(InputError):
        parse_roster(path, jurisdiction, TODAY)


def seeds(folder: Path) -> None:
    """A good roster in each form the fuzzer reads."""
    lines = [",".join(map(str, HEADER))] + [",".join("" if c is None else str(c) for c in row)
                                            for row in GOOD]
    text = "\n".join(lines) + "\n"
    forms = {"csv-utf8": b"\x00\x00" + text.encode("utf-8-sig"),
             "csv-gbk": b"\x00\x03" + text.encode("gbk"),
             "tsv": b"\x00\x01" + text.replace(",", "\t").encode(),
             "xlsx": b"\x01\x00" + TEMPLATE,
             "cells": b"\x03\x00" + bytes(range(256))}
    for i, part in enumerate(PARTS):
        forms[f"part-{i}"] = b"\x02\x00" + bytes([i]) + MEMBERS[part]
    for name, data in forms.items():
        (folder / name).write_bytes(data)


def main() -> None:
    argv = list(sys.argv)
    warnings.simplefilter("ignore")  # openpyxl's warnings on odd workbooks: noise here
    made = [FOLDER]
    if not [a for a in argv[1:] if not a.startswith("-")]:  # no corpus and no input to replay
        corpus = Path(tempfile.mkdtemp(prefix="medaid-fuzz-corpus-"))
        made.append(corpus)
        seeds(corpus)
        argv.append(str(corpus))
    # libFuzzer ends the process itself, past Python's clean-up: fuzz in a child, and
    # remove the temporary folders here when it is done.
    child = os.fork()
    if child == 0:
        atheris.Setup(argv, one_input)
        atheris.Fuzz()
    _, status = os.waitpid(child, 0)
    for folder in made:
        shutil.rmtree(folder, ignore_errors=True)
    sys.exit(os.waitstatus_to_exitcode(status))

if __name__ == "__main__":
    main()
