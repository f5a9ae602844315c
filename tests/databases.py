"""The test databases: an empty one per use, on SQLite and on PostgreSQL.

PostgreSQL runs when MEDAID_TEST_POSTGRES_URL is set (`.ci/postgres.sh` prints one); each
database there is a schema of its own, so test runs sharing the server do not meet.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES = os.environ.get("MEDAID_TEST_POSTGRES_URL")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.skipif(
        not POSTGRES, reason="MEDAID_TEST_POSTGRES_URL is not set (.ci/postgres.sh prints one)")),
]


@contextmanager
def empty_database(backend: str, directory: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file in `directory`, or a new PostgreSQL
    schema (dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'medaid.sqlite'}"
        return
    assert POSTGRES
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        url = make_url(POSTGRES).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
