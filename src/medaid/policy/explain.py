"""A policy told to a reader: its elements by rule id, its numbers as text, its articles.

Pure functions over a compiled policy; `medaid.cli.report` prints what they return. Every
element of a policy file that carries a rule id (lines, windows and their look-backs,
referral, tilts, refusals, premium subsidy, a framework's floors) becomes one `Element`
whose facts are already exact text: yuan to the fen, ratios as percentages, parameters
by reference ("10% × income_per_capita_prev_year"), resolved for the in-force year where
the policy file itself gives the value. In Chinese (`lang="zh"`, the pages' and the CLI's
default) a parameter reads as its label and every sentence as a caseworker says it; `en`
is the same facts in English.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Literal, TypeVar

from medaid.core import labels
from medaid.core.errors import MedaidError, PolicyError
from medaid.core.money import MoneyError, fmt, fmt_ratio, to_bp, to_fen
from medaid.policy import fields, model, references
from medaid.policy import schema as s
from medaid.policy.params import Params

Facts = tuple[tuple[str, str], ...]
Lang = Literal["zh", "en"]  # zh for the pages and the CLI by default, en with --lang en
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Element:
    """One rule-carrying part of a policy file, as text."""

    what: str  # line, windows, lookback, referral, critical_illness_tilt, tilted, refusal,
    # premium_subsidy, framework
    rule: str
    article: str
    facts: Facts  # (name, value) in reading order
    categories: tuple[str, ...] = ()  # the category ids it names, for a legend of labels
    document: str | None = None  # the notice whose article it cites (None: the document)


def _cited(what: str, entry: s.Cited, facts: Facts, categories: tuple[str, ...] = ()
           ) -> Element:
    """The element of a cited entry: its rule, and its article in the text it cites."""
    return Element(what, entry.rule, entry.article, tuple(facts), categories, entry.document)


@dataclass(frozen=True, slots=True)
class ParamRow:
    name: str
    type: str
    label: str
    value: str  # values by year and default, or "required — not set"
    source: str
    used_by: str


# -- numbers as text --------------------------------------------------------------------


def _decimal_text(value: Decimal, ratio: bool) -> str:
    try:
        return fmt_ratio(to_bp(value)) if ratio else fmt(to_fen(value))
    except MoneyError:  # finer than the policy's exact units: show it as written
        return str(value)


def _floor_text(key: str, value: str) -> str:
    """A framework floor as written (text), shown in its unit where the key says it."""
    try:
        number = Decimal(value)
    except ArithmeticError:
        return value
    if key.endswith(("_floor", "_share", "_share_of_basic_cap")):
        return _decimal_text(number, ratio=True)
    return _decimal_text(number, ratio=False) if key.endswith("deductible") else value


def ref_text(ref: s.ParamRef, labels_of: Mapping[str, str] | None = None) -> str:
    """A parameter by name, or by the policy file's label where `labels_of` gives one;
    scaled."""
    name = (labels_of or {}).get(ref.param, ref.param)
    return name if ref.times == 1 else f"{fmt_ratio(to_bp(ref.times))} × {name}"


class _Text:
    """Numbers of one policy as text; references resolved for the in-force year when the
    policy file settles them (never a guess: an open parameter stays a reference)."""

    def __init__(self, policy: model.Policy, lang: Lang) -> None:
        self.params = Params(policy, local={})
        self.year = policy.in_force.year
        self.lang = lang
        self.labels = {n: p.label for n, p in policy.spec.parameters.items() if p.label}
        self.pool_labels = policy.pool_labels
        self.per_visit = {n for n, p in (policy.spec.pools or {}).items() if p.period == "visit"}

    def say(self, en: T, zh: T) -> T:
        return zh if self.lang == "zh" else en

    def switches(self, *found: tuple[bool, str, str, str]) -> list[tuple[str, str]]:
        """The facts of the switches that are on: (on, key, English, Chinese) each."""
        return [(key, self.say(en, zh)) for on, key, en, zh in found if on]

    def ref(self, r: s.ParamRef) -> str:
        """A parameter by name (en) or by the policy file's label (zh)."""
        return ref_text(r, self.labels if self.lang == "zh" else None)

    def pool(self, name: str) -> str:
        """A pool by the label its file gives it (zh), else by its name."""
        return self.say(name, self.pool_labels.get(name, name))

    def names(self, values: list[str] | list[s.Kind] | str) -> str:
        return self.say("all", "全部") if values == "*" else ", ".join(values)

    def amount(self, a: s.Amount) -> str:
        """An amount in yuan: 元 in Chinese, where a bare number could be a count or a ratio."""
        yuan = self.say("", "元")
        if not isinstance(a, s.ParamRef):
            return _decimal_text(a, ratio=False) + yuan
        return self._valued(a, lambda when: fmt(self.params.amount(a, when, "show")) + yuan)

    def ratio(self, r: s.Ratio) -> str:
        if not isinstance(r, s.ParamRef):
            return _decimal_text(r, ratio=True)
        return self._valued(r, lambda when: fmt_ratio(self.params.ratio_of(r, when, "show")))

    def _valued(self, r: s.ParamRef, value: Callable[[date | int], str]) -> str:
        """A parameter with its value for the policy's first year, or, where it changes
        inside that year, its value from each date it takes one (自2025-07-01起 800.00)."""
        try:
            return self.say(f"{ref_text(r)} (= {value(self.year)} for {self.year})",
                            f"{self.ref(r)}（{self.year}年 = {value(self.year)}）")
        except MedaidError:
            pass
        days = [date(self.year, 1, 1), *(d for d in self.params.changes
                                         if d.year == self.year)]
        try:
            dated = [(d, value(d)) for d in days]
        except MedaidError:
            return self.ref(r)
        return self.say(f"{ref_text(r)} (" + "; ".join(f"from {d}: {v}" for d, v in dated)
                        + ")", f"{self.ref(r)}（" + "；".join(f"{d}起 {v}" for d, v in dated)
                        + "）")

    def segments(self, segs: list[s.Segment], deductible: s.Amount | None = None,
                 bounds: str = "above_deductible") -> str:
        """'85% to 2000.00, 80% above' (zh '2000.00元以内 85%，以上 80%'): bounds are
        cumulative, above the deductible, which Chinese says where there is one (起付线以上
        15000.00元以内 50%: not 15000 of cost); `bounds: absolute` ones are amounts from
        zero, as the document writes them (起付线至20000.00元 50%)."""
        if not segs:
            return self.say("none", "无")
        deducted = deductible is not None and deductible != 0
        absolute = bounds == "absolute" and deducted
        if self.lang == "en":
            parts = [f"{self.ratio(g.ratio)} to {self.amount(g.upto)}" if g.upto is not None
                     else f"{self.ratio(g.ratio)}" + (" above" if i else "")
                     for i, g in enumerate(segs)]
            if absolute:
                parts[0] += " (bounds counted from zero)"
        elif absolute:
            parts = [("起付线" if not i else "") + f"至{self.amount(g.upto)} {self.ratio(g.ratio)}"
                     if g.upto is not None else ("以上 " if i else "") + self.ratio(g.ratio)
                     for i, g in enumerate(segs)]
        else:
            parts = [f"{self.amount(g.upto)}以内 {self.ratio(g.ratio)}" if g.upto is not None
                     else ("以上 " if i else "") + self.ratio(g.ratio)
                     for i, g in enumerate(segs)]
            if segs[0].upto is not None and deducted:
                parts[0] = "起付线以上" + parts[0]
        if segs[-1].upto is not None:
            parts.append(self.say("nothing above", "以上不予救助"))
        return self.say(", ", "，").join(parts)

    def caps(self, caps: list[s.Cap]) -> str:
        return self.say(", ", "，").join(
            f"{self.pool(c.pool)} {self.amount(c.amount)}"
            + (self.say(" (when set)", "（设定时）") if c.optional else "")
            + (self.raised(c.raised) if c.raised is not None else "")
            for c in caps) or self.say("no cap", "不封顶")

    def raised(self, r: s.RaisedCap) -> str:
        which = "" if r.kinds == "*" else self.say(f" ({names(r.kinds)})", f"（{names(r.kinds)}）")
        return self.say(f", {self.amount(r.amount)} once a visit's base{which} exceeds "
                        f"{self.amount(r.over)}",
                        f"，单次就诊{which}基数超过 {self.amount(r.over)} 后提高至 "
                        f"{self.amount(r.amount)}")


