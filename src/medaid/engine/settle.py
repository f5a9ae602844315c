"""The chain for one visit and for a person's year (RULES §2, 三重制度 先保险后救助).

Pure: policies, parameters, a person, the pools so far and a visit in; a settlement and
the new pools out. No I/O, no clock. Pools are per person per calendar year of the visit's
end date; a case settles its visits in the order given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from medaid.core.errors import InputError
from medaid.engine import insurance, stages
from medaid.engine.assistance import Outcome, VisitFacts, choose, evaluate, refused
from medaid.engine.caps import pool_of
from medaid.engine.conditions import meets, unmet
from medaid.engine.tilt import tilted
from medaid.engine.types import INPATIENT_SETTINGS, Person, Settlement, TraceLine, Visit, YearEnd
from medaid.engine.windows import Standing, standings
from medaid.policy import schema as s
from medaid.policy.model import Line, Policy, closing, in_force
from medaid.policy.params import Num, Params

CHAIN = "RULES.md"
NO_EFFECT = s.ReferralEffect()


Note = tuple[str, dict[str, Any]]  # a trace line's code and arguments


def _lines(policy: Policy, visit: Visit, grade: int | None, person: Person | None = None
           ) -> tuple[str, list[list[Line]], list[Note]]:
    """The kind the visit is settled as, the alternative sets of lines that may pay it, and
    notes on how they were chosen.

    A visit an exclusive rule matches is settled by that rule alone (NB-S3); where two
    match each is an alternative and the higher pays. Otherwise a kind the jurisdiction
    does not name is settled as its setting (RULES §1), by its regular lines, and each
    alternative line matching the visit (NB-S1, NB-S2) is tried beside them, first, so
    that a tie goes to it (就高不叠加).
    """
    flags = visit.flags

    def holds(ln: Line) -> bool:  # the line's conditions on the person and the visit
        return person is None or not ln.conditional or meets(ln.spec, person, visit)

    exclusive: dict[str, list[Line]] = {}
    for ln in policy.exclusive_lines:
        if ln.matches_visit(visit.kind, flags, grade) and holds(ln):
            exclusive.setdefault(ln.rule, []).append(ln)
    if exclusive:
        return visit.kind, list(exclusive.values()), [("exclusive", {"rules": [*exclusive]})]
    setting = policy.spec.kind_fallback.get(visit.kind, visit.kind)  # type: ignore[call-overload]
    notes: list[Note] = []
    if setting != visit.kind:
        notes.append(("kind_fallback", {"kind": visit.kind, "setting": setting}))
    alternatives: dict[str, list[Line]] = {}
    for ln in policy.alternative_lines:
        if ln.matches_visit(visit.kind, flags, grade) and holds(ln):
            alternatives.setdefault(ln.rule, []).append(ln)
    if alternatives:
        notes.append(("alternatives", {"rules": [*alternatives]}))
    matching = [ln for ln in policy.regular_lines if ln.matches_visit(setting, flags, grade)]
    lines = [ln for ln in matching if holds(ln)]
    if matching and not lines and person is not None:  # why the lines of the visit's kind
        # pay nothing: each one's first condition that does not hold (of the lines for the
        # person's categories, where any is)
        held = {i.category for i in person.identities}
        own = [ln for ln in matching if any(ln.covers(c) for c in held)] or matching
        why = {ln.rule: unmet(ln.spec, person, visit) for ln in own}
        labels = {st.id: st.label for st in policy.spec.statuses}
        notes.append(("conditions_unmet", {"rules": list(why), "why": [
            {"rule": rule, **found} | ({"allowed": [labels.get(x, x) for x in found["allowed"]]}
                                       if "statuses" in found["what"] else {})
            for rule, found in why.items() if found is not None]}))
    return setting, [*alternatives.values(), lines], notes


def settle_visit(policy: Policy, params: Params, person: Person, pools: Mapping[str, Num],
                 visit: Visit, path: str = "visit") -> tuple[Settlement, dict[str, Num]]:
    """Settle one visit against the person's pools of its year; returns the new pools."""
    year = visit.end.year
    if policy.visit_pools:  # a pool per visit (单次) starts from 0 at each visit
        pools = {k: v for k, v in pools.items()
                 if pool_of(k) not in policy.visit_pools}
    new: dict[str, Num] = dict(pools)
    trace: list[TraceLine] = []
    setting, lines, notes = _lines(policy, visit, person.disability_grade, person)
    document = policy.reference("")
    trace.extend(TraceLine("chain", "§1", f"{CHAIN} §1", code, args, citation=document)
                 for code, args in notes)
    found = standings(policy, params, person, visit, setting, year)
    assisted = [st for st in found if st.mode != "counted"]

    # Tiers 1 and 2: as the platform gave them, or computed from local parameters.
    inscp = visit.inscp_scp_amt
    if visit.hifp_pay is not None:
        hifp = visit.hifp_pay
    else:
        hifp, line = insurance.basic_insurance(params, visit, new, path)
        trace.append(line)
    if visit.hifmi_pay is not None:
        hifmi = visit.hifmi_pay
    else:
        hifmi, lines_ci = insurance.critical_illness(
            policy, params, inscp - hifp, visit.end,
            # held in force (its 渐退期 too), not in a look-back: the insurer's tilt is for
            # whom it knows as assisted at the visit (NJ-C: an identity in force)
            insurance.tilted(policy, [st.category for st in found if st.mode == "in_force"]),
            new, path)
        trace.extend(lines_ci)
    insurance.given(visit, hifp, hifmi, new)
    oth = visit.oth_pay
    base = max(0, inscp - hifp - hifmi - oth)
    settlement = Settlement(
        id=visit.id, year=year, policy=f"{policy.jurisdiction} {policy.spec.version}",
        settled_as=setting, category=None, rules=[], medfee_sumamt=visit.medfee_sumamt,
        inscp_scp_amt=inscp, hifp_pay=hifp, hifmi_pay=hifmi, oth_pay=oth, base=base,
        assistance=0, tilted=0, special=0, trace=trace)
    untilted = {} if policy.spec.tilted is not None else {"untilted": True}
    if not found:
        w = policy.spec.windows
        trace.append(TraceLine.of(policy, "assistance", w, "no_identity",
                                  {"dates": _dates(visit)} | untilted))
        return settlement, new

    # Tier 3: the referral rule, then the highest benefit among the categories in force.
    effect = NO_EFFECT
    ref = policy.spec.referral
    if ref is not None and visit.referral != "ok" and ref.covers(setting, visit.location):
        effect = getattr(ref, visit.referral)
    facts = VisitFacts(year, setting, base, visit.medfee_sumamt - hifp - hifmi - oth,
                       effect.ratio_points * 100, policy.spec.rounding == "per_visit",
                       {"inscp_scp_amt": inscp, "preselfpay_amt": visit.preselfpay_amt,
                        "overlmt_selfpay": visit.overlmt_selfpay,
                        "fulamt_ownpay_amt": visit.fulamt_ownpay_amt, "hifp_pay": hifp,
                        "hifmi_pay": hifmi, "oth_pay": oth}, visit.end,
                       visit.kind if setting != visit.kind else None)
    # the stages after assistance a referral's `stages: false` keeps the visit out of
    shut = "、".join(st.label or st.rule for st in policy.spec.stages) \
        if effect.assistance and not effect.stages else ""
    if ref is not None and (not effect.assistance or effect.ratio_points or shut):
        trace.append(TraceLine.of(policy, "assistance", ref, "referral",
                                  {"referral": visit.referral,
                                   "points": effect.ratio_points if effect.assistance else 0,
                                   "tilt": effect.assistance and effect.tilt}
                                  | ({"no_stages": shut} if shut else {}) | untilted))
    if not effect.assistance:
        settlement.category = found[0].category
        settlement.closed = True
        return settlement, new
    chosen = _highest(policy, params, lines, assisted or found, facts, new)
    settlement.category = chosen.standing.category
    # refused, with no line covering it: closed to the stages too (engine.stages.qualifies)
    settlement.closed = not effect.stages or (not chosen.covered and policy.closes(
        chosen.standing.category, visit.kind, setting))
    settlement.assistance = chosen.assistance
    settlement.special = chosen.special
    settlement.rules.extend(chosen.rules)
    trace.append(_window_line(policy, chosen.standing, visit, setting))
    trace.extend(chosen.trace)
    new.update(chosen.updates)
    new.update(_spending(params, lines, found, chosen, facts, pools))

    pay, lines_t, updates = tilted(policy, params, person, visit, facts, chosen, effect.tilt, new)
    settlement.tilted = pay
    if pay > 0:
        settlement.rules.append(lines_t[-1].rule)
    trace.extend(lines_t)
    new.update(updates)
    if policy.spec.stages:
        lines_s, updates = stages.at_visit(policy, params, person, visit, settlement, new,
                                           facts.per_visit)
        trace.extend(lines_s)
        new.update(updates)
    return settlement, new


