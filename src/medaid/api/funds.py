"""The fund ledger's routes (docs/FUNDS.md): budgets, the pre-allocation schedule,
receipts, monthly payment batches, the annual clearing, the balance check and the report."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from medaid.api.caller import ActorDep
from medaid.api.routes import ERRORS, _run, reply
from medaid.api.schemas import District, DistrictCode, RowId, Year, Yuan, body
from medaid.app import funds
from medaid.app.fund_journal import Fund, check, normal_balance
from medaid.app.uow import UnitOfWork
from medaid.app.wire import ROOT, parse_body
from medaid.core.money import to_yuan
from medaid.engine.case import as_date, as_jurisdiction

router = APIRouter(prefix="/api/v1/funds", tags=["funds"], responses=ERRORS)


class FundIn(BaseModel):
    jurisdiction: str
    district: str = Field(description="6-digit administrative-division code")
    year: int


class BudgetIn(FundIn):
    amount: Yuan
    source: str


class ReceiptIn(FundIn):
    amount: Yuan
    purpose: str = Field("budget", description="budget or deficit")
    received_on: date | None = Field(None, description="today by default")


class MonthIn(BaseModel):
    month: str = Field(description="YYYY-MM, a month that has ended")


class PaidIn(BaseModel):
    paid_on: date | None = Field(None, description="today by default")


class AssessmentIn(BaseModel):
    fixmedins_code: str
    share: Any = Field(description="the institution's assessment share")


class ClearingIn(FundIn):
    cleared_on: date | None = None
    assessments: list[AssessmentIn] = []


@router.post("/budgets", summary="预算: enter a district's annual budget",
             openapi_extra=body(BudgetIn))
async def set_budget(request: Request, actor: ActorDep) -> Response:
    """`{jurisdiction, district, year, amount, source}` (yuan); again for a year changes it."""
    raw = await request.body()
    return await _run(request, lambda uow: reply(funds.budget_json(
        funds.set_budget(uow, actor, parse_body(raw)))))


@router.get("/schedule", summary="预拨: the quarterly pre-allocation schedule")
async def schedule(request: Request, actor: ActorDep, jurisdiction: str, district: DistrictCode,
                   year: Year) -> Response:
    fund = Fund(as_jurisdiction(jurisdiction, "jurisdiction"), district)
    return await _run(request, lambda uow: reply(funds.schedule_json(
        funds.schedule(uow, actor, fund, year))))


@router.post("/receipts", status_code=201, summary="到账: money a district paid in",
             openapi_extra=body(ReceiptIn))
async def receipt(request: Request, actor: ActorDep) -> Response:
    """`{jurisdiction, district, year, amount, purpose: budget|deficit, received_on}`."""
    raw = await request.body()
    return await _run(request, lambda uow: reply(funds.receipt_json(
        funds.record_receipt(uow, actor, parse_body(raw))), 201))


@router.post("/batches", summary="按月支付: create a month's payment batches",
             openapi_extra=body(MonthIn))
async def create_batches(request: Request, actor: ActorDep) -> Response:
    """`{month: "YYYY-MM"}`: one batch per institution with assistance settled in that
    (ended) month; a batch that exists is returned as it is, never made twice."""
    raw = await request.body()

    def work(uow: UnitOfWork) -> Response:
        month = funds.parse_month(parse_body(raw).get("month"), f"{ROOT}.month")
        run = funds.create_batches(uow, actor, month)
        return reply({"month": f"{month:%Y-%m}",
                      "created": [funds.batch_json(b) for b in run.created],
                      "existing": [funds.batch_json(b) for b in run.existing]},
                     201 if run.created else 200)

    return await _run(request, work)


@router.get("/batches")
async def list_batches(request: Request, actor: ActorDep,
                       month: Annotated[str | None, Query(max_length=7)] = None,
                       year: Annotated[int | None, Query(ge=1990, le=2100)] = None
                       ) -> Response:
    """Batches (a hospital: its own; a caseworker: those paying for its district)."""
    def work(uow: UnitOfWork) -> Response:
        m = None if month is None else funds.parse_month(month, "month")
        scope = actor.district if actor.role == "caseworker" else None
        return reply({"batches": [funds.batch_json(b, scope)
                                  for b in funds.list_batches(uow, actor, m, year)]})

    return await _run(request, work)


@router.get("/batches/{batch_id}")
async def get_batch(batch_id: RowId, request: Request, actor: ActorDep) -> Response:
    scope = actor.district if actor.role == "caseworker" else None
    return await _run(request, lambda uow: reply(funds.batch_json(
        funds.get_batch(uow, actor, batch_id), scope)))


@router.post("/batches/{batch_id}/approve")
async def approve_batch(batch_id: RowId, request: Request, actor: ActorDep) -> Response:
    return await _run(request, lambda uow: reply(funds.batch_json(
        funds.approve_batch(uow, actor, batch_id))))


@router.post("/batches/{batch_id}/pay", openapi_extra=body(PaidIn, required=False))
async def pay_batch(batch_id: RowId, request: Request, actor: ActorDep) -> Response:
    """`{paid_on: "YYYY-MM-DD"}` (default today)."""
    raw = await request.body()

    def work(uow: UnitOfWork) -> Response:
        given: dict[str, Any] = parse_body(raw) if raw.strip() else {}
        on = as_date(given["paid_on"], f"{ROOT}.paid_on") if "paid_on" in given else None
        return reply(funds.batch_json(funds.pay_batch(uow, actor, batch_id, on)))

    return await _run(request, work)


@router.post("/clearings", status_code=201, summary="清算: clear a fund year",
             openapi_extra=body(ClearingIn))
async def run_clearing(request: Request, actor: ActorDep) -> Response:
    """`{jurisdiction, district, year, cleared_on, assessments: [{fixmedins_code, share}]}`:
    every institution holding a reserve of the fund year needs its assessment share."""
    raw = await request.body()
    return await _run(request, lambda uow: reply(funds.clearing_json(
        uow, funds.run_clearing(uow, actor, parse_body(raw))), 201))


@router.get("/clearings")
async def list_clearings(request: Request, actor: ActorDep, jurisdiction: str, year: Year,
                         district: District = None) -> Response:
    j = as_jurisdiction(jurisdiction, "jurisdiction")
    return await _run(request, lambda uow: reply({"clearings": [
        funds.clearing_json(uow, c) for c in funds.list_clearings(uow, actor, j, year, district)
    ]}))


@router.get("/balance", summary="the balance check: every entry's debits equal its credits")
async def books(request: Request, actor: ActorDep,
                jurisdiction: Annotated[str | None, Query(max_length=40)] = None,
                district: District = None) -> Response:
    j = None if jurisdiction is None else as_jurisdiction(jurisdiction, "jurisdiction")

    def work(uow: UnitOfWork) -> Response:
        d = funds.require_fund_read(actor, district)
        b = check(uow.session, j, d)
        return reply({"ok": b.ok, "entries": b.entries, "unbalanced": b.unbalanced,
                      "debits": to_yuan(b.debits), "credits": to_yuan(b.credits),
                      "accounts": [{"jurisdiction": jj, "district": dd, "account": a,
                                    "debit": to_yuan(dr), "credit": to_yuan(cr),
                                    "balance": to_yuan(normal_balance(a, dr, cr))}
                                   for (jj, dd, a), (dr, cr) in b.accounts.items()]})

    return await _run(request, work)


@router.get("/report", summary="a fund year: schedule, batches, clearing, accounts")
async def fund_report(request: Request, actor: ActorDep, jurisdiction: str, year: Year,
                      district: District = None,
                      on: Annotated[date | None, Query(description="statuses as of")] = None
                      ) -> Response:
    j = as_jurisdiction(jurisdiction, "jurisdiction")
    return await _run(request, lambda uow: reply(funds.report(uow, actor, j, year, district,
                                                              on)))
