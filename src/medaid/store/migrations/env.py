"""Alembic environment: migrations run in-process on the engine `medaid.store.db` passes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from medaid.store.metadata import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise SystemExit("run migrations with `medaid db upgrade`")

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
