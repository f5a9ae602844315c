"""Options and helpers every `medaid` command shares."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from medaid.app.uow import UnitOfWork

DatabaseOpt = Annotated[str | None, typer.Option(
    "--database", envvar="MEDAID_DATABASE_URL",
    help="SQLAlchemy URL (default sqlite:///medaid.sqlite)")]


@contextmanager
def unit_of_work(database: str | None) -> Iterator[UnitOfWork]:
    """A unit of work on the migrated database, entered; its engine is disposed of after
    (the store is imported only when a command uses it)."""
    from medaid.app.uow import UnitOfWork
    from medaid.store import db

    engine = db.make_engine(database)
    try:
        db.ensure_schema(engine)
        with UnitOfWork(db.sessions(engine)) as uow:
            yield uow
    finally:
        engine.dispose()
