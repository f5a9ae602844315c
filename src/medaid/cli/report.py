"""Readable terminal output: settlements with their trace, policy listings."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from medaid.core import labels
from medaid.core.money import fmt
from medaid.engine.settle import CaseResult
from medaid.engine.types import Settlement, TraceLine
from medaid.policy import explain
from medaid.policy.conformance import VERDICTS, Conformance
from medaid.policy.explain import Element, ParamRow
from medaid.policy.model import Policy, versions

FIELDS = (("medfee_sumamt", "医疗费总额"), ("inscp_scp_amt", "符合政策范围金额"),
          ("hifp_pay", "基本医保统筹支出"), ("hifmi_pay", "大病保险支出"), ("oth_pay", "其他支出"),
          ("base", "救助基数（政策范围内自付）"), ("assistance", "医疗救助"),
          ("tilted", "倾斜救助"), ("special", "专项救助"), ("reassistance", "医疗再救助"),
          ("maf_pay", "医疗救助基金支出"),
          ("psn_part_amt", "个人负担总金额"))


def _heading(s: Settlement, policies: Sequence[Policy], lang: str) -> str:
    """A visit's line above its amounts: 就诊类别、身份 by their labels, the city by name."""
    if lang != "zh":
        return (f"{s.settled_as}  {s.year}  ({s.policy})  category: {s.category or '—'}  "
                f"rules: {', '.join(s.rules) or '—'}")
    policy = next((p for p in policies if f"{p.jurisdiction} {p.spec.version}" == s.policy),
                  None)
    kind = labels.label(labels.KINDS, s.settled_as)
    own = next((t.args.get("kind") for t in s.trace if t.code == "kind_fallback"), None)
    if own:  # a kind without lines of its own, settled as another
        kind = f"{labels.label(labels.KINDS, str(own))}（按{kind}结算）"
    where = f"{policy.spec.name} {policy.spec.version}" if policy else s.policy
    category = (policy.label(s.category) if policy else s.category) if s.category else "无"
    return (f"就诊类别：{kind}  {s.year}年度（{where}版）  身份：{category}  "
            f"规则：{'、'.join(s.rules) or '无'}")


def print_result(console: Console, result: CaseResult, lang: str = "zh",
                 policies: Sequence[Policy] = ()) -> None:
    """One block per visit (amounts, then the trace), then the year's totals; narrow
    terminals wrap the trace instead of truncating numbers. `policies`: the case's
    versions, whose names and labels a Chinese reader is shown."""
    policies = policies or versions(result.jurisdiction)
    city = policies[-1].spec.name if policies and lang == "zh" else result.jurisdiction
    console.print(f"[bold]{escape(city)}[/bold] · {escape(result.person_id)}")
    totals = dict.fromkeys((name for name, _ in FIELDS), 0)
    for s in result.settlements:
        console.print(f"\n[bold]{escape(s.id)}[/bold]  {escape(_heading(s, policies, lang))}")
        table = Table(show_header=False, box=None, padding=(0, 2))
        table.add_column("field")
        table.add_column("amount", justify="right")
        table.add_column("name", style="dim")
        for name, label in FIELDS:
            value = getattr(s, name)
            totals[name] += value
            table.add_row(label, fmt(value), name)
        console.print(table)
        _trace(console, s.trace, lang)
    for y in result.year_end:  # stages paid once over a person-year (`when: year_end`)
        console.print(f"\n[bold]{y.year} 年终 {y.label}[/bold]  {y.rule}  {fmt(y.amount)}  "
                      f"就诊：{'、'.join(y.visits)}")
        _trace(console, y.trace, lang)
        totals["year_end"] = totals.get("year_end", 0) + y.amount
        totals["maf_pay"] += y.amount
        totals["psn_part_amt"] -= y.amount
    if len(result.settlements) > 1 or result.year_end:
        table = Table(title="合计" if lang == "zh" else "total", show_header=False, box=None,
                      padding=(0, 2))
        table.add_column("field")
        table.add_column("amount", justify="right")
        for name, label in FIELDS:
            table.add_row(label, fmt(totals[name]))
            if name == "reassistance" and "year_end" in totals:
                table.add_row("年终救助", fmt(totals["year_end"]))
        console.print(table)


