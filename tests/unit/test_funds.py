"""The fund ledger's arithmetic (NJ-F) and the indicators' working days, by hand and by
property: reserve + payment = assistance to the fen, four installments make the budget."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medaid.casework.funds import deficit_status, installments, reserve_of
from medaid.policy import model
from medaid.policy.funds import Allocation, Funds

NANJING = next(p for p in model.shipped() if p.jurisdiction == "nanjing").spec.funds
assert NANJING is not None


def test_the_reserve_rounds_half_up_to_the_fen() -> None:
    # 5% of 1123.52 = 56.176 → 56.18; of 1123.50 = 56.175 → 56.18 (half-up); of 0.07 → 0.00
    assert reserve_of(112352, 500) == 5618
    assert reserve_of(112350, 500) == 5618
    assert reserve_of(7, 500) == 0
    assert reserve_of(-112352, 500) == -5618  # a month of cancellations: mirrored


@given(st.integers(-10**12, 10**12), st.integers(0, 10_000))
def test_payment_and_reserve_make_the_assistance(assistance: int, bp: int) -> None:
    reserve = reserve_of(assistance, bp)
    payment = assistance - reserve
    assert payment + reserve == assistance
    assert abs(2 * (reserve * 10_000 - assistance * bp)) <= 10_000  # within half a fen


def test_nanjing_schedule_by_hand() -> None:
    # 100,000,003 fen: 25,000,000 (rounded down) in Q1–Q3, the rest 25,000,003 in Q4
    got = installments(100_000_003, 2023, NANJING, received=30_000_000, on=date(2023, 4, 10))
    assert [(i.due, i.amount, i.received, i.status) for i in got] == [
        (date(2023, 1, 10), 25_000_000, 25_000_000, "received"),
        (date(2023, 4, 10), 25_000_000, 5_000_000, "due"),  # due day itself: not yet late
        (date(2023, 7, 10), 25_000_000, 0, "due"),
        (date(2023, 10, 10), 25_000_003, 0, "due")]
    assert installments(100, 2023, Funds.model_validate(
        NANJING.model_dump() | {"allocation": None}), 0, date(2023, 1, 1)) == []


@given(st.integers(1, 10**13), st.integers(0, 10**13))
def test_the_four_installments_make_the_budget(budget: int, received: int) -> None:
    got = installments(budget, 2024, NANJING, min(received, budget), date(2024, 5, 1))
    assert sum(i.amount for i in got) == budget
    assert sum(i.received for i in got) == min(received, budget)
    assert all(i.amount * 4 <= budget for i in got[:3])


def test_shares_must_make_the_whole_budget() -> None:
    with pytest.raises(ValueError, match="whole budget"):
        Allocation(share=Decimal("0.2"), per="quarter", due_day=10)


def test_every_shipped_policy_has_a_funds_section_and_cited_indicators() -> None:
    for p in model.shipped():
        assert p.spec.funds is not None and p.spec.funds.rule.endswith("-F")
        for ind in p.spec.indicators:
            assert ind.rule and ind.article
    assert NANJING.payment.reserve_share == Decimal("0.05")
    assert NANJING.clearing.due is not None and NANJING.clearing.due.of(2024) == date(2024, 3, 31)
    assert NANJING.clearing.deficit_due is not None
    assert NANJING.clearing.deficit_due.of(2024) == date(2024, 6, 30)


def test_a_clearings_deficit_is_due_until_its_day_then_overdue_until_received() -> None:
    due = date(2024, 6, 30)
    assert deficit_status(0, due, 0, date(2024, 7, 1)) == "none"
    assert deficit_status(10_000, due, 9_999, due) == "due"
    assert deficit_status(10_000, due, 9_999, date(2024, 7, 1)) == "overdue"
    assert deficit_status(10_000, due, 10_000, date(2024, 7, 1)) == "received"
    assert deficit_status(10_000, None, 0, date(2030, 1, 1)) == "due"
