"""The audit chain: appended on writes and person reads, tampering found by `verify`,
appends serialized under concurrency; ID numbers masked, tokens never logged."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from datetime import UTC, datetime

import pytest
from api_helpers import World, visit
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from medaid.cli.main import app
from medaid.store import audit
from medaid.store.models import AuditEntry, AuditHead

FULL_ID = re.compile(r"\d{17}[\dX]")


def _verify(world: World) -> audit.Verdict:
    with world.client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        return audit.verify(conn)


def _actions(world: World) -> list[str]:
    with world.client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        return list(conn.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def _busy_day(world: World) -> tuple[dict[str, str], str]:
    hospital = world.institution()
    person = world.person()
    r = world.client.post("/api/v1/settlements", headers=hospital, json=visit())
    assert r.status_code == 201
    world.year(hospital)
    assert world.client.get(f"/api/v1/settlements/{r.json()['setl_id']}", headers=hospital
                            ).status_code == 200
    return hospital, str(person["certno"])


def test_writes_and_person_reads_are_appended(world: World) -> None:
    _busy_day(world)
    assert _actions(world) == ["institution.create", "person.create", "settle",
                               "person.read", "settlement.read"]
    assert world.client.post("/api/v1/settlements/preview", headers=world.admin, json=visit(
        fixmedins_code="H32010200001")).status_code == 200  # stores nothing
    assert len(_actions(world)) == 5
    verdict = _verify(world)
    assert verdict.ok and verdict.entries == 5


def drop_append_only(conn: Connection) -> None:
    """What an attacker who owns the database does first: the trigger refusing UPDATE and
    DELETE on the audit log (migration 0008) out of the way."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    else:
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("DROP TRIGGER audit_log_no_delete"))


@pytest.mark.parametrize("sql", ["UPDATE audit_log SET actor = 'someone else' WHERE seq = 2",
                                 "DELETE FROM audit_log WHERE seq = 5"])
def test_the_audit_log_refuses_update_and_delete(world: World, sql: str) -> None:
    _busy_day(world)
    engine = world.client.app.state.engine  # type: ignore[attr-defined]
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(sql))
    assert _verify(world).ok


def _tamper(world: World, how: str) -> None:
    engine = world.client.app.state.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        drop_append_only(conn)
        if how == "edit":
            conn.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE seq = 2"))
        elif how == "remove":
            conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
        elif how == "remove last":
            conn.execute(text("DELETE FROM audit_log WHERE seq = 5"))
        else:  # a well-formed entry after the last, by someone who knows the algorithm
            last = conn.execute(select(AuditHead.hash)).scalar_one()
            at = datetime.now(UTC)
            h = audit.digest(last, 6, at, "x", "settle", "y", {})
            conn.execute(AuditEntry.__table__.insert().values(
                seq=6, at=at, actor="x", action="settle", object="y", detail={},
                prev_hash=last, hash=h))


@pytest.mark.parametrize(("how", "found"), [
    ("edit", "entry 2 edited"), ("remove", "entry 2 removed"),
    ("remove last", "entry 5 removed"), ("insert", "entry 6 inserted")])
def test_verify_finds_the_first_tampered_entry(world: World, database_url: str, how: str,
                                               found: str) -> None:
    _busy_day(world)
    runner = CliRunner()
    r = runner.invoke(app, ["audit", "verify", "--database", database_url])
    assert r.exit_code == 0 and r.output.strip() == "ok, 5 entries", r.output
    _tamper(world, how)
    r = runner.invoke(app, ["audit", "verify", "--database", database_url])
    assert r.exit_code == 1
    assert found in r.output, r.output


def test_concurrent_appends_keep_one_chain(world: World) -> None:
    engine = world.client.app.state.engine  # type: ignore[attr-defined]

    def writer(k: int) -> None:
        for i in range(10):
            with engine.begin() as conn:
                audit.append(conn, f"t{k}", "test", f"n{i}", {"i": i})

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    verdict = _verify(world)
    assert verdict.ok and verdict.entries == 80


def test_ids_masked_for_hospitals_and_in_audit_and_tokens_never_logged(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hospital, full = _busy_day(world)
    token = hospital["Authorization"].split()[1]
    for r in (world.client.post("/api/v1/settlements/preview", headers=hospital,
                                json=visit()),
              world.client.get("/api/v1/persons/P-001/years/2023", headers=hospital)):
        assert r.status_code == 200
        assert not FULL_ID.search(r.text), r.text
    assert world.year(hospital)["certno"] == full[:6] + "********" + full[-4:]
    caseworker = world.token("caseworker", district="320102")
    assert world.year(caseworker)["certno"] == full
    auditor = world.token("auditor")
    log = world.client.get("/api/v1/audit", headers=auditor)
    assert log.status_code == 200 and len(log.json()["entries"]) >= 5
    details = str([e["detail"] for e in log.json()["entries"]])
    assert full not in log.text and not FULL_ID.search(details)
    assert token not in caplog.text and full not in caplog.text
    assert world.admin["Authorization"].split()[1] not in caplog.text


@pytest.mark.parametrize("at", [datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                                datetime(2026, 11, 23, 23, 59, 59, 120, tzinfo=UTC),
                                datetime(2024, 2, 29, 0, 0, 0, 999999, tzinfo=UTC)])
def test_hash_in_parts_equals_digest(world: World, at: datetime) -> None:
    """The parts the database hashes (PostgreSQL's one-statement append) are `digest`'s
    bytes, and its text of `at` is Python's isoformat()."""
    detail = {"psn_no": "3201**********0011", "note": "é 结算", "n": [1, {"b": 2, "a": 3}]}
    before, between = audit.hashed_parts("token:7", "settle", "settlement:x", detail)
    prev = "ab" * 32
    text_at = at.isoformat()
    engine = world.client.app.state.engine  # type: ignore[attr-defined]
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            text_at = conn.exec_driver_sql(
                "SELECT " + audit.PG_ISOFORMAT.format(at="%(at)s::timestamptz"),
                {"at": at}).scalar_one()
        assert text_at == at.isoformat()
    h = hashlib.sha256(prev.encode() + before + text_at.encode() + between + b"42}").hexdigest()
    assert h == audit.digest(prev, 42, at, "token:7", "settle", "settlement:x", detail)
