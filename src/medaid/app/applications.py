"""Applications for assistance (依申请救助 / 事后救助): what one-stop settlement does not
cover — visits settled on paper invoices (out of province, 事后救助 JS 四（三）), visits
in a look-back period before recognition (NJ-W, NB-A3), tilted assistance on application
(YC-T) — entered by a caseworker, reviewed against a documents checklist, and on approval
settled by the engine into the same ledger and pools as one-stop settlement.

States: draft → submitted → under_review → approved | rejected; withdrawn before a
decision. Whoever created or submitted an application may not decide it. docs/APPLICATIONS.md.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import object_session

from medaid.app import auth, resettle, settlements
from medaid.app.auth import Actor
from medaid.app.parameters import put, stored
from medaid.app.settlements import InstitutionRecord, PersonRecord
from medaid.app.uow import UnitOfWork
from medaid.app.wire import ROOT, VisitRequest, entry_json, visit_request
from medaid.core import clock, labels, workdays
from medaid.core.errors import Conflict, Forbidden, InputError, NotFound
from medaid.core.money import fmt_yuan, to_yuan
from medaid.engine.case import as_choice, as_date, as_jurisdiction, as_object, as_text, parse_json
from medaid.engine.types import Visit
from medaid.policy import model
from medaid.policy.fields import label as field_label
from medaid.registry import cells, files
from medaid.registry.types import Problem
from medaid.store import audit, queries
from medaid.store.application_models import KINDS, Application, ApplicationPayment
from medaid.store.application_models import ApplicationVisit as Row
from medaid.store.models import AuditEntry, Institution, Person, Settlement

READERS = ("caseworker", "admin", "auditor", "finance")
WRITERS = ("caseworker", "admin")  # of the person's district, or the city
OPEN = ("submitted", "under_review")  # waiting for a decision: the deadline runs


# -- the documents checklist ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Document:
    item: str
    label: str
    source: str  # seed file and article


_JS = "001_d3c6a34c97c545f3.txt"
ID_CARD = Document("id_card", "身份证或户口簿", f"{_JS} 四（二）")
INVOICES = Document("invoices", "医疗费用发票", f"{_JS} 四（三）")
STATEMENT = Document("insurance_statement", "基本医保、大病保险结算单（补偿审核表）",
                     f"{_JS} 四（三）")
RECOGNITION = Document("recognition", "救助对象身份认定证明（认定日期、申请日期）",
                       f"{_JS} 四（二）")
TILTED_REQUEST = Document("tilted_request", "倾斜救助申请书", "002_6a683430150b9286.txt 第十条 4")
# Every item is required before approval. The documents name the proofs of 事后救助 (JS
# 四（三）: 补偿审核表或结算单（医疗费用发票）) and of a beneficiary (JS 四（二）: 身份证、
# 医疗救助对象证件); a look-back application proves the recognition it reaches back from,
# a tilted one is the written request YC-T's 依申请 asks for.
CHECKLISTS: dict[str, tuple[Document, ...]] = {
    "post_hoc": (ID_CARD, INVOICES, STATEMENT),
    "lookback": (ID_CARD, RECOGNITION, INVOICES, STATEMENT),
    "tilted": (ID_CARD, TILTED_REQUEST, INVOICES, STATEMENT),
}


# -- the review deadline ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LocalSetting:
    """A local parameter of applications: stored like the policies' local parameters
    (local_parameters, per jurisdiction and optionally per year), declared here."""

    name: str
    label: str
    default: int
    source: str


REVIEW_DAYS = LocalSetting(
    "application_review_working_days", "依申请救助审核时限（工作日）", 20,
    "medaid's default, not a document's: none of the five documents sets a deadline for "
    "reviewing an application (JS 四（三）: 及时完成事后救助审核结算; NB 四（四）: 不得拖欠…报销"
    "费用); a deployment sets its own with `medaid application review-days`")


def review_days(uow: UnitOfWork, jurisdiction: str, year: int) -> int:
    text = stored(uow, jurisdiction, year).get(REVIEW_DAYS.name)
    return REVIEW_DAYS.default if text is None else int(parse_json(text))


def set_review_days(uow: UnitOfWork, actor: Actor, jurisdiction: str, days: int,
                    source: str, year: int | None = None) -> None:
    auth.require(actor, "admin")
    as_jurisdiction(jurisdiction, "jurisdiction")
    if not 1 <= days <= 365:
        raise InputError("days", "审核期限应为 1 至 365 个工作日 / 1 to 365 working days")
    put(uow, jurisdiction, REVIEW_DAYS.name, year, str(days), as_text(source, "source"))
    uow.commit_audited(actor.subject, "parameter.set",
                       f"parameter:{jurisdiction}.{REVIEW_DAYS.name}",
                       {"year": year, "value": days})


# -- who ---------------------------------------------------------------------------------------
def _principal(subject: str) -> str:
    """The user (or the token, or the command line) an audit subject names:
    "user:3/token:12" → "user:3"."""
    return subject.split("/", 1)[0]


def _not_own(actor: Actor, app: Application, what: str) -> None:
    me = _principal(actor.subject)
    if me in {_principal(s) for s in (app.created_by, app.submitted_by) if s}:
        raise Forbidden(f"申请 {app.app_no} 由您录入或提交，须由其他工作人员{ACTS[what]} / "
                        f"{me} created or submitted application {app.app_no} and may not "
                        f"{what} it: another official decides")


# -- transitions -------------------------------------------------------------------------------
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "add visits to": (("draft",), "draft"),
    "submit": (("draft",), "submitted"),
    "review": (("draft", "submitted", "under_review"), "under_review"),
    "approve": (("under_review",), "approved"),
    "reject": (("under_review",), "rejected"),
    "withdraw": (("draft", "submitted", "under_review"), "withdrawn"),
}
ACTS = {"add visits to": "添加发票", "submit": "提交", "review": "审核", "approve": "批准",
        "reject": "驳回", "withdraw": "撤回"}


def _state(state: str) -> str:
    return labels.APPLICATION_STATES[state][0]


def _move(app: Application, action: str) -> None:
    allowed, to = TRANSITIONS[action]
    if app.state not in allowed:
        raise Conflict(f"申请 {app.app_no} 当前为{_state(app.state)}，不能{ACTS[action]}（仅限"
                       f"{'或'.join(_state(s) for s in allowed)}时） / application "
                       f"{app.app_no} is {app.state}: cannot {action} it (only when "
                       f"{' or '.join(allowed)})")
    app.state = to


def _load(uow: UnitOfWork, actor: Actor, app_no: str, lock: bool = False) -> Application:
    """The application, locked for a step (`lock`) or read; the role is checked before the
    look-up, so that a role with no business here learns no application numbers."""
    auth.require(actor, *(WRITERS if lock else READERS))
    query = select(Application).where(Application.app_no == app_no)
    found = uow.session.scalars(query.with_for_update() if lock else query).first()
    if found is None:
        raise NotFound("app_no", f"没有申请「{app_no}」 / no application {app_no!r}")
    return found


def _write(uow: UnitOfWork, actor: Actor, action: str, app: Application,
           detail: dict[str, Any]) -> Application:
    uow.commit_audited(actor.subject, f"application.{action}", f"application:{app.app_no}",
                       {"psn_no": app.psn_no, "state": app.state} | detail)
    return app


def _now() -> datetime:
    return clock.now()


# -- visits in -------------------------------------------------------------------------------
def _visit_rows(uow: UnitOfWork, app: Application, raws: Iterable[tuple[str, Mapping[str, Any]]]
                ) -> list[Row]:
    """Visits as the settlement API takes them (`path` names each), checked for a policy in
    force and for visit numbers used twice in the application."""
    versions = model.versions(app.jurisdiction)
    seen = {v.mdtrt_id for v in app.visits}
    rows: list[Row] = []
    for path, raw in raws:
        fields = dict(as_object(raw, path)) | {"psn_no": app.psn_no}
        fields.pop("medins_setl_id", None)
        req = visit_request(fields, settling=False, path=path, also=("institution_name",))
        if model.in_force(versions, req.visit.end) is None:
            raise InputError(f"{path}.end", f"{req.visit.end} 当地尚无施行的政策（"
                             f"{versions[0].in_force} 起施行） / no policy in force for "
                             f"{app.jurisdiction} on {req.visit.end}; in force from "
                             f"{versions[0].in_force}")
        if req.mdtrt_id in seen:
            raise InputError(f"{path}.mdtrt_id", f"本申请中已有「{req.mdtrt_id}」 / visit "
                             f"{req.mdtrt_id!r} is already in application {app.app_no}")
        seen.add(req.mdtrt_id)
        name = fields.get("institution_name")
        if name is not None:
            name = as_text(name, f"{path}.institution_name")
        for field, value, most in (("mdtrt_id", req.mdtrt_id, 64), ("med_type", req.med_type, 8),
                                   ("fixmedins_code", req.fixmedins_code, 40),
                                   ("institution_name", name, 200)):
            if value is not None and len(value) > most:
                raise InputError(f"{path}.{field}", f"{field_label(field)}至多 {most} 个字符 / "
                                                    f"at most {most} characters")
        v = req.visit
        rows.append(Row(
            seq=len(app.visits) + len(rows) + 1, mdtrt_id=req.mdtrt_id, med_type=req.med_type,
            visit_kind=v.kind, start=v.start, end=v.end, medfee_sumamt=v.medfee_sumamt,
            fulamt_ownpay_amt=v.fulamt_ownpay_amt, overlmt_selfpay=v.overlmt_selfpay,
            preselfpay_amt=v.preselfpay_amt, hifp_pay=v.hifp_pay, hifmi_pay=v.hifmi_pay,
            oth_pay=v.oth_pay, location=v.location, referral=v.referral,
            hospital_level=v.hospital_level, heroic_injury=v.heroic_injury,
            rare_disease=v.rare_disease, fixmedins_code=req.fixmedins_code,
            institution_name=name))
    return rows


def _visit_list(raw: object, path: str) -> list[tuple[str, Mapping[str, Any]]]:
    if not isinstance(raw, list):
        raise InputError(path, "应为就诊（发票）列表 / must be a list of visits")
    return [(f"{path}[{i}]", as_object(v, f"{path}[{i}]")) for i, v in enumerate(raw)]


def _request(app: Application, v: Row, inst: InstitutionRecord) -> VisitRequest:
    """The visit as a settlement request of `inst`, under an id of the application's."""
    visit = Visit(
        id=v.mdtrt_id, kind=v.visit_kind, start=v.start, end=v.end,
        medfee_sumamt=v.medfee_sumamt, fulamt_ownpay_amt=v.fulamt_ownpay_amt,
        overlmt_selfpay=v.overlmt_selfpay, preselfpay_amt=v.preselfpay_amt,
        hifp_pay=v.hifp_pay, hifmi_pay=v.hifmi_pay, oth_pay=v.oth_pay, location=v.location,
        referral=v.referral, hospital_level=v.hospital_level, heroic_injury=v.heroic_injury,
        rare_disease=v.rare_disease)
    return VisitRequest(app.psn_no, v.mdtrt_id, f"{app.app_no}-{v.seq}", inst.code,
                        v.med_type, visit)


