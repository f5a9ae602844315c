"""The statements of the settlement path, built once with named parameters.

Building a SQLAlchemy statement costs more than running it on a local database; built
once, each request only binds its values. These are Core statements over the ORM's tables
and return plain rows.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import JSON, Select, bindparam, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import psycopg

from medaid.store import audit
from medaid.store.models import (
    Base,
    Identity,
    Institution,
    LocalParameter,
    Person,
    PersonStatus,
    PersonYear,
    Token,
)

TOKEN = select(Token.id, Token.role, Token.institution_id, Token.district, Token.user_id,
               Token.expires_at, Token.revoked_at, Token.kind
               ).where(Token.token_hash == bindparam("token_hash"))

_INSTITUTION = select(Institution.id, Institution.code, Institution.level)
INSTITUTION_BY_ID = _INSTITUTION.where(Institution.id == bindparam("id"))
INSTITUTION_BY_CODE = _INSTITUTION.where(Institution.code == bindparam("code"))

# One row per identity (one row with null identity columns for a person without any).
PERSON = (select(Person.id, Person.psn_no, Person.name, Person.jurisdiction, Person.district,
                 Person.disability_grade, Person.tilted_application, Identity.category,
                 Identity.department, Identity.from_date, Identity.to_date,
                 Identity.application_date)
          .outerjoin(Identity, Identity.person_id == Person.id)
          .where(Person.psn_no == bindparam("psn_no"))
          .order_by(Identity.id))

PERSON_STATUSES = select(PersonStatus.status, PersonStatus.from_date, PersonStatus.to_date
                         ).where(PersonStatus.person_id == bindparam("person_id")
                                 ).order_by(PersonStatus.id)

LOCAL_PARAMETERS = select(LocalParameter.name, LocalParameter.year, LocalParameter.value).where(
    LocalParameter.jurisdiction == bindparam("jurisdiction"),
    or_(LocalParameter.year == bindparam("year"), LocalParameter.year.is_(None)))

YEAR_FOR_UPDATE = select(PersonYear.id, PersonYear.pools).where(
    PersonYear.person_id == bindparam("person_id"),
    PersonYear.year == bindparam("year")).with_for_update()
# A person's first settlement of a year makes the year's row (by dialect: the one that
# loses a race for it inserts nothing and locks the winner's).
NEW_YEAR = {name: insert_of(PersonYear).values(
    person_id=bindparam("person_id"), year=bindparam("year"), pools={}, version=0
).on_conflict_do_nothing(index_elements=["person_id", "year"])
    for name, insert_of in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))}
SAVE_YEAR = (update(Base.metadata.tables["person_years"])
             .where(PersonYear.id == bindparam("year_id"))
             .values(pools=bindparam("new_pools", type_=PersonYear.pools.type),
                     version=PersonYear.version + 1))
TOUCH_YEAR = (update(Base.metadata.tables["person_years"])
              .where(PersonYear.id == bindparam("year_id"))
              .values(version=PersonYear.version + 1))

APPEND = insert(Base.metadata.tables["settlements"])


@cache
def pg_text(query: Select[*tuple[Any, ...]]) -> str:
    """A statement of this module as PostgreSQL text with psycopg's named parameters
    (`%(name)s`), compiled once: for psycopg to run itself (UnitOfWork.rows)."""
    return str(query.compile(dialect=psycopg.dialect()))  # type: ignore[no-untyped-call]


def _settle_sql() -> str:
    table = Base.metadata.tables["settlements"]
    cols = [c for c in table.columns if c.name != "id"]
    values = ", ".join(f"%({c.name})s::json" if isinstance(c.type, JSON) else f"%({c.name})s"
                       for c in cols)
    return (f"WITH ledger_entry AS (INSERT INTO settlements "
            f"({', '.join(f'{chr(34)}{c.name}{chr(34)}' for c in cols)}) VALUES ({values})),\n"
            f"pools_saved AS (UPDATE person_years SET pools = %(new_pools)s::json, "
            f"version = version + 1 WHERE id = %(year_id)s),"
            + audit.PG_APPEND_CTES + audit.PG_APPEND_TAIL)


# PostgreSQL: a settlement's writes in one statement — the ledger entry (APPEND's columns,
# JSON ones as JSON text), the person's pools (SAVE_YEAR) and the audit entry
# (audit.PG_APPEND) — sent with its COMMIT in one round trip (UnitOfWork.commit_with).
PG_SETTLE = _settle_sql()
JSON_COLUMNS = tuple(c.name for c in Base.metadata.tables["settlements"].columns
                     if isinstance(c.type, JSON))

# PostgreSQL: PERSON's rows, each with the person's year of %(year)s locked FOR UPDATE
# (year_id null when the person has none yet): the person and the lock in one statement.
# `version` is the locked row's, as it is once the lock is granted (a row updated while
# the statement waited is read again); `seen_version` is the statement's snapshot's, as
# the person and identities were read. They differ when a write to the year (an identity
# change's re-settlement, which holds the lock) committed while the statement waited:
# the person is then read again (app.settlements.settle).
PG_PERSON_LOCKING_YEAR = """
SELECT p.id, p.psn_no, p.name, p.jurisdiction, p.district, p.disability_grade,
       p.tilted_application, i.category, i.department, i.from_date, i.to_date,
       i.application_date, y.id AS year_id, y.pools, y.version,
       (SELECT version FROM person_years
        WHERE person_id = p.id AND year = %(year)s) AS seen_version
