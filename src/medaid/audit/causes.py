"""The likely cause of each difference, with the rule and the article.

Structural causes are read from the records: a duplicate settlement, a cancellation that
did not take back what was paid. The others are read from the roster (no identity, an
identity exited before the visit or recognised after it) or found by settling the
person-year again with one thing changed — the platform's category, no caps, no
deductibles, the other rounding: a cause is named only when that settlement gives the
platform's amount exactly, to the fen. What no such change reproduces is "原因待查".

Each change is one batch settlement (`resettle.settle_again`) of all the person-years it
concerns, so the causes of a province's findings cost a few batch runs over those
person-years, not an engine run per finding. The engine's trace explains a finding
wherever `resettle` had the engine settle its person-year.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from medaid.audit.resettle import CANCELLED, DUPLICATE, REVERSAL, Outcome, _days, settle_again
from medaid.audit.roster import NO_DATE
from medaid.core.money import fmt
from medaid.engine.types import Settlement
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


def explain_trace(policy: Policy, s: Settlement) -> str:
    """The engine's tier-3 trace in a line: rule, article, arithmetic, amount."""
    parts = [f"{t.rule}（{t.citation or policy.reference_of(t.source)}）：{t.text}，"
             f"{fmt(t.amount)}元" for t in s.trace if t.tier in ("assistance", "tilted", "special")]
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


