"""The compiled per-person scan: every visit of a person-year in order, as the engine does.

One call settles a range of person-years; they are independent, so the caller runs ranges
on several threads (the kernel releases the GIL). Within one, the visits run in order
through the chain of `engine.settle.settle_visit`: insurance when not given, the
standings in tie order, each standing × alternative evaluated on a scratch copy of the
pools (`engine.assistance.evaluate`: each line pays `max(0, min(ΔR(F), base left))`, then
at most what each of its cap pools has left), the highest total kept (ties: the first),
its pools applied, the deductible and segment pools of every other line covering the
visit under a category in force advanced by their base (`engine.settle._spending`), then
tilted assistance (`engine.tilt.tilted`). Every number is int64 fen or basis points; the
YC-T tilted pool is an integer scaled by `scale` (see `batch.plan`).

Errors (a parameter a visit needs and nobody set, a pool past `POOL_LIMIT`) are codes in
`err`, raised by the caller for the first visit that has one.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from medaid.batch.plan import (
    ALL_FUNDS,
    B_CAP,
    B_OK,
    C_CAP,
    C_CATS,
    C_DED,
    C_NSEG,
    C_OK,
    C_POINTS,
    FORM_GRANT,
    FORM_SEGMENTS,
    K_AMOUNT,
    K_FLAG,
    K_KINDS,
    K_OVER,
    K_RAISED,
    K_SLOT,
    L_AFTER,
    L_COND,
    L_DED,
    L_GRANT,
    L_INCLUDE,
    L_NCAPS,
    L_NSEG,
    L_OK,
    L_POOL,
    L_REACH,
    L_TIER,
    POOL_LIMIT,
    R_ASSIST,
    R_POINTS,
    R_STAGES,
    R_TILT,
    S_COND,
    S_INCLUDE,
    S_KINDS,
    S_OF_SLOT,
    S_PAID_SLOT,
    S_POOL,
    S_VISIT,
    S_WHEN,
    S_YEAR_END_HELD,
    S_YEAR_END_HELD_ONLY,
    SV_AMOUNT,
    SV_DED,
    SV_FORM,
    SV_GRANT,
    SV_NCAPS,
    SV_NSEG,
    SV_OF,
    SV_OK,
    SV_SHARE,
    T_APP,
    T_INCLUDE,
    T_MODE,
    T_VISIT,
    TILT_BEYOND_CAP,
    TILT_NONE,
    V_DED,
    V_NCAPS,
    V_NSEG,
    V_OK,
)
from medaid.batch.schema import NO_DATE
from medaid.batch.standings import COUNTED, IN_FORCE
from medaid.core.money import BP

(ERR_LINE, ERR_TILTED, ERR_BASIC, ERR_LEVEL, ERR_CRITICAL, ERR_LIMIT, ERR_LOOKBACK,
 ERR_STAGE) = range(1, 9)
ERR_SHIFT = 256  # err = code * ERR_SHIFT + line index (ERR_LINE), look-back entry, or a
# stage's stage × entries + entry (ERR_STAGE)
# Pool snapshots (settle_range's before_o, end_o): the pool slots, then these.
SNAPSHOT_EXTRA = 4  # tilted pool × scale, basic insurance paid, critical-illness base, paid


@njit(cache=True, inline="always")
def curve_scaled(c, ded, segs, nseg, points, ratio):  # type: ignore[no-untyped-def]
    """`Curve.scaled`: F(c) × BP, ratios moved by `points` or replaced by `ratio` ≥ 0.
    `segs[s]` is (width or −1 for open, ratio in bp)."""
    rest = c - ded
    total = 0
    for s in range(nseg):
        if rest <= 0:
            break
        width = segs[s, 0]
        r = ratio if ratio >= 0 else min(BP, max(0, segs[s, 1] + points))
        part = rest if width < 0 or rest < width else width
        total += part * r
        rest -= part
    return total


@njit(cache=True, inline="always")
def curve_value(c, ded, segs, nseg, points, ratio):  # type: ignore[no-untyped-def]
    """`Curve.value`: R(F(c)) in fen (a cap is a payout limit, never inside F)."""
    return (2 * curve_scaled(c, ded, segs, nseg, points, ratio) + BP) // (2 * BP)


@njit(cache=True, inline="always")
def curve_delta(before, after, ded, segs, nseg, points, ratio, per_visit):  # type: ignore[no-untyped-def]
    """`Curve.delta` of an uncapped curve: R(F(after)) − R(F(before)), or
    R(F(after) − F(before)) when each visit is rounded on its own."""
    if per_visit:
        diff = curve_scaled(after, ded, segs, nseg, points, ratio) \
            - curve_scaled(before, ded, segs, nseg, points, ratio)
        return (2 * diff + BP) // (2 * BP)
    return curve_value(after, ded, segs, nseg, points, ratio) \
        - curve_value(before, ded, segs, nseg, points, ratio)


@njit(cache=True, inline="always")
def scaled_parts(x, scale, ded, segs, nseg):  # type: ignore[no-untyped-def]
    """F at the fraction x / scale, exactly, without int64 overflow: F × BP × scale =
    scale·a + b with 0 ≤ b < scale (no product grows beyond the pool times BP)."""
    rest = x - ded * scale
    a = 0
    b = 0
    for s in range(nseg):
        if rest <= 0:
            break
        width = segs[s, 0]
        r = segs[s, 1]
        part = rest if width < 0 or rest < width * scale else width * scale
        a += (part // scale) * r
        b += (part % scale) * r
        rest -= part
    a += b // scale
    return a, b % scale


@njit(cache=True, inline="always")
def rounded_parts(a, b, scale):  # type: ignore[no-untyped-def]
    """R(F) for F × BP × scale = scale·a + b: ⌊(2F·BP·scale + BP·scale) / (2·BP·scale)⌋."""
    num = 2 * a + BP
    return num // (2 * BP) + (scale * (num % (2 * BP)) + 2 * b) // (2 * BP * scale)


@njit(cache=True, inline="always")
def scaled_delta(before, after, scale, ded, segs, nseg, per_visit):  # type: ignore[no-untyped-def]
    """`Curve.delta` between the fractions before / scale and after / scale, exactly."""
    aa, ba = scaled_parts(after, scale, ded, segs, nseg)
    ab, bb = scaled_parts(before, scale, ded, segs, nseg)
    if per_visit:
        return rounded_parts(aa - ab, ba - bb, scale)
    return rounded_parts(aa, ba, scale) - rounded_parts(ab, bb, scale)


@njit(cache=True, inline="always")
def line_base(include, after, base, amt):  # type: ignore[no-untyped-def]
    """`VisitFacts.line_base`: inscp + the included self-pay parts − the funds of `after`;
    `amt` is (inscp, preselfpay, overlmt, fulamt_ownpay, hifp, hifmi, oth)."""
    if include == 0 and after == ALL_FUNDS:
        return base
    v = amt[0]
    for b in range(3):
        if include & (1 << b):
            v += amt[1 + b]
        if after & (1 << b):
            v -= amt[4 + b]
    return max(0, v)


@njit(cache=True, inline="always")
def line_limit(include, base, amt):  # type: ignore[no-untyped-def]
    """`VisitFacts.line_limit`: what remains of the line's parts after every fund."""
    if include == 0:
        return base
    return line_base(include, ALL_FUNDS, -1, amt)


