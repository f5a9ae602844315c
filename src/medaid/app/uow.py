"""The unit of work: one session, one transaction, and the lock on a person's year."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from medaid.app.ttl import TtlCache
from medaid.core.errors import Conflict
from medaid.policy.params import Num
from medaid.store import audit, pools, queries
from medaid.store.models import PersonYear


class UnitOfWork:
    """A session opened on first use; the use case commits, anything else is rolled back.

    `cache` holds rarely changing rows between units of work of one application (none by
    default: every read goes to the database)."""

    def __init__(self, sessions: sessionmaker[Session], cache: TtlCache | None = None) -> None:
        self._sessions = sessions
        self._session: Session | None = None
        self.cache = cache if cache is not None else TtlCache(seconds=0)

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._sessions()
        return self._session

    @property
    def open(self) -> bool:
        return self._session is not None

    def commit(self) -> None:
        self.session.commit()

    def commit_with(self, sql: str, params: Mapping[str, Any]) -> None:
        """PostgreSQL (psycopg): run `sql` and commit, both sent in one round trip
        (psycopg's pipeline mode), so that row locks the statement takes are held for the
        database's work alone, not for a round trip and this thread's wait for the GIL.
        A database error is raised as SQLAlchemy raises it from `execute` (a constraint
        violation as IntegrityError, a lost connection as OperationalError); the
        transaction is then to be rolled back."""
        import psycopg  # only on PostgreSQL (the postgres extra)

        raw = self.session.connection().connection.dbapi_connection
        assert isinstance(raw, psycopg.Connection)
        try:
            with raw.pipeline():  # its exit sends both and waits for both answers
                raw.execute(sql, params)
                raw.execute("COMMIT")
        except psycopg.Error as e:
            raise DBAPIError.instance(sql, params, e, psycopg.Error) from e
        self.session.commit()  # SQLAlchemy's side of the commit: nothing left to send

    def commit_audited(self, subject: str, action: str, obj: str, detail: dict[str, Any],
                       conflict: str | None = None) -> None:
        """Write what the session holds, append its audit entry (taken last: it locks the
        chain's head until the commit) and commit. With `conflict`, a unique key already
        taken is that 409; without it, an IntegrityError is not expected and propagates."""
        try:
            self.session.flush()
            audit.append(self.session.connection(), subject, action, obj, detail)
            self.commit()
        except IntegrityError:
            if conflict is None:
                raise
            self.rollback()
            raise Conflict(conflict) from None

    def rollback(self) -> None:
        self.session.rollback()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def lock_year(self, person_id: int, year: int) -> LockedYear:
        """The person's pools of `year`, locked until commit (created empty if new).

        On PostgreSQL the row lock (FOR UPDATE) makes a second settlement of the same person
        wait here; on SQLite the transaction already holds the one write lock."""
        conn = self.session.connection()
        key = {"person_id": person_id, "year": year}
        row = conn.execute(queries.YEAR_FOR_UPDATE, key).first()
        if row is None:  # the person's first settlement of the year
            make = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            conn.execute(make(PersonYear).values(person_id=person_id, year=year, pools={},
                                                 version=0)
                         .on_conflict_do_nothing(index_elements=["person_id", "year"]))
            row = conn.execute(queries.YEAR_FOR_UPDATE, key).one()
        return LockedYear(row.id, pools.decode(row.pools))

    def save_year(self, year: LockedYear, new: Mapping[str, Num]) -> None:
        self.session.connection().execute(queries.SAVE_YEAR, {
            "year_id": year.id, "new_pools": pools.encode(new)})


@dataclass(frozen=True, slots=True)
class LockedYear:
    id: int
    pools: dict[str, Num]
