"""社会力量参与: the register of charity programmes, matching, and referrals.

Admins keep the register (大病救助项目 of charities and social organisations, NJ（十四）,
YC 第十三条, CZ（十）, JS 五（五）, NB 五（四）). A programme matches a person-year when the
person's burden stays heavy after the three tiers, that is when the year has a warning
that is not dismissed or its burden after assistance is at least the programme's minimum,
and the programme's criteria hold: active on the day, the person's jurisdiction, a
category in force (or `none`: no identity), the age on the reference day, and slots left
for the year; a programme the person-year was already referred to (whatever its answer)
matches no more. A caseworker (own district) or an admin refers a matching person-year;
the programme's answer is recorded as accepted, or declined with a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from medaid.app import auth
from medaid.app import early_warning as ew
from medaid.app.auth import Actor
from medaid.app.uow import UnitOfWork
from medaid.app.wire import ROOT
from medaid.casework.charity import NO_IDENTITY, Seeker, why_not
from medaid.core import clock, labels
from medaid.core.errors import Conflict, InputError, NotFound
from medaid.core.money import to_yuan
from medaid.engine.case import as_date, as_jurisdiction, as_opt_date, as_text, as_whole, as_year
from medaid.policy import model
from medaid.policy.structured import parse_money
from medaid.registry import idcard
from medaid.store.models import Person
from medaid.store.warning_models import (
    REFERRAL_STATES,
    CharityProgramme,
    CharityReferral,
    EarlyWarning,
)

HOLDING = ("referred", "accepted")  # referrals that take one of a year's slots
REGISTER_READERS = ("admin", "auditor", "caseworker", "finance")
FIELDS = ("name", "organisation", "jurisdictions", "categories", "min_burden", "min_age",
          "max_age", "annual_budget", "annual_slots", "active_from", "active_to")


def _now() -> datetime:
    return clock.now()


# -- the register ------------------------------------------------------------------------------
def _texts(raw: object, path: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InputError(path, "应为列表 / must be a list")
    return [as_text(v, f"{path}[{i}]") for i, v in enumerate(raw)]


def _count(raw: object, path: str, low: int, high: int) -> int | None:
    return None if raw is None else as_whole(raw, path, low, high)


def _apply(p: CharityProgramme, raw: dict[str, Any], partial: bool) -> None:
    """Set the fields `raw` gives (all of them unless `partial`), each checked."""
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise InputError(f"{ROOT}.{unknown[0]}", f"未知字段 / unknown field (known: "
                                                 f"{', '.join(FIELDS)})")

    def given(name: str) -> bool:
        return not partial or name in raw

    def path(name: str) -> str:
        return f"{ROOT}.{name}"

    if given("name"):
        p.name = as_text(raw.get("name"), path("name"))
    if given("organisation"):
        p.organisation = as_text(raw.get("organisation"), path("organisation"))
    if given("jurisdictions"):
        p.jurisdictions = _texts(raw.get("jurisdictions"), path("jurisdictions"))
        for i, j in enumerate(p.jurisdictions):
            as_jurisdiction(j, f"{path('jurisdictions')}[{i}]")
    if given("categories"):
        p.categories = _texts(raw.get("categories"), path("categories"))
    known = {c for j in (p.jurisdictions or model.jurisdictions())
             for v in model.versions(j) for c in v.categories} | {NO_IDENTITY}
    for i, c in enumerate(p.categories):
        if c not in known:
            raise InputError(f"{path('categories')}[{i}]", f"所选参保地没有救助身份「{c}」 / "
                             f"no category {c!r} in "
                             f"{', '.join(p.jurisdictions) or 'any jurisdiction'} "
                             f"(or {NO_IDENTITY!r}: no identity in force)")
    if given("min_burden"):
        raw_min = raw.get("min_burden")
        p.min_burden = 0 if raw_min is None else parse_money(raw_min, path("min_burden"))
    if given("min_age"):
        p.min_age = _count(raw.get("min_age"), path("min_age"), 0, 150)
    if given("max_age"):
        p.max_age = _count(raw.get("max_age"), path("max_age"), 0, 150)
    if p.min_age is not None and p.max_age is not None and p.min_age > p.max_age:
        raise InputError(path("max_age"), "不能小于最低年龄 / must be ≥ min_age")
    if given("annual_budget"):
        budget = raw.get("annual_budget")
        p.annual_budget = None if budget is None else parse_money(budget,
                                                                  path("annual_budget"))
    if given("annual_slots"):
        p.annual_slots = _count(raw.get("annual_slots"), path("annual_slots"), 1, 10**6)
    if given("active_from"):
        p.active_from = as_date(raw.get("active_from"), path("active_from"))
    if given("active_to"):
        p.active_to = as_opt_date(raw.get("active_to"), path("active_to"))
    if p.active_to is not None and p.active_to < p.active_from:
        raise InputError(path("active_to"), "不能早于开始日期 / must be on or after "
                                            "active_from")


def _same_name(name: str) -> str:
    return f"已有同名的慈善项目「{name}」 / a programme named {name!r} already exists"


def new_programme(raw: dict[str, Any]) -> CharityProgramme:
    """A programme of `raw`, every field checked; not yet stored."""
    p = CharityProgramme(jurisdictions=[], categories=[], min_burden=0, min_age=None,
                         max_age=None, annual_budget=None, annual_slots=None, active_to=None,
                         created_at=_now())
    _apply(p, raw, partial=False)
    return p


def create_programme(uow: UnitOfWork, actor: Actor, raw: dict[str, Any]) -> CharityProgramme:
    auth.require(actor, "admin")
    p = new_programme(raw)
    uow.session.add(p)
    uow.commit_audited(actor.subject, "charity.create", f"charity:{p.name}",
                       {"organisation": p.organisation},
                       _same_name(p.name))
    return p


def programme(uow: UnitOfWork, actor: Actor, programme_id: int) -> CharityProgramme:
    auth.require(actor, *REGISTER_READERS)
    p = uow.session.get(CharityProgramme, programme_id)
    if p is None:
        raise NotFound("programme_id", f"没有编号为 {programme_id} 的慈善项目 / "
                                       f"no charity programme {programme_id}")
    return p


def update_programme(uow: UnitOfWork, actor: Actor, programme_id: int, raw: dict[str, Any]
                     ) -> CharityProgramme:
    auth.require(actor, "admin")
    p = programme(uow, actor, programme_id)
    _apply(p, raw, partial=True)
    uow.commit_audited(actor.subject, "charity.update", f"charity:{programme_id}",
                       {"fields": sorted(raw)}, _same_name(p.name))
    return p


def delete_programme(uow: UnitOfWork, actor: Actor, programme_id: int) -> None:
    """Only a programme nobody was referred to; otherwise end it (`active_to`)."""
    auth.require(actor, "admin")
    p = programme(uow, actor, programme_id)
    used = uow.session.scalar(select(func.count()).where(
        CharityReferral.programme_id == programme_id))
    if used:
        raise Conflict(f"慈善项目 {programme_id} 已有 {used} 次转介，不能删除；请设定结束日期 / "
                       f"programme {programme_id} has {used} referrals: set active_to to end it")
    uow.session.delete(p)
    uow.commit_audited(actor.subject, "charity.delete", f"charity:{programme_id}",
                       {"name": p.name}, f"programme {programme_id} is in use")


def programmes(uow: UnitOfWork, actor: Actor) -> list[CharityProgramme]:
    auth.require(actor, *REGISTER_READERS)
    return list(uow.session.scalars(select(CharityProgramme).order_by(CharityProgramme.id)))


# -- matching ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Candidate:
    """A person-year as matching sees it."""

    person: Person
    year: int
    on: date  # the reference day: identities in force and age
    categories: tuple[str, ...]
    after_assistance: int  # fen, the ledger's net Σ psn_part_amt
    warning: EarlyWarning | None  # the year's warning that is not dismissed, if any

    @property
    def age(self) -> int:
        born = idcard.birth_date(self.person.certno)
        return self.on.year - born.year - ((self.on.month, self.on.day) < (born.month, born.day))

    @property
    def seeker(self) -> Seeker:
        return Seeker(self.person.jurisdiction, self.year, self.age, self.categories,
                      self.after_assistance, self.warning is not None)


def _person(uow: UnitOfWork, actor: Actor, psn_no: str, path: str, write: bool = False
            ) -> Person:
    auth.require(actor, *(auth.CASEWORK_WRITE if write else auth.CASEWORK))  # before the look-up
    person = uow.session.scalars(select(Person).where(Person.psn_no == psn_no)).first()
    if person is None:
        raise auth.no_person(path, psn_no)
    auth.hide_outside_district(actor, person.district, path, psn_no)
    auth.require_casework(actor, person.district, psn_no)
    return person


def candidate(uow: UnitOfWork, person: Person, year: int, today: date) -> Candidate:
    on = ew.reference_day(year, today)
    b = ew.person_burden(uow, person, year, on)
    warning = uow.session.scalars(select(EarlyWarning).where(
        EarlyWarning.person_id == person.id, EarlyWarning.year == year,
        EarlyWarning.status != "dismissed").order_by(EarlyWarning.id)).first()
    return Candidate(person, year, on, b.categories, b.psn_part_amt, warning)


def _slots_used(uow: UnitOfWork, programme_id: int, year: int) -> int:
    return int(uow.session.scalar(select(func.count()).where(
        CharityReferral.programme_id == programme_id, CharityReferral.year == year,
        CharityReferral.status.in_(HOLDING))) or 0)


def _referred(uow: UnitOfWork, person_id: int, year: int) -> dict[int, str]:
    """The person-year's referrals: programme id → status."""
    return dict(uow.session.execute(select(CharityReferral.programme_id, CharityReferral.status)
                                    .where(CharityReferral.person_id == person_id,
                                           CharityReferral.year == year)).all())