@njit(cache=True, inline="always")
def holds(cond, vmask):  # type: ignore[no-untyped-def]
    """Whether the conditions `cond` (−1: none) hold for a visit whose bits are `vmask`."""
    return cond < 0 or (vmask >> cond) & 1 != 0


@njit(cache=True, inline="always")
def of_kind(kinds, kind):  # type: ignore[no-untyped-def]
    """Whether `kind` (−1: a year's measure, of no one kind) is among the bits `kinds`
    (−1: any)."""
    return kinds == -1 or (kind >= 0 and (kinds >> kind) & 1 != 0)


@njit(cache=True, inline="always")
def stage_takes(stages, stage_entry, p, k, c, kind, vmask, shut):  # type: ignore[no-untyped-def]
    """Whether stage k of plan p takes a visit of category `c` (−1: none) settled as `kind`
    whose condition bits are `vmask`, not closed to assistance (`shut`)
    (`engine.stages.qualifies`)."""
    return c >= 0 and not shut and stage_entry[p, k, c] >= 0 \
        and of_kind(stages[p, k, S_KINDS], kind) and holds(stages[p, k, S_COND], vmask)


@njit(cache=True, inline="always")
def within_caps(pay, own, kind, rows, n, pools):  # type: ignore[no-untyped-def]
    """`engine.caps.within_caps` on `pools` in place: `pay` within each cap pool's rest
    (rows of K_*), a raised cap's amount from the visit of its kinds whose own base `own`
    exceeds its threshold, for the rest of the pool's period (its flag slot)."""
    for k in range(n):
        cap = rows[k, K_AMOUNT]
        if rows[k, K_RAISED] >= 0:
            flag = rows[k, K_FLAG]
            if pools[flag] != 0 or (of_kind(rows[k, K_KINDS], kind) and own > rows[k, K_OVER]):
                pools[flag] = 1
                cap = rows[k, K_RAISED]
        spent = pools[rows[k, K_SLOT]]
        if pay > cap - spent:
            pay = max(0, cap - spent)
    for k in range(n):  # each pool advances by what is paid after every cap
        pools[rows[k, K_SLOT]] += pay
    return pay


