"""The fund ledger's tables (专户, 分账核算; docs/FUNDS.md): budgets, receipts, payment
batches with their lines per district, clearings with the assessments they applied, and the
double-entry journal every one of them posts to.

Money is BigInteger fen. A fund is a jurisdiction's district (`jurisdiction`, `district`).
The journal is append-only (a trigger refuses UPDATE and DELETE, migration 0005); a
journal line has a debit or a credit, never both, and every entry's debits equal its
credits (`app.funds.balance` checks it).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from medaid.store.models import Base, Institution, UtcDateTime

ACCOUNTS = ("bank", "budget_receivable", "deficit_receivable", "payable_institution",
            "assessment_reserve", "budget_revenue", "reserve_forfeited", "assistance_expense",
            "surplus_carried_forward")
BATCH_STATUSES = ("created", "approved", "paid")
RECEIPT_PURPOSES = ("budget", "deficit")


class FundBudget(Base):
    """A district's annual budget for its assistance fund (预算)."""

    __tablename__ = "fund_budgets"
    __table_args__ = (UniqueConstraint("jurisdiction", "district", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction: Mapped[str] = mapped_column(String(40))
    district: Mapped[str] = mapped_column(String(12))
    year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(Text)  # the budget document
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FundReceipt(Base):
    """Money a district paid into the special account: budget pre-allocation or a
    deficit made up."""

    __tablename__ = "fund_receipts"
    __table_args__ = (CheckConstraint("amount > 0", name="amount"),
                      CheckConstraint(f"purpose IN {RECEIPT_PURPOSES}", name="purpose"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction: Mapped[str] = mapped_column(String(40))
    district: Mapped[str] = mapped_column(String(12))
    year: Mapped[int] = mapped_column(Integer)  # the fund year it is for
    purpose: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    received_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FundBatch(Base):
    """A monthly payment batch to one institution (按月支付): created once per
    institution-month, approved, paid."""

    __tablename__ = "fund_batches"
    __table_args__ = (UniqueConstraint("institution_id", "month"),
                      CheckConstraint(f"status IN {BATCH_STATUSES}", name="status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    month: Mapped[date] = mapped_column(Date)  # the month's first day
    status: Mapped[str] = mapped_column(String(8))
    assistance: Mapped[int] = mapped_column(BigInteger)  # net maf_pay settled in the month
    reserve: Mapped[int] = mapped_column(BigInteger)
    payment: Mapped[int] = mapped_column(BigInteger)  # assistance − reserve
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paid_on: Mapped[date | None] = mapped_column(Date)

    institution: Mapped[Institution] = relationship(lazy="joined")
    lines: Mapped[list[FundBatchLine]] = relationship(
        back_populates="batch", order_by="FundBatchLine.id", lazy="selectin")


class FundBatchLine(Base):
    """A batch's share of one fund (the district of the persons it paid for)."""

    __tablename__ = "fund_batch_lines"
    __table_args__ = (UniqueConstraint("batch_id", "jurisdiction", "district"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("fund_batches.id"))
    jurisdiction: Mapped[str] = mapped_column(String(40))
    district: Mapped[str] = mapped_column(String(12))
    assistance: Mapped[int] = mapped_column(BigInteger)
    reserve: Mapped[int] = mapped_column(BigInteger)
    payment: Mapped[int] = mapped_column(BigInteger)

    batch: Mapped[FundBatch] = relationship(back_populates="lines")


class FundClearing(Base):
    """A fund year's annual clearing (清算): reserve released by assessment, the year's
    surplus carried forward or its deficit due from the district."""

    __tablename__ = "fund_clearings"
    __table_args__ = (UniqueConstraint("jurisdiction", "district", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction: Mapped[str] = mapped_column(String(40))
    district: Mapped[str] = mapped_column(String(12))
    year: Mapped[int] = mapped_column(Integer)
    cleared_on: Mapped[date] = mapped_column(Date)
    due: Mapped[date | None] = mapped_column(Date)  # the policy's clearing deadline
    opening_surplus: Mapped[int] = mapped_column(BigInteger)  # carried from earlier years
    budget: Mapped[int] = mapped_column(BigInteger)
    assistance: Mapped[int] = mapped_column(BigInteger)
    released: Mapped[int] = mapped_column(BigInteger)
    forfeited: Mapped[int] = mapped_column(BigInteger)
    surplus: Mapped[int] = mapped_column(BigInteger)  # carried forward after this year
    deficit: Mapped[int] = mapped_column(BigInteger)  # due from the district
    deficit_due: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    assessments: Mapped[list[FundAssessment]] = relationship(
        back_populates="clearing", order_by="FundAssessment.id", lazy="selectin")


class FundAssessment(Base):
    """An institution's assessment result as a clearing applied it to its reserve."""

    __tablename__ = "fund_assessments"
    __table_args__ = (UniqueConstraint("clearing_id", "institution_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clearing_id: Mapped[int] = mapped_column(ForeignKey("fund_clearings.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    share_bp: Mapped[int] = mapped_column(Integer)  # released share, basis points
    reserve: Mapped[int] = mapped_column(BigInteger)
    released: Mapped[int] = mapped_column(BigInteger)
    forfeited: Mapped[int] = mapped_column(BigInteger)

    clearing: Mapped[FundClearing] = relationship(back_populates="assessments")
    institution: Mapped[Institution] = relationship(lazy="joined")


class JournalEntry(Base):
    """One double-entry journal entry of a fund."""

    __tablename__ = "fund_journal"
    __table_args__ = (Index("ix_fund_journal_fund", "jurisdiction", "district", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    posted_on: Mapped[date] = mapped_column(Date)
    jurisdiction: Mapped[str] = mapped_column(String(40))
    district: Mapped[str] = mapped_column(String(12))
    year: Mapped[int] = mapped_column(Integer)  # the fund year
    kind: Mapped[str] = mapped_column(String(24))  # budget, receipt, batch, payment, clearing
    ref: Mapped[str] = mapped_column(String(80))  # "batch:12", "clearing:3", …
    memo: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    lines: Mapped[list[JournalLine]] = relationship(
        back_populates="entry", order_by="JournalLine.id", lazy="selectin")


class JournalLine(Base):
    __tablename__ = "fund_journal_lines"
    __table_args__ = (
        CheckConstraint("debit >= 0 AND credit >= 0 AND (debit = 0 OR credit = 0)",
                        name="one_side"),
        CheckConstraint(f"account IN {ACCOUNTS}", name="account"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("fund_journal.id"), index=True)
    account: Mapped[str] = mapped_column(String(32))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    debit: Mapped[int] = mapped_column(BigInteger)
    credit: Mapped[int] = mapped_column(BigInteger)

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")

