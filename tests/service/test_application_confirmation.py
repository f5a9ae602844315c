"""Approving an application pays money, so the pages confirm the amount first: what
`approval_amount` shows is what `approve` pays, showing it stores nothing, and an approval
confirmed for another amount — one that changed meanwhile — is refused with nothing
stored. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from api_helpers import World, certno
from sqlalchemy import func, select
from test_api_applications import Desk, invoice

from medaid.app import applications
from medaid.app.auth import Actor
from medaid.app.uow import UnitOfWork
from medaid.core.errors import Conflict
from medaid.store.application_models import Application
from medaid.store.models import AuditEntry, Settlement

REVIEWER = Actor("caseworker", district="320102", subject="user:900")  # not the clerk


def _ready(world: World) -> str:
    world.person()  # dibao from 2023-01-15
    desk = Desk(world)
    app_no = desk.create(visits=[invoice()])
    desk.ready(app_no)
    return app_no


def _stored(world: World, app_no: str) -> tuple[str, int, int]:
    """The application's state, the ledger's entries, the approvals audited."""
    with world.sessions() as s:
        return (s.scalar(select(Application.state).where(Application.app_no == app_no)),
                s.scalar(select(func.count()).select_from(Settlement)),
                s.scalar(select(func.count()).select_from(AuditEntry).where(
                    AuditEntry.action == "application.approve")))


def test_the_amount_shown_is_the_amount_paid_and_showing_stores_nothing(world: World
                                                                       ) -> None:
    app_no = _ready(world)
    with UnitOfWork(world.sessions) as uow:
        amount = applications.approval_amount(uow, REVIEWER, app_no)
    assert amount == 1440000  # 90% × 16,000 (NJ-A2), in fen
    assert _stored(world, app_no) == ("under_review", 0, 0)
    with UnitOfWork(world.sessions) as uow:
        done = applications.approve(uow, REVIEWER, app_no, expected=amount)
        assert done.payment is not None and done.payment.amount == amount
    assert _stored(world, app_no) == ("approved", 1, 1)


def test_an_approval_confirmed_for_another_amount_is_refused(world: World) -> None:
    app_no = _ready(world)
    with UnitOfWork(world.sessions) as uow:
        amount = applications.approval_amount(uow, REVIEWER, app_no)
    # the roster recognises the person as 特困 (tekun) instead: the approval pays more now
    r = world.client.post("/api/v1/rosters", headers=world.admin, json={
        "jurisdiction": "nanjing", "district": "320102", "month": "2023-05",
        "mode": "incremental", "records": [
            {"name": "张三", "certno": certno("P-001"), "category": "特困",
             "start": "2023-01-15", "department": "民政"}]})
    assert r.status_code == 200 and r.json()["counts"]["changed"] == 1, r.text
    with UnitOfWork(world.sessions) as uow:
        now = applications.approval_amount(uow, REVIEWER, app_no)
        assert now != amount
        with pytest.raises(applications.AmountChanged, match="金额已变化"):
            applications.approve(uow, REVIEWER, app_no, expected=amount)
    assert _stored(world, app_no) == ("under_review", 0, 0)
    with UnitOfWork(world.sessions) as uow:
        applications.approve(uow, REVIEWER, app_no, expected=now)
    assert _stored(world, app_no) == ("approved", 1, 1)


def test_showing_the_amount_keeps_the_approvals_refusals(world: World) -> None:
    world.person()
    desk = Desk(world)
    app_no = desk.create(visits=[invoice()])
    assert desk.post(f"/{app_no}/submit").status_code == 200  # not under review yet
    with UnitOfWork(world.sessions) as uow, pytest.raises(Conflict, match="only when"):
        applications.approval_amount(uow, REVIEWER, app_no)
    assert _stored(world, app_no) == ("submitted", 0, 0)
