"""The test databases, on SQLite and on PostgreSQL: empty, migrated, or seeded.

PostgreSQL runs when MEDAID_TEST_POSTGRES_URL is set (`.ci/postgres.sh` prints one). An
empty database there is a schema of its own. A migrated one is migrated once per process
(test worker): a SQLite one is a copy of a migrated file; a PostgreSQL one is a database
of the worker's, made once from a migrated template (`CREATE DATABASE … TEMPLATE`) and
put back as the migrations left it before each test: its tables truncated and the
migrations' own rows and sequences restored (making and dropping a database for each test
cost 1–2 s of checkpoints). A test that changed the schema (a trigger dropped, a grant)
gets its database dropped and a new one made. Names are unique per process, so test
workers sharing the server do not meet. A seeded one (the pages' demo year) is seeded once
per process and copied for each use.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Engine,
    MetaData,
    Table,
    Text,
    cast,
    create_engine,
    select,
    text,
)
from sqlalchemy.engine import make_url

T = TypeVar("T")
POSTGRES = os.environ.get("MEDAID_TEST_POSTGRES_URL")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.skipif(
        not POSTGRES, reason="MEDAID_TEST_POSTGRES_URL is not set (.ci/postgres.sh prints one)")),
]


def _admin() -> Engine:
    assert POSTGRES
    return create_engine(POSTGRES, isolation_level="AUTOCOMMIT")


def _database_url(name: str) -> str:
    assert POSTGRES
    return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)


def _migrate(url: str) -> None:
    from medaid.store import db

    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
    finally:
        engine.dispose()


@contextmanager
def empty_database(backend: str, directory: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file in `directory`, or a new PostgreSQL
    schema (dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'medaid.sqlite'}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        assert POSTGRES
        url = make_url(POSTGRES).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@cache
def _sqlite_template() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="medaid-template-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "medaid.sqlite"
    _migrate(f"sqlite:///{path}")
    return path


@dataclass(frozen=True)
class _Template:
    """A migrated PostgreSQL database, and how to put a copy of it back as it is."""
    name: str
    schema: str  # a fingerprint of the schema: tables, columns, triggers, grants, functions
    restore: str  # SQL: empty every table, insert the migrations' own rows, set the sequences


_SCHEMA = text("""
    SELECT md5(string_agg(item, ',' ORDER BY item)) FROM (
      SELECT concat_ws(':', 'n', nspname) FROM pg_namespace
      UNION ALL SELECT concat_ws(':', 'c', c.relname, c.relkind, c.relacl)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
      UNION ALL SELECT concat_ws(':', 'a', c.relname, a.attname, a.atttypid::regtype,
                                 a.attnotnull)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
      UNION ALL SELECT concat_ws(':', 't', tgname, tgenabled) FROM pg_trigger
        WHERE NOT tgisinternal
      UNION ALL SELECT concat_ws(':', 'k', conname) FROM pg_constraint c
        JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'
      UNION ALL SELECT concat_ws(':', 'f', proname, md5(prosrc)) FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
    ) AS s(item)""")


def _restore_sql(conn: Connection) -> str:
    """SQL that puts a database of this schema back as `conn`'s is now: every table emptied
    and its rows inserted, every sequence set; one round trip."""
    meta = MetaData()
    meta.reflect(conn)
    # as a replica: no trigger fires (the append-only tables refuse a DELETE, rightly,
    # elsewhere) and no foreign key is checked while the tables are emptied
    sql = ["SET session_replication_role = replica"]
    for table in meta.sorted_tables:  # alembic_version too: a test may set it
        sql.append(f'DELETE FROM "{table.name}"')
        # JSON has no literal form in SQLAlchemy: read and written as its exact text
        as_text = Table(table.name, MetaData(), *(
            Column(c.name, Text() if isinstance(c.type, JSON) else c.type)
            for c in table.columns))
        rows = [dict(r._mapping) for r in conn.execute(select(*(
            cast(c, Text).label(c.name) if isinstance(c.type, JSON) else c
            for c in table.columns)))]
        if rows:
            sql.append(str(as_text.insert().values(rows).compile(
                conn, compile_kwargs={"literal_binds": True})))
    sql += [f"SELECT setval('\"{seq}\"', {value}, {called})"
            for seq, value, called in conn.execute(text(
                "SELECT sequencename, coalesce(last_value, start_value), "
                "last_value IS NOT NULL FROM pg_sequences WHERE schemaname = 'public'"))]
    sql.append("SET session_replication_role = origin")
    return ";\n".join(sql)


@cache
def _postgres_template() -> _Template:
    name = f"tmpl_{uuid.uuid4().hex[:16]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    atexit.register(_drop_database, name)
    _migrate(_database_url(name))
    engine = create_engine(_database_url(name))
    try:
        with engine.connect() as conn:
            return _Template(name, conn.scalar(_SCHEMA), _restore_sql(conn))
    finally:
        engine.dispose()


_idle: list[str] = []  # this worker's migrated PostgreSQL databases not in use
# one connection kept open to each of them: a new one costs PostgreSQL a process and the
# catalogue read afresh (20 ms of each test's restore)
_kept: dict[str, Engine] = {}


def _kept_open(name: str) -> Engine:
    if name not in _kept:
        _kept[name] = create_engine(_database_url(name), isolation_level="AUTOCOMMIT",
                                    pool_size=1)
    return _kept[name]


def _restore(conn: Connection, template: _Template) -> bool:
    """Put a worker's database back as the migrations left it; False when a test changed
    its schema (then it is dropped, not reused)."""
    conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    if conn.scalar(_SCHEMA) != template.schema:
        return False
    conn.exec_driver_sql(template.restore)  # one round trip; DELETE costs less than TRUNCATE
    return True


@contextmanager
def _worker_database() -> Iterator[str]:
    """The name of one of this worker's databases, as the migrations left it."""
    template = _postgres_template()
    name = _idle.pop() if _idle else None
    if name is not None:
        with _kept_open(name).connect() as conn:
            reusable = _restore(conn, template)
        if not reusable:
            _kept.pop(name).dispose()
            _drop_database(name)
            name = None
    if name is None:
        name = f"t_{uuid.uuid4().hex[:16]}"
        admin = _admin()
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {template.name}"))
        admin.dispose()
        atexit.register(_drop_database, name)
    try:
        yield name
    finally:
        _idle.append(name)


