"""Whether a line's or a stage's conditions hold for a visit: the person's statuses on the
visit's end date, and the visit's facts (where, at what level of hospital, referred)."""

from __future__ import annotations

from medaid.engine.types import Person, Visit
from medaid.policy import schema as s


def meets(cond: s.Conditions, person: Person, visit: Visit) -> bool:
    if any(not person.holds(status, visit.end) for status in cond.statuses):
        return False
    if cond.locations is not None and visit.location not in cond.locations:
        return False
    if cond.hospital_levels is not None \
            and (visit.hospital_level or 0) not in cond.hospital_levels:  # 0: 未定级
        return False
    return cond.referrals is None or visit.referral in cond.referrals

