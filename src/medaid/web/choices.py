"""What a casework page's query string chooses (year, jurisdiction, a filter), checked,
and what a page opens on: the latest year of the settlement ledger (what warnings, funds
and indicators are made from), and the visitor's own jurisdiction (a caseworker's
district, a hospital's institution), else the first one.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from medaid.app.auth import Actor
from medaid.app.uow import UnitOfWork
from medaid.core import clock
from medaid.core.errors import InputError
from medaid.policy import model
from medaid.store.models import Institution, Person, Settlement


def year(uow: UnitOfWork, given: int | None) -> int:
    """The year asked for, else the ledger's latest year up to this one, else this one."""
    if given is not None:
        return given
    this = clock.today().year
    latest = uow.session.scalar(select(func.max(Settlement.year)).where(
        Settlement.year <= this))
    return int(latest) if latest is not None else this


def choice(value: str | None, allowed: Iterable[str], name: str) -> str | None:
    """A filter's value: empty is no filter; anything not allowed is a 422."""
    if not value:
        return None
    known = list(allowed)
    if value not in known:
        raise InputError(name, f"应为 {', '.join(known)} 之一 / one of {', '.join(known)}")
    return value


def home_jurisdiction(uow: UnitOfWork, actor: Actor) -> str:
    found = None
    if actor.district is not None:
        found = uow.session.scalars(select(Person.jurisdiction).where(
            Person.district == actor.district).limit(1)).first()
    elif actor.institution_id is not None:
        inst = uow.session.get(Institution, actor.institution_id)
        found = inst.jurisdiction if inst is not None else None
    return found or model.jurisdictions()[0]


def jurisdiction(uow: UnitOfWork, actor: Actor, value: str | None) -> str:
    return choice(value, model.jurisdictions(), "jurisdiction") or home_jurisdiction(uow, actor)
