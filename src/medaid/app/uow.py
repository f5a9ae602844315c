"""The unit of work: one session, one transaction, and the lock on a person's year."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from sqlalchemy import Select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from medaid.app.ttl import TtlCache
from medaid.core.errors import Conflict
from medaid.policy.params import Num
from medaid.store import audit, pools, queries


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

    def rows(self, query: Select[*tuple[Any, ...]] | str, params: Mapping[str, Any]) -> list[Any]:
        """The rows of a read of the settlement path (a statement of `store.queries`; a
        text is the dialect's own SQL), attributes by column name. On PostgreSQL psycopg
        runs it itself, from its text compiled once, on the session's connection and in its
        transaction: SQLAlchemy's execution and result set-up cost more than the query
        (which psycopg prepares after a few runs). Only for queries whose columns need no
        conversion by SQLAlchemy there (a timestamptz comes with its zone, JSON as psycopg
        decodes it)."""
        conn = self.session.connection()
        if conn.dialect.name != "postgresql":
            if isinstance(query, str):
                return list(conn.exec_driver_sql(query, dict(params)).all())
            return list(conn.execute(query, params).all())
        from psycopg.rows import namedtuple_row  # only on PostgreSQL (the postgres extra)

        sql = query if isinstance(query, str) else queries.pg_text(query)
        with _as_sqlalchemy_errors(sql, params), \
                self._psycopg().cursor(row_factory=namedtuple_row) as cur:
            cur.execute(sql, params)
            found: list[Any] = cur.fetchall()
            return found

    def _psycopg(self) -> Any:
        """The psycopg connection under the session's (PostgreSQL)."""
        return self.session.connection().connection.dbapi_connection

    def commit(self) -> None:
        self.session.commit()

    def commit_with(self, sql: str, params: Mapping[str, Any]) -> None:
        """PostgreSQL (psycopg): run `sql` and commit, both sent in one round trip
        (psycopg's pipeline mode), so that row locks the statement takes are held for the
        database's work alone, not for a round trip and this thread's wait for the GIL.
        A database error is raised as SQLAlchemy raises it from `execute` (a constraint
        violation as IntegrityError, a lost connection as OperationalError); the
        transaction is then to be rolled back."""
        raw = self._psycopg()
        # the pipeline's exit sends both and waits for both answers
        with _as_sqlalchemy_errors(sql, params), raw.pipeline():
            raw.execute(sql, params)
            raw.execute("COMMIT")
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
        found = self.rows(queries.YEAR_FOR_UPDATE, key)
        if not found:  # the person's first settlement of the year
            conn.execute(queries.NEW_YEAR[conn.dialect.name], key)
            found = self.rows(queries.YEAR_FOR_UPDATE, key)
        return LockedYear(found[0].id, pools.decode(found[0].pools))

    def save_year(self, year: LockedYear, new: Mapping[str, Num]) -> None:
        self.session.connection().execute(queries.SAVE_YEAR, {
            "year_id": year.id, "new_pools": pools.encode(new)})


@contextmanager
def _as_sqlalchemy_errors(sql: str, params: Mapping[str, Any]) -> Iterator[None]:
    """psycopg's errors as SQLAlchemy raises them from `execute` (a constraint violation
    as IntegrityError, a lost connection as OperationalError: the API's 503), without the
    parameters in the message (ID numbers and names: db.make_engine hides them too)."""
    import psycopg  # only on PostgreSQL (the postgres extra)

    try:
        yield
    except psycopg.Error as e:
        raise DBAPIError.instance(sql, params, e, psycopg.Error, hide_parameters=True) from e


@dataclass(frozen=True, slots=True)
class LockedYear:
    id: int
    pools: dict[str, Num]
