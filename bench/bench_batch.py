"""Batch settlement from Parquet against the engine looped over the same visits, and DuckDB.

    python bench/bench_batch.py [--persons P] [--tile T] [--repeat R] [--seed S] [--year Y]

For each jurisdiction: `medaid synth` writes P persons (about 15.5 visits each, so the
default 7,000 persons give ≥ 100,000 visits); the engine (`settle_year`) settles every
person-year of it in a loop; the batch path reads the same file and settles it end to end
(Parquet → arrays → standings → kernel → results). Every visit's amounts, category and
rules must be equal to the fen, or the run fails (exit 1). Throughput is then measured on
the file tiled T times (persons repeated under new keys) so that a pass lasts long enough
to time: the first pass over it ("cold": its memory touched for the first time) and the
best of R passes ("warm"). The DuckDB formulation (`batch.sql`) runs on the untiled file
over the visits it can express, and must equal the batch path on them. Numba compiles
(or loads its cache) before any clock starts.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from medaid.batch import schema, sql, synth, synthfile
from medaid.batch.memory import keep_freed_memory
from medaid.batch.settle import Results, settle_population
from medaid.engine.settle import settle_year
from medaid.policy import model

TARGET_RATE = 5_000_000  # visits/s end to end, this 2-core machine
TARGET_RATIO = 100  # × the looped engine
FIELDS = ("hifp_pay", "hifmi_pay", "base", "assistance", "tilted", "special", "reassistance")


def batch_pass(path: Path, j: str) -> tuple[Results, np.ndarray, float]:
    """Read and settle a file; returns results, person keys and seconds."""
    gc.collect()
    start = time.perf_counter()
    table, persons, meta = schema.read_population(path, schema.VISIT_INPUT)
    visits = schema.visit_columns(table)
    res = settle_population(model.versions(j), meta.local.get(j, {}), visits,
                            schema.person_columns(persons))
    return res, visits.person, time.perf_counter() - start


def tile(src: Path, dst: Path, times: int) -> None:
    visits, persons, meta = schema.read_population(src)
    n = persons.num_rows
    out = schema.Meta(schema.persons_path(dst).name, meta.local, meta.extra)
    with schema.PopulationWriter(dst, out) as w:
        for t in range(times):
            w.write(visits.set_column(0, "person_key", pc.add(visits.column("person_key"), t * n)),
                    persons.set_column(0, "person_key", pc.add(persons.column("person_key"),
                                                               t * n)))


def engine_pass(j: str, year: int, seed: int, persons: int, local: dict[str, object]
                ) -> tuple[dict[str, list[int]], list[str | None], list[str], float, int]:
    """The engine over the file's person-years (generated again, outside the clock)."""
    people = [synthfile.person_year(j, year, seed, i) for i in range(persons)]
    versions = model.versions(j)
    gc.collect()
    start = time.perf_counter()
    settled = [settle_year(versions, local, py.person, py.visits).settlements for py in people]
    seconds = time.perf_counter() - start
    flat = [s for ss in settled for s in ss]
    amounts = {f: [getattr(s, f) for s in flat] for f in FIELDS}
    return amounts, [s.category for s in flat], ["+".join(s.rules) for s in flat], seconds, \
        len(flat)