# -- use cases -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NewApplication:
    psn_no: str
    kind: str
    applied_on: date
    note: str | None


def read_new(raw: Mapping[str, Any], today: date) -> NewApplication:
    """A new application's own fields, each checked (what needs no database)."""
    psn_no = as_text(raw.get("psn_no"), f"{ROOT}.psn_no")
    kind = as_choice(raw.get("kind"), f"{ROOT}.kind", KINDS, "kind of application")
    applied = today if raw.get("applied_on") is None else as_date(raw["applied_on"],
                                                                  f"{ROOT}.applied_on")
    if applied > today:
        raise InputError(f"{ROOT}.applied_on", f"申请日期 {applied} 不能晚于今天（{today}） / "
                                               f"must not be after today {today}")
    note = raw.get("note")
    return NewApplication(psn_no, kind, applied,
                          None if note is None else as_text(note, f"{ROOT}.note"))


def create(uow: UnitOfWork, actor: Actor, raw: dict[str, Any], today: date) -> Application:
    """A draft application of a person of the caseworker's district, with its visits."""
    new = read_new(raw, today)
    psn_no, kind, applied = new.psn_no, new.kind, new.applied_on
    auth.require(actor, *WRITERS)
    person = uow.session.scalars(select(Person).where(Person.psn_no == psn_no)).first()
    if person is None:
        raise auth.no_person(f"{ROOT}.psn_no", psn_no)
    auth.hide_outside_district(actor, person.district, f"{ROOT}.psn_no", psn_no)
    auth.require_district(actor, person.district)
    if kind == "tilted":
        policy = model.in_force(model.versions(person.jurisdiction), applied)
        tilt = None if policy is None else policy.spec.tilted
        if tilt is None or not tilt.requires_application:
            raise InputError(f"{ROOT}.kind", f"此人参保地在申请日期没有依申请的倾斜救助 / "
                             f"{person.jurisdiction} has no tilted assistance on application "
                             f"on {applied}")
    app = Application(
        app_no=f"SQ{today:%Y%m%d}{secrets.token_hex(4).upper()}", person_id=person.id,
        psn_no=psn_no, jurisdiction=person.jurisdiction, district=person.district, kind=kind,
        state="draft", note=new.note,
        checklist=[{"item": d.item, "received": False} for d in CHECKLISTS[kind]],
        created_by=actor.subject, created_at=_now(), applied_on=applied)
    app.visits = _visit_rows(uow, app, _visit_list(raw.get("visits", []), f"{ROOT}.visits"))
    uow.session.add(app)
    return _write(uow, actor, "create", app, {"kind": kind, "visits": len(app.visits)})


