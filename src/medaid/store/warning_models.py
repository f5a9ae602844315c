"""Early warnings (双预警) with their history, and the charity register with referrals.

A warning is one person-year-kind (因病致贫 `poverty`, 因病返贫 `relapse`): the warning job
inserts it or updates its burden; people move it new → verified → enrolled | dismissed,
each step a row of `warning_events` naming who and why. A charity programme is a
social organisation's assistance project (社会力量参与) with its criteria; a referral sends
one person-year to one programme (referred → accepted | declined).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from medaid.store.models import Base, Person, UtcDateTime

WARNING_KINDS = ("poverty", "relapse")
WARNING_STATES = ("new", "verified", "enrolled", "dismissed")
REFERRAL_STATES = ("referred", "accepted", "declined")


class EarlyWarning(Base):
    """One person-year-kind's warning; amounts in fen as the last run found them."""

    __tablename__ = "warnings"
    __table_args__ = (
        UniqueConstraint("person_id", "year", "kind"),
        CheckConstraint(f"kind IN {WARNING_KINDS}", name="kind"),
        CheckConstraint(f"status IN {WARNING_STATES}", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    year: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(8))
    jurisdiction: Mapped[str] = mapped_column(String(40))
    category: Mapped[str | None] = mapped_column(String(40))  # relapse: the monitored one
    rule: Mapped[str] = mapped_column(String(16))
    article: Mapped[str] = mapped_column(String(40))
    measure: Mapped[str] = mapped_column(String(16))
    after_insurance: Mapped[int] = mapped_column(BigInteger)  # psn_part_amt + maf_pay
    after_assistance: Mapped[int] = mapped_column(BigInteger)  # psn_part_amt
    burden: Mapped[int] = mapped_column(BigInteger)  # the one `measure` names
    threshold: Mapped[int] = mapped_column(BigInteger)
    level: Mapped[int] = mapped_column(Integer)  # whole thresholds the burden reaches
    status: Mapped[str] = mapped_column(String(12))
    dismissed_level: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    person: Mapped[Person] = relationship(lazy="joined")
    events: Mapped[list[WarningEvent]] = relationship(
        back_populates="warning", order_by="WarningEvent.id", cascade="all, delete-orphan")


class WarningEvent(Base):
    """A step of a warning's life: raised, verified, enrolled, dismissed, reopened."""

    __tablename__ = "warning_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("warnings.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(120))  # the audit log's subject
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)

    warning: Mapped[EarlyWarning] = relationship(back_populates="events")


class CharityProgramme(Base):
    """A charity's medical-assistance project (大病救助项目) and whom it helps."""

    __tablename__ = "charity_programmes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    organisation: Mapped[str] = mapped_column(String(200))
    jurisdictions: Mapped[list[str]] = mapped_column(JSON)  # empty: every jurisdiction
    categories: Mapped[list[str]] = mapped_column(JSON)  # empty: anyone; "none": no identity
    min_burden: Mapped[int] = mapped_column(BigInteger)  # fen, burden after assistance
    min_age: Mapped[int | None] = mapped_column(Integer)
    max_age: Mapped[int | None] = mapped_column(Integer)
    annual_budget: Mapped[int | None] = mapped_column(BigInteger)  # fen, for information
    annual_slots: Mapped[int | None] = mapped_column(Integer)  # open referrals per year
    active_from: Mapped[date] = mapped_column(Date)
    active_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CharityReferral(Base):
    """One person-year sent to one programme, and the programme's answer."""

    __tablename__ = "charity_referrals"
    __table_args__ = (
        UniqueConstraint("programme_id", "person_id", "year"),
        CheckConstraint(f"status IN {REFERRAL_STATES}", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("charity_programmes.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    year: Mapped[int] = mapped_column(Integer)
    warning_id: Mapped[int | None] = mapped_column(ForeignKey("warnings.id"))
    burden: Mapped[int] = mapped_column(BigInteger)  # after assistance, when referred
    status: Mapped[str] = mapped_column(String(12))
    referred_by: Mapped[str] = mapped_column(String(120))
    referred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)

    programme: Mapped[CharityProgramme] = relationship(lazy="joined")
    person: Mapped[Person] = relationship(lazy="joined")
