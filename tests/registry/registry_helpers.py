"""Helpers for the registry tests: valid ID numbers, roster files written for real."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from openpyxl import Workbook

from medaid.registry.idcard import check_digit
from medaid.registry.types import RegisteredIdentity

TODAY = date(2024, 3, 15)


def make_id(region: str = "320102", birth: str = "19800101", seq: str = "123") -> str:
    """A valid 18-digit number: the check digit computed, not copied."""
    first17 = region + birth + seq
    return first17 + check_digit(first17)


def with_wrong_check(number: str) -> str:
    digits = "0123456789X"
    wrong = digits[(digits.index(number[17]) + 1) % len(digits)]
    return number[:17] + wrong


# Ten distinct valid people (Nanjing region codes, different birth dates).
IDS = [make_id("320102", f"19{60 + i}0{1 + i % 9}1{i}", f"{100 + i:03d}") for i in range(10)]

HEADER = ["序号", "姓名", "身份证号", "人员类别", "认定日期", "退出日期", "所属区", "认定部门"]


def write_csv(path: Path, rows: list[list[str]], encoding: str, header: list[str] = HEADER,
              preamble: list[list[str]] | None = None) -> Path:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    for line in preamble or []:
        w.writerow(line)
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[object]], header: list[str] = HEADER,
               title: str | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    if title:
        ws.append([title])
        ws.append([])
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def held(certno: str, category: str, start: date, end: date | None = None, *,
         department: str = "民政", name: str = "张三", district: str | None = None,
         grade: int | None = None, application: date | None = None,
         key: int | None = None) -> RegisteredIdentity:
    return RegisteredIdentity(certno, name, category, department, start, end, application,
                              district, grade, key)