def add_visits(uow: UnitOfWork, actor: Actor, app_no: str,
               raws: Iterable[tuple[str, Mapping[str, Any]]], source: str) -> Application:
    app = _load(uow, actor, app_no, lock=True)
    auth.require_district(actor, app.district)
    _move(app, "add visits to")
    added = _visit_rows(uow, app, raws)
    if not added:
        raise InputError(source, "没有发票 / no visits")
    app.visits.extend(added)
    return _write(uow, actor, "visits", app, {"source": source, "added": len(added)})


def visits_json(raw: dict[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return _visit_list(raw.get("visits"), f"{ROOT}.visits")


def submit(uow: UnitOfWork, actor: Actor, app_no: str, today: date) -> Application:
    app = _load(uow, actor, app_no, lock=True)
    auth.require_district(actor, app.district)
    _move(app, "submit")
    _submitted(uow, actor, app, today)
    return _write(uow, actor, "submit", app, {"review_due": str(app.review_due)})


def _submitted(uow: UnitOfWork, actor: Actor, app: Application, today: date) -> None:
    if not app.visits:
        raise Conflict(f"申请 {app.app_no} 尚无发票：请先添加再提交 / application "
                       f"{app.app_no} has no visits: add them before submitting")
    app.submitted_by, app.submitted_on = actor.subject, today
    app.review_due = workdays.add_workdays(today, review_days(uow, app.jurisdiction, today.year))


def checklist(uow: UnitOfWork, actor: Actor, app_no: str, raw: dict[str, Any], today: date
              ) -> Application:
    """Tick documents received (or not); the application is then under review (a draft is
    submitted by it: the papers are in the caseworker's hands)."""
    app = _load(uow, actor, app_no, lock=True)
    auth.require_district(actor, app.district)
    items = as_object(raw.get("items"), f"{ROOT}.items")
    known = [d.item for d in CHECKLISTS[app.kind]]
    for name, received in items.items():
        if name not in known:
            raise InputError(f"{ROOT}.items.{name}", f"不是此类申请的材料（应为 "
                             f"{'、'.join(d.label for d in CHECKLISTS[app.kind])}） / not a "
                             f"document of a {app.kind} application (one of: {', '.join(known)})")
        if not isinstance(received, bool):
            raise InputError(f"{ROOT}.items.{name}", "应为 true 或 false / must be true or false")
    was = app.state
    _move(app, "review")
    if was == "draft":
        _submitted(uow, actor, app, today)
    app.checklist = [{"item": i["item"], "received": items.get(i["item"], i["received"])}
                     for i in app.checklist]
    return _write(uow, actor, "checklist", app, {"items": dict(items)})


def withdraw(uow: UnitOfWork, actor: Actor, app_no: str, raw: dict[str, Any]) -> Application:
    app = _load(uow, actor, app_no, lock=True)
    auth.require_district(actor, app.district)
    _move(app, "withdraw")
    reason = raw.get("reason")
    app.reason = None if reason is None else as_text(reason, f"{ROOT}.reason")
    app.decided_by, app.decided_at = actor.subject, _now()
    return _write(uow, actor, "withdraw", app, {})


def reject(uow: UnitOfWork, actor: Actor, app_no: str, raw: dict[str, Any]) -> Application:
    app = _load(uow, actor, app_no, lock=True)
    auth.require_district(actor, app.district)
    reason = as_text(raw.get("reason"), f"{ROOT}.reason")
    _move(app, "reject")
    _not_own(actor, app, "reject")
    app.reason, app.decided_by, app.decided_at = reason, actor.subject, _now()
    return _write(uow, actor, "reject", app, {"reason": reason})


class AmountChanged(Conflict):
    """An approval confirmed for one amount that would now pay another."""

    def __init__(self, app_no: str, expected: int, now: int) -> None:
        super().__init__(f"申请 {app_no} 的救助金额已变化：确认时为 {fmt_yuan(expected)}，现为 "
                         f"{fmt_yuan(now)}；未批准，请重新核对金额后再确认 / the amount changed "
                         f"from {expected} to {now} fen since it was confirmed: not approved")


def approve(uow: UnitOfWork, actor: Actor, app_no: str, expected: int | None = None
            ) -> Application:
    """Settle the covered visits in date order into the ledger and the person's pools,
    in one transaction, and owe the person the assistance they paid. Approving an
    approved application changes nothing and answers it as it is. With `expected` (fen,
    the amount the official confirmed), an approval that would pay another amount is
    refused (AmountChanged) and nothing is stored."""
    app = _load(uow, actor, app_no, lock=True)
    auth.require_district(actor, app.district)
    if app.state == "approved":
        _not_own(actor, app, "approve")
        return app
    person, paid, setl_ids = _settle_visits(uow, actor, app)
    if expected is not None and paid != expected:
        raise AmountChanged(app.app_no, expected, paid)
    app.decided_by, app.decided_at = actor.subject, _now()
    if paid > 0:
        app.payment = ApplicationPayment(person_id=person.id, amount=paid,
                                         created_at=app.decided_at)
    return _write(uow, actor, "approve", app, {"settlements": setl_ids, "maf_pay": paid})


def approval_amount(uow: UnitOfWork, actor: Actor, app_no: str) -> int:
    """What approving the application would pay now (fen): the approval itself, run and
    rolled back, so that the figure is the one approving gives (and its refusals are the
    same: state, documents, who may decide)."""
    try:
        app = _load(uow, actor, app_no, lock=True)
        auth.require_district(actor, app.district)
        return _settle_visits(uow, actor, app)[1]
    finally:
        uow.rollback()


def _settle_visits(uow: UnitOfWork, actor: Actor, app: Application
                   ) -> tuple[PersonRecord, int, list[str]]:
    """The approval's settlements, posted in the caller's transaction (not committed):
    the person, the assistance paid (fen) and the settlements' ids."""
    _move(app, "approve")
    _not_own(actor, app, "approve")
    missing = [i["item"] for i in app.checklist if not i["received"]]
    if missing:
        named = {d.item: d.label for d in CHECKLISTS[app.kind]}
        lacking = "、".join(named.get(m, m) for m in missing)
        raise Conflict(f"申请 {app.app_no} 尚缺材料：{lacking} / "
                       f"application {app.app_no}: documents not received: "
                       f"{', '.join(missing)}")
    person = settlements.find_person(uow, app.psn_no, "psn_no")
    if app.kind == "tilted":
        person = _tilted_application(uow, actor, app, person)
    paid, setl_ids = 0, []
    for v in sorted(app.visits, key=lambda v: (v.end, v.start, v.seq)):
        inst = _ledger_institution(uow, actor, app, v)
        year = uow.lock_year(person.id, v.end.year)
        p = settlements.posting(uow, person, inst, _request(app, v, inst), year)
        if p.values["category"] is None:  # no identity in force, nor a look-back period
            v.not_covered = p.values["trace"][-1].get("text") or p.values["trace"][-1]["detail"]
            continue
        settlements.post(uow, actor, p, year)
        v.setl_id = p.values["setl_id"]
        paid += p.values["maf_pay"]
        setl_ids.append(v.setl_id)
    return person, paid, setl_ids


def _tilted_application(uow: UnitOfWork, actor: Actor, app: Application,
                        person: PersonRecord) -> PersonRecord:
    """YC-T is paid on application: its date becomes the person's, for its year, and the
    person's years are settled again."""
    have = person.person.tilted_application
    if have is not None and have.year == app.applied_on.year:
        return person
    row = uow.session.get(Person, person.id)
    assert row is not None
    row.tilted_application = app.applied_on
    audit.append(uow.session.connection(), actor.subject, "person.tilted_application",
                 f"person:{app.psn_no}", {"application": app.app_no,
                                          "tilted_application": str(app.applied_on)})
    # RULES (YC-T): the visits settled before the application are paid after the fact
    resettle.post_persons(uow, actor.subject, {person.id: resettle.Cause(
        "application", f"application:{app.app_no}",
        f"倾斜救助申请 {app.app_no}（申请日期 {app.applied_on}）：此前已结算的就诊重新结算 / "
        f"tilted assistance applied for: visits settled before are settled again")})
    return dataclasses.replace(person, person=dataclasses.replace(
        person.person, tilted_application=app.applied_on))


def office_code(district: str) -> str:
    """The ledger's institution for visits settled on paper: the district's
    medical-assistance office (MA + district + 0000, 12 characters like fixmedins_code)."""
    return f"MA{district}0000"


def _ledger_institution(uow: UnitOfWork, actor: Actor, app: Application, v: Row
                        ) -> InstitutionRecord:
    """The visit's own institution when it is registered; otherwise the district's office,
    registered the first time it settles."""
    conn = uow.session.connection()
    for code in (v.fixmedins_code, office_code(app.district)):
        if code is None:
            continue
        row = conn.execute(queries.INSTITUTION_BY_CODE, {"code": code}).first()
        if row is not None:
            return InstitutionRecord(row.id, row.code, row.level)
    code = office_code(app.district)
    office = Institution(code=code, name=f"{app.district} 医疗救助经办机构（事后救助）",
                         jurisdiction=app.jurisdiction, district=app.district, level=None,
                         kind="office")
    uow.session.add(office)
    uow.session.flush()
    audit.append(conn, actor.subject, "institution.create", f"institution:{code}",
                 {"for": "applications"})
    return InstitutionRecord(office.id, code, None)


# -- reading -----------------------------------------------------------------------------------
def get(uow: UnitOfWork, actor: Actor, app_no: str, today: date) -> dict[str, Any]:
    app = _load(uow, actor, app_no)
    auth.require_read(actor, None, app.district)
    out = application_json(app, today)
    uow.commit_audited(actor.subject, "application.read", f"application:{app_no}",
                       {"psn_no": app.psn_no})
    return out


# What each step of an application is called in its history.
STEPS = {"create": "录入申请", "visits": "添加发票", "submit": "提交", "checklist": "核对材料",
         "approve": "批准并结算", "reject": "驳回", "withdraw": "撤回"}


def history(uow: UnitOfWork, app_no: str) -> list[dict[str, Any]]:
    """The application's steps from the audit log, oldest first: when, who (by name), what,
    and for an approval the assistance it settled (fen). The caller has checked that the
    visitor may read the application."""
    from medaid.app import audit_log

    rows = list(uow.session.scalars(select(AuditEntry).where(
        AuditEntry.object == f"application:{app_no}",
        AuditEntry.action.in_([f"application.{s}" for s in STEPS])).order_by(AuditEntry.seq)))
    who = audit_log.names(uow, [r.actor for r in rows])
    out = []
    for r in rows:
        step = r.action.removeprefix("application.")
        out.append({"at": r.at, "who": who[r.actor], "step": step, "label": STEPS[step],
                    "amount": r.detail.get("maf_pay") if step == "approve" else None,
                    "reason": r.detail.get("reason")})
    return out


def listing(uow: UnitOfWork, actor: Actor, today: date, state: str | None = None,
            district: str | None = None, overdue: bool = False) -> list[dict[str, Any]]:
    auth.require(actor, *READERS)
    if actor.role == "caseworker":
        if district is not None and district != actor.district:
            raise Forbidden(f"区经办只能查看本区（{actor.district}）的申请 / "
                            f"a caseworker of {actor.district} may not list {district}")
        district = actor.district
    query = select(Application)
    if state is not None:
        query = query.where(Application.state == state)
    if district is not None:
        query = query.where(Application.district == district)
    if overdue:
        query = query.where(Application.state.in_(OPEN), Application.review_due < today)
    found = [summary_json(a, today) for a in uow.session.scalars(query.order_by(Application.id))]
    uow.commit_audited(actor.subject, "application.list", "applications",
                       {"state": state, "district": district, "overdue": overdue,
                        "found": len(found)})
    return found


def _overdue(app: Application, today: date) -> bool:
    return app.state in OPEN and app.review_due is not None and app.review_due < today


def summary_json(app: Application, today: date) -> dict[str, Any]:
    return {
        "app_no": app.app_no, "psn_no": app.psn_no, "jurisdiction": app.jurisdiction,
        "district": app.district, "kind": app.kind, "state": app.state,
        "applied_on": str(app.applied_on),
        "submitted_on": None if app.submitted_on is None else str(app.submitted_on),
        "review_due": None if app.review_due is None else str(app.review_due),
        "overdue": _overdue(app, today), "visits": len(app.visits),
        "payment": None if app.payment is None else to_yuan(app.payment.amount)}


def application_json(app: Application, today: date) -> dict[str, Any]:
    labels = {d.item: d for d in CHECKLISTS[app.kind]}
    return summary_json(app, today) | {
        "note": app.note, "created_by": app.created_by,
        "created_at": app.created_at.isoformat(timespec="seconds"),
        "submitted_by": app.submitted_by, "decided_by": app.decided_by,
        "decided_at": None if app.decided_at is None
        else app.decided_at.isoformat(timespec="seconds"),
        "reason": app.reason,
        "checklist": [{"item": i["item"], "label": labels[i["item"]].label,
                       "source": labels[i["item"]].source, "received": i["received"]}
                      for i in app.checklist],
        "visits": [_visit_json(v) for v in app.visits],
        "payment": None if app.payment is None else _payment_json(app, app.payment),
    }


def _payment_json(app: Application, payment: ApplicationPayment) -> dict[str, Any]:
    """What the approval owes the person, and what its visits' cancellations and
    adjustments since (补差) change of it: until it is paid out, the person is owed what
    the visits stand at (`due`), and `ledger refunds` leaves those adjustments to it."""
    settled = [v.settlement for v in app.visits if v.settlement is not None]
    session = object_session(app)
    assert session is not None
    cancelled = session.scalar(select(func.coalesce(func.sum(Settlement.maf_pay), 0)).where(
        Settlement.reverses_id.in_([s.id for s in settled]))) if settled else 0
    adjusted = int(cancelled or 0) + sum(a.maf_pay for s in settled for a in s.adjustments)
    return {"amount": to_yuan(payment.amount), "adjusted": to_yuan(adjusted),
            "due": None if payment.paid_at is not None else to_yuan(payment.amount + adjusted),
            "created_at": payment.created_at.isoformat(timespec="seconds"),
            "paid_at": None if payment.paid_at is None
            else payment.paid_at.isoformat(timespec="seconds")}


def _visit_json(v: Row) -> dict[str, Any]:
    def money(x: int | None) -> Decimal | None:
        return None if x is None else to_yuan(x)

    return {
        "seq": v.seq, "mdtrt_id": v.mdtrt_id, "med_type": v.med_type, "kind": v.visit_kind,
        "start": str(v.start), "end": str(v.end),
        **{name: money(getattr(v, name)) for name in (
            "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
            "hifp_pay", "hifmi_pay", "oth_pay")},
        "location": v.location, "referral": v.referral, "hospital_level": v.hospital_level,
        "fixmedins_code": v.fixmedins_code, "institution_name": v.institution_name,
        "settlement": None if v.settlement is None
        else entry_json(v.settlement, v.settlement.institution.code,
                        adjustments=v.settlement.adjustments),
        "not_covered": v.not_covered}


# -- invoices from a file ---------------------------------------------------------------------
# Column headers: the national field name, or the labels offices use (an invoice list of
# 事后救助). A visit's other fields (kind, referral, flags) are the API's only.
COLUMNS: dict[str, tuple[str, ...]] = {
    "mdtrt_id": ("就诊ID", "就诊流水号", "发票号", "票据号"),
    "med_type": ("医疗类别",),
    "start": ("入院日期", "就诊日期", "开始日期"),
    "end": ("出院日期", "结束日期"),
    "medfee_sumamt": ("医疗费总额",),
    "fulamt_ownpay_amt": ("全自费金额",),
    "overlmt_selfpay": ("超限价自费",),
    "preselfpay_amt": ("先行自付金额",),
    "inscp_scp_amt": ("符合政策范围金额",),
    "hifp_pay": ("基本医疗保险统筹基金支出", "统筹基金支付"),
    "hifmi_pay": ("居民大病保险资金支出", "大病保险支付"),
    "oth_pay": ("其他支出",),
    "location": ("就医地",),
    "hospital_level": ("医院等级",),
    "fixmedins_code": ("医疗机构编码", "定点医药机构编号"),
    "institution_name": ("医疗机构名称",),
}
AMOUNT_COLUMNS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                  "inscp_scp_amt", "hifp_pay", "hifmi_pay", "oth_pay", "hospital_level")
LOCATIONS = {"本市": "city", "市内": "city", "省内": "province", "省外": "out_of_province",
             "异地": "out_of_province"}


def invoice_rows(path: Path, name: str) -> list[tuple[str, Mapping[str, Any]]]:
    """The visits of an invoice list (CSV in UTF-8 or GBK, or XLSX: the first sheet, the
    header in the first row), each named `NAME row N` for its errors."""
    rows = iter(files.read_rows(path))
    head = next(rows, None)
    if head is None:
        raise InputError(name, "文件是空的 / empty file")
    labels = {label: field for field, names in COLUMNS.items() for label in (field, *names)}
    columns = {labels[cells.text(c)]: i for i, c in enumerate(head[1])
               if cells.text(c) in labels}
    for need in ("mdtrt_id", "start", "end", "medfee_sumamt"):
        if need not in columns:
            raise InputError(name, f"缺少“{'/'.join(COLUMNS[need])}”列 / no column {need}")
    out: list[tuple[str, Mapping[str, Any]]] = []
    for number, row in rows:
        if all(not cells.text(c) for c in row):
            continue
        where = f"{name} row {number}"
        fields: dict[str, Any] = {}
        for field, i in columns.items():
            text = cells.text(row[i]) if i < len(row) else ""
            if text:
                fields[field] = _cell(field, row[i], text, f"{where}.{field}")
        if "kind" not in fields and "med_type" not in fields:
            fields["med_type"] = "21"  # an invoice list without 医疗类别: inpatient stays
        out.append((where, fields))
    return out


def _cell(field: str, value: object, text: str, path: str) -> object:
    if field in AMOUNT_COLUMNS:
        try:
            return Decimal(text.replace(",", ""))
        except InvalidOperation:
            raise InputError(path, f"应为金额（元），填写的是「{text}」 / not a number: "
                                   f"{text!r}") from None
    if field in ("start", "end"):
        try:
            return str(cells.parse_date(value))
        except Problem as e:
            raise InputError(path, str(e)) from None
    if field == "location":
        return LOCATIONS.get(text, text)
    return text
