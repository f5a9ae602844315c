"""The tables: registry, settlement ledger, per-person annual pools, local parameters,
users, tokens and the audit log; the adjustments re-settlement appends.

Money is BigInteger fen. The settlement ledger is append-only (a trigger refuses UPDATE
and DELETE, see the migrations): a cancellation is a new row of kind `cancel` whose amounts
and pool deltas are what the visit stood at negated (the original's and its batch-route
adjustments'), so sums over the ledger and its adjustments are net amounts and a
person's pools are the sum of the deltas of their year. Re-settlement appends adjustments
(also append-only) with the differences, so the sums stay net (docs/RESETTLEMENT.md).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Constraint names fixed by convention, so migrations name the same things on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("hospital", "caseworker", "finance", "admin", "auditor")
# The visit's amounts as the hospital sent them, then every amount the settlement gave (fen).
SENT_AMOUNTS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt")
SETTLED_AMOUNTS = ("inscp_scp_amt", "hifp_pay", "hifmi_pay", "oth_pay", "base", "assistance",
                   "tilted", "special", "reassistance", "maf_pay", "psn_part_amt")
AMOUNTS = SENT_AMOUNTS + SETTLED_AMOUNTS


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in UTC, read back with its zone on every database (SQLite keeps none)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect
                             ) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Institution(Base):
    """A designated medical institution (定点医疗机构)."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  # fixmedins_code
    name: Mapped[str] = mapped_column(String(200))
    jurisdiction: Mapped[str] = mapped_column(String(40))
    district: Mapped[str] = mapped_column(String(12))  # 6-digit admdvs code
    level: Mapped[int | None] = mapped_column(SmallInteger)  # hospital level 1–3
    # hospital, or office: the assistance office settling applications' paper invoices
    kind: Mapped[str] = mapped_column(String(8), default="hospital", server_default="hospital")


