"""Random sequences of settle / cancel / identity change / parameter change / tilted
application on one Yichun person's year: after every step the ledger equals the rules
on today's facts (visit by visit, tier by tier, and the pools), on both databases."""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
from api_helpers import World, certno, visit
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from test_api_applications import Desk, invoice
from test_resettlement import invariant as ledger_equals_rules

from databases import BACKENDS, migrated_database
from medaid.api.app import create_app
from medaid.app import auth
from medaid.app.uow import UnitOfWork

SETTLE = "/api/v1/settlements"
DISTRICT = "360902"
CATEGORIES = ("低保", "低保边缘", "特困")


def machine(backend: str, calls: Counter[str]) -> type[RuleBasedStateMachine]:
    class Year(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.stack = ExitStack()
            directory = Path(self.stack.enter_context(TemporaryDirectory()))
            app = create_app(self.stack.enter_context(migrated_database(backend, directory)))
            self.stack.callback(app.state.engine.dispose)
            with UnitOfWork(app.state.sessions) as uow:
                admin = auth.issue(uow, "admin")
                uow.commit()
            client = self.stack.enter_context(TestClient(app))
            self.world = World(client, {"Authorization": f"Bearer {admin}"})
            self.hospital = self.world.institution("H36090200001", "yichun", DISTRICT)
            self.world.person("YC-1", "yichun", [
                {"category": "dibao", "department": "民政", "from": "2023-01-01"}],
                district=DISTRICT)
            self.world.parameter("yichun", "income_per_capita_prev_year", 40000, 2023)
            self.live: list[str] = []
            self.n = 0
            self.applied = False

        def teardown(self) -> None:
            self.stack.close()

        @rule(month=st.integers(1, 12), fee=st.sampled_from([8000, 30000, 120000, 260000]))
        def settle(self, month: int, fee: int) -> None:
            calls["settle"] += 1
            self.n += 1
            r = self.world.client.post(SETTLE, headers=self.hospital, json=visit(
                psn_no="YC-1", medins_setl_id=f"S-{self.n}", mdtrt_id=f"M-{self.n}",
                start=f"2023-{month:02d}-01", end=f"2023-{month:02d}-05", medfee_sumamt=fee,
                fulamt_ownpay_amt=0, preselfpay_amt=0, hifp_pay=fee * 4 // 10,
                hifmi_pay=fee // 10))
            assert r.status_code == 201, r.text
            self.live.append(r.json()["setl_id"])

        @precondition(lambda self: self.live)
        @rule(pick=st.integers(0, 100))
        def cancel(self, pick: int) -> None:
            calls["cancel"] += 1
            setl_id = self.live.pop(pick % len(self.live))
            r = self.world.client.post(f"{SETTLE}/{setl_id}/cancel", headers=self.hospital)
            assert r.status_code == 201, r.text

        @rule(category=st.sampled_from(CATEGORIES), month=st.integers(1, 12))
        def identity(self, category: str, month: int) -> None:
            calls["identity"] += 1
            r = self.world.client.post("/api/v1/rosters", headers=self.world.admin, json={
                "jurisdiction": "yichun", "district": DISTRICT, "month": "2024-01",
                "mode": "complete",
                "records": [{"name": "张三", "certno": certno("YC-1", DISTRICT),
                             "category": category, "start": f"2023-{month:02d}-01",
                             "department": "民政"}]})
            assert r.status_code == 200, r.text

        @rule(income=st.sampled_from([30000, 40000, 52000]))
        def parameter(self, income: int) -> None:
            calls["parameter"] += 1
            self.world.parameter("yichun", "income_per_capita_prev_year", income, 2023)

        @precondition(lambda self: not self.applied)
        @rule(month=st.integers(1, 11))
        def tilted_application(self, month: int) -> None:
            calls["tilted_application"] += 1
            desk = Desk(self.world, DISTRICT)
            app_no = desk.create("YC-1", "tilted", [invoice(
                "T-1", location="city", start=f"2023-{month:02d}-10",
                end=f"2023-{month:02d}-12", medfee_sumamt=5000, fulamt_ownpay_amt=0,
                preselfpay_amt=0, hifp_pay=2000, hifmi_pay=0)],
                applied_on=f"2023-{month:02d}-10")
            desk.ready(app_no, "tilted")
            desk.approve(app_no)
            self.applied = True

        @invariant()
        def ledger_equals_the_rules(self) -> None:
            ledger_equals_rules(self.world)

    return Year


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_event_sequences_keep_the_ledger_equal_to_the_rules(backend: str) -> None:
    calls: Counter[str] = Counter()
    run = machine(backend, calls)
    run.TestCase.settings = settings(
        max_examples=12, stateful_step_count=10, deadline=None,
        suppress_health_check=[HealthCheck.too_slow])
    run.TestCase().runTest()
    assert calls["settle"] and calls["identity"] and calls["parameter"], calls
