"""Crash: a stream of settlements with client retries while the server is killed (SIGKILL)
at random moments and restarted, and PostgreSQL is crashed and restarted once mid-stream.

    python reliability/crash.py [--database private-postgresql|sqlite]
                                [--settlements 10000] [--kills 20] [--clients 16] [--workers 1]
                                [--no-postgres-restart] [--resend 0.05] [--json]

The database: a private PostgreSQL cluster made for the run (initdb in a temporary folder,
a free port; see harness.PrivatePostgres) so that restarting it disturbs nobody, or a
SQLite file. The workload is the API benchmark's (generated visits of generated persons,
each with its own medins_setl_id). `--clients` clients send the settlements, one at a
time each; a settlement is retried with the same body until it is answered 200 or 201,
through refused connections, connections cut by the kill and 503s while the database is
down (a retry is idempotent: the ledger answers it). Some acknowledged settlements are
sent once more on purpose (`--resend`): the answer must be 200 with the same setl_id.

The server (`medaid serve`, its whole process group) is killed with SIGKILL `--kills`
times, each when a random number of settlements have been acknowledged (spread over the
stream) plus a random delay, and restarted at once on the same port; PostgreSQL is stopped
in `immediate` mode (no checkpoint: a crash, recovered from its log) and started again
once, halfway. Afterwards every attempted settlement must be in the ledger exactly once,
with the setl_id every acknowledgement of it named, nothing else may be there, and
`medaid ledger verify` must pass (pools equal to the ledger recomputed, each ledger
entry in the audit log once). Exit 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import harness

RETRY_FOR = 180.0  # seconds a client keeps retrying one settlement before giving it up
ANSWER_WITHIN = 60.0  # seconds to wait for one answer before taking the connection as lost


@contextlib.contextmanager
def _database(kind: str) -> Iterator[tuple[str, harness.PrivatePostgres | None]]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/crash.sqlite", None
    else:
        with harness.PrivatePostgres() as pg:
            yield pg.url, pg


class Stream:
    def __init__(self, url: str, work: list[tuple[str, bytes]], args: argparse.Namespace,
                 pg: harness.PrivatePostgres | None) -> None:
        self.url, self.work, self.args, self.pg = url, work, args, pg
        self.rng = random.Random(args.seed)
        self.port = harness.free_port()
        self.workers = args.workers
        self.next = 0
        self.acked: dict[str, set[str]] = {}  # medins_setl_id → setl_ids answered
        self.given_up: dict[str, str] = {}  # medins_setl_id → its last answer
        self.statuses: Counter[str] = Counter()  # every attempt's answer
        self.resent = Counter[str]()  # the on-purpose resends' answers
        self.kills = 0
        self.postgres_restarts = 0
        self.down_s = 0.0
        self.finished = False  # every client done
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def medins(body: bytes) -> str:
        return str(json.loads(body)["medins_setl_id"])

    async def _send(self, http: harness.Http, raw: bytes) -> tuple[str, bytes]:
        try:
            status, data = await asyncio.wait_for(http.send(raw), ANSWER_WITHIN)
            return str(status), data
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as e:
            return type(e).__name__, b""

    async def _answered(self, http: harness.Http, raw: bytes) -> tuple[str, bytes]:
        """Send until answered: through refused or cut connections (the server killed)
        and 503s (the database down); another answer, or RETRY_FOR seconds, ends it."""
        give_up = time.monotonic() + RETRY_FOR
        while True:
            status, data = await self._send(http, raw)
            self.statuses[status] += 1
            if not (status == "503" or not status.isdigit()) or time.monotonic() > give_up:
                return status, data
            await asyncio.sleep(self.rng.uniform(0.02, 0.1))

    async def client(self) -> None:
        http = harness.Http(f"http://127.0.0.1:{self.port}")
        try:
            while self.next < len(self.work):
                token, body = self.work[self.next]
                self.next += 1
                medins = self.medins(body)
                raw = http.request("/api/v1/settlements", token, body)
                status, data = await self._answered(http, raw)
                if status not in ("200", "201"):
                    self.given_up[medins] = status
                    continue
                self.acked.setdefault(medins, set()).add(json.loads(data)["setl_id"])
                if self.rng.random() < self.args.resend:
                    status, data = await self._answered(http, raw)
                    self.resent[status] += 1
                    if status == "200":
                        self.acked[medins].add(json.loads(data)["setl_id"])
        finally:
            await http.close()

    def _kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.kills += 1

    async def chaos(self) -> None:
        """Kill and restart the server at random points of the stream; crash PostgreSQL
        once, halfway."""
        n = len(self.work)
        points = [(k, "kill") for k in sorted(self.rng.sample(
            range(n // 20, n * 4 // 5), self.args.kills))]
        if self.pg is not None and self.args.postgres_restart:
            points.append((n // 2, "postgres"))
        for threshold, what in sorted(points):
            while len(self.acked) < threshold:
                if self.finished:
                    return
                await asyncio.sleep(0.005)
            await asyncio.sleep(self.rng.uniform(0, 0.05))  # lands anywhere in a request
            started = time.monotonic()
            if what == "kill":
                self._kill()
                self.proc = await asyncio.to_thread(harness.serve, self.url, self.workers,
                                                    self.port)
            else:
                assert self.pg is not None
                await asyncio.to_thread(self.pg.crash_restart)
                self.postgres_restarts += 1
            self.down_s += time.monotonic() - started

    async def run(self) -> float:
        self.proc = harness.serve(self.url, self.workers, self.port)
        started = time.monotonic()
        chaos = asyncio.create_task(self.chaos())
        clients = asyncio.gather(*(self.client() for _ in range(self.args.clients)))
        try:
            # a fault the chaos could not recover from (a server that does not start) ends
            # the run at once rather than after every client's retries
            both: set[asyncio.Future[Any]] = {chaos, clients}
            await asyncio.wait(both, return_when=asyncio.FIRST_EXCEPTION)
            if chaos.done() and chaos.exception() is not None:
                clients.cancel()
                chaos.result()
            await clients
            self.finished = True
            await chaos  # let a restart under way finish: no server is left behind
        finally:
            for task in (chaos, clients):
                task.cancel()
            if self.proc is not None and self.proc.poll() is None:
                harness.stop(self.proc)
        return time.monotonic() - started


def crash(url: str, pg: harness.PrivatePostgres | None, args: argparse.Namespace
          ) -> dict[str, Any]:
    work = [(t, b.encode()) for t, b in harness.workload(url, args.persons, args.settlements,
                                                        args.seed)]
    load_start = harness.load()
    stream = Stream(url, work, args, pg)
    elapsed = asyncio.run(stream.run())
    ledger = harness.settled_ids(url)
    attempted = {Stream.medins(b) for _, b in work}
    check = harness.exactly_once(attempted, ledger)
    wrong_id = sorted(m for m, ids in stream.acked.items() if ids != set(ledger.get(m, ())))
    verified, verdict = harness.ledger_verify(url)
    return {
        "database": "sqlite" if pg is None else "private postgresql",
        "settlements": len(work), "acknowledged": len(stream.acked),
        "given_up": stream.given_up, "kills": stream.kills,
        "postgres_restarts": stream.postgres_restarts, "elapsed_s": round(elapsed, 1),
        "down_s": round(stream.down_s, 1), "clients": args.clients,
        "attempts": dict(sorted(stream.statuses.items())),
        "resent": dict(stream.resent), "acknowledged_with_another_setl_id": wrong_id,
        **{k: len(v) for k, v in check.items()}, "examples": {k: v[:5] for k, v in check.items()},
        "ledger_verify_ok": verified, "ledger_verify": verdict,
        "load_start": load_start, "load_end": harness.load()}


def report(r: dict[str, Any]) -> bool:
    print(f"crash on {r['database']}: {r['settlements']} settlements by {r['clients']} "
          f"clients in {r['elapsed_s']} s; {r['kills']} SIGKILLs of the server, "
          f"{r['postgres_restarts']} PostgreSQL crash-restarts ({r['down_s']} s restarting); "
          f"load average {r['load_start']} → {r['load_end']}")
    print(f"  attempts by answer: {r['attempts']}; on-purpose resends: {r['resent']}")
    print(f"  acknowledged {r['acknowledged']}; given up {len(r['given_up'])} "
          f"{dict(list(r['given_up'].items())[:5]) or ''}")
    print(f"  ledger: lost {r['lost']}, duplicated {r['duplicated']}, unknown {r['unknown']}, "
          f"acknowledged with another setl_id {len(r['acknowledged_with_another_setl_id'])}")
    print(f"  ledger verify: {r['ledger_verify']}")
    resent_ok = set(r["resent"]) <= {"200"}
    return (r["acknowledged"] == r["settlements"] and not r["given_up"]
            and r["lost"] == r["duplicated"] == r["unknown"] == 0
            and not r["acknowledged_with_another_setl_id"] and resent_ok
            and r["ledger_verify_ok"] and harness.statuses_5xx(
                {s: n for s, n in r["attempts"].items() if s != "503"}) == 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database", choices=("private-postgresql", "sqlite"),
                    default="private-postgresql")
    ap.add_argument("--settlements", type=int, default=10_000)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, default=1, help="the server's worker processes")
    ap.add_argument("--no-postgres-restart", dest="postgres_restart", action="store_false")
    ap.add_argument("--resend", type=float, default=0.05,
                    help="share of acknowledged settlements sent once more on purpose")
    ap.add_argument("--persons", type=int, default=100, help="persons per jurisdiction")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true", help="also print the result as JSON")
    args = ap.parse_args()
    with _database(args.database) as (url, pg):
        result = crash(url, pg, args)
    harness.conclude(result, report, args.json)


if __name__ == "__main__":
    main()
