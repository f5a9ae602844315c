"""What a trace line says, in Chinese (the default) and in English.

The engine records each step as a code and its arguments (amounts in fen, ratios in basis
points, codes and labels); this module is the one place that turns them into words, so
pages, slips, workbooks, the API and the CLI explain an amount the same way. A code
unknown here (a line from an older ledger row) reads as its stored text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from medaid.core import labels
from medaid.core.money import BP, fmt, fmt_ratio

Args = Mapping[str, Any]


def _money(fen: Any, lang: str) -> str:
    if isinstance(fen, str):  # an exact fraction of a fen, already written for reading
        return fen + ("元" if lang == "zh" else "")
    return f"{fen / 100:,.2f}元" if lang == "zh" else fmt(int(fen))


def _ratio(bp: int, points: int = 0, override: int | None = None) -> str:
    return fmt_ratio(override if override is not None else min(10_000, max(0, bp + points)))


AMOUNT_NAMES = {  # the national amount fields a line's base is composed of
    "medfee_sumamt": ("医疗费用总额", "medfee_sumamt"),
    "inscp_scp_amt": ("政策范围内费用", "inscp_scp_amt"),
    "preselfpay_amt": ("先行自付", "preselfpay_amt"),
    "overlmt_selfpay": ("超限价自付", "overlmt_selfpay"),
    "fulamt_ownpay_amt": ("全自费", "fulamt_ownpay_amt"),
    "hifp_pay": ("基本医保", "hifp_pay"),
    "hifmi_pay": ("大病保险", "hifmi_pay"),
    "oth_pay": ("其他支付", "oth_pay"),
}


def _base_parts(parts: Mapping[str, Sequence[str]], zh: bool) -> str:
    """'（基数＝政策范围内费用＋先行自付−基本医保）' / ' (base = inscp_scp_amt + … − hifp_pay)'."""
    k = 0 if zh else 1
    text = AMOUNT_NAMES["inscp_scp_amt"][k]
    text += "".join(("＋" if zh else " + ") + AMOUNT_NAMES[x][k] for x in parts["include"])
    text += "".join(("−" if zh else " − ") + AMOUNT_NAMES[x][k] for x in parts["after"])
    return f"（基数＝{text}）" if zh else f" (base = {text})"


def segments(segs: Sequence[Sequence[Any]], lang: str, points: int = 0,
             ratio: int | None = None, deductible: int = 0) -> str:
    """'2,000.00元以内85%，以上80%' / '85% to 2000.00, then 80% above'; the bounds are
    amounts above the deductible, so with one: '起付线以上2,000.00元以内85%…'."""
    parts: list[str] = []
    top = 0
    above = "起付线以上" if deductible and lang == "zh" else ""
    for width, bp in segs:
        r = _ratio(bp, points, ratio)
        if width is None:
            if lang == "zh":
                parts.append(f"以上{r}" if parts else r)
            else:
                parts.append(r + (" above" if parts else ""))
        else:
            top += width
            parts.append(f"{'' if parts else above}{_money(top, lang)}以内{r}" if lang == "zh"
                         else f"{r} to {_money(top, lang)}"
                         + (" above the deductible" if deductible and not parts else ""))
    return ("，" if lang == "zh" else ", then ").join(parts)


def _category(a: Args, lang: str, key: str = "category") -> str:
    return str(a.get(f"{key}_label") or a[key]) if lang == "zh" else str(a[key])


def _kind(code: str, lang: str) -> str:
    return labels.label(labels.KINDS, code, lang)


def _pool(code: str, lang: str) -> str:
    """A pool's name: the shipped files' by code; a city's own, unlabelled in its file
    (`pools: {x: {label: …}}`), is said as 救助限额 rather than by its code."""
    if code not in labels.POOLS and lang == "zh":
        return "救助限额"
    return labels.label(labels.POOLS, code, lang)


def _caps(a: Args, lang: str) -> str:
    out = ""
    for c in a.get("caps", ()):
        if c.get("raised_here"):  # this visit's own base raised the cap
            name = c.get("label") or _pool(c["pool"], lang)
            out += (f"；本次基数{_money(c['own'], lang)}超过{_money(c['over'], lang)}，{name}"
                    f"自{_money(c['cap'], lang)}提高至{_money(c['raised_to'], lang)}"
                    if lang == "zh" else f"; this visit's base {_money(c['own'], lang)} above "
                    f"{_money(c['over'], lang)} raises cap pool {c['pool']} from "
                    f"{_money(c['cap'], lang)} to {_money(c['raised_to'], lang)}")
        elif lang == "zh":
            out += (f"；受{c.get('label') or _pool(c['pool'], lang)}{_money(c['cap'], lang)}限制"
                    f"（已支付{_money(c['paid'], lang)}）")
        else:
            out += (f"; cap pool {c['pool']} {_money(c['cap'], lang)} "
                    f"(paid {_money(c['paid'], lang)})")
    return out


# -- one function per code ---------------------------------------------------------------
def _exact(scaled: str, zh: bool) -> str:
    """The unrounded amount a visit rounds (a fraction of fen × BP) in yuan, to 1/10,000 fen."""
    exact = Fraction(scaled) / (100 * BP)
    yuan = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
        Decimal("0.000001")).normalize()
    places = max(2, -int(yuan.as_tuple().exponent))  # to the fen at least: 1,950.00
    return f"计算值{yuan:,.{places}f}元，" if zh else f"{yuan:,.{places}f} computed, "


def _line(a: Args, lang: str) -> str:
    """An assistance line's arithmetic: a ratio of the base, or the year's cumulative F."""
    zh = lang == "zh"
    pts, ratio = a.get("points", 0), a.get("ratio")
    segs = a["segments"]
    if a["before"] == 0 and a["deductible"] == 0 and len(segs) == 1:
        text = f"{_ratio(segs[0][1], pts, ratio)} × {_money(a['base'], lang)}"
    elif zh:
        text = (("本次基数" if a.get("per_admission") else "年度累计基数")
                + f"{_money(a['before'], lang)}→{_money(a['after'], lang)}，"
                + (f"起付线{_money(a['deductible'], lang)}，" if a["deductible"] else "")
                + segments(segs, lang, pts, ratio, a["deductible"])
                + ("；本次按基数增量分段计算" if a.get("per_visit") else
                   f"；按本标准对累计基数计算{_money(a['f_before'], lang)}→"
                   f"{_money(a['f_after'], lang)}（计算值，不是已支付额），本次为其差额"))
    else:
        text = (("this visit's base " if a.get("per_admission") else "year's base ")
                + f"{_money(a['before'], lang)} → {_money(a['after'], lang)}: "
                + (f"deductible {_money(a['deductible'], lang)}, " if a["deductible"] else "")
                + segments(segs, lang, pts, ratio, a["deductible"])
                + ("; this visit's part of the base, by the segments" if a.get("per_visit") else
                   f"; this line on the cumulative base {_money(a['f_before'], lang)} → "
                   f"{_money(a['f_after'], lang)} (computed, not the amounts paid), this "
                   "visit the difference"))
    if a.get("after_basic"):
        text += "（基数为基本医保报销后的个人自付）" if zh else " (base after basic insurance only)"
    if a.get("base_parts"):
        text += _base_parts(a["base_parts"], zh)
    if ratio is not None:
        text += (f"（回溯期比例，{a['lookback_rule']}）" if zh
                 else f" (look-back ratio, {a['lookback_rule']})")
    if pts:
        text += (f"（未按规定转诊，比例{pts // 100:+d}个百分点）" if zh
                 else f" (ratio {pts // 100:+d} points, referral)")
    if a.get("per_visit"):
        exact = "" if "exact" not in a else _exact(a["exact"], zh)
        text += f"（{exact}逐次四舍五入）" if zh else f" ({exact}rounded per visit)"
    if "limited_to" in a:
        text += (f"；以本次尚需个人负担的{_money(a['limited_to'], lang)}为限" if zh
                 else f"; limited to the {_money(a['limited_to'], lang)} the person still bears")
    if a.get("counted_only"):
        text = ("计入年度累计基数，不予救助：" if zh
                else "counted into the year's base, not assisted: ") + text
    return text + _caps(a, lang)


def _grant(a: Args, lang: str) -> str:
    bears = a.get("bears")  # what the person still paid of the visit (absent: an old trace)
    if bears is not None and bears < a["grant"]:
        return (f"定额救助{_money(a['grant'], lang)}，以本次个人仍需支付的{_money(bears, lang)}为限"
                if lang == "zh" else f"grant {_money(a['grant'], lang)}, limited to the "
                f"{_money(bears, lang)} the person still pays") + _caps(a, lang)
    if lang == "zh":
        return f"定额救助{_money(a['grant'], lang)}，以个人仍需支付的金额为限" + _caps(a, lang)
    return f"grant {_money(a['grant'], lang)}, at most what the person still pays" + _caps(a, lang)


def _period(days: str | None, lang: str) -> str | None:
    """A window's days, `first–last` or open `first–`."""
    if not days or not days.endswith("–"):
        return days
    return f"{days[:-1]}起" if lang == "zh" else f"from {days[:-1]}"