class _Causes:
    """The causes of every finding at once: each change is one batch settlement of the
    person-years concerned (`resettle.settle_again`), never a settlement per finding."""

    def __init__(self, out: Outcome) -> None:
        self.out = out
        self.rec = out.records
        self.versions = tuple(out.versions)
        by_code: dict[str, list[str]] = {}
        for c in out.versions[-1].spec.categories:
            if c.idet_type:
                by_code.setdefault(c.idet_type, []).append(c.id)
        self.by_code = by_code
        self.code_of = {c.id: c.idet_type for p in out.versions for c in p.spec.categories}
        self.articles: dict[tuple[int, str], str] = {}

    def policy(self, i: int) -> Policy:
        p = in_force(list(self.versions), _days(self.rec.end[i]))
        return p or self.versions[0]

    def article(self, p: Policy, rule: str) -> str:
        """The article of a rule id as people cite it ("" when the policy has no such rule)."""
        key = (id(p), rule)
        if key not in self.articles:
            found = next((ln.citation for ln in p.lines if ln.rule == rule), None)
            t = p.spec.tilted
            if found is None and t is not None and t.rule == rule:
                found = p.cites(t)[1]
            self.articles[key] = found or ""
        return self.articles[key]

    def finding(self, i: int, cause: str, rule: str = "", reason: str = "",
                article: str | None = None) -> Finding:
        p = self.policy(i)
        s = self.out.engine.get(i)
        explanation = explain_trace(p, s) if s is not None else self.batch_words(i, p)
        if article is None:
            article = self.article(p, rule) if rule else ""
        return Finding(i, cause, rule, article, reason, explanation)

    def batch_words(self, i: int, p: Policy) -> str:
        """medaid's settlement in a line from the batch path's parts, where the engine did
        not explain the record (`--explain`)."""
        parts = (self.out.parts or {}).get(i)
        if parts is None:
            return ""
        base, assistance, tilted, special = parts
        cat = self.out.category(i)
        rules = self.out.rules(i)
        words = [f"适用类别：{p.label(cat) if cat else '无有效身份'}"]
        if rules:
            words.append("规则：" + "、".join(
                f"{r}（{self.article(p, r)}）" if self.article(p, r) else r
                for r in rules.split("+")))
        words.append(f"救助基数{fmt(base)}元，救助{fmt(assistance)}元")
        if tilted:
            words.append(f"倾斜救助{fmt(tilted)}元")
        if special:
            words.append(f"专项救助{fmt(special)}元")
        return "；".join(words) + "（批量核定；逐条算式：--explain）"

    def structural(self, i: int) -> Finding:
        out, rec = self.out, self.rec
        if int(out.status[i]) == DUPLICATE:
            first = int(out.partner[i])
            return self.finding(i, "duplicate", reason=(
                f"同一就诊（就诊ID {rec.mdtrt_id[i].as_py()}）已于第{rec.row[first]}行结算"
                f"（结算ID {rec.setl_id[first].as_py()}），未撤销又再次结算，本次不应支付医疗救助"),
                article="")
        back = int(out.partner[i])
        return self.finding(i, "cancel_net", reason=(
            f"该结算已由第{rec.row[back]}行撤销（结算ID {rec.setl_id[back].as_py()}），"
            f"原支付医疗救助{fmt(int(rec.maf[i]))}元，撤销冲回{fmt(-int(rec.maf[back]))}元，"
            f"净额应为0"), article="")

    def identity(self, i: int) -> Finding:
        """medaid finds no category in force and the platform paid: the roster says why."""
        out, rec = self.out, self.rec
        p = self.policy(i)
        w = p.spec.windows
        art = p.reference(w.article, w.document)
        day_lo, day_hi = int(rec.start[i]), int(rec.end[i])
        r = int(out.roster_of[out.person[i]])
        if r < 0:
            return self.finding(i, "not_in_roster", w.rule,
                                "救助名单中无此人员，不享受医疗救助", art)
        ids = out.identities
        lo, hi = int(ids.offsets[r]), int(ids.offsets[r + 1])
        exited = [k for k in range(lo, hi) if ids.end[k] != NO_DATE and ids.end[k] < day_lo]
        later = [k for k in range(lo, hi) if ids.start[k] > day_hi]
        if exited:
            k = max(exited, key=lambda k: int(ids.end[k]))
            return self.finding(i, "after_exit", w.rule,
                                f"{p.label(ids.category(k))}身份已于{_days(ids.end[k])}退出，"
                                f"就医日期{_days(day_lo)}在退出之后", art)
        if later:
            k = min(later, key=lambda k: int(ids.start[k]))
            return self.finding(i, "not_yet", w.rule,
                                f"{p.label(ids.category(k))}身份于{_days(ids.start[k])}认定，"
                                f"就医日期{_days(day_hi)}在认定之前", art)
        return self.finding(i, "no_identity", w.rule, "就医期间无有效的救助身份", art)

    def reproduced(self, todo: list[int], variant: str | None = None,
                   category: str | None = None) -> dict[int, str]:
        """The records of `todo` whose platform amount the change reproduces to the fen,
        each with the first rule the changed settlement paid under."""
        if not todo:
            return {}
        idx = np.asarray(todo, np.int64)
        versions = _variants(self.versions, variant) if variant else None
        records, maf, res = settle_again(self.out, idx, versions, category)
        at = np.full(len(self.rec), -1, np.int64)
        at[records] = np.arange(len(records))
        k = at[idx]
        hit = maf[k] == self.out.platform[idx]
        if not hit.any():
            return {}
        rule_ids, names = res.rules()
        return {int(i): names[int(rule_ids[j])].split("+")[0]
                for i, j in zip(idx[hit].tolist(), k[hit].tolist(), strict=True)}

    def all(self) -> list[Finding]:
        out, rec = self.out, self.rec
        diff = out.diff
        idx = np.flatnonzero((diff != 0) & (out.status != REVERSAL))
        done: dict[int, Finding] = {}
        live: list[int] = []
        for i in idx.tolist():
            st = int(out.status[i])
            if st in (DUPLICATE, CANCELLED):
                done[i] = self.structural(i)
                continue
            platform, medaid = int(out.platform[i]), int(out.medaid[i])
            cat = out.category(i)
            if cat is None and platform > medaid:
                done[i] = self.identity(i)
            elif platform == 0 and medaid > 0:
                p = self.policy(i)
                done[i] = self.finding(
                    i, "missed", out.rules(i).split("+")[0],
                    f"人员就医时具有{p.label(cat or '')}身份，平台未支付医疗救助")
            else:
                live.append(i)
        # the platform's identity code is another category's: settle as that category
        codes = rec.psn_idet_type.to_pylist() if rec.psn_idet_type is not None and live \
            else None
        if codes is not None:
            other: dict[str, list[int]] = {}
            for i in live:
                code = codes[i]
                if code and code != self.code_of.get(out.category(i) or ""):
                    for c in self.by_code.get(str(code), []):
                        other.setdefault(c, []).append(i)
            for c, todo in other.items():
                todo = [i for i in todo if i not in done]
                for i, rule in self.reproduced(todo, category=c).items():
                    p = self.policy(i)
                    mine = out.category(i)
                    done[i] = self.finding(
                        i, "other_category", rule,
                        f"平台按人员身份类别{codes[i]}（{p.label(c)}）支付；就医时有效的身份为"
                        f"{p.label(mine) if mine else '无'}，按{p.label(c)}计算恰为平台金额")
        over = [i for i in live if i not in done and diff[i] > 0]
        for i, rule in self.reproduced(over, "caps").items():
            done[i] = self.finding(i, "cap_exceeded", rule or out.rules(i).split("+")[0],
                                   "本年度救助限额已用尽或本次超出限额，平台超限额支付；"
                                   "不计限额时恰为平台金额")
        over = [i for i in over if i not in done]
        for i, rule in self.reproduced(over, "deductible").items():
            done[i] = self.finding(i, "deductible", rule or out.rules(i).split("+")[0],
                                   "平台未扣除起付线；不扣起付线时恰为平台金额")
        near = [i for i in live if i not in done and abs(int(diff[i])) <= 100]
        for i, rule in self.reproduced(near, "rounding").items():
            other_mode = "逐次" if self.policy(i).spec.rounding == "cumulative" else "累计"
            done[i] = self.finding(i, "rounding", out.rules(i).split("+")[0] or rule,
                                   f"按{other_mode}舍入恰为平台金额：舍入方式与核对所用不同")
        for i in live:
            if i not in done:
                rule = out.rules(i).split("+")[0]
                more = diff[i] > 0
                done[i] = self.finding(i, "over_other" if more else "under_other", rule,
                                       f"平台{'多' if more else '少'}付，"
                                       "未能以常见原因复现平台金额")
        return [done[i] for i in idx.tolist()]


def findings(out: Outcome) -> list[Finding]:
    """A finding for every settlement whose maf_pay differs from medaid's, in file order."""
    return _Causes(out).all()
