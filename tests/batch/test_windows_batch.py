"""The windows `start: next_month`, a look-back `until: from` and a 渐退期 (`grace`): the
batch kernel and DuckDB's query settle each visit as the engine does."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from test_batch_stages import _duckdb, _settle, differences

from medaid.engine.types import Identity, Person, Visit
from medaid.policy.model import parse_policy
from small_city import HEAD, TWO_RATES

LINE = """\
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*", segments: [{ratio: 0.5}]}
"""
DAYS = [date(2023, 8, 9), date(2023, 8, 10), date(2024, 2, 1), date(2024, 2, 10),
        date(2024, 3, 1), date(2024, 3, 14), date(2024, 3, 15), date(2024, 3, 31),
        date(2024, 4, 1), date(2024, 9, 15), date(2024, 9, 16), date(2024, 9, 30),
        date(2024, 10, 1)]


def _people() -> list[tuple[Person, list[Visit]]]:
    """Persons recognised on 2024-03-15 and 2024-03-01 (one applied 2024-02-10), each
    and persons of each category who exited 2024-03-15 or 2024-03-31, each with an
    outpatient visit on every day of DAYS that is in 2024, and a stay across March's end."""
    out = []
    for k, (cat, start, end, app) in enumerate((
            ("tekun", date(2024, 3, 15), None, date(2024, 2, 10)),
            ("tekun", date(2024, 3, 1), None, None),
            ("tekun", date(2024, 1, 1), date(2024, 3, 15), None),
            ("tekun", date(2024, 1, 1), date(2024, 3, 31), None),
            ("other", date(2024, 1, 1), date(2024, 3, 15), None))):
        person = Person(f"P{k}", (Identity(cat, start, end, application=app),))
        visits = [Visit(f"V{k}{i}", "general_outpatient", d, d, 100_000, hifp_pay=0,
                        hifmi_pay=0) for i, d in enumerate(DAYS) if d.year == 2024]
        visits.append(Visit(f"S{k}", "inpatient", date(2024, 3, 20), date(2024, 4, 2),
                            100_000, hifp_pay=0, hifmi_pay=0))
        out.append((person, visits))
    return out


EXACT = "end: exact, stay_rule: true"


@pytest.mark.parametrize("windows", [
    "start: next_month, " + EXACT,
    "start: next_month, end: exact, stay_rule: false",
    "start: exact, " + EXACT + ", lookback: [{rule: W, article: 第四条, categories: [tekun], "
    "months: 6, before: application, until: from}]",
    "start: exact, " + EXACT + ", lookback: [{rule: W, article: 第四条, categories: [tekun], "
    "months: 6, before: application, until: from, ratio: 0.3}]",
    "start: exact, " + EXACT + ", GRACE",
    "start: month_start, end: day_before, stay_rule: false, GRACE",
    "start: exact, end: month_end, stay_rule: true, GRACE",
    "start: next_month, end: exact, stay_rule: admission",
    "start: exact, end: day_before, stay_rule: admission, GRACE",
])
def test_windows_batch_and_duckdb_equal_the_engine(windows: str, tmp_path: Path) -> None:
    """Every visit's amounts: the kernel's and DuckDB's equal the engine's, which pays
    1,000 × 50% = 500 (or × 30% = 300 in a look-back with its ratio) or nothing."""
    head = HEAD.replace("start: exact, end: exact, stay_rule: true", windows.replace(
        "GRACE", "grace: [{rule: W2, article: 第六条, categories: [tekun], months: 6}]"))
    policy = parse_policy(head + LINE, "city.yaml")
    pop = _people()
    res = _settle(policy, pop)
    assert not differences(policy, pop, res)
    assert set(res.assistance.tolist()) <= {0, 30_000, 50_000} and res.assistance.any()
    assert _duckdb(policy, pop, res, tmp_path) == sum(len(vs) for _, vs in pop)


def test_windows_grace_competes_with_a_later_identity_in_the_kernel() -> None:
    """tekun (A1, 50%) in its 渐退期 after 2024-03-15 and `other` (A2, 70%) from 2024-05-01:
    the kernel pays as the engine does, 500 before May and 700 (就高) after."""
    head = HEAD.replace("stay_rule: true}", "stay_rule: true, grace: [{rule: W2, "
                        "article: 第六条, categories: [tekun], months: 6}]}")
    policy = parse_policy(head + TWO_RATES, "city.yaml")
    person = Person("P", (Identity("tekun", date(2024, 1, 1), date(2024, 3, 15)),
                          Identity("other", date(2024, 5, 1))))
    visits = [Visit(f"V{i}", "general_outpatient", d, d, 100_000, hifp_pay=0, hifmi_pay=0)
              for i, d in enumerate((date(2024, 4, 20), date(2024, 5, 10)))]
    res = _settle(policy, [(person, visits)])
    assert not differences(policy, [(person, visits)], res)
    assert res.assistance.tolist() == [50_000, 70_000]