@njit(cache=True, inline="always")
def stage_measure(include, amt, maf):  # type: ignore[no-untyped-def]
    """`engine.stages.measure`: what the person still bears of the stage's parts of a visit
    (`amt` as `line_base` reads it) after every fund and `maf`, tier 3's payouts so far."""
    v = amt[0] - amt[4] - amt[5] - amt[6] - maf
    for b in range(3):
        if include & (1 << b):
            v += amt[1 + b]
    return max(0, v)


@njit(cache=True, inline="always")
def stage_pay(vals, segs, caps, before, m, of_total, paid, per_visit, kind, pools):  # type: ignore[no-untyped-def]
    """`engine.stages._payout`: what a stage pays as its measure goes from `before` to
    `before + m`, within its caps (on `pools`, in place); a ceiling on the period's
    `of_total`, less the `paid` of its earlier visits."""
    form = vals[SV_FORM]
    after = before + m
    if form == FORM_SEGMENTS:
        pay = curve_delta(before, after, vals[SV_DED], segs, vals[SV_NSEG], 0, -1, per_visit)
    elif form == FORM_GRANT:
        pay = vals[SV_GRANT] if before <= vals[SV_DED] < after else 0
    else:
        limit = -1
        if vals[SV_SHARE] >= 0:
            limit = (2 * of_total * vals[SV_SHARE] + BP) // (2 * BP)
        if vals[SV_AMOUNT] >= 0 and (limit < 0 or vals[SV_AMOUNT] < limit):
            limit = vals[SV_AMOUNT]
        pay = max(0, after - limit - paid)
    return within_caps(min(pay, m), m, kind, caps, vals[SV_NCAPS], pools)


@njit(cache=True, inline="always")
def evaluate(p, alt, cat, ratio, lookback, pay_out, base, amt, remaining, points,  # type: ignore[no-untyped-def]
             per_visit, scratch, lines, segs, caps, covers, alt_line, alt_lines,
             lookback_rules, vmask, kind):
    """`engine.assistance.evaluate` on `scratch` (a copy of the pools): returns
    (assistance, special, lines-paid mask, main line, C before, C after, missing line,
    covered: whether any line covers the category). A look-back `ratio` ≥ 0 replaces the
    ratios of the lines its entry `lookback` names (NB-A3), of no other line."""
    assistance = 0
    special = 0
    mask = 0
    main = -1
    c_before = 0
    c_after = 0
    missing = -1
    covered = False
    for i in range(alt_line[alt], alt_line[alt + 1]):
        li = alt_lines[i]
        if covers[p, li, cat] == 0 or not holds(lines[p, li, L_COND], vmask):
            continue
        covered = True
        if lines[p, li, L_OK] == 0:
            if missing < 0:  # the engine stops at the first
                missing = li
            continue
        total = assistance + special
        grant = lines[p, li, L_GRANT]
        if grant >= 0:
            pay = max(0, min(grant, remaining - total))
        else:
            slot = lines[p, li, L_POOL]
            before = scratch[slot]
            inc = lines[p, li, L_INCLUDE]
            # a pool advances once per visit (engine.assistance.evaluate): a later line on
            # the slot an earlier one advanced reads the same movement
            again = False
            for k in range(alt_line[alt], i):
                lk = alt_lines[k]
                if lines[p, lk, L_POOL] == slot and lines[p, lk, L_GRANT] < 0 \
                        and lines[p, lk, L_OK] != 0 and covers[p, lk, cat] != 0 \
                        and holds(lines[p, lk, L_COND], vmask):
                    before -= line_base(lines[p, lk, L_INCLUDE], lines[p, lk, L_AFTER], base,
                                        amt)
                    again = True
                    break
            after = before + line_base(inc, lines[p, li, L_AFTER], base, amt)
            r = ratio if lookback >= 0 and lookback_rules[p, lookback, li] != 0 else -1
            d = curve_delta(before, after, lines[p, li, L_DED], segs[p, li],
                            lines[p, li, L_NSEG], points, r, per_visit)
            # never below 0 nor beyond what remains of the line's parts
            pay = max(0, min(d, line_limit(inc, base, amt) - total))
            if not again:
                scratch[slot] = after
            if lines[p, li, L_TIER] == 0 and main < 0:
                main = li
                c_before = before
                c_after = after
        if not pay_out:
            pay = 0
        own = line_base(lines[p, li, L_INCLUDE], lines[p, li, L_AFTER], base, amt)
        pay = within_caps(pay, own, kind, caps[p, li], lines[p, li, L_NCAPS], scratch)
        if lines[p, li, L_TIER] == 1:
            special += pay
        else:
            assistance += pay
        if pay > 0:
            mask |= np.int64(1) << li
    return assistance, special, mask, main, c_before, c_after, missing, covered


