"""Finding a person (within a caseworker's district; other readers all): by whole ID
number, person number, or part of the name. Audited with what was searched by."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from medaid.app import auth
from medaid.app.auth import READ_ALL, Actor
from medaid.app.uow import UnitOfWork
from medaid.core import clock
from medaid.core.errors import InputError
from medaid.registry import idcard
from medaid.store.models import Person

LIMIT = 50  # results shown; a longer list asks for a narrower name


@dataclass(frozen=True, slots=True)
class Found:
    psn_no: str
    name: str
    certno: str  # masked for roles that do not see ID numbers
    jurisdiction: str
    district: str


def search(uow: UnitOfWork, actor: Actor, text: str) -> list[Found]:
    """Persons by whole ID number, person number, or part of the name; a caseworker's
    search stays in the district. Audited with what was searched by, never the text."""
    auth.require(actor, "caseworker", *READ_ALL)
    text = text.strip()
    if not 1 <= len(text) <= 40:
        raise InputError("q", "请输入身份证号、人员编号或姓名 / an ID number, person number "
                              "or name")
    by = "name"
    query = select(Person)
    try:
        certno = idcard.validate(text.upper(), clock.today()).number
        by, query = "certno", query.where(Person.certno == certno)
    except idcard.IdCardError:
        query = query.where(or_(Person.psn_no == text, Person.name.contains(text,
                                                                             autoescape=True)))
    if actor.role == "caseworker":
        query = query.where(Person.district == actor.district)
    found = [Found(p.psn_no, p.name, p.certno if actor.sees_ids else idcard.mask(p.certno),
                   p.jurisdiction, p.district)
             for p in uow.session.scalars(query.order_by(Person.psn_no).limit(LIMIT + 1))]
    uow.commit_audited(actor.subject, "person.search", "persons",
                       {"by": by, "found": len(found)})
    return found