def _trace(console: Console, trace: Iterable[TraceLine], lang: str) -> None:
    for t in trace:
        amount = f"{fmt(t.amount):>10}" if t.amount else " " * 10
        tier = labels.label(labels.TIERS, t.tier, lang)
        if t.tier == "reassistance" and lang == "zh":  # a stage by its own name: 一次性补助…
            tier = t.args.get("label") or tier
        words, where = (t.text if lang == "zh" else t.detail), t.citation or t.source
        rule = t.rule
        if lang == "zh" and (rule == "none" or rule.startswith("§")):
            # no rule of the file: "none" (not covered), or a step of the chain (§1)
            rule = "无" if rule == "none" else "—"
        console.print(f"  {tier:<10} {rule:<6} {amount}  {words}  [dim]({where})[/dim]")


def print_policies(console: Console, policies: Iterable[Policy]) -> None:
    table = Table(title="medaid policies")
    for col in ("jurisdiction", "version", "in force", "name", "document", "lines"):
        table.add_column(col)
    for p in policies:
        table.add_row(p.jurisdiction, p.spec.version, str(p.in_force), p.spec.name,
                      p.spec.document.title, str(len(p.lines)))
    console.print(table)


# -- policy show / check ------------------------------------------------------------------
# Plain lines, never tables: Chinese text and long rule facts stay whole and greppable.
# The frame is in the facts' language: Chinese by default, English with --lang en.

SECTIONS = (("windows", ("windows", "lookback", "grace")), ("highest", ("highest",)),
            ("referral", ("referral",)),
            ("line", ("line",)), ("refusal", ("refusal",)), ("tilted", ("tilted",)),
            ("stage", ("stage",)), ("critical_illness_tilt", ("critical_illness_tilt",)),
            ("premium_subsidy", ("premium_subsidy",)), ("framework", ("framework",)))
VERDICT_STYLE = {"meet": "green", "break": "bold red", "undetermined": "yellow"}
# The frame's words: (中文, English).
FRAME = {
    "version": ("版本 {version}，{in_force} 起施行", "version {version}, in force from {in_force}"),
    "categories": ("救助对象身份（并列时按此顺序）", "categories, in tie order"),
    "fallback": ("无单列标准的就诊类别：", "kinds without a rule of their own: "),
    "cumulative": ("舍入：按年度累计额四舍五入到分（各次之和等于全年）",
                   "rounding: on the year's cumulative amounts, to the fen"),
    "per_visit": ("舍入：每次就诊的救助额各自四舍五入到分",
                  "rounding: each visit's payout on its own"),
    "per_visit_pools": ("单次（每次就诊从零起算）的额度池：", "pools of one visit (from nothing "
                        "at each visit): "),
    "lookback": ("（回溯）", "  (look-back)"),
    "grace": ("（渐退期）", "  (grace period)"),
    "parameters": ("本地参数", "local parameters"),
    "used_by": ("；用于 ", "; used by "),
    "value": ("取值", "value"),
    "source": ("依据", "source"),
    "rule": ("规则", "rule"),
    "legend": ("身份", "categories"),
    "check": ("{city} {version} 对照 {framework} {fw_version}（{article}）的省级底线，"
              "按 {year} 年参数",
              "JS-X conformance of {city} {version} against {framework} {fw_version} "
              "({article}), parameters for {year}"),
    "basic_cap": ("基本医保年度封顶线（basic_cap）：", "basic_cap: "),
    "unset": ("未设定（--set basic_cap=金额）", "not set (--set basic_cap=AMOUNT)"),
    "note": ("注：", "note: "),
    "none": ("无", "none"),
}


def _w(key: str, lang: str) -> str:
    zh, en = FRAME[key]
    return zh if lang == "zh" else en


def _say(console: Console, text: str, style: str = "") -> None:
    console.print(Text(text, style=style))


def _element(console: Console, e: Element, lang: str, words: Callable[[str], str],
             indent: str = "  ") -> None:
    tag = _w(e.what, lang) if e.what in ("lookback", "grace") else ""
    _say(console, f"{indent}{e.rule} {e.article}{tag}".rstrip(), "bold")
    for name, value in e.facts:
        _say(console, f"{indent}  {words(labels.label(labels.POLICY_FACTS, name, lang))}: "
                      f"{words(value)}")


def _words(lang: str, *policies: Policy) -> Callable[[str], str]:
    """Codes in facts by their Chinese labels for a Chinese reader, as the rules page does."""
    return explain.readable(*policies) if lang == "zh" else str


