"""The commands that check and copy the database: `medaid ledger verify`, `medaid backup`,
`medaid restore` (registered by medaid.cli; the store is imported inside them).

Exit status: 0 ok, 1 the ledger (or a database's check) found a problem, 2 a user error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from medaid.errors import MedaidError
from medaid.exits import fail

ledger_app = typer.Typer(no_args_is_help=True, help="The settlement ledger.")
DatabaseOpt = Annotated[str | None, typer.Option(
    "--database", envvar="MEDAID_DATABASE_URL",
    help="SQLAlchemy URL (default sqlite:///medaid.sqlite)")]
SHOWN = 100  # problems printed; the count says how many more


@ledger_app.command("verify")
def ledger_verify(
    database: DatabaseOpt = None,
    no_audit: Annotated[bool, typer.Option(
        "--no-audit", help="skip the comparison with the audit log")] = False,
) -> None:
    """Recompute every person's pools from the ledger and check the ledger itself:
    "ok: N settlements, M person-years", or every problem and exit status 1."""
    from medaid.store import db, ledger_check

    try:
        engine = db.make_engine(database)
        db.ensure_schema(engine)
        with ledger_check.snapshot(engine) as conn:
            report = ledger_check.verify(conn, audit=not no_audit)
        engine.dispose()
    except MedaidError as e:
        fail(str(e))
    if not report.ok:
        for line in report.problems[:SHOWN]:
            sys.stdout.write(f"problem: {line}\n")
        more = report.problem_count - min(SHOWN, len(report.problems))
        if more > 0:
            sys.stdout.write(f"… and {more} more\n")
        sys.stdout.write(f"ledger broken: {report.problem_count} problems in "
                         f"{report.settlements} settlements, {report.person_years} "
                         f"person-years\n")
        raise typer.Exit(1)
    sys.stdout.write(f"ok: {report.settlements} settlements, {report.person_years} "
                     f"person-years ({report.cancellations} cancellations)\n")


def backup(
    file: Annotated[Path, typer.Argument(help="the backup file to write")],
    force: Annotated[bool, typer.Option("--force", help="replace FILE if it exists")] = False,
    database: DatabaseOpt = None,
) -> None:
    """Back up a SQLite database while it serves (SQLite's online backup API), then check
    the copy. PostgreSQL: pg_dump -Fc (docs/RELIABILITY.md)."""
    from medaid.store import backup as backups

    try:
        found = backups.backup(database, file, force)
    except MedaidError as e:
        fail(str(e))
    except OSError as e:
        fail(f"{file}: {e.strerror or e}")
    sys.stdout.write(f"backup {file}: {file.stat().st_size} bytes; {found.summary()}\n")
    if not found.ok:
        raise typer.Exit(1)


def restore(
    file: Annotated[Path, typer.Argument(help="a backup written by `medaid backup`")],
    force: Annotated[bool, typer.Option(
        "--force", help="replace a database that is not empty")] = False,
    database: DatabaseOpt = None,
) -> None:
    """Restore a SQLite backup after checking it (integrity, revision, ledger, audit
    chain); refuses to replace a non-empty database without --force. Stop the service
    first. PostgreSQL: pg_restore (docs/RELIABILITY.md)."""
    from medaid.store import backup as backups

    try:
        found = backups.restore(file, database, force)
    except MedaidError as e:
        fail(str(e))
    except OSError as e:
        fail(f"{file}: {e.strerror or e}")
    sys.stdout.write(f"restored {file}: {found.summary()}\n")