class Person(Base):
    """A beneficiary, insured in `jurisdiction` (参保地)."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    psn_no: Mapped[str] = mapped_column(String(40), unique=True)
    certno: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    jurisdiction: Mapped[str] = mapped_column(String(40))
    district: Mapped[str] = mapped_column(String(12), index=True)
    disability_grade: Mapped[int | None] = mapped_column(SmallInteger)
    tilted_application: Mapped[date | None] = mapped_column(Date)

    identities: Mapped[list[Identity]] = relationship(
        back_populates="person", order_by="Identity.id", cascade="all, delete-orphan")


class Identity(Base):
    """A recognised category (身份) with the department that recognised it and its dates."""

    __tablename__ = "identities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    department: Mapped[str | None] = mapped_column(String(40))  # 民政, 退役军人, 残联, …
    from_date: Mapped[date] = mapped_column(Date)  # 认定日期
    to_date: Mapped[date | None] = mapped_column(Date)  # 退出日期
    application_date: Mapped[date | None] = mapped_column(Date)

    person: Mapped[Person] = relationship(back_populates="identities")


class PersonStatus(Base):
    """A status a person holds (policy `statuses:`, 门诊特殊病种认定, …) from `from_date` to
    `to_date` (null: open), and who recorded it when; read when the person's visits are
    settled (a line's or a stage's `statuses` condition)."""

    __tablename__ = "person_statuses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    status: Mapped[str] = mapped_column(String(40))
    from_date: Mapped[date | None] = mapped_column(Date)  # null: held all along
    to_date: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Settlement(Base):
    """One entry of the append-only settlement ledger."""

    __tablename__ = "settlements"
    __table_args__ = (
        # Idempotency: one settlement and at most one cancellation per hospital settlement id.
        UniqueConstraint("institution_id", "medins_setl_id", "kind"),
        Index("ix_settlements_person_year", "person_id", "year"),
        CheckConstraint("kind IN ('settle', 'cancel')", name="kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    setl_id: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # settle | cancel
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    medins_setl_id: Mapped[str] = mapped_column(String(64))
    mdtrt_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    psn_no: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    request_hash: Mapped[str] = mapped_column(String(64))
    med_type: Mapped[str | None] = mapped_column(String(8))
    visit_kind: Mapped[str] = mapped_column(String(32))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    policy: Mapped[str] = mapped_column(String(80))
    settled_as: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(40))
    rules: Mapped[list[str]] = mapped_column(JSON)
    medfee_sumamt: Mapped[int] = mapped_column(BigInteger)
    fulamt_ownpay_amt: Mapped[int] = mapped_column(BigInteger)
    overlmt_selfpay: Mapped[int] = mapped_column(BigInteger)
    preselfpay_amt: Mapped[int] = mapped_column(BigInteger)
    inscp_scp_amt: Mapped[int] = mapped_column(BigInteger)
    hifp_pay: Mapped[int] = mapped_column(BigInteger)
    hifmi_pay: Mapped[int] = mapped_column(BigInteger)
    oth_pay: Mapped[int] = mapped_column(BigInteger)
    base: Mapped[int] = mapped_column(BigInteger)
    assistance: Mapped[int] = mapped_column(BigInteger)
    tilted: Mapped[int] = mapped_column(BigInteger)
    special: Mapped[int] = mapped_column(BigInteger)
    # the visit's stages after tilted (再救助, grants: policy `stages:`), inside maf_pay
    reassistance: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    maf_pay: Mapped[int] = mapped_column(BigInteger)
    psn_part_amt: Mapped[int] = mapped_column(BigInteger)
    trace: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # amounts in fen
    pool_deltas: Mapped[dict[str, int | str]] = mapped_column(JSON)  # see store.pools
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # the engine's visit as settled (store.visits), so that it can be settled again; null
    # on a cancellation and on entries written before migration 0007
    visit: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    institution: Mapped[Institution] = relationship(lazy="joined")
    reverses: Mapped[Settlement | None] = relationship(remote_side=[id])
    # the adjustments made to it since (补差), in order
    adjustments: Mapped[list[Adjustment]] = relationship(
        viewonly=True, order_by="Adjustment.id",
        primaryjoin="Settlement.id == foreign(Adjustment.settlement_id)")


# The tiers an adjustment corrects, each a difference in fen (RESETTLEMENT.md).
TIERS = ("hifp_pay", "hifmi_pay", "base", "assistance", "tilted", "special", "reassistance",
         "maf_pay", "psn_part_amt")
CAUSES = ("cancel", "roster", "application", "parameter", "resettle")
ROUTES = ("batch", "person")  # the institution's next payment batch; the person (paper)


class Adjustment(Base):
    """One entry of the append-only adjustment ledger (补差): what re-settling a person's
    year on today's facts changed in one visit, tier by tier, and why.

    A visit's amounts are its settlement, less its cancellation, plus its adjustments;
    its pool additions likewise."""

    __tablename__ = "adjustments"
    __table_args__ = (
        Index("ix_adjustments_person_year", "person_id", "year"),
        CheckConstraint(f"cause IN {CAUSES}", name="cause"),
        CheckConstraint(f"route IN {ROUTES}", name="route"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    adj_id: Mapped[str] = mapped_column(String(40), unique=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id"), index=True)
    run_id: Mapped[str] = mapped_column(String(40))  # the re-settlement that wrote it
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    psn_no: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    cause: Mapped[str] = mapped_column(String(16))  # one of CAUSES
    cause_ref: Mapped[str] = mapped_column(String(200))  # settlement:…, roster:…, …
    reason: Mapped[str] = mapped_column(Text)  # in words, Chinese first
    route: Mapped[str] = mapped_column(String(8))  # one of ROUTES
    hifp_pay: Mapped[int] = mapped_column(BigInteger)
    hifmi_pay: Mapped[int] = mapped_column(BigInteger)
    base: Mapped[int] = mapped_column(BigInteger)
    assistance: Mapped[int] = mapped_column(BigInteger)
    tilted: Mapped[int] = mapped_column(BigInteger)
    special: Mapped[int] = mapped_column(BigInteger)
    reassistance: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    maf_pay: Mapped[int] = mapped_column(BigInteger)
    psn_part_amt: Mapped[int] = mapped_column(BigInteger)
    pool_deltas: Mapped[dict[str, int | str]] = mapped_column(JSON)  # the change, store.pools
    category: Mapped[str | None] = mapped_column(String(40))  # as re-settled
    rules: Mapped[list[str]] = mapped_column(JSON)
    trace: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # the visit re-settled, fen
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    settlement: Mapped[Settlement] = relationship()


class PersonYear(Base):
    """A person's annual pools, updated in the same transaction as each ledger entry; the
    row every settlement of the person locks (serializing them)."""

    __tablename__ = "person_years"
    __table_args__ = (UniqueConstraint("person_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    year: Mapped[int] = mapped_column(Integer)
    pools: Mapped[dict[str, int | str]] = mapped_column(JSON)  # see store.pools
    version: Mapped[int] = mapped_column(Integer)


class LocalParameter(Base):
    """A deployment's value of a local parameter (`Params`' `local`); `year` null: any year.

    The value is JSON text kept verbatim, so its numbers stay exact decimals."""

    __tablename__ = "local_parameters"
    __table_args__ = (UniqueConstraint("jurisdiction", "name", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    year: Mapped[int | None] = mapped_column(Integer)
    value: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {ROLES}", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # one of ROLES
    district: Mapped[str | None] = mapped_column(String(12))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # consecutive failed logins, and the end of a lockout (app.users.login)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Token(Base):
    """A bearer token, stored as the SHA-256 of its text; bound to an institution for a
    hospital's system, or to a user's session."""

    __tablename__ = "tokens"
    __table_args__ = (CheckConstraint(f"role IN {ROLES}", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    district: Mapped[str | None] = mapped_column(String(12))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(8), default="api", server_default="api")  # api|web


class AuditEntry(Base):
    """The hash-chained audit log: `hash` covers `prev_hash` and this entry's fields."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                     primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80))
    object: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The chain's one head row: the last entry's seq and hash. Every append locks it, so
    appends serialize; `verify` compares the chain's end with it, which reveals entries
    removed from or added at the end."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class YearEndPayout(Base):
    """One entry of the append-only year-end ledger: what a `when: year_end` stage (a
    year's grant, re-assistance or ceiling) pays a person for a year, over the year's
    settled visits. A later run over changed visits appends the difference as the next
    entry (`seq`), so a stage's payout for a person-year is the sum of its entries, and the
    unique key (person, year, rule, seq) lets no two runs append the same entry."""

    __tablename__ = "year_end_payouts"
    __table_args__ = (
        UniqueConstraint("person_id", "year", "rule", "seq"),
        Index("ix_year_end_payouts_person_year", "person_id", "year"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    payout_id: Mapped[str] = mapped_column(String(40), unique=True)
    run_id: Mapped[str] = mapped_column(String(40))  # the year-end run that wrote it
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    psn_no: Mapped[str] = mapped_column(String(40))
    jurisdiction: Mapped[str] = mapped_column(String(40))
    district: Mapped[str] = mapped_column(String(12))  # the person's, whose fund pays it
    year: Mapped[int] = mapped_column(Integer)
    policy: Mapped[str] = mapped_column(String(80))  # the version in force at the year's end
    rule: Mapped[str] = mapped_column(String(40))  # the stage's rule id
    label: Mapped[str] = mapped_column(String(80))
    seq: Mapped[int] = mapped_column(Integer)  # 1 the first payout, then each difference
    category: Mapped[str | None] = mapped_column(String(40))
    visits: Mapped[list[str]] = mapped_column(JSON)  # mdtrt_id of the qualifying visits
    amount: Mapped[int] = mapped_column(BigInteger)  # this entry: the payout or a difference
    total: Mapped[int] = mapped_column(BigInteger)  # the stage's payout for the year now
    trace: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # amounts in fen
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
