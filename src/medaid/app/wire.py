"""The API's JSON in the national platform's vocabulary: settlement requests in, ledger
entries out. A request is parsed by the case contract's models (`medaid.engine.case`), so its
errors name the field by JSON path (`$.medfee_sumamt: must be ≥ 0`) exactly as `medaid
settle` does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from medaid.app import strict
from medaid.core.errors import InputError
from medaid.core.money import to_yuan
from medaid.engine.case import (
    SettleVisitIn,
    VisitIn,
    as_fen,
    as_object,
    as_text,
    parse_json,
    parse_model,
    settlement_json,
    visit_of,
)
from medaid.engine.types import Settlement, TraceLine, Visit
from medaid.policy import fields
from medaid.policy.fields import MED_TYPES as MED_TYPES  # read from here by the demo
from medaid.policy.params import Num
from medaid.store import models, visits

ROOT = "$"
OUTSIDE = models.SENT_AMOUNTS[1:]  # sent, and not in settlement_json
VISIT_REQUEST_FIELDS = tuple(f.name for f in fields.REQUEST)


def parse_body(body: bytes) -> dict[str, Any]:
    """A request body: a JSON object, numbers as exact Decimals."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(ROOT, "the body must be JSON in UTF-8") from None
    if not text.strip():
        raise InputError(ROOT, "the body must be a JSON object")
    value = parse_json(text)
    strict.check_body(value)  # a field the route does not document (app.strict)
    return dict(as_object(value, ROOT))


def optional_text(raw: dict[str, Any], name: str, path: str = ROOT) -> str | None:
    value = raw.get(name)
    return None if value is None else as_text(value, f"{path}.{name}")


def optional_fen(raw: dict[str, Any], name: str, path: str = ROOT) -> int | None:
    """An optional amount in yuan, as fen."""
    value = raw.get(name)
    return None if value is None else as_fen(value, f"{path}.{name}")


@dataclass(frozen=True, slots=True)
class VisitRequest:
    """A pre-settlement or settlement request, validated."""

    psn_no: str
    mdtrt_id: str
    medins_setl_id: str | None
    fixmedins_code: str | None
    med_type: str | None
    visit: Visit

    def digest(self) -> str:
        """What makes two requests under one medins_setl_id the same request."""
        fields = visits.fields_of(self.visit)
        fields.update(psn_no=self.psn_no, med_type=self.med_type,
                      start=str(self.visit.start), end=str(self.visit.end))
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def parse_visit_request(body: bytes, settling: bool) -> VisitRequest:
    """`settling`: a settlement, which needs the hospital's own settlement id."""
    return visit_request(parse_body(body), settling)


def visit_request(raw: dict[str, Any], settling: bool, path: str = ROOT,
                  also: Collection[str] = ()) -> VisitRequest:
    """A visit's fields as an object at `path` (the body, or a visit inside one), parsed by
    the request's model (medaid.engine.case.VisitIn, SettleVisitIn); `also`: fields the caller
    reads itself, left out of it."""
    m = parse_model(SettleVisitIn if settling else VisitIn,
                    {k: v for k, v in raw.items() if k not in also}, path)
    kind = m.kind
    if kind is None:
        if m.med_type is None:
            raise InputError(f"{path}.med_type", "required (or `kind`)")
        if m.med_type not in MED_TYPES:
            raise InputError(f"{path}.med_type",
                             f"med_type {m.med_type!r} has no visit kind (known: "
                             f"{', '.join(MED_TYPES)}); send `kind` for other visits")
        kind = MED_TYPES[m.med_type]
    return VisitRequest(m.psn_no, m.mdtrt_id, m.medins_setl_id, m.fixmedins_code, m.med_type,
                        visit_of(m, path, kind=kind, id=m.mdtrt_id))


# -- out ---------------------------------------------------------------------------------------
def trace_rows(trace: list[TraceLine]) -> list[dict[str, Any]]:
    return [t.to_json() for t in trace]


