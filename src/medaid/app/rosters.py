"""Monthly roster import against the store: parse, plan against the district's registry,
and apply in one transaction — only when no row is bad and it is not a dry run.

The import names the district (6-digit code) its persons belong to; a row's own district
text (`所属区`, written as offices write it) is not compared or stored. Every import, dry
run or refusal is audited with its counts; the audit detail names no person.

The importer says whether a file is the department's complete list or an incremental one
(`registry.plan.MODES`). A complete list that would end more than a share of the
department's open identities in the district (the local setting EXIT_SHARE) is applied
only with the importer's explicit confirmation of who ends.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from medaid.app import auth, resettle
from medaid.app.applications import LocalSetting
from medaid.app.auth import Actor
from medaid.app.parameters import put, stored
from medaid.app.uow import UnitOfWork
from medaid.core.errors import Conflict, InputError
from medaid.engine.case import as_district, as_jurisdiction, as_text, parse_json
from medaid.policy.model import category_label
from medaid.registry import idcard
from medaid.registry.plan import MODES, ImportPlan, plan_import
from medaid.registry.roster import parse_records
from medaid.registry.types import RegisteredIdentity, Roster, RosterRow, RowError
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
            raise InputError("month", "应为年月，如 2026-03 / expected YYYY-MM")
    return Target(j, d, m)


MODE_LABELS = {"complete": "部门完整名单", "incremental": "增量名单"}

EXIT_SHARE = LocalSetting(
    "roster_exit_confirm_percent", "完整名单退出人数须确认的比例（%）", 10,
    "medaid's default, not a document's: a complete list that would end more than this "
    "percentage of the department's open identities in the district is more likely a "
    "partial file than a month's exits, so the importer confirms who ends; a deployment "
    "sets its own with `medaid roster exit-share`")


def exit_share(uow: UnitOfWork, jurisdiction: str, year: int) -> int:
    text = stored(uow, jurisdiction, year).get(EXIT_SHARE.name)
    return EXIT_SHARE.default if text is None else int(parse_json(text))


def set_exit_share(uow: UnitOfWork, actor: Actor, jurisdiction: str, percent: int,
                   source: str) -> None:
    auth.require(actor, "admin")
    as_jurisdiction(jurisdiction, "jurisdiction")
    if not 0 <= percent <= 100:
        raise InputError("percent", "须为 0 到 100 / 0 to 100")
    put(uow, jurisdiction, EXIT_SHARE.name, None, str(percent), as_text(source, "source"))
    uow.commit_audited(actor.subject, "parameter.set",
                       f"parameter:{jurisdiction}.{EXIT_SHARE.name}", {"value": percent})


@dataclass(frozen=True, slots=True)
class ExitCheck:
    """How many identities a complete list ends, of how many open, against the setting."""

    exits: int
    open: int
    limit: int  # percent

    @property
    def percent(self) -> float:
        return 100 * self.exits / self.open if self.open else 0.0

    @property
    def needs_confirmation(self) -> bool:
        return self.exits > 0 and self.percent > self.limit


class ExitsUnconfirmed(Conflict):
    """A complete list ending more than the share, applied without confirming who ends."""

    def __init__(self, plan: ImportPlan, check: ExitCheck) -> None:
        super().__init__(
            f"该名单按部门完整名单导入将使 {check.exits} 人的身份退出（占本辖区该部门在册身份 "
            f"{check.open} 个的 {check.percent:.1f}%，超过 {check.limit}%）：请核对退出名单后"
            f"确认退出再导入；若只是新增或变更，请按增量名单导入 / {check.exits} of {check.open} "
            f"identities would end, more than {check.limit}%: confirm the exits, or import "
            f"the file as an incremental list")
        self.plan, self.check = plan, check


def exit_check(uow: UnitOfWork, plan: ImportPlan) -> ExitCheck:
    return ExitCheck(len(plan.exited), plan.open_identities,
                     exit_share(uow, plan.jurisdiction, plan.month.year))


def as_mode(value: object) -> str:
    """The import mode, which must be given: nobody's list is read as complete by default."""
    if value not in MODES:
        raise InputError("mode", "请选择名单类型：部门完整名单或增量名单 / mode: one of "
                                 f"{', '.join(MODES)}")
    return str(value)


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
    """A roster sent as JSON records (row n is records[n-1]), parsed like a file's rows;
    a record's keys are the fields' names (the API's schema refuses any other)."""
    if not isinstance(records, list) or not records:
        raise InputError("$.records", "应为非空的名单记录列表 / a non-empty list of objects")
    rows: list[tuple[int, Mapping[str, object]]] = []
    for n, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            raise InputError(f"$.records[{n - 1}]", "应为键值对象 / must be an object")
        rows.append((n, rec))
    return parse_records(rows, jurisdiction, today, department=department,
                         source="JSON 名单")