_WINDOW_NOTES = {  # arg: (中文, English), after the window's sentence
    "partly": ("（住院期间部分日期在内，按住院期间任一日在保认定）",
               " (some days of the stay in it: any day counts)"),
    "unanchored": ("（未提供申请日期，回溯期自认定之日起算）",
                   " (no application date given: counted back from recognition)"),
}


def _window(a: Args, lang: str) -> str:
    notes = "".join(_WINDOW_NOTES[k][lang != "zh"] for k in _WINDOW_NOTES if a.get(k))
    if a.get("admission"):
        notes += (f"（按入院之日{a['admission']}的身份认定）" if lang == "zh"
                  else f" (by the identity held on admission, {a['admission']})")
    return _window_sentence(a, lang) + notes


def _window_sentence(a: Args, lang: str) -> str:
    mode, cat, dates = a["mode"], _category(a, lang), a["dates"]
    period = _period(a.get("period"), lang)
    if a.get("grace"):  # 渐退期 after exit (windows.grace)
        return (f"{dates}在{cat}身份退出后的渐退期（{period}）内，按原身份继续享受救助"
                if lang == "zh" else
                f"{cat} in its grace period after exit ({period}) on {dates}, counted as before")
    if lang == "zh":
        held = f"（{period}）" if period else ""
        return {"in_force": f"{cat}身份{held}覆盖{dates}的就诊",
                "lookback": f"{dates}在{cat}身份的回溯期{held}内",
                "counted": f"{dates}在{cat}身份的回溯期{held}内：费用计入年度累计，不予救助",
                # a trace stored before `counts_only` look-backs (YC-T's own)
                "tilt_lookback": f"{cat}为本年新认定对象：{dates}的费用计入倾斜救助"
                                 f"{'（回溯期' + period + '）' if period else ''}"}[mode]
    held = f" ({period})" if period else ""
    return {"in_force": f"{cat}{held} covers the visit of {dates}",
            "lookback": f"{cat} in its look-back period{held} on {dates}",
            "counted": f"{cat} in its look-back period{held} on {dates}: counted into the "
                       "year's pools, not paid",
            "tilt_lookback": f"{cat} recognised this year: {dates} counted for tilted "
                             f"assistance{held}"}[mode]