def _bounds(entry: s.Line | s.Stage | s.Tilted) -> str:
    """How an entry's segment bounds count (`bounds`; above the deductible by default)."""
    return str(getattr(entry, "bounds", "above_deductible"))


def names(values: list[str] | list[s.Kind] | str) -> str:
    return "all" if values == "*" else ", ".join(values)


def _ids(values: list[str] | str) -> tuple[str, ...]:
    return () if values == "*" else tuple(values)


def _effect(t: _Text, e: s.ReferralEffect, tilted: bool) -> str:
    """What a referral does to a visit; its tilt only where the city has tilted assistance."""
    if not e.assistance:
        parts = [t.say("no assistance", "不予救助")]
    elif e.ratio_points:
        parts = [t.say(f"every ratio {e.ratio_points:+d} points",
                       f"各段比例 {e.ratio_points:+d} 个百分点")]
    else:
        parts = [t.say("assistance as referred", "按已转诊救助")]
    if tilted:
        parts.append(t.say("tilt", "可予倾斜救助") if e.tilt else
                     t.say("no tilt", "不予倾斜救助"))
    if e.assistance and not e.stages:
        parts.append(t.say("not counted by the stages", "不计入救助后续阶段"))
    return t.say(", ", "，").join(parts)


# -- elements ---------------------------------------------------------------------------


