"""双预警: the warning job over the settlement ledger, and a warning's life.

The job (`run`) sums each person-year's ledger entries of a jurisdiction (cancellations are
entries with what the visit stood at negated, so the sums are net), measures the burden its policy's
`monitoring:` section names (`policy.monitoring`) and raises a warning for each
person-year whose burden reaches the threshold: 因病致贫 (`poverty`) for a person with no
identity in force on the reference day, 因病返贫 (`relapse`) for one holding a monitored
category. Running it again updates what it raised; it never duplicates a warning and
never re-opens a dismissed one unless the burden reached a higher level (`level`: whole
thresholds reached).

A warning moves new → verified → enrolled | dismissed; each step records who and why
(a dismissal needs its reason), anything else is a 409. Caseworkers see and act on their
own district; auditors read; admins do everything, and run the job.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import Select, func, select

from medaid.app import auth
from medaid.app.auth import Actor
from medaid.app.parameters import params_for
from medaid.app.uow import UnitOfWork
from medaid.casework.warnings import Threshold, kind_of
from medaid.core import clock, sheets
from medaid.core.errors import Conflict, Forbidden, InputError, NotFound
from medaid.core.money import fmt_ratio, fmt_yuan, to_yuan
from medaid.engine.case import as_jurisdiction
from medaid.policy import model
from medaid.policy import monitoring as m
from medaid.registry import idcard
from medaid.store.models import Adjustment, Identity, Person, Settlement
from medaid.store.warning_models import WARNING_STATES, EarlyWarning, WarningEvent

READERS = auth.CASEWORK
STATE_LABELS = {"new": "新预警", "verified": "已核实", "enrolled": "已纳入救助",
                "dismissed": "已排除"}
# action → (the states it starts from, the state it leads to)
STEPS = {"verify": (("new",), "verified"), "enroll": (("verified",), "enrolled"),
         "dismiss": (("verified",), "dismissed")}
OPEN = ("new", "verified")  # the job keeps their amounts current


@dataclass(frozen=True, slots=True)
class PersonBurden:
    person_id: int
    psn_part_amt: int  # Σ over the year's ledger, net of cancellations
    maf_pay: int
    categories: tuple[str, ...]  # identities in force on the reference day


@dataclass
class Outcome:
    jurisdiction: str
    year: int
    threshold: Threshold | None = None
    raised: int = 0
    reopened: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: str | None = None  # no monitoring to do
    error: str | None = None  # monitoring that could not be done (a missing parameter)
    counts: dict[str, int] = field(default_factory=dict)  # warnings by kind after the run


def _now() -> datetime:
    return clock.now()


def threshold_for(uow: UnitOfWork, jurisdiction: str, year: int) -> Threshold | None:
    """The monitoring of the policy in force at the year's end; None: none defined."""
    policy = model.in_force(model.versions(jurisdiction), date(year, 12, 31))
    if policy is None or policy.spec.monitoring is None:
        return None
    spec = policy.spec.monitoring
    wrong = m.problems(policy.spec)
    if wrong:
        raise InputError(f"{policy.path}: monitoring", "; ".join(wrong))
    params = params_for(uow, policy, year)
    income = params.money(spec.income, year, spec.rule)
    share = params.ratio(spec.threshold_share, year, spec.rule)
    return Threshold(policy, spec, income, share, m.threshold(income, share))


