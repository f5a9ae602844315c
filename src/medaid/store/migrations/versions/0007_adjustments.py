"""Re-settlement: each ledger entry keeps the visit it settled, and the append-only
adjustment ledger (补差) holds what re-settling a person's year on today's facts changed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

APPEND_ONLY = "the adjustment ledger is append-only: correct with a new adjustment"
TIERS = ("hifp_pay", "hifmi_pay", "base", "assistance", "tilted", "special", "maf_pay",
         "psn_part_amt")


def upgrade() -> None:
    op.add_column("settlements", sa.Column("visit", sa.JSON(), nullable=True))
    op.create_table(
        "adjustments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("adj_id", sa.String(40), nullable=False),
        sa.Column("settlement_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("psn_no", sa.String(40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(16), nullable=False),
        sa.Column("cause_ref", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("route", sa.String(8), nullable=False),
        *(sa.Column(n, sa.BigInteger(), nullable=False) for n in TIERS),
        sa.Column("pool_deltas", sa.JSON(), nullable=False),
        sa.Column("category", sa.String(40), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("trace", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("cause IN ('cancel', 'roster', 'application', 'parameter', "
                           "'resettle')", name=op.f("ck_adjustments_cause")),
        sa.CheckConstraint("route IN ('batch', 'person')", name=op.f("ck_adjustments_route")),
        sa.ForeignKeyConstraint(["settlement_id"], ["settlements.id"],
                                name=op.f("fk_adjustments_settlement_id_settlements")),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"],
                                name=op.f("fk_adjustments_institution_id_institutions")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name=op.f("fk_adjustments_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adjustments")),
        sa.UniqueConstraint("adj_id", name=op.f("uq_adjustments_adj_id")),
    )
    op.create_index("ix_adjustments_person_year", "adjustments", ["person_id", "year"])
    op.create_index(op.f("ix_adjustments_settlement_id"), "adjustments", ["settlement_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION adjustments_append_only() RETURNS trigger "
                   f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$")
        op.execute("CREATE TRIGGER adjustments_append_only BEFORE UPDATE OR DELETE ON "
                   "adjustments FOR EACH ROW EXECUTE FUNCTION adjustments_append_only()")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER adjustments_no_{event.lower()} BEFORE {event} ON "
                       f"adjustments BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")


def downgrade() -> None:
    op.drop_table("adjustments")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION adjustments_append_only()")
    with op.batch_alter_table("settlements") as batch:
        batch.drop_column("visit")
