"""`medaid simulate` at scale: wall time and peak memory, partition by partition.

    python bench/bench_stream.py [--persons P] [--tile T] [--jurisdiction J] [--data DIR]
                                 [--reform R.yaml] [--partition-visits N] [--cluster]

Writes a year of P persons with `medaid synth` (about 15.5 visits each), tiles it T times
(the persons repeated under new keys, row group by row group, so the big file is sorted
by person with a row group per 4,000 persons, as `synth` writes it), then runs the
command `medaid simulate` on it in a child process and reports the child's wall time,
visits per second and peak resident memory (`ru_maxrss`). Files are kept in `--data`
(default: a temporary folder, removed) and reused by a later run with the same arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from medaid.batch import schema, synthfile

CHILD = """
import json, resource, sys, time
from medaid.cli.main import main
sys.argv = ["medaid", "simulate", *json.loads(sys.argv[1])]
start = time.perf_counter()
code = 0
try:
    main()
except SystemExit as e:
    code = e.code or 0
print(json.dumps({"seconds": time.perf_counter() - start, "code": code,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}),
      file=sys.stderr)
"""


def tile(src: Path, dst: Path, times: int) -> int:
    """The population `times` over, persons under new keys; returns the visits written."""
    meta = schema.read_meta(src)
    visits = pq.ParquetFile(src)
    persons = pq.ParquetFile(src.parent / meta.persons)
    n = persons.metadata.num_rows
    out = schema.Meta(schema.persons_path(dst).name, meta.local,
                      {**meta.extra, "tiled": times})
    written = 0
    with schema.PopulationWriter(dst, out) as w:
        for t in range(times):
            for g in range(visits.metadata.num_row_groups):
                v = visits.read_row_group(g)
                p = persons.read_row_group(g) if g < persons.metadata.num_row_groups \
                    else persons.schema_arrow.empty_table()
                w.write(v.set_column(0, "person_key", pc.add(v.column("person_key"), t * n)),
                        p.set_column(0, "person_key", pc.add(p.column("person_key"), t * n)))
                written += v.num_rows
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--persons", type=int, default=130_000, help="persons to generate")
    ap.add_argument("--tile", type=int, default=10, help="copies of them in the big file")
    ap.add_argument("--jurisdiction", default="nanjing")
    ap.add_argument("--year", type=int, default=2023)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--data", type=Path, help="folder for the files (kept)")
    ap.add_argument("--reform", type=Path, help="also settle under this reform")
    ap.add_argument("--partition-visits", type=int, default=1_000_000)
    ap.add_argument("--cluster", action="store_true", help="on a local Dask cluster")
    args = ap.parse_args(argv)

    if args.data is None:
        with tempfile.TemporaryDirectory(prefix="medaid-stream-") as tmp:
            return run(args, Path(tmp))
    args.data.mkdir(parents=True, exist_ok=True)
    return run(args, args.data)


def run(args: argparse.Namespace, folder: Path) -> int:
    j = args.jurisdiction
    base = folder / f"{j}-{args.year}-{args.persons}-{args.seed}.parquet"
    if not base.exists():
        t = time.perf_counter()
        _, n = synthfile.write(j, args.persons, args.year, base, args.seed)
        print(f"synth: {n:,} visits of {args.persons:,} persons in "
              f"{time.perf_counter() - t:.0f} s", flush=True)
    big = base.with_name(base.stem + f"-x{args.tile}.parquet")
    if not big.exists():
        t = time.perf_counter()
        n = tile(base, big, args.tile)
        print(f"tile ×{args.tile}: {n:,} visits in {time.perf_counter() - t:.0f} s",
              flush=True)
    visits = pq.ParquetFile(big).metadata.num_rows
    size = big.stat().st_size + schema.persons_path(big).stat().st_size
    command = [str(big), "--policy", j, "--partition-visits", str(args.partition_visits)]
    if args.reform:
        command += ["--reform", str(args.reform)]
    if args.cluster:
        command += ["--cluster", "local"]
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(command)],
                          capture_output=True, text=True, check=False)
    figures = json.loads(done.stderr.strip().splitlines()[-1])
    if figures["code"]:
        print(done.stdout + done.stderr)
        return 1
    head = next((line for line in done.stdout.splitlines() if "settled" in line), "")
    seconds, rss = figures["seconds"], figures["maxrss_kb"] / 2**20
    print(f"medaid simulate {' '.join(command)}")
    print(f"  {head.strip()}")
    print(f"  {visits:,} visits ({size / 2**30:.1f} GiB of Parquet): {seconds:.1f} s in the "
          f"command, {visits / seconds:,.0f} visits/s; peak RSS {rss:.2f} GiB; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