_CONDITIONS = {  # what: (中文, English, the codes' labels)
    "statuses": ("人员状态", "status", None),
    "not_statuses": ("人员状态", "status", None),
    "locations": ("就医地", "location", labels.LOCATIONS),
    "hospital_levels": ("医院等级", "hospital level", labels.HOSPITAL_LEVELS),
    "referrals": ("转诊", "referral", labels.REFERRALS),
}


def _condition_value(what: str, code: object, lang: str) -> str:
    table = _CONDITIONS[what][2]
    return str(code) if table is None else labels.label(table, str(code), lang)


def _unmet(a: Args, lang: str) -> str:
    """Why the lines of the visit's kind pay nothing: each one's condition that fails."""
    zh = lang == "zh"
    parts = []
    for w in a.get("why", ()):
        what = w["what"]
        name_zh, name_en, _ = _CONDITIONS[what]
        allowed = ("、" if zh else ", ").join(_condition_value(what, x, lang)
                                              for x in w["allowed"])
        actual = _condition_value(what, w["actual"], lang)
        if what == "statuses":
            parts.append(f"{w['rule']}限{allowed}（本人未认定）" if zh
                         else f"{w['rule']} requires {allowed} (not held)")
        elif what == "not_statuses":
            parts.append(f"{w['rule']}限未认定{allowed}的人员（本人已认定）" if zh
                         else f"{w['rule']} excludes {allowed} (held)")
        else:
            parts.append(f"{w['rule']}限{name_zh}为{allowed}（本次为{actual}）" if zh
                         else f"{w['rule']} requires {name_en} {allowed} (this visit: "
                              f"{actual})")
    if not parts:  # a trace stored before the reasons were kept
        parts = list(a["rules"])
    return ("；".join(parts) + "，本次不按其结算") if zh else \
        "; ".join(parts) + ": not settled by them"


