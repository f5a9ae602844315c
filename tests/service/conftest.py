"""A clean database per test, on SQLite and on PostgreSQL, and an API client over it.

PostgreSQL runs when MEDAID_TEST_POSTGRES_URL is set (`.ci/postgres.sh` prints one); each
test gets a schema of its own there, so test runs sharing the server do not meet.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import World
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from medaid.service import auth
from medaid.service.app import create_app
from medaid.service.uow import UnitOfWork

POSTGRES = os.environ.get("MEDAID_TEST_POSTGRES_URL")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.skipif(
        not POSTGRES, reason="MEDAID_TEST_POSTGRES_URL is not set (.ci/postgres.sh prints one)")),
]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'medaid.sqlite'}"
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


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    app = create_app(database_url)
    with UnitOfWork(app.state.sessions) as uow:
        admin = auth.issue(uow, "admin")
        uow.commit()
    with TestClient(app) as client:
        yield World(client, {"Authorization": f"Bearer {admin}"})
    app.state.engine.dispose()
