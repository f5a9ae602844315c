"""The settlement routes' own path (api.fast) answers as FastAPI's routes do: the same
requests to an app with it and to one without it get the same status, headers and body."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import World, visit
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import DBAPIError, OperationalError

from databases import BACKENDS, empty_database
from medaid.api.app import create_app
from medaid.api.fast import FastSettlements
from medaid.app import auth, settlements, wire
from medaid.app.uow import UnitOfWork

SETTLE = "/api/v1/settlements"
PREVIEW = "/api/v1/settlements/preview"


def _world(app: FastAPI, client: TestClient) -> World:
    with UnitOfWork(app.state.sessions) as uow:
        admin = auth.issue(uow, "admin")
        uow.commit()
    world = World(client, {"Authorization": f"Bearer {admin}"})
    world.person()
    return world


@pytest.fixture(params=BACKENDS)
def twins(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[World, World]]:
    """The API on two fresh databases set up alike: with the fast path, and without it."""
    (tmp_path / "fast").mkdir()
    (tmp_path / "plain").mkdir()
    with empty_database(request.param, tmp_path / "fast") as a, \
            empty_database(request.param, tmp_path / "plain") as b:
        fast, plain = create_app(a), create_app(b)
        plain.user_middleware = [m for m in plain.user_middleware
                                 if m.cls is not FastSettlements]
        with TestClient(fast) as fc, TestClient(plain) as pc:
            yield _world(fast, fc), _world(plain, pc)
        for app in (fast, plain):
            app.state.engine.dispose()


def _answer(world: World, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    r = world.client.post(path, headers=headers, content=body)
    text = r.text
    # a new settlement's id and moment: each database its own
    text = re.sub(r"\b[0-9a-f]{32}\b", "<setl_id>", text)
    text = re.sub(r'"setl_time": "[^"]+"', '"setl_time": "<now>"', text)
    return {"status": r.status_code, "type": r.headers["content-type"], "body": text,
            "www-authenticate": r.headers.get("www-authenticate")}


def test_the_fast_path_answers_as_the_routes(twins: tuple[World, World]) -> None:
    fast, plain = twins
    hospital = {id(w): w.institution() for w in twins}
    other = {id(w): w.institution("H32010600002", district="320106")
             for w in twins}

    def good(w: World) -> dict[str, str]:
        return hospital[id(w)] | {"Content-Type": "application/json"}

    cases: list[tuple[str, Any, bytes]] = [
        (SETTLE, lambda w: {}, json.dumps(visit()).encode()),  # no token
        (SETTLE, lambda w: {"Authorization": "Basic abc"}, json.dumps(visit()).encode()),
        (PREVIEW, lambda w: {"Authorization": "Bearer nope"}, json.dumps(visit()).encode()),
        (SETTLE, lambda w: {"Authorization": "Bearer "}, b"{"),
        (SETTLE, good, b"{"),  # not JSON
        (SETTLE, good, b""),
        (SETTLE, good, json.dumps(visit(othpay=1)).encode()),  # a field no route knows
        (SETTLE, good, json.dumps(visit(medfee_sumamt=-1)).encode()),
        (SETTLE, good, json.dumps(visit(psn_no="P-404")).encode()),
        (SETTLE, good, json.dumps(visit(fixmedins_code="H32010600002")).encode()),  # 403
        (PREVIEW, good, json.dumps(visit()).encode()),
        (SETTLE, good, json.dumps(visit()).encode()),  # 201
        (SETTLE, good, json.dumps(visit()).encode()),  # the retry: 200, as stored
        (SETTLE, good, json.dumps(visit(medfee_sumamt=70000)).encode()),  # 409
        (SETTLE, lambda w: other[id(w)], json.dumps(visit()).encode()),
        (PREVIEW, good, json.dumps(visit(medins_setl_id=None)).encode()),
    ]
    statuses = []
    for path, headers, body in cases:
        got, want = (_answer(w, path, headers(w), body) for w in (fast, plain))
        assert got == want, (path, body)
        statuses.append(got["status"])
    assert statuses == [401, 401, 401, 401, 422, 422, 422, 422, 404, 403, 200, 201, 200, 409,
                        201, 200]


def test_errors_of_the_fast_path_get_the_apps_handlers(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    hospital = world.institution()

    def unavailable(*_: Any) -> None:
        raise OperationalError("SELECT", {}, Exception("the server closed the connection"))

    monkeypatch.setattr(settlements, "settle_by_token", unavailable)
    r = world.client.post(SETTLE, headers=hospital, json=visit())
    assert (r.status_code, r.headers["retry-after"]) == (503, "1")
    assert r.json()["error"]["message"] == "the database is unavailable or busy: retry"

    def bug(*_: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(settlements, "settle_by_token", bug)
    quiet = TestClient(world.client.app, raise_server_exceptions=False)
    r = quiet.post(SETTLE, headers=hospital, json=visit())
    assert r.status_code == 500
    assert r.json()["error"] == {"status": 500, "path": None,
                                 "message": "internal error (logged)"}


def test_reads_of_the_settlement_path_fail_as_sqlalchemy_fails(world: World) -> None:
    """A database error is SQLAlchemy's (the app's handlers know it), and its message
    keeps the parameters out (an ID number must not reach a log)."""
    with UnitOfWork(world.sessions) as uow, pytest.raises(DBAPIError) as failed:
        uow.rows("SELECT no_such_column FROM persons WHERE psn_no = %(psn_no)s",
                 {"psn_no": "320102194001011234"})
    assert "320102194001011234" not in str(failed.value)


def test_a_requests_digest_is_the_one_stored_before() -> None:
    """The ledger keeps each request's digest to tell a retry from another request: it
    must not change for requests settled by an earlier version."""
    raw = json.dumps(visit(psn_no="3201020000000001", start="2026-03-01", end="2026-03-10",
                           medins_setl_id="H-0001", mdtrt_id="M-0001")).encode()
    assert wire.parse_visit_request(raw, settling=True).digest() == \
        "6ef88679bb6615d36b549ff2d2d1ce3a326f9ae31c0903a85991cac8e1a51a72"
