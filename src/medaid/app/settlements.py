"""Pre-settlement, settlement and cancellation: the engine, the ledger and a person's pools
in one transaction.

A settlement locks the person's year, replays a retry of the same hospital settlement id
(or refuses another body under it), settles the visit against the pools, and appends the
ledger entry with what it added to each pool. A cancellation appends the reversing entry
and takes those additions back out of the pools.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, select
from sqlalchemy.exc import IntegrityError

from medaid.app import auth
from medaid.app.auth import Actor
from medaid.app.parameters import params_for
from medaid.app.uow import LockedYear, UnitOfWork
from medaid.app.wire import ROOT, VisitRequest, trace_rows
from medaid.core import clock
from medaid.core.errors import Conflict, Forbidden, InputError, NotFound
from medaid.core.money import fmt_yuan, to_yuan
from medaid.engine import types as engine
from medaid.engine.settle import settle_visit
from medaid.policy import model
from medaid.policy.fields import label as field_label
from medaid.policy.params import Num
from medaid.store import audit, pools, queries, visits
from medaid.store.models import (
    AMOUNTS,
    SENT_AMOUNTS,
    SETTLED_AMOUNTS,
    TIERS,
    Adjustment,
    Person,
    PersonYear,
    Settlement,
)

CANCEL_RULE = "cancel"
PREVIEWERS = ("admin", "caseworker")  # name the institution of a 预结算 (hospitals: their own)


@dataclass(frozen=True, slots=True)
class Settled:
    entry: Settlement
    fixmedins_code: str
    created: bool  # False: a retry, answered from the ledger


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """A person as the engine sees them, with what the service needs beside."""

    id: int
    name: str
    jurisdiction: str
    district: str
    person: engine.Person
    departments: tuple[str | None, ...]  # the recognising department of each identity


@dataclass(frozen=True, slots=True)
class InstitutionRecord:
    id: int
    code: str
    level: int | None


def find_person(uow: UnitOfWork, psn_no: str, path: str = f"{ROOT}.psn_no") -> PersonRecord:
    return with_statuses(uow, _person_record(uow.rows(queries.PERSON, {"psn_no": psn_no}),
                                             psn_no, path))


def with_statuses(uow: UnitOfWork, p: PersonRecord) -> PersonRecord:
    """The person with the statuses they hold (app.statuses), read only where a version
    of their jurisdiction declares any: a city without them spends no query."""
    if not any(v.spec.statuses for v in model.versions(p.jurisdiction)):
        return p
    held = tuple(engine.Held(r.status, r.from_date, r.to_date)
                 for r in uow.rows(queries.PERSON_STATUSES, {"person_id": p.id}))
    return dataclasses.replace(p, person=dataclasses.replace(p.person, statuses=held))


def _person_record(rows: Sequence[Any], psn_no: str, path: str) -> PersonRecord:
    if not rows:
        raise auth.no_person(path, psn_no)
    p = rows[0]
    found = [r for r in rows if r.category is not None]
    return PersonRecord(
        p.id, p.name, p.jurisdiction, p.district,
        engine.Person(p.psn_no, tuple(engine.Identity(r.category, r.from_date, r.to_date,
                                                      r.application_date) for r in found),
                      p.disability_grade, p.tilted_application),
        tuple(r.department for r in found))


def acting_institution(uow: UnitOfWork, actor: Actor, code: str | None,
                       naming: tuple[str, ...] = ("admin",)) -> InstitutionRecord:
    """The institution a request settles for: a hospital token's own; the roles of `naming`
    name it (fixmedins_code); any other role may not."""

    def load(query: Executable, key: dict[str, object]) -> InstitutionRecord | None:
        row = uow.session.connection().execute(query, key).first()
        return None if row is None else InstitutionRecord(row.id, row.code, row.level)

    if actor.role == "hospital":
        own = uow.cache.get(("institution", actor.institution_id), lambda: load(
            queries.INSTITUTION_BY_ID, {"id": actor.institution_id}))
        assert own is not None  # a foreign key of the token
        if code is not None and code != own.code:
            raise Forbidden(f"此令牌只能为定点医药机构 {own.code} 结算，不能为 {code} / "
                            f"this token settles for {own.code}, not {code}")
        return own
    auth.require(actor, *naming)
    if code is None:
        raise InputError(f"{ROOT}.fixmedins_code", "必填：此令牌不属于某一定点医药机构 / required "
                         "for a token not bound to one institution")
    named = uow.cache.get(("institution", code), lambda: load(queries.INSTITUTION_BY_CODE,
                                                              {"code": code}))
    if named is None:
        uow.cache.forget(("institution", code))  # it may be created next
        raise NotFound(f"{ROOT}.fixmedins_code", f"未找到定点医药机构「{code}」 / "
                                                 f"no institution {code!r}")
    return named


def compute(uow: UnitOfWork, p: PersonRecord, visit: engine.Visit,
            before: dict[str, Num]) -> tuple[engine.Settlement, dict[str, Num]]:
    """The engine's settlement of `visit` against the pools `before`, under the policy in
    force on its end date and today's local parameters."""
    policy = model.in_force(model.versions(p.jurisdiction), visit.end)
    if policy is None:
        first = model.versions(p.jurisdiction)[0]
        raise InputError(f"{ROOT}.end", f"no policy in force for {p.jurisdiction} on "
                         f"{visit.end}; in force from {first.in_force}")
    return settle_visit(policy, params_for(uow, policy, visit.end.year), p.person, before,
                        visit, ROOT)


