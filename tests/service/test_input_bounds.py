"""Bounds at the edge: values no real bill, date, id or name reaches are refused with 422
naming the field (docs/SECURITY.md, 输入的界限), never stored, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from api_helpers import World, certno, visit
from test_national import data, envelope, failed
from test_strict_input import example, medaid_settle

SETTLE = "/api/v1/settlements"


def refused(r: Any, path: str) -> str:
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["path"] == path, error
    return str(error["message"])


@pytest.fixture
def hospital(world: World) -> dict[str, str]:
    h = world.institution()
    world.person()
    return h


@pytest.mark.parametrize("amount", ["1e308", "1e309", "1" + "0" * 30, "92000000000000000",
                                    "100000000.01", "1e999999999", "-1e999999999"])
@pytest.mark.parametrize("url", [SETTLE, f"{SETTLE}/preview"])
def test_an_amount_beyond_any_bill(world: World, hospital: dict[str, str], url: str,
                                   amount: str) -> None:
    # written as JSON text: 1e309 is no float, 10^30 no int64; both are valid JSON numbers
    raw = json.dumps(visit(medfee_sumamt=0)).replace('"medfee_sumamt": 0',
                                                     f'"medfee_sumamt": {amount}')
    r = world.client.post(url, headers=hospital | {"content-type": "application/json"},
                          content=raw.encode())
    assert "100000000.00" in refused(r, "$.medfee_sumamt")
    assert world.year(world.admin)["settlements"] == []


@pytest.mark.parametrize(("field", "value"), [("medfee_sumamt", 10**30),
                                              ("end", "9999-12-31"), ("mdtrt_id", "M" * 65)])
def test_the_national_envelope_meets_the_same_bounds(world: World, hospital: dict[str, str],
                                                     field: str, value: Any) -> None:
    message = failed(world, hospital, envelope("2304", data(**{field: value})), 422)
    assert message.startswith(f"input.data.{field}"), message
    assert world.year(world.admin)["settlements"] == []


@pytest.mark.parametrize("day", ["9999-12-31", "1899-12-31", "0001-01-01", "2101-01-01"])
def test_a_visit_date_out_of_range(world: World, hospital: dict[str, str], day: str) -> None:
    r = world.client.post(SETTLE, headers=hospital, json=visit(start=day, end=day))
    assert "1900-01-01" in refused(r, "$.start")


@pytest.mark.parametrize(("field", "length"), [("mdtrt_id", 65), ("medins_setl_id", 65),
                                               ("psn_no", 41), ("mdtrt_id", 10_000)])
def test_an_id_longer_than_its_column(world: World, hospital: dict[str, str], field: str,
                                      length: int) -> None:
    r = world.client.post(SETTLE, headers=hospital, json=visit(**{field: "X" * length}))
    assert "characters" in refused(r, f"$.{field}")


def _person(**fields: Any) -> dict[str, Any]:
    return {"psn_no": "P-009", "certno": certno("P-009"), "name": "王五",
            "jurisdiction": "nanjing", "district": "320102",
            "identities": [{"category": "dibao", "from": "2023-01-15"}]} | fields


@pytest.mark.parametrize(("fields", "path"), [
    ({"name": "张" * 100_000}, "$.name"),
    ({"name": "   "}, "$.name"),
    ({"name": "\u3000"}, "$.name"),
    ({"psn_no": "P" * 41}, "$.psn_no"),
    ({"identities": [{"category": "dibao", "from": "0001-01-01"}]}, "$.identities[0].from"),
    ({"identities": [{"category": "dibao", "from": "2023-01-15"}] * 2}, "$.identities[1]"),
    ({"identities": [{"category": "dibao", "from": "2023-01-15"}] * 10_000}, "$.identities"),
])
def test_a_person_beyond_the_bounds(world: World, fields: dict[str, Any], path: str) -> None:
    refused(world.client.post("/api/v1/persons", headers=world.admin, json=_person(**fields)),
            path)
    r = world.client.get("/api/v1/persons/P-009/years/2023", headers=world.admin)
    assert r.status_code == 404, r.text


def test_an_institution_name_beyond_its_column(world: World) -> None:
    r = world.client.post("/api/v1/institutions", headers=world.admin, json={
        "fixmedins_code": "H32010200009", "name": "院" * 201, "jurisdiction": "nanjing",
        "district": "320102"})
    refused(r, "$.name")


@pytest.mark.parametrize("name", ["..", ".", "x" * 300 + ".csv", "../../etc/passwd"])
def test_a_roster_upload_with_an_odd_name(world: World, name: str) -> None:
    csv = "姓名,身份证号,类别,认定日期\n".encode("utf-8-sig")
    r = world.client.post("/api/v1/rosters", headers=world.admin, files={
        "file": (name, csv, "text/csv")}, data={"jurisdiction": "nanjing",
                                                "district": "320102", "dry_run": "true",
                                                "mode": "complete"})
    assert 400 <= r.status_code < 500, r.text


@pytest.mark.parametrize("day", ["9999-12-31", "2101-01-01", "0001-01-01"])
def test_a_roster_date_out_of_range(world: World, day: str) -> None:
    record = {"name": "赵六", "certno": certno("P-010"), "category": "dibao", "start": day,
              "department": "民政"}
    r = world.client.post("/api/v1/rosters", headers=world.admin, json={
        "jurisdiction": "nanjing", "district": "320102", "dry_run": True, "mode": "complete",
        "records": [record]})
    assert r.status_code == 422, r.text
    reasons = [p["reason"] for p in r.json()["report"]["errors"]]
    assert len(reasons) == 1 and reasons[0].startswith(f"日期{day}过"), reasons


def test_a_roster_of_one_person_many_times(world: World) -> None:
    record = {"name": "赵六", "certno": certno("P-010"), "category": "dibao",
              "start": "2023-01-15", "department": "民政"}
    r = world.client.post("/api/v1/rosters", headers=world.admin, json={
        "jurisdiction": "nanjing", "district": "320102", "dry_run": True, "mode": "complete",
        "records": [record] * 10_000})
    assert r.status_code == 422, r.text
    reasons = {p["reason"] for p in r.json()["report"]["errors"]}
    assert reasons == {"身份证号与第1行重复 / duplicate of row 1"}, sorted(reasons)[:3]


@pytest.mark.parametrize(("change", "path"), [
    (lambda c: c["visits"][0].update(medfee_sumamt=10**30), "visits[0].medfee_sumamt"),
    (lambda c: c["visits"][0].update(end="9999-12-31"), "visits[0].end"),
    (lambda c: c["visits"][0].update(id="V" * 65), "visits[0].id"),
    (lambda c: c["person"]["identities"][0].update({"from": "0001-01-01"}),
     "person.identities[0].from"),
    (lambda c: c["person"].update(id=" "), "person.id"),
], ids=["amount", "date", "visit-id", "identity-from", "blank-person-id"])
def test_medaid_settle_refuses_the_same_bounds(change: Any, path: str) -> None:
    case = example()
    change(case)
    done = medaid_settle(case)
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr.startswith(f"error: {path}: "), done.stderr
