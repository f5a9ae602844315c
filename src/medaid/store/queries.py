"""The statements of the settlement path, built once with named parameters.

Building a SQLAlchemy statement costs more than running it on a local database; built
once, each request only binds its values. These are Core statements over the ORM's tables
and return plain rows.
"""

from __future__ import annotations

from sqlalchemy import bindparam, insert, or_, select, update

from medaid.store.models import (
    Base,
    Identity,
    Institution,
    LocalParameter,
    Person,
    PersonYear,
    Token,
)

TOKEN = select(Token.id, Token.role, Token.institution_id, Token.district, Token.user_id,
               Token.expires_at, Token.revoked_at
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

LOCAL_PARAMETERS = select(LocalParameter.name, LocalParameter.year, LocalParameter.value).where(
    LocalParameter.jurisdiction == bindparam("jurisdiction"),
    or_(LocalParameter.year == bindparam("year"), LocalParameter.year.is_(None)))

YEAR_FOR_UPDATE = select(PersonYear.id, PersonYear.pools).where(
    PersonYear.person_id == bindparam("person_id"),
    PersonYear.year == bindparam("year")).with_for_update()
SAVE_YEAR = (update(Base.metadata.tables["person_years"])
             .where(PersonYear.id == bindparam("year_id"))
             .values(pools=bindparam("new_pools", type_=PersonYear.pools.type),
                     version=PersonYear.version + 1))

APPEND = insert(Base.metadata.tables["settlements"])
