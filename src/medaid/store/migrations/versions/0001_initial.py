"""The first schema: registry, settlement ledger, annual pools, local parameters, users,
tokens, audit log.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ROLES = "role IN ('hospital', 'caseworker', 'finance', 'admin', 'auditor')"
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: a rowid alias
APPEND_ONLY = "the settlement ledger is append-only: cancel with a reversing entry"


def _money(*names: str) -> list[sa.Column[int]]:
    return [sa.Column(n, sa.BigInteger(), nullable=False) for n in names]


def upgrade() -> None:
    op.create_table(
        "institutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("jurisdiction", sa.String(40), nullable=False),
        sa.Column("district", sa.String(12), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_institutions")),
        sa.UniqueConstraint("code", name=op.f("uq_institutions_code")),
    )
    op.create_table(
        "persons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("psn_no", sa.String(40), nullable=False),
        sa.Column("certno", sa.String(18), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("jurisdiction", sa.String(40), nullable=False),
        sa.Column("district", sa.String(12), nullable=False),
        sa.Column("disability_grade", sa.SmallInteger(), nullable=True),
        sa.Column("tilted_application", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("certno", name=op.f("uq_persons_certno")),
        sa.UniqueConstraint("psn_no", name=op.f("uq_persons_psn_no")),
    )
    op.create_index(op.f("ix_persons_district"), "persons", ["district"])
    op.create_table(
        "identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("department", sa.String(40), nullable=True),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("to_date", sa.Date(), nullable=True),
        sa.Column("application_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name=op.f("fk_identities_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
    )
    op.create_index(op.f("ix_identities_person_id"), "identities", ["person_id"])
    op.create_table(
        "person_years",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("pools", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name=op.f("fk_person_years_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_years")),
        sa.UniqueConstraint("person_id", "year", name=op.f("uq_person_years_person_id_year")),
    )
    op.create_table(
        "settlements",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("setl_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("reverses_id", BIG_ID, nullable=True),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("medins_setl_id", sa.String(64), nullable=False),
        sa.Column("mdtrt_id", sa.String(64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("psn_no", sa.String(40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("med_type", sa.String(8), nullable=True),
        sa.Column("visit_kind", sa.String(32), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("policy", sa.String(80), nullable=False),
        sa.Column("settled_as", sa.String(32), nullable=False),
        sa.Column("category", sa.String(40), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        *_money("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                "inscp_scp_amt", "hifp_pay", "hifmi_pay", "oth_pay", "base", "assistance",
                "tilted", "special", "maf_pay", "psn_part_amt"),
        sa.Column("trace", sa.JSON(), nullable=False),
        sa.Column("pool_deltas", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('settle', 'cancel')", name=op.f("ck_settlements_kind")),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"],
                                name=op.f("fk_settlements_institution_id_institutions")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name=op.f("fk_settlements_person_id_persons")),
        sa.ForeignKeyConstraint(["reverses_id"], ["settlements.id"],
                                name=op.f("fk_settlements_reverses_id_settlements")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlements")),
        sa.UniqueConstraint("institution_id", "medins_setl_id", "kind",
                            name=op.f("uq_settlements_institution_id_medins_setl_id_kind")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_settlements_reverses_id")),
        sa.UniqueConstraint("setl_id", name=op.f("uq_settlements_setl_id")),
    )
    op.create_index("ix_settlements_person_year", "settlements", ["person_id", "year"])
    _append_only("settlements")
    op.create_table(
        "local_parameters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction", sa.String(40), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_local_parameters")),
        sa.UniqueConstraint("jurisdiction", "name", "year",
                            name=op.f("uq_local_parameters_jurisdiction_name_year")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("district", sa.String(12), nullable=True),
        sa.Column("institution_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(ROLES, name=op.f("ck_users_role")),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"],
                                name=op.f("fk_users_institution_id_institutions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=True),
        sa.Column("district", sa.String(12), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(ROLES, name=op.f("ck_tokens_role")),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"],
                                name=op.f("fk_tokens_institution_id_institutions")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_tokens_token_hash")),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", BIG_ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(80), nullable=False),
        sa.Column("object", sa.String(200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
    )


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


def downgrade() -> None:
    for table in ("audit_log", "tokens", "users", "local_parameters"):
        op.drop_table(table)
    op.drop_index("ix_settlements_person_year", table_name="settlements")
    op.drop_table("settlements")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION settlements_append_only()")
    op.drop_table("person_years")
    op.drop_index(op.f("ix_identities_person_id"), table_name="identities")
    op.drop_table("identities")
    op.drop_index(op.f("ix_persons_district"), table_name="persons")
    op.drop_table("persons")
    op.drop_table("institutions")
