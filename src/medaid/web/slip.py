"""结算单 The patient's settlement slip: who, where, when, the three tiers and what the
person pays, each reason in Chinese with its document's number and article. The same
`Slip` is drawn as a page (with a print stylesheet) and as a PDF (`web.slip_pdf`).

The entry is read through `settlements.get`, which checks scope (a hospital its own
settlements, a caseworker its district) and audits the read; the ID number is always
masked: the slip is handed to the patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy import select

from medaid.app import settlements, wire
from medaid.app.auth import READ_ALL
from medaid.app.uow import UnitOfWork
from medaid.core import clock, divisions, labels
from medaid.registry import idcard
from medaid.store.models import Person
from medaid.web.guard import Visitor
from medaid.web.render import CITY_LABELS, category_label, page, render, when, yuan
from medaid.web.views import amount_rows

router = APIRouter()

# What the slip shows as the three tiers and the rest, in reading order (field, label).
TIER_ROWS = (("hifp_pay", labels.TIERS["hifp"][0]), ("hifmi_pay", labels.TIERS["hifmi"][0]),
             ("maf_pay", labels.TIERS["assistance"][0]))
# Shown under the assistance it is part of, where the visit's stages paid any.
PART_ROWS = (("reassistance", f"其中：{labels.TIERS['reassistance'][0]}"),)


def grouped(number: str) -> str:
    """A settlement number read aloud over a counter: groups of four ('A8D7 D8E3 …')."""
    text = number.upper()
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


@dataclass(frozen=True, slots=True)
class Reason:
    text: str
    citation: str
    amount: str  # '' when the line names no amount


@dataclass(frozen=True, slots=True)
class Adjusted:
    """What the visit stands at after the adjustments made to it since (补差)."""

    summary: str  # 本结算其后经补差：现医疗救助…
    changes: list[tuple[str, str, str]]  # (time, reason, difference of assistance)
    reasons: list[Reason]  # the trace of its last settlement again


@dataclass(frozen=True, slots=True)
class Slip:
    setl_id: str
    number: str  # grouped
    entry: str  # settle | cancel
    reverses: str | None
    cancelled_by: str | None
    psn_no: str
    name: str
    certno: str  # masked
    district: str
    hospital: str
    hospital_code: str
    medins_setl_id: str
    kind: str
    start: str
    end: str
    city: str
    category: str
    settled_at: str  # Beijing time
    printed_at: str
    total: str
    tiers: list[tuple[str, str, str]]  # (field, label, amount)
    pays: str
    reasons: list[Reason]
    data: dict[str, Any]  # the API's JSON of the entry
    adjusted: Adjusted | None = None


def _reasons(trace: list[dict[str, Any]]) -> list[Reason]:
    return [Reason(t.get("text") or t.get("detail") or "", t.get("citation") or "",
                   yuan(t["amount"]) if t.get("amount") else "") for t in trace]


def _adjusted(a: dict[str, Any] | None, jurisdiction: str) -> Adjusted | None:
    if a is None:
        return None
    return Adjusted(
        f"本结算其后经补差：现医疗救助 {yuan(a['maf_pay'])}、个人负担 {yuan(a['psn_part_amt'])}"
        f"（按{category_label(jurisdiction, a['category'])}），差额由医疗救助基金补付或追回。",
        [(when(c["time"]), c["reason"], yuan(c["maf_pay"]))
         for c in a["adjustments"]], _reasons(a["trace"]))


def slip(uow: UnitOfWork, who: Visitor, setl_id: str) -> Slip:
    entry, cancelled = settlements.get(uow, who.actor, setl_id)  # scope and audit
    data = wire.entry_json(entry, entry.institution.code, cancelled,
                           adjustments=entry.adjustments)
    person = uow.session.scalars(select(Person).where(Person.id == entry.person_id)).one()
    jurisdiction = entry.policy.split(" ")[0]
    reasons = _reasons(data["trace"])
    return Slip(
        setl_id=entry.setl_id, number=grouped(entry.setl_id), entry=entry.kind,
        reverses=data["reverses"], cancelled_by=cancelled, psn_no=entry.psn_no,
        name=person.name, certno=idcard.mask(person.certno),
        district=divisions.name(person.district), hospital=entry.institution.name,
        hospital_code=entry.institution.code, medins_setl_id=entry.medins_setl_id,
        kind=labels.label(labels.KINDS, entry.visit_kind), start=data["start"],
        end=data["end"], city=CITY_LABELS.get(jurisdiction, jurisdiction),
        category=category_label(jurisdiction, entry.category),
        settled_at=when(entry.created_at), printed_at=when(clock.now()),
        total=yuan(data["medfee_sumamt"]),
        tiers=[(f, label, yuan(data[f])) for f, label in TIER_ROWS]
        + [(f, label, yuan(data[f])) for f, label in PART_ROWS if data[f]],
        pays=yuan(data["psn_part_amt"]), reasons=reasons, data=data,
        adjusted=_adjusted(data.get("adjusted"), jurisdiction))


def _reads_persons(who: Visitor) -> bool:
    return who.actor.role in ("caseworker", *READ_ALL)


SetlId = Annotated[str, Path(max_length=40)]


@router.get("/settlements/{setl_id}")
async def slip_page(setl_id: SetlId, request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        s = slip(uow, who, setl_id)
        return render(who, "slip.html", active="", s=s, rows=amount_rows(s.data),
                      person_link=_reads_persons(who))

    return await page(request, "settlement", work)


@router.get("/settlements/{setl_id}/pdf")
async def slip_pdf(setl_id: SetlId, request: Request) -> Response:
    from medaid.web import slip_pdf as pdf  # reportlab: the pdf extra

    def work(uow: UnitOfWork, who: Visitor) -> Response:
        s = slip(uow, who, setl_id)
        return Response(pdf.render(s), media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="settlement-{s.setl_id}.pdf"',
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

    return await page(request, "settlement", work)
