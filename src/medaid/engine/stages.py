"""Stages after tilted assistance (policy `stages:`): re-assistance 再救助, a flat grant
once a measure passes a threshold, a ceiling on what the person bears.

A stage measures, per visit, what the person still bears of its base's parts (the
policy-range amount plus any self-pay parts it includes, less every fund and what tiers
3 and the earlier stages paid). `when: visit` stages pay at each visit, cumulatively over
their pool like any line (RULES §3: `R(F(after)) − R(F(before))`, then the cap pools);
`when: year_end` stages pay once over the person-year's qualifying visits, after the last.
A stage never pays more than what it measures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from medaid.core.money import BP
from medaid.engine.caps import OF_TOTAL, PAID, within_caps
from medaid.engine.conditions import meets
from medaid.engine.types import Person, Settlement, TraceLine, Visit, YearEnd
from medaid.engine.windows import held_until
from medaid.policy import schema as s
from medaid.policy.model import Policy, stage_values
from medaid.policy.params import Num, Params, When


def base_of(stage: s.Stage) -> s.StageBase:
    return s.STAGE_BASES[stage.base] if isinstance(stage.base, str) else stage.base


def measure(stage: s.Stage, visit: Visit, settled: Settlement) -> int:
    """What the person still bears of the stage's parts of one visit, after every fund and
    every payout of tier 3 and the stages before."""
    parts = settled.inscp_scp_amt + sum(int(getattr(visit, p)) for p in base_of(stage).include)
    return max(0, parts - settled.hifp_pay - settled.hifmi_pay - settled.oth_pay
               - settled.maf_pay)


def values(stage: s.Stage, category: str) -> s.Stage:
    """The stage with the values of the first `by_category` entry listing the category."""
    for entry in stage.by_category:
        if category in entry.categories:
            return stage_values(stage, entry)
    return stage


def qualifies(stage: s.Stage, person: Person, visit: Visit, settled: Settlement,
              category: str | None = None) -> bool:
    """Whether the stage takes an assisted visit: of its kinds and conditions, and of its
    categories by the visit's own category, or by `category` (the year-end identity)."""
    if settled.category is None or settled.closed:
        return False
    if stage.categories != "*" and (category or settled.category) not in stage.categories:
        return False
    if stage.kinds != "*" and settled.settled_as not in stage.kinds:
        return False
    return meets(stage, person, visit)


def held_at_year_end(policy: Policy, person: Person, year: int, last_held: bool = True
                     ) -> str | None:
    """The identity the person holds at the year's end (年末所具有的救助身份): the first in
    the tie order of those held on 31 December, else (`last_held`) of those held last
    before it (退出前最后所具有的身份: an exit in the year, or before it for a stay that
    the year takes by its discharge), each held through its 渐退期; None where none is
    held."""
    last = date(year, 12, 31)
    held = [(i, held_until(policy, i)) for i in person.identities if i.category in policy.order]
    held = [(i, end) for i, end in held if i.start <= last
            and (end is None or last_held or end >= last)]
    if not held:
        return None
    latest = max(last if end is None or end > last else end for _, end in held)
    at_end = [i.category for i, end in held if end is None or end >= latest]
    return min(at_end, key=lambda c: policy.order[c])


def _unheld(policy: Policy, stage: s.Stage, person: Person,
            settled: Sequence[tuple[Visit, Settlement]], year: int) -> list[YearEnd]:
    """A stage by the identity held at the year's end, for a person holding none on 31
    December (年末已不具有救助身份的，不享受): nothing, said where it would have taken a visit."""
    mine = [vi.id for vi, st in settled if qualifies(stage, person, vi, st)]
    if not mine:
        return []
    line = TraceLine.of(policy, "reassistance", stage, "year_end_unheld",
                        {"label": stage.label, "visits": len(mine)}, 0)
    return [YearEnd(year, stage.rule, stage.label, None, mine, 0, [line])]


