"""A policy version and its local parameters for one year, compiled to flat integer arrays.

The engine's own objects decide every number: `Params` resolves the lines, curves, caps
and insurance parameters of the year (fen, basis points), `settle._lines` decides which
alternative sets of lines may pay each (kind, flags, disability grade), `Curve.reach` the
YC-T point S*. Nothing here knows a jurisdiction: the arrays are the policy as data, and
the kernel (`batch.kernel`) is the mechanism.

Plans of several (version, year) pairs stack along a first axis; pools are named slots
shared by all plans. YC-T's tilted pool is fractional: it is kept as an integer scaled by
`scale`, the least common multiple of the denominators of every S* (RULES §4.3), so the
arithmetic is exact and, with pools bounded by `POOL_LIMIT`, cannot overflow int64.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from medaid.batch.schema import FLAG_HEROIC, FLAG_RARE
from medaid.core.errors import MedaidError, PolicyError
from medaid.core.money import BP
from medaid.engine.caps import OF_TOTAL, PAID, RAISED, pool_of
from medaid.engine.case import LOCATIONS, REFERRALS
from medaid.engine.settle import NO_EFFECT, _lines
from medaid.engine.stages import base_of, values
from medaid.engine.types import Visit
from medaid.policy import schema as s
from medaid.policy.model import (
    MAX_SELECTION_CONDITIONS,
    ConditionKey,
    Line,
    Policy,
    condition_key,
    selection_conditions,
    tilted_entry,
    tilted_values,
)
from medaid.policy.params import Curve, Params, Raised, When
from medaid.policy.references import ci_tilts
from medaid.policy.schema import KINDS
from medaid.policy.structured import BasicInsurance

I64 = npt.NDArray[np.int64]

POOL_LIMIT = 10**12  # fen (10 billion yuan): a person-year's cumulative cost never exceeds it
INT64_HEADROOM = 2**62
GRADES = (None, 1, 2, 3, 4)  # index 0: no disability grade
MAX_LINES = 62  # the kernel reports the lines that paid as bits of an int64

# Fields of the packed per-line array `lines[plan, line, field]`. A line's curve has no cap:
# caps are payout limits on cap pools (`caps`), never part of F (RULES §3).
# The base: inscp_scp_amt + the self-pay parts of L_INCLUDE (bits INCLUDE_BITS) − the funds
# of L_AFTER (bits AFTER_BITS).
# L_COND: the index of the line's conditions in `Plans.conditions`, −1: none.
L_TIER, L_GRANT, L_DED, L_NSEG, L_POOL, L_NCAPS, L_OK, L_REACH, L_INCLUDE, L_AFTER, L_COND = \
    range(11)
# Fields of a cap row (`caps[plan, line, cap]`, `stage_caps[plan, stage, entry, cap]`): its
# pool slot and amount; a raised cap's amount (−1: none), the own base to exceed, the kinds
# whose base may raise it (bits of KINDS, −1: any, as a year's measure of no one kind) and the
# slot of its flag (`engine.caps.RAISED`).
K_SLOT, K_AMOUNT, K_RAISED, K_OVER, K_KINDS, K_FLAG = range(6)
ANY_KIND = -1
INCLUDE_BITS = {"preselfpay_amt": 1, "overlmt_selfpay": 2, "fulamt_ownpay_amt": 4}  # selfpay
AFTER_BITS = {"hifp_pay": 1, "hifmi_pay": 2, "oth_pay": 4}
ALL_FUNDS = 7
# Fields of `tilt[plan, field]`; modes. T_VISIT: the tilted pool starts from 0 at each visit.
# T_INCLUDE: the self-pay parts a composed remainder adds (INCLUDE_BITS; 0: the visit's base)
T_MODE, T_APP, T_VISIT, T_INCLUDE = range(4)
# Fields of `tilt_vals[plan, entry, field]`: entry 0 tilted assistance's own values, k + 1
# those of `by_category[k]` (`model.tilted_entry`).
V_OK, V_DED, V_NSEG, V_NCAPS = range(4)
TILT_NONE, TILT_REMAINDER, TILT_BEYOND_CAP = 0, 1, 2
# Fields of `ci[plan, curve, field]` (critical illness: curve 0 the standard one, t ≥ 1 the
# t-th tilt's, tried in order) and `bi[plan, field]` (basic insurance). C_OK: the curve is
# there (and resolved); C_CATS: bits of the categories a tilt is for (−1: any); C_CAP: −1
# where the curve has no cap (a tilt's 取消封顶线)
C_OK, C_DED, C_POINTS, C_NSEG, C_CAP, C_CATS = range(6)
B_OK, B_CAP = range(2)
# Fields of `referral[plan, referral, field]`.
R_ASSIST, R_POINTS, R_TILT, R_STAGES = range(4)
# Fields of `stages[plan, stage, field]` (policy `stages:`, in order): when (S_VISIT,
# S_YEAR_END, S_YEAR_END_HELD: at year end, by the identity held then or held last, or
# S_YEAR_END_HELD_ONLY: by the one held on 31 December alone), the conditions'
# index (−1: none), the kinds it runs on (bits of KINDS, −1: any), its pool slot and the
# self-pay parts its base includes (INCLUDE_BITS).
# S_OF_SLOT, S_PAID_SLOT: a `when: visit` ceiling's running totals (engine.caps.OF_TOTAL,
# PAID); −1 for any other stage
S_WHEN, S_COND, S_KINDS, S_POOL, S_INCLUDE, S_OF_SLOT, S_PAID_SLOT = range(7)
# a stage's timing: at each visit; at year end by its visits' categories, by the identity
# held at the year's end (else the one held last), or by the one held on 31 December alone
S_VISIT, S_YEAR_END, S_YEAR_END_HELD, S_YEAR_END_HELD_ONLY = 0, 1, 2, 3
# Fields of `stage_vals[plan, stage, entry, field]` (entry 0 the stage's own values, k + 1
# those of `by_category[k]`): resolved, the form (segments, grant, ceiling), deductible or a
# grant's threshold, segments, grant, the ceiling's share (bp, −1: none), of which field
# (CEILING_OF) and amount (−1: none), caps.
(SV_OK, SV_FORM, SV_DED, SV_NSEG, SV_GRANT, SV_SHARE, SV_OF, SV_AMOUNT,
 SV_NCAPS) = range(9)
FORM_SEGMENTS, FORM_GRANT, FORM_CEILING = range(3)
CEILING_OF = ("medfee_sumamt", "inscp_scp_amt")
@dataclass
class Problems:
    """Parameters a plan could not resolve: an error only for a visit that needs one."""

    lines: dict[tuple[int, int], MedaidError] = field(default_factory=dict)
    tilted: dict[tuple[int, int], MedaidError] = field(default_factory=dict)  # (plan, entry)
    critical_illness: dict[int, MedaidError] = field(default_factory=dict)
    basic_insurance: dict[int, MedaidError] = field(default_factory=dict)
    lookback: dict[tuple[int, int], MedaidError] = field(default_factory=dict)
    stages: dict[tuple[int, int, int], MedaidError] = field(default_factory=dict)  # (p, k, e)


@dataclass
class Plans:
    """Every (version, year) plan of a run, as arrays the kernel reads."""

    versions: list[Policy]
    keys: list[tuple[int, int]]  # plan → (version index, year)
    categories: list[str]  # global category codes
    pools: list[str]  # pool slots
    scale: int  # the tilted pool's denominator
    cat_order: I64  # [plan, category] tie order, −1: unknown to the version
    lines: I64  # [plan, line, L_*]
    segs: I64  # [plan, line, segment, (width or −1, bp)]
    caps: I64  # [plan, line, cap, (slot, amount)]
    covers: npt.NDArray[np.int8]  # [plan, line, category]
    sel_of: npt.NDArray[np.int32]  # [plan, kind, flags, grade, held] → selection; `held`:
    # bit j set where `sel_conditions[j]` holds for the visit
    sel_conditions: I64  # indices into `conditions`: those of exclusive or alternative lines
    sel_setting: npt.NDArray[np.int8]  # [selection] → the kind it is settled as
    sel_alt: I64  # [selection + 1] offsets into alternatives
    alt_line: I64  # [alternative + 1] offsets into alt_lines
    alt_lines: I64  # line indices, in policy order
    referral: I64  # [plan, referral, R_*]
    referral_scope: I64  # [plan, 2]: bits of the KINDS and LOCATIONS the referral rule reads
    tilt: I64  # [plan, T_*]
    tilt_entry: I64  # [plan, category] → entry of tilt_vals, −1: not assisted
    tilt_vals: I64  # [plan, entry, V_*]
    tilt_segs: I64  # [plan, entry, segment, 2]
    tilt_caps: I64  # [plan, entry, cap, K_*] (none raised)
    tilt_referral: npt.NDArray[np.int8]  # [plan, referral]
    tilt_location: npt.NDArray[np.int8]  # [plan, location]
    tilt_setting: npt.NDArray[np.int8]  # [plan, kind]
    ci: I64  # [plan, curve, C_*]
    ci_segs: I64  # [plan, curve, segment, 2]
    bi: I64  # [plan, B_*]
    bi_level: I64  # [plan, level 0–3, (valid, deductible, ratio)]
    lookback_ratio: I64  # [plan, lookback entry] bp, −1: none (the line's own ratios)
    lookback_rules: npt.NDArray[np.int8]  # [plan, lookback entry, line]: its ratio applies
    per_visit: npt.NDArray[np.int8]  # [plan]: rounding per_visit (else cumulative)
    by_order: npt.NDArray[np.int8]  # [plan]: 就高 by the categories' order (else by amount)
    visit_slots: npt.NDArray[np.int8]  # [plan, slot]: the pool starts from 0 at each visit
    # [plan, kind] bits of the categories a refusal names for the kind itself: a visit of
    # it settled as another setting (§1) is refused for them (engine.assistance.refused)
    refused: I64
    # plan × kind: bits of the categories a refusal names for that kind (or every kind); a
    # visit no line covers is closed to the stages where its kind's or its setting's bit is
    # set (engine Policy.closes)
    closed: I64
    problems: Problems
    rules: list[list[str]]  # [plan][line] rule id
    tilted_rule: list[str | None]  # [plan]
    conditions: list[ConditionKey]  # the distinct conditions of every line and stage
    stages: I64  # [plan, stage, S_*]; n_stages[plan] of them
    n_stages: I64  # [plan]
    stage_entry: I64  # [plan, stage, category] → entry of stage_vals, −1: not this category
    stage_vals: I64  # [plan, stage, entry, SV_*]
    stage_segs: I64  # [plan, stage, entry, segment, 2]
    stage_caps: I64  # [plan, stage, entry, cap, K_*]
    stage_rules: list[list[str]]  # [plan][stage] rule id
    stage_labels: list[list[str]]  # [plan][stage] label

    @property
    def n(self) -> int:
        return len(self.keys)


def _kept(e: MedaidError) -> MedaidError:
    """An error kept for later, without its traceback: the traceback's frames would hold
    the caller's arrays (a whole partition) in a reference cycle."""
    return e.with_traceback(None)


