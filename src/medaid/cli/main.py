"""The `medaid` command: settle cases, read and check policies.

Every user error is one `error:` line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from medaid.cli import applications as applications_cli
from medaid.cli import audit_payments as audit_commands
from medaid.cli import charity as charity_cli
from medaid.cli import funds as fund_commands
from medaid.cli import indicators as indicator_commands
from medaid.cli import ledger as store_commands
from medaid.cli import report
from medaid.cli import simulate as batch_commands
from medaid.cli import statuses as statuses_cli
from medaid.cli import warning as warning_cli
from medaid.cli import year_end as year_end_cli
from medaid.cli.options import DatabaseOpt, unit_of_work
from medaid.core import clock, extras
from medaid.core.errors import MedaidError
from medaid.core.exits import fail
from medaid.engine import case as contract
from medaid.policy import amend, citations, conformance, explain, model
from medaid.policy import diff as policy_diff
from medaid.policy.advisories import advisories
from medaid.policy.articles import ArticleNotFound
from medaid.registry import roster, summary
from medaid.registry.plan import ImportPlan

if TYPE_CHECKING:
    pass

app = typer.Typer(
    add_completion=False, no_args_is_help=True,
    help="medaid: catastrophic-illness medical assistance (重特大疾病医疗保险和救助).")
policy_app = typer.Typer(no_args_is_help=True, help="Read, validate and check policy files.")
app.add_typer(policy_app, name="policy")
roster_app = typer.Typer(no_args_is_help=True, help="Check monthly beneficiary rosters.")
app.add_typer(roster_app, name="roster")
# The service's commands import the store and the server inside them, so that `medaid settle`
# starts without loading either.
db_app = typer.Typer(no_args_is_help=True, help="The database: migrations.")
app.add_typer(db_app, name="db")
token_app = typer.Typer(no_args_is_help=True, help="Bearer tokens for the API.")
app.add_typer(token_app, name="token")
user_app = typer.Typer(no_args_is_help=True, help="Users who log in with a password.")
app.add_typer(user_app, name="user")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log.")
app.add_typer(audit_app, name="audit")
premium_app = typer.Typer(no_args_is_help=True, help="Premium-subsidy lists (参保资助名单).")
app.add_typer(premium_app, name="premium")

out = Console(highlight=False, soft_wrap=True)


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
    lang: Annotated[str, typer.Option(
        "--lang", help="the explanation's language: zh (中文) or en")] = "zh",
) -> None:
    """Settle a case: a person and a year of visits through the three tiers."""
    if lang not in ("zh", "en"):
        fail("--lang: zh or en")
    try:
        extra = amend.load_all(policy_file or [])
        case = contract.parse_case(contract.parse_json(read_text(case_file)), extra)
        if extra and not any(p in case.versions for p in extra):  # a file given and unused
            named = "、".join(sorted({p.jurisdiction for p in extra}))
            fail(f"jurisdiction: 案例为 {case.versions[0].jurisdiction}，而 --policy-file 为 "
                 f"{named}：政策文件未被使用 / the case's jurisdiction is not the policy "
                 f"file's ({named})")
        result = contract.settle_case(case)
    except MedaidError as e:
        fail(str(e))
    if as_json:
        sys.stdout.write(contract.dumps(contract.result_json(result)) + "\n")
    else:
        report.print_result(out, result, lang, case.versions)


@policy_app.command("list")
def policy_list() -> None:
    """The shipped policies: jurisdiction, version, in force from, document."""
    report.print_policies(out, model.shipped())


@policy_app.command("validate")
def policy_validate(
    file: Annotated[Path, typer.Argument(help="a policy YAML file, or an amendment of one")],
    lang: Annotated[str, typer.Option(
        "--lang", help="the summary's language: zh (中文) or en")] = "zh",
) -> None:
    """Validate a policy file (or an amendment on its base) against the schema and its own
    references."""
    if lang not in ("zh", "en"):
        fail("--lang: zh or en")
    try:
        p = amend.load(file)
        found = [amend.located(file, steps, message)
                 for steps, message in citations.problems(p)]
        # it settles; its articles are checked once at hand
        warned = citations.missing_documents(p) + advisories(p)
    except MedaidError as e:
        fail(str(e))
    for steps, message in warned:
        sys.stderr.write(f"warning: {amend.located(file, steps, message)}\n")
    for message in found[:-1]:
        sys.stderr.write(f"error: {message}\n")
    if found:
        fail(found[-1])
    if lang == "zh":
        out.print(f"ok: {file}：{p.spec.name} ({p.jurisdiction}) {p.spec.version}，"
                  f"{p.in_force} 起施行，{len(p.categories)} 个救助对象身份，"
                  f"{len(p.lines)} 条救助标准", markup=False)
    else:
        out.print(f"ok: {file}: {p.jurisdiction} {p.spec.version}, in force from {p.in_force}, "
                  f"{len(p.categories)} categories, {len(p.lines)} lines", markup=False)


@policy_app.command("diff")
def policy_diff_command(
    a: Annotated[str, typer.Argument(help="a policy: file, amendment, nanjing-2023 or nanjing")],
    b: Annotated[str, typer.Argument(help="the other policy, as A")],
    as_json: Annotated[bool, typer.Option("--json", help="the changes as JSON")] = False,
) -> None:
    """Two versions side by side, rule by rule: what changed, in Chinese."""
    try:
        found = policy_diff.diff(policy_diff.find(a), policy_diff.find(b))
    except MedaidError as e:
        fail(str(e))
    if as_json:
        sys.stdout.write(json.dumps(policy_diff.to_json(found), ensure_ascii=False, indent=2)
                         + "\n")
    else:
        out.print(policy_diff.render(found), markup=False)


@policy_app.command("show")
def policy_show(
    jurisdiction: Annotated[str, typer.Argument(
        help="a jurisdiction (nanjing), a shipped file's name (nanjing-2023) or a policy file")],
    rule: Annotated[str | None, typer.Option(
        "--rule", help="a rule id (NJ-A3): its elements and the article quoted")] = None,
    version: Annotated[str | None, typer.Option(
        "--version", help="a version of the jurisdiction (default: the latest)")] = None,
    lang: Annotated[str, typer.Option(
        "--lang", help="the facts' language: zh (中文) or en")] = "zh",
) -> None:
    """A policy for a reader, or one rule with its numbers and the article it cites."""
    if lang not in ("zh", "en"):
        fail("--lang: zh or en")
    words: explain.Lang = "en" if lang == "en" else "zh"
    try:
        p = policy_diff.find(jurisdiction) if version is None else \
            explain.find_policy(jurisdiction, version)
        if rule is None:
            report.print_policy(out, p, explain.elements(p, words),
                                explain.parameters(p, words), words)
            return
        found = explain.elements_for(p, rule, words)
        if not found:
            fail(f"{p.jurisdiction} {p.spec.version}：没有规则编号为「{rule}」的内容（已有："
                 f"{'、'.join(explain.rule_ids(p))}） / no element carries rule {rule!r}")
        quoted = explain.quotes(p, found)
    except MedaidError as e:
        fail(str(e))
    except ArticleNotFound as e:
        fail(str(e))
    report.print_rule(out, p, rule, found, quoted, words)


@policy_app.command("check")
def policy_check(
    city: Annotated[str, typer.Argument(help="a city jurisdiction, e.g. nanjing")],
    against: Annotated[str, typer.Option(
        "--against", help="the framework policy whose floors to check (jiangsu)")],
    settings: Annotated[list[str] | None, typer.Option(
        "--set", help="NAME=VALUE, e.g. basic_cap=300000 (yuan; ratios as 0.7); repeatable")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the report as JSON")] = False,
    lang: Annotated[str, typer.Option(
        "--lang", help="the reasons' language: zh (中文) or en")] = "zh",
) -> None:
    """JS-X conformance: which floors of the framework the city's rules meet or break."""
    if lang not in ("zh", "en"):
        fail("--lang: zh or en")
    words: explain.Lang = "en" if lang == "en" else "zh"
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
        result = conformance.check(explain.find_policy(city), explain.find_policy(against), local,
                                   words)
    except MedaidError as e:
        fail(str(e))
    if as_json:
        sys.stdout.write(json.dumps(conformance.to_json(result), ensure_ascii=False, indent=2)
                         + "\n")
    else:
        report.print_conformance(out, result, words)