@njit(cache=True, nogil=True)
def settle_range(g_lo, g_hi, group_off, plan, sel, medfee, inscp, hifp_in, hifmi_in, oth,  # type: ignore[no-untyped-def]
                 location, referral, rule_referral, level, applied, st_cat, st_mode, st_ratio,
                 st_lb,
                 st_problem, lookback_rules, per_visit_of, by_order, visit_slots, selfpay,
                 cat_order, lines,
                 segs, caps, covers,
                 sel_setting, sel_alt, alt_line, alt_lines, ref_tab, tilt, tilt_entry, tilt_vals,
                 tilt_segs,
                 tilt_caps, tilt_referral, tilt_location, tilt_setting, ci, ci_segs, bi,
                 bi_level, scale, n_slots, vmask, refused, closed, held, held_only, stages,
                 n_stages,
                 group_plan, stage_entry,
                 stage_vals,
                 stage_segs, stage_caps,
                 hifp_o, hifmi_o, base_o, assist_o, tilted_o, special_o, cat_o, mask_o, err_o,
                 pools_o, before_o, end_o, reassist_o, stage_mask_o, year_end_o):
    """Person-years g_lo..g_hi−1, each from empty pools, visits in order; `pools_o[g]` gets
    person-year g's pools at its end (what each cap pool has paid). Releases the GIL: the
    caller runs ranges of person-years on several threads.

    `before_o` (rows: one per visit, or none) gets every pool before each visit and
    `end_o` (one row per person-year) every pool at its end: the pool slots, then the
    tilted pool (× scale), basic insurance paid, the critical-illness base and paid
    (`SNAPSHOT_EXTRA`), before the year-end stages; re-settlement reads each visit's pool
    additions from them. `pools_o[g]` includes what the year-end stages drew on their caps.

    The stages after tilted assistance (`engine.stages`): `reassist_o[i]` gets what the
    `when: visit` stages paid of visit i (`stage_mask_o[i]`, bit k: stage k paid),
    `year_end_o[g, k]` what the `when: year_end` stage k of `group_plan[g]`, the plan in
    force on the year's 31 December, paid person-year g (−1: no visit qualified)."""
    record = before_o.shape[0] > 0
    slots = st_mode.shape[0]
    pools = np.zeros(n_slots, np.int64)
    scratch = np.zeros(n_slots, np.int64)
    best = np.zeros(n_slots, np.int64)
    f_cat = np.zeros(slots, np.int64)
    f_mode = np.zeros(slots, np.int64)
    f_ratio = np.zeros(slots, np.int64)
    f_lb = np.zeros(slots, np.int64)
    f_key = np.zeros(slots, np.int64)
    done = np.full(n_slots, -1, np.int64)  # visit index: the pool advanced for that visit
    # visit i − first: closed to assistance (unreferred where the referral rule allows none,
    # or refused for its category and nothing covers it): no stage takes it
    first_visit = group_off[g_lo]
    shut = np.zeros(group_off[g_hi] - first_visit, np.bool_)
    amt = np.zeros(7, np.int64)  # line_base's amounts of the visit
    taken = np.zeros(group_off[g_hi] - first_visit, np.bool_)  # by the year-end stage at hand
    for g in range(g_lo, g_hi):
        lo = group_off[g]
        hi = group_off[g + 1]
        pools[:] = 0
        tpool = 0  # tilted pool × scale
        hifp_paid = 0
        ci_base = 0
        ci_paid = 0
        cumulative = 0
        for i in range(lo, hi):
            p = plan[i]
            s = sel[i]
            for k in range(n_slots):  # a pool per visit (单次) starts from 0
                if visit_slots[p, k] != 0:
                    pools[k] = 0
            if tilt[p, T_VISIT] != 0:
                tpool = 0
            if record:
                before_o[i, :n_slots] = pools
                before_o[i, n_slots] = tpool
                before_o[i, n_slots + 1] = hifp_paid
                before_o[i, n_slots + 2] = ci_base
                before_o[i, n_slots + 3] = ci_paid
            err = 0
            cumulative += medfee[i]
            if cumulative > POOL_LIMIT:
                err = ERR_LIMIT * ERR_SHIFT
            if err == 0 and st_problem[i] > 0:  # the standings come first (engine)
                err = ERR_LOOKBACK * ERR_SHIFT + st_problem[i] - 1

            # Standings in tie order (the category's order, whether in force or in a
            # look-back); duplicates of (category, mode, ratio) dropped, the first kept
            # (engine.windows.standings).
            n = 0
            for k in range(slots):
                m = st_mode[k, i]
                if m == 0:
                    continue
                c = st_cat[k, i]
                r = st_ratio[k, i]
                key = cat_order[p, c]
                dup = False  # an earlier slot with the same key sorts first: keep it
                for j in range(n):
                    if f_cat[j] == c and f_mode[j] == m and f_ratio[j] == r:
                        dup = True
                        break
                if dup:
                    continue
                j = n
                while j > 0 and f_key[j - 1] > key:
                    f_cat[j] = f_cat[j - 1]
                    f_mode[j] = f_mode[j - 1]
                    f_ratio[j] = f_ratio[j - 1]
                    f_lb[j] = f_lb[j - 1]
                    f_key[j] = f_key[j - 1]
                    j -= 1
                f_cat[j] = c
                f_mode[j] = m
                f_ratio[j] = r
                f_lb[j] = st_lb[k, i]
                f_key[j] = key
                n += 1
            assisted = 0
            for j in range(n):
                if f_mode[j] != COUNTED:
                    assisted += 1

            # Tiers 1 and 2: as given, or computed from local parameters.
            hifp = hifp_in[i]
            if hifp < 0:
                lv = level[i]
                if err == 0 and bi[p, B_OK] == 0:  # the engine's first error is kept
                    err = ERR_BASIC * ERR_SHIFT
                elif err == 0 and bi_level[p, lv, 0] == 0:
                    err = ERR_LEVEL * ERR_SHIFT
                pay = (2 * max(0, inscp[i] - bi_level[p, lv, 1]) * bi_level[p, lv, 2] + BP) \
                    // (2 * BP)
                cap = bi[p, B_CAP]
                if cap >= 0 and pay > cap - hifp_paid:
                    pay = max(0, cap - hifp_paid)
                hifp_paid += pay
                hifp = pay
            else:  # given: still the year's (insurance.given)
                hifp_paid += hifp
            hifmi = hifmi_in[i]
            if hifmi < 0:
                if err == 0 and ci[p, 0, C_OK] == 0:
                    err = ERR_CRITICAL * ERR_SHIFT
                # the first tilt for a category the person holds in force, not in a
                # look-back (insurance.tilted), else the standard curve
                t = 0
                for k in range(1, ci.shape[1]):
                    if t > 0 or ci[p, k, C_OK] == 0:
                        break
                    for j in range(n):
                        if f_mode[j] == IN_FORCE and (ci[p, k, C_CATS] == -1
                                                     or (ci[p, k, C_CATS] >> f_cat[j]) & 1):
                            t = k
                ded = ci[p, t, C_DED]
                pts = ci[p, t, C_POINTS]
                cap = ci[p, t, C_CAP]
                after = ci_base + inscp[i] - hifp
                # the cap a payout limit on what the year paid, never inside F (insurance)
                pay = curve_value(after, ded, ci_segs[p, t], ci[p, t, C_NSEG], pts, -1) \
                    - curve_value(ci_base, ded, ci_segs[p, t], ci[p, t, C_NSEG], pts, -1)
                if cap >= 0 and pay > cap - ci_paid:
                    pay = max(0, cap - ci_paid)
                ci_base = after
                ci_paid += pay
                hifmi = pay
            else:
                ci_base += inscp[i] - hifp
                ci_paid += hifmi
            base = max(0, inscp[i] - hifp - hifmi - oth[i])
            amt[0] = inscp[i]
            amt[1:4] = selfpay[i]
            amt[4] = hifp
            amt[5] = hifmi
            amt[6] = oth[i]
            per_visit = per_visit_of[p] != 0
            hifp_o[i] = hifp
            hifmi_o[i] = hifmi
            base_o[i] = base
            assist_o[i] = 0
            special_o[i] = 0
            tilted_o[i] = 0
            reassist_o[i] = 0
            stage_mask_o[i] = 0
            mask_o[i] = 0
            cat_o[i] = -1
            err_o[i] = err
            if n == 0:
                continue

            # Tier 3: the referral rule, then the highest benefit among the standings.
            ref = rule_referral[i]  # as the referral rule reads the visit
            if ref_tab[p, ref, R_ASSIST] == 0:
                cat_o[i] = f_cat[0]
                shut[i - first_visit] = True
                continue
            points = ref_tab[p, ref, R_POINTS]
            remaining = medfee[i] - hifp - hifmi - oth[i]
            best_total = 0
            best_assist = 0
            best_special = 0
            best_mask = 0
            best_main = -1
            best_cb = 0
            best_ca = 0
            best_cat = -1
            best_alt = -1
            best_covered = False
            best_j = -1
            first = True
            n_alt = sel_alt[s + 1] - sel_alt[s]
            trials = (assisted if assisted > 0 else n) * n_alt
            # 就高 by order: only the first category listed that assists the visit is tried
            lead = -1
            if by_order[p] != 0:
                lead = f_cat[0]
                for j in range(n):
                    if f_mode[j] != COUNTED:
                        lead = f_cat[j]
                        break
            for j in range(n):
                if (assisted > 0 and f_mode[j] == COUNTED) or (lead >= 0 and f_cat[j] != lead):
                    continue
                pay_out = f_mode[j] != COUNTED
                for a in range(sel_alt[s], sel_alt[s + 1]):
                    # One trial (the usual case) is the choice: it works on the pools directly.
                    target = pools if trials == 1 else scratch
                    if trials > 1:
                        scratch[:] = pools
                    if (refused[i] >> f_cat[j]) & 1:  # refused by its own kind (§1)
                        assistance, special, mask, main, cb, ca, missing, covered = \
                            0, 0, 0, -1, 0, 0, -1, False
                    else:
                        assistance, special, mask, main, cb, ca, missing, covered = evaluate(
                            p, a, f_cat[j], f_ratio[j], f_lb[j], pay_out, base, amt,
                            remaining, points, per_visit, target, lines, segs, caps, covers,
                            alt_line, alt_lines, lookback_rules, vmask[i], sel_setting[s])
                    if missing >= 0 and err == 0:
                        err = ERR_LINE * ERR_SHIFT + missing
                    # ties: the first standing; within it, a set that covers its category
                    if first or assistance + special > best_total or (
                            assistance + special == best_total and j == best_j and covered
                            and not best_covered):
                        first = False
                        best_j = j
                        best_total = assistance + special
                        best_assist = assistance
                        best_special = special
                        best_mask = mask
                        best_main = main
                        best_cb = cb
                        best_ca = ca
                        best_cat = f_cat[j]
                        best_alt = a
                        best_covered = covered
                        if trials > 1:
                            best[:] = scratch
            if trials > 1:
                pools[:] = best

            # Deductible and segment pools measure spending (engine.settle._spending): every
            # such pool of a line covering the visit under a category in force advances by
            # that line's base, once per visit; those the applied outcome drew on already did.
            best_refused = best_cat >= 0 and (refused[i] >> best_cat) & 1
            for k in range(alt_line[best_alt], alt_line[best_alt + 1]):
                li = alt_lines[k]
                if not best_refused and covers[p, li, best_cat] != 0 and lines[p, li, L_OK] != 0 \
                        and lines[p, li, L_GRANT] < 0 and holds(lines[p, li, L_COND], vmask[i]):
                    done[lines[p, li, L_POOL]] = i
            for j in range(n):
                # in force, or counted by a look-back (计入累计) (engine.settle._spending)
                if (f_mode[j] != IN_FORCE and f_mode[j] != COUNTED) or (refused[i] >> f_cat[j]) & 1:
                    continue
                for a in range(sel_alt[s], sel_alt[s + 1]):
                    for k in range(alt_line[a], alt_line[a + 1]):
                        li = alt_lines[k]
                        if covers[p, li, f_cat[j]] == 0 or lines[p, li, L_OK] == 0 \
                                or lines[p, li, L_GRANT] >= 0 \
                                or not holds(lines[p, li, L_COND], vmask[i]):
                            continue
                        slot = lines[p, li, L_POOL]
                        if done[slot] == i:
                            continue
                        done[slot] = i
                        pools[slot] += line_base(lines[p, li, L_INCLUDE], lines[p, li, L_AFTER],
                                                 base, amt)
            cat_o[i] = best_cat
            shut[i - first_visit] = ref_tab[p, ref, R_STAGES] == 0 or (
                not best_covered and best_cat >= 0 and (closed[i] >> best_cat) & 1 != 0)
            assist_o[i] = best_assist
            special_o[i] = best_special

            # Tilted assistance (NJ-T remainder; YC-T beyond the cap, on the scaled pool),
            # with the values of the applied category's entry (engine.tilt.tilted).
            pay = 0
            mode = tilt[p, T_MODE]
            e = tilt_entry[p, best_cat] if best_cat >= 0 else -1
            if mode != TILT_NONE and ref_tab[p, ref, R_TILT] != 0 and best_covered \
                    and e >= 0 and tilt_referral[p, referral[i]] != 0 \
                    and tilt_location[p, location[i]] != 0 \
                    and tilt_setting[p, sel_setting[s]] != 0 \
                    and (tilt[p, T_APP] == 0 or applied[i] != 0):
                go = True
                # the base it works on: the visit's, or a composition with self-pay parts
                left = line_base(tilt[p, T_INCLUDE], ALL_FUNDS, base, amt)
                if mode == TILT_BEYOND_CAP:
                    if best_main < 0 or lines[p, best_main, L_REACH] < 0:
                        go = False
                        add = 0
                    else:
                        reach = lines[p, best_main, L_REACH]
                        add = max(0, best_ca * scale - reach) - max(0, best_cb * scale - reach)
                else:
                    add = (left - best_total) * scale
                if go:
                    if err == 0 and tilt_vals[p, e, V_OK] == 0:
                        err = ERR_TILTED * ERR_SHIFT + e
                    after = tpool + add
                    pay = scaled_delta(tpool, after, scale, tilt_vals[p, e, V_DED],
                                       tilt_segs[p, e], tilt_vals[p, e, V_NSEG], per_visit)
                    # never beyond what assistance left of the base (a grant may already
                    # exceed it), then within the cap pools
                    pay = max(0, min(pay, left - best_total))
                    pay = within_caps(pay, 0, -1, tilt_caps[p, e], tilt_vals[p, e, V_NCAPS],
                                      pools)
                    tpool = after
            tilted_o[i] = pay

            # The `when: visit` stages, in order, each on what the person still bears.
            maf = best_total + pay
            kind = sel_setting[s]
            for k in range(n_stages[p]):
                if stages[p, k, S_WHEN] != S_VISIT \
                        or not stage_takes(stages, stage_entry, p, k, best_cat, kind, vmask[i],
                                           shut[i - first_visit]):
                    continue
                e = stage_entry[p, k, best_cat]
                if stage_vals[p, k, e, SV_OK] == 0:
                    if err == 0:
                        err = ERR_STAGE * ERR_SHIFT + k * stage_vals.shape[2] + e
                    continue
                m = stage_measure(stages[p, k, S_INCLUDE], amt, maf)
                slot = stages[p, k, S_POOL]
                before = pools[slot]
                pools[slot] = before + m
                of_total = medfee[i] if stage_vals[p, k, e, SV_OF] == 0 else inscp[i]
                paid = 0
                of_slot = stages[p, k, S_OF_SLOT]
                if of_slot >= 0:  # a ceiling: the period's running totals
                    of_total += pools[of_slot]
                    pools[of_slot] = of_total
                    paid = pools[stages[p, k, S_PAID_SLOT]]
                got = stage_pay(stage_vals[p, k, e], stage_segs[p, k, e], stage_caps[p, k, e],
                                before, m, of_total, paid, per_visit, kind, pools)
                if of_slot >= 0:
                    pools[stages[p, k, S_PAID_SLOT]] = paid + got
                reassist_o[i] += got
                maf += got
                if got > 0:
                    stage_mask_o[i] |= np.int64(1) << k
            mask_o[i] = best_mask
            err_o[i] = err

        if record:  # after the last visit: the year-end stages are an entry of their own
            end_o[g, :n_slots] = pools
            end_o[g, n_slots] = tpool
            end_o[g, n_slots + 1] = hifp_paid
            end_o[g, n_slots + 2] = ci_base
            end_o[g, n_slots + 3] = ci_paid

        # The `when: year_end` stages of the plan in force on 31 December, over the visits
        # they take.
        pl = group_plan[g]
        paid_before = 0  # what earlier year-end stages paid: no longer borne
        for k in range(n_stages[pl]):
            year_end_o[g, k] = -1
            if stages[pl, k, S_WHEN] == S_VISIT:
                continue
            # by the identity held at the year's end (`held[g]`), or the first-listed among
            # the visits' categories
            at_end = stages[pl, k, S_WHEN] >= S_YEAR_END_HELD
            cat = held_only[g] if stages[pl, k, S_WHEN] == S_YEAR_END_HELD_ONLY else \
                held[g] if at_end else -1
            if at_end and cat < 0:  # none held at the year's end: 0 where it would take one
                for i in range(lo, hi):
                    if stage_takes(stages, stage_entry, pl, k, cat_o[i], sel_setting[sel[i]],
                                   vmask[i], shut[i - first_visit]):
                        year_end_o[g, k] = 0
                        break
                continue
            key = 0
            count = 0
            for i in range(lo, hi):
                c = cat_o[i]
                taken[i - first_visit] = stage_takes(
                    stages, stage_entry, pl, k, cat if at_end and c >= 0 else c,
                    sel_setting[sel[i]], vmask[i], shut[i - first_visit])
                if not taken[i - first_visit]:
                    continue
                order = cat_order[pl, c] if cat_order[pl, c] >= 0 else cat_order.shape[1]
                if not at_end and (count == 0 or order < key):
                    cat = c
                    key = order
                count += 1
            if count == 0:
                continue
            e = stage_entry[pl, k, cat]
            if stage_vals[pl, k, e, SV_OK] == 0:
                if err_o[hi - 1] == 0:
                    err_o[hi - 1] = ERR_STAGE * ERR_SHIFT + k * stage_vals.shape[2] + e
                continue
            include = stages[pl, k, S_INCLUDE]
            m = 0
            of_total = 0
            for i in range(lo, hi):
                if not taken[i - first_visit]:
                    continue
                amt[0] = inscp[i]
                amt[1:4] = selfpay[i]
                amt[4] = hifp_o[i]
                amt[5] = hifmi_o[i]
                amt[6] = oth[i]
                m += stage_measure(include, amt, assist_o[i] + tilted_o[i] + special_o[i]
                                   + reassist_o[i])
                of_total += medfee[i] if stage_vals[pl, k, e, SV_OF] == 0 else inscp[i]
            m = max(0, m - paid_before)
            got = stage_pay(stage_vals[pl, k, e], stage_segs[pl, k, e], stage_caps[pl, k, e],
                            0, m, of_total, 0, False, -1, pools)
            year_end_o[g, k] = got
            paid_before += got
        pools_o[g, :] = pools