def print_policy(console: Console, policy: Policy, elements: list[Element],
                 params: list[ParamRow], lang: str = "zh") -> None:
    spec, words = policy.spec, _words(lang, policy)
    _say(console, f"{spec.name} ({spec.jurisdiction}) " + _w("version", lang).format(
        version=spec.version, in_force=spec.in_force), "bold")
    _say(console, f"政策文件：《{spec.document.title}》" if lang == "zh" else
             f"document {spec.document.file}: {spec.document.title}")
    _say(console, f"\n{_w('categories', lang)}", "bold underline")
    width = max(len(c.id) for c in spec.categories)
    for i, c in enumerate(spec.categories, 1):
        cls = f"  [{labels.label(labels.JS_CLASSES, c.js_class, lang)}]" if c.js_class else ""
        _say(console, f"  {i:>2}. {c.id:<{width}}  {c.label}{cls}")
    if spec.kind_fallback:
        _say(console, _w("fallback", lang) + ", ".join(
            f"{labels.label(labels.KINDS, k, lang)} → {labels.label(labels.KINDS, v, lang)}"
            for k, v in spec.kind_fallback.items()))
    _say(console, _w(spec.rounding, lang))
    if policy.visit_pools:
        _say(console, _w("per_visit_pools", lang) + ", ".join(
            words(policy.pool_labels.get(name, name)) for name in sorted(policy.visit_pools)))
    for what, whats in SECTIONS:
        found = [e for e in elements if e.what in whats]
        if found:
            _say(console, f"\n{labels.label(labels.POLICY_PARTS, what, lang)}", "bold underline")
            for e in found:
                _element(console, e, lang, words)
    _say(console, f"\n{_w('parameters', lang)}", "bold underline")
    if not params:
        _say(console, f"  {_w('none', lang)}")
    for p in params:
        used = f"{_w('used_by', lang)}{p.used_by}" if p.used_by else ""
        kind = labels.label(labels.PARAMETER_TYPES, p.type, lang)
        _say(console, f"  {p.name} — {p.label} ({kind}{used})", "bold")
        _say(console, f"    {_w('value', lang)}: {p.value}")
        _say(console, f"    {_w('source', lang)}: {p.source}")


def print_rule(console: Console, policy: Policy, rule: str, elements: list[Element],
               quoted: list[tuple[str, str | None, str]], lang: str = "zh") -> None:
    words = _words(lang, policy)
    _say(console, f"{policy.spec.name} ({policy.jurisdiction}) {policy.spec.version} · "
                  f"{_w('rule', lang)} {rule}", "bold")
    for e in elements:
        _say(console, f"\n{labels.label(labels.POLICY_PARTS, e.what, lang)}", "bold underline")
        _element(console, e, lang, words)
    named = dict.fromkeys(c for e in elements for c in e.categories)
    if named:
        _say(console, f"\n{_w('legend', lang)}", "bold underline")
        for c in named:
            _say(console, f"  {c}: {policy.label(c)}")
    for article, document, text in quoted:
        where = policy.reference(article, document) if lang == "zh" else \
            policy.cite(article, document)
        _say(console, f"\n{where}", "bold underline")
        for para in text.splitlines():
            _say(console, f"  > {para}")


def print_conformance(console: Console, r: Conformance, lang: str = "zh") -> None:
    fw, words = r.framework.spec, _words(lang, r.city, r.framework)
    _say(console, _w("check", lang).format(
        city=r.city.spec.name if lang == "zh" else r.city.jurisdiction,
        version=r.city.spec.version, framework=fw.name if lang == "zh" else fw.jurisdiction,
        fw_version=fw.version, article=fw.framework.get("article", ""), year=r.year), "bold")
    _say(console, _w("basic_cap", lang) + (fmt(r.basic_cap) if r.basic_cap is not None
                                           else _w("unset", lang)))
    for cls, cats in r.classes:
        _say(console, f"{labels.label(labels.JS_CLASSES, cls, lang)}: "
                      f"{words(', '.join(cats)) or '—'}")
    for floor, text in r.floors:
        _say(console, f"\n{floor}  {words(text)}", "bold underline")
        for row in (x for x in r.rows if x.floor == floor):
            cites = ", ".join(f"{rule} {art}" for rule, art in row.cites) or "—"
            verdict = labels.label(labels.VERDICTS, row.verdict, lang)
            width = 12 - (len(verdict) if lang == "zh" else 0)  # a Chinese character is two wide
            console.print(Text.assemble(
                ("  " + f"{verdict:<{width}}", VERDICT_STYLE[row.verdict]),
                f" {cites}  {words(row.subject)}: {words(row.reason)}"))
    if r.notes:
        _say(console, "")
        for note in r.notes:
            _say(console, f"{_w('note', lang)}{words(note)}", "dim")
    _say(console, "\n" + ("，" if lang == "zh" else ", ").join(
        f"{labels.label(labels.VERDICTS, v, lang)} {r.count(v)}" if lang == "zh"
        else f"{r.count(v)} {v}" for v in VERDICTS), "bold")
