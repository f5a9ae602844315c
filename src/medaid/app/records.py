"""Persons, institutions and local parameters as the API creates them, and a person's year.

Validation is the case contract's: a person's identities are checked against the
categories of the person's jurisdiction, and every error names its field by JSON path.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from medaid.app import auth, resettle, statuses, year_end
from medaid.app.auth import Actor
from medaid.app.parameters import check_value, params_for, put
from medaid.app.settlements import find_person
from medaid.app.uow import UnitOfWork
from medaid.app.wire import ROOT, entry_json, pool_amount
from medaid.core import clock, labels
from medaid.core.errors import InputError, NotFound
from medaid.core.money import to_yuan
from medaid.engine import types as engine
from medaid.engine.caps import RAISED
from medaid.engine.case import (
    PersonIn,
    as_district,
    as_jurisdiction,
    as_text,
    as_year,
    dumps,
    parse_json,
    parse_model,
    person_of,
)
from medaid.policy import fields, model, references
from medaid.policy.model import Policy
from medaid.policy.params import Num
from medaid.registry import idcard
from medaid.store import pools
from medaid.store.models import (
    TIERS,
    Adjustment,
    Identity,
    Institution,
    LocalParameter,
    Person,
    PersonYear,
)
from medaid.store.models import Settlement as Entry


def _jurisdiction(raw: dict[str, Any]) -> str:
    return as_jurisdiction(raw.get("jurisdiction"), f"{ROOT}.jurisdiction")


def _district(raw: dict[str, Any]) -> str:
    return as_district(raw.get("district"), f"{ROOT}.district")


def create_institution(uow: UnitOfWork, actor: Actor, raw: dict[str, Any]) -> Institution:
    auth.require(actor, "admin")
    code = as_text(raw.get("fixmedins_code"), f"{ROOT}.fixmedins_code")
    if len(code) != 12:
        raise InputError(f"{ROOT}.fixmedins_code", "定点医药机构编号应为 12 位 / "
                                                   "must be 12 characters")
    level = raw.get("level")
    if level is not None and (isinstance(level, bool) or level not in (1, 2, 3)):
        raise InputError(f"{ROOT}.level", "医院等级应为 1、2、3 或不填 / must be 1, 2, 3 or absent")
    inst = Institution(code=code, name=as_text(raw.get("name"), f"{ROOT}.name",
                                               fields.INSTITUTION_NAME_CHARS),
                       jurisdiction=_jurisdiction(raw), district=_district(raw),
                       level=None if level is None else int(level))
    uow.session.add(inst)
    uow.commit_audited(actor.subject, "institution.create", f"institution:{code}", {},
                       f"institution {code} already exists")
    return inst


def create_person(uow: UnitOfWork, actor: Actor, raw: dict[str, Any]) -> Person:
    m = parse_model(PersonIn, raw, ROOT)
    try:
        certno = idcard.validate(m.certno, clock.today()).number
    except idcard.IdCardError as e:
        raise InputError(f"{ROOT}.certno", str(e)) from None
    jurisdiction = _jurisdiction(raw)
    auth.require_district(actor, m.district)
    parsed = person_of(m, model.versions(jurisdiction)[-1], ROOT, id=m.psn_no)
    person = Person(psn_no=m.psn_no, certno=certno, name=m.name, jurisdiction=jurisdiction,
                    district=m.district, disability_grade=parsed.disability_grade,
                    tilted_application=parsed.tilted_application,
                    identities=[Identity(category=i.category, department=given.department,
                                         from_date=i.start, to_date=i.end,
                                         application_date=i.application)
                                for i, given in zip(parsed.identities, m.identities,
                                                    strict=True)])
    uow.session.add(person)
    uow.commit_audited(actor.subject, "person.create", f"person:{m.psn_no}",
                       {"certno": idcard.mask(certno), "district": m.district,
                        "identities": len(person.identities)},
                       f"a person with psn_no {m.psn_no} or certno {idcard.mask(certno)} "
                       f"already exists")
    return person


def set_parameter(uow: UnitOfWork, actor: Actor, raw: dict[str, Any]) -> LocalParameter:
    auth.require(actor, "admin")
    jurisdiction = _jurisdiction(raw)
    name = as_text(raw.get("name"), f"{ROOT}.name")
    year = raw.get("year")  # null: every year
    if year is not None:
        year = as_year(year, f"{ROOT}.year")
    if "value" not in raw:
        raise InputError(f"{ROOT}.value", "必填 / required")
    check_value(jurisdiction, name, raw["value"], f"{ROOT}.value", year)
    row = put(uow, jurisdiction, name, None if year is None else int(year),
              dumps(raw["value"]), as_text(raw.get("source"), f"{ROOT}.source"))
    resettle_parameter(uow, actor.subject, row)
    uow.commit_audited(actor.subject, "parameter.set", f"parameter:{jurisdiction}.{name}",
                       {"year": row.year, "value": row.value})
    return row


def resettle_parameter(uow: UnitOfWork, subject: str, row: LocalParameter) -> None:
    """Settle again, in the parameter's transaction, every person-year of its jurisdiction
    (of its year, or of every year) that the ledger holds."""
    uow.session.flush()
    pairs = resettle.jurisdiction_years(uow, row.jurisdiction, row.year)
    cause = parameter_cause(row)
    for person_id, years in resettle.by_person(pairs).items():
        resettle.post_persons(uow, subject, {person_id: cause}, years)


def parameter_cause(row: LocalParameter) -> resettle.Cause:
    """Why the person-years of a parameter's jurisdiction (and year) are settled again: the
    parameter by its label where the policy gives one (本地参数「本市上年居民人均可支配收入」)."""
    found = model.versions(row.jurisdiction)
    declared = found[-1].parameter(row.name) if found else None
    said = f"「{declared.label}」（{row.name}）" if declared and declared.label else row.name
    return resettle.Cause(
        "parameter", f"parameter:{row.jurisdiction}.{row.name}/{row.year or '*'}",
        f"本地参数{said}{'' if row.year is None else f'（{row.year}年）'}设为 "
        f"{row.value}（{row.source}）后重新结算 / local parameter {row.name} set to "
        f"{row.value}")


def parameter_json(row: LocalParameter) -> dict[str, Any]:
    return {"jurisdiction": row.jurisdiction, "name": row.name, "year": row.year,
            "value": parse_json(row.value), "source": row.source}


def institution_json(inst: Institution) -> dict[str, Any]:
    return {"fixmedins_code": inst.code, "name": inst.name, "jurisdiction": inst.jurisdiction,
            "district": inst.district, "level": inst.level}


def person_json(p: Person) -> dict[str, Any]:
    """A person as created: the answer to a caseworker or an admin, who see ID numbers."""
    return {"psn_no": p.psn_no, "certno": p.certno, "name": p.name,
            "jurisdiction": p.jurisdiction, "district": p.district,
            "disability_grade": p.disability_grade,
            "tilted_application": None if p.tilted_application is None
            else str(p.tilted_application),
            "identities": [identity_json(engine.Identity(i.category, i.from_date, i.to_date,
                                                         i.application_date), i.department)
                           for i in p.identities]}


def identity_json(i: engine.Identity, department: str | None) -> dict[str, Any]:
    return {"category": i.category, "department": department, "from": str(i.start),
            "to": None if i.end is None else str(i.end),
            "application": None if i.application is None else str(i.application)}


# -- a person's year ---------------------------------------------------------------------------
def person_year(uow: UnitOfWork, actor: Actor, psn_no: str, year: int) -> dict[str, Any]:
    """Identities in force in `year`, each pool used and left against its deductibles and
    caps, and the year's ledger entries with their traces."""
    p = find_person(uow, psn_no, "psn_no")
    if actor.role == "hospital":
        # only a person it has settled for, and only its own settlements; any other person
        # is as unknown to it as a number that exists nowhere (docs/SECURITY.md)
        if uow.session.scalars(select(Entry.id).where(
                Entry.person_id == p.id, Entry.institution_id == actor.institution_id
        ).limit(1)).first() is None:
            raise auth.no_person("psn_no", psn_no)
    else:
        auth.hide_outside_district(actor, p.district, "psn_no", psn_no)
        auth.require_read(actor, None, p.district)
    certno = uow.session.scalars(select(Person.certno).where(Person.id == p.id)).one()
    first, last = date(year, 1, 1), date(year, 12, 31)
    stored = uow.session.scalars(select(PersonYear.pools).where(
        PersonYear.person_id == p.id, PersonYear.year == year)).first()
    used = pools.decode(stored or {})
    query = select(Entry).where(Entry.person_id == p.id, Entry.year == year)
    if actor.role == "hospital":
        query = query.where(Entry.institution_id == actor.institution_id)
    entries = list(uow.session.scalars(query.order_by(Entry.id)))
    # the identities held in the year, and those the year's visits were settled under (a
    # look-back reaches into a year before the recognition)
    under = {e.category for e in entries if e.kind == "settle" and e.category}
    in_year = [(i, dept) for i, dept in zip(p.person.identities, p.departments, strict=True)
               if (i.start <= last and (i.end is None or i.end >= first))
               or (i.category in under and i.start > last)]
    shown = {e.id: e.setl_id for e in entries}
    adjusted = [a for a in uow.session.scalars(select(Adjustment).where(
        Adjustment.person_id == p.id, Adjustment.year == year).order_by(Adjustment.id))
        if a.settlement_id in shown]
    by_entry: dict[int, list[Adjustment]] = {}  # each entry's adjustments, in order
    for a in adjusted:
        by_entry.setdefault(a.settlement_id, []).append(a)
    # a cancellation is of the same person, year and institution as what it cancels
    cancels = {e.reverses_id: e.setl_id for e in entries if e.reverses_id is not None}
    policy = model.in_force(model.versions(p.jurisdiction), last)  # the year's last
    labels = statuses.declared(p.jurisdiction)
    out = {
        "psn_no": psn_no, "certno": certno if actor.sees_ids else idcard.mask(certno),
        "name": p.name, "jurisdiction": p.jurisdiction,
        "district": p.district, "year": year,
        "policy": None if policy is None else f"{policy.jurisdiction} {policy.spec.version}",
        "identities": [identity_json(i, dept) for i, dept in in_year],
        # a person's statuses are casework (a hospital may not read them: app.statuses)
        "statuses": [] if actor.role == "hospital" else
        [statuses.status_json(r, labels) for r in statuses.recorded(uow, psn_no)
         if (r.from_date is None or r.from_date <= last)
         and (r.to_date is None or r.to_date >= first)],
        "pools": [] if policy is None else _pools(uow, policy, year,
                                                  {i.category for i, _ in in_year}, used),
        "settlements": [entry_json(e, e.institution.code, cancels.get(e.id),
                                   adjustments=by_entry.get(e.id, []))
                        for e in entries],
        "adjustments": [adjustment_json(a, shown[a.settlement_id]) for a in adjusted],
        # the year-end stages' payouts are the person's, not a hospital's to read
        "year_end": [] if actor.role == "hospital" else
        [year_end.payout_json(e) for e in year_end.payouts(uow, p.id, year)],
    }
    uow.commit_audited(actor.subject, "person.read", f"person:{psn_no}", {"year": year})
    return out


