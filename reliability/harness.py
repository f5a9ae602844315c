"""What the reliability runs share: a database for the run (a SQLite file, a fresh database
on a PostgreSQL server, or a private PostgreSQL instance that may be restarted), the
server and driver pieces of `bench/bench_api.py`, the ledger as the run left it, and
`medaid ledger verify` run as a command.

Every run listens on 127.0.0.1 only and is bounded in settlements and seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_api  # noqa: E402  (the server, the driver and the workload of the API benchmark)

free_port = bench_api._free_port
serve = bench_api._serve
stop = bench_api._stop
Http = bench_api._Http
workload = bench_api._workload
drive = bench_api._drive


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (5 min {five:.1f})"


@contextmanager
def database(kind: str, postgres: str = "") -> Iterator[str]:
    """A URL for this run alone, removed afterwards: `sqlite` (a file), `postgresql` (a new
    database on the server `postgres` names) or `private-postgresql` (its own cluster)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/run.sqlite"
    elif kind == "postgresql":
        if not postgres:
            raise SystemExit("postgresql: give --postgres URL or set MEDAID_TEST_POSTGRES_URL")
        url = bench_api._fresh_postgres(postgres)
        try:
            yield url
        finally:
            bench_api._drop_postgres(postgres, url)
    elif kind == "private-postgresql":
        with PrivatePostgres() as pg:
            yield pg.url
    else:
        raise SystemExit(f"unknown database {kind!r}")


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of this run's own (initdb into a temporary folder, a free port
    of 127.0.0.1, trust authentication for its owner `medaid`), so that it can be killed
    and restarted without touching anybody else's server. Run as root, the server runs
    as the `postgres` user, which the Debian package creates."""

    folder: Path | None = None
    port: int = 0

    @staticmethod
    def bin(name: str) -> str:
        found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                       key=lambda p: int(p.parts[-3]))
        if found:
            return str(found[-1])
        on_path = shutil.which(name)
        if on_path is None:
            raise SystemExit(f"PostgreSQL's {name} not found (bash .ci/postgres.sh installs it)")
        return on_path

    def _as_owner(self, *argv: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)

    def _ctl(self, *args: str) -> None:
        assert self.folder is not None
        subprocess.run(self._as_owner(self.bin("pg_ctl"), "-D", str(self.folder / "data"),
                                      "-l", str(self.folder / "server.log"), *args),
                       check=True, stdout=subprocess.DEVNULL)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://medaid@127.0.0.1:{self.port}/medaid"

    def __enter__(self) -> PrivatePostgres:
        self.folder = Path(tempfile.mkdtemp(prefix="medaid-pg-"))
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self.port = free_port()
        subprocess.run(self._as_owner(
            self.bin("initdb"), "-D", str(self.folder / "data"), "-U", "medaid",
            "--auth=trust", "--encoding=UTF8", "--no-locale"),
            check=True, stdout=subprocess.DEVNULL)
        with (self.folder / "data" / "postgresql.conf").open("a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.folder}'\nmax_connections = 200\n")
        self.start()
        subprocess.run([self.bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", "medaid", "medaid"], check=True)
        return self

    def start(self) -> None:
        self._ctl("start", "-w", "-t", "60")

    def crash_restart(self) -> None:
        """Stop at once, without a checkpoint (as a crash would), and start: the server
        recovers from its write-ahead log."""
        self._ctl("stop", "-m", "immediate", "-w")
        self.start()

    def __exit__(self, *_: object) -> None:
        with suppress(subprocess.CalledProcessError):  # not running
            self._ctl("stop", "-m", "immediate", "-w")
        assert self.folder is not None
        shutil.rmtree(self.folder, ignore_errors=True)


def ledger_verify(url: str) -> tuple[bool, str]:
    """`medaid ledger verify` on the run's database, as an operator runs it."""
    done = subprocess.run([sys.executable, "-m", "medaid", "ledger", "verify", "--database", url],
                          capture_output=True, text=True)
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def settled_ids(url: str) -> dict[str, list[str]]:
    """Each hospital settlement id in the ledger → the setl_ids of its `settle` entries
    (one each, if nothing was duplicated)."""
    from sqlalchemy import select

    from medaid.store import db
    from medaid.store.models import Settlement

    engine = db.make_engine(url)
    found: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for medins, setl in conn.execute(select(Settlement.medins_setl_id, Settlement.setl_id)
                                         .where(Settlement.kind == "settle")):
            found.setdefault(medins, []).append(setl)
    engine.dispose()
    return found


def exactly_once(attempted: set[str], ledger: dict[str, list[str]]) -> dict[str, list[str]]:
    """The settlement ids lost (attempted, not in the ledger), duplicated (more than one
    entry) and unknown (in the ledger, never attempted): each list empty in a good run."""
    return {"lost": sorted(attempted - set(ledger)),
            "duplicated": sorted(k for k, v in ledger.items() if len(v) > 1),
            "unknown": sorted(set(ledger) - attempted)}


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its descendants (the server and its workers)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for p in procs:
        with suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total / 2**20


def statuses_5xx(statuses: Counter[str] | dict[str, int]) -> int:
    return sum(n for s, n in statuses.items() if s.isdigit() and s.startswith("5"))



def conclude(result: dict[str, Any], report: Callable[[dict[str, Any]], bool],
             as_json: bool) -> NoReturn:
    """Print a run's figures (and, asked, its JSON); exit 0 when everything held, else 1."""
    ok = report(result)
    if as_json:
        print(json.dumps(result))
    sys.exit(0 if ok else 1)


def main(doc: str, options: Callable[[argparse.ArgumentParser], None],
         run: Callable[[str, argparse.Namespace], dict[str, Any]],
         report: Callable[[dict[str, Any]], bool]) -> NoReturn:
    """A run's command line: --database and --postgres, the run's own `options`, --json;
    then the run on its database, its figures, and the exit status."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument("--postgres", default=os.environ.get("MEDAID_TEST_POSTGRES_URL", ""),
                    help="a PostgreSQL server (the run creates a database there, then drops it)")
    options(ap)
    ap.add_argument("--json", action="store_true", help="also print the result as JSON")
    args = ap.parse_args()
    with database(args.database, args.postgres) as url:
        result = run(url, args)
    conclude(result, report, args.json)