_NOTHING = {"cap": ("限额已用完", "limit spent"),
            "deductible": ("未超过起付线", "not above the deductible")}


def _other(o: Args, lang: str) -> str:
    """A category 就高 did not apply: the rules it paid by, else those that paid nothing
    and why."""
    rules = "/".join(o["rules"] or o.get("lines", ())) or "—"
    why = _NOTHING[o["why"]][lang != "zh"] if o.get("why") else ""
    if lang == "zh":
        return (f"{o['category_label'] or o['category']}（{rules}{'，' + why if why else ''}）"
                f"{_money(o['total'], lang)}")
    return f"{o['category']} {rules}{' (' + why + ')' if why else ''} {_money(o['total'], lang)}"


def _highest(a: Args, lang: str) -> str:
    passed = a.get("passed", [])
    if lang == "zh":
        others = "、".join(_other(o, lang) for o in a["others"])
        if passed:
            return (f"同时具有多重身份，按身份顺序以{_category(a, lang)}救助"
                    f"{_money(a['total'], lang)}，不再按{'、'.join(passed)}救助"
                    + (f"；同一身份的其他标准：{others}" if others else ""))
        return (f"就高不叠加：按{_category(a, lang)}救助{_money(a['total'], lang)}，"
                f"其他身份或标准：{others}")
    others = ", ".join(_other(o, lang) for o in a["others"])
    if passed:
        return (f"several identities, by their order: {a['category']} "
                f"{_money(a['total'], lang)}, not {', '.join(passed)}"
                + (f"; other rules of it: {others}" if others else ""))
    return (f"highest benefit, never stacked: {a['category']} {_money(a['total'], lang)} "
            f"over {others}")


_NO_TILT = {  # why: (中文, English)
    "undefined": ("文件规定具体办法另行制定，尚未规定", "the document leaves its measure to be "
                  "defined later (另行制定)"),
    "referral_rule": ("未按规定转诊的不予倾斜救助", "not for this referral (referral rule)"),
    "not_covered": ("本文件未对该身份的此类就诊给予救助", "the document does not assist this "
                    "category for this kind of visit"),
    "referral": ("仅限已按规定转诊或备案的就诊", "only for referred visits"),
    "location": ("仅限本统筹区或省内就医", "only in the city or the province"),
    "kind": ("该就诊类别不在倾斜救助范围", "not a kind of visit it covers"),
    "no_application": ("本年度未申请倾斜救助（依申请）", "no tilted-assistance application for the "
                       "year (依申请)"),
    "no_cap": ("该身份的救助不设封顶线", "the category's assistance has no cap"),
    "category": ("本文件的倾斜救助不含该身份", "not a category it assists"),
}


