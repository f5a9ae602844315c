"""Calendar arithmetic the identity windows need (RULES.md §3, §4)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta, timezone

BEIJING = timezone(timedelta(hours=8))  # China Standard Time: the day a ledger entry counts on


def add_months(d: date, months: int) -> date:
    """The same calendar day `months` later (or earlier); the month's last day if shorter."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(d.day, last))


def month_start(d: date) -> date:
    return d.replace(day=1)


def month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])