def _curve_rows(curve: Curve) -> list[tuple[int, int]]:
    return [(-1 if w is None else w, bp) for w, bp in curve.segments]


def kinds_bits(kinds: Sequence[str] | None) -> int:
    """Bits of KINDS; None (any kind): ANY_KIND."""
    return ANY_KIND if kinds is None else sum(1 << KINDS.index(k) for k in kinds)


def _stage_entries(stage: s.Stage, categories: Sequence[str]) -> dict[str, int]:
    """Each category's entry of the stage's values: k + 1 for the first `by_category[k]`
    listing it, else 0 (`engine.stages.values`)."""
    out = {}
    for c in categories:
        out[c] = next((k + 1 for k, e in enumerate(stage.by_category) if c in e.categories), 0)
    return out


StageResolved = tuple[int, int, list[tuple[int, int]], int, int, int, int,
                      tuple[tuple[str, int], ...], Raised]


def _stage_values(par: Params, v: s.Stage, year: When) -> StageResolved:
    """(form, deductible or threshold, segments, grant, share bp, of, amount, caps, raised)
    of a stage's values for a year (a year-end stage: its last day), in the order the engine
    resolves them (`_payout`)."""
    form, ded, rows, grant, share, of, amount = FORM_SEGMENTS, 0, [], 0, -1, 0, -1
    if v.segments:
        curve, _ = par.curve(v.deductible, v.segments, [], year, v.rule, v.bounds)
        ded, rows = curve.deductible, _curve_rows(curve)
    elif v.grant is not None:
        form = FORM_GRANT
        ded = par.amount(v.deductible, year, v.rule)
        grant = par.amount(v.grant, year, v.rule)
    else:
        assert v.ceiling is not None
        form, of = FORM_CEILING, CEILING_OF.index(v.ceiling.of)
        if v.ceiling.share is not None:
            share = par.ratio_of(v.ceiling.share, year, v.rule)
        if v.ceiling.amount is not None:
            amount = par.amount(v.ceiling.amount, year, v.rule)
    caps, raised = par.caps(v.caps, year, v.rule)
    return form, ded, rows, grant, share, of, amount, caps, raised


