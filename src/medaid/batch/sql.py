"""The rules as one DuckDB query over the Parquet files (window functions), where they fit.

What a window function expresses: per person-year, the cumulative base of a pool
(`SUM(line base) OVER (PARTITION BY person, pool ORDER BY row)`, the line's base being
`inscp − hifp` for a line assisting after basic insurance only), the uncapped curve
`max(0, min(R(F(C_after)) − R(F(C_before)), base))` — or `R(F(C_after) − F(C_before))`
under `rounding: per_visit` — then each cap pool as a payout limit (RULES §3): when every
line drawing on it has the same cap, what it lets through is min(cap, S_after) −
min(cap, S_before) of the running sum S of what reaches it. Tilted assistance runs over a
second running sum (NJ-T; YC-T with exact 128-bit scaled S*, S* from the main line's
smallest cap), clamped to what assistance left of the base and then within its own cap
pool. Each `when: visit` stage after it (再救助, a grant, a ceiling) is one more step: its
measure (what the person still bears after every fund and every payout before it) over a
running sum per person-year (or per visit), its form by the person's category, then its
own cap pool the same way. A look-back ratio applies to the lines of its entry's `rules`
only, and look-backs with a ratio are tried before the window in force. The query is
generated from the compiled plan (`batch.plan`), so it holds no policy number.

What it does not express — a person-year is left to the kernel when any of these holds:

* more than one identity (就高不叠加: the category chosen for a visit depends on the pools,
  which depend on the categories chosen before: a recursion, not a window; and
  deductible and segment pools measure spending under every category in force);
* a visit that more than one line may pay under its category, or more than one set of
  lines (exclusive or alternative rules tried beside each other, NB-S1/NB-S2 就高; a Ningbo
  childbirth flagged rare disease): several lines advance pools and bound each other's
  payout within one visit;
* a category whose lines draw on one cap pool with different caps (each visit may draw
  `max(0, its line's cap − used)`: again a recursion), or on cap pools in no common order;
* insurance to compute (`hifp_pay`/`hifmi_pay` absent; expressible the same way, not
  written here).

And a whole file is left to the kernel (`supported` False, `reason` says why) when it has
more than one policy version or year, a line of more than two segments or tilted
assistance of more than one, more than one tilted cap pool, tilted assistance sharing a
cap pool with a line, a year-end stage (`when: year_end`: a payout over the year's
qualifying visits, after the last), a stage of more than two segments or one cap pool or
sharing a cap pool, conditions on a line or stage, a raised cap, or a referral rule
limited to some kinds or locations or keeping unreferred visits from the stages, or a
look-back limited to some kinds of visit (each named in `reason`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from medaid.batch import schema
from medaid.batch.plan import (
    FORM_GRANT,
    FORM_SEGMENTS,
    GRADES,
    K_RAISED,
    L_AFTER,
    L_DED,
    L_GRANT,
    L_INCLUDE,
    L_NCAPS,
    L_NSEG,
    L_OK,
    L_POOL,
    L_REACH,
    L_TIER,
    R_ASSIST,
    R_POINTS,
    R_TILT,
    S_INCLUDE,
    S_KINDS,
    S_POOL,
    S_VISIT,
    S_WHEN,
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
    TILT_REMAINDER,
    V_DED,
    V_NCAPS,
    V_NSEG,
    Plans,
    compile_plans,
)
from medaid.batch.schema import SELF_PAY
from medaid.batch.settle import Results
from medaid.core.money import BP
from medaid.engine.case import LOCATIONS, REFERRALS
from medaid.policy.model import Policy
from medaid.policy.schema import FUNDS, KINDS

MACROS = f"""
CREATE OR REPLACE MACRO seg_part(rest, w) AS
    CASE WHEN rest <= 0 THEN 0 WHEN w < 0 OR rest < w THEN rest ELSE w END;
CREATE OR REPLACE MACRO rate(bp, points, ratio) AS
    CASE WHEN ratio >= 0 THEN ratio ELSE LEAST({BP}, GREATEST(0, bp + points)) END;
CREATE OR REPLACE MACRO fdiv(x, d) AS CASE WHEN x >= 0 THEN x // d ELSE -((d - 1 - x) // d) END;
CREATE OR REPLACE MACRO f_bp(c, ded, nseg, w1, b1, w2, b2, points, ratio) AS
    seg_part(c - ded, w1) * rate(b1, points, ratio)
    + CASE WHEN nseg < 2 THEN 0 ELSE seg_part(c - ded - seg_part(c - ded, w1), w2) END
      * rate(b2, points, ratio);