def burdens(uow: UnitOfWork, jurisdiction: str, year: int, on: date,
            person_id: int | None = None) -> list[PersonBurden]:
    """Each person-year of the jurisdiction with ledger entries in `year`."""
    sums = (select(Settlement.person_id, func.sum(Settlement.psn_part_amt),
                   func.sum(Settlement.maf_pay))
            .join(Person, Person.id == Settlement.person_id)
            .where(Person.jurisdiction == jurisdiction, Settlement.year == year)
            .group_by(Settlement.person_id).order_by(Settlement.person_id))
    held = (select(Identity.person_id, Identity.category)
            .join(Person, Person.id == Identity.person_id)
            .where(Person.jurisdiction == jurisdiction, Identity.from_date <= on,
                   (Identity.to_date.is_(None)) | (Identity.to_date >= on))
            .order_by(Identity.id))
    if person_id is not None:
        sums = sums.where(Settlement.person_id == person_id)
        held = held.where(Identity.person_id == person_id)
    # re-settlement's adjustments change what a person bore and was paid
    adjusted = (select(Adjustment.person_id, func.sum(Adjustment.psn_part_amt),
                       func.sum(Adjustment.maf_pay))
                .join(Person, Person.id == Adjustment.person_id)
                .where(Person.jurisdiction == jurisdiction, Adjustment.year == year)
                .group_by(Adjustment.person_id))
    if person_id is not None:
        adjusted = adjusted.where(Adjustment.person_id == person_id)
    categories: dict[int, list[str]] = {}
    for pid, category in uow.session.execute(held):
        categories.setdefault(pid, []).append(category)
    more = {pid: (int(part), int(maf)) for pid, part, maf in uow.session.execute(adjusted)}
    return [PersonBurden(pid, int(part) + more.get(pid, (0, 0))[0],
                         int(maf) + more.get(pid, (0, 0))[1], tuple(categories.get(pid, ())))
            for pid, part, maf in uow.session.execute(sums)]


def person_burden(uow: UnitOfWork, person: Person, year: int, on: date) -> PersonBurden:
    """One person-year (zero when the ledger has nothing for it)."""
    found = burdens(uow, person.jurisdiction, year, on, person.id)
    if found:
        return found[0]
    held = uow.session.scalars(select(Identity.category).where(
        Identity.person_id == person.id, Identity.from_date <= on,
        (Identity.to_date.is_(None)) | (Identity.to_date >= on)).order_by(Identity.id))
    return PersonBurden(person.id, 0, 0, tuple(held))


def reference_day(year: int, today: date | None = None) -> date:
    """Whose identity is in force: on the year's last day, or today for the current year."""
    return min(date(year, 12, 31), today or clock.today())


def run(uow: UnitOfWork, actor: Actor, year: int, jurisdiction: str | None = None,
        today: date | None = None) -> list[Outcome]:
    """The warning job for `year` (every jurisdiction, or one); commits once."""
    auth.require(actor, "admin")
    names = model.jurisdictions() if jurisdiction is None else [jurisdiction]
    on, now = reference_day(year, today), _now()
    outcomes = []
    for name in names:
        outcome = Outcome(name, year)
        outcomes.append(outcome)
        try:
            limit = threshold_for(uow, name, year)
        except InputError as e:  # the others still run; the outcome names what is missing
            outcome.error = str(e)
            continue
        if limit is None:
            outcome.skipped = "no monitoring article in the policy in force"
            continue
        outcome.threshold = limit
        _raise(uow, actor, limit, burdens(uow, name, year, on), outcome, now)
    uow.commit_audited(actor.subject, "warning.run", f"warnings:{year}", {
        "jurisdiction": jurisdiction, "on": str(on), **{
            o.jurisdiction: {"raised": o.raised, "reopened": o.reopened, "updated": o.updated}
            for o in outcomes if o.threshold is not None}},
        f"another warning run for {year} committed first: run again")
    for o in outcomes:
        if o.threshold is not None:
            o.counts = dict(uow.session.execute(
                select(EarlyWarning.kind, func.count()).where(
                    EarlyWarning.year == year, EarlyWarning.jurisdiction == o.jurisdiction)
                .group_by(EarlyWarning.kind)).all())
    return outcomes


