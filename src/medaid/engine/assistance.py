"""Assistance and special grants for one visit under one category (RULES §2 steps 3 and 5).

A line pays `R(F(C_after)) − R(F(C_before))` over its base pool, then no more than what
each of its cap pools has left (RULES §3). Evaluation is a trial: it returns the pool
updates instead of applying them, so the highest-benefit choice can compare categories
and advance only the pools of the one applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from medaid.engine.caps import within_caps
from medaid.engine.types import TraceLine
from medaid.engine.windows import Standing
from medaid.policy import schema as s
from medaid.policy.model import Line, Policy
from medaid.policy.params import Num, Params, ResolvedLine, When


@dataclass(slots=True)
class Outcome:
    """A trial settlement of a visit under one category."""

    standing: Standing
    assistance: int = 0
    special: int = 0
    rules: list[str] = field(default_factory=list)
    trace: list[TraceLine] = field(default_factory=list)
    updates: dict[str, Num] = field(default_factory=dict)
    main: ResolvedLine | None = None  # the assistance line applied (YC-T needs its curve)
    main_before: Num = 0
    main_after: Num = 0
    covered: bool = True  # False: the document leaves this category × kind unassisted

    @property
    def total(self) -> int:
        return self.assistance + self.special


@dataclass(frozen=True, slots=True)
class VisitFacts:
    """What the lines need of a visit after insurance."""

    year: int
    setting: str
    base: int  # the assistance base (政策范围内个人自付): inscp − hifp − hifmi − oth
    remaining: int  # what the person would still pay before tier 3
    points: int  # ratio change in bp from the referral rule (NJ-R: −2000)
    per_visit: bool = False  # rounding: per_visit
    # inscp_scp_amt, the self-pay parts and the funds, as the national fields name them
    amounts: Mapping[str, int] = field(default_factory=dict)
    day: date | None = None  # the visit's date: a parameter's value may change inside a year
    kind: str | None = None  # the visit's own kind where it is settled as another (§1)

    @property
    def when(self) -> When:
        return self.day if self.day is not None else self.year

    def line_base(self, line: Line) -> int:
        """The line's base: inscp_scp_amt plus its included self-pay parts, less the funds
        it assists after."""
        b = line.base
        if not b.include and len(b.after) == len(s.FUNDS):
            return self.base
        a = self.amounts
        return max(0, a["inscp_scp_amt"] + sum(a[x] for x in b.include)
                   - sum(a[f] for f in b.after))

    def composed(self, include: Sequence[str]) -> int:
        """The policy-range amount plus the self-pay parts of `include`, less every fund."""
        a = self.amounts
        return max(0, a["inscp_scp_amt"] + sum(a[x] for x in include)
                   - sum(a[f] for f in s.FUNDS))

    def line_limit(self, line: Line) -> int:
        """What the line may pay at most: what remains of its parts after every fund."""
        return self.composed(line.base.include) if line.base.include else self.base


def evaluate(policy: Policy, params: Params, lines: list[Line], standing: Standing,
             facts: VisitFacts, pools: Mapping[str, Num], pay_out: bool = True) -> Outcome:
    """Settle the visit under `standing`'s category; `pay_out=False` only advances the base
    pools (YC-T look-back visits count into C but are not assisted).

    Each line pays `min(R(F(C_after)) − R(F(C_before)), cap_left)` for each cap pool it
    draws on, never below 0 nor beyond what remains of the base (RULES §3)."""
    out = Outcome(standing)
    by_kind = refused(policy, standing.category, facts)
    applicable = [] if by_kind else [ln for ln in lines if ln.covers(standing.category)]
    if not applicable:
        out.trace.append(refusal(policy, standing.category,
                                 facts.kind if by_kind and facts.kind else facts.setting))
        out.covered = False
        return out
    used: dict[str, Num] = {}
    advanced: set[str] = set()  # base pools this visit has advanced (once each, RULES §3)
    for line in applicable:
        r = params.line(line, facts.when)
        args: dict[str, Any]
        if r.grant is not None:
            bears = max(0, facts.remaining - out.total)  # what the person still pays
            pay = min(r.grant, bears)
            args = {"grant": r.grant, "bears": bears}
            code = "grant"
        else:
            assert r.curve is not None
            curve = r.curve
            base = facts.line_base(line)
            # a pool advances once per visit: a second line drawing on it (two lines that
            # add up) reads the same movement from where the visit found it
            again = line.pool in advanced
            before = pools.get(line.pool, 0) if again else used.get(line.pool,
                                                                    pools.get(line.pool, 0))
            after = before + base
            ratio = standing.ratio if line.rule in standing.ratio_rules else None  # NB-A3 alone
            due = curve.delta(before, after, facts.points, ratio, facts.per_visit)
            limit = facts.line_limit(line) - out.total  # never beyond what remains
            pay = max(0, min(due, limit))
            args = {"base": base, "before": int(before), "after": int(after),
                    "deductible": curve.deductible, "segments": curve.segments,
                    "points": facts.points, "ratio": ratio,
                    "f_before": curve.value(before, facts.points, ratio),
                    "f_after": curve.value(after, facts.points, ratio)}
            if due > limit:
                args["limited_to"] = max(0, limit)
            if line.base == s.BASES["after_basic"]:
                if base != facts.base:
                    args["after_basic"] = True
            elif line.base != s.BASES["after_all_funds"]:
                args["base_parts"] = {"include": list(line.base.include),
                                      "after": list(line.base.after)}
            if ratio is not None:
                args["lookback_rule"] = standing.rule
            if facts.per_visit:  # the exact figure it rounds, in fen × BP (a fraction's text)
                args["per_visit"] = True
                args["exact"] = str(Fraction(curve.scaled(after, facts.points, ratio)
                                             - curve.scaled(before, facts.points, ratio)))
            if line.pool in policy.visit_pools:
                args["per_admission"] = True
            code = "line"
            if not again:
                used[line.pool] = after
                advanced.add(line.pool)
            if line.tier == "assistance" and out.main is None:
                out.main, out.main_before, out.main_after = r, before, after
        if not pay_out:
            pay = 0
            args["counted_only"] = True
        pay, caps = within_caps(pay, facts.line_base(line) if r.raised else 0, facts.setting,
                                r.caps, r.raised or {}, pools, used, policy.pool_labels)
        if caps:
            args["caps"] = caps
        if dated := params.dated(line.spec, facts.when):
            args["dated"] = dated
        if line.tier == "special":
            out.special += pay
        else:
            out.assistance += pay
        if pay > 0:
            out.rules.append(line.rule)
        out.trace.append(TraceLine(line.tier, line.rule, line.source, code, args, pay,
                                   line.citation))
    out.updates = used
    return out


def refused(policy: Policy, category: str, facts: VisitFacts) -> bool:
    """A visit settled as another setting (§1) that a refusal names for the category by its
    own kind: the refusal wins over the fallback."""
    return facts.kind is not None and policy.refused(category, facts.kind)


def refusal(policy: Policy, category: str, setting: str) -> TraceLine:
    """Why a category gets nothing for this kind of visit."""
    for r in policy.refusals:
        if (r.categories is None or category in r.categories) and (
                r.kinds is None or setting in r.kinds):
            return TraceLine("assistance", r.rule, r.source, "refusal", {"reason": r.reason},
                             citation=r.citation)
    # lines of the document that would cover it, had their conditions held (就医地, 转诊…)
    held_back = [ln for ln in policy.lines
                 if ln.covers(category) and ln.matches_visit(setting, ln.flags, None)]
    if held_back:
        first = held_back[0]
        return TraceLine("assistance", first.rule, first.source, "not_met",
                         {"category": category, "category_label": policy.label(category),
                          "setting": setting,
                          "rules": list(dict.fromkeys(ln.rule for ln in held_back))},
                         citation=first.citation)
    return TraceLine("assistance", "none", policy.spec.document.file, "not_covered",
                     {"category": category, "category_label": policy.label(category),
                      "setting": setting}, citation=policy.reference(""))


def choose(outcomes: list[Outcome]) -> Outcome:
    """就高不叠加: the largest payout; ties to the category listed first (outcomes come in
    tie order), and within a category's sets of lines to one that covers it (two exclusive
    lines of two categories: a 低保边缘 visit is settled by its own, even when it pays 0)."""
    best = outcomes[0]
    for o in outcomes[1:]:
        if o.total > best.total or (o.total == best.total and o.standing is best.standing
                                    and o.covered and not best.covered):
            best = o
    return best
