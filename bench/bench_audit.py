"""`medaid audit-payments` end to end on a generated Parquet export: records/s, peak memory.

Generates (numpy, a fixed seed) a Nanjing year of N settlement records for N/10 persons —
general outpatient visits and stays, amounts in yuan with two decimals, a roster (Parquet)
where every person is 低保 from the year's start and 2% exit in June — a million records
at a time, each chunk settled once to obtain the right `maf_pay`, then known errors
injected (0.1% overpaid by 1.00–100.00 yuan). The timed part is the command itself in a
child process, from the export to the written workbook and HTML report: above
`--partition-records` (the command's default: a million) the export is audited in pieces
of whole persons (`audit.stream`: written person by person, a row group of persons a
million records at a time, it is read in place, not split), with `--cluster` also on a
local Dask cluster of two workers. Peak memory is the largest sum of the resident sets of
the command and its child processes (sampled every 0.1 s). Each run checks that exactly
the injected records are found; the load average (1/5/15 minutes) is printed before and
after, as other work shares the cores. `--stages` also times each stage of a one-pass
audit in this process.

    .venv/bin/python bench/bench_audit.py [--records 1000000] [--stages] [--cluster]
    .venv/bin/python bench/bench_audit.py --records 20000000 --cluster --folder /tmp/p20m
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

YEAR_START = np.datetime64("2023-01-01", "s")


def _ids(prefix: str, k: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pa.array(k).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


CHUNK = 1_000_000  # records generated (and settled for their right maf_pay) at a time


def _roster(rng: np.random.Generator, persons: int, folder: Path) -> tuple[pa.Array, Path]:
    certs = _ids("3201", np.arange(persons), 14)  # not checksummed: a Parquet roster
    roster = folder / "roster.parquet"
    exits = rng.random(persons) < 0.02
    pq.write_table(pa.table({
        "certno": certs,
        "category": pa.array(np.full(persons, "dibao")).dictionary_encode(),
        "start": pa.array(np.full(persons, np.datetime64("2023-01-01", "D"))),
        "end": pa.array(np.where(exits, np.datetime64("2023-06-30", "D"),
                                 np.datetime64("NaT", "D"))),
    }), roster)
    return certs, roster


def _amounts(am: dict[str, np.ndarray]) -> dict[str, pa.Array]:
    out = {}
    for k, v in am.items():  # yuan with two decimals: fen as decimal128(18, 2)
        raw = np.empty((len(v), 2), np.int64)
        raw[:, 0], raw[:, 1] = v, np.where(v < 0, -1, 0)
        out[k] = pa.Array.from_buffers(pa.decimal128(18, 2), len(v),
                                       [None, pa.py_buffer(raw.tobytes())])
    return out


def _chunk(rng: np.random.Generator, certs: pa.Array, p_lo: int, p_hi: int, first: int,
           n: int) -> tuple[dict[str, pa.Array], dict[str, np.ndarray]]:
    """`n` records of persons [p_lo, p_hi), ids from `first`."""
    person = np.sort(rng.integers(p_lo, p_hi, n))
    secs = YEAR_START + rng.integers(0, 364 * 86400, n).astype("timedelta64[s]")
    inpatient = rng.random(n) < 0.15
    medfee = np.where(inpatient, rng.lognormal(9.5, 0.8, n), rng.lognormal(5.5, 0.9, n))
    medfee = np.maximum(100, np.round(medfee * 100)).astype(np.int64)  # fen
    ownpay = (medfee * rng.uniform(0, 0.15, n)).astype(np.int64)
    inscp = medfee - ownpay
    hifp = (inscp * np.where(inpatient, 0.7, 0.5)).astype(np.int64)
    k = np.arange(first, first + n)
    keys = certs.take(pa.array(person))
    columns = {
        "psn_no": keys.dictionary_encode(), "certno": keys.dictionary_encode(),
        "setl_id": _ids("S", k, 10), "mdtrt_id": _ids("M", k, 10),
        "med_type": pa.array(np.where(inpatient, "21", "11")).dictionary_encode(),
        "setl_time": pa.array(secs),
        "fixmedins_code": pa.array(np.array([f"H3201000000{h % 10}" for h in range(20)])[
            rng.integers(0, 20, n)]).dictionary_encode(),
    }
    zero = np.zeros(n, np.int64)
    amounts = {"medfee_sumamt": medfee, "fulamt_ownpay_amt": ownpay,
               "overlmt_selfpay": zero, "preselfpay_amt": zero, "hifp_pay": hifp,
               "hifmi_pay": zero, "oth_pay": zero, "maf_pay": zero}
    return columns, amounts


def generate(n: int, seed: int, folder: Path) -> tuple[Path, Path, int]:
    """The export (persons in order, a million records at a time, each chunk settled for
    its right maf_pay), the roster, and how many records were made wrong."""
    from medaid.audit import export as reading
    from medaid.audit import resettle
    from medaid.audit import roster as rosters
    from medaid.policy import model

    rng = np.random.default_rng(seed)
    persons = max(1, n // 10)
    certs, roster = _roster(rng, persons, folder)
    versions = model.versions("nanjing")
    ids = rosters.read_roster(roster, versions[-1])
    export = folder / "export.parquet"
    scratch = folder / "chunk.parquet"
    injected = []
    writer = None
    done = 0
    chunks = max(1, -(-n // CHUNK))
    for c in range(chunks):
        size = n // chunks + (1 if c < n % chunks else 0)
        p_lo, p_hi = persons * c // chunks, max(persons * (c + 1) // chunks, persons * c //
                                                chunks + 1)
        columns, amounts = _chunk(rng, certs, p_lo, p_hi, done, size)
        pq.write_table(pa.table({**columns, **_amounts(amounts)}), scratch, compression="lz4")
        out = resettle.run(reading.read_export(scratch), ids, versions, {}, explain=False)
        maf = out.medaid.copy()  # the right maf_pay: what medaid pays
        wrong = rng.random(size) < 0.001
        maf[wrong] += rng.integers(100, 10_000, int(wrong.sum()))
        amounts["maf_pay"] = maf
        injected.append(np.flatnonzero(wrong) + done)
        table = pa.table({**columns, **_amounts(amounts)})
        if writer is None:
            writer = pq.ParquetWriter(export, table.schema, compression="lz4")
        writer.write_table(table.cast(writer.schema), row_group_size=CHUNK)
        done += size
    assert writer is not None
    writer.close()
    scratch.unlink()
    np.save(folder / "injected.npy", np.concatenate(injected))
    return export, roster, int(sum(len(i) for i in injected))


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def stages(export: Path, roster: Path) -> list[tuple[str, float, float]]:
    """Each stage of a one-pass audit timed in this process: seconds, CPU seconds."""
    from medaid.audit import causes, detail, report, resettle, summary, workbook
    from medaid.audit import export as reading
    from medaid.audit import roster as rosters
    from medaid.policy import model

    times: list[tuple[str, float, float]] = []

    def timed(name: str, f: Any) -> Any:
        t, c = time.perf_counter(), time.process_time()
        got = f()
        times.append((name, time.perf_counter() - t, time.process_time() - c))
        return got

    versions = model.versions("nanjing")
    rec = timed("read the export", lambda: reading.read_export(export))
    ids = timed("read the roster", lambda: rosters.read_roster(roster, versions[-1]))
    out = timed("pair, order, batch settlement", lambda: resettle.run(
        rec, ids, versions, {}, explain=False))
    timed("engine check and explanations", lambda: resettle._explain(
        out, out.scan, resettle.SAMPLE, resettle.EXPLAIN))
    found = timed("causes", lambda: causes.findings(out))
    s = timed("sums", lambda: summary.summarise(out, found, "cumulative"))
    t = timed("findings table", lambda: detail.table(out, found))
    folder = export.parent
    timed("workbook", lambda: workbook.write_tables(s, "export.parquet", t, None,
                                                     folder / "stages.xlsx", "nanjing"))
    timed("HTML report", lambda: report.write_table(s, "export.parquet", t,
                                                    folder / "stages.html", "nanjing"))
    return times


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000,
                    help="records in the export (a province-year: 20000000)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--partition-records", type=int, default=None,
                    help="the command's --partition-records (default: its own)")
    ap.add_argument("--cluster", action="store_true",
                    help="also run it with --cluster local (2 Dask workers)")
    ap.add_argument("--stages", action="store_true",
                    help="also time each stage of a one-pass audit in process")
    ap.add_argument("--folder", type=Path, default=None,
                    help="generate into this folder and keep it; an export of --records "
                         "already there is audited again without generating")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        folder = args.folder or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        export, roster = folder / "export.parquet", folder / "roster.parquet"
        if (folder / "injected.npy").exists() and \
                pq.ParquetFile(export).metadata.num_rows == args.records:
            print(f"the export of {args.records:,} records in {folder}")
        else:
            t = time.perf_counter()
            export, roster, wrong = generate(args.records, args.seed, folder)
            print(f"generated {args.records:,} records ({wrong:,} wrong) in "
                  f"{time.perf_counter() - t:.1f} s; export "
                  f"{export.stat().st_size / 2**20:,.0f} MiB")
        injected = np.load(folder / "injected.npy")
        medaid = Path(sys.executable).with_name("medaid")
        runs: list[list[str]] = [[], *([["--cluster", "local"]] if args.cluster else [])]
        ok = True
        for extra in runs:
            if args.partition_records:
                extra = [*extra, "--partition-records", str(args.partition_records)]
            out = folder / "findings.xlsx"
            cmd = [str(medaid), "audit-payments", str(export), "--roster", str(roster),
                   "--policy", "nanjing", "--out", str(out), *extra]
            load = _load()
            peak = _run_peak(cmd)
            if peak is None:
                return 1
            seconds, rss, cpu, stdout = peak
            print(stdout, end="")
            found = _found(out)
            exact = found == sorted(injected.tolist())
            ok &= exact
            print(f"end to end{' ' + ' '.join(extra) if extra else ''}: {args.records:,} "
                  f"records in {seconds:.1f} s = {args.records / seconds:,.0f} records/s "
                  f"(process start included); CPU {cpu:.1f} s = {args.records / cpu:,.0f} "
                  f"records per CPU-second; peak RSS {rss:,.0f} MiB (workers included); "
                  f"injected {len(injected):,}, found {len(found):,}, "
                  f"{'exactly those' if exact else 'NOT the same'}; load average {load} "
                  f"before, {_load()} after")
        if args.stages:
            total = cpu_total = 0.0
            print(f"  {'stage':32s} {'seconds':>9s} {'records/s':>11s} {'CPU s':>7s} "
                  f"{'records/CPU-s':>13s}")
            for name, sec, cpu in stages(export, roster):
                total += sec
                cpu_total += cpu
                print(f"  {name:32s} {sec:9.2f} {args.records / max(sec, 1e-9):>11,.0f} "
                      f"{cpu:7.2f} {args.records / max(cpu, 1e-9):>13,.0f}")
            print(f"  {'all stages':32s} {total:9.2f} {args.records / total:>11,.0f} "
                  f"{cpu_total:7.2f} {args.records / cpu_total:>13,.0f}; load average "
                  f"{_load()}")
        return 0 if ok else 1


def _run_peak(cmd: list[str]) -> tuple[float, float, float, str] | None:
    """Run the command; seconds, the peak RSS of it and its children together (sampled),
    its CPU seconds, and its output."""
    import psutil  # type: ignore[import-untyped]

    cpu0 = _children_cpu()
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(c.memory_info().rss
                                             for c in ps.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.1)
    seconds = time.perf_counter() - t
    stdout = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        print(stdout)
        return None
    own = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, max(peak / 2**20, own), _children_cpu() - cpu0, stdout


def _children_cpu() -> float:
    """CPU seconds (user and system) of the finished child processes: what a run costs
    whatever else shares the cores."""
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def _found(book: Path) -> list[int]:
    """The rows of 差异明细 (Parquet rows count from 1), or of the CSV of every finding."""
    every = book.with_suffix(".csv")
    if every.exists():
        import pyarrow.csv as pcsv

        rows = pcsv.read_csv(every).column("行号").to_pylist()
        every.unlink()
        return sorted(int(r) - 1 for r in rows)
    from openpyxl import load_workbook

    ws = load_workbook(book, read_only=True)["差异明细"]
    return sorted(int(str(r[0])) - 1 for r in ws.iter_rows(min_row=2, values_only=True))


if __name__ == "__main__":
    sys.exit(main())
