"""docs/SECURITY.md, tested: login lockout and failed logins audited; token lifetimes,
rotation and revocation (CLI and API); audit anchors catching a rewrite with recomputed
hashes; what each caller learns of records outside its scope; web sessions, API tokens
and the OpenAPI document."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from api_helpers import World, visit
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from test_api_audit import drop_append_only
from typer.testing import CliRunner

from medaid.api.app import create_app
from medaid.app import tokens, users
from medaid.app.auth import CLI, token_hash
from medaid.app.uow import UnitOfWork
from medaid.cli.main import app as cli
from medaid.store import audit
from medaid.store.models import AuditEntry, AuditHead, Token, User

PASSWORD = "a long password 1"
KEY = "k" * 40


def _login(world: World, password: str, username: str = "li") -> tuple[int, dict[str, str],
                                                                      str]:
    r = world.client.post("/api/v1/login", json={"username": username, "password": password})
    return r.status_code, dict(r.headers), r.text


def _audit(world: World, action: str) -> list[AuditEntry]:
    with UnitOfWork(world.sessions) as uow:
        return list(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                        .order_by(AuditEntry.seq)))


# -- 5. login ----------------------------------------------------------------------------------
def test_five_failures_lock_the_account_even_for_the_right_password(world: World) -> None:
    with UnitOfWork(world.sessions) as uow:
        users.create(uow, CLI, "li", PASSWORD, "auditor")
    for _ in range(users.LOCK_AFTER - 1):
        assert _login(world, "wrong guess 123")[0] == 401
    status, headers, body = _login(world, "wrong guess 123")  # the fifth: locked from now
    assert status == 429 and "北京时间" in body
    status, headers, body = _login(world, PASSWORD)  # the right password, still locked
    assert status == 429 and int(headers["retry-after"]) > 14 * 60
    message = json.loads(body)["error"]["message"]
    assert message.startswith("连续 5 次登录失败，账户已锁定")
    with UnitOfWork(world.sessions) as uow:
        until = uow.session.scalars(select(User.locked_until)).one()
    assert until is not None
    beijing = until.astimezone(users.BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    assert beijing in message  # the moment the lock ends, in Beijing time
    assert timedelta(minutes=14) < until - datetime.now(UTC) <= users.LOCKOUT
    with UnitOfWork(world.sessions) as uow:  # 15 minutes later
        uow.session.execute(update(User).values(locked_until=datetime.now(UTC)
                                                - timedelta(seconds=1)))
        uow.commit()
    assert _login(world, PASSWORD)[0] == 200


def test_a_success_resets_the_count(world: World) -> None:
    with UnitOfWork(world.sessions) as uow:
        users.create(uow, CLI, "li", PASSWORD, "auditor")
    for _ in range(2):
        for _ in range(users.LOCK_AFTER - 1):
            assert _login(world, "wrong guess 123")[0] == 401
        assert _login(world, PASSWORD)[0] == 200
    assert _login(world, "wrong guess 123")[0] == 401


def test_every_failed_login_is_audited_without_the_password(world: World) -> None:
    with UnitOfWork(world.sessions) as uow:
        users.create(uow, CLI, "li", PASSWORD, "auditor")
    secrets = ["wrong guess 1", "wrong guess 2", "wrong guess 3", "wrong guess 4",
               "wrong guess 5"]
    for guess in secrets:
        _login(world, guess)
    _login(world, PASSWORD)  # locked
    _login(world, "anything at all", username="nobody")
    failed = _audit(world, "login.failed")
    assert [e.detail["reason"] for e in failed] == (
        ["wrong password"] * 5 + ["locked", "unknown user"])
    assert [e.detail["username"] for e in failed] == ["li"] * 6 + ["nobody"]
    assert failed[4].detail["locked_until"] and failed[3].detail["failures"] == 4
    everything = str([(e.actor, e.object, e.detail) for e in failed])
    assert not any(s in everything for s in [*secrets, PASSWORD, "anything at all"])
    with world.client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        assert audit.verify(conn).ok


# -- 6. tokens ---------------------------------------------------------------------------------
def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_expire_and_are_listed_revoked_and_rotated_from_the_cli(
        world: World, database_url: str) -> None:
    world.institution()
    runner = CliRunner()
    made = runner.invoke(cli, ["token", "create", "--institution", "H32010200001",
                               "--database", database_url])
    assert made.exit_code == 0, made.output
    hospital = made.stdout.strip()
    with UnitOfWork(world.sessions) as uow:
        row = uow.session.scalars(select(Token).where(Token.token_hash == token_hash(hospital))
                                  ).one()
    assert row.expires_at is not None
    assert abs(row.expires_at - datetime.now(UTC) - timedelta(days=tokens.LIFETIME_DAYS)
               ) < timedelta(minutes=1)
    short = runner.invoke(cli, ["token", "create", "--role", "admin", "--days", "3",
                                "--database", database_url])
    assert short.exit_code == 0, short.output
    listed = runner.invoke(cli, ["token", "list", "--database", database_url])
    assert listed.exit_code == 0 and f"{row.id}  active  api  hospital  H32010200001" \
        in listed.stdout, listed.output
    assert hospital not in listed.stdout
    rotated = runner.invoke(cli, ["token", "rotate", str(row.id), "--grace-days", "0",
                                  "--database", database_url])
    assert rotated.exit_code == 0, rotated.output
    new = rotated.stdout.strip()
    preview = "/api/v1/settlements/preview"
    world.person()
    assert world.client.post(preview, headers=_bearer(hospital), json=visit()
                             ).status_code == 401
    assert world.client.post(preview, headers=_bearer(new), json=visit()).status_code == 200
    with UnitOfWork(world.sessions) as uow:
        new_id = uow.session.scalars(select(Token.id).where(Token.token_hash == token_hash(new))
                                     ).one()
    assert runner.invoke(cli, ["token", "revoke", str(new_id), "--database", database_url]
                         ).exit_code == 0
    assert world.client.post(preview, headers=_bearer(new), json=visit()).status_code == 401
    assert [e.object for e in _audit(world, "token.create")][:2] == [
        f"token:{row.id}", f"token:{row.id + 1}"]
    assert [e.detail["new_token"] for e in _audit(world, "token.rotate")] == [new_id]
    assert [e.object for e in _audit(world, "token.revoke")] == [f"token:{new_id}"]
    assert _audit(world, "token.list")
    assert runner.invoke(cli, ["token", "create", "--role", "admin", "--days", "0",
                               "--database", database_url]).exit_code == 2


def test_the_admin_api_for_tokens(world: World) -> None:
    world.institution()
    world.person()
    api = "/api/v1/tokens"
    r = world.client.post(api, headers=world.admin, json={
        "role": "hospital", "fixmedins_code": "H32010200001", "days": 10})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["state"] == "active" and made["fixmedins_code"] == "H32010200001"
    old = made["token"]
    listed = world.client.get(api, headers=world.admin)
    assert listed.status_code == 200 and old not in listed.text
    assert made["id"] in [t["id"] for t in listed.json()["tokens"]]
    preview = "/api/v1/settlements/preview"
    assert world.client.post(preview, headers=_bearer(old), json=visit()).status_code == 200
    assert world.client.get(api, headers=_bearer(old)).status_code == 403  # admins only
    r = world.client.post(f"{api}/{made['id']}/rotate", headers=world.admin, json={})
    assert r.status_code == 201, r.text
    new = r.json()["token"]
    grace_end = datetime.fromisoformat(r.json()["replaces"]["expires_at"])
    assert timedelta(days=6) < grace_end - datetime.now(UTC) <= timedelta(days=7)
    for token in (old, new):  # both work during the grace period
        assert world.client.post(preview, headers=_bearer(token), json=visit()
                                 ).status_code == 200
    r = world.client.post(f"{api}/{made['id']}/revoke", headers=world.admin)
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    assert world.client.post(preview, headers=_bearer(old), json=visit()).status_code == 401
    assert world.client.post(preview, headers=_bearer(new), json=visit()).status_code == 200
    assert world.client.post(f"{api}/{made['id']}/rotate", headers=world.admin
                             ).status_code == 409  # revoked: create a new one
    assert world.client.post(f"{api}/99999/revoke", headers=world.admin).status_code == 404
    assert world.client.post(api, headers=world.admin, json={"role": "hospital"}
                             ).status_code == 422  # a hospital token names its institution
    with UnitOfWork(world.sessions) as uow:  # a user's session: log in again
        users.create(uow, CLI, "li", PASSWORD, "auditor")
    world.client.post("/api/v1/login", json={"username": "li", "password": PASSWORD})
    sessions = world.client.get(api, headers=world.admin, params={"sessions": True})
    [session] = [t for t in sessions.json()["tokens"] if t["user_id"] is not None]
    assert world.client.post(f"{api}/{session['id']}/rotate", headers=world.admin
                             ).status_code == 409
    assert {e.action for e in _audit(world, "token.create")} == {"token.create"}
    assert len(_audit(world, "token.rotate")) == 1 and len(_audit(world, "token.revoke")) == 1


# -- 7. the audit chain ------------------------------------------------------------------------
def _rewrite(world: World, seq: int) -> None:
    """An attacker who owns the database: the trigger out of the way, entry `seq` changed,
    and every hash after it (and the head) recomputed, as `audit verify` would."""
    engine = world.client.app.state.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        drop_append_only(conn)
        prev = audit.GENESIS
        for e in conn.execute(select(AuditEntry).order_by(AuditEntry.seq)).all():
            actor = "someone else" if e.seq == seq else e.actor
            h = audit.digest(prev, e.seq, e.at, actor, e.action, e.object, e.detail)
            conn.execute(update(AuditEntry).where(AuditEntry.seq == e.seq).values(
                actor=actor, prev_hash=prev, hash=h))
            prev = h
        conn.execute(update(AuditHead).values(hash=prev))


def _busy(world: World) -> None:
    hospital = world.institution()
    world.person()
    assert world.client.post("/api/v1/settlements", headers=hospital, json=visit()
                             ).status_code == 201
    world.year(hospital)


def test_a_rewrite_with_recomputed_hashes_is_caught_by_the_anchors(
        world: World, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _busy(world)
    monkeypatch.setenv("MEDAID_AUDIT_KEY", KEY)
    anchors = tmp_path / "elsewhere" / "anchors.jsonl"
    runner = CliRunner()
    r = runner.invoke(cli, ["audit", "anchor", "--anchors", str(anchors),
                            "--database", database_url])
    assert r.exit_code == 0 and "anchored entry 4" in r.stdout, r.output
    world.year(world.admin)  # entry 5, then a second anchor
    assert runner.invoke(cli, ["audit", "anchor", "--anchors", str(anchors),
                               "--database", database_url]).exit_code == 0
    verify = ["audit", "verify", "--anchors", str(anchors), "--database", database_url]
    r = runner.invoke(cli, verify)
    assert r.exit_code == 0 and r.stdout.strip() == "ok, 5 entries, 2 anchors hold", r.output
    _rewrite(world, 2)
    r = runner.invoke(cli, ["audit", "verify", "--database", database_url])
    assert r.exit_code == 0, r.output  # the chain alone cannot see it
    r = runner.invoke(cli, verify)
    assert r.exit_code == 1, r.output
    assert "audit log rewritten: anchor 1" in r.stdout and "entry 4 no longer has" in r.stdout
    r = runner.invoke(cli, ["audit", "anchor", "--anchors", str(anchors),
                            "--database", database_url])
    assert r.exit_code == 2 and "not anchored" in r.output  # never blesses a rewrite


def test_anchors_forged_edited_or_removed_are_caught(
        world: World, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _busy(world)
    anchors = tmp_path / "anchors.jsonl"
    runner = CliRunner()
    monkeypatch.setenv("MEDAID_AUDIT_KEY", KEY)
    for _ in range(3):
        world.year(world.admin)
        assert runner.invoke(cli, ["audit", "anchor", "--anchors", str(anchors),
                                   "--database", database_url]).exit_code == 0
    lines = anchors.read_text().splitlines()
    verify = ["audit", "verify", "--anchors", str(anchors), "--database", database_url]
    assert runner.invoke(cli, verify).exit_code == 0
    monkeypatch.setenv("MEDAID_AUDIT_KEY", "another key of forty characters........")
    assert "signature does not hold" in runner.invoke(cli, verify).stdout  # the wrong key
    monkeypatch.setenv("MEDAID_AUDIT_KEY", KEY)
    anchors.write_text("\n".join([lines[0], lines[2]]) + "\n")  # the middle one removed
    r = runner.invoke(cli, verify)
    assert r.exit_code == 1 and "does not follow" in r.stdout, r.output
    edited = json.loads(lines[2]) | {"seq": 2}
    anchors.write_text("\n".join([lines[0], lines[1], json.dumps(edited)]) + "\n")
    assert "anchor 3" in runner.invoke(cli, verify).stdout
    monkeypatch.delenv("MEDAID_AUDIT_KEY")
    r = runner.invoke(cli, verify)
    assert r.exit_code == 2 and "MEDAID_AUDIT_KEY" in r.output
    key_file = tmp_path / "audit.key"
    key_file.write_text(KEY + "\n")
    anchors.write_text("\n".join(lines) + "\n")
    assert runner.invoke(cli, [*verify, "--key-file", str(key_file)]).exit_code == 0


def test_the_trigger_is_append_only_even_for_a_single_statement(world: World) -> None:
    _busy(world)
    engine = world.client.app.state.engine  # type: ignore[attr-defined]
    for sql in ("UPDATE audit_log SET detail = detail", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    with engine.connect() as conn:
        assert audit.verify(conn).entries == 4


# -- 9. scope, sessions and the OpenAPI document ----------------------------------------------
def test_a_web_session_is_no_api_token_and_an_api_token_no_session(world: World) -> None:
    with UnitOfWork(world.sessions) as uow:
        users.create(uow, CLI, "li", PASSWORD, "auditor")
        web = users.login(uow, "li", PASSWORD, kind="web").token
    r = world.client.get("/api/v1/audit", headers=_bearer(web))
    assert r.status_code == 401 and "网页会话" in r.json()["error"]["message"]
    api = world.client.post("/api/v1/login", json={"username": "li", "password": PASSWORD}
                            ).json()["token"]
    assert world.client.get("/api/v1/audit", headers=_bearer(api)).status_code == 200
    world.client.cookies.set("medaid_session", api)
    r = world.client.get("/", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    world.client.cookies.set("medaid_session", web)
    assert world.client.get("/", follow_redirects=False).status_code == 200


def test_a_caseworker_cannot_tell_another_districts_person_from_none(world: World) -> None:
    world.person()  # in 320102
    stranger = world.token("caseworker", district="320106")
    for psn_no in ("P-001", "P-NONE"):
        r = world.client.get(f"/api/v1/persons/{psn_no}/years/2023", headers=stranger)
        assert r.status_code == 404
        assert r.json()["error"]["message"] == \
            f"未找到人员编号「{psn_no}」 / no person with psn_no {psn_no!r}"


def test_a_hospital_reads_only_the_persons_it_has_settled_for(world: World) -> None:
    mine = world.institution()
    world.person()
    r = world.client.get("/api/v1/persons/P-001/years/2023", headers=mine)
    assert r.status_code == 404 and r.json()["error"]["message"] == \
        "未找到人员编号「P-001」 / no person with psn_no 'P-001'"
    assert world.client.post("/api/v1/settlements", headers=mine, json=visit()
                             ).status_code == 201
    assert world.client.get("/api/v1/persons/P-001/years/2023", headers=mine
                            ).status_code == 200


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_the_openapi_document_is_served_only_when_asked(
        database_url: str, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDAID_API_DOCS", raising=False)
    for setting, status in ((None, 404), ("1", 200)):
        if setting is not None:
            monkeypatch.setenv("MEDAID_API_DOCS", setting)
        served = create_app(database_url)
        with TestClient(served) as client:
            assert client.get(path).status_code == status, (setting, path)
        served.state.engine.dispose()


def test_the_sign_in_page_says_when_the_lock_ends(world: World) -> None:
    with UnitOfWork(world.sessions) as uow:
        users.create(uow, CLI, "li", PASSWORD, "caseworker", "320102")
    c = world.client

    def sign_in(password: str) -> tuple[int, str, dict[str, str]]:
        token = re.findall(r'name="csrf" value="([^"]+)"', c.get("/login").text)[0]
        r = c.post("/login", data={"csrf": token, "username": "li", "password": password},
                   follow_redirects=False)
        return r.status_code, r.text, dict(r.headers)

    for _ in range(users.LOCK_AFTER - 1):
        assert sign_in("wrong guess 123")[0] == 401
    assert sign_in("wrong guess 123")[0] == 429
    status, page, headers = sign_in(PASSWORD)
    assert status == 429 and "账户已锁定" in page and "北京时间" in page
    assert "medaid_session" not in headers.get("set-cookie", "")
    assert int(headers["retry-after"]) > 60