def _visit(req: VisitRequest, inst: InstitutionRecord) -> engine.Visit:
    if req.visit.hospital_level is None and inst.level is not None:
        return dataclasses.replace(req.visit, hospital_level=inst.level)
    return req.visit


def preview(uow: UnitOfWork, actor: Actor, req: VisitRequest
            ) -> tuple[InstitutionRecord, engine.Settlement]:
    """预结算: the settlement the visit would get now; nothing is stored. A caseworker may
    run one (naming the institution) for a person of its district."""
    inst = acting_institution(uow, actor, req.fixmedins_code, naming=PREVIEWERS)
    person = find_person(uow, req.psn_no)
    if actor.role == "caseworker":
        auth.hide_outside_district(actor, person.district, f"{ROOT}.psn_no", req.psn_no)
    visit = _visit(req, inst)
    year = uow.session.scalars(select(PersonYear.pools).where(
        PersonYear.person_id == person.id, PersonYear.year == visit.end.year)).first()
    settlement, _ = compute(uow, person, visit, pools.decode(year or {}))
    return inst, settlement


@dataclass(frozen=True, slots=True)
class Posting:
    """A settlement computed and not yet written: its ledger row, the pools it leaves and
    its audit entry's detail."""

    values: dict[str, Any]
    after: dict[str, Num]
    detail: dict[str, Any]

    @property
    def object(self) -> str:
        return f"settlement:{self.values['setl_id']}"


def posting(uow: UnitOfWork, person: PersonRecord, inst: InstitutionRecord, req: VisitRequest,
            year: LockedYear, at: datetime | None = None) -> Posting:
    """Settle `req` against the locked year's pools, as a ledger row of `inst` made `at`
    (default now)."""
    assert req.medins_setl_id is not None
    visit = _visit(req, inst)
    settlement, after = compute(uow, person, visit, year.pools)
    values = {
        "setl_id": _new_id(), "kind": "settle", "reverses_id": None,
        "institution_id": inst.id, "medins_setl_id": req.medins_setl_id,
        "mdtrt_id": req.mdtrt_id, "person_id": person.id, "psn_no": req.psn_no,
        "year": settlement.year, "request_hash": req.digest(), "med_type": req.med_type,
        "visit_kind": visit.kind, "start": visit.start, "end": visit.end,
        "policy": settlement.policy, "settled_as": settlement.settled_as,
        "category": settlement.category, "rules": settlement.rules,
        "trace": trace_rows(settlement.trace),
        "pool_deltas": pools.encode(pools.deltas(year.pools, after)),
        "created_at": at or _now(), "visit": visits.encode(visit),
        **{name: getattr(visit, name) for name in SENT_AMOUNTS},
        **{name: getattr(settlement, name) for name in SETTLED_AMOUNTS}}
    detail = {"psn_no": req.psn_no, "fixmedins_code": inst.code,
              "medins_setl_id": req.medins_setl_id, "maf_pay": settlement.maf_pay}
    return Posting(values, after, detail)