def _highest(policy: Policy, params: Params, alternatives: list[list[Line]],
             found: list[Standing], facts: VisitFacts, pools: Mapping[str, Num]) -> Outcome:
    """就高不叠加 among the standings (and alternative exclusive rules); a YC-T look-back
    standing is counted, not assisted. Under `highest.by: order` only the standings of the
    first category listed that assists the visit are tried."""
    cfg = policy.spec.highest
    tried = found
    if cfg is not None and cfg.by == "order":
        lead = next((st for st in found if st.mode != "counted"), found[0]).category
        tried = [st for st in found if st.category == lead]
    outcomes = [
        evaluate(policy, params, lines, st, facts, pools, pay_out=st.mode != "counted")
        for st in tried for lines in alternatives
    ]
    chosen = choose(outcomes)
    # the others that were candidates: a set of lines none of which covers its category
    # names nothing to choose
    others = [{"category": o.standing.category,
               "category_label": policy.label(o.standing.category),
               "rules": o.rules, "total": o.total, **_nothing(o)}
              for o in outcomes if o is not chosen and (o.covered or not chosen.covered)
              # the same identity's lines again (a window and a look-back of it): no choice
              and not (o.standing.category == chosen.standing.category
                       and o.rules == chosen.rules)]
    passed = list(dict.fromkeys(st.category for st in found if st not in tried))
    if others or passed:
        args = {"category": chosen.standing.category,
                "category_label": policy.label(chosen.standing.category),
                "total": chosen.total, "others": others,
                **({"by": "order", "passed": [policy.label(c) for c in passed]}
                   if passed else {})}
        chosen.trace.insert(0, TraceLine("assistance", "§3", f"{CHAIN} §3", "highest", args,
                                         citation=policy.reference("")) if cfg is None
                            else TraceLine.of(policy, "assistance", cfg, "highest", args))
    return chosen