def _tilted(a: Args, lang: str) -> str:
    zh = lang == "zh"
    if a["how"] == "remainder":
        how = (f"救助后剩余基数{_money(a['base'], lang)}−{_money(a['paid'], lang)}" if zh else
               f"base left after assistance {_money(a['base'], lang)} − "
               f"{_money(a['paid'], lang)}")
        if a.get("include"):  # a composed base: the policy range plus self-pay parts
            parts = [AMOUNT_NAMES[x][0 if zh else 1] for x in a["include"]]
            how += (f"（基数含政策范围内费用及{'、'.join(parts)}）" if zh
                    else f" (base: the policy range and {', '.join(parts)})")
    else:
        how = (f"年度累计基数{_money(a['c_before'], lang)}→{_money(a['c_after'], lang)}中超过"
               f"封顶点{_money(a['reach'], lang)}（救助限额{_money(a['cap'], lang)}）的部分"
               f"{_money(a['tilted_base'], lang)}" if zh else
               f"year's base {_money(a['c_before'], lang)} → {_money(a['c_after'], lang)} "
               f"beyond S* = {_money(a['reach'], lang)} (cap {_money(a['cap'], lang)} reached): "
               f"{_money(a['tilted_base'], lang)}")
    pool = (("；倾斜救助本次基数" if a.get("per_admission") else "；倾斜救助年度累计")
            + f"{_money(a['before'], lang)}→{_money(a['after'], lang)}，"
            f"起付线{_money(a['deductible'], lang)}，"
            f"{segments(a['segments'], lang, deductible=a['deductible'])}" if zh else
            f"; tilted pool {_money(a['before'], lang)} → {_money(a['after'], lang)}: "
            f"deductible {_money(a['deductible'], lang)}, "
            f"{segments(a['segments'], lang, deductible=a['deductible'])}")
    per_visit = ("（逐次四舍五入）" if zh else " (rounded per visit)") if a.get("per_visit") else ""
    return how + pool + per_visit + _caps(a, lang)


def _basic(a: Args, lang: str) -> str:
    if lang == "zh":
        text = (f"按本地参数计算：{fmt_ratio(a['ratio'])}×（{_money(a['inscp'], lang)}−起付线"
                f"{_money(a['deductible'], lang)}）")
        if a.get("cap") is not None:
            text += f"，年度封顶{_money(a['cap'], lang)}（已支付{_money(a['paid'], lang)}）"
        return text
    text = (f"{fmt_ratio(a['ratio'])} × ({_money(a['inscp'], lang)} − deductible "
            f"{_money(a['deductible'], lang)})")
    if a.get("cap") is not None:
        text += f", annual cap {_money(a['cap'], lang)} (used {_money(a['paid'], lang)})"
    return text


def _critical(a: Args, lang: str) -> str:
    pts = a.get("points", 0)
    if lang == "zh":
        text = (f"按本地参数计算：年度累计{_money(a['before'], lang)}→{_money(a['after'], lang)}，"
                f"起付线{_money(a['deductible'], lang)}，"
                f"{segments(a['segments'], lang, pts, deductible=a['deductible'])}")
        if a.get("cap") is not None:
            text += f"，封顶{_money(a['cap'], lang)}"
        return text
    text = (f"year's amount {_money(a['before'], lang)} → {_money(a['after'], lang)}: "
            f"deductible {_money(a['deductible'], lang)}, "
            f"{segments(a['segments'], lang, pts, deductible=a['deductible'])}")
    if a.get("cap") is not None:
        text += f", cap {_money(a['cap'], lang)}"
    return text


def _refusal_referral(a: Args, lang: str) -> str:
    ref = labels.label(labels.REFERRALS, a["referral"], lang)
    tilt = a.get("tilt", False) or a.get("untilted", False)  # untilted: the city has none
    shut = a.get("no_stages")  # the stages after assistance it is kept out of
    out_zh = f"，其费用不纳入{shut}" if shut else ""
    out_en = f", kept out of {shut}" if shut else ""
    if a.get("points"):
        change = (f"降低{-a['points']}" if a["points"] < 0 else f"提高{a['points']}")
        return (f"{ref}：各救助比例{change}个百分点" + ("" if tilt else "，不享受倾斜救助")
                + out_zh if lang == "zh" else f"referral {a['referral']}: every ratio "
                f"{a['points']:+d} points" + ("" if tilt else ", no tilt") + out_en)
    if shut:
        return (f"{ref}：{'' if tilt else '不享受倾斜救助，'}其费用不纳入{shut}" if lang == "zh"
                else f"referral {a['referral']}: " + ("" if tilt else "no tilt, ")
                + f"kept out of {shut}")
    if a.get("assistance", False):  # only tilted assistance is refused
        return (f"{ref}：不享受倾斜救助" if lang == "zh"
                else f"referral {a['referral']}: no tilt")
    return (f"{ref}：{_no_assistance(a)}" if lang == "zh"
            else f"referral {a['referral']}: no assistance" + ("" if a.get("untilted")
                                                                 else ", no tilt"))


