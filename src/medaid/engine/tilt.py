"""Tilted assistance 倾斜救助 (RULES §2 step 4: NJ-T, YC-T; CZ-T is an empty stage).

Its base is either what assistance left of the visit's base (`remainder`, NJ-T) or the
visit's share of the year's base beyond the point where the category's assistance cap is
reached (`beyond_cap`, YC-T: `max(0, C_after − S*) − max(0, C_before − S*)` with
`S* = d + cap / r`). That base accumulates in the tilted pool, which pays
`R(F(T_after)) − R(F(T_before))` like any line, then within its cap pools.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from medaid.engine.assistance import Outcome, VisitFacts
from medaid.engine.caps import within_caps
from medaid.engine.types import Person, TraceLine, Visit
from medaid.policy.model import Policy, tilted_entry, tilted_values
from medaid.policy.params import Num, Params


def _fen(x: Num) -> int | str:
    """A pool amount for a trace: exact fen, or the fraction rounded for reading."""
    return int(x) if isinstance(x, int) or x.denominator == 1 else \
        f"≈{Decimal(round(x)).scaleb(-2):,.2f}"  # as the trace's other amounts: 66,666.67


def tilted(policy: Policy, params: Params, person: Person, visit: Visit, facts: VisitFacts,
           chosen: Outcome, allowed: bool, pools: Mapping[str, Num]
           ) -> tuple[int, list[TraceLine], dict[str, Num]]:
    cfg = policy.spec.tilted
    if cfg is None:
        return 0, [], {}
    why = None
    entry = tilted_entry(cfg, chosen.standing.category)
    if entry and cfg.by_category[entry - 1].article:  # its own article states its values
        values = cfg.by_category[entry - 1]
        cfg = cfg.model_copy(update={"article": values.article,
                                     "document": values.document or cfg.document})
    if not cfg.defined:
        why = "undefined"
    elif not allowed:
        why = "referral_rule"
    elif not chosen.covered:
        why = "not_covered"
    elif entry is None:
        why = "category"
    elif visit.referral not in cfg.referral:
        why = "referral"
    elif visit.location not in cfg.locations:
        why = "location"
    elif cfg.kinds != "*" and facts.setting not in cfg.kinds:
        why = "kind"
    elif cfg.requires_application and not (
            person.tilted_application and person.tilted_application.year == facts.year):
        why = "no_application"
    if why:
        return 0, [TraceLine.of(policy, "tilted", cfg, "no_tilt", {"why": why})], {}

    args: dict[str, Any]
    # what the tilt's base is before what assistance paid: the visit's, or a composition
    include = [] if isinstance(cfg.base, str) else cfg.base.include
    left = facts.composed(include) if include else facts.base
    if cfg.base != "beyond_cap":
        base: Num = left - chosen.total
        args = {"how": "remainder", "base": left, "paid": chosen.total}
        if left != facts.base:
            args["include"] = list(include)
    else:
        main = chosen.main
        cap = min((amount for _, amount in main.caps), default=None) if main else None
        reach = main.curve.reach(cap) if main and main.curve and cap is not None else None
        if reach is None:
            return 0, [TraceLine.of(policy, "tilted", cfg, "no_tilt", {"why": "no_cap"})], {}
        c_b, c_a = Fraction(chosen.main_before), Fraction(chosen.main_after)
        base = max(Fraction(0), c_a - reach) - max(Fraction(0), c_b - reach)
        if base.denominator == 1:
            base = int(base)
        args = {"how": "beyond_cap", "c_before": _fen(c_b), "c_after": _fen(c_a),
                "reach": _fen(reach), "cap": cap or 0, "tilted_base": _fen(base)}
    # the values of the category's entry (70% for 特困/低保, 60% for the others)
    assert entry is not None
    curve, caps = params.tilted(facts.when) if entry == 0 else \
        params.curve(*tilted_values(cfg, entry), facts.when, cfg.rule, cfg.bounds)
    before = pools.get(cfg.pool, 0)
    after = before + base
    # never beyond what assistance left of the base (a grant may already exceed it)
    pay = max(0, min(curve.delta(before, after, per_visit=facts.per_visit),
                     left - chosen.total))
    args.update({"before": _fen(before), "after": _fen(after), "deductible": curve.deductible,
                 "segments": curve.segments})
    if facts.per_visit:
        args["per_visit"] = True
    if cfg.pool in policy.visit_pools:
        args["per_admission"] = True
    updates: dict[str, Num] = {cfg.pool: after}
    pay, capped = within_caps(pay, 0, None, caps, {}, pools, updates, policy.pool_labels)
    if capped:
        args["caps"] = capped
    if dated := params.dated(tilted_values(cfg, entry), facts.when):
        args["dated"] = dated
    return pay, [TraceLine.of(policy, "tilted", cfg, "tilted", args, pay)], updates
