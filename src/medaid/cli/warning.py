"""`medaid warn`: the 双预警 job, and the warning list as the civil-affairs workbook.

    medaid warn --year 2025 [--jurisdiction nanjing]       # the job (schedulable)
    medaid warn export --year 2025 --out warnings.xlsx     # 预警名单

The job exits 1 when a jurisdiction's monitoring could not run (a local parameter nobody
set), after running the others, so that a scheduler reports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from medaid.cli.options import DatabaseOpt, unit_of_work
from medaid.core.errors import MedaidError
from medaid.core.exits import fail
from medaid.core.money import to_yuan

if TYPE_CHECKING:
    pass

app = typer.Typer(invoke_without_command=True, no_args_is_help=False,
                  help="双预警: 因病致贫 and 因病返贫 early warnings from the ledger.")
out = Console(highlight=False, soft_wrap=True)
JurisdictionOpt = Annotated[str | None, typer.Option(
    "--jurisdiction", "-j", help="one jurisdiction (default: all)")]


def _check(jurisdiction: str | None) -> None:
    from medaid.policy import model

    if jurisdiction is not None and jurisdiction not in model.jurisdictions():
        fail(f"jurisdiction: one of {', '.join(model.jurisdictions())}")


@app.callback()
def run(ctx: typer.Context,
        year: Annotated[int | None, typer.Option("--year", min=1990, max=2100,
                                                 help="the settlement year")] = None,
        jurisdiction: JurisdictionOpt = None, database: DatabaseOpt = None) -> None:
    """Run the warning job for a year: raise new warnings, update those already raised.

    Idempotent: running it again (e.g. nightly from cron) never duplicates a warning."""
    if ctx.invoked_subcommand is not None:
        return
    if year is None:
        fail("--year is required")
    _check(jurisdiction)
    from medaid.app import auth
    from medaid.app import early_warning as ew

    try:
        with unit_of_work(database) as uow, out.status(f"双预警 {year} …"):
            outcomes = ew.run(uow, auth.CLI, year, jurisdiction)
    except MedaidError as e:
        fail(str(e))
    for o in outcomes:  # one line each: a scheduler's log keeps it whole
        t = o.threshold
        if t is None:
            out.print(f"{o.jurisdiction}: {o.error or o.skipped}", markup=False)
            continue
        out.print(f"{o.jurisdiction} {year} {t.spec.rule} {t.spec.article}: 预警标准 "
                  f"{to_yuan(t.amount)} 元 ({t.spec.measure}); 新增 {o.raised}, 重新预警 "
                  f"{o.reopened}, 更新 {o.updated}, 未变 {o.unchanged}; 因病致贫 "
                  f"{o.counts.get('poverty', 0)}, 因病返贫 {o.counts.get('relapse', 0)}",
                  markup=False)
    if any(o.error for o in outcomes):
        raise typer.Exit(1)


@app.command("export")
def export(
    output: Annotated[Path, typer.Option("--out", help="the workbook to write (.xlsx)")],
    year: Annotated[int | None, typer.Option("--year", min=1990, max=2100)] = None,
    jurisdiction: JurisdictionOpt = None,
    district: Annotated[str | None, typer.Option("--district")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="poverty or relapse")] = None,
    status: Annotated[str | None, typer.Option(
        "--status", help="new, verified, enrolled or dismissed")] = None,
    mask_ids: Annotated[bool, typer.Option(
        "--mask-ids", help="mask ID numbers (a copy that leaves the office)")] = False,
    database: DatabaseOpt = None,
) -> None:
    """Write the warning list (预警名单) as the workbook the civil-affairs department files."""
    _check(jurisdiction)
    from medaid.app import auth
    from medaid.app import early_warning as ew

    try:
        f = ew.check_filters(ew.Filters(year, jurisdiction, district, kind, status))
        with unit_of_work(database) as uow:
            found = ew.listing(uow, auth.CLI, f, action="warning.export")
            output.write_bytes(ew.export_xlsx(found, not mask_ids, ew.export_title(f)))
    except MedaidError as e:
        fail(str(e))
    except OSError as e:
        fail(f"{output}: {e.strerror}")
    out.print(f"{output}: {len(found)} warnings")
