"""Early warnings (双预警) and the charity register with referrals.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _moment(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("jurisdiction", sa.String(40), nullable=False),
        sa.Column("category", sa.String(40), nullable=True),
        sa.Column("rule", sa.String(16), nullable=False),
        sa.Column("article", sa.String(40), nullable=False),
        sa.Column("measure", sa.String(16), nullable=False),
        sa.Column("after_insurance", sa.BigInteger(), nullable=False),
        sa.Column("after_assistance", sa.BigInteger(), nullable=False),
        sa.Column("burden", sa.BigInteger(), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("dismissed_level", sa.Integer(), nullable=True),
        _moment("created_at"),
        _moment("updated_at"),
        sa.CheckConstraint("kind IN ('poverty', 'relapse')", name=op.f("ck_warnings_kind")),
        sa.CheckConstraint("status IN ('new', 'verified', 'enrolled', 'dismissed')",
                           name=op.f("ck_warnings_status")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name=op.f("fk_warnings_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warnings")),
        sa.UniqueConstraint("person_id", "year", "kind",
                            name=op.f("uq_warnings_person_id_year_kind")),
    )
    op.create_index(op.f("ix_warnings_year"), "warnings", ["year"])
    op.create_table(
        "warning_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warning_id", sa.Integer(), nullable=False),
        _moment("at"),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("from_status", sa.String(12), nullable=True),
        sa.Column("to_status", sa.String(12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["warning_id"], ["warnings.id"],
                                name=op.f("fk_warning_events_warning_id_warnings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning_events")),
    )
    op.create_index(op.f("ix_warning_events_warning_id"), "warning_events", ["warning_id"])
    op.create_table(
        "charity_programmes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("jurisdictions", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("min_burden", sa.BigInteger(), nullable=False),
        sa.Column("min_age", sa.Integer(), nullable=True),
        sa.Column("max_age", sa.Integer(), nullable=True),
        sa.Column("annual_budget", sa.BigInteger(), nullable=True),
        sa.Column("annual_slots", sa.Integer(), nullable=True),
        sa.Column("active_from", sa.Date(), nullable=False),
        sa.Column("active_to", sa.Date(), nullable=True),
        _moment("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charity_programmes")),
        sa.UniqueConstraint("name", name=op.f("uq_charity_programmes_name")),
    )
    op.create_table(
        "charity_referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("warning_id", sa.Integer(), nullable=True),
        sa.Column("burden", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("referred_by", sa.String(120), nullable=False),
        _moment("referred_at"),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(120), nullable=True),
        _moment("decided_at", nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('referred', 'accepted', 'declined')",
                           name=op.f("ck_charity_referrals_status")),
        sa.ForeignKeyConstraint(["programme_id"], ["charity_programmes.id"],
                                name=op.f("fk_charity_referrals_programme_id_charity_programmes")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name=op.f("fk_charity_referrals_person_id_persons")),
        sa.ForeignKeyConstraint(["warning_id"], ["warnings.id"],
                                name=op.f("fk_charity_referrals_warning_id_warnings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charity_referrals")),
        sa.UniqueConstraint("programme_id", "person_id", "year",
                            name=op.f("uq_charity_referrals_programme_id_person_id_year")),
    )
    op.create_index(op.f("ix_charity_referrals_programme_id"), "charity_referrals",
                    ["programme_id"])


def downgrade() -> None:
    op.drop_table("charity_referrals")
    op.drop_table("charity_programmes")
    op.drop_table("warning_events")
    op.drop_table("warnings")
