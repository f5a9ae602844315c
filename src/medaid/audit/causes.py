"""The likely cause of each difference, with the rule and the article.

Structural causes are read from the records: a duplicate settlement, a cancellation that
did not take back what was paid. The others are read from the roster (no identity, an
identity exited before the visit or recognised after it) or found by settling the
person-year again with one thing changed — the platform's category, no caps, no
deductibles, the other rounding: a cause is named only when that settlement gives the
platform's amount exactly, to the fen. What no such change reproduces is "原因待查".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from medaid.audit.resettle import CANCELLED, DUPLICATE, LIVE, Outcome, _days, settle_group
from medaid.audit.roster import NO_DATE
from medaid.engine.types import Identity, Person, Settlement, TraceLine
from medaid.money import fmt
from medaid.policy.model import Policy, compile_policy, in_force

CAUSES: dict[str, str] = {
    "duplicate": "重复结算",
    "cancel_net": "撤销未足额冲回",
    "not_in_roster": "无救助身份（不在名单）",
    "after_exit": "身份退出后结算",
    "not_yet": "身份认定前结算",
    "no_identity": "结算时无有效身份",
    "other_category": "按其他类别比例支付",
    "cap_exceeded": "超过年度救助限额",
    "deductible": "未扣起付线",
    "rounding": "舍入方式不同",
    "missed": "应救未救",
    "over_other": "多付（原因待查）",
    "under_other": "少付（原因待查）",
}
CAUSE_ORDER = list(CAUSES)


@dataclass(frozen=True, slots=True)
class Finding:
    record: int  # index of the settlement record (the original for a cancelled one)
    cause: str  # a key of CAUSES
    rule: str  # the rule the cause concerns ("" when none)
    article: str  # the article as people cite it
    reason: str  # in Chinese
    explanation: str  # medaid's settlement, rule by rule, from the trace


def _article(policy: Policy, source: str) -> str:
    doc = policy.spec.document.file
    return policy.reference(source[len(doc):].strip() if source.startswith(doc) else source)


def explain_trace(policy: Policy, s: Settlement) -> str:
    """The engine's tier-3 trace in a line: rule, article, arithmetic, amount."""
    parts = [f"{t.rule}（{_article(policy, t.source)}）：{t.detail}，{fmt(t.amount)}元"
             for t in s.trace if t.tier in ("assistance", "tilted", "special")]
    return "；".join(parts)


def _variant(policy: Policy, what: str) -> Policy:
    spec = policy.spec
    if what == "rounding":
        other = "cumulative" if spec.rounding == "per_visit" else "per_visit"
        return compile_policy(spec.model_copy(update={"rounding": other}), policy.path)
    lines = []
    for ln in spec.lines:
        if what == "caps":
            ln = ln.model_copy(update={"caps": []})
        elif what == "deductible":
            ln = ln.model_copy(update={"deductible": Decimal(0)})
        lines.append(ln)
    update: dict[str, object] = {"lines": lines}
    if spec.tilted is not None:
        t = spec.tilted
        update["tilted"] = t.model_copy(update={"caps": []} if what == "caps" else
                                        {"deductible": Decimal(0)})
    return compile_policy(spec.model_copy(update=update), policy.path)


_VARIANTS: dict[tuple[tuple[int, ...], str], tuple[Policy, ...]] = {}


def _variants(versions: tuple[Policy, ...], what: str) -> tuple[Policy, ...]:
    key = (tuple(id(p) for p in versions), what)
    if key not in _VARIANTS:
        _VARIANTS[key] = tuple(_variant(p, what) for p in versions)
    return _VARIANTS[key]


def _line_trace(s: Settlement, needle: str) -> TraceLine | None:
    for t in s.trace:
        if needle in t.detail:
            return t
    return None


