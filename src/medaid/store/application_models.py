"""Applications for assistance (依申请救助 / 事后救助): the application, its visits and the
payment its approval owes the person (docs/APPLICATIONS.md).

An approved application's visits are settled into the settlement ledger like any other
visit; each visit row points at its ledger entry. Money is BigInteger fen.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from medaid.store.models import Base, Settlement, UtcDateTime

STATES = ("draft", "submitted", "under_review", "approved", "rejected", "withdrawn")
KINDS = ("post_hoc", "lookback", "tilted")


class Application(Base):
    """One application of a person, entered by a caseworker of the person's district."""

    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint(f"state IN {STATES}", name="state"),
        CheckConstraint(f"kind IN {KINDS}", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_no: Mapped[str] = mapped_column(String(24), unique=True)  # 申请编号
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    psn_no: Mapped[str] = mapped_column(String(40))
    jurisdiction: Mapped[str] = mapped_column(String(40))
    district: Mapped[str] = mapped_column(String(12), index=True)  # the person's
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    # each required document: {"item": id, "received": bool}
    checklist: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(120))  # audit subjects
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    applied_on: Mapped[date] = mapped_column(Date)  # 申请日期, the date the person applied
    submitted_by: Mapped[str | None] = mapped_column(String(120))
    submitted_on: Mapped[date | None] = mapped_column(Date)  # entered for review
    review_due: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(Text)  # a rejection's or withdrawal's

    visits: Mapped[list[ApplicationVisit]] = relationship(
        back_populates="application", order_by="ApplicationVisit.seq",
        cascade="all, delete-orphan")
    payment: Mapped[ApplicationPayment | None] = relationship(back_populates="application")


class ApplicationVisit(Base):
    """A visit the application asks assistance for, in the settlement API's fields."""

    __tablename__ = "application_visits"
    __table_args__ = (UniqueConstraint("application_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, … in the order entered
    mdtrt_id: Mapped[str] = mapped_column(String(64))  # visit or invoice number
    med_type: Mapped[str | None] = mapped_column(String(8))
    visit_kind: Mapped[str] = mapped_column(String(32))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    medfee_sumamt: Mapped[int] = mapped_column(BigInteger)
    fulamt_ownpay_amt: Mapped[int] = mapped_column(BigInteger)
    overlmt_selfpay: Mapped[int] = mapped_column(BigInteger)
    preselfpay_amt: Mapped[int] = mapped_column(BigInteger)
    hifp_pay: Mapped[int | None] = mapped_column(BigInteger)  # None: computed
    hifmi_pay: Mapped[int | None] = mapped_column(BigInteger)
    oth_pay: Mapped[int] = mapped_column(BigInteger)
    location: Mapped[str] = mapped_column(String(20))
    referral: Mapped[str] = mapped_column(String(24))
    hospital_level: Mapped[int | None] = mapped_column(SmallInteger)
    heroic_injury: Mapped[bool] = mapped_column(Boolean)
    rare_disease: Mapped[bool] = mapped_column(Boolean)
    fixmedins_code: Mapped[str | None] = mapped_column(String(40))  # as written, free text
    institution_name: Mapped[str | None] = mapped_column(String(200))
    # set on approval: the ledger entry, or why the visit is not covered
    # its ledger entry's setl_id, set on approval; no foreign key: the ledger is
    # append-only (the entry stays), and nothing else is to hold on to its table
    setl_id: Mapped[str | None] = mapped_column(String(40))
    not_covered: Mapped[str | None] = mapped_column(Text)

    application: Mapped[Application] = relationship(back_populates="visits")
    settlement: Mapped[Settlement | None] = relationship(
        primaryjoin="foreign(ApplicationVisit.setl_id) == Settlement.setl_id", viewonly=True)


class ApplicationPayment(Base):
    """What an approved application owes the person: the assistance its settlements paid
    (maf_pay, fen), for finance to pay out (`paid_at` set then)."""

    __tablename__ = "application_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    application: Mapped[Application] = relationship(back_populates="payment")
