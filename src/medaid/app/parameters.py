"""The deployment's local parameters: stored per jurisdiction (and optionally per year),
handed to the engine as `Params`' `local`, exactly as a case's `local` would be."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from medaid.app.uow import UnitOfWork
from medaid.core.errors import InputError, MissingParameter
from medaid.engine.case import parse_json
from medaid.policy import model
from medaid.policy.model import Policy
from medaid.policy.params import Params
from medaid.policy.structured import PARSERS, parse_money, parse_ratio
from medaid.store import queries
from medaid.store.models import LocalParameter

_CACHE_SIZE = 256
# Params caches what it resolves per year: keep one per policy and set of values, so that
# settlements under unchanged parameters do not resolve the same lines again.
_params: dict[tuple[str, tuple[tuple[str, str], ...]], Params] = {}


def stored(uow: UnitOfWork, jurisdiction: str, year: int) -> dict[str, str]:
    """name → JSON text for `year`: a value for the year wins over one for any year."""

    def load() -> dict[str, str]:
        rows = uow.session.connection().execute(queries.LOCAL_PARAMETERS, {
            "jurisdiction": jurisdiction, "year": year}).all()
        return {name: value for name, _, value in sorted(rows, key=lambda r: r[1] is not None)}

    return uow.cache.get(("local_parameters", jurisdiction, year), load)


def params_for(uow: UnitOfWork, policy: Policy, year: int) -> Params:
    values = tuple(sorted(stored(uow, policy.jurisdiction, year).items()))
    key = (f"{policy.path} {policy.jurisdiction} {policy.spec.version}", values)
    found = _params.get(key)
    if found is None:
        if len(_params) >= _CACHE_SIZE:
            _params.clear()
        local = {name: parse_json(text) for name, text in values}
        found = _params[key] = Params(policy, local)
    return found


def check_value(jurisdiction: str, name: str, raw: Any, path: str,
                year: int | None = None) -> None:
    """A value every version of the jurisdiction that declares `name` can use, within the
    parameter's floor and ceiling (for `year`, or for each version's first year)."""
    declared = [p.parameter(name) for p in model.versions(jurisdiction)]
    types = {d.type for d in declared if d is not None}
    if not types:
        known = sorted({n for p in model.versions(jurisdiction) for n in p.spec.parameters})
        raise InputError(path.rsplit(".", 1)[0] + ".name",
                         f"{jurisdiction} 没有本地参数「{name}」（可设定：{'、'.join(known)}） / "
                         f"{jurisdiction} has no local parameter {name!r}")
    for t in types:
        if t == "money":
            parse_money(raw, path)
        elif t == "ratio":
            parse_ratio(raw, path)
        else:
            PARSERS[t](raw, path)
    for policy in model.versions(jurisdiction):  # its floor and ceiling, before it is stored
        p = policy.parameter(name)
        if p is None or p.type not in ("money", "ratio"):
            continue
        read = Params(policy, {name: raw}).money if p.type == "money" else \
            Params(policy, {name: raw}).ratio
        try:
            read(name, year if year is not None else policy.in_force, name)
        except InputError as e:
            raise InputError(path, e.message) from None
        except MissingParameter:
            pass  # a floor that is a share of a parameter nobody set is checked at settlement


def put(uow: UnitOfWork, jurisdiction: str, name: str, year: int | None, text: str,
        source: str) -> LocalParameter:
    """Set a value (JSON text), replacing the one for the same jurisdiction, name and year."""
    row = uow.session.scalars(select(LocalParameter).where(
        LocalParameter.jurisdiction == jurisdiction, LocalParameter.name == name,
        LocalParameter.year.is_(None) if year is None else LocalParameter.year == year)).first()
    if row is None:
        row = LocalParameter(jurisdiction=jurisdiction, name=name, year=year)
        uow.session.add(row)
    row.value, row.source = text, source
    uow.cache.clear()
    return row