CREATE OR REPLACE MACRO r_bp(x) AS fdiv(2 * x + {BP}, {2 * BP});
CREATE OR REPLACE MACRO curve_delta(a, b, ded, nseg, w1, b1, w2, b2, points, ratio, per_visit)
    AS CASE WHEN per_visit THEN r_bp(f_bp(a, ded, nseg, w1, b1, w2, b2, points, ratio)
                                     - f_bp(b, ded, nseg, w1, b1, w2, b2, points, ratio))
            ELSE r_bp(f_bp(a, ded, nseg, w1, b1, w2, b2, points, ratio))
                 - r_bp(f_bp(b, ded, nseg, w1, b1, w2, b2, points, ratio)) END;
CREATE OR REPLACE MACRO scaled_bp(x, scale, ded, w1, b1) AS
    CAST(seg_part(x - ded * scale, CASE WHEN w1 < 0 THEN -1 ELSE w1 * scale END) AS HUGEINT)
    * b1;
CREATE OR REPLACE MACRO scaled_r(v, scale) AS CAST(fdiv(2 * v + {BP} * scale, {2 * BP} * scale)
    AS BIGINT);
CREATE OR REPLACE MACRO scaled_delta(a, b, scale, ded, w1, b1, per_visit) AS
    CASE WHEN per_visit THEN scaled_r(scaled_bp(a, scale, ded, w1, b1)
                                      - scaled_bp(b, scale, ded, w1, b1), scale)
         ELSE scaled_r(scaled_bp(a, scale, ded, w1, b1), scale)
              - scaled_r(scaled_bp(b, scale, ded, w1, b1), scale) END;