def compare(res: Results, amounts: dict[str, list[int]], cats: list[str | None],
            rules: list[str]) -> int:
    """Visits where batch and engine differ in any amount, the category or the rules."""
    bad = np.zeros(len(res), bool)
    for f in FIELDS:
        bad |= getattr(res, f) != np.asarray(amounts[f], np.int64)
    names = [*res.plans.categories, None]
    got_cats = [names[c] for c in res.category.tolist()]
    ids, rule_names = res.rules()
    got_rules = [rule_names[i] for i in ids.tolist()]
    bad |= np.array([a != b for a, b in zip(got_cats, cats, strict=True)], bool)
    bad |= np.array([a != b for a, b in zip(got_rules, rules, strict=True)], bool)
    return int(bad.sum())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--persons", type=int, default=7_000, help="persons per jurisdiction")
    ap.add_argument("--tile", type=int, default=24, help="copies of the file for throughput")
    ap.add_argument("--repeat", type=int, default=5, help="warm passes; the best is kept")
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--jurisdictions", nargs="*", default=list(synth.JURISDICTIONS))
    args = ap.parse_args(argv)
    keep_freed_memory()

    import numba

    print(f"medaid batch benchmark: {args.persons} persons per jurisdiction, year {args.year}, "
          f"seed {args.seed}, tiled ×{args.tile}, best of {args.repeat}; Python "
          f"{platform.python_version()}, numba {numba.__version__} "
          f"({numba.get_num_threads()} threads), {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}")
    rows = []
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for j in args.jurisdictions:
            base = Path(tmp) / f"{j}.parquet"
            synthfile.write(j, args.persons, args.year, base, args.seed)
            local = schema.read_meta(base).local[j]
            amounts, cats, rules, engine_s, n = engine_pass(j, args.year, args.seed,
                                                            args.persons, local)
            res, person_small, _ = batch_pass(base, j)  # compiles or loads the kernel once
            diff = compare(res, amounts, cats, rules)
            failed |= diff > 0
            small = min(batch_pass(base, j)[2] for _ in range(args.repeat))

            big = Path(tmp) / f"{j}-x{args.tile}.parquet"
            tile(base, big, args.tile)
            res_big, _, cold = batch_pass(big, j)
            warm = min(batch_pass(big, j)[2] for _ in range(args.repeat))
            n_big = len(res_big)

            q = sql.Formulation(model.versions(j), local)
            covered, sql_diff, sql_s = 0, 0, float("nan")
            if q.supported:  # on the untiled file, against the batch path on the same file
                got = q.run(base)
                covered = len(got)
                sql_diff = sql.differences(got, res, person_small)
                failed |= sql_diff > 0
                sql_s = min(q.timed(base) for _ in range(max(1, args.repeat // 2)))
            rows.append((j, n, engine_s, small, n_big, cold, warm, covered, sql_s, diff,
                         sql_diff, q.reason))
            print(f"  {j}: {n} visits equal to the fen: {n - diff}/{n}; "
                  f"engine {n / engine_s:,.0f}/s, batch {n_big / warm:,.0f}/s", flush=True)
            os.remove(big)

    print(f"\n{'':<10} {'— file of ≥ 100,000 visits —':^56} {'— tiled file —':^40}")
    print(f"{'jurisdiction':<10} {'visits':>8} {'engine/s':>9} {'batch/s':>11} "
          f"{'duckdb/s':>11} {'duckdb covers':>13} {'visits':>9} {'cold/s':>11} "
          f"{'warm/s':>11} {'×engine':>8}")
    total_n = total_engine = total_big = total_warm = total_cold = 0.0
    for (j, n, engine_s, small, n_big, cold, warm, covered, sql_s, diff, sql_diff,
         reason) in rows:
        ratio = (n_big / warm) / (n / engine_s)
        duck = f"{covered / sql_s:>11,.0f}" if covered else f"{'—':>11}"
        share = f"{covered / n:>13.0%}" if covered else f"{'—':>13}"
        print(f"{j:<10} {n:>8} {n / engine_s:>9,.0f} {n / small:>11,.0f} {duck} {share} "
              f"{n_big:>9} {n_big / cold:>11,.0f} {n_big / warm:>11,.0f} {ratio:>7.0f}×"
              + ("" if not diff and not sql_diff else f"  DIFFERS: {diff} engine, "
                 f"{sql_diff} duckdb"))
        if reason:
            print(f"{'':<10} duckdb: {reason}")
        total_n += n
        total_engine += engine_s
        total_big += n_big
        total_warm += warm
        total_cold += cold
    rate = total_big / total_warm
    ratio = rate / (total_n / total_engine)
    print(f"{'overall':<10} {int(total_n):>8} {total_n / total_engine:>9,.0f} {'':>11} "
          f"{'':>11} {'':>13} {int(total_big):>9} {total_big / total_cold:>11,.0f} "
          f"{rate:>11,.0f} {ratio:>7.0f}×")
    print(f"load average at the end {os.getloadavg()[0]:.1f} (other work on the machine "
          "slows every figure above)")
    met_rate = "met" if rate >= TARGET_RATE else "NOT met"
    met_ratio = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"targets: ≥ {TARGET_RATE:,} visits/s end to end ({met_rate}, warm), "
          f"≥ {TARGET_RATIO}× the looped engine ({met_ratio})")
    if failed:
        print("error: the batch path, the engine or DuckDB disagree (see DIFFERS above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
