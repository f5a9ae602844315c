"""`medaid application …`: list, show, approve and reject applications for assistance
(依申请救助), and set the review deadline (docs/APPLICATIONS.md).

Deciding names the official with `--by USERNAME` (a user of `medaid user create`): the
audit log records them, and whoever created or submitted an application may not decide it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Column, Table

from medaid.cli.options import DatabaseOpt, unit_of_work
from medaid.core import clock
from medaid.core.errors import MedaidError
from medaid.core.exits import fail

if TYPE_CHECKING:
    from medaid.app.auth import Actor
    from medaid.app.uow import UnitOfWork

app = typer.Typer(no_args_is_help=True,
                  help="Applications for assistance (依申请救助 / 事后救助).")
ByOpt = Annotated[str, typer.Option("--by", help="the deciding official's username")]
out = Console(highlight=False, soft_wrap=True)


def _official(uow: UnitOfWork, username: str) -> Actor:
    """The user deciding, as the API would see them signed in from this command."""
    from sqlalchemy import select

    from medaid.app.auth import Actor
    from medaid.core.errors import InputError
    from medaid.store.models import User

    user = uow.session.scalars(select(User).where(User.username == username,
                                                  User.active.is_(True))).first()
    if user is None:
        raise InputError("--by", f"no active user {username!r}")
    return Actor(user.role, user.institution_id, user.district, f"user:{user.id}/cli")


@app.command("list")
def list_(
    state: Annotated[str | None, typer.Option(help="draft, submitted, under_review, approved, "
                                                   "rejected, withdrawn")] = None,
    district: Annotated[str | None, typer.Option(help="6-digit district code")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="past the review deadline")
                       ] = False,
    database: DatabaseOpt = None,
) -> None:
    """Applications, by state, district, overdue."""
    from medaid.app import applications
    from medaid.app.auth import CLI

    try:
        with unit_of_work(database) as uow:
            found = applications.listing(uow, CLI, clock.today(), state, district, overdue)
    except MedaidError as e:
        fail(str(e))
    table = Table(Column("申请编号", no_wrap=True), Column("人员编号", no_wrap=True), "区",
                  "类别", "状态", "申请日期", "审核期限", "救助金额")
    for a in found:
        due = a["review_due"] or ""
        table.add_row(a["app_no"], a["psn_no"], a["district"], a["kind"], a["state"],
                      a["applied_on"], f"{due} 逾期 overdue" if a["overdue"] else due,
                      "" if a["payment"] is None else str(a["payment"]))
    out.print(table)
    out.print(f"{len(found)} applications")


@app.command("show")
def show(
    app_no: Annotated[str, typer.Argument(help="申请编号")],
    as_json: Annotated[bool, typer.Option("--json", help="as the API answers it")] = False,
    database: DatabaseOpt = None,
) -> None:
    """One application: its documents, its visits and, once approved, their settlements."""
    from medaid.app import applications
    from medaid.app.auth import CLI

    try:
        with unit_of_work(database) as uow:
            found = applications.get(uow, CLI, app_no, clock.today())
    except MedaidError as e:
        fail(str(e))
    if as_json:
        from medaid.engine.case import dumps

        sys.stdout.write(dumps(found) + "\n")
        return
    _print(found)


def _print(a: dict[str, Any]) -> None:
    out.print(f"申请 {a['app_no']}  {a['kind']}  {a['state']}  人员 {a['psn_no']} "
              f"({a['district']})  申请日期 {a['applied_on']}  审核期限 {a['review_due'] or '—'}"
              + ("  逾期 overdue" if a["overdue"] else ""), markup=False)
    if a["reason"]:
        out.print(f"理由 reason: {a['reason']}", markup=False)
    for item in a["checklist"]:
        out.print(f"  [{'x' if item['received'] else ' '}] {item['label']} ({item['source']})",
                  markup=False)
    table = Table("#", Column("就诊ID", no_wrap=True), "日期", "医疗费总额", "救助金额",
                  "结算ID / 未覆盖原因")
    for v in a["visits"]:
        s = v["settlement"]
        table.add_row(str(v["seq"]), v["mdtrt_id"], f"{v['start']}–{v['end']}",
                      str(v["medfee_sumamt"]), "" if s is None else str(s["maf_pay"]),
                      s["setl_id"] if s else (v["not_covered"] or ""))
    out.print(table)
    pay = a["payment"]
    if pay:
        owed = pay["amount"] if pay["due"] is None else pay["due"]
        since = f"（批准时 {pay['amount']}，其后补差 {pay['adjusted']}）" if pay["adjusted"] else ""
        state = "已支付" if pay["paid_at"] else "待支付"
        out.print(f"应付 payment to the person: {owed}{since}，{state}")


@app.command("approve")
def approve(app_no: Annotated[str, typer.Argument(help="申请编号")], by: ByOpt,
            database: DatabaseOpt = None) -> None:
    """Approve: settle the covered visits into the ledger and owe the person the
    assistance."""
    from medaid.app import applications

    try:
        with unit_of_work(database) as uow:
            done = applications.approve(uow, _official(uow, by), app_no)
            found = applications.application_json(done, clock.today())
    except MedaidError as e:
        fail(str(e))
    _print(found)


@app.command("reject")
def reject(app_no: Annotated[str, typer.Argument(help="申请编号")], by: ByOpt,
           reason: Annotated[str, typer.Option("--reason", help="不予救助的理由")],
           database: DatabaseOpt = None) -> None:
    """Reject, with the reason."""
    from medaid.app import applications

    try:
        with unit_of_work(database) as uow:
            done = applications.reject(uow, _official(uow, by), app_no, {"reason": reason})
            found = applications.application_json(done, clock.today())
    except MedaidError as e:
        fail(str(e))
    _print(found)


@app.command("review-days")
def review_days(
    jurisdiction: Annotated[str, typer.Argument(help="e.g. nanjing")],
    days: Annotated[int, typer.Argument(help="working days from submission")],
    source: Annotated[str, typer.Option("--source", help="where the figure comes from")],
    year: Annotated[int | None, typer.Option(help="for one year only")] = None,
    database: DatabaseOpt = None,
) -> None:
    """Set the review deadline of a jurisdiction's applications (a local parameter)."""
    from medaid.app import applications
    from medaid.app.auth import CLI

    try:
        with unit_of_work(database) as uow:
            applications.set_review_days(uow, CLI, jurisdiction, days, source, year)
    except MedaidError as e:
        fail(str(e))
    out.print(f"{jurisdiction}: applications reviewed within {days} working days"
              + (f" ({year})" if year else ""))