def _first(stage: s.Stage, e: int) -> str:
    """A category whose values are entry `e` of the stage (any of `by_category[e − 1]`'s
    that no earlier entry lists; else its first: the entry is then never used)."""
    entry = stage.by_category[e - 1]
    earlier = {c for x in stage.by_category[:e - 1] for c in x.categories}
    return next((c for c in entry.categories if c not in earlier), entry.categories[0])


def _holding(policy: Policy, holding: set[ConditionKey]) -> Policy:
    """The policy with only the exclusive and alternative lines whose conditions are in
    `holding` (or that have none): what `settle._lines` reads for a visit where exactly
    those hold."""
    def kept(ln: Line) -> bool:
        key = condition_key(ln.spec)
        return key is None or key in holding
    return replace(policy, exclusive_lines=tuple(filter(kept, policy.exclusive_lines)),
                   alternative_lines=tuple(filter(kept, policy.alternative_lines)))


def _probe(kind: str, flags: int) -> Visit:
    """A visit that only carries what `settle._lines` reads: kind and flags."""
    day = date(1970, 1, 1)
    return Visit("", kind, day, day, 0, heroic_injury=bool(flags & FLAG_HEROIC),
                 rare_disease=bool(flags & FLAG_RARE))


def compile_plans(versions: Sequence[Policy], local: Mapping[str, object],
                  keys: Sequence[tuple[int, int]]) -> Plans:
    """Compile the (version index, year) `keys` of one jurisdiction's `versions`."""
    categories: list[str] = []
    for v in versions:
        categories += [c for c in v.categories if c not in categories]
    cat_index = {c: i for i, c in enumerate(categories)}
    pools: list[str] = []

    def slot(name: str) -> int:
        if name not in pools:
            pools.append(name)
        return pools.index(name)

    params = {i: Params(v, local) for i, v in enumerate(versions)}
    n_plans = len(keys)
    n_lines = max([len(v.lines) for v in versions] + [1])
    if n_lines > MAX_LINES:
        raise PolicyError(f"{versions[0].jurisdiction}: more than {MAX_LINES} lines")
    n_segs, n_caps, n_tsegs, n_tcaps, n_csegs, n_lb = 1, 1, 1, 1, 1, 1
    n_stages, n_sentries, n_ssegs, n_scaps = 1, 1, 1, 1
    stage_res: list[list[list[StageResolved | None]]] = []  # [plan][stage][entry]
    problems = Problems()

    # Resolve every number first (the shapes depend on them), then pack.
    resolved: list[list[tuple[Curve | None, tuple[tuple[str, int], ...], int | None,
                              Raised | None] | None]] = []
    tilts: list[list[tuple[Curve, tuple[tuple[str, int], ...]] | None]] = []  # [plan][entry]
    n_entries = 1
    cis: list[Curve | None] = []
    ci_tilted: list[list[tuple[s.CriticalIllnessTilt, int]]] = []  # [plan]: (tilt, share)
    bis: list[BasicInsurance | None] = []
    lb_ratios: list[list[int]] = []
    for p, (vi, year) in enumerate(keys):
        policy, par = versions[vi], params[vi]
        row: list[tuple[Curve | None, tuple[tuple[str, int], ...], int | None,
                        Raised | None] | None] = []
        for line in policy.lines:
            try:
                rl = par.line(line, year)
            except MedaidError as e:
                problems.lines[(p, line.index)] = _kept(e)
                row.append(None)
                continue
            row.append((rl.curve, rl.caps, rl.grant, rl.raised))
            if rl.curve is not None:
                n_segs = max(n_segs, len(rl.curve.segments))
            n_caps = max(n_caps, len(rl.caps))
        resolved.append(row)
        cfg = policy.spec.tilted
        entries: list[tuple[Curve, tuple[tuple[str, int], ...]] | None] = []
        if cfg is not None and cfg.defined:
            for ent in range(1 + len(cfg.by_category)):
                try:
                    t = par.tilted(year) if ent == 0 else \
                        par.curve(*tilted_values(cfg, ent), year, cfg.rule, cfg.bounds)
                    n_tsegs = max(n_tsegs, len(t[0].segments))
                    n_tcaps = max(n_tcaps, len(t[1]))
                    entries.append(t)
                except MedaidError as e:
                    problems.tilted[(p, ent)] = _kept(e)
                    entries.append(None)
            n_entries = max(n_entries, len(entries))
        tilts.append(entries)
        try:
            ci: Curve | None = par.critical_illness(year, "hifmi_pay not given")
            assert ci is not None
            n_csegs = max(n_csegs, len(ci.segments))
        except MedaidError as e:
            problems.critical_illness[p] = _kept(e)
            ci = None
        cis.append(ci)
        try:
            ci_tilted.append([(t, par.ratio_of(t.deductible_share, year, t.rule))
                             for t in ci_tilts(policy.spec)])
        except MedaidError as e:
            problems.critical_illness[p] = _kept(e)
            ci_tilted.append([])
        try:
            bis.append(par.basic_insurance(year, "hifp_pay not given"))
        except MedaidError as e:
            problems.basic_insurance[p] = _kept(e)
            bis.append(None)
        ratios = []
        for j, lb in enumerate(policy.spec.windows.lookback):
            try:
                ratios.append(-1 if lb.ratio is None else par.ratio_of(lb.ratio, year, lb.rule))
            except MedaidError as e:
                problems.lookback[(p, j)] = _kept(e)
                ratios.append(-1)
        n_lb = max(n_lb, len(ratios))
        lb_ratios.append(ratios)
        got: list[list[StageResolved | None]] = []
        for k, stage in enumerate(policy.spec.stages):
            entries_k: list[StageResolved | None] = []
            for ent in range(1 + len(stage.by_category)):
                own = stage if ent == 0 else values(stage, _first(stage, ent))
                try:
                    # a year-end stage by the values in force at the year's end (engine)
                    sr = _stage_values(par, own, year if stage.when == "visit"
                                       else date(year, 12, 31))
                except MedaidError as err:
                    problems.stages[(p, k, ent)] = _kept(err)
                    entries_k.append(None)
                    continue
                n_ssegs = max(n_ssegs, len(sr[2]))
                n_scaps = max(n_scaps, len(sr[7]))
                entries_k.append(sr)
            n_sentries = max(n_sentries, len(entries_k))
            got.append(entries_k)
        n_stages = max(n_stages, len(got))
        stage_res.append(got)

    # YC-T: the tilted pool's denominator is the lcm of every S* a line can reach.
    scale = 1
    reaches: dict[tuple[int, int], Fraction] = {}
    for p, (vi, _) in enumerate(keys):
        cfg = versions[vi].spec.tilted
        if cfg is None or cfg.base != "beyond_cap":
            continue
        for li, item in enumerate(resolved[p]):
            if item is None or item[0] is None or not item[1] \
                    or versions[vi].lines[li].tier != "assistance":  # only these are `main`
                continue
            # S* is where the line's smallest cap is reached (engine.tilt)
            reach = item[0].reach(min(amount for _, amount in item[1]))
            if reach is not None:
                reaches[(p, li)] = reach
                scale = math.lcm(scale, reach.denominator)
    if scale * POOL_LIMIT >= INT64_HEADROOM or 2 * BP * scale * 2 * BP >= INT64_HEADROOM:
        raise PolicyError(f"{versions[0].jurisdiction}: the tilted pool's denominator {scale} "
                          "is too large for exact int64 arithmetic")
    assert POOL_LIMIT * BP * 4 < INT64_HEADROOM  # a curve's scaled value and its doubling

    cat_order = np.full((n_plans, len(categories)), -1, np.int64)
    lines = np.zeros((n_plans, n_lines, 11), np.int64)
    conditions: list[ConditionKey] = []

    def cond(c: s.Conditions) -> int:
        key = condition_key(c)
        return -1 if key is None else cond_of(key)

    def cond_of(key: ConditionKey) -> int:
        if key not in conditions:
            conditions.append(key)
        return conditions.index(key)

    def cap_row(pool: str, amount: int, raised: Raised | None) -> tuple[int, ...]:
        r = (raised or {}).get(pool)
        if r is None:
            return (slot(pool), amount, -1, 0, ANY_KIND, 0)
        return (slot(pool), amount, r[0], r[1], kinds_bits(r[2]), slot(RAISED + pool))

    stages = np.zeros((n_plans, n_stages, 7), np.int64)
    n_stages_of = np.zeros(n_plans, np.int64)
    stage_entry = np.full((n_plans, n_stages, max(1, len(categories))), -1, np.int64)
    stage_vals = np.zeros((n_plans, n_stages, n_sentries, 9), np.int64)
    stage_segs = np.zeros((n_plans, n_stages, n_sentries, n_ssegs, 2), np.int64)
    stage_caps = np.zeros((n_plans, n_stages, n_sentries, n_scaps, 6), np.int64)
    stage_caps[..., K_RAISED] = -1
    stage_rules: list[list[str]] = []
    stage_labels: list[list[str]] = []
    segs = np.zeros((n_plans, n_lines, n_segs, 2), np.int64)
    caps = np.zeros((n_plans, n_lines, n_caps, 6), np.int64)
    caps[..., K_RAISED] = -1  # unused rows raise nothing
    covers = np.zeros((n_plans, n_lines, len(categories)), np.int8)
    referral = np.zeros((n_plans, len(REFERRALS), 4), np.int64)
    referral_scope = np.zeros((n_plans, 2), np.int64)
    tilt = np.zeros((n_plans, 4), np.int64)
    tilt_entry = np.full((n_plans, max(1, len(categories))), -1, np.int64)
    tilt_vals = np.zeros((n_plans, n_entries, 4), np.int64)
    tilt_segs = np.zeros((n_plans, n_entries, n_tsegs, 2), np.int64)
    tilt_caps = np.zeros((n_plans, n_entries, n_tcaps, 6), np.int64)
    tilt_caps[..., K_RAISED] = -1
    tilt_referral = np.zeros((n_plans, len(REFERRALS)), np.int8)
    tilt_location = np.zeros((n_plans, len(LOCATIONS)), np.int8)
    tilt_setting = np.zeros((n_plans, len(KINDS)), np.int8)
    n_curves = 1 + max((len(ci_tilts(v.spec)) for v in versions), default=0)
    ci_arr = np.zeros((n_plans, n_curves, 6), np.int64)
    ci_segs = np.zeros((n_plans, n_curves, n_csegs, 2), np.int64)
    bi_arr = np.zeros((n_plans, 2), np.int64)
    bi_level = np.zeros((n_plans, 4, 3), np.int64)
    lookback_ratio = np.full((n_plans, n_lb), -1, np.int64)
    lookback_rules = np.zeros((n_plans, n_lb, n_lines), np.int8)
    per_visit = np.zeros(n_plans, np.int8)
    by_order = np.zeros(n_plans, np.int8)
    # Conditions on exclusive or alternative lines decide which set of lines settles a visit:
    # the selection is compiled for every combination of them holding (few: at most
    # MAX_SELECTION_CONDITIONS distinct ones).
    sel_keys: list[ConditionKey] = list(dict.fromkeys(
        k for vi in sorted({vi for vi, _ in keys})
        for k in selection_conditions(versions[vi].spec)))
    if len(sel_keys) > MAX_SELECTION_CONDITIONS:
        raise PolicyError(f"{versions[0].jurisdiction}：排他或替代救助标准上的条件超过 "
                          f"{MAX_SELECTION_CONDITIONS} 种，批量结算无法逐一编译 / more than "
                          f"{MAX_SELECTION_CONDITIONS} distinct conditions on exclusive or "
                          "alternative lines: the batch path cannot compile them")
    sel_conditions = np.array([cond_of(k) for k in sel_keys] or [0], np.int64)[:len(sel_keys)]
    sel_of = np.zeros((n_plans, len(KINDS), 4, len(GRADES), 1 << len(sel_keys)), np.int32)
    sel_setting: list[int] = []
    sel_alt = [0]
    alt_line = [0]
    alt_lines: list[int] = []
    rules: list[list[str]] = []
    tilted_rule: list[str | None] = []

    for p, (vi, _) in enumerate(keys):
        policy = versions[vi]
        for c, n in policy.order.items():
            cat_order[p, cat_index[c]] = n
        rules.append([ln.rule for ln in policy.lines])
        per_visit[p] = policy.spec.rounding == "per_visit"
        by_order[p] = policy.spec.highest is not None and policy.spec.highest.by == "order"
        for j, lb in enumerate(policy.spec.windows.lookback):
            applies = set(lb.rules or [lb.rule])  # engine.windows: Standing.ratio_rules
            for line in policy.lines:
                lookback_rules[p, j, line.index] = line.rule in applies
        for line in policy.lines:
            li = line.index
            lines[p, li, L_TIER] = 1 if line.tier == "special" else 0
            lines[p, li, L_INCLUDE] = sum(INCLUDE_BITS[x] for x in line.base.include)
            lines[p, li, L_AFTER] = sum(AFTER_BITS[x] for x in line.base.after)
            for c in categories:
                covers[p, li, cat_index[c]] = line.covers(c)
            item = resolved[p][li]
            lines[p, li, L_POOL] = slot(line.pool)
            lines[p, li, L_COND] = cond(line.spec)
            if item is None:
                continue
            curve, line_caps, grant, raised = item
            lines[p, li, L_OK] = 1
            lines[p, li, L_GRANT] = -1 if grant is None else grant
            lines[p, li, L_REACH] = -1
            if curve is not None:
                assert curve.cap is None, "a line's cap is a cap pool, never in F"
                lines[p, li, L_DED] = curve.deductible
                lines[p, li, L_NSEG] = len(curve.segments)
                segs[p, li, :len(curve.segments)] = _curve_rows(curve)
                reach = reaches.get((p, li))
                if reach is not None:
                    scaled = reach * scale
                    assert scaled.denominator == 1
                    lines[p, li, L_REACH] = int(scaled)
            lines[p, li, L_NCAPS] = len(line_caps)
            for k, (pool, amount) in enumerate(line_caps):
                caps[p, li, k] = cap_row(pool, amount, raised)

        n_stages_of[p] = len(policy.spec.stages)
        stage_rules.append([st.rule for st in policy.spec.stages])
        stage_labels.append([st.label for st in policy.spec.stages])
        for k, stage in enumerate(policy.spec.stages):
            when = S_VISIT if stage.when == "visit" else S_YEAR_END \
                if stage.category_at == "visits" else S_YEAR_END_HELD \
                if stage.unheld_at_year_end == "last" else S_YEAR_END_HELD_ONLY
            pool = stage.pool or stage.rule
            running = when == S_VISIT and stage.ceiling is not None
            stages[p, k] = (when, cond(stage),
                            kinds_bits(None if stage.kinds == "*" else stage.kinds),
                            slot(pool), sum(INCLUDE_BITS[x] for x in base_of(stage).include),
                            slot(OF_TOTAL + pool) if running else -1,
                            slot(PAID + pool) if running else -1)
            # every category of the run: a year-end stage reads the visits of the year,
            # whichever version settled them (a category of another counts under "*")
            for c, ent in _stage_entries(stage, categories).items():
                if stage.categories == "*" or c in stage.categories:
                    stage_entry[p, k, cat_index[c]] = ent
            for ent, found_s in enumerate(stage_res[p][k]):
                if found_s is None:
                    continue
                form, ded, rows, grant, share, of, amount, scaps, sraised = found_s
                stage_vals[p, k, ent] = (1, form, ded, len(rows), grant, share, of, amount,
                                         len(scaps))
                if rows:
                    stage_segs[p, k, ent, :len(rows)] = rows
                for j, (pool, amount_j) in enumerate(scaps):
                    stage_caps[p, k, ent, j] = cap_row(pool, amount_j, sraised)

        ref = policy.spec.referral
        for ri, name in enumerate(REFERRALS):
            effect = NO_EFFECT if ref is None or name == "ok" else getattr(ref, name)
            referral[p, ri] = (int(effect.assistance), effect.ratio_points * 100,
                               int(effect.tilt), int(effect.stages))
        referral_scope[p] = (
            kinds_bits(None if ref is None or ref.kinds == "*" else ref.kinds),
            sum(1 << i for i, x in enumerate(LOCATIONS)
                if ref is None or ref.locations is None or x in ref.locations))

        cfg = policy.spec.tilted
        tilted_rule.append(None if cfg is None else cfg.rule)
        if cfg is not None and cfg.defined:
            tilt[p, T_MODE] = TILT_BEYOND_CAP if cfg.base == "beyond_cap" else TILT_REMAINDER
            if not isinstance(cfg.base, str):
                tilt[p, T_INCLUDE] = sum(INCLUDE_BITS[x] for x in cfg.base.include)
            tilt[p, T_APP] = int(cfg.requires_application)
            tilt[p, T_VISIT] = int(cfg.pool in policy.visit_pools)
            for ri, name in enumerate(REFERRALS):
                tilt_referral[p, ri] = name in cfg.referral
            for i, name in enumerate(LOCATIONS):
                tilt_location[p, i] = name in cfg.locations
            for i, name in enumerate(KINDS):
                tilt_setting[p, i] = cfg.kinds == "*" or name in cfg.kinds
            for c in policy.categories:
                which = tilted_entry(cfg, c)
                tilt_entry[p, cat_index[c]] = -1 if which is None else which
            for ent, found in enumerate(tilts[p]):
                if found is None:
                    continue
                curve, tcaps = found
                assert curve.cap is None, "tilted caps are cap pools, never in F"
                tilt_vals[p, ent] = (1, curve.deductible, len(curve.segments), len(tcaps))
                tilt_segs[p, ent, :len(curve.segments)] = _curve_rows(curve)
                for k, (pool, amount) in enumerate(tcaps):
                    tilt_caps[p, ent, k] = cap_row(pool, amount, None)

        ci = cis[p]
        if ci is not None and p not in problems.critical_illness:
            # the standard curve, then each tilt's (engine.insurance.critical_illness)
            curves = [(ci, 0, -1)] + [
                (ci.with_deductible((2 * ci.deductible * share + BP) // (2 * BP),
                                    None if t.no_cap else ci.cap), t.ratio_points * 100,
                 -1 if t.categories == "*" else sum(1 << cat_index[c] for c in t.categories))
                for t, share in ci_tilted[p]]
            for k, (curve, points, cats) in enumerate(curves):
                ci_arr[p, k] = (1, curve.deductible, points, len(curve.segments),
                                -1 if curve.cap is None else curve.cap, cats)
                ci_segs[p, k, :len(curve.segments)] = _curve_rows(curve)
        bi = bis[p]
        if bi is not None:
            bi_arr[p] = (1, -1 if bi.cap is None else bi.cap)
            for lv in range(4):  # 0: 未定级 (engine.insurance.basic_insurance)
                valid = not ((lv not in bi.deductible and None not in bi.deductible)
                             or (lv not in bi.ratio and None not in bi.ratio))
                bi_level[p, lv] = (int(valid), bi.deductible.get(lv, bi.deductible.get(None, 0)),
                                   bi.ratio.get(lv, bi.ratio.get(None, 0)))
        lookback_ratio[p, :len(lb_ratios[p])] = lb_ratios[p]

        # Which lines may pay a visit, by kind, flags and grade: the engine decides.
        seen: dict[tuple[int, tuple[tuple[int, ...], ...]], int] = {}
        for held in range(sel_of.shape[4]):
            holding = {ck for j, ck in enumerate(sel_keys) if held >> j & 1}
            chosen = policy if not sel_keys else _holding(policy, holding)
            for k, kind in enumerate(KINDS):
                for flags in range(4):
                    for g, grade in enumerate(GRADES):
                        setting, alternatives, _ = _lines(chosen, _probe(kind, flags), grade)
                        key = (KINDS.index(setting),
                               tuple(tuple(ln.index for ln in alt) for alt in alternatives))
                        if key not in seen:
                            seen[key] = len(sel_setting)
                            sel_setting.append(key[0])
                            for alt in key[1]:
                                alt_lines.extend(alt)
                                alt_line.append(len(alt_lines))
                            sel_alt.append(len(alt_line) - 1)
                        sel_of[p, k, flags, g, held] = seen[key]

    if len(conditions) > MAX_LINES or n_stages * n_sentries > 256:
        raise PolicyError(f"{versions[0].jurisdiction}: more than {MAX_LINES} distinct "
                          "conditions, or 256 stage values, than the kernel packs")
    visit_slots = np.zeros((n_plans, max(1, len(pools))), np.int8)
    refused = np.zeros((n_plans, len(KINDS)), np.int64)
    closed = np.zeros((n_plans, len(KINDS)), np.int64)
    if len(categories) > 63:
        raise PolicyError(f"{versions[0].jurisdiction}: more than 63 categories, more than the "
                          "kernel packs")
    for p, (vi, _) in enumerate(keys):
        for i, name in enumerate(pools):  # a raised flag lasts its pool's period
            visit_slots[p, i] = pool_of(name) in versions[vi].visit_pools
        for k, kind in enumerate(KINDS):
            refused[p, k] = sum(1 << cat_index[c] for c in versions[vi].categories
                                if versions[vi].refused(c, kind))
            closed[p, k] = sum(1 << cat_index[c] for c in versions[vi].categories
                               if versions[vi].closes_kind(c, kind))
    return Plans(
        versions=list(versions), keys=list(keys), categories=categories, pools=pools,
        scale=scale, cat_order=cat_order, lines=lines, segs=segs, caps=caps, covers=covers,
        sel_of=sel_of, sel_conditions=sel_conditions, sel_setting=np.array(sel_setting, np.int8),
        sel_alt=np.array(sel_alt, np.int64), alt_line=np.array(alt_line, np.int64),
        alt_lines=np.array(alt_lines or [0], np.int64), referral=referral,
        referral_scope=referral_scope, tilt=tilt,
        tilt_entry=tilt_entry, tilt_vals=tilt_vals, tilt_segs=tilt_segs, tilt_caps=tilt_caps,
        tilt_referral=tilt_referral,
        tilt_location=tilt_location, tilt_setting=tilt_setting, ci=ci_arr, ci_segs=ci_segs,
        bi=bi_arr, bi_level=bi_level, lookback_ratio=lookback_ratio,
        lookback_rules=lookback_rules, per_visit=per_visit, by_order=by_order,
        visit_slots=visit_slots,
        refused=refused, closed=closed, problems=problems,
        rules=rules, tilted_rule=tilted_rule, conditions=conditions, stages=stages,
        n_stages=n_stages_of, stage_entry=stage_entry, stage_vals=stage_vals,
        stage_segs=stage_segs, stage_caps=stage_caps, stage_rules=stage_rules,
        stage_labels=stage_labels)
