"""Hypothesis strategies over the policy schema, reforms and populations, for the
differential tests (engine == batch kernel == DuckDB).

A generated policy has 2–4 categories and 1–6 lines drawn from every shape the schema
allows: lines sharing a deductible/segment pool, lines with and without caps, several
lines on one cap pool with different caps (literal, from a parameter, optional), grants
followed by curve lines, exclusive and alternative lines, special-tier lines, lines whose
base is after basic insurance only or composed of the national amount fields (先行自付
included, after some funds only), pools declared with their period (year or 单次 per
visit), flags and disability grades, look-backs with and
without a ratio and with `rules`, month-end exit for some categories, both rounding
modes, a referral rule, a kind fallback, tilted assistance (remainder or beyond the cap,
with its own cap pool or one shared with the lines, for some categories only, with values
by category) and parameters with floors. Ratios are
drawn from a short list so that YC-T's S* keeps a small denominator.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from medaid.engine.types import Identity, Person, Visit
from medaid.policy.schema import FUNDS, KINDS

CATS = ("c0", "c1", "c2", "c3")
SELF_PAY = ("preselfpay_amt", "overlmt_selfpay", "fulamt_ownpay_amt")
BASE_POOLS = ("pa", "pb")
CAP_POOLS = ("ka", "kb")
RATIOS = tuple(Decimal(r) for r in ("0.5", "0.6", "0.7", "0.75", "0.8", "0.9", "1"))
YEAR = 2024
IN_FORCE = date(2020, 1, 1)
INSURANCE: dict[str, Any] = {
    "basic_insurance": {"type": "basic_insurance", "label": "tier 1", "source": "test",
                        "default": {"deductible": {"1": 300, "2": 600, "3": 1000},
                                    "ratio": {"1": Decimal("0.9"), "2": Decimal("0.8"),
                                              "3": Decimal("0.7")},
                                    "cap": 400000}},
    "critical_illness": {"type": "critical_illness", "label": "tier 2", "source": "test",
                         "default": {"deductible": 15000,
                                     "segments": [{"upto": 100000, "ratio": Decimal("0.6")},
                                                  {"upto": None, "ratio": Decimal("0.7")}],
                                     "cap": 400000}},
}


def _subset(items: tuple[str, ...] | list[str], min_size: int = 1) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(list(items)), min_size=min_size, max_size=len(items),
                    unique=True).map(lambda xs: sorted(xs, key=list(items).index))


ratios = st.sampled_from(RATIOS)
money = st.integers(0, 40).map(lambda n: Decimal(n * 250))
# tilted assistance pays on what assistance left: often from the first yuan, so that small
# generated visits reach it
tilted_deductible = st.one_of(st.just(Decimal(0)), money)


@st.composite
def amount(draw: st.DrawFn, lo: int = 1) -> Any:
    """A cap or grant: literal yuan or a parameter (scaled)."""
    how = draw(st.sampled_from(("literal", "literal", "param", "scaled")))
    if how == "param":
        return {"param": "p_cap"}
    if how == "scaled":
        return {"param": "p_cap", "times": draw(st.sampled_from((Decimal("0.1"),
                                                                  Decimal("0.5"))))}
    return Decimal(draw(st.integers(lo, 200)) * 100)


@st.composite
def line(draw: st.DrawFn, i: int, cats: tuple[str, ...], rules: list[str]) -> dict[str, Any]:
    rule = rules[-1] if rules and draw(st.integers(0, 5)) == 0 else f"R{i}"
    rules.append(rule)
    out: dict[str, Any] = {
        "rule": rule, "article": f"a{i}",
        "tier": draw(st.sampled_from(("assistance", "assistance", "assistance", "special"))),
        "categories": draw(st.one_of(st.just("*"), _subset(cats))),
        "kinds": draw(st.one_of(st.just("*"), _subset(KINDS))),
    }
    role = draw(st.sampled_from(("regular",) * 5 + ("exclusive", "alternative")))
    if role != "regular":
        out[role] = True
    if draw(st.integers(0, 7)) == 0:
        out["flags"] = [draw(st.sampled_from(("rare_disease", "heroic_injury")))]
    if draw(st.integers(0, 7)) == 0:
        out["disability_grades"] = draw(st.lists(st.integers(1, 4), min_size=1, max_size=2,
                                                 unique=True))
    if draw(st.integers(0, 4)) == 0:
        out["grant"] = draw(amount())
    else:
        how = draw(st.integers(0, 5))
        if how == 0:
            out["base"] = "after_basic"
        elif how == 1:  # a composition of the national amount fields
            out["base"] = {"include": draw(_subset(SELF_PAY, 0)), "after": draw(_subset(FUNDS, 0))}
        pool = draw(st.sampled_from((None, *BASE_POOLS)))
        if pool:
            out["pool"] = pool
        out["deductible"] = draw(st.one_of(money, st.just({"param": "p_key", "times":
                                                            Decimal("0.01")})))
        ratio = st.one_of(ratios, st.just({"param": "p_ratio"}), st.just({"param": "p_low"}))
        if draw(st.booleans()):
            out["segments"] = [{"ratio": draw(ratio)}]
        else:
            out["segments"] = [{"upto": Decimal(draw(st.integers(1, 60)) * 500),
                                "ratio": draw(ratio)}, {"ratio": draw(ratio)}]
    caps = []
    for pool in draw(st.lists(st.sampled_from(CAP_POOLS), max_size=2, unique=True)):
        cap: dict[str, Any] = {"pool": pool, "amount": draw(amount())}
        if draw(st.integers(0, 4)) == 0:
            cap = {"pool": pool, "amount": {"param": "opt_cap"}, "optional": True}
        caps.append(cap)
    if caps:
        out["caps"] = caps
    return out


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    """The data of a policy file (validated by the caller)."""
    cats = CATS[:draw(st.integers(2, 4))]
    rules: list[str] = []
    lines = [draw(line(i, cats, rules)) for i in range(draw(st.integers(1, 6)))]
    if draw(st.integers(0, 3)) == 0:  # a grant followed by a curve line over the same visits
        lines.insert(0, {"rule": "G", "article": "g", "categories": "*", "kinds": "*",
                         "grant": Decimal(draw(st.integers(1, 30)) * 100)})
        rules.insert(0, "G")
    line_rules = sorted(set(rules))
    lookback = []
    for j in range(draw(st.integers(0, 2))):
        lb: dict[str, Any] = {
            "rule": draw(st.sampled_from([f"LB{j}", *line_rules])), "article": f"lb{j}",
            "categories": draw(_subset(cats)), "months": draw(st.integers(1, 6)),
            "before": draw(st.sampled_from(("from", "application"))),
            "until": draw(st.sampled_from(("anchor", "from"))),
            "new_this_year": draw(st.booleans())}
        if draw(st.integers(0, 3)) == 0:  # …以后新认定的: recognised since a day
            lb["recognised_since"] = date(YEAR, draw(st.integers(1, 12)), 1)
        if draw(st.integers(0, 2)) == 0:  # 认定前…发生的住院费用: some settings only
            lb["kinds"] = draw(st.lists(st.sampled_from(
                ("inpatient", "special_outpatient", "general_outpatient")), min_size=1,
                max_size=2, unique=True))
        if draw(st.booleans()):
            lb["ratio"] = draw(st.one_of(ratios, st.just({"param": "p_ratio",
                                                          "times": Decimal("0.8")})))
            if draw(st.booleans()):
                lb["rules"] = draw(_subset(line_rules))
        elif draw(st.booleans()):  # 计入累计，不予救助, perhaps only on an application
            lb["counts_only"] = True
            lb["with_tilted_application"] = draw(st.booleans())
        lookback.append(lb)
    windows: dict[str, Any] = {
        "rule": "W", "article": "w",
        "start": draw(st.sampled_from(("exact", "month_start", "next_month"))),
        "end": draw(st.sampled_from(("exact", "day_before", "month_end"))),
        "stay_rule": draw(st.sampled_from((True, False, "admission"))), "lookback": lookback}
    if draw(st.booleans()):  # 渐退期 after exit
        windows["grace"] = [{"rule": "WG", "article": "wg", "categories": draw(_subset(cats)),
                             "months": draw(st.integers(1, 6))}]
        if draw(st.booleans()):  # …以后退出的延长至12个月；此前退出的仍按6个月
            windows["grace"].insert(0, {
                "rule": "WG2", "article": "wg2", "categories": draw(_subset(cats)),
                "months": draw(st.integers(7, 12)),
                "exited_since": date(YEAR, draw(st.integers(1, 12)), 1)})
    if windows["end"] == "month_end" and draw(st.booleans()):
        windows["month_end_categories"] = draw(_subset(cats, 0))
    p_cap = draw(st.integers(1, 100)) * 500
    params: dict[str, Any] = {
        "p_cap": {"type": "money", "label": "cap", "source": "test", "default": Decimal(p_cap)},
        # a floor from another parameter (JS: key_cap ≥ 50% of basic_cap)
        "p_key": {"type": "money", "label": "key", "source": "test",
                  "default": Decimal(p_cap * draw(st.integers(1, 4)) // 2),
                  "min": {"param": "p_cap", "times": Decimal("0.5")}},
        "p_ratio": {"type": "ratio", "label": "ratio", "source": "test",
                    "default": draw(ratios)} if draw(st.integers(0, 4)) else
        {"type": "ratio", "label": "ratio (a local parameter nobody may have set)"},
        # strictly below another (JS: low_income_ratio < key_ratio)
        "p_low": {"type": "ratio", "label": "low", "source": "test",
                  "default": Decimal("0.4"), "below": "p_ratio"},
        "opt_cap": {"type": "money", "label": "optional cap"},  # set by `local` or left out
        **INSURANCE,
    }
    out: dict[str, Any] = {
        "jurisdiction": "gen", "name": "generated", "version": "1", "in_force": IN_FORCE,
        "document": {"file": "gen.txt", "title": "generated"},
        "categories": [{"id": c, "label": c} for c in cats],
        "rounding": draw(st.sampled_from(("cumulative", "per_visit"))),
        "windows": windows, "parameters": params, "lines": lines,
    }
    fallback = draw(st.sampled_from(({}, {"childbirth": "inpatient"},
                                      {"rehabilitation": "general_outpatient",
                                       "childbirth": "inpatient"})))
    if fallback:
        out["kind_fallback"] = fallback
    if draw(st.booleans()):  # 就高 by amount, or by the categories' order
        out["highest"] = {"rule": "H", "article": "h",
                          "by": draw(st.sampled_from(("amount", "order")))}
    if draw(st.booleans()):  # refused for some categories by its own kind (§1), perhaps
        # a kind that falls back: the others' visits still fall back
        out["refusals"] = [{"rule": "X", "article": "x", "categories": draw(_subset(cats)),
                            "kinds": draw(_subset(("childbirth", "rehabilitation",
                                                   "general_outpatient"))),
                            "reason": "不予救助"}]
    if draw(st.booleans()):
        out["referral"] = {
            "rule": "REF", "article": "ref",
            "unreferred": draw(st.sampled_from(({"assistance": False},
                                                {"ratio_points": -20, "tilt": False}))),
            "unreferred_hardship": draw(st.sampled_from(({}, {"ratio_points": -10})))}
        if draw(st.integers(0, 5)) == 0:  # for stays out of the area only
            out["referral"] |= {"kinds": ["inpatient"], "locations": draw(_subset(
                ("city", "province", "out_of_province")))}
    if draw(st.booleans()):
        out["critical_illness_tilt"] = {"rule": "CIT", "article": "cit",
                                        "deductible_share": Decimal("0.5"), "ratio_points": 5,
                                        "no_cap": draw(st.booleans())}
        if draw(st.booleans()):  # for some categories only
            out["critical_illness_tilt"]["categories"] = draw(_subset(cats))
    if draw(st.booleans()):
        tilt: dict[str, Any] = {
            "rule": "T", "article": "t",
            "base": draw(st.sampled_from(("remainder", "beyond_cap"))),
            "requires_application": draw(st.booleans()),
            "referral": draw(st.sampled_from((["ok"], ["ok", "unreferred_hardship"]))),
            "locations": draw(_subset(("city", "province", "out_of_province"))),
            "kinds": draw(st.one_of(st.just("*"), _subset(KINDS))),
            "lookback_months": draw(st.sampled_from((0, 0, 3))),
            "deductible": draw(tilted_deductible), "segments": [{"ratio": draw(ratios)}],
            "defined": draw(st.sampled_from((True, True, True, False)))}
        tcap = draw(st.sampled_from(("none", "own", "shared", "none", "own", "two")))
        if tcap != "none":
            tilt["caps"] = [{"pool": "ka" if tcap == "shared" else "kt", "amount": draw(amount())}]
        if tcap == "two":  # a second limit that may cut below the first (each advances by
            tilt["caps"].append({"pool": "kt2", "amount": draw(amount())})  # what is paid)
        if draw(st.integers(0, 3)) == 0:  # only some categories
            tilt["categories"] = draw(_subset(cats))
        taken: set[str] = set()  # a category's values are the first entry's listing it
        for k in range(draw(st.sampled_from((0, 0, 1, 2)))):  # values by category
            free = [c for c in tilt.get("categories", cats) if c not in taken]
            if not free:
                break
            entry: dict[str, Any] = {"categories": draw(_subset(free))}
            taken.update(entry["categories"])
            if draw(st.booleans()):
                entry["deductible"] = draw(tilted_deductible)
            if draw(st.booleans()):
                entry["segments"] = [{"ratio": draw(ratios)}]
            if draw(st.booleans()):
                entry["caps"] = [{"pool": f"kt{k}", "amount": draw(amount())}]
            tilt.setdefault("by_category", []).append(entry)
        out["tilted"] = tilt
    if draw(st.integers(0, 2)) == 0:  # pools declared, some per visit (单次)
        used = {*BASE_POOLS, *CAP_POOLS, "kt", "kt2", "kt0", "kt1", "tilted", *rules}
        out["pools"] = {name: {"period": draw(st.sampled_from(("year", "year", "visit")))}
                        for name in sorted(used)}
    return out


@st.composite
def locals_(draw: st.DrawFn) -> dict[str, object]:
    """A case's local parameters: sometimes an optional cap or a ratio the policy leaves
    without a default set, sometimes a floor broken (then the engine's error must be the
    batch path's too)."""
    out: dict[str, object] = {}
    if draw(st.integers(0, 2)) == 0:
        out["p_ratio"] = draw(ratios)
    if draw(st.booleans()):
        out["opt_cap"] = Decimal(draw(st.integers(1, 50)) * 100)
    if draw(st.integers(0, 9)) == 0:
        out["p_low"] = Decimal("0.99")  # not below p_ratio (unless p_ratio is 1)
    if draw(st.integers(0, 9)) == 0:
        out["p_key"] = Decimal(1)  # under 50% of p_cap
    return out


def _day(n: int) -> date:
    return date(YEAR, 1, 1) + timedelta(days=n)


@st.composite
def person(draw: st.DrawFn, pid: str, cats: list[str], simple: bool = False) -> Person:
    idents = []
    for _ in range(1 if simple else draw(st.integers(0, 3))):
        start = _day(draw(st.integers(-200, 330)))
        end = None if draw(st.booleans()) else start + timedelta(days=draw(st.integers(0, 300)))
        app = None if draw(st.integers(0, 2)) else start + timedelta(
            days=draw(st.integers(-60, 90)))
        idents.append(Identity(draw(st.sampled_from(cats)), start, end, app))
    tapp = None if draw(st.booleans()) else _day(draw(st.integers(-100, 300)))
    return Person(pid, tuple(idents), draw(st.sampled_from((None, None, 1, 2, 3, 4))), tapp)


@st.composite
def visit(draw: st.DrawFn, vid: str, kinds: tuple[str, ...] = KINDS,
          simple: bool = False) -> Visit:
    """A visit; `simple`: insurance given and no flags (a shape DuckDB takes)."""
    kind = draw(st.sampled_from(kinds))
    start = draw(st.integers(0, 364))
    stay = kind in ("inpatient", "childbirth", "rehabilitation")
    end = min(364, start + (draw(st.integers(0, 30)) if stay else 0))
    medfee = draw(st.integers(0, 40_000_00 if stay else 3_000_00))
    own = medfee * draw(st.integers(0, 30)) // 100
    over = medfee * draw(st.integers(0, 10)) // 100
    pre = medfee * draw(st.integers(0, 10)) // 100
    inscp = medfee - own - over - pre
    computed = not simple and draw(st.integers(0, 4)) == 0
    hifp = None if computed else inscp * draw(st.integers(0, 90)) // 100
    hifmi = None if computed and draw(st.booleans()) else \
        (inscp - (hifp or 0)) * draw(st.sampled_from((0, 0, 20, 50))) // 100
    oth = 0 if computed else (inscp - (hifp or 0) - (hifmi or 0)) * draw(
        st.sampled_from((0, 0, 0, 10))) // 100
    return Visit(
        vid, kind, _day(start), _day(end), medfee, own, over, pre, hifp, hifmi, oth,
        location=draw(st.sampled_from(("city", "city", "province", "out_of_province"))),
        referral=draw(st.sampled_from(("ok", "ok", "ok", "unreferred", "unreferred_hardship"))),
        hospital_level=draw(st.sampled_from((1, 2, 3))) if computed else
        draw(st.sampled_from((None, 1, 2, 3))),
        heroic_injury=not simple and draw(st.integers(0, 7)) == 0,
        rare_disease=not simple and draw(st.integers(0, 5)) == 0)


@st.composite
def populations(draw: st.DrawFn, cats: list[str], max_persons: int = 5,
                max_visits: int = 10) -> list[tuple[Person, list[Visit]]]:
    """Persons with their visits of one year; about half of them `simple` (one identity,
    visits of one or two kinds with insurance given: what the DuckDB formulation takes)."""
    out = []
    for i in range(draw(st.integers(1, max_persons))):
        simple = draw(st.booleans())
        kinds = tuple(draw(_subset(KINDS))[:2]) if simple else KINDS
        p = draw(person(f"P{i}", cats, simple))
        visits = [draw(visit(f"V{i}-{k}", kinds, simple))
                  for k in range(draw(st.integers(1, max_visits)))]
        out.append((p, visits))
    return out