@db_app.command("upgrade")
def db_upgrade(database: DatabaseOpt = None) -> None:
    """Apply the migrations (creates the tables on an empty database)."""
    from medaid.store import db

    engine = db.make_engine(database)
    db.upgrade(engine)
    out.print(f"database {engine.url.render_as_string()} at revision {db.current(engine)}")


@token_app.command("create")
def token_create(
    institution: Annotated[str | None, typer.Option(
        "--institution", help="fixmedins_code: a hospital token for that institution")] = None,
    role: Annotated[str | None, typer.Option(
        "--role", help="hospital (with --institution), caseworker, finance, admin, auditor")
    ] = None,
    district: Annotated[str | None, typer.Option(
        "--district", help="a caseworker's district (6-digit code)")] = None,
    days: Annotated[int | None, typer.Option(
        "--days", help="lifetime in days (default 90, at most 730)")] = None,
    database: DatabaseOpt = None,
) -> None:
    """Create a token and print it (only its hash is stored: it cannot be shown again)."""
    from medaid.app import auth, records, tokens
    from medaid.store.models import ROLES

    role = role or ("hospital" if institution else None)
    if role not in ROLES:
        fail(f"--role: one of {', '.join(ROLES)} (or --institution CODE for a hospital)")
    if (role == "hospital") != (institution is not None):
        fail("--institution: a hospital token needs one, and only a hospital token has one")
    if role == "caseworker" and not district:
        fail("--district: a caseworker token needs its district")
    try:
        with unit_of_work(database) as uow:
            inst = records.institution_by_code(uow, institution) if institution else None
            issued = tokens.create(uow, auth.CLI, role, inst.id if inst else None, district,
                                   days)
    except MedaidError as e:
        fail(str(e))
    sys.stdout.write(issued.text + "\n")
    sys.stderr.write(f"token {issued.row.id} ({role}) expires "
                     f"{issued.row.expires_at:%Y-%m-%d %H:%M} UTC\n")