def post(uow: UnitOfWork, actor: Actor, p: Posting, year: LockedYear) -> None:
    """Write a posting in the caller's transaction (not committed): the ledger entry, the
    person's pools and the audit entry."""
    conn = uow.session.connection()
    conn.execute(queries.APPEND, p.values)
    uow.save_year(year, p.after)
    audit.append(conn, actor.subject, "settle", p.object, p.detail)


def settle(uow: UnitOfWork, actor: Actor, req: VisitRequest, at: datetime | None = None
           ) -> Settled:
    """结算: settle and commit with the person's pools; idempotent on medins_setl_id.
    `at` (default now) is when the ledger says it was settled: only a replay of past
    settlements (the demo year) gives one.

    The unique key (institution, medins_setl_id, kind) is what detects a retry: its insert
    fails, the transaction is rolled back, and the stored settlement answers it. A retry
    is rare, so the common case spends no query looking for one first."""
    assert req.medins_setl_id is not None
    inst = acting_institution(uow, actor, req.fixmedins_code)
    if _postgresql(uow):  # the person and the lock on the year at once
        person, locked = _locked_person(uow, uow.rows(queries.PG_PERSON_LOCKING_YEAR, {
            "psn_no": req.psn_no, "year": req.visit.end.year}), req)
    else:
        person, locked = find_person(uow, req.psn_no), None
    return _settle_locked(uow, actor, inst, req, person, locked, at)


def settle_by_token(uow: UnitOfWork, token: str | None, req: VisitRequest) -> Settled:
    """`settle` for the caller of a bearer token (None: none sent), refused as `settle`'s
    caller is (401, then 403, then 404). On PostgreSQL the token is read in the statement
    that reads the person and locks the year (queries.PG_TOKEN_PERSON_LOCKING_YEAR), one
    round trip for the three, so a revoked or expired token is refused by the row read in
    this very transaction, as `auth.actor_of` refuses it."""
    if token is None or not _postgresql(uow):
        return settle(uow, auth.actor_of(uow, token), req)
    assert req.medins_setl_id is not None
    rows = uow.rows(queries.PG_TOKEN_PERSON_LOCKING_YEAR, {
        "token_hash": auth.token_hash(token), "now": clock.now(),
        "psn_no": req.psn_no, "year": req.visit.end.year})
    r = rows[0]
    actor = auth.actor_of_row(None if r.token_id is None else auth.TokenRow(
        r.token_id, r.token_role, r.token_institution_id, r.token_district, r.token_user_id,
        r.token_expires_at, r.token_revoked_at, r.token_kind))
    inst = acting_institution(uow, actor, req.fixmedins_code)
    if r.may_settle:
        person, locked = _locked_person(uow, rows if r.id is not None else [], req)
    else:  # the statement took no lock (the token's row refused above is the rule)
        locked = None if r.id is None else uow.lock_year(r.id, req.visit.end.year)
        person = find_person(uow, req.psn_no)
    return _settle_locked(uow, actor, inst, req, person, locked, None)


def _postgresql(uow: UnitOfWork) -> bool:
    return bool(uow.session.connection().dialect.name == "postgresql")


def _locked_person(uow: UnitOfWork, rows: Sequence[Any], req: VisitRequest
                   ) -> tuple[PersonRecord, LockedYear | None]:
    """The person of rows of PG_PERSON_LOCKING_YEAR's columns, and their year if locked."""
    person = with_statuses(uow, _person_record(rows, req.psn_no, f"{ROOT}.psn_no"))
    if rows[0].year_id is None:
        return person, None
    if rows[0].version != rows[0].seen_version:
        # the year was written while the statement waited for its lock (an identity
        # change's re-settlement): the person as now committed
        person = find_person(uow, req.psn_no)
    return person, LockedYear(rows[0].year_id, pools.decode(rows[0].pools))


def _settle_locked(uow: UnitOfWork, actor: Actor, inst: InstitutionRecord, req: VisitRequest,
                   person: PersonRecord, locked: LockedYear | None, at: datetime | None
                   ) -> Settled:
    """Settle `req` for `person`, their year locked (None: lock it now), and commit."""
    assert req.medins_setl_id is not None
    conn = uow.session.connection()
    try:
        year = locked or uow.lock_year(person.id, req.visit.end.year)
        p = posting(uow, person, inst, req, year, at)
        if conn.dialect.name == "postgresql":
            # The ledger entry, the pools and the audit entry in one statement, sent with
            # the commit: the audit chain's head is locked for no round trip of ours.
            uow.commit_with(queries.PG_SETTLE, {
                **p.values,
                **{name: json.dumps(p.values[name]) for name in queries.JSON_COLUMNS},
                "year_id": year.id, "new_pools": json.dumps(pools.encode(p.after)),
                **audit.pg_params(actor.subject, "settle", p.object, p.detail)})
        else:
            post(uow, actor, p, year)
            uow.commit()
    except IntegrityError:
        uow.rollback()
        done = _entry_for(uow, inst.id, req.medins_setl_id)
        if done is None:
            raise
        return _replay(uow, done, req.digest())
    return Settled(Settlement(**p.values), inst.code, True)


