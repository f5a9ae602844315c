"""What a running server writes to its log: never a token, a password or a whole ID number,
even with every logger at DEBUG (SQL statements included), through a day of logins,
settlements, person reads, refused credentials and bad requests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from api_helpers import certno, visit
from sqlalchemy import select

from medaid.app import auth, records, users
from medaid.app.auth import CLI
from medaid.app.uow import UnitOfWork
from medaid.store import db
from medaid.store.models import Institution

FULL_ID = re.compile(r"\d{17}[\dX]")
PASSWORD = "correct horse battery staple 42"
# `medaid serve` with every logger at DEBUG and SQLAlchemy's statements logged (it keeps its
# loggers at WARNING unless told): what an operator chasing a problem turns on
SERVE = ("import logging, sys; logging.basicConfig(level=logging.DEBUG); "
         "logging.getLogger('sqlalchemy.engine').setLevel(logging.INFO); "
         "from medaid.cli.main import main; sys.argv[0] = 'medaid'; main()")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _setup(url: str) -> tuple[str, str]:
    """An institution, a caseworker who logs in with PASSWORD; the admin's and the
    hospital's tokens."""
    engine = db.make_engine(url)
    db.upgrade(engine)
    with UnitOfWork(db.sessions(engine)) as uow:
        records.create_institution(uow, CLI, {
            "fixmedins_code": "H32010200001", "name": "医院", "jurisdiction": "nanjing",
            "district": "320102", "level": 3})
        users.create(uow, CLI, "wang", PASSWORD, "caseworker", "320102")
        inst = uow.session.scalars(select(Institution.id)).one()
        admin, hospital = auth.issue(uow, "admin"), auth.issue(uow, "hospital", inst)
        uow.commit()
    engine.dispose()
    return admin, hospital


def test_the_servers_log_holds_no_token_password_or_id_number(database_url: str,
                                                              tmp_path: Path) -> None:
    admin, hospital = _setup(database_url)
    full = certno("LOG-1")
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-c", SERVE, "serve", "--port", str(port), "--database",
             database_url], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        as_admin = {"Authorization": f"Bearer {admin}"}
        as_hospital = {"Authorization": f"Bearer {hospital}"}
        r = httpx.post(f"{base}/persons", headers=as_admin, json={
            "psn_no": "P-001", "certno": full, "name": "张三", "jurisdiction": "nanjing",
            "district": "320102", "identities": [
                {"category": "dibao", "department": "民政", "from": "2023-01-15"}]})
        assert r.status_code == 201, r.text
        r = httpx.post(f"{base}/persons", headers=as_admin, json={  # the same ID again: 409/422
            "psn_no": "P-002", "certno": full, "name": "张三", "jurisdiction": "nanjing",
            "district": "320102", "identities": []})
        assert r.status_code in (409, 422), r.text
        login = httpx.post(f"{base}/login", json={"username": "wang", "password": PASSWORD})
        assert login.status_code == 200, login.text
        session = login.json()["token"]
        refused = httpx.post(f"{base}/login", json={"username": "wang",
                                                     "password": PASSWORD + "x"})
        assert refused.status_code == 401
        r = httpx.post(f"{base}/settlements", headers=as_hospital, json=visit())
        assert r.status_code == 201, r.text
        assert httpx.post(f"{base}/settlements", headers=as_hospital, json=visit()
                          ).status_code == 200  # a retry
        assert httpx.post(f"{base}/settlements", headers=as_hospital,
                          json=visit(medfee_sumamt=-1)).status_code == 422
        assert httpx.post(f"{base}/settlements", headers=as_hospital,
                          json=visit(medins_setl_id="S-2", psn_no=full)).status_code == 404
        year = httpx.get(f"{base}/persons/P-001/years/2023",
                         headers={"Authorization": f"Bearer {session}"})
        assert year.status_code == 200 and year.json()["certno"] == full  # a caseworker's
        assert httpx.get(f"{base}/persons/P-001/years/2023", headers={
            "Authorization": "Bearer not-a-token-Zq8"}).status_code == 401
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "INSERT INTO settlements" in text or "FROM tokens" in text, \
        "the log holds no SQL: the server's logging was not captured"
    for secret in (admin, hospital, session, "not-a-token-Zq8", PASSWORD, full):
        assert secret not in text, f"{secret[:6]}… appears in the server's log"
    assert not FULL_ID.search(text), FULL_ID.search(text)
