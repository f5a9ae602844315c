"""Re-assistance (医疗再救助): what a visit's stages after tilted assistance paid (policy
`stages:`), a tier of its own in the ledger, inside maf_pay; 0 on the entries before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("settlements", "adjustments")


def upgrade() -> None:
    # A column added with a default rewrites no row: the append-only triggers stay quiet.
    for table in TABLES:
        op.add_column(table, sa.Column("reassistance", sa.BigInteger(), nullable=False,
                                       server_default="0"))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("reassistance")
