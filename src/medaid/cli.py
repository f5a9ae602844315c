"""The `medaid` command: settle cases, read and check policies.

Every user error is one `error:` line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from medaid import case as contract
from medaid import report
from medaid.errors import MedaidError
from medaid.policy import conformance, explain, model
from medaid.policy.articles import ArticleNotFound

app = typer.Typer(
    add_completion=False, no_args_is_help=True,
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


@policy_app.command("show")
def policy_show(
    jurisdiction: Annotated[str, typer.Argument(help="e.g. nanjing")],
    rule: Annotated[str | None, typer.Option(
        "--rule", help="a rule id (NJ-A3): its elements and the article quoted")] = None,
    version: Annotated[str | None, typer.Option(
        "--version", help="a version of the jurisdiction (default: the latest)")] = None,
) -> None:
    """A policy for a reader, or one rule with its numbers and the article it cites."""
    try:
        p = explain.find_policy(jurisdiction, version)
        if rule is None:
            report.print_policy(out, p, explain.elements(p), explain.parameters(p))
            return
        found = explain.elements_for(p, rule)
        if not found:
            fail(f"{p.jurisdiction} {p.spec.version}: no element carries rule {rule!r} "
                 f"(rules: {', '.join(explain.rule_ids(p))})")
        quoted = explain.quotes(p, found)
    except MedaidError as e:
        fail(str(e))
    except ArticleNotFound as e:
        fail(str(e))
    report.print_rule(out, p, rule, found, quoted)


@policy_app.command("check")
def policy_check(
    city: Annotated[str, typer.Argument(help="a city jurisdiction, e.g. nanjing")],
    against: Annotated[str, typer.Option(
        "--against", help="the framework policy whose floors to check (jiangsu)")],
    settings: Annotated[list[str] | None, typer.Option(
        "--set", help="NAME=VALUE, e.g. basic_cap=300000 (yuan; ratios as 0.7); repeatable")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the report as JSON")] = False,
) -> None:
    """JS-X conformance: which floors of the framework the city's rules meet or break."""
    local: dict[str, Decimal] = {}
    for item in settings or []:
        name, _, value = (part.strip() for part in item.partition("="))
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = Decimal("NaN")
        if not name or not number.is_finite():
            fail(f"--set {item}: expected NAME=VALUE with a number")
        local[name] = number
    try:
        result = conformance.check(explain.find_policy(city), explain.find_policy(against), local)
    except MedaidError as e:
        fail(str(e))
    if as_json:
        sys.stdout.write(json.dumps(conformance.to_json(result), ensure_ascii=False, indent=2)
                         + "\n")
    else:
        report.print_conformance(out, result)


def main() -> None:
    try:
        app()
    except MedaidError as e:  # an error a command did not catch is still one line
        fail(str(e))
