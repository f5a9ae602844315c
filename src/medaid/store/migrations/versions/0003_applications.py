"""Applications for assistance (依申请/事后救助) and their visits.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATES = "state IN ('draft', 'submitted', 'under_review', 'approved', 'rejected', 'withdrawn')"
KINDS = "kind IN ('post_hoc', 'lookback', 'tilted')"


def _money(*names: str, nullable: bool = False) -> list[sa.Column[int]]:
    return [sa.Column(n, sa.BigInteger(), nullable=nullable) for n in names]


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_no", sa.String(24), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("psn_no", sa.String(40), nullable=False),
        sa.Column("jurisdiction", sa.String(40), nullable=False),
        sa.Column("district", sa.String(12), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("submitted_by", sa.String(120), nullable=True),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.Column("review_due", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(120), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(STATES, name=op.f("ck_applications_state")),
        sa.CheckConstraint(KINDS, name=op.f("ck_applications_kind")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name=op.f("fk_applications_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("app_no", name=op.f("uq_applications_app_no")),
    )
    for column in ("person_id", "district", "state"):
        op.create_index(op.f(f"ix_applications_{column}"), "applications", [column])
    op.create_table(
        "application_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("mdtrt_id", sa.String(64), nullable=False),
        sa.Column("med_type", sa.String(8), nullable=True),
        sa.Column("visit_kind", sa.String(32), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        *_money("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt"),
        *_money("hifp_pay", "hifmi_pay", nullable=True),
        *_money("oth_pay"),
        sa.Column("location", sa.String(20), nullable=False),
        sa.Column("referral", sa.String(24), nullable=False),
        sa.Column("hospital_level", sa.SmallInteger(), nullable=True),
        sa.Column("heroic_injury", sa.Boolean(), nullable=False),
        sa.Column("rare_disease", sa.Boolean(), nullable=False),
        sa.Column("fixmedins_code", sa.String(40), nullable=True),
        sa.Column("institution_name", sa.String(200), nullable=True),
        sa.Column("setl_id", sa.String(40), nullable=True),
        sa.Column("not_covered", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"],
                                name=op.f("fk_application_visits_application_id_applications")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_visits")),
        sa.UniqueConstraint("application_id", "seq",
                            name=op.f("uq_application_visits_application_id_seq")),
    )
    op.create_index(op.f("ix_application_visits_application_id"), "application_visits",
                    ["application_id"])
    op.create_table(
        "application_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"],
            name=op.f("fk_application_payments_application_id_applications")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name=op.f("fk_application_payments_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_payments")),
        sa.UniqueConstraint("application_id",
                            name=op.f("uq_application_payments_application_id")),
    )


def downgrade() -> None:
    op.drop_table("application_payments")
    op.drop_index(op.f("ix_application_visits_application_id"), table_name="application_visits")
    op.drop_table("application_visits")
    for column in ("state", "district", "person_id"):
        op.drop_index(op.f(f"ix_applications_{column}"), table_name="applications")
    op.drop_table("applications")
