"""Soak: many concurrent settlement clients against a real `medaid serve` for a long time.

    python reliability/soak.py [--database postgresql|sqlite] [--postgres URL]
                               [--clients 200] [--seconds 600] [--max-settlements 2000000]
                               [--workers N] [--persons 200] [--json]

A fresh database with the API benchmark's generated roster (`bench/bench_api.py`); the
server (`medaid serve`, `--workers` processes: default 2 on PostgreSQL, 1 on SQLite) on a
free port of 127.0.0.1; then the benchmark's driver: `--clients` keep-alive clients, each
posting settlements one at a time, every one with a new medins_setl_id (visits generated
by `medaid.batch.synth`, reused in turn), until `--seconds` have passed or `--max-settlements`
were sent. Reports the answers by status, settlements/s, p50/p99 latency and the server's
resident memory (all its processes) at the start, the peak and the end. Then
`medaid ledger verify`, and the ledger compared with the ids sent: each settled exactly
once. Exit 1 on any answer but 201 (a 5xx above all), a lost or duplicated settlement or a
ledger that does not verify.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, overload

import harness
from medaid.engine.case import dumps


class Endless(Sequence[tuple[str, bytes]]):
    """Settlement requests made on demand from a few thousand generated ones, each with a
    medins_setl_id and mdtrt_id of its own: the driver of bench_api takes any sequence,
    and a soak needs more settlements than are worth generating ahead. `sent` keeps every
    id handed out, to compare with the ledger."""

    def __init__(self, templates: list[tuple[str, dict[str, Any]]], length: int,
                 offset: int = 0, sent: set[str] | None = None) -> None:
        self.templates, self.length, self.offset = templates, length, offset
        self.sent: set[str] = set() if sent is None else sent

    def __len__(self) -> int:
        return self.length

    @overload
    def __getitem__(self, i: int) -> tuple[str, bytes]: ...
    @overload
    def __getitem__(self, i: slice) -> Endless: ...
    def __getitem__(self, i: int | slice) -> tuple[str, bytes] | Endless:
        if isinstance(i, slice):
            start, stop, _ = i.indices(self.length)
            return Endless(self.templates, stop - start, self.offset + start, self.sent)
        n = self.offset + i
        token, body = self.templates[n % len(self.templates)]
        medins = f"K{n:09d}"
        self.sent.add(medins)
        return token, dumps({**body, "medins_setl_id": medins, "mdtrt_id": f"D{n:09d}"},
                            indent=None).encode()


def soak(url: str, args: argparse.Namespace) -> dict[str, Any]:
    generated = harness.workload(url, args.persons, 5000, args.seed)
    templates = [(t, json.loads(b, parse_float=Decimal)) for t, b in generated]
    work = Endless(templates, args.max_settlements)
    port = harness.free_port()
    workers = args.workers or (1 if url.startswith("sqlite") else 2)
    proc = harness.serve(url, workers, port)
    rss = {"start": harness.rss_mib(proc.pid), "peak": 0.0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(1.0):
            rss["peak"] = max(rss["peak"], harness.rss_mib(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    load_start = harness.load()
    try:
        result: dict[str, Any] = asyncio.run(harness.drive(
            f"http://127.0.0.1:{port}", work, args.clients, args.seconds))
        rss["end"] = harness.rss_mib(proc.pid)
        rss["peak"] = max(rss["peak"], rss["end"])
        alive = proc.poll() is None
    finally:
        done.set()
        harness.stop(proc)
    started = time.perf_counter()
    verified, verdict = harness.ledger_verify(url)
    result.update(
        database=url.split(":", 1)[0].split("+")[0], workers=workers, clients=args.clients,
        seconds=args.seconds, load_start=load_start, load_end=harness.load(),
        rss_mib={k: round(v, 1) for k, v in rss.items()}, server_alive=alive,
        ledger_verify=verdict, ledger_verify_ok=verified,
        ledger_verify_s=round(time.perf_counter() - started, 1),
        sent=len(work.sent),
        **{k: len(v) for k, v in harness.exactly_once(work.sent,
                                                     harness.settled_ids(url)).items()})
    return result


def report(r: dict[str, Any]) -> bool:
    errors = {s: n for s, n in r["statuses"].items() if s != "201"}
    print(f"soak on {r['database']} ({r['workers']} workers), {r['clients']} clients, "
          f"{r['elapsed_s']:.0f} s; load average {r['load_start']} → {r['load_end']}")
    print(f"  settlements: {r['settlements']} answered 201 in the measured part "
          f"({r['sent']} sent in all, warm-up included); {r['rate']:.0f}/s, "
          f"p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms")
    print(f"  answers: {r['statuses']}; other than 201: {errors or 'none'}; "
          f"5xx: {harness.statuses_5xx(r['statuses'])}")
    print(f"  server RSS (MiB): start {r['rss_mib']['start']}, peak {r['rss_mib']['peak']}, "
          f"end {r['rss_mib']['end']}; still running at the end: {r['server_alive']}")
    print(f"  ledger: lost {r['lost']}, duplicated {r['duplicated']}, unknown {r['unknown']}; "
          f"ledger verify ({r['ledger_verify_s']} s): {r['ledger_verify']}")
    return (not errors and r["lost"] == r["duplicated"] == r["unknown"] == 0
            and r["ledger_verify_ok"] and r["server_alive"])


def _options(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--max-settlements", type=int, default=2_000_000)
    ap.add_argument("--workers", type=int)
    ap.add_argument("--persons", type=int, default=200, help="persons per jurisdiction")
    ap.add_argument("--seed", type=int, default=1)


def main() -> None:
    harness.main(__doc__ or "", _options, soak, report)

if __name__ == "__main__":
    main()
