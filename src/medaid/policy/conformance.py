"""JS-X: a city's rules against the floors of a provincial framework (RULES.md §4.2).

The framework (Jiangsu) sorts categories into key objects, low-income and other
(`js_class`) and states its floors in its `framework` map. A city's category takes its
class from its own `js_class`, else from the framework's category of the same id; one
that has neither is reported as unclassified and left out of the class floors. Every
floor yields rows, rule by rule: meet, break, or undetermined (a number the city leaves
to a parameter nobody set, or a class with no line to compare). Numbers a city gives by
parameter are resolved for its in-force year, with `local` overriding (`--set`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Literal

from medaid.core import labels
from medaid.core.errors import MedaidError, MissingParameter, PolicyError
from medaid.core.money import BP, MoneyError, fmt, fmt_ratio, to_bp, to_fen
from medaid.policy import schema as s
from medaid.policy.explain import Lang, ref_text
from medaid.policy.model import Line, Policy
from medaid.policy.params import Params

Verdict = Literal["meet", "break", "undetermined"]
VERDICTS: tuple[Verdict, ...] = ("meet", "break", "undetermined")
CLASSES = ("key", "low_income", "other")
Cite = tuple[str, str]  # (rule id, article)


@dataclass(frozen=True, slots=True)
class Row:
    floor: str  # JS-X1 … JS-X5
    cites: tuple[Cite, ...]  # the city's rules the row judges
    subject: str  # categories × kinds, or the visit setting compared
    verdict: Verdict
    reason: str  # one line, with the numbers


@dataclass(frozen=True, slots=True)
class Conformance:
    city: Policy
    framework: Policy
    year: int  # parameters resolved for this year
    basic_cap: int | None  # fen
    floors: tuple[tuple[str, str], ...]  # (id, what it requires)
    classes: tuple[tuple[str, tuple[str, ...]], ...]  # (class, city categories)
    unclassified: tuple[str, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...]

    def count(self, verdict: Verdict) -> int:
        return sum(r.verdict == verdict for r in self.rows)


class _Unresolved(Exception):
    """A number the check cannot know: its reason names what is missing."""


def _floor(raw: str, what: str, money: bool = False) -> int:
    """A floor of the framework map: fen for money, else basis points."""
    try:
        return to_fen(raw) if money else to_bp(raw)
    except MoneyError as e:
        raise PolicyError(f"framework.{what}: {e}") from None


class _Check:
    def __init__(self, city: Policy, framework: Policy, local: Mapping[str, Decimal],
                 lang: Lang) -> None:
        fw = framework.spec.framework
        missing = [k for k in ("key_ratio_floor", "key_deductible", "cap_share_of_basic_cap")
                   if k not in fw]
        if missing:
            raise PolicyError(f"{framework.jurisdiction}：省级底线（framework）缺少 "
                              f"{'、'.join(missing)} / framework lacks {', '.join(missing)}")
        self.city, self.framework = city, framework
        self.key_ratio = _floor(fw["key_ratio_floor"], "key_ratio_floor")
        self.key_deductible = _floor(fw["key_deductible"], "key_deductible", money=True)
        self.cap_share = _floor(fw["cap_share_of_basic_cap"], "cap_share_of_basic_cap")
        self.year = city.in_force.year
        self.params = Params(city, local=dict(local), bounds=False)  # the floors are judged here
        self.local = local
        fw_class = {c.id: c.js_class for c in framework.spec.categories}
        self.cls: dict[str, str | None] = {
            c.id: c.js_class or fw_class.get(c.id) for c in city.spec.categories}
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self.lang = lang

    def say(self, en: str, zh: str) -> str:
        return zh if self.lang == "zh" else en

    def names(self, values: list[str] | list[s.Kind] | str) -> str:
        return self.say("all", "全部") if values == "*" else ", ".join(values)

    def cls_name(self, cls: str) -> str:
        return labels.label(labels.JS_CLASSES, cls, self.lang)

    # -- numbers --------------------------------------------------------------------
    def _get(self, compute: Callable[..., int], *args: object) -> int:
        try:
            return compute(*args)
        except MissingParameter as e:
            raise _Unresolved(self.say(f"needs parameter {e.name} (--set {e.name}=VALUE)",
                                       f"须设定参数 {e.name}（--set {e.name}=数值）")) from None
        except MedaidError as e:
            raise _Unresolved(str(e)) from None

    def ratios(self, ln: Line) -> list[int]:
        return [self._get(self.params.ratio_of, g.ratio, self.year, ln.rule)
                for g in ln.spec.segments]

    def amount(self, a: s.Amount, rule: str) -> int:
        return self._get(self.params.amount, a, self.year, rule)

    def amount_text(self, a: s.Amount, fen: int) -> str:
        if not isinstance(a, s.ParamRef):
            return fmt(fen)
        if self.lang == "en":
            return f"{fmt(fen)} ({ref_text(a)} for {self.year})"
        p = self.city.spec.parameters.get(a.param)
        name = p.label if p is not None and p.label else a.param
        by = name if a.times == 1 else f"{fmt_ratio(to_bp(a.times))} × {name}"
        return f"{fmt(fen)}（{self.year}年 {by}）"

    def basic_cap(self) -> int | None:
        if "basic_cap" in self.local:
            try:
                fen = to_fen(self.local["basic_cap"])
            except MoneyError as e:
                raise PolicyError(f"basic_cap: {e}") from None
            if fen <= 0:
                raise PolicyError("basic_cap: must be > 0")
            return fen
        if self.city.parameter("basic_cap") is None:
            return None
        try:
            return self.params.money("basic_cap", self.year, "JS-X3")
        except MedaidError:
            return None

    # -- who and what ---------------------------------------------------------------
    def of_class(self, ln: Line, cls: str) -> list[str]:
        return [c for c in self.city.categories if self.cls[c] == cls and ln.covers(c)]

    def add(self, floor: str, cites: tuple[Cite, ...], subject: str, verdict: Verdict,
            reason: str) -> None:
        self.rows.append(Row(floor, cites, subject, verdict, reason))

    @staticmethod
    def cite(ln: Line) -> tuple[Cite, ...]:
        return ((ln.rule, ln.spec.article),)

    def subject(self, cats: list[str], ln: Line) -> str:
        flags, grades = ", ".join(sorted(ln.flags)), ", ".join(map(str, sorted(ln.grades or ())))
        cond = self.say(f" (flagged {flags})", f"（限 {flags}）") if ln.flags else ""
        if ln.grades is not None:
            cond += self.say(f" (disability grades {grades})", f"（残疾等级 {grades}）")
        return f"{', '.join(cats)} × {self.names(ln.spec.kinds)}{cond}"

    # -- floors ---------------------------------------------------------------------
    def x1_x2_x3(self, basic_cap: int | None) -> None:
        for ln in self.city.lines:
            key = self.of_class(ln, "key")
            if not key:
                continue
            subject, cite = self.subject(key, ln), self.cite(ln)
            self._x1(ln, subject, cite)
            self._x2(ln, subject, cite)
            self._x3(ln, subject, cite, basic_cap)

    def _x1(self, ln: Line, subject: str, cite: tuple[Cite, ...]) -> None:
        floor = fmt_ratio(self.key_ratio)
        grant = ln.spec.grant
        if grant is not None:
            text = ref_text(grant) if isinstance(grant, s.ParamRef) else fmt(to_fen(grant))
            self.add("JS-X1", cite, subject, "undetermined",
                     self.say(f"a fixed grant of {text}, no ratio to compare with {floor}",
                              f"定额救助 {text}，无比例可与 {floor} 比较"))
            return
        try:
            low = min(self.ratios(ln))
        except _Unresolved as u:
            self.add("JS-X1", cite, subject, "undetermined", str(u))
            return
        ok = low >= self.key_ratio
        self.add("JS-X1", cite, subject, "meet" if ok else "break",
                 self.say("lowest ratio", "最低比例")
                 + f" {fmt_ratio(low)} {'≥' if ok else '<'} {floor}")

    def _x2(self, ln: Line, subject: str, cite: tuple[Cite, ...]) -> None:
        try:
            d = self.amount(ln.spec.deductible, ln.rule)
        except _Unresolved as u:
            self.add("JS-X2", cite, subject, "undetermined", str(u))
            return
        ok = d <= self.key_deductible
        self.add("JS-X2", cite, subject, "meet" if ok else "break",
                 self.say("deductible ", "起付线 ") + self.amount_text(ln.spec.deductible, d)
                 + ("" if ok else f" > {fmt(self.key_deductible)}"))

    def _x3(self, ln: Line, subject: str, cite: tuple[Cite, ...], basic_cap: int | None) -> None:
        # The floor is on the annual limit of the main (inpatient) assistance; outpatient
        # limits are set separately (三（二）2 门诊和住院救助最高限额…分别确定).
        if ln.kinds is not None and "inpatient" not in ln.kinds:
            return
        if not ln.spec.caps:
            self.add("JS-X3", cite, subject, "meet", self.say("no cap", "不封顶"))
            return
        try:
            caps = [(self.amount(c.amount, ln.rule), c) for c in ln.spec.caps]
        except _Unresolved as u:
            self.add("JS-X3", cite, subject, "undetermined", str(u))
            return
        cap, c = min(caps, key=lambda x: x[0])
        text = self.say("cap ", "封顶 ") + f"{c.pool} {self.amount_text(c.amount, cap)}"
        if basic_cap is None:
            self.add("JS-X3", cite, subject, "undetermined", text + self.say(
                "; needs the basic-insurance cap basic_cap (--set basic_cap=AMOUNT)",
                "；须设定基本医保年度封顶线（--set basic_cap=金额）"))
            return
        ok = cap * BP >= basic_cap * self.cap_share
        need = (basic_cap * self.cap_share + BP - 1) // BP  # the floor, rounded up to the fen
        self.add("JS-X3", cite, subject, "meet" if ok else "break",
                 f"{text} {'≥' if ok else '<'} {fmt(need)}" + self.say(
                     f" ({fmt_ratio(self.cap_share)} of basic_cap {fmt(basic_cap)})",
                     f"（基本医保年度封顶线 {fmt(basic_cap)} 的 {fmt_ratio(self.cap_share)}）"))

    def gaps(self) -> None:
        """Key categories the city leaves without any rule for a kind break JS-X1."""
        key = [c for c in self.city.categories if self.cls[c] == "key"]
        found: dict[tuple[Cite, ...], dict[str, list[str]]] = {}
        reasons: dict[tuple[Cite, ...], str] = {}
        for kind in s.KINDS:
            setting = self.city.spec.kind_fallback.get(kind, kind)  # type: ignore[call-overload]
            for c in key:
                if self._covered(c, kind, setting):
                    continue
                refusal = next((r for r in self.city.spec.refusals
                                if (r.categories == "*" or c in r.categories)
                                and (r.kinds == "*" or setting in r.kinds)), None)
                cite: tuple[Cite, ...] = ((refusal.rule, refusal.article),) if refusal else ()
                reasons[cite] = refusal.reason if refusal else self.say(
                    "no rule of the document", "文件未作规定")
                found.setdefault(cite, {}).setdefault(c, []).append(kind)
        for cite, by_cat in found.items():
            for c, kinds in by_cat.items():
                self.add("JS-X1", cite, f"{c} × {', '.join(kinds)}", "break",
                         self.say("key object without assistance: ", "重点救助对象无救助：")
                         + reasons[cite])

    def _covered(self, category: str, kind: str, setting: str) -> bool:
        def plain(ln: Line) -> bool:  # lines that hold without a flag or disability grade
            return not ln.flags and ln.grades is None and ln.covers(category)
        if any(plain(ln) and ln.matches_visit(kind, frozenset(), None)
               for ln in self.city.exclusive_lines):
            return True
        return any(plain(ln) and ln.matches_visit(setting, frozenset(), None)
                   for ln in self.city.regular_lines)

    def x4(self) -> None:
        """Per visit setting: key's lowest ratio > low-income's highest, and so on. Kinds
        settled by the same lines (directly or by kind_fallback) are compared once."""
        groups: dict[tuple[int, ...], tuple[list[Line], list[str]]] = {}
        for kind in s.KINDS:
            setting = self.city.spec.kind_fallback.get(kind, kind)  # type: ignore[call-overload]
            lines = [ln for ln in self.city.regular_lines if not ln.flags and ln.grades is None
                     and ln.spec.grant is None and ln.matches_visit(setting, frozenset(), None)]
            if lines:
                groups.setdefault(tuple(ln.index for ln in lines), (lines, []))[1].append(kind)
        for lines, kinds in groups.values():
            for hi, lo in (("key", "low_income"), ("low_income", "other")):
                self._x4_pair(", ".join(kinds), lines, hi, lo)

    def _x4_pair(self, subject: str, lines: list[Line], hi: str, lo: str) -> None:
        sub = f"{subject}: {self.cls_name(hi)} > {self.cls_name(lo)}"
        hi_lines = [ln for ln in lines if self.of_class(ln, hi)]
        lo_lines = [ln for ln in lines if self.of_class(ln, lo)]
        if not hi_lines or not lo_lines:
            absent = self.say(" or ", "或").join(
                self.cls_name(c) for c, ls in ((hi, hi_lines), (lo, lo_lines)) if not ls)
            cites = tuple(dict.fromkeys(c for ln in hi_lines + lo_lines for c in self.cite(ln)))
            self.add("JS-X4", cites, sub, "undetermined",
                     self.say(f"no {absent} line to compare", f"没有{absent}的救助标准可比较"))
            return
        try:
            h_bp, h_ln = min(((min(self.ratios(ln)), ln) for ln in hi_lines), key=lambda x: x[0])
            l_bp, l_ln = max(((max(self.ratios(ln)), ln) for ln in lo_lines), key=lambda x: x[0])
        except _Unresolved as u:
            cites = tuple(dict.fromkeys(c for ln in hi_lines + lo_lines for c in self.cite(ln)))
            self.add("JS-X4", cites, sub, "undetermined", str(u))
            return
        ok = h_bp > l_bp
        cites = tuple(dict.fromkeys(self.cite(h_ln) + self.cite(l_ln)))
        h_who, l_who = ", ".join(self.of_class(h_ln, hi)), ", ".join(self.of_class(l_ln, lo))
        lowest, highest = self.say(" lowest ", "最低 "), self.say(" highest ", "最高 ")
        self.add("JS-X4", cites, sub, "meet" if ok else "break",
                 f"{self.cls_name(hi)}{lowest}{fmt_ratio(h_bp)} ({h_ln.rule}: {h_who}) "
                 f"{'>' if ok else '≤'} "
                 f"{self.cls_name(lo)}{highest}{fmt_ratio(l_bp)} ({l_ln.rule}: {l_who})")

    def x5(self) -> None:
        """Ratios never fall as the cumulative self-pay grows, line by line."""
        for ln in self.city.lines:
            if ln.spec.grant is not None:
                continue
            cats = self.say("all categories", "全部身份") if ln.categories is None \
                else ", ".join(ln.spec.categories)
            subject, cite = self.subject([cats], ln), self.cite(ln)
            try:
                bps = self.ratios(ln)
            except _Unresolved as u:
                self.add("JS-X5", cite, subject, "undetermined", str(u))
                continue
            upto = self.say(" to ", " 至 ")
            texts = [fmt_ratio(b) + (f"{upto}{fmt(to_fen(g.upto))}" if g.upto is not None else "")
                     for b, g in zip(bps, ln.spec.segments, strict=True)]
            then = self.say(", then ", "，其后 ")
            if len(bps) == 1:
                self.add("JS-X5", cite, subject, "meet", self.say("one ratio, ", "单一比例 ")
                         + texts[0])
            elif all(a <= b for a, b in pairwise(bps)):
                self.add("JS-X5", cite, subject, "meet",
                         self.say("ratios rise: ", "比例递增：") + then.join(texts))
            else:
                self.add("JS-X5", cite, subject, "break",
                         self.say("ratios fall as self-pay grows: ", "比例随自付累计下降：")
                         + then.join(texts))


FLOORS = (
    ("JS-X1", "key objects' ratio ≥ {ratio}, for every kind of visit"),
    ("JS-X2", "no deductible for key objects"),
    ("JS-X3", "annual cap ≥ {share} of the basic-insurance cap (basic_cap)"),
    ("JS-X4", "key > low-income > other ratios, per visit setting"),
    ("JS-X5", "ratios never fall as self-pay grows, line by line"),
)
FLOORS_ZH = (
    ("JS-X1", "重点救助对象各类就诊的救助比例 ≥ {ratio}"),
    ("JS-X2", "重点救助对象不设起付线"),
    ("JS-X3", "住院救助年度最高限额 ≥ 基本医保年度封顶线的 {share}"),
    ("JS-X4", "同一就诊类别，救助比例：重点救助对象 > 低收入救助对象 > 其他救助对象"),
    ("JS-X5", "救助比例不随个人自付累计增加而降低（逐条标准）"),
)


def check(city: Policy, framework: Policy, local: Mapping[str, Decimal] | None = None,
          lang: Lang = "zh") -> Conformance:
    """The JS-X report of `city` against `framework` (a policy with a `framework` map)."""
    if not framework.spec.framework:
        raise PolicyError(f"{framework.jurisdiction} is not a framework policy "
                          "(it has no framework floors)")
    ch = _Check(city, framework, local or {}, lang)
    basic_cap = ch.basic_cap()
    ch.x1_x2_x3(basic_cap)
    ch.gaps()
    ch.x4()
    ch.x5()
    order = {f: i for i, (f, _) in enumerate(FLOORS)}
    rows = sorted(ch.rows, key=lambda r: order[r.floor])  # stable: rule order within a floor
    unclassified = tuple(c for c in city.categories if ch.cls[c] is None)
    doc = framework.spec.document.title
    notes = [ch.say("JS-X3 judges the caps of lines covering inpatient care: outpatient limits "
                    "are set separately (三（二）2)",
                    f"JS-X3 只判断含住院的救助标准的封顶线：门诊和住院救助最高限额分别确定"
                    f"（《{doc}》三（二）2）")]
    if unclassified:
        notes.append(ch.say("categories the framework cannot classify, left out of JS-X1–X4: ",
                            "框架无法归类的身份，不参与 JS-X1–X4：") + ", ".join(unclassified))
    floors = tuple((f, text.format(ratio=fmt_ratio(ch.key_ratio),
                                   share=fmt_ratio(ch.cap_share)))
                   for f, text in (FLOORS if lang == "en" else FLOORS_ZH))
    classes = tuple((cls, tuple(c for c in city.categories if ch.cls[c] == cls))
                    for cls in CLASSES)
    return Conformance(city, framework, ch.year, basic_cap, floors, classes, unclassified,
                       tuple(rows), tuple(notes))


def to_json(r: Conformance) -> dict[str, object]:
    return {
        "city": r.city.jurisdiction,
        "version": r.city.spec.version,
        "framework": r.framework.jurisdiction,
        "framework_version": r.framework.spec.version,
        "framework_article": r.framework.spec.framework.get("article"),
        "year": r.year,
        "basic_cap": fmt(r.basic_cap) if r.basic_cap is not None else None,
        "floors": dict(r.floors),
        "classes": {cls: list(cats) for cls, cats in r.classes},
        "unclassified": list(r.unclassified),
        "rows": [{"floor": x.floor,
                  "cites": [{"rule": rule, "article": art} for rule, art in x.cites],
                  "subject": x.subject, "verdict": x.verdict, "reason": x.reason}
                 for x in r.rows],
        "notes": list(r.notes),
        "summary": {v: r.count(v) for v in VERDICTS},
    }