FROM persons p
LEFT JOIN identities i ON i.person_id = p.id
LEFT JOIN LATERAL (SELECT id, pools, version FROM person_years
                   WHERE person_id = p.id AND year = %(year)s FOR UPDATE) y ON true
WHERE p.psn_no = %(psn_no)s
ORDER BY i.id"""

# PostgreSQL: a settlement's one read, PG_PERSON_LOCKING_YEAR with the caller's token
# (TOKEN's columns as token_*, null when no token has the hash; one row with a null id
# when no person has the number). The year is locked only for a token that may settle now
# (`may_settle`: not revoked, not expired at %(now)s, an API token of a hospital or an
# admin), so a refused caller holds no lock while its 401 or 403 is answered; the caller
# still checks the token's row itself (app.auth), the person's statement and the year's
# versions as PG_PERSON_LOCKING_YEAR's are checked.
PG_TOKEN_PERSON_LOCKING_YEAR = """
SELECT t.id AS token_id, t.role AS token_role, t.institution_id AS token_institution_id,
       t.district AS token_district, t.user_id AS token_user_id,
       t.expires_at AS token_expires_at, t.revoked_at AS token_revoked_at,
       t.kind AS token_kind, coalesce(t.may_settle, false) AS may_settle,
       p.id, p.psn_no, p.name, p.jurisdiction, p.district, p.disability_grade,
       p.tilted_application, i.category, i.department, i.from_date, i.to_date,
       i.application_date, y.id AS year_id, y.pools, y.version,
       (SELECT version FROM person_years
        WHERE person_id = p.id AND year = %(year)s) AS seen_version
FROM (SELECT 1) AS one
LEFT JOIN (SELECT id, role, institution_id, district, user_id, expires_at, revoked_at, kind,
                  revoked_at IS NULL AND (expires_at IS NULL OR expires_at > %(now)s)
                  AND kind = 'api' AND role IN ('hospital', 'admin') AS may_settle
           FROM tokens WHERE token_hash = %(token_hash)s) t ON true
LEFT JOIN persons p ON p.psn_no = %(psn_no)s
LEFT JOIN identities i ON i.person_id = p.id
LEFT JOIN LATERAL (SELECT id, pools, version FROM person_years
                   WHERE person_id = p.id AND year = %(year)s AND t.may_settle
                   FOR UPDATE) y ON true
ORDER BY i.id"""
