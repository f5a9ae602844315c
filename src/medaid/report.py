"""Readable terminal output: settlements with their trace, policy listings."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.table import Table

from medaid.engine.settle import CaseResult
from medaid.money import fmt
from medaid.policy.model import Policy

FIELDS = (("medfee_sumamt", "医疗费总额"), ("inscp_scp_amt", "符合政策范围金额"),
          ("hifp_pay", "基本医保统筹支出"), ("hifmi_pay", "大病保险支出"), ("oth_pay", "其他支出"),
          ("base", "救助基数（政策范围内自付）"), ("assistance", "医疗救助"),
          ("tilted", "倾斜救助"), ("special", "专项救助"), ("maf_pay", "医疗救助基金支出"),
          ("psn_part_amt", "个人负担总金额"))


def print_result(console: Console, result: CaseResult) -> None:
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
        for t in s.trace:
            amount = f"{fmt(t.amount):>10}" if t.amount else " " * 10
            console.print(f"  {t.tier:<10} {t.rule:<6} {amount}  {t.detail}  "
                          f"[dim]({t.source})[/dim]")
    if len(result.settlements) > 1:
        table = Table(title="total", show_header=False, box=None, padding=(0, 2))
        table.add_column("field")
        table.add_column("amount", justify="right")
        for name, label in FIELDS:
            table.add_row(label, fmt(totals[name]))
        console.print(table)


def print_policies(console: Console, policies: Iterable[Policy]) -> None:
    table = Table(title="medaid policies")
    for col in ("jurisdiction", "version", "in force", "name", "document", "lines"):
        table.add_column(col)
    for p in policies:
        table.add_row(p.jurisdiction, p.spec.version, str(p.in_force), p.spec.name,
                      p.spec.document.title, str(len(p.lines)))
    console.print(table)
