"""Monthly roster import against the store: parse, plan against the district's registry,
and apply in one transaction — only when no row is bad and it is not a dry run.

The import names the district (6-digit code) its persons belong to; a row's own district
text (`所属区`, written as offices write it) is not compared or stored. Every import, dry
run or refusal is audited with its counts; the audit detail names no person.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from medaid.case import as_district, as_jurisdiction
from medaid.errors import InputError
from medaid.registry import idcard
from medaid.registry.plan import ImportPlan, plan_import
from medaid.registry.roster import parse_records
from medaid.registry.types import RegisteredIdentity, Roster, RosterRow, RowError
from medaid.service import auth, resettle
from medaid.service.auth import Actor
from medaid.service.uow import UnitOfWork
from medaid.store.models import Identity, Person


@dataclass(frozen=True, slots=True)
class Target:
    """Where an import goes: a jurisdiction's district, for a month."""

    jurisdiction: str
    district: str
    month: date | None  # None: the current month


def target(jurisdiction: object, district: object, month: object) -> Target:
    """Checked import parameters; InputError names the bad one."""
    j = as_jurisdiction(jurisdiction, "jurisdiction")
    d = as_district(district, "district")
    m = None
    if month not in (None, ""):
        try:
            m = date.fromisoformat(f"{month}-01") if isinstance(month, str) else None
        except ValueError:
            m = None
        if m is None:
            raise InputError("month", "expected YYYY-MM")
    return Target(j, d, m)


def registered(uow: UnitOfWork, jurisdiction: str, district: str | None
               ) -> list[RegisteredIdentity]:
    """Every identity of the jurisdiction's persons (of one district, when given)."""
    query = (select(Person.certno, Person.name, Person.district, Person.disability_grade,
                    Identity.id, Identity.category, Identity.department, Identity.from_date,
                    Identity.to_date, Identity.application_date)
             .join(Identity, Identity.person_id == Person.id)
             .where(Person.jurisdiction == jurisdiction))
    if district is not None:
        query = query.where(Person.district == district)
    return [RegisteredIdentity(r.certno, r.name, r.category, r.department, r.from_date,
                               r.to_date, r.application_date, r.district,
                               r.disability_grade, r.id)
            for r in uow.session.execute(query.order_by(Identity.id))]


def records_roster(records: object, jurisdiction: str, today: date,
                   department: str | None) -> Roster:
    """A roster sent as JSON records (row n is records[n-1]), parsed like a file's rows."""
    if not isinstance(records, list) or not records:
        raise InputError("$.records", "a non-empty list of objects")
    rows: list[tuple[int, Mapping[str, object]]] = []
    for n, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            raise InputError(f"$.records[{n - 1}]", "must be an object")
        rows.append((n, rec))
    return parse_records(rows, jurisdiction, today, department=department,
                         source="records")


def import_roster(uow: UnitOfWork, actor: Actor, roster: Roster, to: Target, today: date,
                  dry_run: bool) -> tuple[ImportPlan, bool]:
    """The plan, and whether it was applied; audited either way, committed."""
    auth.require_district(actor, to.district)
    rows = tuple(dataclasses.replace(r, district=None) for r in roster.rows)
    current = registered(uow, to.jurisdiction, to.district)
    plan = plan_import(dataclasses.replace(roster, rows=rows), current, to.jurisdiction,
                       today, month=to.month)
    if plan.ok:
        plan = _known_elsewhere(uow, plan, to)
    applied = plan.ok and not dry_run
    if applied:
        touched = _apply(uow, plan, to)
        ref = f"roster:{to.jurisdiction}/{to.district}/{plan.month:%Y-%m}"
        resettle.post_persons(uow, actor.subject, {
            person_id: resettle.Cause(
                "roster", f"{ref} {', '.join(what)}"[:200],
                f"名单导入（{roster.source}，{plan.month:%Y年%m月}）{'、'.join(what)}：身份变动后"
                f"重新结算 / identities changed by the roster import")
            for person_id, what in touched.items()})
    action = "roster.import" if applied else "roster.dry_run" if plan.ok else "roster.refused"
    uow.commit_audited(actor.subject, action,
                       f"roster:{to.jurisdiction}/{to.district}/{plan.month:%Y-%m}",
                       {"source": roster.source, "departments": list(plan.departments),
                        "counts": plan.counts()})
    return plan, applied


