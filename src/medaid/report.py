"""Readable terminal output: settlements with their trace, policy listings."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.table import Table

from medaid.engine.settle import CaseResult
from medaid.money import fmt
from medaid.policy.model import Policy

COLUMNS = (("medfee_sumamt", "总额"), ("inscp_scp_amt", "政策范围"), ("hifp_pay", "基本医保"),
           ("hifmi_pay", "大病保险"), ("oth_pay", "其他"), ("base", "救助基数"),
           ("assistance", "救助"), ("tilted", "倾斜"), ("special", "专项"),
           ("maf_pay", "医疗救助"), ("psn_part_amt", "个人负担"))


def print_result(console: Console, result: CaseResult) -> None:
    table = Table(title=f"{result.jurisdiction} · {result.person_id}", show_lines=True)
    table.add_column("visit")
    table.add_column("category")
    for _, label in COLUMNS:
        table.add_column(label, justify="right")
    totals = dict.fromkeys((name for name, _ in COLUMNS), 0)
    for s in result.settlements:
        row = [f"{s.id}\n{s.settled_as}", s.category or "—"]
        for name, _ in COLUMNS:
            value = getattr(s, name)
            totals[name] += value
            row.append(fmt(value))
        table.add_row(*row)
    table.add_row("total", "", *(fmt(totals[name]) for name, _ in COLUMNS))
    console.print(table)
    for s in result.settlements:
        console.print(f"\n[bold]{s.id}[/bold] ({s.policy}, {s.year}) rules: "
                      f"{', '.join(s.rules) or '—'}")
        for t in s.trace:
            amount = f"{fmt(t.amount):>12}" if t.amount else " " * 12
            console.print(f"  {t.tier:<10} {t.rule:<8} {amount}  {t.detail}  [dim]({t.source})[/dim]",
                          markup=True)


def print_policies(console: Console, policies: Iterable[Policy]) -> None:
    table = Table(title="medaid policies")
    for col in ("jurisdiction", "version", "in force", "name", "document", "lines"):
        table.add_column(col)
    for p in policies:
        table.add_row(p.jurisdiction, p.spec.version, str(p.in_force), p.spec.name,
                      p.spec.document.title, str(len(p.lines)))
    console.print(table)
