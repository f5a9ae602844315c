"""The fund ledger's double-entry journal: post an entry, read balances, check the books.

An entry is posted as signed amounts per account (positive: debit, negative: credit) that
must sum to zero, so that every entry's debits equal its credits to the fen; a line's
sign decides its side, so a negative batch (a month of more cancellations than
settlements) posts the same entry with its sides swapped. Accounts are listed in
`store.fund_models.ACCOUNTS`; docs/FUNDS.md says what each holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select

from medaid.core import clock
from medaid.store.fund_models import JournalEntry, JournalLine

# Accounts whose balance is normally a debit (assets, expense); the others are credits.
DEBIT_NORMAL = ("bank", "budget_receivable", "deficit_receivable", "assistance_expense")


@dataclass(frozen=True, slots=True)
class Fund:
    """A jurisdiction's district fund (分账核算)."""

    jurisdiction: str
    district: str

    def __str__(self) -> str:
        return f"{self.jurisdiction}/{self.district}"


Leg = tuple[str, int, int | None]  # (account, signed fen: + debit / − credit, institution)


def post(session: Any, fund: Fund, year: int, kind: str, ref: str, memo: str, on: date,
         legs: Iterable[Leg]) -> JournalEntry:
    """Add a balanced entry to the session (flushed and committed by the caller)."""
    lines = [JournalLine(account=account, institution_id=inst, debit=max(amount, 0),
                         credit=max(-amount, 0))
             for account, amount, inst in legs if amount]
    if sum(ln.debit for ln in lines) != sum(ln.credit for ln in lines):
        raise AssertionError(f"unbalanced entry {kind} {ref}: {legs}")
    entry = JournalEntry(posted_on=on, jurisdiction=fund.jurisdiction, district=fund.district,
                         year=year, kind=kind, ref=ref, memo=memo,
                         created_at=clock.now(), lines=lines)
    session.add(entry)
    return entry


def balance(session: Any, fund: Fund, account: str, *, year: int | None = None,
            before_year: int | None = None, institution_id: int | None = None) -> int:
    """Debits − credits of one account of a fund (of a year, or of the years before one)."""
    q = (select(func.coalesce(func.sum(JournalLine.debit - JournalLine.credit), 0))
         .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
         .where(JournalEntry.jurisdiction == fund.jurisdiction,
                JournalEntry.district == fund.district, JournalLine.account == account))
    if year is not None:
        q = q.where(JournalEntry.year == year)
    if before_year is not None:
        q = q.where(JournalEntry.year < before_year)
    if institution_id is not None:
        q = q.where(JournalLine.institution_id == institution_id)
    return int(session.scalar(q))


@dataclass(frozen=True, slots=True)
class Books:
    """The balance check: every entry balanced, and the trial balance."""

    entries: int
    unbalanced: list[int]  # ids of entries whose debits differ from their credits
    debits: int
    credits: int
    accounts: dict[tuple[str, str, str], tuple[int, int]]  # (j, district, account) → (Dr, Cr)

    @property
    def ok(self) -> bool:
        return not self.unbalanced and self.debits == self.credits


def check(session: Any, jurisdiction: str | None = None, district: str | None = None) -> Books:
    """Recompute the books from the journal lines."""
    where = []
    if jurisdiction is not None:
        where.append(JournalEntry.jurisdiction == jurisdiction)
    if district is not None:
        where.append(JournalEntry.district == district)
    per_entry = session.execute(
        select(JournalEntry.id, func.coalesce(func.sum(JournalLine.debit), 0),
               func.coalesce(func.sum(JournalLine.credit), 0))
        .outerjoin(JournalLine, JournalLine.entry_id == JournalEntry.id).where(*where)
        .group_by(JournalEntry.id).order_by(JournalEntry.id)).all()
    per_account = session.execute(
        select(JournalEntry.jurisdiction, JournalEntry.district, JournalLine.account,
               func.sum(JournalLine.debit), func.sum(JournalLine.credit))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id).where(*where)
        .group_by(JournalEntry.jurisdiction, JournalEntry.district, JournalLine.account)
        .order_by(JournalEntry.jurisdiction, JournalEntry.district, JournalLine.account)).all()
    return Books(
        entries=len(per_entry),
        unbalanced=[i for i, dr, cr in per_entry if int(dr) != int(cr) or int(dr) == 0],
        debits=sum(int(r[1]) for r in per_entry), credits=sum(int(r[2]) for r in per_entry),
        accounts={(j, d, a): (int(dr), int(cr)) for j, d, a, dr, cr in per_account})


def normal_balance(account: str, debit: int, credit: int) -> int:
    """An account's balance on its normal side (a liability's credit balance as positive)."""
    return debit - credit if account in DEBIT_NORMAL else credit - debit

