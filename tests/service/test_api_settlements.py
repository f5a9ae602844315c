"""Pre-settlement, settlement, retries, cancellation and bad input through the API."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import World, pool, visit

SETTLE = "/api/v1/settlements"
PREVIEW = "/api/v1/settlements/preview"


@pytest.fixture
def hospital(world: World) -> dict[str, str]:
    h = world.institution()
    world.person()
    return h


def test_preview_computes_and_stores_nothing(world: World, hospital: dict[str, str]) -> None:
    r = world.client.post(PREVIEW, headers=hospital, json=visit())
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["entry"], got["setl_id"], got["category"]) == ("preview", None, "dibao")
    assert (got["base"], got["maf_pay"], got["psn_part_amt"]) == (16000, 14400, 7600)
    assert got["trace"]
    again = world.client.post(PREVIEW, headers=hospital, json=visit())
    assert again.json()["maf_pay"] == 14400  # the pools did not move
    year = world.year(world.admin)
    assert year["settlements"] == []
    assert pool(year, "NJ-A2")["used"] == 0


def test_preview_needs_no_settlement_id(world: World, hospital: dict[str, str]) -> None:
    body = visit()
    del body["medins_setl_id"]
    assert world.client.post(PREVIEW, headers=hospital, json=body).status_code == 200
    assert world.client.post(SETTLE, headers=hospital, json=body).json()["error"]["path"] \
        == "$.medins_setl_id"


def test_settle_commits_with_the_pools(world: World, hospital: dict[str, str]) -> None:
    r = world.client.post(SETTLE, headers=hospital, json=visit())
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["entry"] == "settle" and got["setl_id"]
    assert (got["fixmedins_code"], got["medins_setl_id"], got["mdtrt_id"]) == (
        "H32010200001", "S-1", "M-1")
    assert (got["kind"], got["med_type"], got["year"], got["rules"]) == (
        "inpatient", "21", 2023, ["NJ-A2"])
    assert (got["inscp_scp_amt"], got["hifp_pay"], got["hifmi_pay"], got["assistance"],
            got["tilted"], got["special"], got["maf_pay"], got["psn_part_amt"]) == (
        54000, 35000, 3000, 14400, 0, 0, 14400, 7600)
    assert '"maf_pay": 14400.00' in r.text  # two decimals, never a float's digits
    year = world.year(world.admin)
    assert pool(year, "NJ-A2")["used"] == 16000
    assert pool(year, "tilted")["used"] == 1600
    assert [s["setl_id"] for s in year["settlements"]] == [got["setl_id"]]
    fetched = world.client.get(f"{SETTLE}/{got['setl_id']}", headers=hospital)
    assert fetched.status_code == 200
    assert fetched.json() == got


def test_retry_returns_the_stored_settlement(world: World, hospital: dict[str, str]) -> None:
    first = world.client.post(SETTLE, headers=hospital, json=visit())
    again = world.client.post(SETTLE, headers=hospital, json=visit(medfee_sumamt=60000.0))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert len(world.year(world.admin)["settlements"]) == 1
    assert pool(world.year(world.admin), "NJ-A2")["used"] == 16000  # counted once


def test_same_id_with_another_body_is_a_conflict(world: World, hospital: dict[str, str]
                                                  ) -> None:
    assert world.client.post(SETTLE, headers=hospital, json=visit()).status_code == 201
    r = world.client.post(SETTLE, headers=hospital, json=visit(hifp_pay=34000))
    assert r.status_code == 409
    assert "S-1" in r.json()["error"]["message"]
    assert r.json()["error"]["message"].startswith("医药机构结算ID S-1 已用于另一次结算")
    assert len(world.year(world.admin)["settlements"]) == 1


def test_second_settlement_continues_the_pools(world: World, hospital: dict[str, str]) -> None:
    world.client.post(SETTLE, headers=hospital, json=visit())
    r = world.client.post(SETTLE, headers=hospital, json=visit(
        medins_setl_id="S-2", mdtrt_id="M-2", start="2023-05-01", end="2023-05-20"))
    assert r.status_code == 201
    # the tilted pool passes its 20,000 deductible: 1,600 + 1,600 of base left over
    assert pool(world.year(world.admin), "tilted")["used"] == 3200


def test_med_type_or_kind(world: World, hospital: dict[str, str]) -> None:
    body = visit(med_type=None, kind="inpatient")
    r = world.client.post(PREVIEW, headers=hospital, json=body)
    assert r.status_code == 200 and r.json()["kind"] == "inpatient"
    r = world.client.post(PREVIEW, headers=hospital, json=visit(
        med_type=11, start="2023-03-01", end="2023-03-01"))
    assert r.status_code == 200 and r.json()["kind"] == "general_outpatient"
    r = world.client.post(PREVIEW, headers=hospital, json=visit(med_type="99"))
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.med_type"
    r = world.client.post(PREVIEW, headers=hospital, json=visit(med_type=None))
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.med_type"
    r = world.client.post(PREVIEW, headers=hospital, json=visit(med_type=None, kind="surgery"))
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.kind"


@pytest.mark.parametrize(("change", "path"), [
    ({"medfee_sumamt": -1}, "$.medfee_sumamt"),
    ({"medfee_sumamt": 1.234}, "$.medfee_sumamt"),
    ({"medfee_sumamt": "60000"}, "$.medfee_sumamt"),
    ({"medfee_sumamt": None}, "$.medfee_sumamt"),
    ({"hifp_pay": 60000}, "$.hifp_pay"),
    ({"inscp_scp_amt": 1}, "$.inscp_scp_amt"),
    ({"end": "2023-02-30"}, "$.end"),
    ({"end": "2023-02-01"}, "$.end"),
    ({"start": None}, "$.start"),
    ({"location": "moon"}, "$.location"),
    ({"referral": "maybe"}, "$.referral"),
    ({"hospital_level": 7}, "$.hospital_level"),
    ({"rare_disease": "yes"}, "$.rare_disease"),
    ({"psn_no": ""}, "$.psn_no"),
    ({"mdtrt_id": 5}, "$.mdtrt_id"),
    ({"medins_setl_id": None}, "$.medins_setl_id"),
    ({"start": "2022-03-01", "end": "2022-03-10"}, "$.end"),  # before Nanjing 2023
])
def test_bad_input_names_the_field(world: World, hospital: dict[str, str],
                                   change: dict[str, Any], path: str) -> None:
    r = world.client.post(SETTLE, headers=hospital, json=visit(**change))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["path"] == path
    assert r.json()["error"]["message"]
    assert world.year(world.admin)["settlements"] == []


@pytest.mark.parametrize(("content", "message"), [
    (b"{bad", "malformed JSON"),
    (b"[1, 2]", "must be an object"),
    (b"", "JSON object"),
    (b"\xff\xfe{}", "UTF-8"),
])
def test_malformed_body(world: World, hospital: dict[str, str], content: bytes,
                        message: str) -> None:
    r = world.client.post(SETTLE, headers=hospital | {"Content-Type": "application/json"},
                          content=content)
    assert r.status_code == 422
    assert r.json()["error"]["path"] == "$" and message in r.json()["error"]["message"]


def test_unknown_person_is_404(world: World, hospital: dict[str, str]) -> None:
    r = world.client.post(SETTLE, headers=hospital, json=visit(psn_no="NOBODY"))
    assert r.status_code == 404 and r.json()["error"]["path"] == "$.psn_no"
    r = world.client.post(PREVIEW, headers=hospital, json=visit(psn_no="NOBODY"))
    assert r.status_code == 404


def test_admin_names_the_institution(world: World, hospital: dict[str, str]) -> None:
    r = world.client.post(SETTLE, headers=world.admin, json=visit())
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.fixmedins_code"
    r = world.client.post(SETTLE, headers=world.admin, json=visit(fixmedins_code="H99999999999"))
    assert r.status_code == 404 and r.json()["error"]["path"] == "$.fixmedins_code"
    r = world.client.post(SETTLE, headers=world.admin, json=visit(fixmedins_code="H32010200001"))
    assert r.status_code == 201 and r.json()["fixmedins_code"] == "H32010200001"


def test_missing_local_parameter_is_named(world: World) -> None:
    h = world.institution("H36090200001", "yichun", "360902")
    world.person("YC-1", "yichun", [{"category": "dibao", "from": "2023-01-01"}],
                 district="360902")
    r = world.client.post(SETTLE, headers=h, json=visit(psn_no="YC-1", hifmi_pay=None))
    assert r.status_code == 422
    assert r.json()["error"]["path"] == "local.critical_illness"


def test_hifp_computed_at_the_institution_level(world: World) -> None:
    h = world.institution(level=2)
    world.person()
    world.parameter("nanjing", "basic_insurance", {
        "deductible": {"1": 300, "2": 600, "3": 1000}, "ratio": {"1": 0.9, "2": 0.8, "3": 0.7},
        "cap": 300000})
    r = world.client.post(PREVIEW, headers=h, json=visit(hifp_pay=None))
    assert r.status_code == 200, r.text
    assert r.json()["hifp_pay"] == 42720  # (54000 − 600) × 80%
    r = world.client.post(PREVIEW, headers=h, json=visit(hifp_pay=None, hospital_level=3))
    assert r.json()["hifp_pay"] == 37100  # (54000 − 1000) × 70%


def test_cancel_reverses_the_settlement_and_its_pools(world: World, hospital: dict[str, str]
                                                      ) -> None:
    first = world.client.post(SETTLE, headers=hospital, json=visit()).json()
    world.client.post(SETTLE, headers=hospital, json=visit(
        medins_setl_id="S-2", mdtrt_id="M-2", start="2023-05-01", end="2023-05-20"))
    r = world.client.post(f"{SETTLE}/{first['setl_id']}/cancel", headers=hospital,
                          json={"psn_no": "P-001", "mdtrt_id": "M-1"})
    assert r.status_code == 201, r.text
    rev = r.json()
    assert (rev["entry"], rev["reverses"]) == ("cancel", first["setl_id"])
    assert rev["setl_id"] != first["setl_id"]
    assert (rev["maf_pay"], rev["assistance"], rev["medfee_sumamt"]) == (-14400, -14400, -60000)
    year = world.year(world.admin)
    assert pool(year, "NJ-A2")["used"] == 16000  # only the second stay's base is left
    assert [s["entry"] for s in year["settlements"]] == ["settle", "settle", "cancel"]
    assert year["settlements"][0]["cancelled_by"] == rev["setl_id"]
    again = world.client.get(f"{SETTLE}/{first['setl_id']}", headers=hospital).json()
    assert again["cancelled_by"] == rev["setl_id"]
    assert world.client.get(f"{SETTLE}/{rev['setl_id']}", headers=hospital).json() == rev


def test_cancelling_twice_is_a_conflict(world: World, hospital: dict[str, str]) -> None:
    first = world.client.post(SETTLE, headers=hospital, json=visit()).json()
    url = f"{SETTLE}/{first['setl_id']}/cancel"
    assert world.client.post(url, headers=hospital).status_code == 201
    r = world.client.post(url, headers=hospital)
    assert r.status_code == 409
    assert pool(world.year(world.admin), "NJ-A2")["used"] == 0
    cancel_id = world.client.get(f"{SETTLE}/{first['setl_id']}", headers=hospital
                                 ).json()["cancelled_by"]
    r = world.client.post(f"{SETTLE}/{cancel_id}/cancel", headers=hospital)
    assert r.status_code == 409
    # the medins_setl_id of a cancelled settlement is spent: a 409 naming the cancellation,
    # the same body or another, and nothing is settled
    for body in (visit(), visit(medfee_sumamt=70000)):
        r = world.client.post(SETTLE, headers=hospital, json=body)
        assert r.status_code == 409, r.text
        message = r.json()["error"]["message"]
        assert message.startswith("医药机构结算ID S-1 的结算") and "已被撤销" in message
        assert first["setl_id"] in message and cancel_id in message
    assert pool(world.year(world.admin), "NJ-A2")["used"] == 0
    r = world.client.post(SETTLE, headers=hospital, json=visit(medins_setl_id="S-1b"))
    assert r.status_code == 201


def test_cancel_checks(world: World, hospital: dict[str, str]) -> None:
    r = world.client.post(f"{SETTLE}/nope/cancel", headers=hospital)
    assert r.status_code == 404
    first = world.client.post(SETTLE, headers=hospital, json=visit()).json()
    url = f"{SETTLE}/{first['setl_id']}/cancel"
    r = world.client.post(url, headers=hospital, json={"psn_no": "P-002"})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.psn_no"
    assert r.json()["error"]["message"].startswith(
        f"结算 {first['setl_id']} 的人员编号是「P-001」，不是「P-002」")
    r = world.client.post(url, headers=hospital, content=b"{nope",
                          )
    assert r.status_code == 422 and r.json()["error"]["path"] == "$"
    assert world.client.get(f"{SETTLE}/{first['setl_id']}", headers=hospital
                            ).json()["cancelled_by"] is None


def test_cancel_with_the_confirmed_assistance(world: World, hospital: dict[str, str]) -> None:
    """`maf_pay`: the assistance the caller confirmed it takes back; another amount is a 409
    and nothing is cancelled, as on the cancel page."""
    first = world.client.post(SETTLE, headers=hospital, json=visit()).json()
    assert first["maf_pay"] == 14400
    url = f"{SETTLE}/{first['setl_id']}/cancel"
    used = pool(world.year(world.admin), "NJ-A2")["used"]
    assert used > 0
    for bad in ("x", -1, 1.001):
        r = world.client.post(url, headers=hospital, json={"maf_pay": bad})
        assert r.status_code == 422 and r.json()["error"]["path"] == "$.maf_pay", r.text
    r = world.client.post(url, headers=hospital, json={"maf_pay": 14400.01})
    assert r.status_code == 409, r.text
    assert r.json()["error"]["message"].startswith(
        f"结算 {first['setl_id']} 的医疗救助已变化：确认时为 ¥14,400.01，现为 ¥14,400.00；未撤销")
    assert world.client.get(f"{SETTLE}/{first['setl_id']}", headers=hospital
                            ).json()["cancelled_by"] is None
    assert pool(world.year(world.admin), "NJ-A2")["used"] == used  # nothing taken back
    r = world.client.post(url, headers=hospital, json={"maf_pay": 14400.00})
    assert r.status_code == 201, r.text
    assert r.json()["maf_pay"] == -14400
    assert pool(world.year(world.admin), "NJ-A2")["used"] == 0
    # a retry of the confirmed cancellation is the conflict of a cancelled settlement
    r = world.client.post(url, headers=hospital, json={"maf_pay": 14400})
    assert r.status_code == 409 and "已由" in r.json()["error"]["message"]


def test_unknown_settlement_is_404(world: World, hospital: dict[str, str]) -> None:
    r = world.client.get(f"{SETTLE}/0123456789abcdef", headers=hospital)
    assert r.status_code == 404 and r.json()["error"]["path"] == "setl_id"


def test_unknown_route_and_method(world: World, hospital: dict[str, str]) -> None:
    assert world.client.get("/api/v1/nothing", headers=hospital).status_code == 404
    r = world.client.delete(f"{SETTLE}/x", headers=hospital)
    assert r.status_code == 405 and r.json()["error"]["message"]
    r = world.client.get("/api/v1/persons/P-001/years/abc", headers=hospital)
    assert r.status_code == 422 and r.json()["error"]["path"] == "year"


def test_openapi_documents_the_api(world: World) -> None:
    spec = world.client.get("/openapi.json").json()
    assert {"/api/v1/settlements", "/api/v1/settlements/preview",
            "/api/v1/settlements/{setl_id}", "/api/v1/settlements/{setl_id}/cancel",
            "/api/v1/persons/{psn_no}/years/{year}"} <= set(spec["paths"])
    body = spec["paths"]["/api/v1/settlements"]["post"]["requestBody"]
    fields = body["content"]["application/json"]["schema"]["properties"]
    assert {"medfee_sumamt", "hifp_pay", "med_type", "medins_setl_id"} <= set(fields)
    assert world.client.get("/docs").status_code == 200
