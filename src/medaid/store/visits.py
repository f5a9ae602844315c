"""A ledger entry's visit as the engine settled it, stored as JSON so that the visit can be
settled again on today's facts (re-settlement, `ledger verify`).

Entries written before the visit was stored (migration 0007) are rebuilt from their
columns: the amounts the hospital sent, its insurance tiers as given, the institution's
level, a city visit with a normal referral and no flags."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from medaid.engine.types import Visit

_DATES = ("start", "end")


def fields_of(visit: Visit) -> dict[str, Any]:
    """A visit's fields by name, as `dataclasses.asdict` gives them (its fields are flat:
    nothing to copy deep, which costs more than the rest of a settlement's encoding)."""
    return {f.name: getattr(visit, f.name) for f in dataclasses.fields(visit)}


def encode(visit: Visit) -> dict[str, Any]:
    out = fields_of(visit)
    for name in _DATES:
        out[name] = str(out[name])
    return out


def decode(stored: dict[str, Any]) -> Visit:
    fields = dict(stored)
    for name in _DATES:
        fields[name] = date.fromisoformat(fields[name])
    return Visit(**fields)


def of_entry(entry: Any, level: int | None) -> Visit:
    """The visit of a `settle` entry (a Settlement row, or a row with its columns)."""
    if entry.visit is not None:
        return decode(entry.visit)
    return Visit(id=entry.mdtrt_id, kind=entry.visit_kind, start=entry.start, end=entry.end,
                 medfee_sumamt=entry.medfee_sumamt, fulamt_ownpay_amt=entry.fulamt_ownpay_amt,
                 overlmt_selfpay=entry.overlmt_selfpay, preselfpay_amt=entry.preselfpay_amt,
                 hifp_pay=entry.hifp_pay, hifmi_pay=entry.hifmi_pay, oth_pay=entry.oth_pay,
                 hospital_level=level)