def _line(t: _Text, ln: s.Line) -> Element:
    facts: list[tuple[str, str]] = [
        ("tier", ln.tier),
        ("categories", t.names(ln.categories)),
        ("kinds", t.names(ln.kinds)),
    ]
    if ln.flags:
        facts.append(("only visits flagged", ", ".join(ln.flags)))
    if ln.disability_grades is not None:
        facts.append(("disability grades", ", ".join(map(str, ln.disability_grades))))
    facts += t.switches(
        (ln.exclusive, "exclusive", "a visit it matches is settled by such lines alone",
         "符合的就诊只按此类标准救助"),
        (ln.alternative, "alternative", "tried beside the category's own line, the higher paid",
         "与该身份本身的标准一并计算，取高者"))
    if ln.base == "after_basic":
        facts.append(("base", t.say("after basic insurance only", "仅经基本医保报销后")))
    elif isinstance(ln.base, s.Base):
        facts.append(("base", _parts(t, ln.base.include, ln.base.after)))
    facts += _conditions(t, ln)
    facts.append(("pool", t.pool(ln.pool or ln.rule)))
    if ln.grant is not None:
        facts.append(("grant", t.amount(ln.grant)))
    else:
        facts += [("deductible", t.amount(ln.deductible)),
                  ("segments", t.segments(ln.segments, ln.deductible, _bounds(ln)))]
    facts.append(("caps", t.caps(ln.caps)))
    if ln.label:
        facts.append(("label", ln.label))
    return _cited("line", ln, tuple(facts), _ids(ln.categories))


def _conditions(t: _Text, c: s.Conditions) -> list[tuple[str, str]]:
    """A line's or a stage's conditions on the person's statuses and the visit's facts."""
    facts = []
    labels_of = {st.id: st.label for st in t.params.policy.spec.statuses}
    for key, held in (("statuses", c.statuses), ("not_statuses", c.not_statuses)):
        if held:
            facts.append((key, t.say(", ".join(held), "、".join(labels_of.get(x, x)
                                                               for x in held))))
    for key, values, table in (("locations", c.locations, labels.LOCATIONS),
                               ("referrals", c.referrals, labels.REFERRALS)):
        if values is not None:
            facts.append((key, t.say(", ".join(values), "、".join(
                table[v][0] if v in table else v for v in values))))
    if c.hospital_levels is not None:
        facts.append(("hospital levels", t.say(", ".join(map(str, c.hospital_levels)), "、".join(
            labels.HOSPITAL_LEVELS[str(n)][0] for n in c.hospital_levels))))
    return facts


