"""Two versions of a policy side by side, rule by rule (`medaid policy diff A B`).

A change names where it is (a line by its rule id and article, a parameter by its name, a
category by its id, any other section by its key), whether it was added, removed or
changed, and for a change each field's two values, as exact text in Chinese (yuan, ratios
as percentages, a parameter's values with their dates and sources).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from medaid.core import labels
from medaid.core.money import MoneyError, fmt, fmt_ratio, to_bp, to_fen
from medaid.policy import amend, explain, model
from medaid.policy import schema as s
from medaid.policy.fields import label as field_label

CHANGE = {"added": "新增", "removed": "删除", "changed": "修改"}
SECTIONS = {
    "document": "文件", "categories": "救助对象类别", "lines": "救助规则",
    "refusals": "不予救助", "parameters": "参数", "tilted": "倾斜救助",
    "windows": "身份起止", "referral": "转诊", "critical_illness_tilt": "大病保险倾斜",
    "premium_subsidy": "参保资助", "pools": "累计池", "kind_fallback": "就诊类型归并",
    "monitoring": "双预警", "funds": "资金管理", "indicators": "控费指标",
    "framework": "框架", "rounding": "舍入", "name": "名称", "version": "版本",
    "in_force": "施行日期", "jurisdiction": "统筹区",
    "stages": "救助后续阶段（再救助、补助、封顶）", "statuses": "人员状态",
    "highest": "多重身份就高", "notices": "修订通知",
}
FIELDS = {
    "categories": "救助对象", "kinds": "就诊类型", "deductible": "起付标准",
    "segments": "分段比例", "caps": "限额", "grant": "定额救助", "base": "救助基数",
    "pool": "累计池", "flags": "就诊条件", "disability_grades": "残疾等级",
    "exclusive": "排他适用", "alternative": "就高不叠加", "tier": "层级", "article": "条款",
    "label": "名称", "reason": "理由", "type": "类型", "source": "来源", "default": "默认值",
    "values": "取值", "min": "下限", "max": "上限", "below": "须低于", "used_by": "使用规则",
    "referral": "转诊", "locations": "就医地", "requires_application": "须申请",
    "lookback_months": "追溯月数", "defined": "已规定", "ratio_points": "比例增减（百分点）",
    "deductible_share": "起付标准比例", "shares": "资助比例", "idet_type": "人员类别代码",
    "js_class": "省框架类别", "title": "标题", "file": "文本",
    "rule": "规则编号", "unreferred": "未转诊", "unreferred_hardship": "未转诊（困难）",
    "assistance": "予以救助", "tilt": "可予倾斜救助", "stages": "计入救助后续阶段",
    "statuses": "人员状态",
    "not_statuses": "不具有的人员状态",
    "hospital_levels": "医院等级", "referrals": "转诊", "when": "时点", "ceiling": "封顶",
    "by_category": "分身份取值", "lookback": "回溯", "start": "在保期起", "end": "在保期止",
    "stay_rule": "住院跨期", "months": "月数", "before": "起算", "until": "截止",
    "grace": "渐退期", "period": "累计期间", "new_this_year": "仅当年新认定",
    "recognised_since": "仅此日以后新认定", "exited_since": "仅此日以后退出",
    "counts_only": "计入累计不予救助", "with_tilted_application": "须当年申请倾斜救助",
    "upto": "上限", "ratio": "比例", "amount": "金额", "optional": "设定时适用",
    "raised": "提高后的限额", "over": "超过", "include": "计入", "after": "扣除",
    "share": "比例", "of": "所占字段", "param": "参数", "times": "倍数",
    "by": "就高方式", "bounds": "分段上限", "unheld_at_year_end": "年末无身份的",
    "category_at": "身份认定时点",
}
# codes whose values read by their Chinese labels (medaid.core.labels)
CODES = {"kinds": labels.KINDS, "locations": labels.LOCATIONS, "referral": labels.REFERRALS,
         "type": labels.PARAMETER_TYPES,
         "start": {"exact": ("认定之日", "from"), "month_start": ("认定当月第一日", "month start"),
                   "next_month": ("认定之日的次月第一日", "the month after from")},
         "before": {"from": ("认定之日", "from"), "application": ("申请之日", "application")},
         "until": {"anchor": ("至起算日前一日", "the day before the anchor"),
                   "from": ("至认定之日前一日（含申请至认定期间）", "the day before from")},
         "referrals": labels.REFERRALS,
         "by": {"amount": ("按救助金额就高", "by amount"), "order": ("按身份排列顺序", "by order")},
         "unheld_at_year_end": {"last": ("按退出前最后所具有的身份", "by the one held last"),
                                "none": ("不享受", "nothing")},
         "category_at": {"visits": ("按各次就诊的身份", "by the visits'"),
                         "year_end": ("按年末所具有的身份", "by the identity held at year end")},
         "period": {"year": ("每年", "a year"), "visit": ("每次就诊", "a visit")},
         "rounding": {"cumulative": ("按年度累计额四舍五入到分", "cumulative"),
                      "per_visit": ("每次就诊各自四舍五入到分", "per visit")},
         "when": {"visit": ("每次就诊时", "at each visit"),
                  "year_end": ("年终一次", "once at year end")},
         "tier": {"assistance": ("医疗救助", "assistance"), "special": ("专项救助", "special")},
         "bounds": {"above_deductible": ("起付线以上累计金额", "above the deductible"),
                    "absolute": ("费用金额（自零起算）", "amounts from zero")},
         "stay_rule": {"True": ("住院期间任一日", "any day of a stay"),
                       "False": ("出院之日", "the discharge date"),
                       "admission": ("入院之日", "the admission date")},
         "base": {"after_all_funds": ("经基本医保、大病保险和其他基金支付后", "after all funds"),
                  "after_basic": ("仅经基本医保报销后", "after basic insurance"),
                  "remainder": ("政策范围内个人负担", "remainder"),
                  "out_of_pocket": ("个人负担总额（含范围外）", "out of pocket"),
                  "beyond_cap": ("超过该身份年度封顶的累计基数", "beyond the cap")}}
RATIO_KEYS = frozenset({"ratio", "share", "deductible_share", "times", "max_share"})
MONEY_KEYS = frozenset({"upto", "deductible", "amount", "grant"})
PARAMETER_VALUES = frozenset({"value", "default", "min", "max"})  # read in the parameter's unit
KEYED = amend.KEYED  # entries paired as an amendment merges them


@dataclass
class Field:
    field: str
    label: str
    a: Any
    b: Any
    a_text: str
    b_text: str


@dataclass
class Change:
    section: str  # a top-level key of the policy file
    key: str  # the rule id, category id, parameter name; "" for a whole section
    change: str  # added, removed, changed
    rule: str | None = None
    article: str | None = None
    label: str | None = None
    fields: list[Field] = field(default_factory=list)
    # which entry, where one rule id names several: 第2项（门诊特殊病种、住院）
    entry: str | None = None
    # the notice whose article it cites (its file; None: the policy's own document), and
    # the article as people cite it where that is a notice's: 《金医保发〔2025〕8号》一
    document: str | None = None
    cites: str | None = None


@dataclass
class Diff:
    a: dict[str, str]
    b: dict[str, str]
    changes: list[Change]


def find(name: str) -> model.Policy:
    """A policy by file (a policy or an amendment), shipped file name (nanjing-2023) or
    jurisdiction (its latest version)."""
    if Path(name).is_file():
        return amend.load(name)
    for p in model.shipped():
        if Path(p.path).stem == name:
            return p
    return explain.find_policy(name)


def _head(p: model.Policy) -> dict[str, str]:
    return {"jurisdiction": p.jurisdiction, "name": p.spec.name, "version": p.spec.version,
            "in_force": p.in_force.isoformat(), "path": p.path,
            "document": p.spec.document.title}


def diff(a: model.Policy, b: model.Policy) -> Diff:
    da = a.spec.model_dump(mode="json", by_alias=True)
    db = b.spec.model_dump(mode="json", by_alias=True)
    changes: list[Change] = []
    for key in [*da, *(k for k in db if k not in da)]:
        x, y = da.get(key), db.get(key)
        if x == y:
            continue
        if key in KEYED:
            changes += _entries(key, x or [], y or [], KEYED[key], (a.spec, b.spec))
        elif key == "parameters":
            changes += _parameters(x or {}, y or {})
        elif isinstance(x, dict) and isinstance(y, dict) and key not in ("document",):
            changes.append(_section(key, x, y, (a.spec, b.spec)))
        else:
            changes.append(Change(key, "", "changed" if x is not None and y is not None
                                  else ("added" if x is None else "removed"),
                                  fields=[_field(key, x, y)]))
    words = explain.readable(b, a)  # categories and pools by the files' labels
    labelled = {n: p.label for pol in (a, b) for n, p in pol.spec.parameters.items() if p.label}

    def named(text: str) -> str:  # a parameter by its label, as the file's readers know it
        return _PARAM.sub(lambda m: f"参数「{labelled.get(m.group(1), m.group(1))}」", text)

    for c in changes:
        for f in c.fields:
            f.a_text, f.b_text = words(named(f.a_text)), words(named(f.b_text))
    return Diff(_head(a), _head(b), changes)


_PARAM = re.compile(r"参数「([A-Za-z0-9_]+)」")
Specs = tuple[s.PolicyFile, s.PolicyFile]


def _document(spec: s.PolicyFile, document: str | None) -> str:
    """A text by its number as people cite it: 《金医保发〔2025〕8号》 (the policy's own
    document where `document` is None, else the notice of that file)."""
    return model.reference(spec, "", document).removeprefix(spec.name)


def _cited(c: Change, x: dict[str, Any] | None, y: dict[str, Any] | None,
           specs: Specs) -> None:
    """Where either side cites a notice, its article and document read with the text's
    number (条款：《金医保发〔2024〕3号》二（二） → 《金医保发〔2025〕8号》一); segments say
    whether their bounds count above a deductible."""
    docs = [None if e is None else e.get("document") for e in (x, y)]
    noticed = any(docs)
    named = [f.field for f in c.fields]
    if x is not None and y is not None and "bounds" in named and "segments" not in named:
        # the same segments read otherwise once their bounds count from zero
        c.fields.insert(named.index("bounds"), _field("segments", x.get("segments"),
                                                      y.get("segments")))
    for f in c.fields:
        if f.field in ("segments", "bounds") and (x or y or {}).get("segments"):
            f.a_text = text(f.field, f.a, bounds=_bounds(x))
            f.b_text = text(f.field, f.b, bounds=_bounds(y))
        elif noticed and f.field in ("article", "document"):
            sides = [f.a, f.b]
            texts = [
                "—" if e is None else _document(spec, doc) + (
                    str(value) if f.field == "article" and value is not None else "")
                for e, spec, doc, value in zip((x, y), specs, docs, sides, strict=True)]
            f.a_text, f.b_text = texts
    if noticed and c.article:
        one = 1 if y is not None else 0
        c.cites = _document(specs[one], docs[one]) + c.article


def _bounds(entry: dict[str, Any] | None) -> str:
    """How an entry's segment bounds read: above its deductible, from zero (`bounds:
    absolute`), or "" where it has no deductible and the two are the same."""
    d = (entry or {}).get("deductible")
    try:
        deducted = isinstance(d, dict) or (d is not None and Decimal(str(d)) != 0)
    except InvalidOperation:
        deducted = True
    return str((entry or {}).get("bounds") or "above_deductible") if deducted else ""


def _section(key: str, x: dict[str, Any], y: dict[str, Any], specs: Specs) -> Change:
    fields = [_field(k, x.get(k), y.get(k)) for k in [*x, *(k for k in y if k not in x)]
              if x.get(k) != y.get(k)]
    c = Change(key, "", "changed", rule=y.get("rule") or x.get("rule"),
               article=y.get("article") or x.get("article"), fields=fields,
               document=y.get("document"))
    _cited(c, x, y, specs)
    return c


def _entries(section: str, xs: list[dict[str, Any]], ys: list[dict[str, Any]],
             by: str, specs: Specs) -> list[Change]:
    """Entries paired by id or rule id, the n-th of a rule with the n-th of the same rule."""
    def index(items: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
        seen: dict[str, int] = {}
        out = {}
        for item in items:
            k = str(item[by])
            out[(k, seen.get(k, 0))] = item
            seen[k] = seen.get(k, 0) + 1
        return out

    ix, iy = index(xs), index(ys)
    several = {k for (k, n) in [*ix, *iy] if n > 0}
    out = []
    for k in [*ix, *(k for k in iy if k not in ix)]:
        x, y = ix.get(k), iy.get(k)
        if x == y:
            continue
        one = y if y is not None else x
        assert one is not None
        c = Change(section, k[0], "added" if x is None else "removed" if y is None else "changed",
                   rule=one.get("rule"), article=one.get("article"), label=one.get("label"),
                   entry=_which(k[1], (x or one).get("kinds")) if k[0] in several else None,
                   document=one.get("document"))
        if x is not None and y is not None:
            fields = [_field(f, x.get(f), y.get(f)) for f in [*x, *(f for f in y if f not in x)]
                      if x.get(f) != y.get(f)]
            # a value that reads the same (the text its article is in, pinned) is no change
            c.fields = [f for f in fields if f.a_text != f.b_text or f.field == "document"]
            if not c.fields:
                continue
        else:
            c.fields = [_field(f, v if x is not None else None, v if y is not None else None)
                        for f, v in one.items() if f not in (by, "rule", "article") and v not in
                        (None, [], {}, False)]
        _cited(c, x, y, specs)
        out.append(c)
    return out


def _which(n: int, kinds: Any) -> str:
    """The n-th (0-based) entry of a rule id, with the visit kinds it names."""
    return f"第{n + 1}项" + (f"（{text('kinds', kinds)}）" if kinds else "")


def _when(v: dict[str, Any]) -> str:
    return str(v["year"]) if v.get("year") is not None else f"自{v['from']}起"


def _parameters(xs: dict[str, Any], ys: dict[str, Any]) -> list[Change]:
    out = []
    for name in [*xs, *(n for n in ys if n not in xs)]:
        x, y = xs.get(name), ys.get(name)
        if x == y:
            continue
        one = y if y is not None else x
        assert one is not None
        c = Change("parameters", name, "added" if x is None else "removed" if y is None
                   else "changed", label=one.get("label"))
        x, y = x or {}, y or {}
        for f in [*x, *(f for f in y if f not in x)]:
            if f == "values" or x.get(f) == y.get(f):
                continue
            c.fields.append(_field(f, x.get(f), y.get(f), unit=one.get("type")))
        vx = {_when(v): v for v in x.get("values", [])}
        vy = {_when(v): v for v in y.get("values", [])}
        for when in [*vx, *(w for w in vy if w not in vx)]:
            a, b = vx.get(when), vy.get(when)
            if a != b:
                c.fields.append(_field(f"values[{when}]", a, b, unit=one.get("type"),
                                       label=f"取值 {when}"))
        out.append(c)
    return out


def _field(key: str, a: Any, b: Any, unit: str | None = None,
           label: str | None = None) -> Field:
    """`unit`: a parameter's type, which says how its values read (money, ratio)."""
    return Field(key, label or FIELDS.get(key, SECTIONS.get(key, key)), a, b,
                 text(key, a, unit), text(key, b, unit))


def _number(value: Any, ratio: bool) -> str:
    try:
        d = Decimal(str(value))
        return fmt_ratio(to_bp(d)) if ratio else f"{fmt(to_fen(d))}元"
    except (InvalidOperation, MoneyError):
        return str(value)


def text(key: str, value: Any, unit: str | None = None, bounds: str = "") -> str:
    """A value of the policy file as a reader reads it; `bounds`: how segments' bounds
    count from the entry's deductible (`_bounds`)."""
    if value is None:
        return "—"
    if isinstance(value, bool) and key not in CODES:
        return "是" if value else "否"
    if isinstance(value, dict):
        if key == "ceiling":  # as show says it: 符合政策范围金额的 10% 与 4000.00元 中较低者
            parts = [f"{field_label(str(value.get('of')))}的 {text('share', value['share'])}"
                     ] if value.get("share") is not None else []
            parts += [text("amount", value["amount"])] if value.get("amount") is not None else []
            return " 与 ".join(parts) + (" 中较低者" if len(parts) > 1 else "")
        if _is_ref(value):  # 参数「name」: `diff` puts the parameter's label in its place
            times = Decimal(str(value.get("times", 1)))
            named = f"参数「{value['param']}」"
            return named if times == 1 else f"{fmt_ratio(to_bp(times))} × {named}"
        if set(value) == {"file", "title"}:  # a document or a notice, as people name it
            return f"《{value['title']}》（{value['file']}）"
        if "value" in value and "source" in value:  # a parameter's dated value
            return f"{text('value', value['value'], unit)}（{value['source']}）"
        # an entry's `document` (the notice its article is in) is no reading of its own:
        # the change it belongs to is the notice's
        return "，".join(f"{FIELDS.get(k, k)}（{text(k, v, unit)}）"
                        if isinstance(v, dict) and not _is_ref(v)
                        else f"{FIELDS.get(k, k)} {text(k, v, unit)}"
                        for k, v in value.items()
                        if v not in (None, [], {}) and k != "document")
    if isinstance(value, list):
        if key == "segments":
            return _segments(value, bounds)
        if key == "caps":
            return "；".join(f"{c['pool']} {text('amount', c['amount'])}"
                            + ("（设定时）" if c.get("optional") else "") + _raised(c.get("raised"))
                            for c in value) or "无"
        return "、".join(text(key, v, unit) for v in value) if value else "无"
    if key in ("categories", "kinds") and value == "*":
        return "全部"
    if key == "of":  # a ceiling's share of a visit's amount field
        return field_label(str(value))
    if key in CODES and str(value) in CODES[key]:
        return CODES[key][str(value)][0]
    if key in RATIO_KEYS or (unit == "ratio" and key in PARAMETER_VALUES):
        return _number(value, ratio=True)
    if key in MONEY_KEYS or (unit == "money" and key in PARAMETER_VALUES):
        return _number(value, ratio=False)
    return str(value)


def _is_ref(value: dict[str, Any]) -> bool:
    return set(value) >= {"param"} and set(value) <= {"param", "times"}


def _raised(r: dict[str, Any] | None) -> str:
    """A cap's raise: （单次就诊基数超过 20,000.00元后提高至 120,000.00元）."""
    if not r:
        return ""
    kinds = r.get("kinds", "*")
    which = "" if kinds == "*" else "（" + "、".join(text("kinds", k) for k in kinds) + "）"
    return (f"（单次就诊{which}基数超过 {text('amount', r['over'])} 后提高至 "
            f"{text('amount', r['amount'])}）")


def _segments(segs: list[dict[str, Any]], bounds: str = "") -> str:
    """`bounds`: how they count from the entry's deductible (`_bounds`)."""
    parts = []
    for i, g in enumerate(segs):
        r = text("ratio", g["ratio"])
        if g.get("upto") is not None and bounds == "absolute":
            parts.append(("起付线" if not i else "") + f"至{text('upto', g['upto'])}{r}")
        elif g.get("upto") is not None:
            parts.append(("起付线以上" if bounds and not i else "") +
                         f"{text('upto', g['upto'])}以内{r}")
        else:
            parts.append(f"以上{r}" if i else r)
    if segs and segs[-1].get("upto") is not None:
        parts.append("以上不救助")
    return "，".join(parts) or "无"


# -- output ---------------------------------------------------------------------------


def _title(h: dict[str, str]) -> str:
    return f"{h['name']} {h['version']}（{h['path']}，自{h['in_force']}起施行）"


def where(c: Change) -> str:
    section = SECTIONS.get(c.section, c.section)
    if c.section == "parameters":
        return f"参数 {c.key}" + (f"（{c.label}）" if c.label else "")
    if c.section == "categories":
        return f"救助对象类别 {c.key}" + (f"（{c.label}）" if c.label else "")
    if c.rule:
        article = c.cites or c.article or ""
        if article and (c.cites or not article.startswith(("（", "("))):
            article = f"（{article}）"
        entry = f" {c.entry}" if c.entry else ""
        if c.section == "stages" and c.label:  # a stage by its own name: 再救助, 年终封顶
            section = c.label
        return f"规则 {c.rule}{article}{entry}" + ("" if c.section == "lines" else f" {section}")
    return section


def render(d: Diff) -> str:
    lines = [f"甲：{_title(d.a)}", f"乙：{_title(d.b)}", ""]
    if not d.changes:
        lines.append("两个版本相同。")
        return "\n".join(lines)
    for c in d.changes:
        lines.append(f"{where(c)} {CHANGE[c.change]}")
        for f in c.fields:
            if c.change == "changed":
                lines.append(f"  {f.label}：{f.a_text} → {f.b_text}")
            else:
                lines.append(f"  {f.label}：{f.b_text if c.change == 'added' else f.a_text}")
    lines += ["", f"共{len(d.changes)}处变更。"]
    return "\n".join(lines)


def to_json(d: Diff) -> dict[str, Any]:
    return {"a": d.a, "b": d.b, "changes": [
        {**{k: v for k, v in asdict(c).items() if k != "fields"}, "where": where(c),
         "change_label": CHANGE[c.change], "fields": [asdict(f) for f in c.fields]}
        for c in d.changes]}


__all__ = ["Change", "Diff", "Field", "diff", "find", "render", "to_json"]