def _entry_for(uow: UnitOfWork, institution_id: int, medins_setl_id: str) -> Settlement | None:
    return uow.session.scalars(select(Settlement).where(
        Settlement.institution_id == institution_id,
        Settlement.medins_setl_id == medins_setl_id, Settlement.kind == "settle")).first()


def _replay(uow: UnitOfWork, done: Settlement, digest: str) -> Settled:
    """A retry answered from the ledger; a settlement since cancelled answers nothing: its
    medins_setl_id is spent (docs/RESETTLEMENT.md, "a cancelled medins_setl_id")."""
    by = cancelled_by(uow, done)
    if by is not None:
        raise Conflict(f"医药机构结算ID {done.medins_setl_id} 的结算 {done.setl_id} 已被撤销"
                       f"（撤销流水 {by}），不能再次使用；重新结算请使用新的医药机构结算ID / "
                       f"medins_setl_id {done.medins_setl_id!r} was settled as {done.setl_id} "
                       f"and cancelled by {by}; settle again under a new medins_setl_id")
    if done.request_hash != digest:
        raise Conflict(f"医药机构结算ID {done.medins_setl_id} 已用于另一次结算（{done.setl_id}，"
                       f"内容不同）；新的结算请使用新的医药机构结算ID / "
                       f"medins_setl_id {done.medins_setl_id!r} was settled as "
                       f"{done.setl_id} with another request; a new settlement needs a new "
                       f"medins_setl_id")
    return Settled(done, done.institution.code, False)


def get(uow: UnitOfWork, actor: Actor, setl_id: str) -> tuple[Settlement, str | None]:
    """A ledger entry and the setl_id of the entry that cancelled it, if any."""
    entry = uow.session.scalars(select(Settlement).where(Settlement.setl_id == setl_id)).first()
    if entry is None:
        raise NotFound("setl_id", f"未找到结算「{setl_id}」 / no settlement {setl_id!r}")
    district = uow.session.scalars(select(Person.district).where(Person.id == entry.person_id)
                                   ).one()
    try:
        auth.require_read(actor, entry.institution_id, district)
    except Forbidden:  # another hospital's, another district's: as if it did not exist
        raise NotFound("setl_id", f"未找到结算「{setl_id}」 / no settlement {setl_id!r}") from None
    found = entry, cancelled_by(uow, entry)
    uow.commit_audited(actor.subject, "settlement.read", f"settlement:{setl_id}",
                       {"psn_no": entry.psn_no})
    return found


def taken_back(uow: UnitOfWork, entry: Settlement
               ) -> tuple[dict[str, int], dict[str, Num], int]:
    """What cancelling a settlement takes back — its amounts, its pool additions, and the
    part of its assistance that adjustments made — read afresh (under the year's lock, a
    page read before it is stale): the settlement and, where the institution's batch
    carries them (route batch), the adjustments made to it since; a paper visit's are the
    person's, and the re-settlement that follows the cancellation reverses them there."""
    net = {name: getattr(entry, name) for name in AMOUNTS}
    change = pools.decode(entry.pool_deltas)
    adjusted = 0
    for a in uow.session.scalars(select(Adjustment).where(
            Adjustment.settlement_id == entry.id, Adjustment.route == "batch")
            .order_by(Adjustment.id)):
        net.update({t: net[t] + getattr(a, t) for t in TIERS})
        change = pools.add(change, pools.decode(a.pool_deltas))
        adjusted += a.maf_pay
    return net, change, adjusted


def cancelled_by(uow: UnitOfWork, entry: Settlement) -> str | None:
    return uow.session.scalars(select(Settlement.setl_id)
                               .where(Settlement.reverses_id == entry.id)).first()


