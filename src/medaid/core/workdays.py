"""Working days in China: Monday to Friday, less the public holidays, plus the weekends
declared working days (调休), as the State Council's yearly notice on holiday arrangements
(国务院办公厅关于部分节假日安排的通知) sets them.

The notices come from the maintained `chinesecalendar` package, which follows each year's
notice (it covers 2004 to the last year published in the installed version; upgrade it
each December). For a year it does not cover yet, the days are Monday to Friday and
`known(year)` says so, so that a deadline can be shown as provisional."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar  # type: ignore[import-untyped]

DAY = timedelta(days=1)


def known(year: int) -> bool:
    """Whether the State Council's notice for `year` is in the installed calendar."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def is_workday(d: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:  # a year whose notice is not published (or installed) yet
        return d.weekday() < 5


def add_workdays(start: date, days: int) -> date:
    """The `days`-th working day after `start`."""
    d = start
    while days > 0:
        d += DAY
        if is_workday(d):
            days -= 1
    return d


def workdays_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when `end` ≤ `start`)."""
    days, d = 0, start + DAY
    while d <= end:
        days += is_workday(d)
        d += DAY
    return days
