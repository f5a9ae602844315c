"""The `medaid` command: settle cases, read and check policies.

Every user error is one `error:` line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from medaid import case as contract
from medaid import report
from medaid.errors import MedaidError
from medaid.policy import model

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="medaid: catastrophic-illness medical assistance (重特大疾病医疗保险和救助).")
policy_app = typer.Typer(no_args_is_help=True, help="Read, validate and check policy files.")
app.add_typer(policy_app, name="policy")

out = Console(highlight=False, soft_wrap=True)


def fail(message: str) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(2)


def read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        fail(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}")


@app.command()
def settle(
    case_file: Annotated[str, typer.Argument(metavar="CASE", help="case JSON, or - for stdin")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON result (contract/CASE.md)")] = False,
    policy_file: Annotated[list[Path] | None, typer.Option(
        "--policy-file", help="a policy file of the same schema (repeatable)")] = None,
) -> None:
    """Settle a case: a person and a year of visits through the three tiers."""
    try:
        extra = [model.load_policy(p) for p in policy_file or []]
        case = contract.parse_case(contract.parse_json(read_text(case_file)), extra)
        result = contract.settle_case(case)
    except MedaidError as e:
        fail(str(e))
    if as_json:
        sys.stdout.write(contract.dumps(contract.result_json(result)) + "\n")
    else:
        report.print_result(out, result)


@policy_app.command("list")
def policy_list() -> None:
    """The shipped policies: jurisdiction, version, in force from, document."""
    report.print_policies(out, model.shipped())


@policy_app.command("validate")
def policy_validate(file: Annotated[Path, typer.Argument(help="a policy YAML file")]) -> None:
    """Validate a policy file against the schema and its own references."""
    try:
        p = model.load_policy(file)
    except MedaidError as e:
        fail(str(e))
    out.print(f"ok: {file}: {p.jurisdiction} {p.spec.version}, in force from {p.in_force}, "
              f"{len(p.categories)} categories, {len(p.lines)} lines")


def main() -> None:
    try:
        app()
    except MedaidError as e:  # an error a command did not catch is still one line
        fail(str(e))