def _raise(uow: UnitOfWork, actor: Actor, limit: Threshold, found: list[PersonBurden],
           outcome: Outcome, now: datetime) -> None:
    spec = limit.spec
    stored: dict[int, dict[str, EarlyWarning]] = {}
    for w in uow.session.scalars(select(EarlyWarning).where(
            EarlyWarning.year == outcome.year,
            EarlyWarning.jurisdiction == outcome.jurisdiction)):
        stored.setdefault(w.person_id, {})[w.kind] = w
    for b in found:
        amount = m.burden(spec.measure, b.psn_part_amt, b.maf_pay)
        figures = {"after_insurance": m.burden("after_insurance", b.psn_part_amt, b.maf_pay),
                   "after_assistance": m.burden("after_assistance", b.psn_part_amt, b.maf_pay),
                   "burden": amount, "threshold": limit.amount, "measure": spec.measure,
                   "level": m.level(amount, limit.amount)}
        kind = kind_of(spec, limit.policy, b.categories)
        have = stored.get(b.person_id, {})
        for w in have.values():  # what earlier runs raised: keep it current
            _refresh(actor, w, figures, kind is not None and kind[0] == w.kind, limit,
                     outcome, now)
        if kind is None or kind[0] in have or not m.crosses(amount, limit.amount):
            continue
        w = EarlyWarning(person_id=b.person_id, year=outcome.year, kind=kind[0],
                         jurisdiction=outcome.jurisdiction, category=kind[1], rule=spec.rule,
                         article=spec.article, status="new", dismissed_level=None,
                         created_at=now, updated_at=now, **figures)
        w.events.append(WarningEvent(at=now, actor=actor.subject, from_status=None,
                                     to_status="new", reason=_why(amount, limit)))
        uow.session.add(w)
        outcome.raised += 1


def _why(amount: int, limit: Threshold) -> str:
    return (f"{m.MEASURE_LABELS[limit.spec.measure]} {fmt_yuan(amount)} ≥ 预警标准 "
            f"{fmt_yuan(limit.amount)} = {fmt_ratio(limit.share_bp)} × {fmt_yuan(limit.income)}"
            f"（{limit.spec.rule} {limit.policy.reference(limit.spec.article)}）")


def _refresh(actor: Actor, w: EarlyWarning, figures: dict[str, Any], applies: bool,
             limit: Threshold, outcome: Outcome, now: datetime) -> None:
    """Bring a stored warning up to this run: open ones get the current amounts; a
    dismissed one is re-opened only when its kind still applies and its level rose above
    the level it was dismissed at; an enrolled one stays as decided."""
    if w.status == "dismissed" and applies and figures["level"] > (w.dismissed_level or 0):
        w.events.append(WarningEvent(
            at=now, actor=actor.subject, from_status="dismissed", to_status="new",
            reason=f"re-opened: the burden reached {figures['level']}× the threshold "
                   f"(dismissed at {w.dismissed_level}×); {_why(figures['burden'], limit)}"))
        w.status, w.dismissed_level = "new", None
        outcome.reopened += 1
    elif w.status not in OPEN:
        outcome.unchanged += 1
        return
    if all(getattr(w, k) == v for k, v in figures.items()):
        outcome.unchanged += 1
        return
    for k, v in figures.items():
        setattr(w, k, v)
    w.updated_at = now
    outcome.updated += 1


# -- reading ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Filters:
    year: int | None = None
    jurisdiction: str | None = None
    district: str | None = None
    kind: str | None = None
    status: str | None = None
    category: str | None = None


def _scoped(actor: Actor, filters: Filters) -> Filters:
    """A caseworker's filters narrowed to the district; others must be readers."""
    auth.require(actor, *READERS)
    if actor.role != "caseworker":
        return filters
    if filters.district not in (None, actor.district):
        raise Forbidden(f"区经办只能查看本区（{actor.district}）的预警 / "
                        f"a caseworker of {actor.district} sees only its district")
    return Filters(filters.year, filters.jurisdiction, actor.district, filters.kind,
                   filters.status, filters.category)