def matches(uow: UnitOfWork, actor: Actor, psn_no: str, year: int, today: date | None = None
            ) -> tuple[Candidate, list[CharityProgramme]]:
    """The programmes a person-year matches now (none it was already referred to)."""
    today = today or clock.today()
    person = _person(uow, actor, psn_no, "psn_no")
    c = candidate(uow, person, year, today)
    referred = _referred(uow, person.id, year)
    found = [p for p in uow.session.scalars(select(CharityProgramme)
                                            .order_by(CharityProgramme.id))
             if why_not(p, c.seeker, today, _slots_used(uow, p.id, year),
                        referred.get(p.id)) is None]
    uow.commit_audited(actor.subject, "charity.match", f"person:{psn_no}",
                       {"year": year, "programmes": [p.id for p in found]})
    return c, found


# -- referrals ---------------------------------------------------------------------------------
def refer(uow: UnitOfWork, actor: Actor, raw: dict[str, Any], today: date | None = None
          ) -> CharityReferral:
    today = today or clock.today()
    psn_no = as_text(raw.get("psn_no"), f"{ROOT}.psn_no")
    year = as_year(raw.get("year"), f"{ROOT}.year")
    pid = _count(raw.get("programme_id"), f"{ROOT}.programme_id", 1, 2**31 - 1)
    if pid is None:
        raise InputError(f"{ROOT}.programme_id", "必填 / required")
    note = raw.get("note")
    note = None if note is None else as_text(note, f"{ROOT}.note")
    person = _person(uow, actor, psn_no, f"{ROOT}.psn_no", write=True)
    auth.require_district(actor, person.district)  # auditors read only
    p = uow.session.get(CharityProgramme, pid)
    if p is None:
        raise NotFound(f"{ROOT}.programme_id", f"没有编号为 {pid} 的慈善项目 / "
                                               f"no charity programme {pid}")
    c = candidate(uow, person, year, today)
    why = why_not(p, c.seeker, today, _slots_used(uow, pid, year),
                  _referred(uow, person.id, year).get(pid))
    if why is not None:
        raise Conflict(f"人员 {psn_no} {year} 年不符合慈善项目 {pid} 的条件：{why} / "
                       f"{psn_no} {year} does not match programme {pid}")
    r = CharityReferral(programme_id=pid, person_id=person.id, year=year,
                        warning_id=c.warning.id if c.warning else None,
                        burden=c.after_assistance, status="referred",
                        referred_by=actor.subject, referred_at=_now(), note=note)
    uow.session.add(r)
    uow.commit_audited(actor.subject, "charity.refer", f"person:{psn_no}",
                       {"programme": pid, "year": year},
                       f"{psn_no} {year} is already referred to programme {pid}")
    return r


