"""The store: migrations equal the models, the ledger is append-only, pools stay exact."""

from __future__ import annotations

from fractions import Fraction

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from api_helpers import World, visit
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from medaid.store import db, pools
from medaid.store.metadata import Base


def test_migrations_create_what_the_models_say(world: World) -> None:
    engine = world.client.app.state.engine  # type: ignore[attr-defined]
    assert db.current(engine) == db.head()
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_the_ledger_is_append_only(world: World) -> None:
    h = world.institution()
    world.person()
    assert world.client.post("/api/v1/settlements", headers=h, json=visit()).status_code == 201
    engine = world.client.app.state.engine  # type: ignore[attr-defined]
    for statement in ("UPDATE settlements SET maf_pay = 0", "DELETE FROM settlements"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT maf_pay FROM settlements")).scalar_one() == 1440000


def test_pools_round_trip_exactly() -> None:
    p = {"main": 25000000, "tilted": Fraction(55000000, 3), "zero": 0}
    stored = pools.encode(p)
    assert stored == {"main": 25000000, "tilted": "55000000/3", "zero": 0}
    assert pools.decode(stored) == p
    d = pools.deltas({"main": 100, "tilted": Fraction(1, 3)}, p)
    assert d == {"main": 24999900, "tilted": Fraction(54999999, 3)}
    assert pools.add(p, d, -1) == {"main": 100, "tilted": Fraction(1, 3), "zero": 0}


def test_an_old_database_is_refused(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.ensure_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    with pytest.raises(Exception, match="medaid db upgrade"):
        db.ensure_schema(engine)
    engine.dispose()