@njit(cache=True)
def held_at_year_end(group_off, person, year_last, group_plan, version_of, ident_off,  # type: ignore[no-untyped-def]
                     ident_from, held_to, ident_cat, cat_order, last_held):
    """Per person-year, the category of the identity held at the year's end
    (`engine.stages.held_at_year_end`): the first in the tie order of the year's closing plan
    among those held on its last day, else (`last_held`) among those held last before it;
    −1: none."""
    out = np.full(len(group_off) - 1, -1, np.int64)
    for g in range(len(group_off) - 1):
        pr, pl = person[group_off[g]], group_plan[g]
        last = year_last[g]
        ident_to = held_to[version_of[pl]]  # exits, 渐退期 included, by the plan's version
        latest = np.int64(-(2 ** 62))
        for j in range(ident_off[pr], ident_off[pr + 1]):
            c, to = ident_cat[j], ident_to[j]
            if c < 0 or cat_order[pl, c] < 0 or ident_from[j] > last \
                    or (to != NO_DATE and to < last and not last_held):
                continue
            latest = max(latest, last if to == NO_DATE or to > last else to)
        if latest == -(2 ** 62):  # none held (on 31 December, without `last_held`)
            continue
        key = 0
        for j in range(ident_off[pr], ident_off[pr + 1]):
            c, to = ident_cat[j], ident_to[j]
            if c < 0 or cat_order[pl, c] < 0 or ident_from[j] > last \
                    or (to != NO_DATE and to < latest):
                continue
            if out[g] < 0 or cat_order[pl, c] < key:
                out[g] = c
                key = cat_order[pl, c]
    return out


