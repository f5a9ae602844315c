"""`medaid synth` and `medaid simulate` (registered by `medaid.cli.main`).

numba, polars and pyarrow load inside the commands, so that `medaid settle` starts without
them. A user error is one `error:` line on stderr and exit status 2, as everywhere in medaid.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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

from medaid.core.errors import InputError, MedaidError
from medaid.core.exits import fail
from medaid.core.money import fmt

if TYPE_CHECKING:
    from medaid.batch.compare import PersonChanges
    from medaid.batch.partition import Layout
    from medaid.batch.stream import Collector, Scenario
    from medaid.batch.summary import Totals

# Wide enough for the totals tables when stdout is a file or a pipe (rich assumes 80).
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _progress() -> Progress:
    """Bars on a terminal; nothing in a log or a pipe, where they would only add lines."""
    console = Console(stderr=True)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=console, transient=True,
                    disable=not console.is_terminal)


def _one_line_errors(command: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(command)
    def run(*args: object, **kwargs: object) -> None:
        try:
            command(*args, **kwargs)
        except MedaidError as e:
            fail(str(e))
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
    platform_export: Annotated[bool, typer.Option(
        "--platform-export", help="write the platform's settlement export instead (--out: "
        ".parquet, .csv or .xlsx), its roster and the manifest of the errors injected "
        "(docs/AUDIT.md)")] = False,
    error_rate: Annotated[float, typer.Option(
        "--error-rate", help="with --platform-export: the share of records with an error, "
        "of each kind (at least one of each the data allow)")] = 0.001,
) -> None:
    """Generate a synthetic population year as Parquet (docs/SYNTH.md, docs/BATCH.md)."""
    from medaid.batch import synthfile
    from medaid.batch.schema import persons_path

    if platform_export:
        from medaid.audit import synthexport

        if not 0 <= error_rate <= 0.05:
            raise InputError("--error-rate", "between 0 and 0.05")
        m = synthexport.write(jurisdiction, persons, year, out_path, seed, error_rate)
        out.print(f"wrote {out_path} ({m.records:,} records), {m.roster}, {m.local} and "
                  f"{synthexport.manifest_path(out_path).name} ({len(m.injected):,} errors: "
                  + ", ".join(f"{k} {v}" for k, v in m.counts().items()) + ")")
        out.print(f"audit: {m.command()}")
        return

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
    reform: Annotated[Path | None, typer.Option(
        "--reform", help="a reform file (docs/REFORMS.md): settle under both, compare")] = None,
    report_dir: Annotated[Path | None, typer.Option(
        "--report-dir", help="with --reform: write the report (Markdown, HTML, charts, "
        "Excel) here")] = None,
    cluster: Annotated[str | None, typer.Option(
        "--cluster", help="'local': settle on a local Dask cluster of 2 worker processes")
    ] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="settle on the Dask cluster at this address (tcp://host:8786)")
    ] = None,
    partition_visits: Annotated[int | None, typer.Option(
        "--partition-visits", help="visits per partition, about (memory grows with it; "
        "default 1,000,000)")] = None,
    verify_sample: Annotated[int, typer.Option(
        "--verify", help="person-years per partition and policy settled again by the "
        "engine, at random; any difference stops the run (exit status 1); 0: none")] = 32,
) -> None:
    """Settle every visit of a Parquet population, partition by partition; print totals by
    tier, category and kind, or, with --reform, baseline against reform. A random sample of
    person-years is settled again by the engine: on any difference the run fails with a
    message naming the person-year, the visit and the amounts (exit status 1)."""
    from medaid.batch import partition, schema
    from medaid.batch.memory import keep_freed_memory
    from medaid.batch.stream import Scenario
    from medaid.batch.verify import EngineDifference
    from medaid.policy import amend, model
    from medaid.policy.reform import load_reform

    keep_freed_memory()
    extra = amend.load_all(policy_file or [])
    versions = model.versions(policy, extra)
    if not versions:
        raise InputError("--policy", model.unknown_jurisdiction(policy, extra))
    if cluster not in (None, "local"):
        raise InputError("--cluster", f"{cluster!r}: only 'local' (or --scheduler ADDRESS)")
    if cluster and scheduler:
        raise InputError("--scheduler", "either --cluster local or --scheduler, not both")
    if report_dir is not None and reform is None:
        raise InputError("--report-dir", "a report compares a reform: give --reform")
    if out_path is not None and reform is not None:
        raise InputError("--out", "writes one policy's results: run without --reform")
    if partition_visits is not None and partition_visits < 1:
        raise InputError("--partition-visits", "must be ≥ 1")
    if verify_sample < 0:
        raise InputError("--verify", "must be ≥ 0")
    reformed = load_reform(reform).apply(versions) if reform is not None else None
    for p in (visits_file, visits_file.parent / schema.read_meta(visits_file).persons):
        if not p.is_file():
            raise InputError(str(p), "no such file")

    timings: dict[str, float] = {}
    with partition.Pieces(visits_file) as pieces, _progress() as bar:
        t = time.perf_counter()
        task = bar.add_task("partition", total=None, detail=str(visits_file))
        lay = partition.layout(visits_file, partition_visits or partition.PARTITION_VISITS,
                               pieces)
        timings["partition"] = time.perf_counter() - t
        bar.remove_task(task)
        local = dict(lay.meta.local.get(policy, {}))
        scenarios = [Scenario("baseline", versions, local)]
        if reformed is not None:
            hidden = reformed.overridden(local)
            if hidden:
                where, name = hidden[0]
                raise InputError(f"{reform}: {where}", f"the population's local parameters "
                                 f"set {name} ({local[name]}), which the engine takes before "
                                 f"the policy file: the change would not apply; set it under "
                                 f"`local:` instead")
            scenarios.append(Scenario("reform", reformed.versions, reformed.local_for(local)))
        try:
            collector, where = _settle(lay, scenarios, out_path, cluster, scheduler, bar,
                                       timings, verify_sample)
        except EngineDifference as e:
            sys.stderr.write(f"error: {e}\n")
            raise SystemExit(1) from None
        totals, people = collector.merged()
        if reformed is not None and report_dir is not None:
            from medaid.batch import report
            from medaid.batch.compare import comparison

            assert people is not None
            found = comparison(str(visits_file), lay.meta, reformed, local, totals, people)
            t = time.perf_counter()
            task = bar.add_task("report", total=4, detail=str(report_dir))
            files = report.write(found, report_dir,
                                 lambda name: bar.update(task, advance=1, detail=name))
            timings["report"] = time.perf_counter() - t
    if reformed is None:
        _print_totals(policy, totals[0], timings, where)
    else:
        assert people is not None
        _print_comparison(policy, totals, people, timings, where)
        if report_dir is not None:
            out.print(f"wrote {report_dir}: " + ", ".join(f.name for f in files))
    if out_path:
        out.print(f"wrote {out_path}: one row per visit ({totals[0].visits:,})")
    if collector.checked:
        out.print(f"engine check: {collector.checked:,} person-years, drawn at random, "
                  "settled again by the engine: equal to the fen")


@_one_line_errors
def reform(
    reform_file: Annotated[Path, typer.Argument(metavar="REFORM.yaml")],
    policy_file: Annotated[list[Path] | None, typer.Option(
        "--policy-file", help="a policy file of the same schema (repeatable)")] = None,
) -> None:
    """Apply a reform file and print the policy it makes, as a policy file (docs/REFORMS.md)."""
    from medaid.policy import amend, model
    from medaid.policy.reform import load_reform, reformed_yaml

    found = load_reform(reform_file)
    extra = amend.load_all(policy_file or [])
    versions = model.versions(found.jurisdiction, extra)
    if not versions:
        raise InputError(f"{reform_file}: policy",
                         model.unknown_jurisdiction(found.jurisdiction, extra))
    done = found.apply(versions)
    for k, policy in enumerate(done.versions):
        sys.stdout.write(("---\n" if k else "") + reformed_yaml(policy))
    for name, value in done.local.items():
        sys.stderr.write(f"note: the reform also sets local.{name} = {value} for its run\n")


def _settle(lay: Layout, scenarios: list[Scenario], out_path: Path | None,
            cluster: str | None, scheduler: str | None, bar: Progress,
            timings: dict[str, float], sample: int) -> tuple[Collector, str]:
    """Every partition settled, here or on a cluster, with the settle bar advancing by
    partition; returns the collector and a line saying where it ran."""
    import pyarrow.parquet as pq

    from medaid.batch import schema
    from medaid.batch.stream import Collector, Outcome, run_local

    writer = pq.ParquetWriter(out_path, schema.RESULTS, compression=schema.COMPRESSION) \
        if out_path else None
    collector = Collector(len(scenarios), writer.write_table if writer else None)
    t = time.perf_counter()
    n = len(lay.partitions)
    task = bar.add_task(f"settle ×{len(scenarios)}", total=lay.visits,
                        detail=f"0/{n} partitions")
    done = [0, 0]

    def advance(outcome: Outcome) -> None:
        done[0] += 1
        done[1] += outcome.visits
        rate = done[1] / max(1e-9, time.perf_counter() - t)
        bar.update(task, advance=outcome.visits,
                   detail=f"{done[0]}/{n} partitions, {rate:,.0f} visits/s")

    try:
        if cluster or scheduler:
            from medaid.batch.cluster import run_cluster

            where = run_cluster(lay.partitions, scenarios, collector, advance, scheduler,
                                sample=sample)
        else:
            run_local(lay.partitions, scenarios, collector, advance, sample)
            where = f"this process, {n} partition{'s' if n != 1 else ''}"
    finally:
        if writer is not None:
            writer.close()
    timings["settle"] = time.perf_counter() - t
    return collector, where


def _print_totals(policy: str, tot: Totals, timings: dict[str, float], where: str) -> None:
    from medaid.batch.summary import GROUP_AMOUNTS, LABELS, TIERS

    steps = ", ".join(f"{k} {v:.2f} s" for k, v in timings.items())
    out.print(f"[bold]{policy}[/bold]: {tot.visits:,} visits of {tot.persons:,} persons "
              f"settled ({where}; {steps}); amounts in yuan")
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


def _side_by_side(title: str, key: str, rows: list[tuple[str, int, int]],
                  money: bool = True) -> Table:
    t = Table(title=title)
    for col in (key, "baseline", "reform", "change"):
        t.add_column(col, justify="left" if col == key else "right")
    show = fmt if money else (lambda n: f"{n:,}")
    for name, a, b in rows:
        t.add_row(name, show(a), show(b), ("+" if b > a else "") + show(b - a))
    return t


def _print_comparison(policy: str, totals: list[Totals], people: PersonChanges,
                      timings: dict[str, float], where: str) -> None:
    from medaid.batch.summary import LABELS

    a, b = totals
    steps = ", ".join(f"{k} {v:.2f} s" for k, v in timings.items())
    out.print(f"[bold]{policy}[/bold], baseline against reform: {a.visits:,} visits of "
              f"{a.persons:,} persons settled twice ({where}; {steps}); amounts in yuan")
    out.print(_side_by_side("by tier", "tier", [
        (LABELS[n], a.tiers[n], b.tiers[n]) for n in (
            "hifp_pay", "hifmi_pay", "assistance", "tilted", "special", "maf_pay",
            "psn_part_amt")]))
    for title, key, x, y in (("assistance fund by category", "category", a.by_category,
                              b.by_category),
                             ("assistance fund by visit kind", "kind", a.by_kind, b.by_kind)):
        after = {r[key]: r["maf_pay"] for r in y.iter_rows(named=True)}
        before = {r[key]: r["maf_pay"] for r in x.iter_rows(named=True)}
        out.print(_side_by_side(title, key, [(k, before.get(k, 0), after.get(k, 0))
                                             for k in dict.fromkeys([*before, *after])]))
    ca = {r["pool"]: r["reached"] for r in a.caps.iter_rows(named=True)}
    cb = {r["pool"]: r["reached"] for r in b.caps.iter_rows(named=True)}
    out.print(_side_by_side("person-years reaching each cap", "cap pool", [
        (k, ca.get(k, 0), cb.get(k, 0)) for k in dict.fromkeys([*ca, *cb])], money=False))
    out.print(f"persons whose assistance rises: {people.gainers:,} (+{fmt(people.gained)}); "
              f"falls: {people.losers:,} (-{fmt(people.lost)}); unchanged: "
              f"{people.persons - people.gainers - people.losers:,}")
