"""The one clock: the instant now, and today's date in Beijing time.

A ledger entry, a deadline and a roster's effective date all count on the day in China
Standard Time, whatever the server's own zone. Tests fix the clock with `frozen`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from medaid.core.dates import BEIJING

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    return _source()


def today() -> date:
    """Today's date in Beijing."""
    return now().astimezone(BEIJING).date()


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Fix the clock at `at` (naive: read as Beijing time) for the duration of a block."""
    global _source
    moment = at if at.tzinfo is not None else at.replace(tzinfo=BEIJING)
    saved, _source = _source, lambda: moment
    try:
        yield
    finally:
        _source = saved
