"""Cell values as offices type them → text, dates, disability grades.

A cell comes from CSV (always text) or from openpyxl (text, int, float, datetime). Floats
appear only for numeric cells Excel stored; no money passes through here.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from medaid.policy.fields import FIRST_DAY, LAST_DAY
from medaid.registry.types import Problem

# 2023-01-05, 2023/1/5, 2023.1.5, 2023年1月5日, optionally with a midnight time that a
# spreadsheet adds when it saves a date cell as text.
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_GRADE = re.compile(r"([1-4一二三四])级?")
_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4}


def text(value: object) -> str:
    """A cell as trimmed text; an Excel number keeps its digits (or shows it lost them)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Beyond 15 significant digits Excel has already rounded: show it in E notation
        # so an ID number typed as a number is reported as such.
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15G}"
    return unicodedata.normalize("NFKC", str(value)).strip()


def parse_date(value: object) -> date | None:
    """A date cell or text; None when blank; Problem when not a date."""
    if isinstance(value, datetime):
        return _plausible(value.date())
    if isinstance(value, date):
        return _plausible(value)
    raw = text(value)
    if not raw:
        return None
    m = _DATE.fullmatch(raw) or _COMPACT.fullmatch(raw)
    if m is None:
        raise Problem(f"日期格式无法识别：{raw}",
                      f"not a date: {raw!r} (use 2023-01-05, 2023/1/5 or 20230105)")
    try:
        d = date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise Problem(f"日期不存在：{raw}", f"no such date: {raw!r}") from None
    return _plausible(d)


def _plausible(d: date) -> date:
    """A date within the bounds every date medaid reads meets (medaid.policy.fields)."""
    if d < FIRST_DAY:
        raise Problem(f"日期{d.isoformat()}过早", f"date {d.isoformat()} is before {FIRST_DAY}")
    if d > LAST_DAY:
        raise Problem(f"日期{d.isoformat()}过晚", f"date {d.isoformat()} is after {LAST_DAY}")
    return d


def parse_grade(value: object) -> int | None:
    """Disability grade 1–4 from '1', '一级', '二级', '肢体二级'; None when blank."""
    raw = text(value)
    if not raw:
        return None
    found = _GRADE.findall(raw)
    if len(found) != 1:
        raise Problem(f"残疾等级无法识别：{raw}",
                      f"disability grade {raw!r} is not one of 1–4 (一级…四级)")
    g: str = found[0]
    return _NUMERALS.get(g) or int(g)
