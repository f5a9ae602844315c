"""Institutions have a kind: a designated hospital, or the assistance office that settles
applications' paper invoices (which hospital indicators leave out).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("institutions", sa.Column("kind", sa.String(8), nullable=False,
                                            server_default="hospital"))
    # the offices registered so far: app.applications.office_code, MA + district + 0000
    op.execute("UPDATE institutions SET kind = 'office' "
               "WHERE code LIKE 'MA%' AND length(code) = 12 AND code LIKE '%0000'")


def downgrade() -> None:
    with op.batch_alter_table("institutions") as batch:
        batch.drop_column("kind")