@njit(cache=True)
def factorize(codes, size):  # type: ignore[no-untyped-def]
    """Dense ids of int64 `codes` in order of first appearance, by open addressing in a
    table of `size` (a power of two): (ids, uniques, True), or False when more than
    size / 2 distinct codes appear (the caller falls back to a sort)."""
    keys = np.empty(size, np.int64)
    used = np.zeros(size, np.bool_)
    slot_id = np.empty(size, np.int32)
    uniques = np.empty(size // 2, np.int64)
    ids = np.empty(len(codes), np.int32)
    n = 0
    mask = size - 1
    for i in range(len(codes)):
        c = codes[i]
        h = (c * np.int64(-7046029254386353131)) >> 20
        j = h & mask
        while used[j] and keys[j] != c:
            j = (j + 1) & mask
        if not used[j]:
            if n == size // 2:
                return ids, uniques[:0], False
            used[j] = True
            keys[j] = c
            slot_id[j] = n
            uniques[n] = c
            n += 1
        ids[i] = slot_id[j]
    return ids, uniques[:n], True


@njit(cache=True, nogil=True)
def group_starts(person, year):  # type: ignore[no-untyped-def]
    """Where (person, year) changes, and whether the pairs never decrease (the file is
    grouped by person and year, each person-year's visits together): one pass."""
    n = len(person)
    starts = np.empty(n + 1, np.int64)
    k = 0
    starts[k] = 0
    k += 1
    ordered = True
    for i in range(1, n):
        if person[i] != person[i - 1] or year[i] != year[i - 1]:
            if person[i] < person[i - 1] or (person[i] == person[i - 1]
                                             and year[i] < year[i - 1]):
                ordered = False
            starts[k] = i
            k += 1
    starts[k] = n
    return starts[:k + 1], ordered