def _known_elsewhere(uow: UnitOfWork, plan: ImportPlan, to: Target) -> ImportPlan:
    """New persons whose ID number the store already has: in this district (a person
    without identities yet) a new identity; elsewhere a bad row."""
    if not plan.new_persons:
        return plan
    found = {c: (j, d) for c, j, d in uow.session.execute(
        select(Person.certno, Person.jurisdiction, Person.district)
        .where(Person.certno.in_([r.certno for r in plan.new_persons])))}
    if not found:
        return plan
    here = [r for r in plan.new_persons if found.get(r.certno) == (to.jurisdiction, to.district)]
    errors = tuple(RowError(r.row, None, idcard.mask(r.certno),
                            f"已登记在{found[r.certno][0]} {found[r.certno][1]} / registered "
                            f"in {found[r.certno][0]} district {found[r.certno][1]}")
                   for r in plan.new_persons if r.certno in found and r not in here)
    if errors:
        return ImportPlan(plan.jurisdiction, plan.month, plan.departments, errors=errors)
    return dataclasses.replace(
        plan, new_persons=tuple(r for r in plan.new_persons if r.certno not in found),
        new_identities=plan.new_identities + tuple(here))


def _identity(row: RosterRow) -> Identity:
    return Identity(category=row.category, department=row.department, from_date=row.start,
                    to_date=row.end, application_date=row.application)


def _apply(uow: UnitOfWork, plan: ImportPlan, to: Target) -> dict[int, list[str]]:
    """Write the plan; the persons registered before it whose identities it changed, each
    with the roster rows (or exits) that changed them."""
    s = uow.session
    for row in plan.new_persons:
        s.add(Person(psn_no=f"{to.district}R{secrets.token_hex(6).upper()}", certno=row.certno,
                     name=row.name, jurisdiction=to.jurisdiction, district=to.district,
                     disability_grade=row.disability_grade, identities=[_identity(row)]))
    touched = {r.certno for r in plan.new_identities} | {c.row.certno for c in plan.changed}
    persons = {p.certno: p for p in s.scalars(select(Person).where(
        Person.certno.in_(touched)))} if touched else {}
    changed: dict[int, list[str]] = {}

    def note(person_id: int, what: str) -> None:
        changed.setdefault(person_id, []).append(what)

    for row in plan.new_identities:
        persons[row.certno].identities.append(_identity(row))
        note(persons[row.certno].id, f"第{row.row}行新增{row.category}")
    # identities read by `registered` carry their key
    ids = [c.identity.id for c in plan.changed] + [e.identity.id for e in plan.exited]
    identities: dict[int | None, Identity] = {i.id: i for i in s.scalars(
        select(Identity).where(Identity.id.in_(ids)))} if ids else {}
    for c in plan.changed:
        i, row, p = identities[c.identity.id], c.row, persons[c.row.certno]
        i.category, i.from_date, i.to_date = row.category, row.start, row.end
        if row.application is not None:
            i.application_date = row.application
        p.name = row.name
        if row.disability_grade is not None:
            p.disability_grade = row.disability_grade
        note(p.id, f"第{row.row}行变更{row.category}")
    for e in plan.exited:
        i = identities[e.identity.id]
        i.to_date = e.end
        note(i.person_id, f"{i.category}于{e.end}退出")
    return changed


def report_json(plan: ImportPlan, applied: bool, dry_run: bool, to: Target,
                source: str) -> dict[str, Any]:
    """The diff report: whole ID numbers (only a caseworker of the district or an admin
    imports), bad rows as the parser reported them (masked)."""
    def row(r: RosterRow) -> dict[str, Any]:
        return {"row": r.row, "certno": r.certno, "name": r.name, "category": r.category,
                "department": r.department, "from": str(r.start),
                "to": None if r.end is None else str(r.end)}

    def identity(i: RegisteredIdentity) -> dict[str, Any]:
        return {"certno": i.certno, "name": i.name, "category": i.category,
                "department": i.department, "from": str(i.start)}

    return {
        "source": source, "jurisdiction": to.jurisdiction, "district": to.district,
        "month": f"{plan.month:%Y-%m}", "departments": list(plan.departments),
        "dry_run": dry_run, "applied": applied, "counts": plan.counts(),
        "new_persons": [row(r) for r in plan.new_persons],
        "new_identities": [row(r) for r in plan.new_identities],
        "changed": [row(c.row) | {"fields": list(c.fields)} for c in plan.changed],
        "unchanged": [{"row": u.row.row, "certno": u.row.certno} for u in plan.unchanged],
        "exited": [identity(e.identity) | {"to": str(e.end)} for e in plan.exited],
        "errors": [{"row": e.row, "column": e.column, "value": e.value, "reason": e.reason}
                   for e in sorted(plan.errors, key=lambda e: e.row)],
    }

