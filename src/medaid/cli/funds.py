"""`medaid funds …`: the fund ledger from the server's shell (docs/FUNDS.md), as an admin.

Amounts are yuan; every command is one use case of `medaid.app.funds`, so the books
balance after each exactly as over the API.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from medaid.cli.options import DatabaseOpt, unit_of_work
from medaid.core.errors import MedaidError
from medaid.core.exits import fail
from medaid.engine.case import dumps

if TYPE_CHECKING:
    from medaid.app.uow import UnitOfWork

app = typer.Typer(no_args_is_help=True, help="The assistance fund (专户): budgets, "
                  "pre-allocation, monthly payments, annual clearing.")
out = Console(highlight=False, soft_wrap=True)
T = TypeVar("T")


def _do(database: str | None, work: Callable[[UnitOfWork], T]) -> T:
    try:
        with unit_of_work(database) as uow:
            return work(uow)
    except MedaidError as e:
        fail(str(e))


def _yuan(text: str, name: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        fail(f"{name}: {text!r} is not an amount in yuan")


def _day(text: str | None, name: str) -> date | None:
    try:
        return None if text is None else date.fromisoformat(text)
    except ValueError:
        fail(f"{name}: {text!r}: expected YYYY-MM-DD")


def _print_json(data: Any) -> None:
    sys.stdout.write(dumps(data) + "\n")


@app.command("budget")
def budget(jurisdiction: str, district: str, year: int, amount: str,
           source: Annotated[str, typer.Option("--source", help="the budget document")],
           database: DatabaseOpt = None) -> None:
    """Enter (or change) a district's annual budget (yuan)."""
    from medaid.app import auth, funds

    raw = {"jurisdiction": jurisdiction, "district": district, "year": year,
           "amount": _yuan(amount, "AMOUNT"), "source": source}
    row = _do(database, lambda uow: funds.budget_json(funds.set_budget(uow, auth.CLI, raw)))
    out.print(f"预算 budget {row['jurisdiction']} {row['district']} {row['year']}: "
              f"{row['amount']} 元")


@app.command("receipt")
def receipt(jurisdiction: str, district: str, year: int, amount: str,
            deficit: Annotated[bool, typer.Option(
                "--deficit", help="a deficit made up, not a budget pre-allocation")] = False,
            on: Annotated[str | None, typer.Option("--on", help="YYYY-MM-DD")] = None,
            database: DatabaseOpt = None) -> None:
    """Record money a district paid into the special account."""
    from medaid.app import auth, funds

    raw: dict[str, Any] = {"jurisdiction": jurisdiction, "district": district, "year": year,
                           "amount": _yuan(amount, "AMOUNT"),
                           "purpose": "deficit" if deficit else "budget"}
    if on is not None:
        raw["received_on"] = on
    row = _do(database, lambda uow: funds.receipt_json(funds.record_receipt(uow, auth.CLI, raw)))
    out.print(f"到账 received {row['amount']} 元 ({row['purpose']}) on {row['received_on']}")


@app.command("schedule")
def schedule(jurisdiction: str, district: str, year: int,
             database: DatabaseOpt = None) -> None:
    """The quarterly pre-allocation schedule with each installment's status."""
    from medaid.app import auth, funds
    from medaid.app.fund_journal import Fund

    s = _do(database, lambda uow: funds.schedule_json(
        funds.schedule(uow, auth.CLI, Fund(jurisdiction, district), year)))
    out.print(f"{jurisdiction} {district} {year} 预算 {s['budget']} 元，已到账 {s['received']} 元 "
              f"({s['rule']} {s['source']})")
    if not s["installments"]:
        out.print("the policy sets no pre-allocation schedule")
        return
    t = Table("季度", "到期日", "应拨（元）", "已到账（元）", "状态")
    for i in s["installments"]:
        t.add_row(f"Q{i['quarter']}", i["due"], str(i["amount"]), str(i["received"]),
                  i["status"])
    out.print(t)


