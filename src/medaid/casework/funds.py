"""The assistance fund's arithmetic (NJ-F): the quarterly pre-allocation and the
assessment reserve, to the fen, without a database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from medaid.core.money import BP, to_bp
from medaid.policy.funds import QUARTERS, Funds


@dataclass(frozen=True, slots=True)
class Installment:
    quarter: int
    due: date
    amount: int
    received: int  # of this installment, receipts applied in due order
    status: str  # received | due | overdue


def installments(budget: int, year: int, funds: Funds, received: int, on: date
                 ) -> list[Installment]:
    """The quarterly pre-allocation (NJ-F): each of the first three quarters is the budget
    × share rounded down to the fen, the fourth the rest, so the four sum to the budget
    exactly. Receipts are applied to the installments in due order; one not wholly
    received is overdue after its due day. No allocation rule: no schedule."""
    a = funds.allocation
    if a is None or budget <= 0:
        return []
    each = budget * to_bp(a.share) // BP
    amounts = [each] * (QUARTERS - 1) + [budget - each * (QUARTERS - 1)]
    out, left = [], received
    for q, amount in enumerate(amounts, start=1):
        got = min(amount, left)
        left -= got
        due = date(year, 3 * q - 2, a.due_day)
        status = "received" if got == amount else "overdue" if on > due else "due"
        out.append(Installment(q, due, amount, got, status))
    return out


# -- monthly payment batches -------------------------------------------------------------------
def reserve_of(assistance: int, reserve_bp: int) -> int:
    """The assessment reserve of a month's assistance: share × assistance rounded half-up to
    the fen (half away from zero for a negative month); the payment is the rest, so payment
    + reserve = assistance exactly."""
    magnitude = (2 * abs(assistance) * reserve_bp + BP) // (2 * BP)
    return magnitude if assistance >= 0 else -magnitude


def deficit_status(deficit: int, due: date | None, received: int, on: date) -> str:
    """A clearing's deficit: none, received, due, or overdue after its due day."""
    if not deficit:
        return "none"
    if received >= deficit:
        return "received"
    return "overdue" if due is not None and on > due else "due"