@token_app.command("list")
def token_list(
    ended: Annotated[bool, typer.Option("--all", help="revoked and expired ones too")] = False,
    sessions: Annotated[bool, typer.Option("--sessions", help="users' login sessions too")
                        ] = False,
    database: DatabaseOpt = None,
) -> None:
    """The tokens (id, state, role, scope, created, expires), never their text."""
    from medaid.app import auth, tokens

    try:
        with unit_of_work(database) as uow:
            rows = tokens.listing(uow, auth.CLI, ended, sessions)
            code = tokens.codes(uow, rows)
            found = [tokens.token_json(r, code) for r in rows]
    except MedaidError as e:
        fail(str(e))
    out.print("id  state  kind  role  scope  created  expires  revoked", markup=False)
    for t in found:
        scope = t["fixmedins_code"] or t["district"] or (
            f"user:{t['user_id']}" if t["user_id"] else "-")
        out.print(f"{t['id']}  {t['state']}  {t['kind']}  {t['role']}  {scope}  "
                  f"{t['created_at']}  {t['expires_at'] or 'never'}  "
                  f"{t['revoked_at'] or '-'}", markup=False)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="the token's id (token list)")],
    database: DatabaseOpt = None,
) -> None:
    """Stop a token at once."""
    from medaid.app import auth, tokens

    try:
        with unit_of_work(database) as uow:
            row = tokens.revoke(uow, auth.CLI, token_id)
    except MedaidError as e:
        fail(str(e))
    out.print(f"token {row.id} revoked at {row.revoked_at:%Y-%m-%d %H:%M:%S} UTC")