def _parts(t: _Text, include: Sequence[str], after: Sequence[str] = ()) -> str:
    """A composed base: the policy-range amount, the self-pay parts it adds and the funds
    it subtracts, by their national names (`inscp_scp_amt + preselfpay_amt − hifp_pay`) or
    their Chinese labels."""
    def name(field: str) -> str:
        return t.say(field, fields.label(field))
    return " ".join([name("inscp_scp_amt"), *(f"+ {name(x)}" for x in include),
                     *(f"− {name(f)}" for f in after)])


_STAGE_BASE = {"remainder": ("what the person still bears in the policy range",
                             "政策范围内个人负担"),
               "out_of_pocket": ("all the person still bears", "个人负担总额（含范围外）")}


def _stage(t: _Text, st: s.Stage) -> Element:
    base = (t.say(*_STAGE_BASE[st.base]) if isinstance(st.base, str) else
            _parts(t, st.base.include))
    when = t.say("at each visit", "每次结算") if st.when == "visit" else \
        t.say("once at year end", "年终一次")
    if st.category_at == "year_end":
        when += t.say(", by the identity held at the year's end", "，按年末所具有的救助身份") + (
            t.say("; none held then: nothing", "；年末已不具有救助身份的不享受")
            if st.unheld_at_year_end == "none" else "")
    facts = [("label", st.label), ("when", when),
             ("base", base), ("categories", t.names(st.categories)),
             ("kinds", t.names(st.kinds)), *_conditions(t, st)]
    facts += _stage_payout(t, st)
    for v in st.by_category:  # the stage with the entry's values, said on one line
        own = _stage_payout(t, model.stage_values(st, v))
        facts.append((t.say(f"for {names(v.categories)}", f"{t.names(v.categories)}适用")
                      + (f" ({v.article})" if v.article else ""),
                      t.say("; ", "；").join(
                          f"{labels.label(labels.POLICY_FACTS, k, t.lang)} {value}"
                          for k, value in own)))
    return _cited("stage", st, tuple(facts), _ids(st.categories))


def _stage_payout(t: _Text, st: s.Stage) -> list[tuple[str, str]]:
    """How a stage pays: its segments over a deductible, a grant above a threshold or a
    ceiling; then its caps."""
    facts: list[tuple[str, str]] = []
    if st.segments:
        facts += [("deductible", t.amount(st.deductible)),
                  ("segments", t.segments(st.segments, st.deductible, _bounds(st)))]
    elif st.grant is not None:
        facts += [("above", t.amount(st.deductible)), ("grant", t.amount(st.grant))]
    elif st.ceiling is not None:
        c = st.ceiling
        period = t.say("the visit's", "本次") if st.when == "visit" and (
            st.pool or st.rule) in t.per_visit else t.say("the year's", "当年累计")
        parts = ([t.say(f"{t.ratio(c.share)} of {period} {c.of}",
                        f"{period}{fields.label(c.of)}的 {t.ratio(c.share)}")]
                 if c.share is not None else []) + (
                     [t.amount(c.amount)] if c.amount is not None else [])
        facts.append(("ceiling", t.say(" or ", " 与 ").join(parts) + (
            "" if len(parts) < 2 else t.say(", whichever is lower", " 中较低者"))))
        if not st.caps:  # what a ceiling pays has no limit of its own: nothing to say
            return facts
    return [*facts, ("caps", t.caps(st.caps))]


_START = {"exact": ("the recognition date (from)", "认定之日"),
          "month_start": ("first day of the month of from", "认定当月第一日"),
          "next_month": ("first day of the month after from", "认定之日的次月第一日")}
_END = {"exact": ("the exit date (to)", "退出之日"),
        "day_before": ("the day before the exit date (to)", "退出之日前一日"),
        "month_end": ("last day of the month of to", "退出当月最后一日")}
_BEFORE = {"from": "认定之日", "application": "申请之日"}


