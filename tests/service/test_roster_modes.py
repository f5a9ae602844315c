"""Roster import modes: a complete list ends whoever it leaves out, an incremental list
never ends anyone, and a complete list ending more than the exit share is applied only
with the importer's confirmation — through the API and the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api_helpers import World, certno
from sqlalchemy import select
from typer.testing import CliRunner

from medaid.cli.main import app
from medaid.registry import idcard
from medaid.store.models import AuditEntry, Identity, Person

PEOPLE = [{"name": f"李{n}", "certno": certno(f"mode-{n}"), "category": "低保",
           "start": "2023-01-05", "department": "民政"} for n in range(12)]


def _import(world: World, records: list[dict[str, Any]], month: str, **fields: Any) -> Any:
    return world.client.post("/api/v1/rosters", headers=world.admin, json={
        "jurisdiction": "nanjing", "district": "320102", "month": month,
        "records": records} | fields)


def _open(world: World) -> set[str]:
    """ID numbers of the district's identities still open."""
    with world.sessions() as s:
        return set(s.scalars(select(Person.certno).join(Identity).where(
            Identity.to_date.is_(None))))


def _actions(world: World) -> list[str]:
    with world.sessions() as s:
        return list(s.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("roster.%")).order_by(AuditEntry.seq)))


def test_the_mode_must_be_chosen(world: World) -> None:
    r = _import(world, PEOPLE[:3], "2024-01")
    assert r.status_code == 422 and "mode" in r.text and "完整名单" in r.text
    assert _open(world) == set()


def test_an_incremental_list_never_ends_anyone(world: World) -> None:
    assert _import(world, PEOPLE[:3], "2024-01", mode="complete").status_code == 200
    r = _import(world, PEOPLE[3:4], "2024-02", mode="incremental")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["mode"] == "incremental" and report["counts"]["exited"] == 0
    assert report["counts"]["new_persons"] == 1 and report["exited"] == []
    assert not report["exit_check"]["needs_confirmation"]
    assert _open(world) == {p["certno"] for p in PEOPLE[:4]}


def test_a_complete_list_ending_many_needs_confirmation(world: World) -> None:
    assert _import(world, PEOPLE[:3], "2024-01", mode="complete").status_code == 200
    # the 3-person district's roster of February lists one: two of three would end
    dry = _import(world, PEOPLE[:1], "2024-02", mode="complete", dry_run=True)
    assert dry.status_code == 200, dry.text
    check = dry.json()["exit_check"]
    assert check == {"exits": 2, "open": 3, "limit": 10, "percent": 66.7,
                     "needs_confirmation": True}
    ended = {(e["name"], e["masked"], e["category"]) for e in dry.json()["exited"]}
    assert ended == {(p["name"], idcard.mask(p["certno"]), "dibao") for p in PEOPLE[1:3]}
    refused = _import(world, PEOPLE[:1], "2024-02", mode="complete")
    assert refused.status_code == 409, refused.text
    assert "2 人" in refused.json()["error"]["message"]
    assert _open(world) == {p["certno"] for p in PEOPLE[:3]}  # nothing stored
    assert _actions(world)[-1] == "roster.exits_unconfirmed"
    done = _import(world, PEOPLE[:1], "2024-02", mode="complete", confirm_exits=True)
    assert done.status_code == 200 and done.json()["applied"], done.text
    assert _open(world) == {PEOPLE[0]["certno"]}
    assert _actions(world)[-1] == "roster.import"


def test_a_few_exits_need_no_confirmation(world: World) -> None:
    assert _import(world, PEOPLE[:11], "2024-01", mode="complete").status_code == 200
    r = _import(world, PEOPLE[:10], "2024-02", mode="complete")  # 1 of 11: 9.1% ≤ 10%
    assert r.status_code == 200 and r.json()["applied"], r.text
    assert r.json()["exit_check"]["percent"] == 9.1
    assert _open(world) == {p["certno"] for p in PEOPLE[:10]}


def _csv(path: Path, people: list[dict[str, Any]]) -> Path:
    rows = ["姓名,身份证号,人员类别,认定日期,认定部门"] + [
        f"{p['name']},{p['certno']},{p['category']},{p['start']},{p['department']}"
        for p in people]
    path.write_text("\n".join(rows), encoding="utf-8")
    return path


def test_the_cli_asks_for_the_mode_and_the_confirmation(world: World, database_url: str,
                                                        tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["import", "--jurisdiction", "nanjing", "--district", "320102",
            "--database", database_url]
    three = str(_csv(tmp_path / "三人.csv", PEOPLE[:3]))
    one = str(_csv(tmp_path / "一人.csv", PEOPLE[:1]))
    r = runner.invoke(app, [*base, three, "--month", "2024-01"])
    assert r.exit_code == 2 and "mode" in r.output, r.output
    assert _open(world) == set()
    r = runner.invoke(app, [*base, three, "--month", "2024-01", "--mode", "complete"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, [*base, one, "--month", "2024-02", "--mode", "incremental"])
    assert r.exit_code == 0 and "exited 0" in r.output, r.output
    r = runner.invoke(app, [*base, one, "--month", "2024-02", "--mode", "complete"])
    assert r.exit_code == 2, r.output
    for p in PEOPLE[1:3]:  # who would end, masked
        assert f"{p['name']}  {idcard.mask(p['certno'])}  最低生活保障" in r.output, r.output
        assert p["certno"] not in r.output
    assert len(_open(world)) == 3
    r = runner.invoke(app, [*base, one, "--month", "2024-02", "--mode", "complete",
                            "--confirm-exits"])
    assert r.exit_code == 0 and "applied" in r.output, r.output
    assert _open(world) == {PEOPLE[0]["certno"]}


def test_the_exit_share_is_a_setting(world: World, database_url: str) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["roster", "exit-share", "nanjing", "70", "--source",
                            "市医保局 2024 年名单管理规程", "--database", database_url])
    assert r.exit_code == 0, r.output
    assert _import(world, PEOPLE[:3], "2024-01", mode="complete").status_code == 200
    r = _import(world, PEOPLE[:1], "2024-02", mode="complete")  # 66.7% ≤ 70%
    assert r.status_code == 200 and r.json()["exit_check"]["limit"] == 70, r.text
    bad = runner.invoke(app, ["roster", "exit-share", "nanjing", "120", "--source", "x",
                              "--database", database_url])
    assert bad.exit_code == 2 and "0 到 100" in bad.output
