"""The test databases, on SQLite and on PostgreSQL: empty, or migrated from a template.

PostgreSQL runs when MEDAID_TEST_POSTGRES_URL is set (`.ci/postgres.sh` prints one). An
empty database there is a schema of its own; a migrated one is a database copied from a
template this process migrated once (`CREATE DATABASE … TEMPLATE`), as a SQLite one is a
copy of a migrated file: migrating anew for every test cost half a second each. Names
are unique per process, so test workers sharing the server do not meet.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

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


@cache
def _postgres_template() -> str:
    name = f"tmpl_{uuid.uuid4().hex[:16]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    atexit.register(_drop_database, name)
    _migrate(_database_url(name))
    return name


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
    own: a copy of a SQLite file, or a PostgreSQL database made from a template."""
    if backend == "sqlite":
        path = directory / "medaid.sqlite"
        shutil.copyfile(_sqlite_template(), path)
        yield f"sqlite:///{path}"
        return
    template = _postgres_template()
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
    admin.dispose()
    try:
        yield _database_url(name)
    finally:
        _drop_database(name)
