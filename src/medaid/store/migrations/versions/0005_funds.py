"""The fund ledger (专户), budgets, allocations, payment batches and clearings; when the
registry received each identity (for the roster-push indicator).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ACCOUNTS = ("bank", "budget_receivable", "deficit_receivable", "payable_institution",
            "assessment_reserve", "budget_revenue", "reserve_forfeited", "assistance_expense",
            "surplus_carried_forward")
APPEND_ONLY = "the fund journal is append-only: correct with a new entry"
JOURNAL = ("fund_journal", "fund_journal_lines")


def _fund() -> list[sa.Column[str]]:
    return [sa.Column("jurisdiction", sa.String(40), nullable=False),
            sa.Column("district", sa.String(12), nullable=False)]


def _money(*names: str) -> list[sa.Column[int]]:
    return [sa.Column(n, sa.BigInteger(), nullable=False) for n in names]


def _moment(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "fund_budgets",
        sa.Column("id", sa.Integer(), nullable=False), *_fund(),
        sa.Column("year", sa.Integer(), nullable=False), *_money("amount"),
        sa.Column("source", sa.Text(), nullable=False), _moment("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_budgets")),
        sa.UniqueConstraint("jurisdiction", "district", "year",
                            name=op.f("uq_fund_budgets_jurisdiction_district_year")),
    )
    op.create_table(
        "fund_receipts",
        sa.Column("id", sa.Integer(), nullable=False), *_fund(),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(8), nullable=False), *_money("amount"),
        sa.Column("received_on", sa.Date(), nullable=False), _moment("created_at"),
        sa.CheckConstraint("amount > 0", name=op.f("ck_fund_receipts_amount")),
        sa.CheckConstraint("purpose IN ('budget', 'deficit')",
                           name=op.f("ck_fund_receipts_purpose")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_receipts")),
    )
    op.create_table(
        "fund_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        *_money("assistance", "reserve", "payment"), _moment("created_at"),
        _moment("approved_at", nullable=True), sa.Column("paid_on", sa.Date(), nullable=True),
        sa.CheckConstraint("status IN ('created', 'approved', 'paid')",
                           name=op.f("ck_fund_batches_status")),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"],
                                name=op.f("fk_fund_batches_institution_id_institutions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_batches")),
        sa.UniqueConstraint("institution_id", "month",
                            name=op.f("uq_fund_batches_institution_id_month")),
    )
    op.create_table(
        "fund_batch_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False), *_fund(),
        *_money("assistance", "reserve", "payment"),
        sa.ForeignKeyConstraint(["batch_id"], ["fund_batches.id"],
                                name=op.f("fk_fund_batch_lines_batch_id_fund_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_batch_lines")),
        sa.UniqueConstraint("batch_id", "jurisdiction", "district",
                            name=op.f("uq_fund_batch_lines_batch_id_jurisdiction_district")),
    )
    op.create_table(
        "fund_clearings",
        sa.Column("id", sa.Integer(), nullable=False), *_fund(),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("cleared_on", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        *_money("opening_surplus", "budget", "assistance", "released", "forfeited",
                "surplus", "deficit"),
        sa.Column("deficit_due", sa.Date(), nullable=True), _moment("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_clearings")),
        sa.UniqueConstraint("jurisdiction", "district", "year",
                            name=op.f("uq_fund_clearings_jurisdiction_district_year")),
    )
    op.create_table(
        "fund_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clearing_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("share_bp", sa.Integer(), nullable=False),
        *_money("reserve", "released", "forfeited"),
        sa.ForeignKeyConstraint(["clearing_id"], ["fund_clearings.id"],
                                name=op.f("fk_fund_assessments_clearing_id_fund_clearings")),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"],
                                name=op.f("fk_fund_assessments_institution_id_institutions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_assessments")),
        sa.UniqueConstraint("clearing_id", "institution_id",
                            name=op.f("uq_fund_assessments_clearing_id_institution_id")),
    )
    op.create_table(
        "fund_journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False), *_fund(),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("ref", sa.String(80), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False), _moment("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_journal")),
    )
    op.create_index("ix_fund_journal_fund", "fund_journal", ["jurisdiction", "district", "year"])
    op.create_table(
        "fund_journal_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(32), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=True),
        *_money("debit", "credit"),
        sa.CheckConstraint("debit >= 0 AND credit >= 0 AND (debit = 0 OR credit = 0)",
                           name=op.f("ck_fund_journal_lines_one_side")),
        sa.CheckConstraint(f"account IN {ACCOUNTS}", name=op.f("ck_fund_journal_lines_account")),
        sa.ForeignKeyConstraint(["entry_id"], ["fund_journal.id"],
                                name=op.f("fk_fund_journal_lines_entry_id_fund_journal")),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"],
                                name=op.f("fk_fund_journal_lines_institution_id_institutions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_journal_lines")),
    )
    op.create_index(op.f("ix_fund_journal_lines_entry_id"), "fund_journal_lines", ["entry_id"])
    for table in JOURNAL:
        _append_only(table)
    op.create_table(
        "identity_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(4), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False), _moment("received_at"),
        sa.ForeignKeyConstraint(["identity_id"], ["identities.id"], ondelete="CASCADE",
                                name=op.f("fk_identity_receipts_identity_id_identities")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_receipts")),
    )
    op.create_index(op.f("ix_identity_receipts_identity_id"), "identity_receipts",
                    ["identity_id"])
    _receipt_triggers()


def _append_only(table: str) -> None:
    """Refuse UPDATE and DELETE on `table` in the database itself."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql "
                   f"AS $$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$")
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")