def _drop_database(name: str) -> None:
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        admin.dispose()


@contextmanager
def migrated_database(backend: str, directory: Path) -> Iterator[str]:
    """The URL of a database at the migrations' head, with no rows but the migrations'
    own: a copy of a SQLite file, or one of this worker's PostgreSQL databases, restored."""
    if backend == "sqlite":
        path = directory / "medaid.sqlite"
        shutil.copyfile(_sqlite_template(), path)
        yield f"sqlite:///{path}"
        return
    with _worker_database() as name:
        yield _database_url(name)


_seeded: dict[tuple[str, Callable[[str], Any]], tuple[str, Any]] = {}


@contextmanager
def seeded_database(backend: str, directory: Path, seed: Callable[[str], T]
                    ) -> Iterator[tuple[str, T]]:
    """The URL of a database as `seed(url)` filled a migrated one, and what `seed` answered;
    seeded once per process: a copy of the seeded SQLite file, or one of this worker's
    PostgreSQL databases with the seeded rows put back (seeding a demo year costs seconds,
    a copy a fraction of one)."""
    key = (backend, seed)
    if key not in _seeded:
        if backend == "sqlite":
            folder = Path(tempfile.mkdtemp(prefix="medaid-seeded-"))
            atexit.register(shutil.rmtree, folder, True)
            with migrated_database(backend, folder) as url:
                made = seed(url)
            _seeded[key] = (str(folder / "medaid.sqlite"), made)
        else:
            with _worker_database() as name:
                made = seed(_database_url(name))
                engine = create_engine(_database_url(name))
                try:
                    with engine.connect() as conn:
                        _seeded[key] = (_restore_sql(conn), made)
                finally:
                    engine.dispose()
    seeded, made = _seeded[key]
    if backend == "sqlite":
        path = directory / "medaid.sqlite"
        shutil.copyfile(seeded, path)
        yield f"sqlite:///{path}", made
        return
    with _worker_database() as name:
        with _kept_open(name).connect() as conn:
            conn.exec_driver_sql(seeded)
        yield _database_url(name), made