def elements(policy: model.Policy, lang: Lang = "zh") -> list[Element]:
    """Every rule-carrying element of the policy, in the file's reading order."""
    spec, t = policy.spec, _Text(policy, lang)
    w = spec.windows
    out = [_cited("windows", w, (
        ("start", t.say(*_START[w.start])),
        ("end", t.say(*_END[w.end])
         + ("" if w.end != "month_end" or w.month_end_categories is None
            else t.say(f" for {names(w.month_end_categories)}; the others the exit date (to)",
                       f"（{t.names(w.month_end_categories)}）；其他身份为退出之日"))),
        ("stay rule", t.say("the admission date decides", "住院以入院之日的身份为准")
         if w.stay_rule == "admission" else
         t.say("any day of a stay counts", "住院期间任一日在保即可")
         if w.stay_rule else t.say("the discharge date decides", "以出院日期为准")),
    ))]
    for lb in w.lookback:
        facts = [("categories", t.names(lb.categories)),
                 ("covers", t.say(f"{lb.months} months before {lb.before}",
                                  f"{_BEFORE[lb.before]}前 {lb.months} 个月")
                  + ("" if lb.until == "anchor" else t.say(", until the day before from",
                                                          "起至认定之日前一日")))]
        facts += t.switches(
            (lb.new_this_year, "recognised", "this year only", "仅当年新认定的对象"),
            (lb.with_tilted_application, "application",
             "tilted assistance applied for this year", "仅当年申请倾斜救助的对象"),
            (lb.counts_only, "paid", "counted into the pools, not paid", "计入年度累计，不予救助"))
        if lb.recognised_since is not None:
            facts.append(("recognised", t.say(f"on or after {lb.recognised_since}",
                                              f"{lb.recognised_since}以后新认定的对象")))
        if lb.kinds != "*":
            facts.append(("kinds", t.names(lb.kinds)))
        if lb.ratio is not None:
            facts.append(("ratio in the period", f"{t.ratio(lb.ratio)} "
                          f"({', '.join(lb.rules or [lb.rule])})"))
        out.append(_cited("lookback", lb, tuple(facts), _ids(lb.categories)))
    for g in w.grace:
        exited = () if g.exited_since is None else (
            ("exited", t.say(f"on or after {g.exited_since}", f"{g.exited_since}以后退出的")),)
        out.append(_cited("grace", g, (
            ("categories", t.names(g.categories)),
            ("covers", t.say(f"{g.months} months after the exit date (to), as the same category",
                             f"退出之日后 {g.months} 个月内按原身份继续享受")), *exited),
            _ids(g.categories)))
    if spec.highest:
        choice = t.say("the first category listed that assists the visit",
                       "按身份排列顺序，以排在最前的身份救助") if spec.highest.by == "order" \
            else t.say("the category that pays the most for the visit; ties to the first",
                       "按救助金额就高，金额相同时按身份排列顺序")
        out.append(_cited("highest", spec.highest, (("choice", choice),)))
    if spec.referral:
        r = spec.referral
        scope = ([("kinds", t.names(r.kinds))] if r.kinds != "*" else []) + (
            [("locations", t.say(", ".join(r.locations), "、".join(
                labels.label(labels.LOCATIONS, x) for x in r.locations)))]
            if r.locations is not None else [])
        out.append(_cited("referral", r, (
            *scope,
            ("unreferred", _effect(t, r.unreferred, spec.tilted is not None)),
            ("unreferred_hardship", _effect(t, r.unreferred_hardship,
                                            spec.tilted is not None)))))
    for c in references.ci_tilts(spec):
        out.append(_cited("critical_illness_tilt", c, (
            ("categories", t.names(c.categories)),
            ("deductible", t.say(f"{t.ratio(c.deductible_share)} of the standard",
                                 f"标准的 {t.ratio(c.deductible_share)}")),
            ("segment ratios", t.say(f"{c.ratio_points:+d} points",
                                     f"{c.ratio_points:+d} 个百分点")),
            ("caps", t.say("no cap", "取消封顶线") if c.no_cap
             else t.say("the standard cap", "封顶线不变"))), _ids(c.categories)))
    out += [_line(t, ln) for ln in spec.lines]
    out += [_cited("refusal", r, (
        ("categories", t.names(r.categories)), ("kinds", t.names(r.kinds)),
        ("reason", r.reason)),
        _ids(r.categories)) for r in spec.refusals]
    if spec.tilted:
        out.append(_tilted(t, spec.tilted))
    out += [_stage(t, st) for st in spec.stages]
    if spec.premium_subsidy:
        p = spec.premium_subsidy
        facts = [(t.names(sh.categories), t.say(f"{t.ratio(sh.share)} of the individual premium",
                                                f"个人缴费的 {t.ratio(sh.share)}")
                  if sh.share is not None else
                  (t.amount(sh.amount) if sh.amount is not None else "—")) for sh in p.shares]
        if p.disability_grades_full:
            facts.append(("disability grades, in full",
                          ", ".join(map(str, p.disability_grades_full))))
        if p.timing != "in_year":
            facts.append(("timing", t.say(p.timing.replace("_", " "), "批准次月起")))
        if p.note:
            facts.append(("note", p.note))
        cats = tuple(c for sh in p.shares for c in sh.categories)
        out.append(_cited("premium_subsidy", p, tuple(facts), cats))
    if spec.framework:
        floors = tuple((k, _floor_text(k, v)) for k, v in spec.framework.items()
                       if k != "article")
        out.append(Element("framework", "JS-X", spec.framework.get("article", ""), floors))
    # an article of a notice would read as one of the document: name the notice
    return [replace(e, facts=((t.say("article", "条款"), t.say(
        policy.cite(e.article, e.document), policy.reference(e.article, e.document))),
        *e.facts)) if e.document else e for e in out]


