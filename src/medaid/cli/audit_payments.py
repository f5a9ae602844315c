"""`medaid audit-payments`: audit the platform's assistance payments (docs/AUDIT.md)."""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated

import typer

from medaid.core.exits import fail

SHOWN_BAD = 50  # bad values listed on stderr; the error line gives the count


def _yuan(fen: int) -> str:
    from medaid.core.money import fmt_yuan

    return fmt_yuan(fen).replace("¥", "")


def audit_payments(
    export: Annotated[Path, typer.Argument(
        metavar="EXPORT", help="the platform's settlement records: CSV (UTF-8 or GBK), XLSX "
                               "or Parquet, national field names")],
    roster: Annotated[Path, typer.Option(
        "--roster", help="the identity roster: CSV, XLSX (as `medaid roster check` reads) "
                         "or Parquet")],
    policy: Annotated[str, typer.Option("--policy", help="the jurisdiction, e.g. nanjing")],
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="the findings workbook (default: EXPORT's name + .audit.xlsx, here); "
                      "the HTML report beside it (.html)")
    ] = None,
    rounding: Annotated[str | None, typer.Option(
        "--rounding", help="per_visit | cumulative (default: the policy file's)")] = None,
    local_file: Annotated[Path | None, typer.Option(
        "--local", help="a JSON object of local parameters, as a case's `local`")] = None,
    med_type: Annotated[list[str] | None, typer.Option(
        "--med-type", help="CODE=KIND for a med_type code the national table lacks, e.g. "
                           "13=general_outpatient (repeatable)")] = None,
    policy_file: Annotated[list[Path] | None, typer.Option(
        "--policy-file", help="a policy file of the same schema (repeatable)")] = None,
    explain: Annotated[int, typer.Option(
        "--explain", help="findings explained rule by rule by the engine's trace, the "
                          "largest differences first (the others: the batch path's parts)")
    ] = 200,
    fail_on_findings: Annotated[bool, typer.Option(
        "--fail-on-findings", help="exit status 1 when any difference is found")] = False,
    partition_records: Annotated[int, typer.Option(
        "--partition-records", help="a Parquet export of more records is audited in pieces "
                                    "of whole persons of about this many records (bounded "
                                    "memory)")] = 1_000_000,
    cluster: Annotated[str | None, typer.Option(
        "--cluster", help="'local': audit the pieces on a local Dask cluster of --workers "
                          "processes")] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="audit the pieces on the Dask cluster at this address "
                            "(tcp://host:8786); the export's folder must be visible to its "
                            "workers under the same path")] = None,
    workers: Annotated[int, typer.Option(
        "--workers", help="worker processes of --cluster local")] = 2,
) -> None:
    """Audit the platform's medical-assistance payments (稽核): settle every person-year of
    an export again and list each settlement whose maf_pay differs, with its likely cause.

    Exit status 0 when the audit ran (differences are findings, not errors; see
    --fail-on-findings), 2 for bad input."""
    from medaid.audit.charts_aside import ChartsAside

    t0 = time.perf_counter()
    aside = ChartsAside()  # forked before the audit's imports and threads
    import numpy as np

    from medaid.audit import causes, detail, fields, report, resettle, stream, summary, workbook
    from medaid.audit import export as reading
    from medaid.audit import roster as rosters
    from medaid.batch.memory import keep_freed_memory
    from medaid.core.errors import MedaidError
    from medaid.engine import case as contract
    from medaid.policy import amend, model

    keep_freed_memory()  # pieces reuse the memory of the ones before
    try:
        if rounding not in (None, "per_visit", "cumulative"):
            fail(f"--rounding {rounding}: per_visit or cumulative")
        try:
            med_types = fields.parse_med_types(med_type)
        except ValueError as e:
            fail(str(e))
        try:
            extra = amend.load_all(policy_file or [])
            versions = model.versions(policy, extra)
            if not versions:
                fail(f"--policy {policy}: {model.unknown_jurisdiction(policy, extra)}")
            chosen = rounding or versions[-1].spec.rounding
            versions = resettle.with_rounding(versions, chosen)
            local: dict[str, object] = {}
            if local_file is not None:
                try:
                    text = local_file.read_text(encoding="utf-8")
                except OSError as e:
                    fail(f"{local_file}: cannot read: {e.strerror}")
                local = contract.parse_local(contract.parse_json(text), versions)
            if explain < 0:
                fail(f"--explain {explain}: a number of findings, 0 or more")
            if partition_records < 1:
                fail(f"--partition-records {partition_records}: 1 or more")
            if cluster not in (None, "local"):
                fail(f"--cluster {cluster}: only 'local' (or --scheduler ADDRESS)")
            if (cluster or scheduler) and not stream.is_parquet(export):
                fail("--cluster/--scheduler: a Parquet export (CSV and XLSX are read whole)")
            streamed = stream.pieces_of(export, partition_records) > 1 or cluster or scheduler
            where = "one process"
            if streamed:  # the roster read while the export's persons are found
                with ThreadPoolExecutor(1) as reading_roster:
                    ids_read = reading_roster.submit(rosters.read_roster, roster, versions[-1])
                    run = stream.audit(export, ids_read.result, versions, local, med_types,
                                       chosen, explain, partition_records=partition_records,
                                       cluster=cluster is not None, workers=workers,
                                       scheduler=scheduler)
                s, table, source = run.summary, run.findings, export.name
                where = f"{run.pieces} pieces, {run.where}"
                every = None
            else:
                ids = rosters.read_roster(roster, versions[-1])
                records = reading.read_export(export, med_types)
                out = resettle.run(records, ids, versions, local, explain_limit=explain)
                found = causes.findings(out)
                s = summary.summarise(out, found, chosen)
                table, source = detail.table(out, found), records.source
                every = detail.table(out, [], np.flatnonzero(out.status != resettle.REVERSAL)) \
                    if len(records) <= workbook.ALL_ROWS else None
            drawn = aside.draw(s)
            target = out_file or Path(export.name.split(".")[0] + ".audit.xlsx")
            name = f"{versions[-1].spec.name} {versions[-1].spec.document.title}"
            everything = None
            if table.num_rows > workbook.DETAIL_ROWS:
                everything = target.with_suffix(".csv")
                workbook.write_csv(table, everything)
            workbook.write_tables(s, source, table, every, target, name,
                                  everything.name if everything else None)
            html = target.with_suffix(".html")
            report.write_table(s, source, table, html, name, drawn())
        except (reading.BadExport, rosters.BadRoster) as e:
            for b in e.bad[:SHOWN_BAD]:
                sys.stderr.write(f"  {b.line()}\n")
            if len(e.bad) > SHOWN_BAD:
                sys.stderr.write(f"  … {len(e.bad) - SHOWN_BAD} more\n")
            fail(str(e))
        except MedaidError as e:
            fail(str(e))
        except OSError as e:
            fail(f"{e.filename or ''}: {e.strerror}")
    finally:
        aside.close()
    seconds = time.perf_counter() - t0
    w = sys.stdout.write
    w(f"稽核 audit of {source}: {policy}, rounding {chosen} ({where})\n")
    w(f"  records {s.records:,}: settlements {s.settlements:,} ({s.cancellations:,} cancelled, "
      f"{s.duplicates:,} duplicates); persons {s.persons:,} ({s.not_in_roster:,} not in the "
      f"roster); person-years {s.person_years:,}\n")
    w(f"  maf_pay: platform {_yuan(s.platform)} yuan, medaid {_yuan(s.medaid)} yuan; "
      f"overpaid {_yuan(s.overpaid)}, underpaid {_yuan(s.underpaid)}\n")
    w(f"  findings: {s.findings:,}" + ("" if not s.by_cause else ": " + "; ".join(
        f"{g.label} {g.findings} ({_yuan(g.overpaid - g.underpaid)})" for g in s.by_cause))
      + "\n")
    w(f"  checked by the engine: {s.checked:,} person-years"
      + (" (the batch path differed from the engine: the engine settled every one)"
         if s.fallback else "") + "\n")
    if everything is not None:
        w(f"  差异明细 lists the {workbook.DETAIL_ROWS:,} largest differences; every finding: "
          f"{everything}\n")
    w(f"  workbook: {target}, report: {html}  ({seconds:.1f} s, "
      f"{s.records / max(seconds, 1e-9):,.0f} records/s)\n")
    if fail_on_findings and s.findings:
        raise typer.Exit(1)