def _result(s: Settlement, visit_amounts: dict[str, int]) -> dict[str, Any]:
    out = settlement_json(s)
    del out["id"]
    out.update({name: to_yuan(visit_amounts[name]) for name in OUTSIDE})
    return out


def preview_json(req: VisitRequest, code: str, s: Settlement) -> dict[str, Any]:
    head = {"setl_id": None, "entry": "preview", "medins_setl_id": req.medins_setl_id,
            "mdtrt_id": req.mdtrt_id, "psn_no": req.psn_no, "fixmedins_code": code,
            "med_type": req.med_type, "kind": req.visit.kind, "start": str(req.visit.start),
            "end": str(req.visit.end)}
    return head | _result(s, {n: getattr(req.visit, n) for n in OUTSIDE})


def entry_json(e: models.Settlement, fixmedins_code: str, cancelled_by: str | None = None,
               rendered: bool = False, adjustments: Sequence[models.Adjustment] = ()
               ) -> dict[str, Any]:
    """A ledger entry as the API returns it (a cancellation: the amounts negated). Its
    trace lines are put into words again, in today's wording; `rendered`: the entry was
    settled just now, its lines in words already (as written: the same words). With the
    `adjustments` made to it since, `adjusted` says what the visit stands at now."""
    s = Settlement(
        id=e.mdtrt_id, year=e.year, policy=e.policy, settled_as=e.settled_as,
        category=e.category, rules=list(e.rules), medfee_sumamt=e.medfee_sumamt,
        inscp_scp_amt=e.inscp_scp_amt, hifp_pay=e.hifp_pay, hifmi_pay=e.hifmi_pay,
        oth_pay=e.oth_pay, base=e.base, assistance=e.assistance, tilted=e.tilted,
        special=e.special, reassistance=e.reassistance,
        trace=[] if rendered else [TraceLine.from_json(t) for t in e.trace])
    head: dict[str, Any] = {
        "setl_id": e.setl_id, "entry": e.kind,
        "reverses": e.reverses.setl_id if e.reverses is not None else None,
        "cancelled_by": cancelled_by, "medins_setl_id": e.medins_setl_id,
        "mdtrt_id": e.mdtrt_id, "psn_no": e.psn_no, "fixmedins_code": fixmedins_code,
        "med_type": e.med_type, "kind": e.visit_kind, "start": str(e.start),
        "end": str(e.end), "setl_time": e.created_at.isoformat(timespec="seconds")}
    out = head | _result(s, {n: getattr(e, n) for n in OUTSIDE})
    if rendered:
        out["trace"] = [{**t, "amount": to_yuan(t["amount"])} for t in e.trace]
    if adjustments and cancelled_by is None:  # a cancelled visit stands at nothing
        out["adjusted"] = standing_json(e, adjustments)
    return out


def standing_json(e: models.Settlement, adjustments: Sequence[models.Adjustment]
                  ) -> dict[str, Any]:
    """What a settled visit stands at after the adjustments made to it since (补差): each
    tier's net in yuan, the category and rules it is settled by now and the trace of its
    last settlement again (in today's wording), and each adjustment's time, reason and
    difference of assistance."""
    last = adjustments[-1]
    return {**{t: to_yuan(getattr(e, t) + sum(getattr(a, t) for a in adjustments))
               for t in models.TIERS},
            "category": last.category, "rules": list(last.rules),
            "trace": [{**line.to_json(), "amount": to_yuan(line.amount)}
                      for line in map(TraceLine.from_json, last.trace)],
            "adjustments": [{"time": a.created_at.isoformat(timespec="seconds"),
                             "cause": a.cause, "reason": a.reason, "route": a.route,
                             "maf_pay": to_yuan(a.maf_pay)} for a in adjustments]}


def pool_amount(value: Num) -> dict[str, Any]:
    """A pool's amount in yuan (to the fen); an exact fraction of a fen is given beside it."""
    f = Fraction(value)
    out: dict[str, Any] = {"used": to_yuan(int((2 * f + 1) // 2))}
    if f.denominator != 1:
        out["used_fen_exact"] = f"{f.numerator}/{f.denominator}"
    return out
