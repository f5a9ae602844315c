"""Whether a line's or a stage's conditions hold for a visit: the person's statuses (held,
or not held) on the visit's end date, and the visit's facts (where, at what level of
hospital, referred)."""

from __future__ import annotations

from typing import Any

from medaid.engine.types import Person, Visit
from medaid.policy import schema as s


def meets(cond: s.Conditions, person: Person, visit: Visit) -> bool:
    return unmet(cond, person, visit) is None


def unmet(cond: s.Conditions, person: Person, visit: Visit) -> dict[str, Any] | None:
    """The first condition that does not hold, as the trace words it: what it is, what it
    allows, what the visit or the person has; None when all hold."""
    missing = [status for status in cond.statuses if not person.holds(status, visit.end)]
    if missing:
        return {"what": "statuses", "allowed": missing, "actual": None}
    barred = [status for status in cond.not_statuses if person.holds(status, visit.end)]
    if barred:
        return {"what": "not_statuses", "allowed": barred, "actual": None}
    if cond.locations is not None and visit.location not in cond.locations:
        return {"what": "locations", "allowed": cond.locations, "actual": visit.location}
    level = visit.hospital_level or 0  # 0: 未定级
    if cond.hospital_levels is not None and level not in cond.hospital_levels:
        return {"what": "hospital_levels", "allowed": cond.hospital_levels, "actual": level}
    if cond.referrals is not None and visit.referral not in cond.referrals:
        return {"what": "referrals", "allowed": cond.referrals, "actual": visit.referral}
    return None

