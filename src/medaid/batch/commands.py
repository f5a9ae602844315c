"""`medaid synth` and `medaid simulate` (registered by `medaid.cli`).

numba, polars and pyarrow load inside the commands, so that `medaid settle` starts without
them. A user error is one `error:` line on stderr and exit status 2, as everywhere in medaid.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from medaid.errors import InputError, MedaidError
from medaid.money import fmt

# Wide enough for the totals tables when stdout is a file or a pipe (rich assumes 80).
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=Console(stderr=True), transient=True)


def _one_line_errors(command: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(command)
    def run(*args: object, **kwargs: object) -> None:
        try:
            command(*args, **kwargs)
        except MedaidError as e:
            sys.stderr.write(f"error: {e}\n")
            raise typer.Exit(2) from None
    return run


@_one_line_errors
def synth(
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", help="e.g. nanjing")],
    persons: Annotated[int, typer.Option("--persons", help="persons in the population")],
    year: Annotated[int, typer.Option("--year", help="calendar year of the visits")],
    out_path: Annotated[Path, typer.Option("--out", help="visits Parquet file to write")],
    seed: Annotated[int, typer.Option("--seed", help="one seed, one population")] = 0,
    workers: Annotated[int | None, typer.Option(
        "--workers", help="processes (default: one per core)")] = None,
) -> None:
    """Generate a synthetic population year as Parquet (docs/SYNTH.md, docs/BATCH.md)."""
    from medaid.batch import synthfile
    from medaid.batch.schema import persons_path

    with _progress() as bar:
        task = bar.add_task(f"synth {jurisdiction} {year}", total=persons, detail="")

        def step(done: int, visits: int) -> None:
            bar.update(task, completed=done, detail=f"{visits:,} visits")

        n, visits = synthfile.write(jurisdiction, persons, year, out_path, seed, workers, step)
    out.print(f"wrote {out_path} ({visits:,} visits) and {persons_path(out_path).name} "
              f"({n:,} persons)")


@_one_line_errors
def simulate(
    visits_file: Annotated[Path, typer.Argument(metavar="VISITS.parquet")],
    policy: Annotated[str, typer.Option("--policy", help="jurisdiction, e.g. nanjing")],
    out_path: Annotated[Path | None, typer.Option(
        "--out", help="write one result per visit to this Parquet file")] = None,
    policy_file: Annotated[list[Path] | None, typer.Option(
        "--policy-file", help="a policy file of the same schema (repeatable)")] = None,
) -> None:
    """Settle every visit of a Parquet population; print totals by tier, category, kind."""
    import pyarrow.parquet as pq

    from medaid.batch import schema, summary
    from medaid.batch.memory import keep_freed_memory
    from medaid.batch.settle import settle_population
    from medaid.policy import model

    keep_freed_memory()
    extra = [model.load_policy(p) for p in policy_file or []]
    versions = model.versions(policy, extra)
    if not versions:
        known = sorted({*model.jurisdictions(), *(p.jurisdiction for p in extra)})
        raise InputError("--policy", f"unknown jurisdiction {policy!r} (one of: "
                         f"{', '.join(known)})")
    for p in (visits_file, visits_file.parent / schema.read_meta(visits_file).persons):
        if not p.is_file():
            raise InputError(str(p), "no such file")
    steps = ["read", "settle", "totals"] + (["write"] if out_path else [])
    with _progress() as bar:
        task = bar.add_task(f"simulate {policy}", total=len(steps), detail="")
        timings: dict[str, float] = {}

        def done(step: str, t0: float) -> float:
            timings[step] = time.perf_counter() - t0
            bar.update(task, advance=1, detail=f"{step} {timings[step]:.2f}s")
            return time.perf_counter()

        t = time.perf_counter()
        table, persons, meta = schema.read_population(visits_file, schema.VISIT_INPUT)
        visits = schema.visit_columns(table)
        people = schema.person_columns(persons)
        t = done("read", t)
        local = meta.local.get(policy, {})
        res = settle_population(versions, local, visits, people)
        t = done("settle", t)
        tot = summary.totals(res, visits.person)
        t = done("totals", t)
        if out_path:
            ids = pq.read_table(visits_file, columns=["visit_id"]).column("visit_id")
            pq.write_table(res.table(visits.person, ids), out_path,
                           compression=schema.COMPRESSION)
            done("write", t)
    _print_totals(policy, tot, timings)
    if out_path:
        out.print(f"wrote {out_path}: one row per visit ({len(res):,})")


def _print_totals(policy: str, tot: object, timings: dict[str, float]) -> None:
    from medaid.batch.summary import GROUP_AMOUNTS, LABELS, TIERS, Totals

    assert isinstance(tot, Totals)
    steps = ", ".join(f"{k} {v:.2f} s" for k, v in timings.items())
    out.print(f"[bold]{policy}[/bold]: {tot.visits:,} visits of {tot.persons:,} persons "
              f"settled ({steps}); amounts in yuan")
    t = Table(title="by tier")
    t.add_column("tier")
    t.add_column("yuan", justify="right")
    for name in TIERS:
        t.add_row(LABELS[name], fmt(tot.tiers[name]))
    out.print(t)
    for title, df, key, extra in (("by category", tot.by_category, "category", ["persons"]),
                                  ("by visit kind", tot.by_kind, "kind", [])):
        t = Table(title=title)
        for col in (key, "visits", *extra, *GROUP_AMOUNTS):
            t.add_column(col, justify="left" if col == key else "right")
        for row in df.iter_rows(named=True):
            t.add_row(str(row[key]), f"{row['visits']:,}", *(f"{row[c]:,}" for c in extra),
                      *(fmt(int(row[c])) for c in GROUP_AMOUNTS))
        out.print(t)
