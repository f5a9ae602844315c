"""`medaid ledger verify`: a clean ledger verifies; tampered pools, a removed, duplicated or
edited ledger row and a settlement cancelled twice are each reported (exit status 1).

The ledger refuses UPDATE and DELETE by trigger, and its unique keys refuse duplicates:
to simulate corruption these tests lift those guards with raw SQL first, as someone
with the database's owner rights could.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from api_helpers import World, visit
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from medaid.cli.main import app
from medaid.store import ledger_check
from medaid.store.models import PersonYear, Settlement

SETTLE = "/api/v1/settlements"


def _ledger(world: World) -> dict[str, Any]:
    """Two persons, four settlements (one cancelled): setl_ids by name."""
    hospital = world.institution()
    world.person()
    world.person("P-002")
    ids = {}
    for name, fields in (("a1", {}),
                         ("a2", {"medins_setl_id": "S-2", "mdtrt_id": "M-2",
                                 "start": "2023-05-01", "end": "2023-05-08"}),
                         ("a3", {"medins_setl_id": "S-3", "mdtrt_id": "M-3",
                                 "start": "2023-07-01", "end": "2023-07-04"}),
                         ("b1", {"medins_setl_id": "S-4", "mdtrt_id": "M-4",
                                 "psn_no": "P-002"})):
        r = world.client.post(SETTLE, headers=hospital, json=visit(**fields))
        assert r.status_code == 201, r.text
        ids[name] = r.json()["setl_id"]
    r = world.client.post(f"{SETTLE}/{ids['a2']}/cancel", headers=hospital)
    assert r.status_code == 201, r.text
    ids["cancel"] = r.json()["setl_id"]
    return ids


def _engine(world: World) -> Engine:
    return world.client.app.state.engine  # type: ignore[attr-defined, no-any-return]


def _verify(database_url: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, ["ledger", "verify", "--database", database_url])
    return r.exit_code, r.output


def _sqlite_file(database_url: str) -> str:
    path = make_url(database_url).database
    assert path
    return path


def _lift_guards(world: World, database_url: str) -> None:
    """Drop the append-only triggers and the ledger's unique keys (simulated corruption)."""
    engine = _engine(world)
    engine.dispose()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE settlements DISABLE TRIGGER settlements_append_only"))
            for name in ("uq_settlements_institution_id_medins_setl_id_kind",
                         "uq_settlements_reverses_id", "uq_settlements_setl_id"):
                conn.execute(text(f"ALTER TABLE settlements DROP CONSTRAINT {name}"))
        return
    # SQLite cannot drop a constraint: rebuild the table without any (and the adjustments,
    # whose foreign key needs the ledger's primary key).
    raw = sqlite3.connect(_sqlite_file(database_url), isolation_level=None)
    try:
        raw.executescript("""
            PRAGMA foreign_keys = OFF;
            BEGIN;
            CREATE TABLE settlements_bare AS SELECT * FROM settlements;
            DROP TABLE settlements;
            ALTER TABLE settlements_bare RENAME TO settlements;
            CREATE TABLE adjustments_bare AS SELECT * FROM adjustments;
            DROP TABLE adjustments;
            ALTER TABLE adjustments_bare RENAME TO adjustments;
            COMMIT;""")
    finally:
        raw.close()


def _row(world: World, setl_id: str) -> dict[str, Any]:
    with _engine(world).connect() as conn:
        row = conn.execute(select(Settlement.__table__).where(Settlement.setl_id == setl_id)
                           ).one()
    return dict(row._mapping)


def _insert_copy(world: World, row: dict[str, Any]) -> None:
    with _engine(world).begin() as conn:
        new_id = conn.execute(select(func.max(Settlement.id))).scalar_one() + 1
        conn.execute(Settlement.__table__.insert().values(
            **(row | {"id": new_id, "setl_id": f"copy{new_id}"})))


def test_a_clean_ledger_verifies(world: World, database_url: str) -> None:
    _ledger(world)
    code, output = _verify(database_url)
    assert code == 0, output
    assert output.strip() == ("ok: 4 settlements, 2 person-years (1 cancellations) / "
                              "账目核对无误：4 笔结算、2 个人员年度（撤销 1 笔），与现行规则一致")
    with _engine(world).connect() as conn:
        report = ledger_check.verify(conn)
    assert report.ok and (report.settlements, report.cancellations) == (4, 1)


def test_an_empty_ledger_verifies(world: World, database_url: str) -> None:
    code, output = _verify(database_url)
    assert (code, output.strip()) == (
        0, "ok: 0 settlements, 0 person-years (0 cancellations) / "
           "账目核对无误：0 笔结算、0 个人员年度（撤销 0 笔），与现行规则一致")


def test_tampered_pools_are_reported(world: World, database_url: str) -> None:
    _ledger(world)
    with _engine(world).begin() as conn:
        stored = conn.execute(select(PersonYear.id, PersonYear.pools)
                              .order_by(PersonYear.id)).first()
        assert stored is not None and stored.pools
        name, value = sorted(stored.pools.items())[0]
        conn.execute(update(PersonYear).where(PersonYear.id == stored.id).values(
            pools=stored.pools | {name: int(value) - 100}))
    code, output = _verify(database_url)
    assert code == 1, output
    assert f"pools {{{name}: {int(value) - 100}" in output, output
    assert "ledger broken: 1 problems" in output


@pytest.mark.parametrize("how", ["remove", "duplicate", "edit amount", "cancel twice",
                                 "cancel nothing"])
def test_a_corrupted_ledger_is_reported(world: World, database_url: str, how: str) -> None:
    ids = _ledger(world)
    assert _verify(database_url)[0] == 0
    _lift_guards(world, database_url)
    if how == "remove":
        with _engine(world).begin() as conn:
            conn.execute(text("DELETE FROM settlements WHERE setl_id = :s"), {"s": ids["a3"]})
        expect = [f"settlement {ids['a3']} is in the audit log but not in the ledger",
                  "the ledger gives"]
    elif how == "duplicate":
        _insert_copy(world, _row(world, ids["b1"]))
        expect = ["H32010200001/S-4 settled 2 times", "the ledger gives",
                  "is in the ledger but not in the audit log"]
    elif how == "edit amount":
        with _engine(world).begin() as conn:
            conn.execute(text("UPDATE settlements SET maf_pay = maf_pay - 100 "
                              "WHERE setl_id = :s"), {"s": ids["a2"]})
        expect = [f"settle {ids['a2']} (H32010200001/S-2): amounts do not add up",
                  f"its amounts are not those of {ids['a2']} and its adjustments negated"]
    elif how == "cancel twice":
        _insert_copy(world, _row(world, ids["cancel"]))
        expect = [f"settlement {ids['a2']} (H32010200001/S-2) is cancelled 2 times",
                  "H32010200001/S-2 cancelled 2 times"]
    else:
        row = _row(world, ids["cancel"]) | {"reverses_id": None}
        _insert_copy(world, row)
        expect = ["reverses nothing, not a settlement in the ledger"]
    code, output = _verify(database_url)
    assert code == 1, output
    for text_ in expect:
        assert text_ in output, output