def decide(uow: UnitOfWork, actor: Actor, referral_id: int, accepted: bool, note: str | None
           ) -> CharityReferral:
    """The programme's answer: accepted, or declined (with its note)."""
    r = referral(uow, actor, referral_id, write=True)
    auth.require_district(actor, r.person.district)
    if not accepted and not (note or "").strip():
        raise InputError(f"{ROOT}.note", "拒绝须填写说明 / a declined referral needs its note")
    if r.status != "referred":
        raise Conflict(f"转介 {referral_id} 已有答复 / referral {referral_id} is already "
                       f"{r.status}")
    r.status = "accepted" if accepted else "declined"
    r.decided_by, r.decided_at, r.decision_note = actor.subject, _now(), note
    uow.commit_audited(actor.subject, "charity.accept" if accepted else "charity.decline",
                       f"referral:{referral_id}", {"psn_no": r.person.psn_no, "status": r.status},
                       f"referral {referral_id} changed meanwhile")
    return r


def referral(uow: UnitOfWork, actor: Actor, referral_id: int, write: bool = False
             ) -> CharityReferral:
    # roles before the look-up: other roles learn nothing of ids
    auth.require(actor, *(auth.CASEWORK_WRITE if write else auth.CASEWORK))
    r = uow.session.get(CharityReferral, referral_id)
    if r is None:
        raise NotFound("referral_id", f"没有编号为 {referral_id} 的转介 / "
                                      f"no referral {referral_id}")
    auth.require_casework(actor, r.person.district, f"转介 {referral_id}")
    return r