def _no_assistance(a: Args) -> str:
    """不予医疗救助, and 和倾斜救助 where the city has tilted assistance."""
    return "不予医疗救助" + ("" if a.get("untilted") else "和倾斜救助")


def _stage(a: Args, lang: str) -> str:
    """A stage after assistance: its measure, then its segments, grant or ceiling."""
    zh = lang == "zh"
    if "visits" in a:  # year-end: once over the year's qualifying visits
        held = "年末救助身份" if a.get("held_at_year_end") else \
            "退出前最后所具有的救助身份" if a.get("held_last") else ""
        held_en = ", held at the year end" if a.get("held_at_year_end") else \
            ", the identity held last before its exit" if a.get("held_last") else ""
        head = (f"{a['label']}（年终，{a['visits']}次就诊，按{held}"
                f"{_category(a, lang)}）：个人负担{_money(a['measure'], lang)}" if zh else
                f"{a['label']} (year end, {a['visits']} visit{'' if a['visits'] == 1 else 's'}, "
                f"as {a['category']}{held_en}): borne {_money(a['measure'], lang)}")
    else:
        head = (f"{a['label']}：本次个人负担{_money(a['measure'], lang)}，累计"
                f"{_money(a['before'], lang)}→{_money(a['after'], lang)}" if zh else
                f"{a['label']}: borne this visit {_money(a['measure'], lang)}, pool "
                f"{_money(a['before'], lang)} → {_money(a['after'], lang)}")
    if "segments" in a:
        how = ((f"，起付线{_money(a['deductible'], lang)}，" if zh
                else f", deductible {_money(a['deductible'], lang)}, ")
               + segments(a["segments"], lang, deductible=a["deductible"]))
    elif "grant" in a:
        reached = a.get("after", a["measure"])  # the period's measure so far
        if reached <= a["deductible"]:
            how = (f"，未超过{_money(a['deductible'], lang)}，不予一次性补助" if zh
                   else f", not above {_money(a['deductible'], lang)}: no grant")
        elif a.get("before", 0) > a["deductible"]:  # passed at an earlier visit
            how = (f"，此前已超过{_money(a['deductible'], lang)}，一次性补助已给予，本次不再补助"
                   if zh else f", above {_money(a['deductible'], lang)} already: the grant "
                              "was given before")
        else:
            how = (f"，超过{_money(a['deductible'], lang)}给予一次性补助{_money(a['grant'], lang)}"
                   if zh else f", a grant of {_money(a['grant'], lang)} once above "
                              f"{_money(a['deductible'], lang)}")
    else:
        of = AMOUNT_NAMES[a["of"]][0 if zh else 1] if "of" in a else ""
        share = (f"（{of}{_money(a['of_total'], lang)}的{fmt_ratio(a['share'])}）" if zh else
                 f" ({fmt_ratio(a['share'])} of {of} {_money(a['of_total'], lang)})"
                 ) if "share" in a else ""
        if "share" in a and a.get("by_share", a["ceiling"]) != a["ceiling"]:  # the amount
            share = (f"（定额，低于{of}{_money(a['of_total'], lang)}的{fmt_ratio(a['share'])}"
                     f"即{_money(a['by_share'], lang)}，取较低者）" if zh else
                     f" (the fixed amount, below {fmt_ratio(a['share'])} of {of} "
                     f"{_money(a['of_total'], lang)}, {_money(a['by_share'], lang)})")
        line = _money(a["ceiling"], lang)
        if a.get("after", a["measure"]) <= a["ceiling"]:  # the period's measure so far
            how = (f"，未超过封顶线{line}{share}，不予支付" if zh
                   else f", not above the ceiling {line}{share}: nothing paid")
        else:
            how = (f"，超过封顶线{line}{share}的部分予以支付" if zh
                   else f", the part above the ceiling {line}{share} paid")
        if a.get("paid_before"):  # a ceiling at each visit: what its earlier visits got
            how += (f"，此前已支付{_money(a['paid_before'], lang)}" if zh
                    else f", less {_money(a['paid_before'], lang)} paid before")
    return head + how + _caps(a, lang)