_TILT_BASE = {"remainder": ("what remains of the base after assistance", "救助后剩余的基数"),
              "beyond_cap": ("the cumulative base beyond the category's cap",
                             "超过该身份年度封顶的累计基数")}


def _tilted(t: _Text, tl: s.Tilted) -> Element:
    if not tl.defined:
        return _cited("tilted", tl, (("defined", t.say(
            "no: the document leaves it to a later measure", "否：文件留待另行规定")),))
    referral = [t.say(r, labels.REFERRALS[r][0]) if r in labels.REFERRALS else r
                for r in tl.referral]
    locations = [t.say(x, labels.LOCATIONS[x][0]) if x in labels.LOCATIONS else x
                 for x in tl.locations]
    facts = [
        ("base", t.say(*_TILT_BASE[tl.base]) if isinstance(tl.base, str) else
         t.say("what remains after assistance of ", "救助后剩余的")
         + _parts(t, tl.base.include)),
        ("requires application", t.say("yes", "是") if tl.requires_application
         else t.say("no", "否")),
        ("referral", t.say(", ", "，").join(referral)),
        ("locations", t.say(", ", "，").join(locations)),
        ("kinds", t.names(tl.kinds)),
        ("pool", t.pool(tl.pool)),
        ("deductible", t.amount(tl.deductible)),
        ("segments", t.segments(tl.segments, tl.deductible, _bounds(tl))),
        # where only the by_category entries cap it, say so rather than 不封顶
        ("caps", t.caps(tl.caps) if tl.caps or not any(v.caps for v in tl.by_category)
         else t.say("by category, below", "按身份分别封顶，见下")),
    ]
    if tl.categories != "*":
        facts.append(("categories", t.names(tl.categories)))
    for v in tl.by_category:
        d, segs, caps = model.tilted_values(tl, 1 + tl.by_category.index(v))
        where = f" ({v.article})" if v.article else ""
        facts.append(t.say((f"for {names(v.categories)}{where}", f"deductible {t.amount(d)}, "
                            f"{t.segments(segs)}, caps {t.caps(caps)}"),
                           (f"{t.names(v.categories)}适用{where}", f"起付线 {t.amount(d)}，"
                            f"{t.segments(segs, d, _bounds(tl))}，封顶 {t.caps(caps)}")))
    return _cited("tilted", tl, tuple(facts))


def rule_ids(policy: model.Policy) -> list[str]:
    return list(dict.fromkeys(e.rule for e in elements(policy)))


def elements_for(policy: model.Policy, rule: str, lang: Lang = "zh") -> list[Element]:
    return [e for e in elements(policy, lang) if e.rule == rule]


