"""Backup and restore: `medaid backup` / `medaid restore` on SQLite (the online backup
API, taken while the service holds the database open), and on PostgreSQL the procedure of
docs/RELIABILITY.md (pg_dump -Fc, createdb, pg_restore) run as documented; each restored
database passes `ledger verify` and `audit verify` and settles on as before."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import World, visit
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from databases import POSTGRES
from medaid.api.app import create_app
from medaid.app import auth
from medaid.app.uow import UnitOfWork
from medaid.cli.main import app

SETTLE = "/api/v1/settlements"


def _cli(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.output


def _settle_some(world: World) -> tuple[dict[str, str], str]:
    hospital = world.institution()
    world.person()
    first = world.client.post(SETTLE, headers=hospital, json=visit())
    assert first.status_code == 201
    second = world.client.post(SETTLE, headers=hospital, json=visit(
        medins_setl_id="S-2", mdtrt_id="M-2", start="2023-06-01", end="2023-06-05"))
    assert second.status_code == 201
    r = world.client.post(f"{SETTLE}/{first.json()['setl_id']}/cancel", headers=hospital)
    assert r.status_code == 201
    return hospital, second.json()["setl_id"]


def _all_checks(url: str) -> None:
    code, output = _cli("ledger", "verify", "--database", url)
    assert (code, output.strip()) == (
        0, "ok: 2 settlements, 1 person-years (1 cancellations) / "
           "账目核对无误：2 笔结算、1 个人员年度（撤销 1 笔），与现行规则一致"), output
    code, output = _cli("audit", "verify", "--database", url)
    assert code == 0 and output.startswith("ok, "), output


def _settles_on(url: str, hospital: dict[str, str], second: str) -> None:
    """The restored database serves: a retry answers from the ledger, a new visit settles."""
    restored = create_app(url)
    with TestClient(restored) as client:
        retry = client.post(SETTLE, headers=hospital, json=visit(
            medins_setl_id="S-2", mdtrt_id="M-2", start="2023-06-01", end="2023-06-05"))
        assert (retry.status_code, retry.json()["setl_id"]) == (200, second)
        assert client.post(SETTLE, headers=hospital, json=visit(
            medins_setl_id="S-3", mdtrt_id="M-3")).status_code == 201
    restored.state.engine.dispose()


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[tuple[World, str]]:
    url = f"sqlite:///{tmp_path / 'medaid.sqlite'}"
    served = create_app(url)
    with UnitOfWork(served.state.sessions) as uow:
        admin = auth.issue(uow, "admin")
        uow.commit()
    with TestClient(served) as client:
        yield World(client, {"Authorization": f"Bearer {admin}"}), url
    served.state.engine.dispose()


def test_sqlite_backup_and_restore(sqlite_world: tuple[World, str], tmp_path: Path) -> None:
    world, url = sqlite_world
    hospital, second = _settle_some(world)
    copy = tmp_path / "copy.medaid"
    code, output = _cli("backup", str(copy), "--database", url)  # the service is serving
    assert code == 0, output
    assert "账目无误 2 笔结算、1 个人员年度 / ledger ok: 2 settlements, 1 person-years；" \
        "审计日志完整" in output, output
    assert _cli("backup", str(copy), "--database", url)[0] == 2  # no silent overwrite
    assert _cli("backup", str(copy), "--database", url, "--force")[0] == 0

    # a settlement after the backup is not in it
    assert world.client.post(SETTLE, headers=hospital, json=visit(
        medins_setl_id="S-9", mdtrt_id="M-9")).status_code == 201

    code, output = _cli("restore", str(copy), "--database", url)
    assert code == 2 and "not empty" in output and "--force" in output, output
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    code, output = _cli("restore", str(copy), "--database", fresh)
    assert code == 0 and "ledger ok: 2 settlements" in output, output
    _all_checks(fresh)
    _settles_on(fresh, hospital, second)

    code, output = _cli("restore", str(copy), "--database", url, "--force")
    assert code == 0, output  # back to the moment of the backup: S-9 is gone
    _all_checks(url)


def test_restore_refuses_a_bad_backup(sqlite_world: tuple[World, str], tmp_path: Path
                                      ) -> None:
    world, url = sqlite_world
    _settle_some(world)
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    junk = tmp_path / "junk.medaid"
    junk.write_bytes(b"not a database" * 100)
    code, output = _cli("restore", str(junk), "--database", fresh)
    assert code == 2 and "not a SQLite database" in output, output
    code, output = _cli("restore", str(tmp_path / "missing"), "--database", fresh)
    assert code == 2 and "no such file" in output, output
    copy = tmp_path / "copy.medaid"
    assert _cli("backup", str(copy), "--database", url)[0] == 0
    engine = create_engine(f"sqlite:///{copy}")
    with engine.begin() as conn:  # tampered pools in the backup
        conn.execute(text("UPDATE person_years SET pools = '{}'"))
    engine.dispose()
    code, output = _cli("restore", str(copy), "--database", fresh)
    assert code == 2 and "does not verify" in output, output
    assert not (tmp_path / "fresh.sqlite").exists()  # refused before touching the target


def test_backup_of_postgresql_points_to_the_procedure() -> None:
    url = "postgresql+psycopg://u:p@127.0.0.1:5432/x"
    code, output = _cli("backup", "/tmp/never-written", "--database", url)
    assert code == 2 and "pg_dump -Fc" in output and "RELIABILITY.md" in output, output


@pytest.mark.skipif(not POSTGRES, reason="MEDAID_TEST_POSTGRES_URL is not set")
@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_postgresql_round_trip_with_pg_dump_and_pg_restore(tmp_path: Path) -> None:
    """The documented procedure, on whole databases created for the test."""
    assert POSTGRES
    base = make_url(POSTGRES)
    names = [f"medaid_bk_{uuid.uuid4().hex[:10]}", f"medaid_rs_{uuid.uuid4().hex[:10]}"]
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {names[0]}"))
    try:
        source = base.set(database=names[0]).render_as_string(hide_password=False)
        target = base.set(database=names[1]).render_as_string(hide_password=False)
        served = create_app(source)
        with UnitOfWork(served.state.sessions) as uow:
            token = auth.issue(uow, "admin")
            uow.commit()
        with TestClient(served) as client:
            hospital, second = _settle_some(World(client, {"Authorization": f"Bearer {token}"}))
            # libpq's URL: the driver name out
            def libpq(url: str) -> str:
                return make_url(url).set(drivername="postgresql").render_as_string(
                    hide_password=False)
            dump = tmp_path / "medaid.dump"
            subprocess.run(["pg_dump", "-Fc", "-f", str(dump), "-d", libpq(source)],
                           check=True)  # while the service has the database open
        served.state.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {names[1]}"))
        subprocess.run(["pg_restore", "--exit-on-error", "--single-transaction",
                        "--no-owner", "-d", libpq(target), str(dump)], check=True)
        _all_checks(target)
        _settles_on(target, hospital, second)
        # the restored ledger is still append-only
        restored = create_engine(target)
        with pytest.raises(Exception, match="append-only"), restored.begin() as conn:
            conn.execute(text("DELETE FROM settlements"))
        restored.dispose()
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