def referrals(uow: UnitOfWork, actor: Actor, year: int | None = None,
              status: str | None = None, programme_id: int | None = None,
              psn_no: str | None = None) -> list[CharityReferral]:
    auth.require(actor, *auth.CASEWORK)
    if status is not None and status not in REFERRAL_STATES:
        raise InputError("status", "应为" + "、".join(
            f"{labels.label(labels.REFERRAL_STATES, x)}（{x}）" for x in REFERRAL_STATES)
            + f" / one of {', '.join(REFERRAL_STATES)}")
    q = select(CharityReferral).join(Person, Person.id == CharityReferral.person_id)
    if actor.role == "caseworker":
        q = q.where(Person.district == actor.district)
    for column, value in ((CharityReferral.year, year), (CharityReferral.status, status),
                          (CharityReferral.programme_id, programme_id),
                          (Person.psn_no, psn_no)):
        if value is not None:
            q = q.where(column == value)
    found = list(uow.session.scalars(q.order_by(CharityReferral.id)).unique())
    uow.commit_audited(actor.subject, "charity.referrals", "referrals",
                       {"year": year, "status": status, "programme_id": programme_id,
                        "psn_no": psn_no, "referrals": len(found)})
    return found


# -- out ---------------------------------------------------------------------------------------
def programme_json(p: CharityProgramme) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "organisation": p.organisation,
            "jurisdictions": p.jurisdictions, "categories": p.categories,
            "min_burden": to_yuan(p.min_burden), "min_age": p.min_age, "max_age": p.max_age,
            "annual_budget": None if p.annual_budget is None else to_yuan(p.annual_budget),
            "annual_slots": p.annual_slots, "active_from": str(p.active_from),
            "active_to": None if p.active_to is None else str(p.active_to)}


def candidate_json(c: Candidate, found: list[CharityProgramme], show_ids: bool
                   ) -> dict[str, Any]:
    return {"psn_no": c.person.psn_no, "name": c.person.name,
            "certno": c.person.certno if show_ids else idcard.mask(c.person.certno),
            "year": c.year, "on": str(c.on), "age": c.age, "categories": list(c.categories),
            "after_assistance": to_yuan(c.after_assistance),
            "warning": None if c.warning is None else {
                "id": c.warning.id, "kind": c.warning.kind, "status": c.warning.status},
            "programmes": [programme_json(p) for p in found]}


def referral_json(r: CharityReferral, show_ids: bool) -> dict[str, Any]:
    p = r.person
    return {"id": r.id, "programme": {"id": r.programme.id, "name": r.programme.name,
                                      "organisation": r.programme.organisation},
            "psn_no": p.psn_no, "name": p.name, "district": p.district,
            "certno": p.certno if show_ids else idcard.mask(p.certno), "year": r.year,
            "warning_id": r.warning_id, "burden": to_yuan(r.burden), "status": r.status,
            "referred_by": r.referred_by,
            "referred_at": r.referred_at.isoformat(timespec="seconds"), "note": r.note,
            "decided_by": r.decided_by,
            "decided_at": None if r.decided_at is None
            else r.decided_at.isoformat(timespec="seconds"),
            "decision_note": r.decision_note}