@token_app.command("rotate")
def token_rotate(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="the token's id (token list)")],
    grace_days: Annotated[int | None, typer.Option(
        "--grace-days", help="days the old token keeps working (default 7; 0: none)")] = None,
    days: Annotated[int | None, typer.Option(
        "--days", help="the new token's lifetime in days (default 90)")] = None,
    database: DatabaseOpt = None,
) -> None:
    """A new token of the same role and scope, printed; the old one expires after the
    grace period."""
    from medaid.app import auth, tokens

    try:
        with unit_of_work(database) as uow:
            new, old = tokens.rotate(uow, auth.CLI, token_id, grace_days, days)
    except MedaidError as e:
        fail(str(e))
    sys.stdout.write(new.text + "\n")
    sys.stderr.write(f"token {new.row.id} replaces token {old.id}, which works until "
                     f"{old.expires_at:%Y-%m-%d %H:%M} UTC\n")


@app.command()
def demo(
    persons: Annotated[int, typer.Option(help="persons per jurisdiction")] = 60,
    year: Annotated[int | None, typer.Option(
        help="the demo year (default: last year, so that every month is closed)")] = None,
    database: DatabaseOpt = None,
) -> None:
    """Load a demo year: generated persons, hospitals with tokens, local parameters, a
    year of settlements, warnings, applications, payment batches, a clearing, indicators."""
    from medaid.app.uow import UnitOfWork
    from medaid.demo import applications, funds, indicators
    from medaid.demo import seed as seeding
    from medaid.demo import year as demo_year
    from medaid.store import db

    year = year or clock.today().year - 1
    engine = db.make_engine(database)
    try:
        db.ensure_schema(engine)
        with UnitOfWork(db.sessions(engine)) as uow:
            done = seeding.seed(uow, persons, year)
            people = seeding.demo_users(uow)
            plan = seeding.import_demo_roster(uow, clock.today())
            with out.status(f"settling the demo year {year} through the settlement service…"):
                settled = demo_year.settle_year(uow, year)
            warned = demo_year.demo(uow, year)
            applied = applications.demo(uow, year)
            money = funds.demo(uow, year)
            measured = indicators.demo(uow, year)
    except MedaidError as e:
        fail(str(e))
    out.print(f"demo {done.year}: {done.persons} persons added; local parameters set "
              f"(source demo): {', '.join(done.parameters) or 'none needed'}")
    out.print("hospitals (fixmedins_code, bearer token, name):")
    for h in done.hospitals:  # one line each, never cut: a token is copied from here
        out.print(f"  {h.code}  {h.token}  {h.name} ({h.jurisdiction})")
    out.print(f"admin token: {done.admin_token}")
    out.print("users (sign in at http://127.0.0.1:8000/ or POST /api/v1/login; role, scope):")
    for u in people:
        out.print(f"  {u.username}  {u.password}  {u.role} ({u.scope})")
    out.print("demo roster imported (秦淮区 民政): "
              + "; ".join(summary.plan_lines(plan)), markup=False)
    out.print(f"settlements {year}: {settled.settled} new, {settled.retries} already there")
    raised = sum(sum(o.counts.values()) for o in warned.outcomes)
    out.print(f"warnings {year} (因病致贫/因病返贫): {raised}; charity referral: "
              f"{warned.referred or 'none'}", markup=False)
    out.print("applications: " + ", ".join(f"{no} {state}" for no, state
                                           in applied.applications.items()), markup=False)
    out.print(f"funds {year}: {money.budgets} budgets, {money.batches} payment batches, "
              f"{money.clearings} clearings; indicators for {len(measured)} jurisdictions")
    out.print(f"a person to try: GET /api/v1/persons/{done.sample_psn_no}/years/{done.year}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    docs: Annotated[bool, typer.Option(
        "--docs", help="serve the OpenAPI document at /docs and /openapi.json (off unless "
                       "this or MEDAID_API_DOCS=1)")] = False,
    database: DatabaseOpt = None,
) -> None:
    """Serve the API (and, with --docs, its OpenAPI document at /docs)."""
    import os

    import uvicorn

    from medaid.store import db

    url = db.database_url(database)
    try:
        db.ensure_schema(db.make_engine(url))  # once, before workers race to do it
    except MedaidError as e:
        fail(str(e))
    os.environ["MEDAID_DATABASE_URL"] = url  # for the worker processes' create_app()
    if docs:
        os.environ["MEDAID_API_DOCS"] = "1"
    from medaid.api.app import docs_on

    shown = docs_on()
    out.print(f"medaid serving on http://{host}:{port}"
              + (f"  (API docs: http://{host}:{port}/docs)" if shown else ""))
    # A hospital's system keeps its connection: close it only after 30 s idle, not uvicorn's 5
    # (a request sent as the server closes an idle connection fails on the client's side).
    uvicorn.run("medaid.api.app:create_app", factory=True, host=host, port=port,
                workers=workers, log_level="warning", access_log=False,
                timeout_keep_alive=30)