def _query(f: Filters) -> Select[EarlyWarning]:
    q = select(EarlyWarning).join(Person, Person.id == EarlyWarning.person_id)
    for column, value in ((EarlyWarning.year, f.year),
                          (EarlyWarning.jurisdiction, f.jurisdiction),
                          (Person.district, f.district), (EarlyWarning.kind, f.kind),
                          (EarlyWarning.status, f.status),
                          (EarlyWarning.category, f.category)):
        if value is not None:
            q = q.where(column == value)
    return q.order_by(EarlyWarning.year, EarlyWarning.jurisdiction, Person.district,
                      EarlyWarning.kind, EarlyWarning.burden.desc(), EarlyWarning.id)


def listing(uow: UnitOfWork, actor: Actor, filters: Filters, action: str = "warning.list"
            ) -> list[EarlyWarning]:
    f = _scoped(actor, filters)
    found = list(uow.session.scalars(_query(f)).unique())
    uow.commit_audited(actor.subject, action, "warnings", {
        "year": f.year, "jurisdiction": f.jurisdiction, "district": f.district,
        "kind": f.kind, "status": f.status, "warnings": len(found)})
    return found


def _load(uow: UnitOfWork, actor: Actor, warning_id: int, write: bool = False
          ) -> EarlyWarning:
    # roles before the look-up: other roles learn nothing of ids
    auth.require(actor, *(auth.CASEWORK_WRITE if write else READERS))
    w = uow.session.get(EarlyWarning, warning_id)
    if w is None:
        raise NotFound("warning_id", f"没有编号为 {warning_id} 的预警 / no warning {warning_id}")
    auth.require_casework(actor, w.person.district, f"预警 {warning_id}")
    return w


def get(uow: UnitOfWork, actor: Actor, warning_id: int) -> EarlyWarning:
    w = _load(uow, actor, warning_id)
    uow.commit_audited(actor.subject, "warning.read", f"warning:{warning_id}",
                       {"psn_no": w.person.psn_no})
    return w


def step(uow: UnitOfWork, actor: Actor, warning_id: int, action: str, reason: str | None
         ) -> EarlyWarning:
    """verify, enroll or dismiss (a dismissal needs its reason)."""
    starts, to = STEPS[action]
    w = _load(uow, actor, warning_id, write=True)
    auth.require_district(actor, w.person.district)
    if action == "dismiss" and not (reason or "").strip():
        raise InputError("$.reason", "排除须填写理由 / a dismissal needs its reason")
    if w.status not in starts:
        raise Conflict(f"预警 {warning_id} 当前为{STATE_LABELS[w.status]}，仅在"
                       f"{'或'.join(STATE_LABELS[s] for s in starts)}时可以这样处理 / warning "
                       f"{warning_id} is {w.status}: {action} needs it {' or '.join(starts)}")
    now = _now()
    w.events.append(WarningEvent(at=now, actor=actor.subject, from_status=w.status,
                                 to_status=to, reason=reason))
    if to == "dismissed":
        w.dismissed_level = w.level
    w.status, w.updated_at = to, now
    uow.commit_audited(actor.subject, f"warning.{action}", f"warning:{warning_id}",
                       {"psn_no": w.person.psn_no, "status": to})
    return w


# -- out -----------------------------------------------------------------------------------------
def _label(jurisdiction: str, category: str | None) -> str | None:
    return None if category is None else model.category_label(jurisdiction, category)


def warning_json(w: EarlyWarning, show_ids: bool, events: bool = False) -> dict[str, Any]:
    p = w.person
    out: dict[str, Any] = {
        "id": w.id, "psn_no": p.psn_no, "certno": p.certno if show_ids else idcard.mask(p.certno),
        "name": p.name, "jurisdiction": w.jurisdiction, "district": p.district,
        "year": w.year, "kind": w.kind, "kind_label": m.KIND_LABELS[w.kind],
        "category": w.category, "category_label": _label(w.jurisdiction, w.category),
        "rule": w.rule, "article": w.article, "measure": w.measure,
        "after_insurance": to_yuan(w.after_insurance),
        "after_assistance": to_yuan(w.after_assistance), "burden": to_yuan(w.burden),
        "threshold": to_yuan(w.threshold), "level": w.level, "status": w.status,
        "updated_at": w.updated_at.isoformat(timespec="seconds")}
    if events:
        out["events"] = [{"at": e.at.isoformat(timespec="seconds"), "actor": e.actor,
                          "from": e.from_status, "to": e.to_status, "reason": e.reason}
                         for e in w.events]
    return out


