"""A clean database per test, on SQLite and on PostgreSQL, migrated (tests/databases.py),
and an API client over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import World
from fastapi.testclient import TestClient

from databases import BACKENDS, migrated_database
from medaid.api.app import create_app
from medaid.app import auth
from medaid.app.uow import UnitOfWork


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with migrated_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    app = create_app(database_url, docs=True)  # off by default; the tests read /openapi.json
    with UnitOfWork(app.state.sessions) as uow:
        admin = auth.issue(uow, "admin")
        uow.commit()
    with TestClient(app) as client:
        yield World(client, {"Authorization": f"Bearer {admin}"})
    app.state.engine.dispose()
