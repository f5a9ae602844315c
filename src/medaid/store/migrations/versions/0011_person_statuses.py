"""Person statuses: which statuses a policy declares (`statuses:`) a person holds, with
their dates and who recorded them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_statuses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=True),
        sa.Column("to_date", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.String(120), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name=op.f("fk_person_statuses_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_statuses")),
    )
    op.create_index(op.f("ix_person_statuses_person_id"), "person_statuses", ["person_id"])


def downgrade() -> None:
    op.drop_table("person_statuses")
