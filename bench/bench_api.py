"""Settlements per second and latency of the API over HTTP, on SQLite and on PostgreSQL.

    python bench/bench_api.py [--postgres URL] [--clients 64] [--requests 20000]
                              [--seconds 30] [--workers N] [--persons 200]
                              [--client raw|httpx]

For each database: a fresh database with a generated roster (`medaid.demo.seed`: the
five jurisdictions, `--persons` each, hospitals with tokens, local parameters); the server
(`medaid serve`, uvicorn, `--workers` processes: by default one on SQLite, whose single
writer one process serializes best, two on PostgreSQL, one a core) on a free port of
127.0.0.1; then a separate driver process: `--clients` concurrent clients (a minimal
HTTP/1.1 client by default, httpx with `--client httpx`), each with its own connection,
posting settlements of generated visits (`medaid.batch.synth`) of random
persons at their jurisdiction's hospitals, each with its own medins_setl_id, until
`--requests` are done or `--seconds` have passed. A warm-up of 500 settlements is not
counted. Reports settlements/s, p50/p99 latency, and the CPU time per request of the
server's processes, of the local PostgreSQL server's processes and of the driver (which
shares the machine), and the load average at the start and the end; any answer but 201
is counted, reported, and makes the exit status 1.

On PostgreSQL the same run also measures what the database alone allows: each settlement's
statements, exactly as the server sends them (captured from the real application settling
the same workload in-process on a second database), replayed by a minimal psycopg loop on
a third, freshly seeded one, with the same number of concurrent connections, one
transaction each (lock the person-year, the ledger entry, the pools and the audit record,
commit). The API's throughput is reported as a ratio to that loop's (target ≥ 0.6).
PostgreSQL runs when --postgres (or $MEDAID_TEST_POSTGRES_URL) names a server: the
benchmark creates its own database there and drops it after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

WARMUP = 500
TARGET_RATE, TARGET_P99_MS = 1000, 50  # on PostgreSQL
TARGET_RATIO = 0.6  # the API's throughput against the psycopg loop's


# -- the driver: a separate process ------------------------------------------------------------
class _Http:
    """A minimal HTTP/1.1 keep-alive client over one asyncio connection: the request bytes
    are built once per settlement and the answer parsed only for its status line and
    Content-Length. httpx costs 1–2 ms of CPU a request, which the driver would take from
    the server on a 2-core machine; this costs about a tenth of that."""

    def __init__(self, url: str) -> None:
        from urllib.parse import urlsplit

        u = urlsplit(url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def request(self, path: str, token: str, body: bytes) -> bytes:
        return (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        try:
            self.writer.write(raw)
            head = await self.reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            length = 0
            for line in lines[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            data = await self.reader.readexactly(length) if length else b""
            if b"connection: close" in head.lower():
                await self.close()
            return int(lines[0].split(b" ", 2)[1]), data
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def _drive(url: str, work: list[tuple[str, bytes]], clients: int, seconds: float,
                 use_httpx: bool = False) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    next_item = 0

    async def client_raw(items: list[tuple[str, bytes]], deadline: float, record: bool) -> None:
        """One hospital system: one connection, one request at a time."""
        nonlocal next_item
        http = _Http(url)
        try:
            while next_item < len(items) and time.perf_counter() < deadline:
                token, body = items[next_item]
                next_item += 1
                raw = http.request("/api/v1/settlements", token, body)
                start = time.perf_counter()
                try:
                    status = str((await http.send(raw))[0])
                except (OSError, asyncio.IncompleteReadError) as e:
                    status = type(e).__name__
                if record:
                    latencies.append(time.perf_counter() - start)
                    statuses[status] += 1
        finally:
            await http.close()

    async def client_httpx(items: list[tuple[str, bytes]], deadline: float, record: bool
                           ) -> None:
        import httpx

        nonlocal next_item
        async with httpx.AsyncClient(base_url=url, timeout=60,
                                     limits=httpx.Limits(max_connections=1)) as http:
            while next_item < len(items) and time.perf_counter() < deadline:
                token, body = items[next_item]
                next_item += 1
                start = time.perf_counter()
                try:
                    r = await http.post("/api/v1/settlements", content=body, headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json"})
                    status = str(r.status_code)
                except httpx.TransportError as e:
                    status = type(e).__name__
                if record:
                    latencies.append(time.perf_counter() - start)
                    statuses[status] += 1

    client = client_httpx if use_httpx else client_raw

    async def run(items: list[tuple[str, bytes]], record: bool) -> float:
        nonlocal next_item
        next_item = 0
        start = time.perf_counter()
        await asyncio.gather(*(client(items, start + seconds, record) for _ in range(clients)))
        return time.perf_counter() - start

    await run(work[:WARMUP], record=False)
    sent_warmup = next_item
    cpu = time.process_time()
    elapsed = await run(work[WARMUP:], record=True)
    cpu = time.process_time() - cpu
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    done = statuses["201"]
    return {"settlements": done, "elapsed_s": elapsed, "rate": done / elapsed,
            "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "driver_cpu_ms": cpu / max(1, len(latencies)) * 1000,
            "requests": sent_warmup + len(latencies),
            "statuses": dict(sorted(statuses.items()))}


def drive_main(args: argparse.Namespace) -> None:
    work = [(token, body.encode()) for token, body in json.loads(Path(args.drive).read_text())]
    try:
        import uvloop  # uvicorn[standard] brings it: the driver's own overhead, halved

        run = uvloop.run
    except ImportError:
        run = asyncio.run
    result = run(_drive(args.url, work, args.clients, args.seconds,
                        args.client == "httpx"))
    sys.stdout.write(json.dumps(result) + "\n")


# -- the harness ----------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fresh_postgres(url: str, prefix: str = "medaid_bench") -> str:
    """A new, empty database on the server of `url`, for this run alone (also
    bench_resettle.py's)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _drop_postgres(url: str, bench_url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {make_url(bench_url).database} "
                          f"WITH (FORCE)"))
    admin.dispose()


