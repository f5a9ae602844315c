"""An unknown field is an error naming it, never ignored: a misspelt amount ("othpay")
would settle as if it were absent and overpay assistance. The REST API answers 422 with the
field's JSON path; `medaid settle` exits 2 naming it (contract/CASE.md's error format)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from api_helpers import World, certno, visit

from medaid_command import medaid

ROOT = Path(__file__).resolve().parents[2]
SETTLE = "/api/v1/settlements"


@pytest.fixture
def hospital(world: World) -> dict[str, str]:
    h = world.institution()
    world.person()
    return h


def refused(r: Any, path: str) -> str:
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["path"] == path, error
    assert error["message"].startswith("未知字段"), error
    return str(error["message"])


def test_a_misspelt_amount_is_refused_not_ignored(world: World, hospital: dict[str, str]
                                                  ) -> None:
    for url in (f"{SETTLE}/preview", SETTLE):
        r = world.client.post(url, headers=hospital, json=visit(othpay=3000))
        assert refused(r, "$.othpay") == ("未知字段（是否应为 oth_pay？） / unknown field (did you "
                                          "mean oth_pay?)")
    assert world.year(world.admin)["settlements"] == []
    # what it would have cost: the same visit with oth_pay read pays 3,000 less assistance
    paid = world.client.post(f"{SETTLE}/preview", headers=hospital, json=visit(oth_pay=3000))
    assert paid.json()["maf_pay"] == 14400 - 2700


def test_the_case_fields_the_api_does_not_take(world: World, hospital: dict[str, str]) -> None:
    refused(world.client.post(SETTLE, headers=hospital, json=visit(id="V1")), "$.id")


def test_cancel_and_records(world: World, hospital: dict[str, str]) -> None:
    setl_id = world.client.post(SETTLE, headers=hospital, json=visit()).json()["setl_id"]
    refused(world.client.post(f"{SETTLE}/{setl_id}/cancel", headers=hospital,
                              json={"psn_no": "P-001", "mdtrtid": "M-1"}), "$.mdtrtid")
    body = {"psn_no": "P-002", "certno": certno("P-002"), "name": "李四",
            "jurisdiction": "nanjing", "district": "320102",
            "identities": [{"category": "dibao", "from": "2023-01-01", "too": "2023-06-30"}]}
    refused(world.client.post("/api/v1/persons", headers=world.admin, json=body),
            "$.identities[0].too")
    refused(world.client.post("/api/v1/institutions", headers=world.admin, json={
        "fixmedins_code": "H32010200009", "name": "x", "jurisdiction": "nanjing",
        "district": "320102", "levle": 2}), "$.levle")
    refused(world.client.post("/api/v1/parameters", headers=world.admin, json={
        "jurisdiction": "nanjing", "name": "youfu_outpatient_allowance", "value": 1,
        "source": "x", "yaer": 2023}), "$.yaer")


def test_nested_visits_of_an_application(world: World, hospital: dict[str, str]) -> None:
    r = world.client.post("/api/v1/applications", headers=world.admin, json={
        "psn_no": "P-001", "kind": "post_hoc", "visits": [
            {k: v for k, v in visit().items() if k != "medins_setl_id"} | {"hifmipay": 1}]})
    refused(r, "$.visits[0].hifmipay")


def test_a_free_form_value_is_not_checked(world: World) -> None:
    # a parameter's value is the policy's own shape, checked by the policy (not here)
    world.parameter("nanjing", "critical_illness", {
        "deductible": 15000, "segments": [{"upto": None, "ratio": 0.6}], "cap": None})
    r = world.client.post("/api/v1/parameters", headers=world.admin, json={
        "jurisdiction": "nanjing", "name": "critical_illness", "source": "x", "value": {
            "deductible": 15000, "segmnts": [], "cap": None}})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.value.segmnts", r.text


def test_no_token_is_still_401_whatever_the_body(world: World) -> None:
    r = world.client.post(SETTLE, json=visit(othpay=1))
    assert r.status_code == 401


def medaid_settle(case: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return medaid("settle", "-", "--json", stdin=json.dumps(case))


def example() -> dict[str, Any]:
    return dict(json.loads((ROOT / "examples" / "nj-dibao-inpatient.json").read_text(
        encoding="utf-8")))


@pytest.mark.parametrize(("where", "path"), [
    (lambda c: c["visits"][0], "visits[0].othpay"),
    (lambda c: c["person"], "person.othpay"),
    (lambda c: c["person"]["identities"][0], "person.identities[0].othpay"),
    (lambda c: c, "othpay"),
], ids=["visit", "person", "identity", "case"])
def test_medaid_settle_names_the_unknown_field(where: Any, path: str) -> None:
    case = example()
    where(case)["othpay"] = 3000
    done = medaid_settle(case)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"error: {path}: 未知字段"), done.stderr


def test_a_worked_case_may_carry_its_answer_and_arithmetic() -> None:
    case = example() | {"note": "90% × 16000"}  # and "expected": what check-cases reads
    done = medaid_settle(case)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["visits"][0]["maf_pay"] == 14400