class AmountChanged(Conflict):
    """A cancellation confirmed for one amount of assistance, of a settlement that pays
    another (the caller read another settlement, or a page that is not this one's)."""

    def __init__(self, setl_id: str, expected: int, actual: int) -> None:
        super().__init__(f"结算 {setl_id} 的医疗救助已变化：确认时为 {fmt_yuan(expected)}，"
                         f"现为 {fmt_yuan(actual)}；未撤销，请重新核对 / maf_pay is "
                         f"{to_yuan(actual)}, not {to_yuan(expected)}: not cancelled")
        self.expected, self.actual = expected, actual


def cancel(uow: UnitOfWork, actor: Actor, setl_id: str, psn_no: str | None,
           mdtrt_id: str | None, maf_pay: int | None = None) -> Settlement:
    """撤销: append the reversing entry — of what the visit stands at in the institution's
    batches (`taken_back`) —, take its pool additions back, and settle the person's year
    again (the visits after it were settled on pools that included it). `maf_pay` (fen):
    the assistance the caller confirmed it takes back; a visit that stands at another
    amount is not cancelled (AmountChanged)."""
    from medaid.app import resettle
    auth.require(actor, "hospital", "admin")  # before the look-up: others learn no ids
    original = uow.session.scalars(select(Settlement).where(Settlement.setl_id == setl_id)
                                   ).first()
    if original is None:
        raise NotFound("setl_id", f"未找到结算「{setl_id}」 / no settlement {setl_id!r}")
    auth.require_settle(actor, original.institution_id)
    for name, given, stored in (("psn_no", psn_no, original.psn_no),
                                ("mdtrt_id", mdtrt_id, original.mdtrt_id)):
        if given is not None and given != stored:
            raise InputError(f"{ROOT}.{name}", f"结算 {setl_id} 的{field_label(name)}是"
                             f"「{stored}」，不是「{given}」 / {given!r} is not the {name} of "
                             f"settlement {setl_id} ({stored!r})")
    if original.kind != "settle":
        raise Conflict(f"{setl_id} 是撤销流水，不能再撤销 / {setl_id} is itself a cancellation")
    year = uow.lock_year(original.person_id, original.year)
    done = cancelled_by(uow, original)
    if done is not None:
        raise Conflict(f"结算 {setl_id} 已由 {done} 撤销 / "
                       f"settlement {setl_id} is already cancelled by {done}")
    net, change, adjusted = taken_back(uow, original)
    if maf_pay is not None and maf_pay != net["maf_pay"]:
        raise AmountChanged(setl_id, maf_pay, net["maf_pay"])
    uow.save_year(year, pools.add(year.pools, change, -1))
    negated = {name: -v for name, v in net.items()}
    note = engine.TraceLine("chain", CANCEL_RULE, "撤销", "cancel",
                            {"maf_pay": net["maf_pay"], "adjusted": adjusted,
                             "setl_id": setl_id}, -net["maf_pay"], "撤销")
    entry = Settlement(
        setl_id=_new_id(), kind="cancel", reverses=original,
        institution_id=original.institution_id, medins_setl_id=original.medins_setl_id,
        mdtrt_id=original.mdtrt_id, person_id=original.person_id, psn_no=original.psn_no,
        year=original.year, request_hash=original.request_hash, med_type=original.med_type,
        visit_kind=original.visit_kind, start=original.start, end=original.end,
        policy=original.policy, settled_as=original.settled_as, category=original.category,
        rules=original.rules, trace=trace_rows([note]),
        pool_deltas=pools.encode({k: -v for k, v in change.items()}), created_at=_now(),
        institution=original.institution, visit=None, **negated)
    uow.session.add(entry)
    uow.session.flush()
    resettle.post_year(uow, actor.subject, original.person_id, original.year, resettle.Cause(
        "cancel", f"settlement:{entry.setl_id}",
        f"撤销结算 {setl_id}（撤销流水 {entry.setl_id}）后重新结算本年度 / "
        f"year settled again after {setl_id} was cancelled by {entry.setl_id}"))
    uow.commit_audited(actor.subject, "cancel", f"settlement:{setl_id}",
                       {"psn_no": original.psn_no, "cancelled_by": entry.setl_id},
                       f"settlement {setl_id} is already cancelled")
    return entry


def _new_id() -> str:
    return uuid.uuid4().hex


def _now() -> datetime:
    return clock.now()