def quotes(policy: model.Policy, found: list[Element]
           ) -> list[tuple[str, str | None, str]]:
    """(article, notice, text) for each distinct article the elements cite, from the
    document or the notice (beside the policy file, in a deployment's folder or shipped).
    Raises articles.ArticleNotFound when the policy cites an article the seed lacks."""
    cited = dict.fromkeys((e.article, e.document) for e in found if e.article)
    return [(a, d, policy.article_text(a, d)) for a, d in cited]


# -- parameters and versions ------------------------------------------------------------


def _value_text(p: s.Parameter, value: Decimal | s.ParamRef | dict[str, object],
                lang: Lang = "en", labels_of: dict[str, str] | None = None) -> str:
    if isinstance(value, s.ParamRef):  # another parameter, by its label in Chinese
        return ref_text(value, labels_of if lang == "zh" else None)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    yuan = "元" if lang == "zh" and p.type == "money" else ""
    return _decimal_text(value, ratio=p.type == "ratio") + yuan


def parameters(policy: model.Policy, lang: Lang = "zh") -> list[ParamRow]:
    rows = []
    labels_of = {n: q.label for n, q in policy.spec.parameters.items() if q.label}
    for name, p in policy.spec.parameters.items():
        given = [f"{v.when}: {_value_text(p, v.value, lang, labels_of)}" for v in p.values]
        if p.default is not None:
            given.append(("默认 " if lang == "zh" else "default ")
                         + _value_text(p, p.default, lang, labels_of))
        bounds = [f"≥ {_value_text(p, p.min, lang, labels_of)}" if p.min is not None else "",
                  f"≤ {_value_text(p, p.max, lang)}" if p.max is not None else ""]
        value = "; ".join(given) or ("必须设定，尚未设定" if lang == "zh" else "required — not set")
        if any(bounds):
            value += " (" + ", ".join(b for b in bounds if b) + ")"
        sources = [p.source] if p.source else []
        sources += [f"{v.when}: {v.source}" for v in p.values]
        rows.append(ParamRow(name, p.type, p.label, value, "; ".join(sources) or "—",
                             ", ".join(p.used_by)))
    return rows


_CODE = re.compile(r"[a-z][a-z0-9_]*")


def readable(*policies: model.Policy) -> Callable[[str], str]:
    """A fact as people read it: the codes of categories and visit kinds in it, of pools
    that cannot be English words (`main_cap`) and of every pool its file labels under
    `pools:`, by their Chinese labels (the policy files' for categories and pools, the
    first policy's where two name one id, medaid.core.labels' else); a fact that is one
    tier's or pool's code (`assistance`, `main`) by its label."""
    # a pool the file names like a kind or a category (`inpatient`) reads as the kind or
    # the category: facts name kinds and categories far more often than pools
    names = {pool: given.label for p in reversed(policies)  # the file's own pool labels
             for pool, given in (p.spec.pools or {}).items() if given.label}
    names |= {code: zh for code, (zh, _) in labels.POOLS.items() if "_" in code}
    names |= {code: zh for code, (zh, _) in labels.KINDS.items()}
    names |= {c.id: c.label for p in reversed(policies) for c in p.spec.categories}
    whole = {code: zh for table in (labels.TIERS, labels.POOLS)
             for code, (zh, _) in table.items()}

    def words(text: str) -> str:
        text = str(text)
        if text.strip() in whole:
            return whole[text.strip()]
        return _CODE.sub(lambda m: names.get(m.group(0), m.group(0)), text)

    return words


def find_policy(jurisdiction: str, version: str | None = None) -> model.Policy:
    """A shipped policy: the given version, or the latest."""
    found = model.versions(jurisdiction)
    if not found:
        raise PolicyError(model.unknown_jurisdiction(jurisdiction))
    if version is None:
        return found[-1]
    for p in found:
        if p.spec.version == version:
            return p
    versions = "、".join(p.spec.version for p in found)
    raise PolicyError(f"{jurisdiction} 没有 {version} 版本（现有：{versions}） / "
                      f"no version {version!r}")
