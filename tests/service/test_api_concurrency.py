"""50 simultaneous settlements of one person near a cap, each sent twice, over real HTTP:
the cap is reached exactly and never exceeded, and each settlement id settles once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvicorn
from api_helpers import World, pool, visit
from fastapi.testclient import TestClient

from medaid.api.app import create_app
from medaid.app import auth
from medaid.app.uow import UnitOfWork
from medaid.store import audit, ledger_check

N = 50
CAP = 500  # NB-A4: a Ningbo dibao's outpatient assistance, 500 yuan a year


@pytest.fixture
def served(database_url: str) -> Iterator[tuple[str, World]]:
    """The app under uvicorn on a free port of 127.0.0.1, in a thread of this process."""
    app = create_app(database_url)
    with UnitOfWork(app.state.sessions) as uow:
        admin = auth.issue(uow, "admin")
        uow.commit()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        with TestClient(app) as client:
            yield f"http://127.0.0.1:{port}", World(client, {"Authorization": f"Bearer {admin}"})
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        app.state.engine.dispose()


def test_fifty_at_once_never_pass_the_cap(served: tuple[str, World]) -> None:
    base_url, world = served
    headers = world.institution("H33020300001", "ningbo", "330203")
    world.person("NB-1", "ningbo", [{"category": "dibao", "from": "2023-01-01"}],
                 district="330203")
    # each visit: base 20.00, of which 70% = 14.00; 50 of them would be 700 without the cap
    bodies = [visit(psn_no="NB-1", medins_setl_id=f"C-{i:02d}", mdtrt_id=f"M-{i:02d}",
                    med_type="11", start="2023-04-01", end="2023-04-01", medfee_sumamt=50,
                    fulamt_ownpay_amt=0, preselfpay_amt=0, hifp_pay=30, hifmi_pay=0)
              for i in range(N)]
    requests = bodies + bodies  # every settlement sent twice at once: a retry racing it
    start = threading.Barrier(len(requests))

    def post(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
            start.wait()
            r = client.post("/api/v1/settlements", json=body)
            return r.status_code, r.json()

    with ThreadPoolExecutor(len(requests)) as pool_:
        answers = list(pool_.map(post, requests))

    assert Counter(status for status, _ in answers) == {201: N, 200: N}, answers[:3]
    by_id: dict[str, set[str]] = {}
    for _, got in answers:
        by_id.setdefault(got["medins_setl_id"], set()).add(got["setl_id"])
    assert all(len(ids) == 1 for ids in by_id.values()) and len(by_id) == N
    paid = [got["maf_pay"] for status, got in answers if status == 201]
    assert sum(paid) == CAP
    assert sorted(paid, reverse=True)[:37] == [14] * 35 + [10, 0]
    year = world.year(world.admin, "NB-1")
    assert len(year["settlements"]) == N
    assert pool(year, "outpatient_cap")["used"] == CAP
    assert {"rule": "NB-A4", "cap": CAP, "left": 0} in pool(year, "outpatient_cap")["caps"]
    # the audit chain and the ledger hold after the race (each settlement logged once)
    engine = world.client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        chain = audit.verify(conn)
        ledger = ledger_check.verify(conn)
    assert chain.ok, chain.problem
    assert ledger.ok, ledger.problems