@roster_app.command("check")
def roster_check(
    file: Annotated[Path, typer.Argument(help="a roster: CSV (UTF-8 or GBK) or XLSX")],
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", "-j", help="e.g. nanjing")],
    department: Annotated[str | None, typer.Option(
        "--department", help="the sending department, for rows that do not name one")] = None,
    today: Annotated[str | None, typer.Option(
        "--today", help="check dates against this day (YYYY-MM-DD; default: today)")] = None,
) -> None:
    """Parse a roster and list every bad row with its row number; exit 2 when any."""
    try:
        day = date.fromisoformat(today) if today else clock.today()
    except ValueError:
        fail(f"--today {today}: expected YYYY-MM-DD")
    try:
        parsed = roster.parse_roster(file, jurisdiction, day, department=department)
    except MedaidError as e:
        fail(str(e))
    for line in summary.check_lines(parsed):
        out.print(line, markup=False)
    if parsed.errors:
        raise typer.Exit(2)


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="the login name")],
    role: Annotated[str, typer.Option("--role", help="hospital, caseworker, finance, admin, "
                                                     "auditor")],
    district: Annotated[str | None, typer.Option(
        "--district", help="a caseworker's district (6-digit code)")] = None,
    institution: Annotated[str | None, typer.Option(
        "--institution", help="a hospital user's fixmedins_code")] = None,
    database: DatabaseOpt = None,
) -> None:
    """Create a user (or set a new password) and print the generated password once."""
    import secrets

    from medaid.app import auth, records, users

    password = secrets.token_urlsafe(12)
    try:
        with unit_of_work(database) as uow:
            inst = records.institution_by_code(uow, institution) if institution else None
            users.create(uow, auth.CLI, username, password, role, district,
                         inst.id if inst else None)
    except MedaidError as e:
        fail(str(e))
    sys.stdout.write(f"{username} ({role}) password: {password}\n")


@user_app.command("deactivate")
def user_deactivate(
    username: Annotated[str, typer.Argument(help="the login name")],
    database: DatabaseOpt = None,
) -> None:
    """Stop a user: no more logins, and their session tokens revoked at once."""
    from medaid.app import auth, users

    try:
        with unit_of_work(database) as uow:
            revoked = users.deactivate(uow, auth.CLI, username)
    except MedaidError as e:
        fail(str(e))
    out.print(f"{username} deactivated; {revoked} session token(s) revoked")


KeyFileOpt = Annotated[Path | None, typer.Option(
    "--key-file", help="the anchoring key's file (default $MEDAID_AUDIT_KEY_FILE, else the "
                       "key in $MEDAID_AUDIT_KEY); kept outside the database")]


