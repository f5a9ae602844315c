"""The batch path checks itself: a random sample of person-years settled again by the engine.

`medaid simulate` settles millions of visits with the compiled kernel (`batch.kernel`);
the engine (`engine.settle.settle_year`) is the reference. In every partition, under every
scenario, `check` draws `sample` person-years at random, rebuilds their persons and visits
from the same columns the kernel read, settles them with the engine and compares every
visit per tier (insurance, base, assistance, tilted, special, re-assistance), the category
applied, the kind settled as and the rules that paid, and each year-end stage's payout.
Any difference raises `EngineDifference`, which names the person-year, the visit and each
differing amount: the command then stops with a non-zero exit status instead of reporting
totals that are not the rules'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import numpy as np

from medaid.batch.schema import (
    EPOCH,
    FLAG_HEROIC,
    FLAG_RARE,
    NO_DATE,
    PersonColumns,
    VisitColumns,
)
from medaid.batch.settle import Results
from medaid.core.errors import MedaidError
from medaid.core.money import fmt
from medaid.engine.case import LOCATIONS, REFERRALS
from medaid.engine.settle import settle_year
from medaid.engine.types import Held, Identity, Person, Visit
from medaid.policy.model import Policy
from medaid.policy.schema import KINDS

SAMPLE = 32  # person-years per partition and scenario, settled again by the engine
AMOUNTS = ("hifp_pay", "hifmi_pay", "base", "assistance", "tilted", "special", "reassistance")


class EngineDifference(MedaidError):
    """The batch path and the engine disagree on a person-year: a defect, never the
    user's; the command exits non-zero (status 1) with this message."""


def _day(days: int | np.integer) -> date:
    return EPOCH + timedelta(days=int(days))


def person_of(persons: PersonColumns, row: int) -> Person:
    """The engine's person for row `row` of the persons columns."""
    lo, hi = int(persons.ident_offsets[row]), int(persons.ident_offsets[row + 1])
    idents = tuple(
        Identity(persons.ident_category[int(persons.ident_cat[k])],
                 _day(persons.ident_from[k]),
                 None if persons.ident_to[k] == NO_DATE else _day(persons.ident_to[k]),
                 None if persons.ident_application[k] == NO_DATE
                 else _day(persons.ident_application[k]))
        for k in range(lo, hi))
    tapp = int(persons.tilted_application[row])
    offsets = persons.status_offsets  # a single 0: nobody holds a status
    lo, hi = (int(offsets[row]), int(offsets[row + 1])) if row + 1 < len(offsets) else (0, 0)
    held = tuple(
        Held(persons.status_names[int(persons.status_id[k])],
             None if persons.status_from[k] == NO_DATE else _day(persons.status_from[k]),
             None if persons.status_to[k] == NO_DATE else _day(persons.status_to[k]))
        for k in range(lo, hi))
    return Person(str(int(persons.key[row])), idents, int(persons.grade[row]) or None,
                  None if tapp == NO_DATE else _day(tapp), held)


def visit_of(visits: VisitColumns, row: int, vid: str) -> Visit:
    """The engine's visit for row `row` (the policy-range amount as the kernel read it)."""
    hifp, hifmi = int(visits.hifp[row]), int(visits.hifmi[row])
    medfee = int(visits.medfee[row])
    flags = int(visits.flags[row])
    assert visits.selfpay is not None  # VisitColumns fills it
    pre, over, own = (int(x) for x in visits.selfpay[row])
    parts = {"fulamt_ownpay_amt": medfee - int(visits.inscp[row])} if pre < 0 else \
        {"fulamt_ownpay_amt": own, "overlmt_selfpay": over, "preselfpay_amt": pre}
    return Visit(
        vid, KINDS[int(visits.kind[row])], _day(visits.start[row]),
        _day(visits.end[row]), medfee, **parts,
        hifp_pay=None if hifp < 0 else hifp, hifmi_pay=None if hifmi < 0 else hifmi,
        oth_pay=int(visits.oth[row]), location=LOCATIONS[int(visits.location[row])],
        referral=REFERRALS[int(visits.referral[row])],
        hospital_level=int(visits.level[row]) or None,
        heroic_injury=bool(flags & FLAG_HEROIC), rare_disease=bool(flags & FLAG_RARE))


def check(versions: Sequence[Policy], local: Mapping[str, object], visits: VisitColumns,
          persons: PersonColumns, res: Results, sample: int, rng: np.random.Generator,
          visit_ids: Sequence[str] | None = None, scenario: str = "baseline") -> int:
    """Settle `sample` random person-years of `res` again with the engine; returns how many
    were checked, or raises `EngineDifference` on the first difference."""
    years = res.years
    n = len(years)
    if not n or sample <= 0:
        return 0
    chosen = np.sort(rng.choice(n, size=min(sample, n), replace=False))
    order = np.argsort(persons.key, kind="stable")
    rule_ids, rule_names = res.rules()
    for g in chosen.tolist():
        lo, hi = int(years.off[g]), int(years.off[g + 1])
        rows = [int(r) for r in (years.order[lo:hi] if years.order is not None
                                 else range(lo, hi))]
        key = int(years.person[g])
        at = int(order[np.searchsorted(persons.key, key, sorter=order)])
        person = person_of(persons, at)
        ids = [visit_ids[r] if visit_ids is not None else f"row {r}" for r in rows]
        where = f"{scenario}: person_key {key}, year {int(years.year[g])}"
        try:
            engine = settle_year(versions, local, person,
                                 [visit_of(visits, r, v) for r, v in zip(rows, ids,
                                                                          strict=True)])
        except MedaidError as e:
            raise EngineDifference(f"the batch path and the engine differ on {where}: the "
                                   f"engine refuses it ({e}), the batch path settled it") \
                from None
        for k, (r, s) in enumerate(zip(rows, engine.settlements, strict=True)):
            cat = int(res.category[r])
            got: dict[str, object] = {a: int(getattr(res, a)[r]) for a in AMOUNTS}
            got.update(category=None if cat < 0 else res.plans.categories[cat],
                       settled_as=KINDS[int(res.settled_as[r])],
                       rules=rule_names[int(rule_ids[r])])
            want: dict[str, object] = {a: getattr(s, a) for a in AMOUNTS}
            want.update(category=s.category, settled_as=s.settled_as, rules="+".join(s.rules))
            if got != want:
                diff = "; ".join(
                    f"{f} batch {_show(got[f])}, engine {_show(want[f])}"
                    for f in got if got[f] != want[f])
                raise EngineDifference(
                    f"the batch path and the engine differ on {where}, visit {k + 1} of "
                    f"{len(rows)} ({ids[k]}): {diff} — the totals would not be the rules'")
        plan = int(years.plan[g])
        got_ye = [(res.plans.stage_rules[plan][k], int(a))
                  for k, a in enumerate(years.year_end[g].tolist()) if a >= 0]
        want_ye = [(y.rule, y.amount) for y in engine.year_end]
        if got_ye != want_ye:
            raise EngineDifference(
                f"the batch path and the engine differ on {where}, the year-end stages: "
                f"batch {got_ye}, engine {want_ye} — the totals would not be the rules'")
    return len(chosen)


def _show(v: object) -> str:
    return fmt(v) if isinstance(v, int) else repr(v)
