"""`medaid audit-payments` end to end on a generated Parquet export: records/s, peak memory.

Generates (numpy, a fixed seed) a Nanjing year of N settlement records for N/10 persons —
general outpatient visits and stays, amounts in yuan with two decimals, 0.5% cancelled
and settled again, a roster (Parquet) where every person is 低保 from the year's start and
2% exit in June — settles it once to obtain the right `maf_pay`, then injects known errors
(0.1% overpaid by 1.00–100.00 yuan) and writes the export. The timed part is the command
itself in a child process: read the export and roster, settle every person-year, compare,
explain every difference with the engine, write the workbook. Peak memory is the child's
maximum resident set size. The run checks that exactly the injected records are found.

    .venv/bin/python bench/bench_audit.py [--records 2000000] [--seed 7]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

YEAR_START = np.datetime64("2023-01-01", "s")


def _ids(prefix: str, k: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pa.array(k).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def generate(n: int, seed: int, folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    persons = max(1, n // 10)
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
    person = np.sort(rng.integers(0, persons, n))
    secs = YEAR_START + rng.integers(0, 364 * 86400, n).astype("timedelta64[s]")
    inpatient = rng.random(n) < 0.15
    medfee = np.where(inpatient, rng.lognormal(9.5, 0.8, n), rng.lognormal(5.5, 0.9, n))
    medfee = np.maximum(100, np.round(medfee * 100)).astype(np.int64)  # fen
    ownpay = (medfee * rng.uniform(0, 0.15, n)).astype(np.int64)
    inscp = medfee - ownpay
    hifp = (inscp * np.where(inpatient, 0.7, 0.5)).astype(np.int64)
    setl = _ids("S", np.arange(n), 10)
    mdtrt = _ids("M", np.arange(n), 10)
    columns = {
        "psn_no": certs.take(pa.array(person)).dictionary_encode(),
        "certno": certs.take(pa.array(person)).dictionary_encode(),
        "setl_id": setl, "mdtrt_id": mdtrt,
        "med_type": pa.array(np.where(inpatient, "21", "11")).dictionary_encode(),
        "setl_time": pa.array(secs),
        "fixmedins_code": pa.array(np.array([f"H3201000000{k % 10}" for k in range(20)])[
            rng.integers(0, 20, n)]).dictionary_encode(),
    }
    amounts = {"medfee_sumamt": medfee, "fulamt_ownpay_amt": ownpay,
               "overlmt_selfpay": np.zeros(n, np.int64), "preselfpay_amt": np.zeros(n, np.int64),
               "hifp_pay": hifp, "hifmi_pay": np.zeros(n, np.int64),
               "oth_pay": np.zeros(n, np.int64), "maf_pay": np.zeros(n, np.int64)}

    def table(am: dict[str, np.ndarray]) -> pa.Table:
        cols = dict(columns)
        for k, v in am.items():  # yuan with two decimals: fen as decimal128(18, 2)
            raw = np.empty((len(v), 2), np.int64)
            raw[:, 0], raw[:, 1] = v, np.where(v < 0, -1, 0)
            cols[k] = pa.Array.from_buffers(pa.decimal128(18, 2), len(v),
                                            [None, pa.py_buffer(raw.tobytes())])
        return pa.table(cols)

    export = folder / "export.parquet"
    pq.write_table(table(amounts), export, compression="lz4")
    # the right maf_pay: what medaid pays
    from medaid.audit import export as reading
    from medaid.audit import resettle
    from medaid.audit import roster as rosters
    from medaid.policy import model

    versions = model.versions("nanjing")
    out = resettle.run(reading.read_export(export),
                       rosters.read_roster(roster, versions[-1]), versions, {}, explain=False)
    maf = out.medaid.copy()
    wrong = rng.random(n) < 0.001
    maf[wrong] += rng.integers(100, 10_000, int(wrong.sum()))
    amounts["maf_pay"] = maf
    pq.write_table(table(amounts), export, compression="lz4")
    np.save(folder / "injected.npy", np.flatnonzero(wrong))
    return export, roster


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        export, roster = generate(args.records, args.seed, folder)
        print(f"generated {args.records:,} records in {time.perf_counter() - t:.1f} s")
        medaid = Path(sys.executable).with_name("medaid")
        cmd = [str(medaid), "audit-payments", str(export), "--roster", str(roster), "--policy",
               "nanjing", "--out", str(folder / "findings.xlsx")]
        t = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(done.stdout, done.stderr, sep="")
        if done.returncode != 0:
            return 1
        injected = np.load(folder / "injected.npy")
        from openpyxl import load_workbook

        ws = load_workbook(folder / "findings.xlsx", read_only=True)["差异明细"]
        found = sorted(int(r[0]) - 1 for r in ws.iter_rows(min_row=2, values_only=True))
        exact = found == sorted(injected.tolist())
        print(f"end to end: {args.records:,} records in {seconds:.1f} s = "
              f"{args.records / seconds:,.0f} records/s (process start included); "
              f"peak RSS {peak:,.0f} MiB; injected {len(injected)}, found {len(found)}, "
              f"{'exactly those' if exact else 'NOT the same'}")
        return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
