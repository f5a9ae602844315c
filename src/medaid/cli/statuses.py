"""`medaid person-status`: record a status a person holds (policy `statuses:`), or end it,
from the server's shell, as the API's route does (app.statuses): the person's ledger
years are settled again."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from medaid.cli.options import DatabaseOpt, unit_of_work
from medaid.core.errors import InputError, MedaidError
from medaid.core.exits import fail


def person_status(
    psn_no: Annotated[str, typer.Option("--psn-no", help="the person")],
    status: Annotated[str, typer.Option("--status", help="a status the policy declares")],
    start: Annotated[str | None, typer.Option(
        "--from", help="held from YYYY-MM-DD (default: all along)")] = None,
    end: Annotated[str | None, typer.Option(
        "--to", help="held to YYYY-MM-DD (default: open); the same --from again ends it")
    ] = None,
    withdraw: Annotated[bool, typer.Option(
        "--withdraw", help="remove the status recorded from --from in error (as if never "
                           "held)")] = False,
    database: DatabaseOpt = None,
) -> None:
    """Record that a person holds a status from --from to --to (门诊特殊病种认定, …), or
    withdraw one recorded in error."""
    from medaid.app import statuses
    from medaid.app.auth import CLI

    try:
        with unit_of_work(database) as uow:
            row = statuses.record(uow, CLI, psn_no, {"status": status, "from": start,
                                                     "to": end, "withdrawn": withdraw})
            labels = statuses.declared(statuses.person_of(uow, psn_no).jurisdiction)
            if withdraw:
                sys.stdout.write(f"{psn_no} 已撤销 {labels.get(status, status)}（{status}）"
                                 f"{row.from_date or '—'}～{row.to_date or ''}\n")
            for row in statuses.recorded(uow, psn_no):
                sys.stdout.write(f"{psn_no} {labels.get(row.status, row.status)}（{row.status}）"
                                 f"{row.from_date or '—'}～{row.to_date or ''}\n")
    except InputError as e:  # named as the option that gave it (an unknown person too)
        option = {"psn_no": "psn-no"}.get(e.path, e.path.removeprefix("$."))
        fail(f"--{option}: {e.message}" if e.path.startswith("$.") or e.path == "psn_no"
             else str(e))
    except MedaidError as e:
        fail(str(e))
