"""A person's statuses (policy `statuses:`, e.g. 门诊特殊病种认定): recorded with their dates
and who recorded them, read when the person's visits are settled.

A status the person's jurisdiction does not declare is refused, naming it. Recording one
(or ending one: the same status and start again, with an end date) settles the person's
ledger years again, as an identity change does, so that the visits its dates reach are
paid as the rules now say (docs/RESETTLEMENT.md).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from medaid.app import auth, resettle
from medaid.app.auth import READ_ALL, Actor
from medaid.app.uow import UnitOfWork
from medaid.app.wire import ROOT
from medaid.core import clock
from medaid.core.errors import InputError
from medaid.engine.case import as_opt_date, as_text
from medaid.policy import model
from medaid.store.models import Person, PersonStatus

STATUS_CHARS = 40  # person_statuses.status


def declared(jurisdiction: str) -> dict[str, str]:
    """status id → label, of every version of the jurisdiction."""
    return {st.id: st.label for v in model.versions(jurisdiction) for st in v.spec.statuses}


def _person(uow: UnitOfWork, actor: Actor, psn_no: str) -> Person:
    person = uow.session.scalars(select(Person).where(Person.psn_no == psn_no)).first()
    if person is None:
        raise auth.no_person("psn_no", psn_no)
    auth.hide_outside_district(actor, person.district, "psn_no", psn_no)
    return person


def record(uow: UnitOfWork, actor: Actor, psn_no: str, raw: dict[str, Any]) -> PersonStatus:
    """Record a status `{status, from, to}` (dates optional: held all along, open); the
    same status from the same date again sets its end; `withdrawn: true` with its status
    and from removes one recorded in error. Settles the person's years again;
    committed."""
    auth.require(actor, "caseworker", "admin")  # before the look-up: others learn no ids
    person = _person(uow, actor, psn_no)
    auth.require_district(actor, person.district)
    # one record of a person's statuses at a time (two at once would both find no overlap)
    uow.session.execute(select(Person.id).where(Person.id == person.id).with_for_update())
    status = as_text(raw.get("status"), f"{ROOT}.status", STATUS_CHARS)
    known = declared(person.jurisdiction)
    if status not in known:
        listed = "、".join(f"{k}（{v}）" for k, v in known.items()) or "无"
        raise InputError(f"{ROOT}.status", f"{person.jurisdiction} 的政策文件未定义人员状态"
                         f"「{status}」（已定义：{listed}） / the policy declares no status "
                         f"{status!r}")
    start = as_opt_date(raw.get("from"), f"{ROOT}.from")  # none: held all along
    end = as_opt_date(raw.get("to"), f"{ROOT}.to")  # none: still held
    withdrawn = raw.get("withdrawn", False)
    if not isinstance(withdrawn, bool):
        raise InputError(f"{ROOT}.withdrawn", "须为 true 或 false / must be true or false")
    if withdrawn and end is not None:
        raise InputError(f"{ROOT}.to", "撤销误登记的认定只需其状态和起始日期（from），"
                                       "不填终止日期 / a withdrawal names the status and "
                                       "its from only")
    if start is not None and end is not None and end < start:
        raise InputError(f"{ROOT}.to", f"终止日期 {end} 早于起始日期 {start} / ends before it "
                                       f"starts")
    same = list(uow.session.scalars(select(PersonStatus).where(
        PersonStatus.person_id == person.id, PersonStatus.status == status)
        .order_by(PersonStatus.id)))
    row = next((r for r in same if r.from_date == start), None)
    if withdrawn:
        return _withdraw(uow, actor, person, psn_no, known[status], status, start, row)
    for other in same:
        if other is not row and _overlap(start, end, other.from_date, other.to_date):
            raise InputError(f"{ROOT}.from",
                             f"{known[status]}（{status}）{_period(start, end)} 与已登记的 "
                             f"{_period(other.from_date, other.to_date)} 重叠；结束已登记的认定请"
                             f"给出其起始日期（from）和终止日期（to） / overlaps the period "
                             f"recorded from {other.from_date or 'the start'}: to end it, "
                             f"give its own from with a to")
    if row is None:
        row = PersonStatus(person_id=person.id, status=status, from_date=start)
        uow.session.add(row)
    row.to_date, row.recorded_by, row.recorded_at = end, actor.subject, clock.now()
    uow.session.flush()
    what = f"{known[status]} {start or '—'}～{end or ''}"
    resettle.post_persons(uow, actor.subject, {person.id: resettle.Cause(
        "roster", f"person_status:{row.id}",
        f"人员状态变更（{what}）后重新结算 / settled again after a status changed")})
    uow.commit_audited(actor.subject, "person.status", f"person:{psn_no}",
                       {"status": status, "from": None if start is None else str(start),
                        "to": None if end is None else str(end)})
    return row


def _withdraw(uow: UnitOfWork, actor: Actor, person: Person, psn_no: str, label: str,
              status: str, start: date | None, row: PersonStatus | None) -> PersonStatus:
    """Remove a status recorded in error (as if never held): the person's years settled
    again, the audit log keeping what it was."""
    if row is None:
        raise InputError(f"{ROOT}.from", f"{label}（{status}）没有起始日期为 {start or '空'} 的"
                                         f"登记，无可撤销 / no such status recorded from "
                                         f"{start or 'the start'}")
    was = {"status": status, "from": None if start is None else str(start),
           "to": None if row.to_date is None else str(row.to_date)}
    uow.session.delete(row)
    uow.session.flush()
    resettle.post_persons(uow, actor.subject, {person.id: resettle.Cause(
        "roster", f"person_status:{row.id}",
        f"撤销误登记的人员状态（{label} {_period(start, row.to_date)}）后重新结算 / settled "
        f"again after a status recorded in error was withdrawn")})
    uow.commit_audited(actor.subject, "person.status", f"person:{psn_no}",
                       was | {"withdrawn": True})
    return row


def _overlap(a_from: date | None, a_to: date | None, b_from: date | None,
             b_to: date | None) -> bool:
    return (a_from or date.min) <= (b_to or date.max) and (b_from or date.min) <= \
        (a_to or date.max)


def _period(start: date | None, end: date | None) -> str:
    return f"{start or '起'}～{end or '今'}"


def of_person(uow: UnitOfWork, actor: Actor, psn_no: str) -> list[PersonStatus]:
    """The statuses recorded for a person (read as the person's record is read)."""
    auth.require(actor, "caseworker", *READ_ALL)
    person = _person(uow, actor, psn_no)
    auth.require_read(actor, None, person.district)
    rows = recorded(uow, psn_no)
    uow.commit_audited(actor.subject, "person.read", f"person:{psn_no}", {"statuses": True})
    return rows


def person_of(uow: UnitOfWork, psn_no: str) -> Person:
    return uow.session.scalars(select(Person).where(Person.psn_no == psn_no)).one()


def recorded(uow: UnitOfWork, psn_no: str) -> list[PersonStatus]:
    """A person's statuses as recorded, in the order recorded (no check, no audit)."""
    return list(uow.session.scalars(select(PersonStatus).join(
        Person, Person.id == PersonStatus.person_id).where(Person.psn_no == psn_no
                                                           ).order_by(PersonStatus.id)))


def status_json(row: PersonStatus, labels: dict[str, str]) -> dict[str, Any]:
    return {"status": row.status, "label": labels.get(row.status, row.status),
            "from": None if row.from_date is None else str(row.from_date),
            "to": None if row.to_date is None else str(row.to_date),
            "recorded_by": row.recorded_by,
            "recorded_at": row.recorded_at.isoformat(timespec="seconds")}