def _ceiling(params: Params, c: s.Ceiling, total_of: int, when: When, rule: str
             ) -> tuple[int, dict[str, Any]]:
    """The ceiling in fen: `share` of the field's total (half-up), `amount`, or the lower."""
    limits = []
    args: dict[str, Any] = {}
    if c.share is not None:
        bp = params.ratio_of(c.share, when, rule)
        limits.append((2 * total_of * bp + BP) // (2 * BP))
        args.update({"share": bp, "of": c.of, "of_total": total_of, "by_share": limits[-1]})
    if c.amount is not None:
        limits.append(params.amount(c.amount, when, rule))
    args["ceiling"] = min(limits)
    return min(limits), args


def _payout(params: Params, v: s.Stage, before: Num, m: int, of_total: int, when: When,
            per_visit: bool, kind: str | None, pools: Mapping[str, Num], used: dict[str, Num],
            args: dict[str, Any], paid: int = 0) -> int:
    """What the stage pays as its measure goes from `before` to `before + m` (a year-end
    stage: from 0 to the year's measure, of no one `kind`), within its caps; `args` gets
    the arithmetic. A ceiling pays what the period's measure exceeds of the limit on the
    period's `of_total`, less the `paid` of its earlier visits."""
    after = before + m
    if v.segments:
        curve, _ = params.curve(v.deductible, v.segments, [], when, v.rule, v.bounds)
        pay = curve.delta(before, after, per_visit=per_visit)
        args.update({"deductible": curve.deductible, "segments": curve.segments})
    elif v.grant is not None:
        threshold = params.amount(v.deductible, when, v.rule)
        grant = params.amount(v.grant, when, v.rule)
        pay = grant if before <= threshold < after else 0  # once, as the measure passes it
        args.update({"deductible": threshold, "grant": grant})
    else:
        assert v.ceiling is not None
        limit, more = _ceiling(params, v.ceiling, of_total, when, v.rule)
        pay = max(0, int(after) - limit - paid)
        args.update(more)
        if paid:
            args["paid_before"] = paid
    caps, raised = params.caps(v.caps, when, v.rule)
    pay, capped = within_caps(min(pay, m), m, kind, caps, raised, pools, used,
                              params.policy.pool_labels)
    if capped:
        args["caps"] = capped
    if dated := params.dated(v, when):
        args["dated"] = dated
    return pay


def at_visit(policy: Policy, params: Params, person: Person, visit: Visit,
             settled: Settlement, pools: Mapping[str, Num], per_visit: bool
             ) -> tuple[list[TraceLine], dict[str, Num]]:
    """Run the `when: visit` stages on a settled visit: adds their payouts to
    `settled.reassistance` and returns their trace lines and the pools' new amounts."""
    trace: list[TraceLine] = []
    used: dict[str, Num] = {}
    when = visit.end
    for stage in policy.spec.stages:
        if stage.when != "visit" or not qualifies(stage, person, visit, settled):
            continue
        assert settled.category is not None
        v = values(stage, settled.category)
        m = measure(v, visit, settled)
        pool = v.pool or v.rule
        before = used.get(pool, pools.get(pool, 0))
        args: dict[str, Any] = {"label": v.label, "measure": m, "before": int(before),
                                "after": int(before + m)}
        used[pool] = before + m
        # a ceiling works on the period so far: its field's running total, what it paid
        of_total = paid = 0
        if v.ceiling is not None:
            of_total = int(used.get(OF_TOTAL + pool, pools.get(OF_TOTAL + pool, 0))) \
                + getattr(settled, v.ceiling.of)
            paid = int(used.get(PAID + pool, pools.get(PAID + pool, 0)))
            used[OF_TOTAL + pool] = of_total
        pay = _payout(params, v, before, m, of_total, when, per_visit, settled.settled_as,
                      pools, used, args, paid)
        if v.ceiling is not None:
            used[PAID + pool] = paid + pay
        settled.reassistance += pay
        if pay > 0:
            settled.rules.append(v.rule)
        trace.append(TraceLine.of(policy, "reassistance", v, "stage", args, pay))
    return trace, used


def at_year_end(policy: Policy, params: Params, person: Person,
                settled: Sequence[tuple[Visit, Settlement]], pools: dict[str, Num]
                ) -> list[YearEnd]:
    """Run the `when: year_end` stages over one person-year's settled visits (in order);
    advances `pools` (their caps) and returns what each paid."""
    out: list[YearEnd] = []
    if not settled:
        return out
    year = settled[0][1].year
    # the identity held on 31 December, and the one held last in the year (the same where
    # one is held then), for the stages that go by it
    by_held = any(st.category_at == "year_end" for st in policy.spec.stages)
    on_31 = held_at_year_end(policy, person, year, last_held=False) if by_held else None
    last = held_at_year_end(policy, person, year) if by_held else None
    paid_before = 0  # what earlier year-end stages paid: no longer borne by the person
    for stage in policy.spec.stages:
        if stage.when != "year_end":
            continue
        held = (last if stage.unheld_at_year_end == "last" else on_31) \
            if stage.category_at == "year_end" else None
        if stage.category_at == "year_end" and held is None:
            out += _unheld(policy, stage, person, settled, year)
            continue
        mine = [(v, st) for v, st in settled if qualifies(stage, person, v, st, held)]
        if not mine:
            continue
        category = held or min((st.category for _, st in mine if st.category is not None),
                               key=lambda c: policy.order.get(c, len(policy.order)))
        v = values(stage, category)
        when = date(year, 12, 31)  # the whole year at once, by the values in force at its end
        m = max(0, sum(measure(v, vi, st) for vi, st in mine) - paid_before)
        args: dict[str, Any] = {"label": v.label, "measure": m, "visits": len(mine),
                                "category": category, "category_label": policy.label(category)}
        if held is not None:  # held on 31 December, or (none then) the one held last
            args["held_at_year_end" if on_31 else "held_last"] = True
        of_total = sum(getattr(st, v.ceiling.of) for _, st in mine) if v.ceiling else 0
        used: dict[str, Num] = {}
        pay = _payout(params, v, 0, m, of_total, when, False, None, pools, used, args)
        pools.update(used)
        paid_before += pay
        line = TraceLine.of(policy, "reassistance", v, "year_end_stage", args, pay)
        out.append(YearEnd(year, v.rule, v.label, category, [vi.id for vi, _ in mine], pay,
                           [line]))
    return out