def adjustment_json(a: Adjustment, setl_id: str) -> dict[str, Any]:
    """An adjustment (补差): the visit's ledger entry it corrects (and the visit's dates),
    why, where the money goes (`route`: batch, the institution's next payment batch, which
    passes it on to the patient; person, the person directly) and each tier's difference
    in yuan."""
    return {"adj_id": a.adj_id, "setl_id": setl_id, "cause": a.cause, "cause_ref": a.cause_ref,
            "reason": a.reason, "route": a.route, "category": a.category, "rules": a.rules,
            "start": str(a.settlement.start), "end": str(a.settlement.end),
            **{t: to_yuan(getattr(a, t)) for t in TIERS},
            "time": a.created_at.isoformat(timespec="seconds")}


def _pools(uow: UnitOfWork, policy: Policy, year: int, categories: set[str],
           used: dict[str, Num]) -> list[dict[str, Any]]:
    """Each pool the person's categories draw on (and any other the year has used)."""
    params = params_for(uow, policy, year)
    limits: dict[str, dict[str, list[dict[str, Any]]]] = {}
    kinds: dict[str, set[str]] = {}  # a pool's visits, to name one the file leaves unlabelled

    def note(pool: str, what: str, rule: str, amount: int | None, why: str | None) -> None:
        item: dict[str, Any] = {"rule": rule, what: None if amount is None else to_yuan(amount)}
        if amount is not None:
            item["left"] = to_yuan(max(0, amount - int(used.get(pool, 0))))
        if why:
            item["unresolved"] = why
        limits.setdefault(pool, {"deductibles": [], "caps": []})[what + "s"].append(item)

    for line in policy.lines:
        if line.spec.grant is not None or not any(line.covers(c) for c in categories):
            continue
        try:
            resolved = params.line(line, year)
        except InputError as e:
            note(line.pool, "deductible", line.rule, None, str(e))
            continue
        assert resolved.curve is not None
        kinds.setdefault(line.pool, set()).update(
            ["*"] if line.spec.kinds == "*" else line.spec.kinds)
        if resolved.curve.deductible:  # a deductible of 0 says nothing
            note(line.pool, "deductible", line.rule, resolved.curve.deductible, None)
        for pool, cap in resolved.caps:
            note(pool, "cap", line.rule, cap, None)
    if policy.spec.tilted is not None and categories:
        try:
            curve, caps = params.tilted(year)
            note(policy.spec.tilted.pool, "deductible", policy.spec.tilted.rule,
                 curve.deductible, None)
            for pool, cap in caps:
                note(pool, "cap", policy.spec.tilted.rule, cap, None)
        except InputError as e:
            note(policy.spec.tilted.pool, "deductible", policy.spec.tilted.rule, None, str(e))
    out = []
    # the engine's own running figures (insurance paid, raised flags, running totals) are
    # not the file's pools
    shown = {k for k in used if not k.startswith(references.INTERNAL_POOL_PREFIX)}
    for name in sorted(set(limits) | shown):
        item = {"pool": name} | pool_amount(used.get(name, 0))
        if name in policy.pool_labels:
            item["label"] = policy.pool_labels[name]
        elif name in kinds:
            named = "全部就诊" if "*" in kinds[name] else "、".join(
                labels.label(labels.KINDS, k) for k in sorted(kinds[name]))
            item["label"] = f"{named}救助基数累计"
        if used.get(RAISED + name):  # a cap a condition raised for the rest of the year
            item["raised"] = True
        for key, values in limits.get(name, {"deductibles": [], "caps": []}).items():
            item[key] = _unique(values)
        out.append(item)
    return out


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def institution_by_code(uow: UnitOfWork, code: str) -> Institution:
    inst = uow.session.scalars(select(Institution).where(Institution.code == code)).first()
    if inst is None:
        raise NotFound("institution", f"未找到定点医药机构「{code}」 / no institution {code!r}")
    return inst