def _nothing(o: Outcome) -> dict[str, Any]:
    """Why a category's lines paid nothing, for the 就高 line: their annual limit spent, or
    nothing above their deductible yet."""
    lines = [t for t in o.trace if t.code == "line"]
    if o.total or not lines:
        return {}
    why = "cap" if any(c.get("paid", 0) >= c.get("cap", 1) for t in lines
                       for c in t.args.get("caps", ())) else \
        "deductible" if all(t.args["after"] <= t.args["deductible"] for t in lines) else None
    return {"lines": [t.rule for t in lines], **({"why": why} if why else {})}


def _spending(params: Params, alternatives: list[list[Line]], found: list[Standing],
              chosen: Outcome, facts: VisitFacts, pools: Mapping[str, Num]) -> dict[str, Num]:
    """Deductible and segment pools measure spending, not a payout (RULES §3): every such
    pool of a line covering the visit under a category in force — or in a look-back that
    counts without paying (计入累计) — advances by that line's base, once per visit,
    whichever category is applied (the applied one already did)."""
    done = set(chosen.updates)
    out: dict[str, Num] = {}
    for st in found:
        if st.mode not in ("in_force", "counted") or refused(params.policy, st.category, facts):
            continue
        for lines in alternatives:
            for line in lines:
                if line.pool in done or not line.covers(st.category) or \
                        params.line(line, facts.when).curve is None:
                    continue
                done.add(line.pool)
                out[line.pool] = pools.get(line.pool, 0) + facts.line_base(line)
    return out


def _window_line(policy: Policy, st: Standing, visit: Visit, setting: str) -> TraceLine:
    # a stay dated by its admission (按入院之日的身份) says so: its discharge may fall outside
    admitted = policy.spec.windows.stay_rule == "admission" and visit.start != visit.end \
        and setting in INPATIENT_SETTINGS
    return TraceLine("assistance", st.rule, st.source, "window",
                     {"mode": st.mode, "category": st.category,
                      "category_label": policy.label(st.category), "dates": _dates(visit),
                      "period": st.period, **({"grace": True} if st.grace else {}),
                      **({"partly": True} if st.partly else {}),
                      **({"unanchored": True} if st.unanchored else {}),
                      **({"admission": str(visit.start)} if admitted else {})},
                     citation=st.citation)


def _dates(visit: Visit) -> str:
    return str(visit.end) if visit.start == visit.end else f"{visit.start}–{visit.end}"


@dataclass(frozen=True, slots=True)
class CaseResult:
    jurisdiction: str
    person_id: str
    settlements: list[Settlement]
    year_end: list[YearEnd] = field(default_factory=list)  # `when: year_end` stages


def settle_year(versions: Sequence[Policy], local: Mapping[str, object], person: Person,
                visits: Sequence[Visit]) -> CaseResult:
    """Settle a person's visits in order, each under the policy version in force on its end
    date, with pools per calendar year. A visit before the first version is an error."""
    params: dict[int, Params] = {}
    pools: dict[int, dict[str, Num]] = {}
    out: list[Settlement] = []
    years: set[int] = set()
    for i, visit in enumerate(visits):
        policy = in_force(list(versions), visit.end)
        path = f"visits[{i}]"
        if policy is None:
            first = versions[0]
            raise InputError(f"{path}.end", f"no policy in force for {first.jurisdiction} on "
                             f"{visit.end} ({path}.start {visit.start}); in force from "
                             f"{first.in_force}")
        p = params.setdefault(id(policy), Params(policy, local))
        year = visit.end.year
        settlement, pools[year] = settle_visit(policy, p, person, pools.get(year, {}), visit,
                                               path)
        out.append(settlement)
        years.add(year)
    year_end: list[YearEnd] = []
    for year in sorted(years):  # each year's stages paid once, after its visits
        policy = closing(list(versions), year)
        assert policy is not None  # a visit of the year found one
        if any(st.when == "year_end" for st in policy.spec.stages):
            p = params.setdefault(id(policy), Params(policy, local))
            settled = [(v, st) for v, st in zip(visits, out, strict=True) if st.year == year]
            year_end += stages.at_year_end(policy, p, person, settled, pools[year])
    return CaseResult(versions[0].jurisdiction if versions else "", person.id, out, year_end)
