"""`medaid year-end`: the year-end stages (年终救助) of a city-, district- or person-year,
from the server's shell, as the API's finance route pays them (app.year_end).

Exit status: 0 paid (or nothing to pay), 1 a person-year could not be paid (named), 2 a
user error.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from medaid.cli.options import DatabaseOpt
from medaid.core.errors import MedaidError
from medaid.core.exits import fail


def year_end(
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", "-j", help="e.g. nanjing")],
    year: Annotated[int, typer.Option("--year", help="a year that has ended")],
    district: Annotated[str | None, typer.Option(
        "--district", help="only this district's persons (6-digit code)")] = None,
    psn_no: Annotated[str | None, typer.Option("--psn-no", help="only this person")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="pay nothing: say what each person-year would get")] = False,
    database: DatabaseOpt = None,
) -> None:
    """Pay the policy's `when: year_end` stages (a year's grant, re-assistance, a ceiling
    on what a person bears) over each person-year's settled visits; a stage already paid
    pays only the difference if its visits changed, never twice."""
    from medaid.app import year_end as use_case
    from medaid.app.auth import CLI
    from medaid.core.money import fmt_yuan
    from medaid.store import db

    try:
        jurisdiction, year, district, psn_no = use_case.fields(
            {"jurisdiction": jurisdiction, "year": year, "district": district,
             "psn_no": psn_no},
            {name: f"--{name.replace('_', '-')}" for name in ("jurisdiction", "year",
                                                             "district", "psn_no")})
        engine = db.make_engine(database)
        db.ensure_schema(engine)
        found, plans = use_case.run_for(db.sessions(engine), CLI, jurisdiction, year,
                                        district, psn_no, dry_run,
                                        ("--year", "--psn-no", "--jurisdiction"))
        engine.dispose()
    except MedaidError as e:
        fail(str(e))
    paid = [p for p in plans if p.error is None]
    for p in paid:
        stages = [f"{s.label}（{s.rule}）{fmt_yuan(s.difference)}" if not s.paid else
                  f"{s.label}（{s.rule}）{'补付' if s.difference > 0 else '追回'} "
                  f"{fmt_yuan(abs(s.difference))}（此前已付 {fmt_yuan(s.paid)}，现应为 "
                  f"{fmt_yuan(s.total)}）" for s in p.changes]
        # a stage that pays nobody says why (年末已不具有救助身份，不予支付…)
        stages += [s.trace[-1]["text"] for s in p.stages
                   if s.total == 0 and s.entries == 0 and s.trace]
        if stages:
            sys.stdout.write(f"{p.psn_no} {p.name} {year}：{'；'.join(stages)}\n")
    verb = "应支付" if dry_run else "已支付"
    gains = [p.amount for p in paid if p.amount > 0]
    losses = [p.amount for p in paid if p.amount < 0]
    recovered = (f"；{'应' if dry_run else '已'}追回 {len(losses)} 个，合计 "
                 f"{fmt_yuan(-sum(losses))}" if losses else "")
    sys.stdout.write(f"{jurisdiction} {year} 年终救助：{found} 个人员年度，{verb} {len(gains)} 个，"
                     f"合计 {fmt_yuan(sum(gains))}{recovered}\n")
    failed = [p for p in plans if p.error is not None]
    for p in failed:
        sys.stdout.write(f"未支付：{p.psn_no} {p.name} {year}：{p.error}\n")
    if failed:
        raise typer.Exit(1)
