"""Horizontal bar charts drawn as inline SVG by the templates (`_macros.html` `bar_chart`):
one row per subject, one or more bars per row, an optional threshold line. Pure layout
from numbers the use cases computed; no JS, nothing fetched (the pages' CSP allows no
other source). Widths are percentages of the row, so a chart fits any page width.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

HEADROOM = Decimal("1.1")  # the largest value or line ends short of the right edge


@dataclass(frozen=True, slots=True)
class Bar:
    series: str  # css class of the series (its colour)
    value: Decimal
    text: str  # the value as shown
    width: Decimal  # percent of the row


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    bars: list[Bar]
    mark: str = ""  # css class of the row: "ok", "bad", or ""


@dataclass(frozen=True, slots=True)
class Chart:
    rows: list[Row]
    legend: list[tuple[str, str]]  # (series, label)
    line: Decimal | None  # the threshold, percent of the row
    line_label: str


def chart(rows: Sequence[tuple[str, Sequence[tuple[str, Decimal, str]], str]],
          legend: Sequence[tuple[str, str]], line: Decimal | None = None,
          line_label: str = "") -> Chart:
    """rows: (label, [(series, value, shown text)], mark); all bars share one scale, from 0
    to a little beyond the largest value or the line."""
    top = max([v for _, bars, _ in rows for _, v, _ in bars] + [line or Decimal(0)])
    scale = top * HEADROOM if top > 0 else Decimal(1)

    def pct(v: Decimal) -> Decimal:
        return (100 * max(v, Decimal(0)) / scale).quantize(Decimal("0.01"))

    return Chart([Row(label, [Bar(s, v, text, pct(v)) for s, v, text in bars], mark)
                  for label, bars, mark in rows], list(legend),
                 None if line is None else pct(line), line_label)
