"""`medaid indicators …`: the documents' indicators of a year (docs/INDICATORS.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from medaid.cli.options import DatabaseOpt, unit_of_work
from medaid.core.errors import MedaidError
from medaid.core.exits import fail
from medaid.engine.case import dumps

app = typer.Typer(no_args_is_help=True, help="Cost-control and service indicators (控费指标).")
out = Console(highlight=False, soft_wrap=True)
VERDICT = {True: "达标 pass", False: "未达标 FAIL", None: "无数据 no data"}


def _report(jurisdiction: str, year: int, district: str | None, database: str | None
            ) -> object:
    from medaid.app import auth, indicators
    from medaid.policy import model

    if jurisdiction not in model.jurisdictions():
        fail(f"jurisdiction: one of {', '.join(model.jurisdictions())}")
    try:
        with unit_of_work(database) as uow:
            return indicators.compute(uow, auth.CLI, jurisdiction, year, district)
    except MedaidError as e:
        fail(str(e))


@app.command("show")
def show(jurisdiction: str, year: Annotated[int, typer.Option("--year")],
         district: Annotated[str | None, typer.Option("--district")] = None,
         as_json: Annotated[bool, typer.Option("--json")] = False,
         database: DatabaseOpt = None) -> None:
    """Each indicator per institution or district against its threshold."""
    from medaid.app.indicators import Report, report_json

    r = _report(jurisdiction, year, district, database)
    assert isinstance(r, Report)
    data = report_json(r)
    if as_json:
        sys.stdout.write(dumps(data) + "\n")
        return
    if not data["indicators"]:
        out.print(f"{jurisdiction} {year}: the policy sets no indicator")
    for x in data["indicators"]:
        bound = f"≥ {x['min']}" if "min" in x else f"≤ {x['max']}"
        t = Table("对象", "名称", "分子", "分母", "指标值", "结果",
                  title=f"{x['label']}（{x['rule']} {x['source']}，{bound}）")
        for row in x["rows"]:
            t.add_row(row["subject"], row["name"], str(row["numerator"]),
                      str(row["denominator"]), row["value"] or "-", VERDICT[row["passes"]])
        out.print(t)


@app.command("export")
def export(jurisdiction: str, year: Annotated[int, typer.Option("--year")],
           output: Annotated[Path, typer.Option("--out", help="the workbook (.xlsx)")],
           charts: Annotated[Path | None, typer.Option(
               "--charts", help="a folder for one PNG chart per indicator")] = None,
           district: Annotated[str | None, typer.Option("--district")] = None,
           database: DatabaseOpt = None) -> None:
    """Write the indicators as a workbook (Chinese headers) and, optionally, charts."""
    from medaid.app import indicators_export
    from medaid.app.indicators import Report

    r = _report(jurisdiction, year, district, database)
    assert isinstance(r, Report)
    try:
        output.write_bytes(indicators_export.workbook(r))
        written = indicators_export.write_charts(r, charts) if charts else []
    except OSError as e:
        fail(f"{e.filename}: {e.strerror}")
    out.print(f"{output}: {len(r.results)} indicators" + (
        f"; {len(written)} charts in {charts}" if charts else ""))
