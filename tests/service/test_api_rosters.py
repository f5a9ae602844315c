"""Roster import through the API and the CLI (CSV and XLSX), and premium-subsidy lists."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from api_helpers import World, certno
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from medaid.cli.main import app
from medaid.store.models import Identity, Person

HEADER = ("姓名", "身份证号", "人员类别", "认定日期", "认定部门")
PEOPLE = [("王一", certno("a"), "低保", "2023-01-05", "民政"),
          ("王二", certno("b"), "特困", "2023-02-01", "民政"),
          ("王三", certno("c"), "低边", "2023-03-01", "民政")]
FORM = {"jurisdiction": "nanjing", "district": "320102", "mode": "complete"}


def _csv(rows: list[tuple[str, ...]]) -> bytes:
    return "\n".join(",".join(r) for r in [HEADER, *rows]).encode()


def _xlsx(rows: list[tuple[str, ...]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in [HEADER, *rows]:
        ws.append(list(r))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _post(world: World, name: str, data: bytes, **fields: str) -> Any:
    return world.client.post("/api/v1/rosters", headers=world.admin,
                             data=FORM | {"month": "2024-01"} | fields,
                             files={"file": (name, data)})


def _stored(world: World) -> tuple[int, int]:
    with world.sessions() as s:
        return (s.scalar(select(func.count()).select_from(Person)) or 0,
                s.scalar(select(func.count()).select_from(Identity)) or 0)


def test_csv_import_reimport_and_exit(world: World) -> None:
    r = _post(world, "低保.csv", _csv(PEOPLE))
    assert r.status_code == 200, r.text
    assert r.json()["applied"] and r.json()["counts"]["new_persons"] == 3
    assert _stored(world) == (3, 3)
    again = _post(world, "低保.csv", _csv(PEOPLE))
    assert again.json()["counts"] | {} == {"new_persons": 0, "new_identities": 0,
                                           "changed": 0, "unchanged": 3, "exited": 0,
                                           "errors": 0}
    later = _post(world, "低保.csv", _csv(PEOPLE[:2]), month="2024-02", confirm_exits="true")
    assert later.status_code == 200
    exited = later.json()["exited"]
    assert [(e["certno"], e["to"]) for e in exited] == [(PEOPLE[2][1], "2024-01-31")]
    with world.sessions() as s:
        assert s.scalar(select(Identity.to_date).join(Person).where(
            Person.certno == PEOPLE[2][1])).isoformat() == "2024-01-31"


def _identities(world: World, who: str) -> list[tuple[str, str, str | None]]:
    with world.sessions() as s:
        return [(i.category, str(i.from_date), i.to_date and str(i.to_date))
                for i in s.scalars(select(Identity).join(Person).where(
                    Person.certno == who).order_by(Identity.from_date))]


def test_another_category_from_a_later_date_keeps_the_months_before(world: World) -> None:
    """王一, 低保 from 2023-01-05, listed 特困 from 2024-02-01: 低保 until 31 January, 特困
    from 1 February (a single row of the roster, not a rewrite of the year before); listed
    其他 from the same date as before, the identity is corrected."""
    assert _post(world, "低保.csv", _csv(PEOPLE)).status_code == 200
    moved = ("王一", certno("a"), "特困", "2024-02-01", "民政")
    r = _post(world, "变更.csv", _csv([moved]), month="2024-02", mode="incremental")
    assert r.status_code == 200 and r.json()["counts"]["changed"] == 1, r.text
    assert _identities(world, certno("a")) == [("dibao", "2023-01-05", "2024-01-31"),
                                               ("tekun", "2024-02-01", None)]
    corrected = ("王二", certno("b"), "低保", "2023-02-01", "民政")
    r = _post(world, "更正.csv", _csv([corrected]), month="2024-02", mode="incremental")
    assert r.status_code == 200 and r.json()["counts"]["changed"] == 1, r.text
    assert _identities(world, certno("b")) == [("dibao", "2023-02-01", None)]
    # 王一's 低保 corrected afterwards (recognised in April 2023, not January): the 低保 is
    # corrected, keeping the end the 特困 that followed it gave it
    earlier = ("王一", certno("a"), "低保", "2023-04-10", "民政")
    r = _post(world, "更正.csv", _csv([earlier]), month="2024-03", mode="incremental")
    assert r.status_code == 200 and r.json()["counts"]["changed"] == 1, r.text
    assert _identities(world, certno("a")) == [("dibao", "2023-04-10", "2024-01-31"),
                                               ("tekun", "2024-02-01", None)]


def test_json_records_name_their_fields_and_a_header_is_refused(world: World) -> None:
    """JSON records name the fields (name, start, application…): a file's header such as
    姓名 is refused by its path, never read as absent."""
    record = {"name": "王一", "certno": certno("a"), "category": "低保", "start": "2023-01-05",
              "application": "2022-12-20"}
    body = {"jurisdiction": "nanjing", "district": "320102", "month": "2024-01",
            "mode": "incremental", "department": "民政", "records": [record]}
    r = world.client.post("/api/v1/rosters", headers=world.admin, json=body)
    assert r.status_code == 200 and r.json()["counts"]["new_persons"] == 1, r.text
    assert r.json()["source"] == "JSON 名单"
    body["records"] = [record | {"认定日期": "2023-01-05"}]
    r = world.client.post("/api/v1/rosters", headers=world.admin, json=body)
    assert r.status_code == 422 and "$.records[0].认定日期" in r.text, r.text


def test_xlsx_import_and_dry_run(world: World) -> None:
    dry = _post(world, "roster.xlsx", _xlsx(PEOPLE), dry_run="true")
    assert dry.status_code == 200, dry.text
    assert dry.json()["counts"]["new_persons"] == 3 and not dry.json()["applied"]
    assert _stored(world) == (0, 0)
    r = _post(world, "roster.xlsx", _xlsx(PEOPLE))
    assert r.json()["applied"] and _stored(world) == (3, 3)


def test_a_bad_row_refuses_the_whole_file(world: World) -> None:
    bad = [*PEOPLE[:2], ("王三", PEOPLE[2][1][:-1] + "0", "低边", "2023-13-01", "民政")]
    if bad[2][1] == PEOPLE[2][1]:
        bad[2] = ("王三", PEOPLE[2][1][:-1] + "1", "低边", "2023-13-01", "民政")
    r = _post(world, "roster.csv", _csv(bad))
    assert r.status_code == 422
    errors = r.json()["report"]["errors"]
    assert {e["row"] for e in errors} == {4} and {e["column"] for e in errors} == {
        "身份证号", "认定日期"}
    assert "********" in next(e["value"] for e in errors if e["column"] == "身份证号")
    assert _stored(world) == (0, 0)


def test_bad_requests_are_422(world: World) -> None:
    for fields in ({"month": "2024-13"}, {"jurisdiction": "atlantis"}, {"district": "32"},
                   {"dry_run": "maybe"}, {"mode": ""}, {"mode": "partial"},
                   {"confirm_exits": "maybe"}):
        assert _post(world, "r.csv", _csv(PEOPLE), **fields).status_code == 422, fields
    assert _post(world, "r.xlsx", b"PK\x03\x04 not a workbook").status_code == 422
    assert _post(world, "r.csv", b"\x00\x01garbage").status_code == 422
    r = world.client.post("/api/v1/rosters", headers=world.admin, data=FORM)
    assert r.status_code == 422
    r = world.client.post("/api/v1/rosters", headers=world.admin, json=FORM | {"records": 3})
    assert r.status_code == 422
    assert _stored(world) == (0, 0)


def test_cli_import_and_premium_list(world: World, database_url: str, tmp_path: Path
                                     ) -> None:
    f = tmp_path / "roster.csv"
    f.write_bytes(_csv(PEOPLE))
    runner = CliRunner()
    args = ["import", str(f), "--jurisdiction", "nanjing", "--district", "320102",
            "--month", "2024-01", "--mode", "complete", "--database", database_url]
    r = runner.invoke(app, [*args, "--dry-run"])
    assert r.exit_code == 0 and "dry run" in r.output, r.output
    assert _stored(world) == (0, 0)
    assert runner.invoke(app, args).exit_code == 0
    assert _stored(world) == (3, 3)
    out = tmp_path / "premium.xlsx"
    r = runner.invoke(app, ["premium", "list", "nanjing", "--year", "2024", "--out", str(out),
                            "--database", database_url])
    assert r.exit_code == 0, r.output
    ws = load_workbook(out)["资助名单"]
    assert sorted(str(ws.cell(row=n, column=3).value) for n in (4, 5, 6)) == sorted(
        p[1] for p in PEOPLE)


def test_premium_list_json_and_xlsx(world: World) -> None:
    assert _post(world, "r.csv", _csv(PEOPLE)).status_code == 200
    q = {"jurisdiction": "nanjing", "year": 2024}
    r = world.client.get("/api/v1/premium-subsidies", headers=world.admin, params=q)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["subsidies"]) == 3 and body["total"] > 0
    finance = world.token("finance")
    x = world.client.get("/api/v1/premium-subsidies", headers=finance,
                         params=q | {"format": "xlsx"})
    assert x.status_code == 200
    ws = load_workbook(io.BytesIO(x.content))["资助名单"]
    ids = [str(ws.cell(row=n, column=3).value) for n in (4, 5, 6)]
    assert all("********" in i for i in ids)  # finance gets them masked
    for bad in ({"jurisdiction": "atlantis"}, {"year": 1800}, {"format": "pdf"}):
        assert world.client.get("/api/v1/premium-subsidies", headers=world.admin,
                                params=q | bad).status_code == 422, bad