@app.command("batch")
def batch(month: Annotated[str, typer.Argument(help="YYYY-MM (an ended month)")],
          approve: Annotated[bool, typer.Option("--approve", help="approve the new batches")
                             ] = False,
          pay_on: Annotated[str | None, typer.Option(
              "--pay-on", help="mark the approved batches paid on YYYY-MM-DD")] = None,
          database: DatabaseOpt = None) -> None:
    """Create the month's payment batches (once per institution); approve and pay them."""
    from medaid.app import auth, funds

    paid_on = _day(pay_on, "--pay-on")

    def work(uow: UnitOfWork) -> list[dict[str, Any]]:
        m = funds.parse_month(month, "MONTH")
        run = funds.create_batches(uow, auth.CLI, m)
        done = []
        for b in run.created + run.existing:
            if approve and b.status == "created":
                b = funds.approve_batch(uow, auth.CLI, b.id)
            if paid_on is not None and b.status == "approved":
                b = funds.pay_batch(uow, auth.CLI, b.id, paid_on)
            done.append(funds.batch_json(b) | {"new": b in run.created})
        return done

    t = Table("批次", "机构", "救助费用（元）", "考核预留（元）", "支付（元）", "状态", "")
    for b in _do(database, work):
        t.add_row(str(b["id"]), b["fixmedins_code"], str(b["assistance"]), str(b["reserve"]),
                  str(b["payment"]), b["status"], "新建 new" if b["new"] else "")
    out.print(t)


@app.command("clearing")
def clearing(jurisdiction: str, district: str, year: int,
             assess: Annotated[list[str] | None, typer.Option(
                 "--assess", help="CODE=SHARE, an institution's assessment (0–1); repeat")
             ] = None,
             on: Annotated[str | None, typer.Option("--on", help="YYYY-MM-DD")] = None,
             database: DatabaseOpt = None) -> None:
    """Clear a fund year: release reserves by assessment, carry the surplus forward or
    put the deficit to the district."""
    from medaid.app import auth, funds

    shares = []
    for item in assess or []:
        code, _, share = item.partition("=")
        shares.append({"fixmedins_code": code, "share": _yuan(share, f"--assess {item}")})
    raw: dict[str, Any] = {"jurisdiction": jurisdiction, "district": district, "year": year,
                           "assessments": shares}
    if on is not None:
        raw["cleared_on"] = on
    c = _do(database, lambda uow: funds.clearing_json(uow, funds.run_clearing(uow, auth.CLI, raw)))
    out.print(f"清算 {jurisdiction} {district} {year}: 预算 {c['budget']}，救助 {c['assistance']}，"
              f"预留款拨付 {c['released']}，扣减 {c['forfeited']}；结转 {c['surplus']}，"
              f"超支 {c['deficit']}"
              + (f"（{c['deficit_due']} 前补足）" if c["deficit_due"] else ""))


@app.command("balance")
def balance(jurisdiction: Annotated[str | None, typer.Option("--jurisdiction", "-j")] = None,
            district: Annotated[str | None, typer.Option("--district")] = None,
            database: DatabaseOpt = None) -> None:
    """The balance check: every entry's debits equal its credits; the trial balance.
    Exit status 1 when the books do not balance."""
    from medaid.app.fund_journal import check, normal_balance
    from medaid.core.money import to_yuan

    books = _do(database, lambda uow: check(uow.session, jurisdiction, district))
    t = Table("辖区", "区县", "科目", "借方（元）", "贷方（元）", "余额（元）")
    for (j, d, a), (dr, cr) in books.accounts.items():
        t.add_row(j, d, a, str(to_yuan(dr)), str(to_yuan(cr)),
                  str(to_yuan(normal_balance(a, dr, cr))))
    out.print(t)
    out.print(f"{books.entries} entries; debits {to_yuan(books.debits)}, credits "
              f"{to_yuan(books.credits)}: " + ("balanced 平衡" if books.ok else
                                              f"NOT balanced, entries {books.unbalanced}"))
    if not books.ok:
        raise typer.Exit(1)


@app.command("report")
def report(jurisdiction: str, year: int,
           district: Annotated[str | None, typer.Option("--district")] = None,
           database: DatabaseOpt = None) -> None:
    """A fund year as JSON: schedule, batches, clearing and account balances per district."""
    from medaid.app import auth, funds

    _print_json(_do(database, lambda uow: funds.report(uow, auth.CLI, jurisdiction, year,
                                                       district)))
