"""Backup and restore of a SQLite database with SQLite's online backup API.

`backup` copies a consistent snapshot while the service runs (writers wait at most for one
step of the copy), into a single self-contained file (rollback journal, not WAL), checked
with `PRAGMA integrity_check`. `restore` first checks the backup — integrity, the schema
revision this medaid needs, the ledger and the audit chain — then copies it over the
target, which must be empty unless `force`; the service must be stopped while it runs.

PostgreSQL is backed up with its own tools (pg_dump -Fc / pg_restore): see
docs/RELIABILITY.md.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from medaid.core.errors import MedaidError
from medaid.store import audit, db, ledger_check

PAGES_PER_STEP = 1024  # pages copied per step: writers wait at most this long
PG_PROCEDURE = ("PostgreSQL is backed up with pg_dump -Fc and restored with pg_restore: "
                "see docs/RELIABILITY.md")


@dataclass(frozen=True, slots=True)
class Checked:
    """What a database file holds, checked."""

    revision: str | None
    ledger: ledger_check.LedgerReport
    audit: audit.Verdict

    @property
    def ok(self) -> bool:
        return self.ledger.ok and self.audit.ok

    def summary(self) -> str:
        n, years = self.ledger.settlements, self.ledger.person_years
        ledger = (f"账目无误 {n} 笔结算、{years} 个人员年度 / ledger ok: {n} settlements, "
                  f"{years} person-years" if self.ledger.ok
                  else f"账目有误 {self.ledger.problem_count} 处 / ledger: "
                       f"{self.ledger.problem_count} problems")
        chain = (f"审计日志完整 {self.audit.entries} 条 / audit ok, {self.audit.entries} entries"
                 if self.audit.ok else f"审计日志断链 / audit log broken: {self.audit.problem}")
        return f"数据库版本 / revision {self.revision}；{ledger}；{chain}"


def sqlite_path(url: str | None) -> Path:
    """The file of a SQLite URL; refuses any other database."""
    u = make_url(db.database_url(url))
    if u.get_backend_name() != "sqlite":
        raise MedaidError(f"{u.get_backend_name()}: {PG_PROCEDURE}"
                          if u.get_backend_name() == "postgresql"
                          else f"backup and restore are for SQLite, not {u.get_backend_name()}")
    if not u.database or u.database == ":memory:" or u.database.startswith("file:"):
        raise MedaidError(f"{u.render_as_string()}: a SQLite database file is needed")
    return Path(u.database)


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]


def is_empty(path: Path) -> bool:
    """No file, an empty file, or a database without tables."""
    if not path.exists() or path.stat().st_size == 0:
        return True
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return not _tables(conn)


def _integrity(conn: sqlite3.Connection, path: Path) -> None:
    found = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    if found != ["ok"]:
        raise MedaidError(f"{path}: integrity check failed: {'; '.join(found[:5])}")


def check(path: Path) -> Checked:
    """Integrity, revision, ledger and audit chain of a SQLite file, read-only."""
    if not path.is_file():
        raise MedaidError(f"{path}: no such file")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as raw:
            _integrity(raw, path)
            tables = _tables(raw)
    except sqlite3.DatabaseError as e:
        raise MedaidError(f"{path}: not a SQLite database ({e})") from None
    if "alembic_version" not in tables or "settlements" not in tables:
        raise MedaidError(f"{path}: not a medaid database")
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with engine.connect() as conn:
            revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version"
                                            ).scalar()
            return Checked(revision, ledger_check.verify(conn), audit.verify(conn))
    finally:
        engine.dispose()


def backup(url: str | None, target: Path, force: bool = False) -> Checked:
    """Copy the SQLite database of `url` into `target` (a new file unless `force`)."""
    source = sqlite_path(url)
    if not source.is_file() or is_empty(source):
        raise MedaidError(f"{source}: no database to back up")
    if target.exists() and not force:
        raise MedaidError(f"{target} exists: choose another file, or --force to replace it")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        with closing(sqlite3.connect(source, timeout=db.SQLITE_BUSY_SECONDS)) as src, \
                closing(sqlite3.connect(partial)) as dst:
            src.backup(dst, pages=PAGES_PER_STEP)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            _integrity(dst, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return check(target)


def restore(backup_file: Path, url: str | None, force: bool = False) -> Checked:
    """Copy `backup_file` over the SQLite database of `url`, after checking it; the target
    must be empty unless `force`. What the restored database holds, checked again."""
    target = sqlite_path(url)
    found = check(backup_file)
    if found.revision != db.head():
        raise MedaidError(f"{backup_file}: at revision {found.revision}, this medaid needs "
                          f"{db.head()}: restore it with the medaid that wrote it, then "
                          f"`medaid db upgrade`")
    if not found.ok:
        raise MedaidError(f"{backup_file}: refused, it does not verify: {found.summary()}")
    if target.resolve() == backup_file.resolve():
        raise MedaidError(f"{backup_file} is the database itself")
    if not is_empty(target) and not force:
        raise MedaidError(f"{target} is not empty: restoring would replace it; stop the "
                          f"service and give --force to do so")
    with closing(sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)) as src, \
            closing(sqlite3.connect(target, timeout=db.SQLITE_BUSY_SECONDS)) as dst:
        src.backup(dst, pages=PAGES_PER_STEP)
        dst.execute("PRAGMA journal_mode=WAL")  # as the service opens it
    restored = check(target)
    if not restored.ok:
        raise MedaidError(f"{target}: restored, but it does not verify: {restored.summary()}")
    return restored
