"""The year-end ledger: what each `when: year_end` stage pays a person for a year, append-
only, at most one entry per person, year, stage and run sequence.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

APPEND_ONLY = "the year-end ledger is append-only: correct with a new entry"
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "year_end_payouts",
        sa.Column("id", ID, nullable=False),
        sa.Column("payout_id", sa.String(40), nullable=False),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("psn_no", sa.String(40), nullable=False),
        sa.Column("jurisdiction", sa.String(40), nullable=False),
        sa.Column("district", sa.String(12), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(80), nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("label", sa.String(80), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(40), nullable=True),
        sa.Column("visits", sa.JSON(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("trace", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name=op.f("fk_year_end_payouts_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_year_end_payouts")),
        sa.UniqueConstraint("payout_id", name=op.f("uq_year_end_payouts_payout_id")),
        sa.UniqueConstraint("person_id", "year", "rule", "seq",
                            name=op.f("uq_year_end_payouts_person_id_year_rule_seq")),
    )
    op.create_index("ix_year_end_payouts_person_year", "year_end_payouts",
                    ["person_id", "year"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION year_end_payouts_append_only() RETURNS trigger "
                   f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$")
        op.execute("CREATE TRIGGER year_end_payouts_append_only BEFORE UPDATE OR DELETE ON "
                   "year_end_payouts FOR EACH ROW EXECUTE FUNCTION "
                   "year_end_payouts_append_only()")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER year_end_payouts_no_{event.lower()} BEFORE {event} "
                       f"ON year_end_payouts BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")


def downgrade() -> None:
    op.drop_table("year_end_payouts")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION year_end_payouts_append_only()")
