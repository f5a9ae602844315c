"""Time bulk re-settlement (`medaid ledger resettle`) of a jurisdiction-year of a million
visits in PostgreSQL after a parameter correction, end to end: the columnar read, the
batch kernel, the comparison, the engine's traces of the changed visits and the
adjustment entries written (docs/RESETTLEMENT.md, docs/PERFORMANCE.md).

    python bench/bench_resettle.py --postgres URL [--visits 1000000] [--persons 7000]
        [--jurisdiction nanjing] [--year 2023] [--parameter income_per_capita_prev_year]
        [--value 71000]

1. `medaid synth` writes a year of `--persons` persons; its persons are repeated under new
   keys until the year holds `--visits` visits.
2. A fresh PostgreSQL database, migrated; the year is loaded as a ledger in bulk
   (`app.ledger_load`: settled on the batch path, COPYed in), as if every visit had
   been settled through the service.
3. The parameter is corrected (the local parameter's row updated, as a correction made
   outside the API is).
4. Timed, in a process of its own that has loaded medaid and the compiled kernel first:
   `resettle_bulk.plan` then `resettle_bulk.post` — what `medaid ledger resettle` does —
   with its peak memory (ru_maxrss of that process). Then a second run, which must post
   nothing, and a check: a sample of person-years settled again by the engine
   (`resettle.plan_year`) must equal the ledger.

Prints visits/s against the target (200,000/s) and the load average before and after;
exit 1 if anything is wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

import numpy as np

from bench_api import _drop_postgres, _fresh_postgres  # the same script folder

TARGET = 200_000


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def build(args: argparse.Namespace, url: str) -> dict[str, float]:
    """Steps 1–3: the year written, tiled, loaded, the parameter corrected."""
    from sqlalchemy import update

    from medaid.app.ledger_load import load
    from medaid.batch import synthfile
    from medaid.batch.schema import (
        PersonColumns,
        VisitColumns,
        person_columns,
        read_population,
        visit_columns,
    )
    from medaid.policy import model
    from medaid.store import db
    from medaid.store.models import LocalParameter

    out: dict[str, float] = {}
    folder = Path(tempfile.mkdtemp(prefix="medaid-resettle-"))
    path = folder / "year.parquet"
    t = time.perf_counter()
    synthfile.write(args.jurisdiction, args.persons, args.year, path, seed=args.seed)
    table, people, meta = read_population(path)
    v, p = visit_columns(table), person_columns(people)
    ids = [str(x) for x in table.column("visit_id").to_pylist()]
    times = -(-args.visits // len(v))
    span = int(p.key.max()) + 1
    tv = VisitColumns(**{f.name: np.concatenate(
        [getattr(v, f.name) + (k * span if f.name == "person" else 0) for k in range(times)]
    )[:args.visits] for f in fields(v)})
    last = int(tv.person[-1])
    keep = np.concatenate([p.key + k * span for k in range(times)])
    n_persons = int(np.searchsorted(keep, last, side="right"))
    counts = np.diff(p.ident_offsets)
    all_counts = np.tile(counts, times)[:n_persons]
    m = int(all_counts.sum())

    def tiled(a: np.ndarray) -> np.ndarray:
        return np.tile(a, times)[:m]

    tp = PersonColumns(
        key=keep[:n_persons], grade=np.tile(p.grade, times)[:n_persons],
        tilted_application=np.tile(p.tilted_application, times)[:n_persons],
        ident_offsets=np.r_[0, np.cumsum(all_counts)].astype(np.int64),
        ident_category=p.ident_category, ident_cat=tiled(p.ident_cat),
        ident_from=tiled(p.ident_from), ident_to=tiled(p.ident_to),
        ident_application=tiled(p.ident_application))
    tids = (ids * times)[:args.visits]
    out["synth_s"] = time.perf_counter() - t
    engine = db.make_engine(url)
    db.ensure_schema(engine)
    t = time.perf_counter()
    with engine.begin() as conn:
        counts_loaded = load(conn, model.versions(args.jurisdiction),
                             meta.local.get(args.jurisdiction, {}), tv, tids, tp)
        conn.exec_driver_sql("ANALYZE")
    out["load_s"] = time.perf_counter() - t
    out.update({k: float(x) for k, x in counts_loaded.items()})
    with engine.begin() as conn:
        found = conn.execute(update(LocalParameter).where(
            LocalParameter.jurisdiction == args.jurisdiction,
            LocalParameter.name == args.parameter).values(value=str(args.value)))
        if not found.rowcount:
            conn.execute(LocalParameter.__table__.insert().values(
                jurisdiction=args.jurisdiction, name=args.parameter, year=args.year,
                value=str(args.value), source="bench: corrected"))
    engine.dispose()
    return out


def child(url: str, jurisdiction: str, year: int) -> None:
    """Step 4 in a process of its own: prints one JSON line."""
    from medaid.app import resettle, resettle_bulk
    from medaid.app.uow import UnitOfWork
    from medaid.batch import synthfile  # noqa: F401  (imports as the command does)
    from medaid.store import db

    engine = db.make_engine(url)
    sessions = db.sessions(engine)
    _warm(jurisdiction, year)
    cause = resettle.Cause("resettle", f"resettle:{jurisdiction}/{year}", "bench: corrected")
    t0 = time.perf_counter()
    with UnitOfWork(sessions) as uow:
        bulk = resettle_bulk.plan(uow, jurisdiction, year)
        uow.rollback()
    t1 = time.perf_counter()
    posted = resettle_bulk.post(sessions, "bench", bulk, cause)
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    with UnitOfWork(sessions) as uow:
        again = resettle_bulk.plan(uow, jurisdiction, year)
        uow.rollback()
    t3 = time.perf_counter()
    # a sample of person-years settled again by the engine equals the ledger
    rng = random.Random(1)
    with UnitOfWork(sessions) as uow:
        pairs = resettle.jurisdiction_years(uow, jurisdiction, year)
        changed = sorted((p.person_id, p.year) for p in bulk.plans)
        sample = rng.sample(pairs, min(150, len(pairs))) + changed[:50]
        differ = [k for k in sample if not resettle.plan_year(uow, *k).clean]
    print(json.dumps({
        "visits": bulk.visits, "person_years": bulk.person_years,
        "changed_person_years": len(bulk.plans),
        "changed_visits": sum(len(p.changes) for p in bulk.plans),
        "adjustments": posted.adjustments, "replanned": posted.replanned,
        "engine_only": len(bulk.engine_only),
        "plan_s": t1 - t0, "post_s": t2 - t1, "total_s": t2 - t0,
        "timings": {**bulk.timings, **posted.timings},
        "peak_mib": peak / 1024, "second_run_s": t3 - t2,
        "second_run_changes": len(again.plans), "sample": len(sample), "differ": differ,
        "maf_pay": sum(c.maf_pay for p in bulk.plans for c in p.changes)}))


def _warm(jurisdiction: str, year: int) -> None:
    """Load the compiled kernel (numba's cache) before the clock starts."""
    from medaid.batch.schema import person_columns, visit_columns
    from medaid.batch.settle import settle_population
    from medaid.batch.synthfile import _chunk, local_of
    from medaid.policy import model

    visits, persons = _chunk((jurisdiction, year, 1, 0, 20))
    settle_population(model.versions(jurisdiction), local_of(jurisdiction, year, 1),
                      visit_columns(visits), person_columns(persons), snapshots=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--postgres", default=os.environ.get("MEDAID_TEST_POSTGRES_URL"))
    ap.add_argument("--visits", type=int, default=1_000_000)
    ap.add_argument("--persons", type=int, default=7000)
    ap.add_argument("--jurisdiction", default="nanjing")
    ap.add_argument("--year", type=int, default=2023)
    ap.add_argument("--parameter", default="income_per_capita_prev_year")
    ap.add_argument("--value", default="71000")
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--keep", action="store_true", help="keep the database")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.jurisdiction, args.year)
        return 0
    if not args.postgres:
        print("bench_resettle: no PostgreSQL (--postgres URL or MEDAID_TEST_POSTGRES_URL; "
              ".ci/postgres.sh prints one): skipped")
        return 0
    url = _fresh_postgres(args.postgres, "medaid_bench_resettle")
    try:
        print(f"medaid bulk re-settlement benchmark: {args.jurisdiction} {args.year}, "
              f"{args.visits} visits, {args.parameter} corrected to {args.value}; "
              f"{os.cpu_count()} cores, load average {_load()}")
        built = build(args, url)
        print(f"  ledger: {int(built['visits'])} visits, {int(built['person_years'])} "
              f"person-years of {int(built['persons'])} persons; synth+tile "
              f"{built['synth_s']:.1f} s, loaded (COPY) in {built['load_s']:.1f} s")
        load_before = _load()
        r = subprocess.run([sys.executable, __file__, "--child", url, "--jurisdiction",
                            args.jurisdiction, "--year", str(args.year)],
                           capture_output=True, text=True, check=False)
        if r.returncode != 0:
            print(r.stdout, r.stderr)
            return 1
        res = json.loads(r.stdout.strip().splitlines()[-1])
        rate = res["visits"] / res["total_s"]
        tm = res["timings"]
        print(f"  re-settled: {res['visits']} visits, {res['person_years']} person-years; "
              f"{res['changed_person_years']} person-years change, "
              f"{res['adjustments']} adjustments written (assistance "
              f"{res['maf_pay'] / 100:+,.2f} yuan)")
        print(f"  time: {res['total_s']:.2f} s end to end = plan {res['plan_s']:.2f} s "
              f"(read {tm['read']:.2f}, batch kernel {tm['settle']:.2f}, compare "
              f"{tm['compare']:.2f}, engine traces of changed visits {tm['explain']:.2f}) "
              f"+ post {res['post_s']:.2f} s")
        print(f"  {rate:,.0f} visits/s (target {TARGET:,}/s: "
              f"{'met' if rate >= TARGET else 'NOT met'}), peak memory "
              f"{res['peak_mib']:,.0f} MiB; load average {load_before} before, "
              f"{_load()} after")
        print(f"  second run: {res['second_run_s']:.2f} s, "
              f"{res['second_run_changes']} person-years to change (0 expected); engine "
              f"check of {res['sample']} person-years: {len(res['differ'])} differ")
        ok = res["second_run_changes"] == 0 and not res["differ"] and \
            res["adjustments"] == res["changed_visits"]
        return 0 if ok else 1
    finally:
        if not args.keep:
            _drop_postgres(args.postgres, url)


if __name__ == "__main__":
    sys.exit(main())
