"""The windows `start: next_month` and a look-back `until: from`: the batch kernel and
DuckDB's query settle each visit as the engine does."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from test_batch_stages import _duckdb, _settle, differences

from medaid.engine.types import Identity, Person, Visit
from medaid.policy.model import parse_policy
from small_city import HEAD

LINE = """\
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*", segments: [{ratio: 0.5}]}
"""
DAYS = [date(2023, 8, 9), date(2023, 8, 10), date(2024, 2, 1), date(2024, 2, 10),
        date(2024, 3, 1), date(2024, 3, 14), date(2024, 3, 15), date(2024, 3, 31),
        date(2024, 4, 1)]


def _people() -> list[tuple[Person, list[Visit]]]:
    """Persons recognised on 2024-03-15 and 2024-03-01 (one applied 2024-02-10), each
    with an outpatient visit on every day of DAYS that is in 2024, and a stay across the
    month's end."""
    out = []
    for k, (start, app) in enumerate(((date(2024, 3, 15), date(2024, 2, 10)),
                                      (date(2024, 3, 1), None))):
        person = Person(f"P{k}", (Identity("tekun", start, application=app),))
        visits = [Visit(f"V{k}{i}", "general_outpatient", d, d, 100_000, hifp_pay=0,
                        hifmi_pay=0) for i, d in enumerate(DAYS) if d.year == 2024]
        visits.append(Visit(f"S{k}", "inpatient", date(2024, 3, 20), date(2024, 4, 2),
                            100_000, hifp_pay=0, hifmi_pay=0))
        out.append((person, visits))
    return out


@pytest.mark.parametrize("windows", [
    "start: next_month",
    "start: next_month, stay_rule: false",
    "lookback: [{rule: W, article: 第四条, categories: [tekun], months: 6, "
    "before: application, until: from}]",
    "lookback: [{rule: W, article: 第四条, categories: [tekun], months: 6, "
    "before: application, until: from, ratio: 0.3}]",
])
def test_windows_batch_and_duckdb_equal_the_engine(windows: str, tmp_path: Path) -> None:
    """Every visit's amounts: the kernel's and DuckDB's equal the engine's, which pays
    1,000 × 50% = 500 (or × 30% = 300 in a look-back with its ratio) or nothing."""
    head = HEAD
    for part in windows.split(", stay_rule: "):
        if part.startswith("start:"):
            head = head.replace("start: exact", part)
        elif part.startswith("lookback"):
            head = head.replace("stay_rule: true}", f"stay_rule: true, {part}}}")
        else:
            head = head.replace("stay_rule: true", f"stay_rule: {part}")
    policy = parse_policy(head + LINE, "city.yaml")
    pop = _people()
    res = _settle(policy, pop)
    assert not differences(policy, pop, res)
    assert set(res.assistance.tolist()) <= {0, 30_000, 50_000} and res.assistance.any()
    assert _duckdb(policy, pop, res, tmp_path) == sum(len(vs) for _, vs in pop)
