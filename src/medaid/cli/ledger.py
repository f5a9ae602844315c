"""The commands that check, settle again and copy the database: `medaid ledger verify`,
`medaid ledger resettle`, `medaid ledger refunds`, `medaid backup`, `medaid restore`
(registered by medaid.cli.main; the store is imported inside them).

Exit status: 0 ok, 1 the ledger (or a database's check) found a problem, 2 a user error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from medaid.cli.options import DatabaseOpt
from medaid.core.errors import MedaidError
from medaid.core.exits import fail

ledger_app = typer.Typer(no_args_is_help=True, help="The settlement ledger.")
SHOWN = 100  # problems printed; the count says how many more


@ledger_app.command("verify")
def ledger_verify(
    database: DatabaseOpt = None,
    no_audit: Annotated[bool, typer.Option(
        "--no-audit", help="skip the comparison with the audit log")] = False,
    no_rules: Annotated[bool, typer.Option(
        "--no-rules", help="skip settling every person-year again on today's facts")] = False,
) -> None:
    """Recompute every person's pools from the ledger, check the ledger itself and that
    every person-year equals, visit by visit and tier by tier, what the rules give on
    today's facts: "ok: N settlements, M person-years", or every problem and exit
    status 1."""
    from sqlalchemy.orm import sessionmaker

    from medaid.app import resettle
    from medaid.app.uow import UnitOfWork
    from medaid.store import db, ledger_check

    try:
        engine = db.make_engine(database)
        db.ensure_schema(engine)
        with ledger_check.snapshot(engine) as conn:
            report = ledger_check.verify(conn, audit=not no_audit)
            if not no_rules:
                with UnitOfWork(sessionmaker(bind=conn)) as uow:
                    _, differences = resettle.check(uow)
                for line in differences:
                    report.problem(f"differs from the rules: {line}")
        engine.dispose()
    except MedaidError as e:
        fail(str(e))
    if not report.ok:
        for line in report.problems[:SHOWN]:
            sys.stdout.write(f"problem: {line}\n")
        more = report.problem_count - min(SHOWN, len(report.problems))
        if more > 0:
            sys.stdout.write(f"… and {more} more\n")
        sys.stdout.write(f"账目有误：{report.settlements} 笔结算、{report.person_years} 个"
                         f"人员年度中发现 {report.problem_count} 处问题 / ledger broken: "
                         f"{report.problem_count} problems in {report.settlements} "
                         f"settlements, {report.person_years} person-years\n")
        raise typer.Exit(1)
    sys.stdout.write(f"ok: {report.settlements} settlements, {report.person_years} "
                     f"person-years ({report.cancellations} cancellations) / 账目核对无误："
                     f"{report.settlements} 笔结算、{report.person_years} 个人员年度"
                     f"（撤销 {report.cancellations} 笔）"
                     f"{'' if no_rules else '，与现行规则一致'}\n")


@ledger_app.command("resettle")
def ledger_resettle(
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", "-j", help="e.g. nanjing")],
    year: Annotated[int, typer.Option("--year", help="the year whose person-years to settle "
                                                     "again")],
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="post nothing: write who gains and who loses to --out")] = False,
    out: Annotated[Path, typer.Option(
        "--out", help="the dry run's workbook")] = Path("resettlement.xlsx"),
    reason: Annotated[str, typer.Option(
        "--reason", help="why (the corrected policy file or parameter), kept with each "
                         "adjustment")] = "政策文件或本地参数更正后重新结算 / settled again "
                                          "after a corrected policy file or parameter",
    database: DatabaseOpt = None,
) -> None:
    """Settle every person-year of a jurisdiction's year again on today's facts (after a
    corrected policy file or local parameter) and post the differences as adjustments;
    with --dry-run, only write the workbook. A second run posts nothing."""
    from rich.progress import Progress

    from medaid.app import resettle, resettle_bulk, resettle_xlsx
    from medaid.app.uow import UnitOfWork
    from medaid.core.money import to_yuan
    from medaid.engine.case import as_jurisdiction, as_year
    from medaid.store import db

    try:
        jurisdiction = as_jurisdiction(jurisdiction, "--jurisdiction")
        as_year(year, "--year")
        engine = db.make_engine(database)
        db.ensure_schema(engine)
        sessions = db.sessions(engine)
        cause = resettle.Cause("resettle", f"resettle:{jurisdiction}/{year}", reason)
        with UnitOfWork(sessions) as uow:  # read, settle on the batch path, compare
            bulk = resettle_bulk.plan(uow, jurisdiction, year)
            uow.rollback()
        plans = bulk.plans
        if not dry_run:
            with Progress(transient=True) as bar:
                task = bar.add_task("补差入账 / posting", total=len(bulk.plans))
                plans = resettle_bulk.post(sessions, "cli", bulk, cause,
                                           lambda k: bar.advance(task, k)).plans
        engine.dispose()
        if dry_run:
            resettle_xlsx.write(plans, cause, out)
    except MedaidError as e:
        fail(str(e))
    except OSError as e:
        fail(f"{out}: {e.strerror or e}")
    n_years = bulk.person_years
    changed = [p for p in plans if p.error is None]
    gain = sum(max(0, sum(c.maf_pay for c in p.changes)) for p in changed)
    loss = sum(min(0, sum(c.maf_pay for c in p.changes)) for p in changed)
    verb, zh = ("would change", "将补差") if dry_run else ("adjusted", "已补差")
    failed = len(plans) - len(changed)
    sys.stdout.write(f"{jurisdiction} {year}：重新结算 {n_years} 个人员年度，{zh} {len(changed)} 个"
                     f"（救助增加 {to_yuan(gain)} 元、减少 {to_yuan(-loss)} 元），{failed} 个无法"
                     f"重新结算{f'；明细见 {out}' if dry_run else ''} / {n_years} person-years "
                     f"settled again; {verb} {len(changed)} (assistance +{to_yuan(gain)} / "
                     f"{to_yuan(loss)} yuan); {failed} cannot be settled again\n")
    for p in plans:
        if p.error is not None:
            sys.stdout.write(f"problem: 人员 {p.psn_no} {p.year} 年度无法重新结算：{p.error}\n")


parameter_app = typer.Typer(no_args_is_help=True, help="Local parameters (本地参数).")


@parameter_app.command("set")
def parameter_set(
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", "-j", help="e.g. nanjing")],
    name: Annotated[str, typer.Option("--name", help="e.g. income_per_capita_prev_year")],
    value: Annotated[str, typer.Option(
        "--value", help="the value as JSON: 71000, 0.85, or an object for a structured "
                        "parameter")],
    source: Annotated[str, typer.Option("--source", help="where the value comes from")],
    year: Annotated[int | None, typer.Option(
        "--year", help="the year it is for (default: every year)")] = None,
    database: DatabaseOpt = None,
) -> None:
    """Record a local parameter (as POST /api/v1/parameters does, audited) and settle
    again, on the batch path, every person-year of its jurisdiction (of its year, or of
    every year of the ledger): the differences are posted as adjustments with cause
    `parameter`. Interrupted after the parameter is recorded, `medaid ledger resettle`
    finishes the re-settlement."""
    from sqlalchemy import select

    from medaid.app import records, resettle_bulk
    from medaid.app.parameters import check_value, put
    from medaid.app.uow import UnitOfWork
    from medaid.core.money import to_yuan
    from medaid.engine.case import as_jurisdiction, as_year, dumps, parse_json
    from medaid.store import db
    from medaid.store.models import Person, Settlement

    try:
        jurisdiction = as_jurisdiction(jurisdiction, "--jurisdiction")
        if year is not None:
            as_year(year, "--year")
        raw = parse_json(value)
        check_value(jurisdiction, name, raw, "--value")
        engine = db.make_engine(database)
        db.ensure_schema(engine)
        sessions = db.sessions(engine)
        with UnitOfWork(sessions) as uow:
            row = put(uow, jurisdiction, name, year, dumps(raw), source)
            cause = records.parameter_cause(row)
            uow.commit_audited("cli", "parameter.set", f"parameter:{jurisdiction}.{name}",
                               {"year": year, "value": row.value})
            years = [year] if year is not None else sorted(set(uow.session.scalars(
                select(Settlement.year).distinct().join(Person, Person.id ==
                                                        Settlement.person_id)
                .where(Person.jurisdiction == jurisdiction))))
        for y in years:
            with UnitOfWork(sessions) as uow:
                bulk = resettle_bulk.plan(uow, jurisdiction, y)
                uow.rollback()
            posted = resettle_bulk.post(sessions, "cli", bulk, cause)
            gain = sum(c.maf_pay for p in posted.plans for c in p.changes)
            failed = [p for p in posted.plans if p.error is not None]
            n = len(posted.plans) - len(failed)
            sign = "+" if gain >= 0 else ""
            sys.stdout.write(f"{jurisdiction} {y}：重新结算 {bulk.person_years} 个人员年度，"
                             f"已补差 {n} 个（救助 {sign}{to_yuan(gain)} 元），{len(failed)} 个"
                             f"无法重新结算 / "
                             f"{bulk.person_years} person-years settled again; adjusted {n} "
                             f"(assistance {sign}{to_yuan(gain)} yuan); "
                             f"{len(failed)} cannot be settled again\n")
            for p in failed:
                sys.stdout.write(f"problem: 人员 {p.psn_no} {p.year} 年度无法重新结算：{p.error}\n")
        engine.dispose()
    except MedaidError as e:
        fail(str(e))
    sys.stdout.write(f"parameter {jurisdiction}.{name} ({year or 'every year'}) = "
                     f"{value} recorded\n")


@ledger_app.command("refunds")
def ledger_refunds(
    year: Annotated[int | None, typer.Option("--year", help="only this year's")] = None,
    database: DatabaseOpt = None,
) -> None:
    """The refund/recovery list (退补清单): per person, what adjustments of visits settled on
    paper owe them (补付, positive) or recover from them (追回, negative), in yuan."""
    from medaid.app import resettle
    from medaid.app.uow import UnitOfWork
    from medaid.core.money import to_yuan
    from medaid.store import db

    try:
        engine = db.make_engine(database)
        db.ensure_schema(engine)
        with UnitOfWork(db.sessions(engine)) as uow:
            rows = resettle.refunds(uow, year)
        engine.dispose()
    except MedaidError as e:
        fail(str(e))
    for r in rows:
        what = "补付 / pay" if r.amount > 0 else "追回 / recover"
        sys.stdout.write(f"{r.psn_no}\t{r.name}\t{r.year}\t{what}\t{to_yuan(abs(r.amount))}"
                         f"\t{r.adjustments} adjustments\n")
    sys.stdout.write(f"{len(rows)} persons\n")


def backup(
    file: Annotated[Path, typer.Argument(help="the backup file to write")],
    force: Annotated[bool, typer.Option("--force", help="replace FILE if it exists")] = False,
    database: DatabaseOpt = None,
) -> None:
    """Back up a SQLite database while it serves (SQLite's online backup API), then check
    the copy. PostgreSQL: pg_dump -Fc (docs/RELIABILITY.md)."""
    from medaid.store import backup as backups

    try:
        found = backups.backup(database, file, force)
    except MedaidError as e:
        fail(str(e))
    except OSError as e:
        fail(f"{file}: {e.strerror or e}")
    sys.stdout.write(f"backup {file}: {file.stat().st_size} bytes; {found.summary()}\n")
    if not found.ok:
        raise typer.Exit(1)


def restore(
    file: Annotated[Path, typer.Argument(help="a backup written by `medaid backup`")],
    force: Annotated[bool, typer.Option(
        "--force", help="replace a database that is not empty")] = False,
    database: DatabaseOpt = None,
) -> None:
    """Restore a SQLite backup after checking it (integrity, revision, ledger, audit
    chain); refuses to replace a non-empty database without --force. Stop the service
    first. PostgreSQL: pg_restore (docs/RELIABILITY.md)."""
    from medaid.store import backup as backups

    try:
        found = backups.restore(file, database, force)
    except MedaidError as e:
        fail(str(e))
    except OSError as e:
        fail(f"{file}: {e.strerror or e}")
    sys.stdout.write(f"restored {file}: {found.summary()}\n")