class _Causes:
    def __init__(self, out: Outcome) -> None:
        self.out = out
        self.rec = out.records
        self.versions = tuple(out.versions)
        by_code: dict[str, list[str]] = {}
        for c in out.versions[-1].spec.categories:
            if c.idet_type:
                by_code.setdefault(c.idet_type, []).append(c.id)
        self.by_code = by_code

    def policy(self, i: int) -> Policy:
        p = in_force(list(self.versions), _days(self.rec.end[i]))
        return p or self.versions[0]

    def reproduces(self, i: int, versions: tuple[Policy, ...] | None = None,
                   person: Person | None = None) -> Settlement | None:
        members = self.out.members[i]
        got = settle_group(self.out, members, versions, person)
        s = got[members.index(i)]
        return s if s.maf_pay == int(self.rec.maf[i]) else None

    def finding(self, i: int) -> Finding:
        out, rec = self.out, self.rec
        status = int(out.status[i])
        p = self.policy(i)
        windows = p.spec.windows
        w_article = p.reference(windows.article)
        if status == DUPLICATE:
            first = int(out.partner[i])
            return Finding(i, "duplicate", "", "",
                           f"同一就诊（就诊ID {rec.mdtrt_id[i].as_py()}）"
                           f"已于第{rec.row[first]}行结算"
                           f"（结算ID {rec.setl_id[first].as_py()}），未撤销又再次结算，"
                           f"本次不应支付医疗救助", "")
        if status == CANCELLED:
            back = int(out.partner[i])
            return Finding(i, "cancel_net", "", "",
                           f"该结算已由第{rec.row[back]}行撤销"
                           f"（结算ID {rec.setl_id[back].as_py()}），"
                           f"原支付医疗救助{fmt(int(rec.maf[i]))}元，撤销冲回"
                           f"{fmt(-int(rec.maf[back]))}元，净额应为0", "")
        assert status == LIVE
        s = out.engine[i]
        explanation = explain_trace(p, s)
        day_lo, day_hi = int(rec.start[i]), int(rec.end[i])
        platform, medaid = int(rec.maf[i]), int(out.medaid[i])
        if s.category is None and platform > medaid:
            r = int(out.roster_of[out.person[i]])
            if r < 0:
                return Finding(i, "not_in_roster", windows.rule, w_article,
                               "救助名单中无此人员，不享受医疗救助", explanation)
            ids = out.identities
            lo, hi = int(ids.offsets[r]), int(ids.offsets[r + 1])
            exited = [k for k in range(lo, hi)
                      if ids.end[k] != NO_DATE and ids.end[k] < day_lo]
            later = [k for k in range(lo, hi) if ids.start[k] > day_hi]
            if exited:
                k = max(exited, key=lambda k: int(ids.end[k]))
                return Finding(i, "after_exit", windows.rule, w_article,
                               f"{p.label(ids.category[k])}身份已于{_days(ids.end[k])}退出，"
                               f"就医日期{_days(day_lo)}在退出之后", explanation)
            if later:
                k = min(later, key=lambda k: int(ids.start[k]))
                return Finding(i, "not_yet", windows.rule, w_article,
                               f"{p.label(ids.category[k])}身份于{_days(ids.start[k])}认定，"
                               f"就医日期{_days(day_hi)}在认定之前", explanation)
            return Finding(i, "no_identity", windows.rule, w_article,
                           "就医期间无有效的救助身份", explanation)
        if platform == 0 and medaid > 0:
            return Finding(i, "missed", s.rules[0] if s.rules else "", "",
                           f"人员就医时具有{p.label(s.category or '')}身份，平台未支付医疗救助",
                           explanation)
        code = rec.psn_idet_type[i].as_py() if rec.psn_idet_type is not None else None
        mine = next((c.idet_type for c in p.spec.categories if c.id == s.category), None)
        if code and code != mine:
            year_start = _days(int(np.datetime64(f"{int(out.year[i])}-01-01", "D")
                                   .astype(np.int64)))
            who = out.person_of(i)
            for c in self.by_code.get(str(code), []):
                alt = Person(who.id, (Identity(c, year_start),), who.disability_grade)
                got = self.reproduces(i, person=alt)
                if got is not None:
                    rule = got.rules[0] if got.rules else ""
                    return Finding(i, "other_category", rule, "",
                                   f"平台按人员身份类别{code}（{p.label(c)}）支付；就医时有效的身份为"
                                   f"{p.label(s.category or '') if s.category else '无'}，"
                                   f"按{p.label(c)}计算恰为平台金额", explanation)
        if platform > medaid:
            t = _line_trace(s, "cap pool")
            if t is not None or self._capped(s):
                got = self.reproduces(i, _variants(self.versions, "caps"))
                if got is not None:
                    rule = t.rule if t is not None else (s.rules[0] if s.rules else "")
                    return Finding(i, "cap_exceeded", rule, _article(p, t.source) if t else "",
                                   "本年度救助限额已用尽或本次超出限额，平台超限额支付；"
                                   "不计限额时恰为平台金额", explanation)
            t = _line_trace(s, "deductible")
            if t is not None:
                got = self.reproduces(i, _variants(self.versions, "deductible"))
                if got is not None:
                    return Finding(i, "deductible", t.rule, _article(p, t.source),
                                   "平台未扣除起付线；不扣起付线时恰为平台金额", explanation)
        if abs(platform - medaid) <= 100:
            got = self.reproduces(i, _variants(self.versions, "rounding"))
            if got is not None:
                other = "逐次" if p.spec.rounding == "cumulative" else "累计"
                return Finding(i, "rounding", s.rules[0] if s.rules else "", "",
                               f"按{other}舍入恰为平台金额：舍入方式与核对所用不同", explanation)
        if platform > medaid:
            return Finding(i, "over_other", s.rules[0] if s.rules else "", "",
                           "平台多付，未能以常见原因复现平台金额", explanation)
        return Finding(i, "under_other", s.rules[0] if s.rules else "", "",
                       "平台少付，未能以常见原因复现平台金额", explanation)

    @staticmethod
    def _capped(s: Settlement) -> bool:
        return any("cap" in t.detail for t in s.trace)


def findings(out: Outcome) -> list[Finding]:
    """A finding for every settlement whose maf_pay differs from medaid's, in file order."""
    c = _Causes(out)
    diff = out.diff
    idx = np.flatnonzero((diff != 0) & (out.status != 2))
    found = []
    for i in idx.tolist():
        f = c.finding(int(i))
        s = out.engine.get(f.record)
        if f.rule and not f.article and s is not None:  # the article of the rule's trace line
            t = next((t for t in s.trace if t.rule == f.rule), None)
            if t is not None:
                f = replace(f, article=_article(c.policy(f.record), t.source))
        found.append(f)
    return found