# A receipt for a new identity's recognition date (and exit date, if it comes with one),
# and for every later change of either date.
_RECEIPT = ("INSERT INTO identity_receipts (identity_id, event, effective, received_at) "
            "SELECT NEW.id, '{event}', NEW.{column}, CURRENT_TIMESTAMP WHERE {when}")
_EVENTS = (("from", "from_date"), ("to", "to_date"))


def _receipt_triggers() -> None:
    inserted = [_RECEIPT.format(event=e, column=c, when=f"NEW.{c} IS NOT NULL")
                for e, c in _EVENTS]
    changed = {e: _RECEIPT.format(event=e, column=c, when=f"NEW.{c} IS NOT NULL")
               for e, c in _EVENTS}
    if op.get_bind().dialect.name == "postgresql":
        body = "; ".join(inserted)
        op.execute("CREATE FUNCTION identity_received() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   f"BEGIN {body}; RETURN NULL; END $$")
        op.execute("CREATE TRIGGER identity_received AFTER INSERT ON identities "
                   "FOR EACH ROW EXECUTE FUNCTION identity_received()")
        for e, c in _EVENTS:
            op.execute(f"CREATE FUNCTION identity_{e}_changed() RETURNS trigger "
                       f"LANGUAGE plpgsql AS $$ BEGIN {changed[e]}; RETURN NULL; END $$")
            op.execute(f"CREATE TRIGGER identity_{e}_changed AFTER UPDATE OF {c} ON identities "
                       f"FOR EACH ROW WHEN (NEW.{c} IS DISTINCT FROM OLD.{c}) "
                       f"EXECUTE FUNCTION identity_{e}_changed()")
        return
    op.execute("CREATE TRIGGER identity_received AFTER INSERT ON identities "
               f"BEGIN {'; '.join(inserted)}; END")
    for e, c in _EVENTS:
        op.execute(f"CREATE TRIGGER identity_{e}_changed AFTER UPDATE OF {c} ON identities "
                   f"WHEN NEW.{c} IS NOT OLD.{c} BEGIN {changed[e]}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER identity_received ON identities")
        op.execute("DROP FUNCTION identity_received()")
        for e, _ in _EVENTS:
            op.execute(f"DROP TRIGGER identity_{e}_changed ON identities")
            op.execute(f"DROP FUNCTION identity_{e}_changed()")
    else:
        for name in ("identity_received", "identity_from_changed", "identity_to_changed"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index(op.f("ix_identity_receipts_identity_id"), table_name="identity_receipts")
    op.drop_table("identity_receipts")
    op.drop_index(op.f("ix_fund_journal_lines_entry_id"), table_name="fund_journal_lines")
    for table in ("fund_journal_lines", "fund_assessments", "fund_clearings",
                  "fund_batch_lines", "fund_batches", "fund_receipts", "fund_budgets"):
        op.drop_table(table)
    op.drop_index("ix_fund_journal_fund", table_name="fund_journal")
    op.drop_table("fund_journal")
    if op.get_bind().dialect.name == "postgresql":
        for table in JOURNAL:
            op.execute(f"DROP FUNCTION {table}_append_only()")
