"""The settlement's write and its COMMIT on PostgreSQL, two ways, CPU time a call in-process.

    python bench/bench_write.py [--postgres URL] [--calls 400] [--rounds 2]

One settlement is made through the application (in-process) on a fresh database to take
the write's parameters (`queries.PG_SETTLE`, as `UnitOfWork.commit_with` sends it); then,
on one psycopg connection, in alternate rounds of `--calls` each (a new medins_setl_id and
setl_id a call): the statement and its COMMIT in psycopg's pipeline, as the server sends
them; and the statement `PREPARE`d once and sent as `EXECUTE …; COMMIT` in one simple query,
its values bound by psycopg's client-side cursor. Both are one round trip and hold the
audit chain's head for no round trip of the caller's. Reports the process's CPU time, the
local PostgreSQL server's (any other use of it counts too) and the wall time a call
(docs/PERFORMANCE.md, "The server's own CPU per settlement").
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_api


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--postgres", default=os.environ.get("MEDAID_TEST_POSTGRES_URL", ""))
    ap.add_argument("--calls", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    if not args.postgres:
        raise SystemExit("needs --postgres or $MEDAID_TEST_POSTGRES_URL")
    import psycopg
    from sqlalchemy.engine import make_url
    from starlette.testclient import TestClient

    from medaid.api.app import create_app
    from medaid.store import queries

    url = bench_api._fresh_postgres(args.postgres, "medaid_bench_write")
    try:
        token, body = bench_api._workload(url, 20, 1, 3)[0]
        captured: list[dict[str, Any]] = []
        execute = psycopg.Connection.execute

        def capture(conn: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
            if query == queries.PG_SETTLE:
                captured.append(dict(params))
            return execute(conn, query, params, **kwargs)

        psycopg.Connection.execute = capture  # type: ignore[method-assign, assignment]
        try:
            with TestClient(create_app(url)) as http:
                r = http.post("/api/v1/settlements", content=body, headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                assert r.status_code == 201, r.text
        finally:
            psycopg.Connection.execute = execute  # type: ignore[method-assign]
        params = captured[0]
        names: list[str] = []

        def positional(m: re.Match[str]) -> str:
            if m.group(1) not in names:
                names.append(m.group(1))
            return f"${names.index(m.group(1)) + 1}"

        prepared = re.sub(r"%\((\w+)\)s", positional, queries.PG_SETTLE)
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn) as conn:
            conn.execute("PREPARE medaid_settle AS " + prepared)
            conn.commit()
            client = psycopg.ClientCursor(conn)
            simple = ("EXECUTE medaid_settle(" + ", ".join("%s" for _ in names)
                      + "); COMMIT")
            n = 0

            def pipeline() -> None:
                p = dict(params, medins_setl_id=f"W{n}", setl_id=f"{n:032x}")
                with conn.pipeline():
                    conn.execute(queries.PG_SETTLE, p)
                    conn.execute("COMMIT")

            def prepared_simple() -> None:
                p = dict(params, medins_setl_id=f"W{n}", setl_id=f"{n:032x}")
                client.execute(simple, [p[name] for name in names])

            print(f"the write and its COMMIT, {args.calls} calls a round, load average "
                  f"{os.getloadavg()[0]:.1f}")
            for _ in range(args.rounds):
                for name, call in (("pipeline", pipeline),
                                   ("PREPARE'd, EXECUTE; COMMIT", prepared_simple)):
                    cpu, wall = time.process_time(), time.perf_counter()
                    db_cpu = bench_api._postgres_cpu_seconds()
                    for _ in range(args.calls):
                        n += 1
                        call()
                    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                    db_cpu = bench_api._postgres_cpu_seconds() - db_cpu
                    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
                    print(f"  {name:<28} {cpu / args.calls * 1000:.3f} ms CPU here, "
                          f"{db_cpu / args.calls * 1000:.3f} ms the database's, "
                          f"{wall / args.calls * 1000:.3f} ms wall a call")
            print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        bench_api._drop_postgres(args.postgres, url)


if __name__ == "__main__":
    main()
