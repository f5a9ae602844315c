"""`medaid charity`: the register of charity programmes, matches and referrals (社会力量参与).

    medaid charity add NAME --organisation ORG [--jurisdiction J …] [--category C …]
                       [--min-burden YUAN] [--min-age N] [--max-age N] [--from DATE]
    medaid charity list
    medaid charity match PSN_NO --year Y
    medaid charity refer PSN_NO --programme ID --year Y [--note TEXT]
    medaid charity decide REFERRAL_ID --accept | --decline --note TEXT
    medaid charity referrals [--year Y] [--status S] [--programme ID] [--psn-no PSN_NO]
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from medaid.cli.options import DatabaseOpt, unit_of_work
from medaid.core import clock
from medaid.core.errors import MedaidError
from medaid.core.exits import fail

app = typer.Typer(no_args_is_help=True, help="社会力量参与: charity programmes and referrals.")
out = Console(highlight=False, soft_wrap=True)


def _yuan(text: str | None, option: str) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        fail(f"{option}: an amount in yuan, e.g. 20000")


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="the programme's name")],
    organisation: Annotated[str, typer.Option("--organisation", help="the charity")],
    jurisdiction: Annotated[list[str] | None, typer.Option(
        "--jurisdiction", "-j", help="repeat for several; none: every jurisdiction")] = None,
    category: Annotated[list[str] | None, typer.Option(
        "--category", help="repeat for several; 'none' for persons with no identity")] = None,
    min_burden: Annotated[str | None, typer.Option(
        "--min-burden", help="yuan of burden after assistance it starts at")] = None,
    min_age: Annotated[int | None, typer.Option("--min-age")] = None,
    max_age: Annotated[int | None, typer.Option("--max-age")] = None,
    slots: Annotated[int | None, typer.Option("--slots", help="referrals a year")] = None,
    budget: Annotated[str | None, typer.Option("--budget", help="yuan a year")] = None,
    active_from: Annotated[str | None, typer.Option(
        "--from", help="YYYY-MM-DD (default today)")] = None,
    active_to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
    database: DatabaseOpt = None,
) -> None:
    """Register a programme (an admin's task)."""
    from medaid.app import auth, charity

    raw: dict[str, Any] = {
        "name": name, "organisation": organisation, "jurisdictions": jurisdiction or [],
        "categories": category or [], "min_burden": _yuan(min_burden, "--min-burden"),
        "min_age": min_age, "max_age": max_age, "annual_slots": slots,
        "annual_budget": _yuan(budget, "--budget"),
        "active_from": active_from or str(clock.today()), "active_to": active_to}
    try:
        with unit_of_work(database) as uow:
            p = charity.create_programme(uow, auth.CLI, raw)
            out.print(f"programme {p.id}: {p.name} ({p.organisation})")
    except MedaidError as e:
        fail(str(e))


@app.command("list")
def list_programmes(database: DatabaseOpt = None) -> None:
    """The register."""
    from medaid.app import auth, charity

    table = Table("编号", "项目", "组织", "地区", "对象", "起助负担（元）", "年龄", "名额",
                  "有效期")
    try:
        with unit_of_work(database) as uow:
            for p in charity.programmes(uow, auth.CLI):
                j = charity.programme_json(p)
                table.add_row(str(j["id"]), j["name"], j["organisation"],
                              ", ".join(j["jurisdictions"]) or "全部",
                              ", ".join(j["categories"]) or "不限", str(j["min_burden"]),
                              f"{j['min_age'] or ''}–{j['max_age'] or ''}",
                              str(j["annual_slots"] or "不限"),
                              f"{j['active_from']}–{j['active_to'] or ''}")
    except MedaidError as e:
        fail(str(e))
    out.print(table)


@app.command("match")
def match(psn_no: str, year: Annotated[int, typer.Option("--year", min=1990, max=2100)],
          database: DatabaseOpt = None) -> None:
    """The programmes a person-year matches today."""
    from medaid.app import auth, charity

    try:
        with unit_of_work(database) as uow:
            c, found = charity.matches(uow, auth.CLI, psn_no, year)
            info = charity.candidate_json(c, found, show_ids=False)
    except MedaidError as e:
        fail(str(e))
    out.print(f"{info['psn_no']} {info['name']} {year}: 经三重制度后个人负担 "
              f"{info['after_assistance']} 元; 预警 "
              f"{info['warning']['kind'] if info['warning'] else '无'}")
    for p in info["programmes"]:
        out.print(f"  {p['id']}  {p['name']} ({p['organisation']})")
    if not info["programmes"]:
        out.print("  no programme matches")


@app.command("refer")
def refer(psn_no: str,
          programme: Annotated[int, typer.Option("--programme", help="the programme's id")],
          year: Annotated[int, typer.Option("--year", min=1990, max=2100)],
          note: Annotated[str | None, typer.Option("--note")] = None,
          database: DatabaseOpt = None) -> None:
    """Refer a matching person-year to a programme."""
    from medaid.app import auth, charity

    try:
        with unit_of_work(database) as uow:
            r = charity.refer(uow, auth.CLI, {"psn_no": psn_no, "programme_id": programme,
                                              "year": year, "note": note})
            out.print(f"referral {r.id}: {psn_no} {year} → {r.programme.name}")
    except MedaidError as e:
        fail(str(e))


@app.command("decide")
def decide(referral: int,
           accept: Annotated[bool, typer.Option("--accept/--decline",
                                                help="the programme's answer")],
           note: Annotated[str | None, typer.Option("--note", help="required to decline")
                           ] = None,
           database: DatabaseOpt = None) -> None:
    """Record the programme's answer to a referral."""
    from medaid.app import auth, charity

    try:
        with unit_of_work(database) as uow:
            r = charity.decide(uow, auth.CLI, referral, accept, note)
            out.print(f"referral {r.id}: {r.status}")
    except MedaidError as e:
        fail(str(e))


@app.command("referrals")
def list_referrals(
    year: Annotated[int | None, typer.Option("--year", min=1990, max=2100)] = None,
    status: Annotated[str | None, typer.Option("--status",
                                               help="referred, accepted or declined")] = None,
    programme: Annotated[int | None, typer.Option("--programme", min=1,
                                                  help="the programme's id")] = None,
    psn_no: Annotated[str | None, typer.Option("--psn-no", help="one person's")] = None,
    database: DatabaseOpt = None) -> None:
    """The referrals and their answers."""
    from medaid.app import auth, charity

    try:
        with unit_of_work(database) as uow:
            found = [charity.referral_json(r, show_ids=False) for r in
                     charity.referrals(uow, auth.CLI, year, status, programme, psn_no)]
    except MedaidError as e:
        fail(str(e))
    for j in found:
        out.print(f"{j['id']}  {j['psn_no']} {j['name']} {j['year']} → {j['programme']['name']}"
                  f"  {j['status']}  负担 {j['burden']} 元  {j['referred_at']}")
    if not found:
        out.print("no referral")