@audit_app.command("verify")
def audit_verify(
    anchors_file: Annotated[Path | None, typer.Option(
        "--anchors", help="an anchors file (audit anchor): check every anchor too")] = None,
    key_file: KeyFileOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Recompute the chain: "ok, N entries", or the first edited, removed or inserted
    entry and exit status 1; with --anchors, every signed anchor must hold as well."""
    from medaid.store import anchors, audit

    try:
        key = None if anchors_file is None else anchors.load_key(key_file)
        with unit_of_work(database) as uow:
            conn = uow.session.connection()
            verdict = audit.verify(conn)
            held = None if key is None or anchors_file is None \
                else anchors.check(conn, key, anchors_file)
    except MedaidError as e:
        fail(str(e))
    if verdict.problem is not None:
        sys.stdout.write(f"audit log broken: {verdict.problem}\n")
        raise typer.Exit(1)
    if held is not None and held.problem is not None:
        sys.stdout.write(f"audit log rewritten: {held.problem}\n")
        raise typer.Exit(1)
    sys.stdout.write(f"ok, {verdict.entries} entries"
                     + ("" if held is None else f", {held.anchors} anchors hold") + "\n")


@audit_app.command("anchor")
def audit_anchor(
    anchors_file: Annotated[Path, typer.Option(
        "--anchors", help="the anchors file, outside the database (appended to)")],
    key_file: KeyFileOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Append the chain's head, signed with the audit key, to the anchors file (after
    verifying the chain and the anchors there); run it on a schedule."""
    from medaid.store import anchors

    try:
        key = anchors.load_key(key_file)
        with unit_of_work(database) as uow:
            made = anchors.anchor(uow.session.connection(), key, anchors_file)
    except MedaidError as e:
        fail(str(e))
    except OSError as e:
        fail(f"{anchors_file}: {e.strerror}")
    sys.stdout.write(f"anchored entry {made.seq} at {made.at} in {anchors_file}\n")


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="a roster: CSV (UTF-8 or GBK) or XLSX")],
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", "-j", help="e.g. nanjing")],
    district: Annotated[str, typer.Option("--district", help="6-digit district code")],
    department: Annotated[str | None, typer.Option(
        "--department", help="the sending department, for rows that do not name one")] = None,
    month: Annotated[str | None, typer.Option(
        "--month", help="the roster's month, YYYY-MM (default: this month)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report, store nothing")] = False,
    mode: Annotated[str, typer.Option(
        "--mode", help="complete: the department's complete list (who is absent exits); "
                       "incremental: only who is listed (nobody exits)")] = "",
    confirm_exits: Annotated[bool, typer.Option(
        "--confirm-exits", help="apply a complete list that ends more than the exit share "
                                "(`medaid roster exit-share`)")] = False,
    database: DatabaseOpt = None,
) -> None:
    """Import a monthly roster into the registry: the diff, applied in one transaction
    unless a row is bad (exit 2, nothing stored) or --dry-run. --mode is required; a
    complete list ending more than the exit share lists who ends and exits 2 unless
    --confirm-exits."""
    from medaid.app import auth, rosters

    today = clock.today()
    try:
        to = rosters.target(jurisdiction, district, month)
        chosen = rosters.as_mode(mode)
        parsed = roster.parse_roster(file, to.jurisdiction, today, department=department)
        with unit_of_work(database) as uow:
            try:
                plan, applied, unsettled = rosters.import_roster(
                    uow, auth.CLI, parsed, to, today, dry_run, chosen, confirm_exits)
            except rosters.ExitsUnconfirmed as e:
                _exit_lines(e.plan)
                fail(str(e))
            check = rosters.exit_check(uow, plan)
    except MedaidError as e:
        fail(str(e))
    if check.needs_confirmation:
        _exit_lines(plan)
    if parsed.errors:
        for line in summary.check_lines(parsed):
            out.print(line, markup=False)
    elif not plan.ok:
        for bad in plan.errors:
            out.print(f"  第{bad.row}行 row {bad.row} {bad.value!r}: {bad.reason}",
                      markup=False)
    for line in summary.plan_lines(plan):
        out.print(line, markup=False)
    out.print("applied" if applied else "dry run: nothing stored" if plan.ok
              else "refused: nothing stored")
    for y in unsettled:
        out.print(f"未能重新结算：{y.psn_no} {y.name} {y.year} 年度：{y.error}", markup=False)
    if not plan.ok:
        raise typer.Exit(2)


