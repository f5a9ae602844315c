"""Connecting to the database and migrating it: SQLite by default, PostgreSQL by URL.

SQLite allows one writer at a time; every transaction here starts with BEGIN IMMEDIATE so
that two settlements of the same person cannot both read the pools before either writes
(the row lock `SELECT … FOR UPDATE` does that on PostgreSQL). `reading` is for a single
read outside any unit of work (a token look-up): it takes no write lock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from medaid.core.errors import MedaidError

DEFAULT_URL = "sqlite:///medaid.sqlite"
DEFERRED = "medaid_deferred"  # execution option: this SQLite transaction only reads
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_SECONDS = 30
# Connections a process keeps open: at least the worker threads that use them at once
# (api.app sets that many), since opening one to PostgreSQL costs a process and an
# authentication handshake, far more than a settlement.
POOL_SIZE = 20


def database_url(url: str | None = None) -> str:
    """The URL given, else $MEDAID_DATABASE_URL, else a SQLite file in the working folder."""
    return url or os.environ.get("MEDAID_DATABASE_URL") or DEFAULT_URL


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    u = make_url(database_url(url))
    # Statements' parameters hold ID numbers and names: never in a log (SQL logging, an
    # error's message), whoever turns logging on.
    kwargs.setdefault("hide_parameters", True)
    if u.get_backend_name() == "sqlite":
        engine = create_engine(u, connect_args={"timeout": SQLITE_BUSY_SECONDS},
                               pool_size=POOL_SIZE, max_overflow=10, **kwargs)
        _sqlite_single_writer(engine)
        return engine
    if u.get_backend_name() == "postgresql" and u.get_driver_name() in ("", "psycopg2"):
        u = u.set(drivername="postgresql+psycopg")  # psycopg 3 is the driver medaid ships
    return create_engine(u, pool_size=POOL_SIZE, max_overflow=10, **kwargs)


def _sqlite_single_writer(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # the driver's own BEGIN would be DEFERRED
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        deferred = conn.get_execution_options().get(DEFERRED)
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for one read: autocommit on PostgreSQL (no BEGIN, no ROLLBACK), a
    deferred transaction on SQLite (which in WAL mode waits for no writer)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            yield conn.execution_options(**{DEFERRED: True})
        else:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to `revision` (Alembic, run in-process)."""
    command.upgrade(_config(engine), revision)


def head() -> str:
    found = ScriptDirectory.from_config(_config()).get_current_head()
    assert found is not None
    return found


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_schema(engine: Engine) -> None:
    """Migrate an empty database; refuse one that is at another revision than this code's."""
    if not inspect(engine).get_table_names():
        upgrade(engine)
        return
    have, want = current(engine), head()
    if have != want:
        raise MedaidError(f"database is at revision {have}, this medaid needs {want}: "
                           f"run `medaid db upgrade`")