# -- the database's own limit: the server's statements replayed by psycopg -----------------------
def _statements(url: str, work: list[tuple[str, str]]) -> list[list[tuple[str, Any]]]:
    """Each settlement's statements (SQL and parameters, as the driver received them),
    from the real application settling `work` in-process on the database `url`: taken at
    psycopg's own `execute`, which every statement passes, whether SQLAlchemy sends it or
    the application does itself (the settlement path's reads and its write with COMMIT)."""
    import psycopg
    from starlette.testclient import TestClient

    from medaid.api.app import create_app

    captured: list[tuple[str, Any]] = []
    execute = psycopg.Cursor.execute

    def capture(cursor: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        captured.append((query, params))
        return execute(cursor, query, params, **kwargs)

    psycopg.Cursor.execute = capture  # type: ignore[method-assign, assignment]
    out = []
    try:
        with TestClient(create_app(url)) as http:
            for token, body in work:
                captured.clear()
                r = http.post("/api/v1/settlements", content=body, headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                if r.status_code != 201:
                    raise SystemExit(f"capturing the statements: {r.status_code} {r.text}")
                out.append(list(captured))
    finally:
        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
    return out


async def _replay(dsn: str, work: list[list[tuple[str, Any]]], clients: int,
                  seconds: float) -> dict[str, Any]:
    """`clients` psycopg connections, each settling one item at a time in a transaction of
    its statements; the rate and latencies of the items after the warm-up."""
    import psycopg

    latencies: list[float] = []
    next_item = 0
    # opened once: a backend's CPU time is read from /proc while it is alive
    conns = [await psycopg.AsyncConnection.connect(dsn) for _ in range(clients)]

    async def client(conn: Any, items: list[list[tuple[str, Any]]], deadline: float,
                     record: bool) -> None:
        nonlocal next_item
        while next_item < len(items) and time.perf_counter() < deadline:
            statements = items[next_item]
            next_item += 1
            start = time.perf_counter()
            for i, (sql, params) in enumerate(statements):
                if sql == "COMMIT":
                    continue  # sent with the statement before it
                if statements[i + 1:i + 2] and statements[i + 1][0] == "COMMIT":
                    async with conn.pipeline():  # as the server sends them: one round trip
                        await conn.execute(sql, params)
                        await conn.execute("COMMIT")
                else:
                    await conn.execute(sql, params)
            await conn.commit()
            if record:
                latencies.append(time.perf_counter() - start)

    async def run(items: list[list[tuple[str, Any]]], record: bool) -> float:
        nonlocal next_item
        next_item = 0
        start = time.perf_counter()
        await asyncio.gather(*(client(c, items, start + seconds, record) for c in conns))
        return time.perf_counter() - start

    try:
        await run(work[:WARMUP], record=False)
        db_cpu = _postgres_cpu_seconds()
        elapsed = await run(work[WARMUP:], record=True)
        db_cpu = _postgres_cpu_seconds() - db_cpu
    finally:
        for c in conns:
            await c.close()
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {"settlements": len(latencies), "rate": len(latencies) / elapsed,
            "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "db_cpu_ms": db_cpu / max(1, len(latencies)) * 1000}


def baseline(server: str, args: argparse.Namespace) -> dict[str, Any]:
    """The psycopg loop on PostgreSQL: capture on one fresh database, replay on another."""
    from sqlalchemy.engine import make_url

    source, target = (_fresh_postgres(server, f"medaid_bench_{k}") for k in ("src", "dst"))
    try:
        statements = _statements(source, _workload(source, args.persons,
                                                   args.requests + WARMUP, args.seed))
        _workload(target, args.persons, 0, args.seed)  # the same roster, seeded alike
        _same_years(source, target)
        dsn = make_url(target).set(drivername="postgresql").render_as_string(
            hide_password=False)
        return asyncio.run(_replay(dsn, statements, args.clients, args.seconds))
    finally:
        for url in (source, target):
            _drop_postgres(server, url)


def _same_years(source: str, target: str) -> None:
    """The persons' year rows of the capture made first on the replay's database, with
    their ids: a settlement's write names its locked year by id, and the loop's concurrent
    first settlements of a year would number the rows otherwise (and lock one row, update
    another); and the capture's tokens, whose rows the settlement's read looks up."""
    from sqlalchemy import create_engine, text

    engine = create_engine(source)
    with engine.connect() as conn:
        years = [r._asdict() for r in conn.execute(text(
            "SELECT id, person_id, year FROM person_years ORDER BY id"))]
        tokens = [r._asdict() for r in conn.execute(text(
            "SELECT id, token_hash FROM tokens ORDER BY id"))]
    engine.dispose()
    engine = create_engine(target)
    with engine.begin() as conn:
        # the same tokens (the seed draws each anew): the settlement's read finds the
        # caller's token and locks the year only for a token that may settle
        conn.execute(text("UPDATE tokens SET token_hash = 'old:' || id"))
        conn.execute(text("UPDATE tokens SET token_hash = :token_hash WHERE id = :id"), tokens)
        if years:
            conn.execute(text("INSERT INTO person_years (id, person_id, year, pools, version) "
                              "VALUES (:id, :person_id, :year, '{}', 0)"), years)
        conn.execute(text("SELECT setval(pg_get_serial_sequence('person_years', 'id'), "
                          "(SELECT coalesce(max(id), 0) + 1 FROM person_years), false)"))
    engine.dispose()


def _workload(url: str, persons: int, n: int, seed: int) -> list[tuple[str, str]]:
    """Seed the roster; (token, request body) for `n` settlements of generated visits."""
    from medaid.app.uow import UnitOfWork
    from medaid.batch import synth
    from medaid.core.money import to_yuan
    from medaid.demo import seed as demo
    from medaid.engine.case import dumps
    from medaid.store import db

    engine = db.make_engine(url)
    db.upgrade(engine)
    with UnitOfWork(db.sessions(engine)) as uow:
        seeded = demo.seed(uow, persons)
    engine.dispose()
    rng = random.Random(seed)
    hospitals: dict[str, list[str]] = {}
    for h in seeded.hospitals:
        hospitals.setdefault(h.jurisdiction, []).append(h.token)
    roster = [(j, f"{district}{k + 1:010d}")
              for j, districts in demo.DISTRICTS.items()
              for k in range(persons) for district in [districts[k % len(districts)][0]]]
    out = []
    for i in range(n):
        jurisdiction, psn_no = rng.choice(roster)
        v = synth.generate_year(rng, jurisdiction, seeded.year, 1)[0]
        body: dict[str, Any] = {
            "medins_setl_id": f"B{i:07d}", "mdtrt_id": f"M{i:07d}", "psn_no": psn_no,
            "kind": v.kind, "start": str(v.start), "end": str(v.end),
            "location": v.location, "referral": v.referral}
        for name in ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay",
                     "preselfpay_amt", "hifp_pay", "hifmi_pay", "oth_pay"):
            body[name] = to_yuan(getattr(v, name))
        out.append((rng.choice(hospitals[jurisdiction]), dumps(body)))
    return out


def _serve(url: str, workers: int, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "medaid", "serve", "--port", str(port), "--workers",
         str(workers), "--database", url], stdout=subprocess.DEVNULL, start_new_session=True)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    _stop(proc)
    raise SystemExit("the server did not start")


def _cpu_seconds(root: int) -> float:
    """CPU time of a process and its descendants (Linux /proc; 0 elsewhere)."""
    parent: dict[int, int] = {}
    used: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parent[pid] = int(fields[1])
        used[pid] = (int(fields[11]) + int(fields[12])) / tick
    tree, i = [root], 0
    while i < len(tree):
        tree += [pid for pid, ppid in parent.items() if ppid == tree[i]]
        i += 1
    return sum(used.get(pid, 0.0) for pid in tree)


def _postgres_cpu_seconds() -> float:
    """CPU time of this machine's PostgreSQL processes (a local server; other databases of
    the same server count too): Linux /proc, 0 elsewhere."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text.split("(", 1)[1].split(")", 1)[0] == "postgres":
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)  # the server and its workers: a group of its own
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def bench(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    work = _workload(url, args.persons, args.requests + WARMUP, args.seed)
    port = _free_port()
    workers = args.workers or (1 if name == "SQLite" else 2)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(work, f)
    proc = _serve(url, workers, port)
    cpu, db_cpu = _cpu_seconds(proc.pid), _postgres_cpu_seconds()
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--drive", f.name, "--url", f"http://127.0.0.1:{port}",
             "--clients", str(args.clients), "--seconds", str(args.seconds),
             "--client", args.client],
            capture_output=True, text=True, check=True)
        cpu = _cpu_seconds(proc.pid) - cpu
        db_cpu = _postgres_cpu_seconds() - db_cpu
    finally:
        _stop(proc)
        os.unlink(f.name)
    result: dict[str, Any] = json.loads(done.stdout)
    result["database"] = name
    result["workers"] = workers
    result["server_cpu_ms"] = cpu / max(1, result["requests"]) * 1000
    result["db_cpu_ms"] = db_cpu / max(1, result["requests"]) * 1000 if name != "SQLite" else None
    return result


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--postgres", default=os.environ.get("MEDAID_TEST_POSTGRES_URL", ""),
                    help="a PostgreSQL server URL (empty: SQLite only)")
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--workers", type=int, help="uvicorn worker processes "
                    "(default: 1 on SQLite, 2 on PostgreSQL)")
    ap.add_argument("--persons", type=int, default=200, help="persons per jurisdiction")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    ap.add_argument("--client", choices=("raw", "httpx"), default="raw",
                    help="the driver's HTTP client: a minimal HTTP/1.1 one (default) or httpx")
    ap.add_argument("--no-loop", action="store_true",
                    help="on PostgreSQL, the API alone: not the psycopg loop after it")
    ap.add_argument("--drive", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.drive:
        drive_main(args)
        return
    print(f"API benchmark: {args.clients} clients, up to {args.requests} settlements or "
          f"{args.seconds:g} s; {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {_load()}")
    results = []
    loop: dict[str, Any] = {}  # the psycopg loop on PostgreSQL
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "sqlite"):
            results.append(bench("SQLite", f"sqlite:///{tmp}/bench.sqlite", args))
        if args.only in (None, "postgresql"):
            if not args.postgres:
                print("PostgreSQL: skipped (no --postgres and no $MEDAID_TEST_POSTGRES_URL)")
            else:
                url = _fresh_postgres(args.postgres)
                try:
                    results.append(bench("PostgreSQL", url, args))
                finally:
                    _drop_postgres(args.postgres, url)
                if not args.no_loop:
                    loop = baseline(args.postgres, args)
    print(f"load average at the end {_load()}")
    print(f"{'database':<12}{'workers':>8}{'settlements':>12}{'per s':>8}{'p50 ms':>8}"
          f"{'p99 ms':>8}  CPU ms a request: server, database, driver  answers")
    for r in results:
        db_cpu = "-" if r["db_cpu_ms"] is None else f"{r['db_cpu_ms']:.2f}"
        print(f"{r['database']:<12}{r['workers']:>8}{r['settlements']:>12}{r['rate']:>8.0f}"
              f"{r['p50_ms']:>8.1f}{r['p99_ms']:>8.1f}  {r['server_cpu_ms']:>18.2f}"
              f"{db_cpu:>10}{r['driver_cpu_ms']:>8.2f}  {r['statuses']}")
        failed |= set(r["statuses"]) != {"201"}
        if r["database"] == "PostgreSQL":
            met = r["rate"] >= TARGET_RATE and r["p99_ms"] <= TARGET_P99_MS
            print(f"target on PostgreSQL: ≥ {TARGET_RATE}/s with p99 ≤ {TARGET_P99_MS} ms: "
                  f"{'met' if met else 'not met'}")
            if not loop:
                continue
            ratio = r["rate"] / loop["rate"]
            print(f"psycopg loop, the same statements: {loop['settlements']} settlements, "
                  f"{loop['rate']:.0f}/s, p50 {loop['p50_ms']:.1f} ms, p99 "
                  f"{loop['p99_ms']:.1f} ms, database CPU {loop['db_cpu_ms']:.2f} ms a "
                  f"settlement; the API's throughput is {ratio:.2f} of it (target ≥ "
                  f"{TARGET_RATIO}: {'met' if ratio >= TARGET_RATIO else 'not met'})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