def _exit_lines(plan: ImportPlan) -> None:
    """Who a complete list ends: name, masked ID number, category."""
    from medaid.registry.idcard import mask

    policy = model.versions(plan.jurisdiction)[-1]
    out.print(f"退出 exits（{len(plan.exited)}）:", markup=False)
    for e in plan.exited:
        i = e.identity
        out.print(f"  {i.name}  {mask(i.certno)}  {policy.label(i.category)}  {e.end}",
                  markup=False)


@roster_app.command("exit-share")
def roster_exit_share(
    jurisdiction: Annotated[str, typer.Argument(help="e.g. nanjing")],
    percent: Annotated[int, typer.Argument(help="0 to 100")],
    source: Annotated[str, typer.Option("--source", help="the decision that sets it")],
    database: DatabaseOpt = None,
) -> None:
    """Set the share of a district's open identities (percent; default 10) a complete
    roster may end without --confirm-exits."""
    from medaid.app import auth, rosters

    try:
        with unit_of_work(database) as uow:
            rosters.set_exit_share(uow, auth.CLI, jurisdiction, percent, source)
    except MedaidError as e:
        fail(str(e))
    out.print(f"{jurisdiction}: 完整名单退出超过 {percent}% 须确认 / exits above {percent}% "
              f"need --confirm-exits", markup=False)


@premium_app.command("list")
def premium_list(
    jurisdiction: Annotated[str, typer.Argument(help="e.g. nanjing")],
    year: Annotated[int, typer.Option("--year", help="the premium year")],
    output: Annotated[Path, typer.Option("--out", help="the workbook to write (.xlsx)")],
    district: Annotated[str | None, typer.Option("--district", help="one district only")
                        ] = None,
    database: DatabaseOpt = None,
) -> None:
    """Write the year's premium-subsidy list of the registry as a workbook."""
    from medaid.app import auth, premiums
    from medaid.core.money import to_yuan

    if jurisdiction not in model.jurisdictions():
        fail(f"jurisdiction: one of {', '.join(model.jurisdictions())}")
    try:
        with unit_of_work(database) as uow:
            lst = premiums.listing(uow, auth.CLI, jurisdiction, year, district)
        output.write_bytes(premiums.listing_xlsx(lst, show_ids=True))
    except MedaidError as e:
        fail(str(e))
    except OSError as e:
        fail(f"{output}: {e.strerror}")
    out.print(f"{output}: {lst.jurisdiction} {lst.year}: {len(lst.subsidies)} persons "
              f"subsidised, {to_yuan(lst.total)} yuan")


# Batch settlement of populations (docs/BATCH.md); heavy imports happen inside the commands.
app.command("synth")(batch_commands.synth)
app.command("simulate")(batch_commands.simulate)
policy_app.command("reform")(batch_commands.reform)
app.command("audit-payments")(audit_commands.audit_payments)  # docs/AUDIT.md
# Checking and copying the database (docs/RELIABILITY.md).
app.add_typer(store_commands.ledger_app, name="ledger")
app.add_typer(store_commands.parameter_app, name="parameter")
app.add_typer(fund_commands.app, name="funds")
app.add_typer(indicator_commands.app, name="indicators")
app.add_typer(applications_cli.app, name="application")
app.add_typer(warning_cli.app, name="warn")
app.add_typer(charity_cli.app, name="charity")
app.command("year-end")(year_end_cli.year_end)  # 年终救助 (docs/FUNDS.md)
app.command("person-status")(statuses_cli.person_status)  # 人员状态
app.command("backup")(store_commands.backup)
app.command("restore")(store_commands.restore)


def main() -> None:
    try:
        app()
    except MedaidError as e:  # an error a command did not catch is still one line
        fail(str(e))
    except ModuleNotFoundError as e:  # an optional part not installed (medaid.core.extras)
        message = extras.explain(e)
        if message is None:
            raise
        fail(message)