"""


def _values(rows: Sequence[Sequence[object]], names: Sequence[str]) -> str:
    body = ", ".join("(" + ", ".join(_lit(v) for v in r) + ")" for r in rows)
    return f"(VALUES {body}) AS t({', '.join(names)})"


def _lit(v: object) -> str:
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    return str(int(v))  # type: ignore[call-overload]


def _nested(plans: Plans, p: int, c: int) -> bool:
    """Whether the chained caps of category c's lines pay as the engine does. The query
    charges a line's earlier cap pool with what passed it, before a later cap cut it; the
    engine charges every pool with what was paid. The two agree when each later pool lasts
    the year (once it cuts, it is spent and every line drawing on the earlier pool draws on
    it too, so pays nothing more)."""
    slots = [[int(plans.caps[p, li, k, 0]) for k in range(int(plans.lines[p, li, L_NCAPS]))]
             for li in range(plans.lines.shape[1]) if plans.covers[p, li, c]]
    for own in slots:
        for j, earlier in enumerate(own[:-1]):
            later = own[j + 1:]
            if any(plans.visit_slots[p, slot] for slot in later) or any(
                    earlier in other and not set(later) <= set(other) for other in slots):
                return False
    return True


class Formulation:
    """The query for one jurisdiction's year; `supported` False with `reason` when the
    year's rules need what it cannot express at all."""

    def __init__(self, versions: Sequence[Policy], local: Mapping[str, object],
                 year: int | None = None) -> None:
        self.versions = list(versions)
        self.local = local
        self.year = year
        self.reason = ""
        self.supported = len(self.versions) == 1
        if not self.supported:
            self.reason = "several policy versions"

    def _plan(self, year: int) -> Plans:
        return compile_plans(self.versions, self.local, [(0, year)])

    def query(self, path: Path, year: int) -> str:
        plans = self._plan(year)
        policy = self.versions[0]
        p = 0
        cats = plans.categories
        nseg = int(plans.lines[p, :, L_NSEG].max(initial=0))
        if nseg > 2 or int(plans.tilt_vals[p, :, V_NSEG].max()) > 1:
            raise NotImplementedError("a line of more than two segments")
        # what the kernel runs and this query does not say: the file is the kernel's
        if bool((plans.stages[p, :int(plans.n_stages[p]), S_WHEN] != S_VISIT).any()):
            raise NotImplementedError("DuckDB 查询不表达年终 stages（when: year_end）")
        if bool((plans.stage_caps[..., K_RAISED] >= 0).any()):
            raise NotImplementedError("DuckDB 查询不表达 stages 的 caps[].raised（条件封顶线）")
        if plans.conditions:
            raise NotImplementedError("DuckDB 查询不表达条件（人员状态、就医地、医院等级、转诊）")
        if bool((plans.caps[..., K_RAISED] >= 0).any()):
            raise NotImplementedError("DuckDB 查询不表达 caps[].raised（条件封顶线）")
        if plans.problems.lookback or plans.problems.tilted:
            raise NotImplementedError("a look-back ratio or tilted assistance without its "
                                      "parameters (the kernel names the error)")

        # Which line pays (kind, flags, grade, category): one line of one alternative only.
        route: list[tuple[object, ...]] = []
        for k, kind in enumerate(KINDS):
            for flags in range(4):
                for g in range(len(GRADES)):
                    s = int(plans.sel_of[p, k, flags, g, 0])  # no conditions here
                    alts = range(int(plans.sel_alt[s]), int(plans.sel_alt[s + 1]))
                    for c, cat in enumerate(cats):
                        paying = [int(plans.alt_lines[i]) for a in alts
                                  for i in range(int(plans.alt_line[a]), int(plans.alt_line[a + 1]))
                                  if plans.covers[p, int(plans.alt_lines[i]), c]]
                        if int(plans.sel_setting[s]) != k and (int(plans.refused[p, k]) >> c) & 1:
                            paying = []  # refused by its own kind, not settled as the setting
                        ok = len(alts) == 1 and len(paying) <= 1 and all(
                            plans.lines[p, li, L_OK] for li in paying)
                        setting = int(plans.sel_setting[s])
                        shut = bool((int(plans.closed[p, k] | plans.closed[p, setting]) >> c) & 1)
                        route.append((kind, flags, g, cat, paying[0] if paying else -1, ok,
                                      KINDS[setting], shut))
        # Cap pools per category: one amount each, in one order for all its lines.
        pools = plans.pools
        order: list[int] = []
        cat_ok = {}
        amounts: dict[tuple[int, int], int] = {}
        for c, cat in enumerate(cats):
            ok = True
            seen: dict[int, int] = {}
            for li in range(plans.lines.shape[1]):
                if not plans.covers[p, li, c]:
                    continue
                prev = -1
                for kk in range(int(plans.lines[p, li, L_NCAPS])):
                    slot, amount = (int(x) for x in plans.caps[p, li, kk, :2])
                    ok &= seen.setdefault(slot, amount) == amount
                    if slot not in order:
                        order.append(slot)
                    ok &= order.index(slot) > prev
                    prev = order.index(slot)
                    amounts[(c, slot)] = amount
            cat_ok[cat] = ok and _nested(plans, p, c)
        tilt_mode = int(plans.tilt[p, T_MODE])
        if int(plans.tilt[p, T_INCLUDE]):
            raise NotImplementedError("DuckDB 查询不表达含自付部分的倾斜救助基数（tilted.base: "
                                      "{include: …}）")
        # Tilted assistance's values by category (`model.tilted_entry`; a person-year the
        # query takes has one category): deductible, segment, its cap pool if any.
        t_entry = {cat: int(plans.tilt_entry[p, c]) for c, cat in enumerate(cats)}
        tvals = {e: (int(plans.tilt_vals[p, e, V_DED]), int(plans.tilt_segs[p, e, 0, 0]),
                     int(plans.tilt_segs[p, e, 0, 1]),
                     [(int(plans.tilt_caps[p, e, k, 0]), int(plans.tilt_caps[p, e, k, 1]))
                      for k in range(int(plans.tilt_vals[p, e, V_NCAPS]))])
                 for e in range(plans.tilt_vals.shape[1])}
        if any(len(v[3]) > 1 for v in tvals.values()):
            raise NotImplementedError("more than one tilted cap pool")
        tcaps = [cap for v in tvals.values() for cap in v[3]]
        if any(slot in order for slot, _ in tcaps):
            raise NotImplementedError("tilted assistance sharing a cap pool with a line")

        lines = []
        for li in range(plans.lines.shape[1]):
            row = plans.lines[p, li]
            segs = plans.segs[p, li]
            caps = {int(plans.caps[p, li, k, 0]) for k in range(int(row[L_NCAPS]))}
            second = segs.shape[0] > 1
            lines.append((li, int(row[L_TIER]), int(row[L_GRANT]), int(row[L_DED]),
                          int(row[L_NSEG]), int(segs[0, 0]), int(segs[0, 1]),
                          int(segs[1, 0]) if second else -1, int(segs[1, 1]) if second else 0,
                          int(row[L_INCLUDE]), int(row[L_AFTER]), pools[int(row[L_POOL])],
                          bool(plans.visit_slots[p, int(row[L_POOL])]),
                          int(row[L_REACH]), *(slot in caps for slot in order)))
        cap_cols = [f"uses{k}" for k in range(len(order))]
        w = policy.spec.windows
        ref_rule = policy.spec.referral
        if ref_rule is not None and (ref_rule.kinds != "*" or ref_rule.locations is not None):
            raise NotImplementedError("DuckDB 查询不表达限于部分就诊类别或就医地的转诊规则"
                                      "（referral.kinds / referral.locations）")
        if ref_rule is not None and policy.spec.stages and not (
                ref_rule.unreferred.stages and ref_rule.unreferred_hardship.stages):
            raise NotImplementedError("DuckDB 查询不表达不计入救助后续阶段的未转诊就诊"
                                      "（referral.*.stages: false）")
        if any(lb.kinds != "*" for lb in w.lookback):
            raise NotImplementedError("DuckDB 查询不表达限于部分就诊类型的回溯期"
                                      "（windows.lookback[].kinds）")
        ref = [(name, int(plans.referral[p, r, R_ASSIST]), int(plans.referral[p, r, R_POINTS]),
                int(plans.referral[p, r, R_TILT]) and int(plans.tilt_referral[p, r]))
               for r, name in enumerate(REFERRALS)]
        # The look-back entry covering the visit: those with a ratio of their own are tried
        # before the window in force, the others after it (engine.windows.periods).
        def entries(with_ratio: bool) -> str:
            parts = []
            for j, lb in enumerate(w.lookback):
                if (lb.ratio is not None) != with_ratio:
                    continue
                anchor = "coalesce(i.application, i.\"from\")" if lb.before == "application" \
                    else "i.\"from\""
                in_cat = ", ".join(_lit(c) for c in lb.categories)
                until = 'i."from"' if lb.until == "from" else anchor
                covers = (f"last_probe >= CAST({anchor} - INTERVAL {lb.months} MONTH AS DATE) "
                          f"AND probe <= {until} - 1")
                if lb.new_this_year:  # 当年新认定
                    covers += ' AND year(i."from") = year(v."end")'
                if lb.recognised_since is not None:  # …以后新认定的
                    covers += f' AND i."from" >= DATE \'{lb.recognised_since}\''
                if lb.with_tilted_application:  # 依申请
                    covers += ' AND year(tilted_application) = year(v."end")'

                parts.append(f"WHEN i.category IN ({in_cat}) AND {covers} THEN {j}")
            return "CASE " + " ".join(parts) + " ELSE NULL END" if parts else "NULL"
        lb_ratio, lb_plain = entries(True), entries(False)
        # a `counts_only` look-back's visits count into the pools, paid nothing (mode 3)
        counted = ", ".join(str(j) for j, lb in enumerate(w.lookback) if lb.counts_only) \
            or "NULL"
        # its ratio, on the lines of its `rules` only (NB-A3; never NB-A4, NB-S1–S3)
        ratio_parts = []
        for j in range(len(w.lookback)):
            ratio = int(plans.lookback_ratio[p, j])
            named = [li for li in range(plans.lines.shape[1]) if plans.lookback_rules[p, j, li]]
            if ratio >= 0 and named:
                ratio_parts.append(f"WHEN lb = {j} AND line IN ({', '.join(map(str, named))}) "
                                   f"THEN {ratio}")
        ratio_sql = "CASE " + " ".join(ratio_parts) + " ELSE -1 END" if ratio_parts else "-1"
        per_visit = bool(plans.per_visit[p])
        first = {"month_start": "date_trunc('month', i.\"from\")",
                 "next_month": "CAST(last_day(i.\"from\") + 1 AS DATE)"}.get(w.start, 'i."from"')
        last = {"exact": "i.\"to\"", "day_before": "CAST(i.\"to\" - 1 AS DATE)"}.get(
            w.end, "last_day(i.\"to\")")
        if w.end == "month_end" and w.month_end_categories is not None:  # JS-W: key ones only
            listed = ", ".join(_lit(c) for c in w.month_end_categories) or "NULL"
            last = f"CASE WHEN i.category IN ({listed}) THEN last_day(i.\"to\") ELSE i.\"to\" END"
        # 渐退期: in force to `to` + months, by the first entry listing the category whose
        # exit date it meets
        whens = []
        for grace in w.grace:
            listed = ", ".join(_lit(c) for c in grace.categories) or "NULL"
            since = "" if grace.exited_since is None else \
                f" AND i.\"to\" >= DATE '{grace.exited_since}'"
            whens.append(f"WHEN i.category IN ({listed}){since} THEN greatest({last}, "
                         f"CAST(i.\"to\" + INTERVAL {grace.months} MONTH AS DATE))")
        if whens:
            last = f"CASE {' '.join(whens)} ELSE {last} END"
        stays = ", ".join(_lit(k) for k in ("inpatient", "childbirth"))
        stay = f"(r.setting IN ({stays}))" if w.stay_rule else "FALSE"
        # a period covers a visit holding from `probe` to `last_probe`: any day of a stay
        # (stay rule), its admission date (`stay_rule: admission`), else the end date
        admit = stay if w.stay_rule == "admission" else "FALSE"
        tset = [k for i, k in enumerate(KINDS) if plans.tilt_setting[p, i]]
        tloc = [x for i, x in enumerate(LOCATIONS) if plans.tilt_location[p, i]]
        scale = plans.scale

        def by_category(value: Callable[[int], object], default: object = 0) -> str:
            """A CASE over the person's category of the tilted value of its entry."""
            whens = " ".join(f"WHEN category = {_lit(cat)} THEN {value(e)}"
                             for cat, e in t_entry.items() if e >= 0)
            return f"CASE {whens} ELSE {default} END" if whens else str(default)

        td = by_category(lambda e: tvals[e][0])
        tw = by_category(lambda e: tvals[e][1])
        tb = by_category(lambda e: tvals[e][2])
        t_cats = ", ".join(_lit(cat) for cat, e in t_entry.items() if e >= 0) or "''"
        persons = schema.persons_path(path)
        cat_list = ", ".join(_lit(c) for c, ok in cat_ok.items() if ok) or "''"

        def per_visit_cap(slot: int) -> str:  # a cap pool per visit starts from 0 at each
            return ", row" if plans.visit_slots[p, slot] else ""

        def parts(mask: str, sign: str, names: Sequence[str]) -> str:
            """± each amount field whose bit is set in the line's mask column."""
            return " ".join(f"{sign} CASE WHEN ({mask} & {1 << b}) <> 0 THEN v.{name} ELSE 0 END"
                            for b, name in enumerate(names))

        cap_steps = []
        source = "paid"
        for k, slot in enumerate(order):
            amount_case = " ".join(f"WHEN category = {_lit(cats[c])} THEN {a}"
                                   for (c, s), a in amounts.items() if s == slot)
            cap_steps.append(f"""
step{k} AS (SELECT *, CASE WHEN uses{k} THEN LEAST(cap{k}, s{k}) - LEAST(cap{k}, s{k} - e{k})
                         ELSE pay{k} END AS pay{k + 1}
    FROM (SELECT *, SUM(e{k}) OVER (PARTITION BY person_key{per_visit_cap(slot)} ORDER BY row)
                          AS s{k}
          FROM (SELECT *, CASE WHEN uses{k} THEN pay{k} ELSE 0 END AS e{k},
                       CASE {amount_case} ELSE 0 END AS cap{k} FROM {source}))),""")
            source = f"step{k}"
        final_pay = f"pay{len(order)}"
        if tilt_mode == TILT_REMAINDER:
            tilt_base = "CAST(base - total AS HUGEINT)"
        elif tilt_mode == TILT_BEYOND_CAP:
            tilt_base = (f"CASE WHEN tier != 0 OR reach < 0 THEN NULL ELSE GREATEST(0, "
                         f"CAST(c_after AS HUGEINT) * {scale} - reach) - GREATEST(0, "
                         f"CAST(c_before AS HUGEINT) * {scale} - reach) END")
        else:
            tilt_base = "NULL"
        app = "year(tilted_application) = year(\"end\")" \
            if int(plans.tilt[p, T_APP]) else "TRUE"

        def capped(e: int) -> str:  # a cap pool of its own (YC-T), as for the lines
            if not tvals[e][3]:
                return "t_pay"
            ((slot, amount),) = tvals[e][3]
            if plans.visit_slots[p, slot]:
                return f"LEAST({amount}, t_pay)"
            return (f"LEAST({amount}, SUM(t_pay) OVER w) "
                    f"- LEAST({amount}, SUM(t_pay) OVER w - t_pay)")
        tilt_caps_sql = by_category(capped, "t_pay")
        t_visit = ", row" if int(plans.tilt[p, T_VISIT]) else ""

        pv = _lit(per_visit)
        stage_sql, reassistance = self._stages(plans, p, cats, order, tcaps, pv)
        return f"""
WITH
route AS (SELECT * FROM {_values(route, ("kind", "flags", "grade", "category", "line", "ok",
                                          "setting", "shut"))}),
lines AS (SELECT * FROM {_values(lines, ("line", "tier", "grant_", "ded", "nseg", "w1", "b1",
                                          "w2", "b2", "inc", "af", "pool", "pool_visit",
                                          "reach", *cap_cols))}),
refs AS (SELECT * FROM {_values(ref, ("referral", "assist", "points", "tilt_ok"))}),
pe AS (SELECT person_key, coalesce(disability_grade, 0) AS grade, tilted_application,
              identities[1] AS i, len(identities) AS n_ident
       FROM read_parquet('{persons}')),
v0 AS (SELECT file_row_number AS row, v.*, pe.grade, pe.tilted_application, pe.i, pe.n_ident,
              CAST(heroic_injury AS INT) + 2 * CAST(rare_disease AS INT) AS flags,
              medfee_sumamt - fulamt_ownpay_amt - overlmt_selfpay - preselfpay_amt AS inscp
       FROM read_parquet('{path}', file_row_number = true) v JOIN pe USING (person_key)),
v1 AS (SELECT v.*, r.line, r.ok, r.setting, r.shut,
              CASE WHEN {stay} THEN v.start ELSE v."end" END AS probe,
              CASE WHEN {admit} THEN v.start ELSE v."end" END AS last_probe
       FROM v0 v JOIN route r ON r.kind = v.kind AND r.flags = v.flags AND r.grade = v.grade
                              AND r.category = v.i.category),
v2a AS (SELECT v.*, i.category AS category, {lb_ratio} AS lb_r,
               last_probe >= {first} AND (i."to" IS NULL OR probe <= {last}) AS inside,
               {lb_plain} AS lb_p
        FROM v1 v),
v2 AS (SELECT v.*,
              CASE WHEN lb_r IS NOT NULL THEN 2 WHEN inside THEN 1
                   WHEN lb_p IN ({counted}) THEN 3
                   WHEN lb_p IS NOT NULL THEN 2
                   ELSE 0 END AS mode,
              CASE WHEN lb_r IS NOT NULL THEN lb_r WHEN inside THEN NULL ELSE lb_p END AS lb,
              GREATEST(0, inscp - hifp_pay - hifmi_pay - oth_pay) AS base,
              medfee_sumamt - hifp_pay - hifmi_pay - oth_pay AS remaining
       FROM v2a v),
covered AS (SELECT * FROM (
       SELECT *, bool_and(ok AND n_ident = 1 AND hifp_pay IS NOT NULL AND hifmi_pay IS NOT NULL
                          AND category IN ({cat_list}))
                   OVER (PARTITION BY person_key) AS person_ok FROM v2) WHERE person_ok),
v3 AS (SELECT v.*, l.*, f.assist, f.points, f.tilt_ok,
              v.mode > 0 AND f.assist = 1 AND l.line IS NOT NULL AND v.line >= 0 AS lined,
              CASE WHEN l.inc = 0 AND l.af = 7 THEN v.base
                   ELSE GREATEST(0, v.inscp {parts("l.inc", "+", SELF_PAY)}
                                         {parts("l.af", "-", FUNDS)}) END AS lbase,
              CASE WHEN l.inc = 0 THEN v.base
                   ELSE GREATEST(0, v.inscp {parts("l.inc", "+", SELF_PAY)}
                                 - v.hifp_pay - v.hifmi_pay - v.oth_pay) END AS llimit
       FROM covered v JOIN refs f ON f.referral = v.referral
       LEFT JOIN lines l ON l.line = v.line),
pooled AS (SELECT *, SUM(CASE WHEN lined AND grant_ < 0 THEN lbase ELSE 0 END)
                     OVER (PARTITION BY person_key, pool, CASE WHEN pool_visit THEN row END
                           ORDER BY row) AS c_after,
                  {ratio_sql} AS ratio
           FROM v3),
paid AS (SELECT *, c_after - CASE WHEN lined AND grant_ < 0 THEN lbase ELSE 0 END AS c_before,
                CASE WHEN NOT lined OR mode = 3 THEN 0
                     WHEN grant_ >= 0 THEN GREATEST(0, LEAST(grant_, remaining))
                     ELSE GREATEST(0, LEAST(curve_delta(c_after, c_after - lbase, ded, nseg, w1,
                                                        b1, w2, b2, points, ratio, {pv}),
                                            llimit)) END AS pay0
         FROM pooled),{"".join(cap_steps)}
settled AS (SELECT *, CASE WHEN tier = 1 THEN {final_pay} ELSE 0 END AS special,
                   CASE WHEN lined AND tier = 0 THEN {final_pay} ELSE 0 END AS assistance,
                   CASE WHEN lined THEN {final_pay} ELSE 0 END AS total
            FROM {source}),
tilting AS (SELECT *, CASE WHEN {tilt_mode} != {TILT_NONE} AND mode > 0 AND assist = 1
                            AND category IN ({t_cats})
                            AND tilt_ok = 1 AND line >= 0
                            AND setting IN ({", ".join(_lit(k) for k in tset) or "''"})
                            AND location IN ({", ".join(_lit(x) for x in tloc) or "''"})
                            AND {app} THEN {tilt_base} ELSE NULL END AS t_add
            FROM settled),
tpool AS (SELECT *, SUM(coalesce(t_add, 0)) OVER (PARTITION BY person_key{t_visit} ORDER BY row)
                    AS t_after FROM tilting),
tpaid AS (SELECT *, CASE WHEN t_add IS NULL THEN 0
                         ELSE GREATEST(0, LEAST(scaled_delta(t_after, t_after - t_add, {scale},
                                                             {td}, {tw}, {tb}, {pv}),
                                                base - total)) END AS t_pay FROM tpool),
tcapped AS (SELECT *, {tilt_caps_sql} AS tilted FROM tpaid
            WINDOW w AS (PARTITION BY person_key ORDER BY row)),{stage_sql}
SELECT row, assistance, special, tilted, {reassistance} AS reassistance
FROM stage{int(plans.n_stages[p])}
ORDER BY row
"""

    @staticmethod
    def _stages(plans: Plans, p: int, cats: Sequence[str], taken: Sequence[int],
                tcaps: Sequence[tuple[int, int]], pv: str) -> tuple[str, str]:
        """The `when: visit` stages (`engine.stages.at_visit`), one step each after tilted
        assistance: its measure over its pool, its form by the person's category, then
        its cap pool, the way tilted assistance's is; returns the steps and the sum."""
        out = ["\nstage0 AS (SELECT * FROM tcapped),"]
        used = {*taken, *(slot for slot, _ in tcaps)}
        pays: list[str] = []
        for k in range(int(plans.n_stages[p])):
            row = plans.stages[p, k]
            slot = int(row[S_POOL])
            entries = {cat: int(plans.stage_entry[p, k, c]) for c, cat in enumerate(cats)}
            whens: dict[str, list[str]] = {"form": [], "cap": []}
            for cat, e in entries.items():
                if e < 0:
                    continue
                v = plans.stage_vals[p, k, e]
                segs = plans.stage_segs[p, k, e]
                if int(v[SV_NSEG]) > 2:
                    raise NotImplementedError("a stage of more than two segments")
                if int(v[SV_NCAPS]) > 1:
                    raise NotImplementedError("a stage of more than one cap pool")
                if not int(v[SV_OK]):
                    raise NotImplementedError("a stage without its parameters (the kernel "
                                              "names the error)")
                form = int(v[SV_FORM])
                ded = int(v[SV_DED])
                if form == FORM_SEGMENTS:
                    second = segs.shape[0] > 1
                    expr = (f"curve_delta(s_after, s_after - m, {ded}, {int(v[SV_NSEG])}, "
                            f"{int(segs[0, 0])}, {int(segs[0, 1])}, "
                            f"{int(segs[1, 0]) if second else -1}, "
                            f"{int(segs[1, 1]) if second else 0}, 0, -1, {pv})")
                elif form == FORM_GRANT:
                    expr = (f"CASE WHEN s_after - m <= {ded} AND {ded} < s_after "
                            f"THEN {int(v[SV_GRANT])} ELSE 0 END")
                elif not plans.visit_slots[p, slot]:  # what it paid before enters each
                    # visit's amount over the year: no window function says it
                    raise NotImplementedError("a ceiling paid at each visit over the year "
                                              "(年度个人负担封顶即时结算)")
                else:  # 单次: the visit's own measure and field
                    field = ("medfee_sumamt", "inscp")[int(v[SV_OF])]
                    limits = []
                    if int(v[SV_SHARE]) >= 0:
                        limits.append(f"fdiv(2 * CAST({field} AS HUGEINT) * {int(v[SV_SHARE])}"
                                      f" + {BP}, {2 * BP})")
                    if int(v[SV_AMOUNT]) >= 0:
                        limits.append(str(int(v[SV_AMOUNT])))
                    expr = f"GREATEST(0, m - LEAST({', '.join(limits)}))"
                whens["form"].append(f"WHEN category = {_lit(cat)} THEN {expr}")
                cap = "raw"
                if int(v[SV_NCAPS]):
                    c_slot, amount = (int(x) for x in plans.stage_caps[p, k, e, 0, :2])
                    if c_slot in used:
                        raise NotImplementedError("a stage sharing a cap pool")
                    part = ", row" if plans.visit_slots[p, c_slot] else ""
                    cum = f"SUM(raw) OVER (PARTITION BY person_key{part} ORDER BY row)"
                    cap = f"LEAST({amount}, {cum}) - LEAST({amount}, {cum} - raw)"
                whens["cap"].append(f"WHEN category = {_lit(cat)} THEN {cap}")
            used |= {int(plans.stage_caps[p, k, e, 0, 0]) for e in range(
                plans.stage_vals.shape[2]) if int(plans.stage_vals[p, k, e, SV_NCAPS])}
            kinds = [name for i, name in enumerate(KINDS)
                     if int(row[S_KINDS]) == -1 or int(row[S_KINDS]) >> i & 1]
            listed = ", ".join(_lit(c) for c, e in entries.items() if e >= 0) or "''"
            include = " ".join(f"+ v.{name}" for b, name in enumerate(SELF_PAY)
                               if int(row[S_INCLUDE]) >> b & 1)
            before = " + ".join(["assistance", "special", "tilted", *pays]) or "0"
            part = ", row" if plans.visit_slots[p, slot] else ""
            form_sql = "CASE " + " ".join(whens["form"]) + " ELSE 0 END" \
                if whens["form"] else "0"
            cap_sql = "CASE " + " ".join(whens["cap"]) + " ELSE 0 END" if whens["cap"] else "0"
            out.append(f"""
stage{k}m AS (SELECT v.*, CASE WHEN mode > 0 AND assist = 1 AND NOT (shut AND v.line < 0)
                                AND category IN ({listed})
                                AND setting IN ({", ".join(_lit(x) for x in kinds) or "''"})
                           THEN GREATEST(0, v.inscp {include} - hifp_pay - hifmi_pay - oth_pay
                                            - ({before})) ELSE NULL END AS m
              FROM stage{k} v),
stage{k}s AS (SELECT *, SUM(coalesce(m, 0)) OVER (PARTITION BY person_key{part} ORDER BY row)
                        AS s_after FROM stage{k}m),
stage{k}r AS (SELECT *, CASE WHEN m IS NULL THEN 0 ELSE GREATEST(0, LEAST({form_sql}, m))
                        END AS raw FROM stage{k}s),
stage{k + 1} AS (SELECT * EXCLUDE (m, s_after, raw), {cap_sql} AS r{k} FROM stage{k}r),""")
            pays.append(f"r{k}")
        return "".join(out), " + ".join(pays) or "0"

    def run(self, path: str | Path) -> pa.Table:
        """(row, assistance, special, tilted, reassistance) for the visits of covered
        person-years."""
        path = Path(path)
        try:
            text = self.query(path, self.year or _year(path))
        except NotImplementedError as e:  # the whole file is the kernel's
            self.supported, self.reason = False, str(e)
            return pa.table({"row": pa.array([], pa.int64()),
                             **{n: pa.array([], pa.int64())
                                for n in ("assistance", "special", "tilted",
                                          "reassistance")}})
        con = duckdb.connect()
        con.execute(MACROS)
        rel = con.sql(text)
        fetch = getattr(rel, "to_arrow_table", None) or rel.arrow  # duckdb 2 / 1
        table = fetch()
        assert isinstance(table, pa.Table)
        return table

    def timed(self, path: str | Path) -> float:
        start = time.perf_counter()
        self.run(path)
        return time.perf_counter() - start


def _year(path: Path) -> int:
    rel = duckdb.sql(f"SELECT DISTINCT year(\"end\") FROM read_parquet('{path}')")
    assert rel is not None
    years = rel.fetchall()
    if len(years) != 1:
        raise NotImplementedError("visits in more than one year")
    return int(years[0][0])


def differences(got: pa.Table, res: Results, person: np.ndarray) -> int:
    """Visits the query settled differently from the batch path."""
    rows = np.asarray(got.column("row").to_numpy(), np.int64)
    bad = np.zeros(len(rows), bool)
    for name in ("assistance", "special", "tilted", "reassistance"):
        bad |= np.asarray(got.column(name).to_numpy(), np.int64) != getattr(res, name)[rows]
    return int(bad.sum())