TEXTS: dict[str, Callable[[Args, str], str]] = {
    "stage": _stage,
    "year_end_stage": _stage,
    "year_end_unheld": lambda a, lang: (
        f"{a['label']}（年终）：年末已不具有救助身份，不予支付" if lang == "zh" else
        f"{a['label']} (year end): no identity held at the year's end, nothing paid"),
    "line": _line,
    "grant": _grant,
    "window": _window,
    "highest": _highest,
    "tilted": _tilted,
    "basic_insurance": _basic,
    "critical_illness": _critical,
    "referral": _refusal_referral,
    "kind_fallback": lambda a, lang: (
        f"{_kind(a['kind'], lang)}在本地政策中没有单列标准，按{_kind(a['setting'], lang)}结算"
        if lang == "zh" else f"{a['kind']} has no rule of its own here: settled as {a['setting']}"),
    "exclusive": lambda a, lang: (
        f"按{'、'.join(a['rules'])}单独结算" if lang == "zh"
        else f"settled by {' or '.join(a['rules'])} alone"),
    "alternatives": lambda a, lang: (
        f"同时按{'、'.join(a['rules'])}试算，就高不叠加" if lang == "zh"
        else f"{' and '.join(a['rules'])} tried beside it, the higher applied"),
    "conditions_unmet": _unmet,
    "no_identity": lambda a, lang: (
        f"{a['dates']}无有效救助身份：{_no_assistance(a)}" if lang == "zh"
        else f"no identity in force on {a['dates']}: no assistance"
        + ("" if a.get("untilted") else ", no tilt")),
    "refusal": lambda a, lang: str(a["reason"]),
    "not_met": lambda a, lang: (
        f"{_category(a, lang)}的{_kind(a['setting'], lang)}救助（{'、'.join(a['rules'])}）"
        "本次不适用，不予救助" if lang == "zh"
        else f"{', '.join(a['rules'])} for {a['setting']} of {a['category']} do not apply "
             "to this visit"),
    "not_covered": lambda a, lang: (
        f"本文件未规定{_category(a, lang)}的{_kind(a['setting'], lang)}救助" if lang == "zh"
        else f"no rule of the document covers {a['setting']} for {a['category']}"),
    "no_tilt": lambda a, lang: (
        f"不予倾斜救助：{_NO_TILT[a['why']][0]}" if lang == "zh"
        else f"no tilted assistance: {_NO_TILT[a['why']][1]}"),
    "ci_tilt": lambda a, lang: (
        f"救助对象：大病保险起付线为标准的{fmt_ratio(a['share'])}，各段比例提高{a['points']}个百分点"
        + ("，不设封顶线" if a.get("no_cap") else "")
        if lang == "zh" else f"beneficiary: deductible {fmt_ratio(a['share'])} of the standard, "
                             f"every ratio {a['points']:+d} points"
                             + (", no cap" if a.get("no_cap") else "")),
    "cancel": lambda a, lang: (
        f"撤销原结算{(' ' + a['setl_id']) if a.get('setl_id') else ''}："
        f"冲回其医疗救助{_money(a['maf_pay'], lang)}"
        + (f"（含其后补差{_money(a['adjusted'], lang)}）" if a.get("adjusted") else "")
        + "及额度占用"
        if lang == "zh" else f"cancels the settlement it reverses: its "
                             f"{_money(a['maf_pay'], lang)} of assistance"
                             + (f" ({_money(a['adjusted'], lang)} of it adjustments)"
                                if a.get("adjusted") else "")
                             + " and its pool additions are reversed"),
}


def render(code: str, args: Args, lang: str = "zh") -> str:
    """The words of a trace line's code and arguments in `lang` (zh or en)."""
    found = TEXTS.get(code)
    if found is None:  # an older ledger row: its stored words
        return str(args.get("text" if lang == "zh" else "detail") or args.get("detail", ""))
    # the dated values of parameters it took, each by its own source (another document's)
    dated = "".join(f"（本地参数「{d['label']}」：{d['source']}）" if lang == "zh"
                    else f" (parameter {d['label']}: {d['source']})"
                    for d in args.get("dated", ()))
    return found(args, lang) + dated
