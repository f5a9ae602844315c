"""Tilted assistance 倾斜救助 (RULES §2 step 4: NJ-T, YC-T; CZ-T is an empty stage).

Its base is either what assistance left of the visit's base (`remainder`, NJ-T) or the
visit's share of the year's base beyond the point where the category's assistance cap is
reached (`beyond_cap`, YC-T: `max(0, C_after − S*) − max(0, C_before − S*)` with
`S* = d + cap / r`). That base accumulates in the tilted pool, which pays
`R(F(T_after)) − R(F(T_before))` like any line, then within its cap pools.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from medaid.engine.assistance import Outcome, VisitFacts
from medaid.engine.insurance import describe_segments
from medaid.engine.types import Person, TraceLine, Visit
from medaid.money import fmt
from medaid.policy.model import Policy
from medaid.policy.params import Num, Params


def _fen(x: Num) -> str:
    """A pool amount for a trace: exact fen, or the fraction rounded for reading."""
    return fmt(int(x)) if isinstance(x, int) else f"≈{fmt(round(x))}"


def tilted(policy: Policy, params: Params, person: Person, visit: Visit, facts: VisitFacts,
           chosen: Outcome, allowed: bool, pools: Mapping[str, Num]
           ) -> tuple[int, list[TraceLine], dict[str, Num]]:
    cfg = policy.spec.tilted
    if cfg is None:
        return 0, [], {}
    src = policy.cite(cfg.article)
    why = None
    if not cfg.defined:
        why = "the document leaves its measure to be defined later (另行制定)"
    elif not allowed:
        why = "not for this referral (referral rule)"
    elif not chosen.covered:
        why = f"the document does not assist {chosen.standing.category} for {facts.setting}"
    elif visit.referral not in cfg.referral:
        why = f"referral {visit.referral}: only {', '.join(cfg.referral)}"
    elif visit.location not in cfg.locations:
        why = f"location {visit.location}: only {', '.join(cfg.locations)}"
    elif cfg.kinds != "*" and facts.setting not in cfg.kinds:
        why = f"{facts.setting} is not a kind it covers"
    elif cfg.requires_application and not (
            person.tilted_application and person.tilted_application.year == facts.year):
        why = f"no tilted-assistance application for {facts.year} (依申请)"
    if why:
        return 0, [TraceLine("tilted", cfg.rule, src, f"no tilted assistance: {why}")], {}

    if cfg.base == "remainder":
        base: Num = facts.base - chosen.assistance - chosen.special
        how = f"base left after assistance {fmt(facts.base)} − {fmt(chosen.total)}"
    else:
        main = chosen.main
        cap = min((amount for _, amount in main.caps), default=None) if main else None
        reach = main.curve.reach(cap) if main and main.curve and cap is not None else None
        if reach is None:
            return 0, [TraceLine("tilted", cfg.rule, src,
                                 "no tilted assistance: the category's assistance has no cap")], {}
        c_b, c_a = Fraction(chosen.main_before), Fraction(chosen.main_after)
        base = max(Fraction(0), c_a - reach) - max(Fraction(0), c_b - reach)
        if base.denominator == 1:
            base = int(base)
        how = (f"year's base {_fen(c_b)} → {_fen(c_a)} beyond S* = {_fen(reach)} "
               f"(cap {fmt(cap or 0)} reached): {_fen(base)}")
    curve, caps = params.tilted(facts.year)
    before = pools.get(cfg.pool, 0)
    after = before + base
    # never beyond what assistance left of the base (a grant may already exceed it)
    pay = max(0, min(curve.delta(before, after, per_visit=facts.per_visit),
                     facts.base - chosen.total))
    detail = (f"{how}; tilted pool {_fen(before)} → {_fen(after)}: deductible "
              f"{fmt(curve.deductible)}, {describe_segments(curve)}")
    updates: dict[str, Num] = {cfg.pool: after}
    for pool, amount in caps:
        spent = int(pools.get(pool, 0))
        if pay > amount - spent:
            pay = max(0, amount - spent)
            detail += f"; cap pool {pool} {fmt(amount)} (used {fmt(spent)})"
        updates[pool] = spent + pay
    return pay, [TraceLine("tilted", cfg.rule, src, detail, pay)], updates
