"""Readable terminal output: settlements with their trace, policy listings."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from medaid.core import labels
from medaid.core.money import fmt
from medaid.engine.settle import CaseResult
from medaid.engine.types import TraceLine
from medaid.policy.conformance import Conformance
from medaid.policy.explain import Element, ParamRow
from medaid.policy.model import Policy

FIELDS = (("medfee_sumamt", "医疗费总额"), ("inscp_scp_amt", "符合政策范围金额"),
          ("hifp_pay", "基本医保统筹支出"), ("hifmi_pay", "大病保险支出"), ("oth_pay", "其他支出"),
          ("base", "救助基数（政策范围内自付）"), ("assistance", "医疗救助"),
          ("tilted", "倾斜救助"), ("special", "专项救助"), ("reassistance", "医疗再救助"),
          ("maf_pay", "医疗救助基金支出"),
          ("psn_part_amt", "个人负担总金额"))


def print_result(console: Console, result: CaseResult, lang: str = "zh") -> None:
    """One block per visit (amounts, then the trace), then the year's totals; narrow
    terminals wrap the trace instead of truncating numbers."""
    console.print(f"[bold]{result.jurisdiction}[/bold] · {result.person_id}")
    totals = dict.fromkeys((name for name, _ in FIELDS), 0)
    for s in result.settlements:
        console.print(f"\n[bold]{s.id}[/bold]  {s.settled_as}  {s.year}  ({s.policy})  "
                      f"category: {s.category or '—'}  rules: {', '.join(s.rules) or '—'}")
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
                      f"visits: {', '.join(y.visits)}")
        _trace(console, y.trace, lang)
        totals["maf_pay"] += y.amount
        totals["psn_part_amt"] -= y.amount
    if len(result.settlements) > 1 or result.year_end:
        table = Table(title="total", show_header=False, box=None, padding=(0, 2))
        table.add_column("field")
        table.add_column("amount", justify="right")
        for name, label in FIELDS:
            table.add_row(label, fmt(totals[name]))
        console.print(table)


def _trace(console: Console, trace: Iterable[TraceLine], lang: str) -> None:
    for t in trace:
        amount = f"{fmt(t.amount):>10}" if t.amount else " " * 10
        tier = labels.label(labels.TIERS, t.tier, lang)
        words, where = (t.text if lang == "zh" else t.detail), t.citation or t.source
        console.print(f"  {tier:<10} {t.rule:<6} {amount}  {words}  [dim]({where})[/dim]")


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

SECTIONS = (("windows", ("windows", "lookback")), ("referral", ("referral",)),
            ("lines", ("line",)), ("refusals", ("refusal",)),
            ("tilted assistance", ("tilted",)), ("stages after assistance", ("stage",)),
            ("critical-illness tilt", ("critical_illness_tilt",)),
            ("premium subsidy", ("premium_subsidy",)), ("framework floors", ("framework",)))
VERDICT_STYLE = {"meet": "green", "break": "bold red", "undetermined": "yellow"}


def _say(console: Console, text: str, style: str = "") -> None:
    console.print(Text(text, style=style))


def _element(console: Console, e: Element, indent: str = "  ") -> None:
    tag = "  (look-back)" if e.what == "lookback" else ""
    _say(console, f"{indent}{e.rule} {e.article}{tag}".rstrip(), "bold")
    for name, value in e.facts:
        _say(console, f"{indent}  {name}: {value}")


def print_policy(console: Console, policy: Policy, elements: list[Element],
                 params: list[ParamRow]) -> None:
    spec = policy.spec
    _say(console, f"{spec.name} ({spec.jurisdiction}) version {spec.version}, "
                  f"in force from {spec.in_force}", "bold")
    _say(console, f"document {spec.document.file}: {spec.document.title}")
    _say(console, "\ncategories, in tie order", "bold underline")
    width = max(len(c.id) for c in spec.categories)
    for i, c in enumerate(spec.categories, 1):
        cls = f"  [{c.js_class}]" if c.js_class else ""
        _say(console, f"  {i:>2}. {c.id:<{width}}  {c.label}{cls}")
    if spec.kind_fallback:
        _say(console, "kinds without a rule of their own: " + ", ".join(
            f"{k} → {v}" for k, v in spec.kind_fallback.items()))
    for title, whats in SECTIONS:
        found = [e for e in elements if e.what in whats]
        if found:
            _say(console, f"\n{title}", "bold underline")
            for e in found:
                _element(console, e)
    _say(console, "\nlocal parameters", "bold underline")
    for p in params:
        used = f"; used by {p.used_by}" if p.used_by else ""
        _say(console, f"  {p.name} — {p.label} ({p.type}{used})", "bold")
        _say(console, f"    value: {p.value}")
        _say(console, f"    source: {p.source}")


def print_rule(console: Console, policy: Policy, rule: str, elements: list[Element],
               quoted: list[tuple[str, str]]) -> None:
    _say(console, f"{policy.spec.name} ({policy.jurisdiction}) {policy.spec.version} · "
                  f"rule {rule}", "bold")
    for e in elements:
        _say(console, f"\n{e.what.replace('_', ' ')}", "bold underline")
        _element(console, e)
    named = dict.fromkeys(c for e in elements for c in e.categories)
    if named:
        _say(console, "\ncategories", "bold underline")
        for c in named:
            _say(console, f"  {c}: {policy.label(c)}")
    for article, text in quoted:
        _say(console, f"\n{policy.spec.document.file} {article}", "bold underline")
        for para in text.splitlines():
            _say(console, f"  > {para}")


def print_conformance(console: Console, r: Conformance) -> None:
    fw = r.framework.spec
    _say(console, f"JS-X conformance of {r.city.jurisdiction} {r.city.spec.version} against "
                  f"{fw.jurisdiction} {fw.version} ({fw.framework.get('article', '')}), "
                  f"parameters for {r.year}", "bold")
    _say(console, "basic_cap: " + (fmt(r.basic_cap) if r.basic_cap is not None
                                   else "not set (--set basic_cap=AMOUNT)"))
    for cls, cats in r.classes:
        _say(console, f"{cls}: {', '.join(cats) or '—'}")
    for floor, text in r.floors:
        _say(console, f"\n{floor}  {text}", "bold underline")
        for row in (x for x in r.rows if x.floor == floor):
            cites = ", ".join(f"{rule} {art}" for rule, art in row.cites) or "—"
            console.print(Text.assemble(
                ("  " + f"{row.verdict:<12}", VERDICT_STYLE[row.verdict]),
                f" {cites}  {row.subject}: {row.reason}"))
    if r.notes:
        _say(console, "")
        for note in r.notes:
            _say(console, f"note: {note}", "dim")
    _say(console, f"\n{r.summary()}", "bold")