def import_roster(uow: UnitOfWork, actor: Actor, roster: Roster, to: Target, today: date,
                  dry_run: bool, mode: str, confirm_exits: bool = False
                  ) -> tuple[ImportPlan, bool, list[resettle.YearPlan]]:
    """The plan, whether it was applied, and the person-years it changed that the rules
    cannot settle again (each with its error: the ledger keeps them as they were until
    it is mended); audited either way, committed.

    ExitsUnconfirmed (after its refusal is audited) when a complete list ends more than
    EXIT_SHARE of the open identities and `confirm_exits` is not given."""
    auth.require_district(actor, to.district)
    rows = tuple(dataclasses.replace(r, district=None) for r in roster.rows)
    current = registered(uow, to.jurisdiction, to.district)
    plan = plan_import(dataclasses.replace(roster, rows=rows), current, to.jurisdiction,
                       today, month=to.month, mode=as_mode(mode))
    if plan.ok:
        plan = _known_elsewhere(uow, plan, to)
    check = exit_check(uow, plan)
    if plan.ok and not dry_run and check.needs_confirmation and not confirm_exits:
        uow.commit_audited(actor.subject, "roster.exits_unconfirmed",
                           f"roster:{to.jurisdiction}/{to.district}/{plan.month:%Y-%m}",
                           {"source": roster.source, "mode": plan.mode,
                            "counts": plan.counts(), "open": check.open,
                            "limit": check.limit})
        raise ExitsUnconfirmed(plan, check)
    applied = plan.ok and not dry_run
    unsettled: list[resettle.YearPlan] = []
    if applied:
        touched = _apply(uow, plan, to)
        ref = f"roster:{to.jurisdiction}/{to.district}/{plan.month:%Y-%m}"
        unsettled = [y for y in resettle.post_persons(uow, actor.subject, {
            person_id: resettle.Cause(
                "roster", f"{ref} {', '.join(what)}"[:200],
                f"名单导入（{roster.source}，{plan.month:%Y年%m月}）{'、'.join(what)}：身份变动后"
                f"重新结算 / identities changed by the roster import")
            for person_id, what in touched.items()}) if y.error is not None]
    action = "roster.import" if applied else "roster.dry_run" if plan.ok else "roster.refused"
    uow.commit_audited(actor.subject, action,
                       f"roster:{to.jurisdiction}/{to.district}/{plan.month:%Y-%m}",
                       {"source": roster.source, "departments": list(plan.departments),
                        "mode": plan.mode, "counts": plan.counts(),
                        "exits_confirmed": applied and check.needs_confirmation})
    return plan, applied, unsettled


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
        return ImportPlan(plan.jurisdiction, plan.month, plan.departments, errors=errors,
                          mode=plan.mode)
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
        note(persons[row.certno].id,
             f"第{row.row}行新增{category_label(to.jurisdiction, row.category)}")
    # identities read by `registered` carry their key
    ids = [c.identity.id for c in plan.changed] + [e.identity.id for e in plan.exited]
    identities: dict[int | None, Identity] = {i.id: i for i in s.scalars(
        select(Identity).where(Identity.id.in_(ids)))} if ids else {}
    for c in plan.changed:
        i, row, p = identities[c.identity.id], c.row, persons[c.row.certno]
        label = category_label(to.jurisdiction, row.category)
        if c.succeeds:  # the months before keep the category they had
            i.to_date = row.start - timedelta(days=1)
            p.identities.append(_identity(row))
            note(p.id, f"第{row.row}行{category_label(to.jurisdiction, i.category)}自"
                       f"{row.start}起变更为{label}")
        else:
            i.category, i.from_date, i.to_date = row.category, row.start, row.end
            if row.application is not None:
                i.application_date = row.application
            note(p.id, f"第{row.row}行变更{label}")
        p.name = row.name
        if row.disability_grade is not None:
            p.disability_grade = row.disability_grade
    for e in plan.exited:
        i = identities[e.identity.id]
        i.to_date = e.end
        note(i.person_id, f"{category_label(to.jurisdiction, i.category)}于{e.end}退出")
    return changed


def report_json(plan: ImportPlan, applied: bool, dry_run: bool, to: Target,
                source: str, check: ExitCheck, unsettled: Sequence[resettle.YearPlan] = ()
                ) -> dict[str, Any]:
    """The diff report: whole ID numbers (only a caseworker of the district or an admin
    imports), bad rows as the parser reported them (masked); what the exits are a share
    of, and whether they need confirming; the person-years the import changed that the
    rules cannot settle again, and why."""
    def row(r: RosterRow) -> dict[str, Any]:
        return {"row": r.row, "certno": r.certno, "name": r.name, "category": r.category,
                "department": r.department, "from": str(r.start),
                "to": None if r.end is None else str(r.end)}

    def identity(i: RegisteredIdentity) -> dict[str, Any]:
        return {"certno": i.certno, "masked": idcard.mask(i.certno), "name": i.name,
                "category": i.category,
                "department": i.department, "from": str(i.start)}

    return {
        "source": source, "jurisdiction": to.jurisdiction, "district": to.district,
        "month": f"{plan.month:%Y-%m}", "departments": list(plan.departments),
        "dry_run": dry_run, "applied": applied, "mode": plan.mode, "counts": plan.counts(),
        "exit_check": {"exits": check.exits, "open": check.open, "limit": check.limit,
                       "percent": round(check.percent, 1),
                       "needs_confirmation": check.needs_confirmation},
        "new_persons": [row(r) for r in plan.new_persons],
        "new_identities": [row(r) for r in plan.new_identities],
        "changed": [row(c.row) | {"fields": list(c.fields)} for c in plan.changed],
        "unchanged": [{"row": u.row.row, "certno": u.row.certno} for u in plan.unchanged],
        "exited": [identity(e.identity) | {"to": str(e.end)} for e in plan.exited],
        "errors": [{"row": e.row, "column": e.column, "value": e.value, "reason": e.reason}
                   for e in sorted(plan.errors, key=lambda e: e.row)],
        "not_settled_again": [{"psn_no": y.psn_no, "name": y.name, "year": y.year,
                               "error": y.error} for y in unsettled],
    }