def outcome_json(o: Outcome) -> dict[str, Any]:
    t = o.threshold
    return {"jurisdiction": o.jurisdiction, "year": o.year, "skipped": o.skipped,
            "error": o.error,
            "rule": t.spec.rule if t else None, "source": t.source if t else None,
            "measure": t.spec.measure if t else None,
            "threshold": to_yuan(t.amount) if t else None,
            "share": fmt_ratio(t.share_bp) if t else None,
            "income": to_yuan(t.income) if t else None,
            "raised": o.raised, "reopened": o.reopened, "updated": o.updated,
            "unchanged": o.unchanged, "warnings": o.counts}


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = ("序号", "预警类型", "年度", "姓名", "公民身份号码", "参保地", "所属区", "人员类别",
           "负担口径", "经基本医保、大病保险后个人负担（元）", "经医疗救助后个人负担（元）",
           "预警标准（元）", "达到标准倍数", "状态", "依据")
_WIDTHS = (6, 10, 8, 10, 22, 10, 10, 24, 30, 18, 18, 14, 10, 12, 26)
YUAN = "#,##0.00"


def export_xlsx(found: list[EarlyWarning], show_ids: bool, title: str) -> bytes:
    """The warning list as the civil-affairs department files it (sheet 预警名单)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "预警名单"
    ws.cell(row=1, column=1, value=title).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    for col, (label, width) in enumerate(zip(HEADERS, _WIDTHS, strict=True), start=1):
        cell = ws.cell(row=2, column=col, value=label)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
        ws.column_dimensions[cell.column_letter].width = width
    for n, w in enumerate(found, start=1):
        p = w.person
        values: tuple[int | str | Decimal, ...] = (
            n, m.KIND_LABELS[w.kind], w.year, p.name,
            p.certno if show_ids else idcard.mask(p.certno), w.jurisdiction, p.district,
            _label(w.jurisdiction, w.category) or "无（未纳入救助对象）",
            m.MEASURE_LABELS[w.measure], to_yuan(w.after_insurance),
            to_yuan(w.after_assistance), to_yuan(w.threshold), w.level,
            STATE_LABELS[w.status], f"{w.rule} {w.article}")
        for col, value in enumerate(values, start=1):
            ws.cell(row=n + 2, column=col, value=value)
        ws.cell(row=n + 2, column=5).number_format = "@"  # never a rounded number
        for col in (10, 11, 12):
            ws.cell(row=n + 2, column=col).number_format = YUAN
    ws.freeze_panes = "A3"
    out = io.BytesIO()
    sheets.save(wb, out)
    return out.getvalue()


def export_title(f: Filters) -> str:
    year = f"{f.year}年度" if f.year is not None else ""
    where = f.jurisdiction or "全部地区"
    return f"{where}{year}因病致贫返贫预警名单" + (f"（{f.district}）" if f.district else "")


def check_filters(raw: Filters) -> Filters:
    """Choices checked against what exists (JSON paths of the query string)."""
    if raw.jurisdiction is not None:
        as_jurisdiction(raw.jurisdiction, "jurisdiction")
    if raw.kind is not None and raw.kind not in m.KINDS:
        raise InputError("kind", "应为" + "、".join(m.KIND_LABELS[k] for k in m.KINDS)
                         + f" / one of {', '.join(m.KINDS)}")
    if raw.status is not None and raw.status not in WARNING_STATES:
        raise InputError("status", "应为" + "、".join(STATE_LABELS[x] for x in WARNING_STATES)
                         + f" / one of {', '.join(WARNING_STATES)}")
    return raw
