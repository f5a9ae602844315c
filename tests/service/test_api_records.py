"""Persons, institutions and local parameters through the API, and a person's year."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import World, certno, pool, visit
from sqlalchemy import select

from medaid.app.uow import UnitOfWork
from medaid.store.models import PersonYear

PERSONS = "/api/v1/persons"


def person(**change: Any) -> dict[str, Any]:
    return {"psn_no": "P-7", "certno": certno("P-7"), "name": "王五", "jurisdiction": "nanjing",
            "district": "320102", "disability_grade": 2, "tilted_application": "2023-05-01",
            "identities": [{"category": "tekun", "department": "民政", "from": "2022-06-01",
                            "to": None, "application": None}]} | change


def test_create_person(world: World) -> None:
    r = world.client.post(PERSONS, headers=world.admin, json=person())
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["psn_no"], got["disability_grade"], got["tilted_application"]) == (
        "P-7", 2, "2023-05-01")
    assert got["identities"] == [{"category": "tekun", "department": "民政",
                                  "from": "2022-06-01", "to": None, "application": None}]
    again = world.client.post(PERSONS, headers=world.admin, json=person())
    assert again.status_code == 409
    same_certno = world.client.post(PERSONS, headers=world.admin, json=person(psn_no="P-8"))
    assert same_certno.status_code == 409


@pytest.mark.parametrize(("change", "path"), [
    ({"certno": "11010519491231002"}, "$.certno"),
    ({"certno": "110105194912310021"}, "$.certno"),  # wrong check digit
    ({"certno": "110105194902300028"}, "$.certno"),  # 30 February
    ({"psn_no": None}, "$.psn_no"),
    ({"name": ""}, "$.name"),
    ({"jurisdiction": "shanghai"}, "$.jurisdiction"),
    ({"district": "3201"}, "$.district"),
    ({"disability_grade": 5}, "$.disability_grade"),
    ({"tilted_application": "soon"}, "$.tilted_application"),
    ({"identities": [{"category": "fanpin", "from": "2023-01-01"}]},
     "$.identities[0].category"),  # a Yichun category
    ({"identities": [{"category": "dibao", "from": "2023-05-01", "to": "2023-01-01"}]},
     "$.identities[0].to"),
    ({"identities": [{"category": "dibao"}]}, "$.identities[0].from"),
    ({"identities": [{"category": "dibao", "from": "2023-01-01", "department": 3}]},
     "$.identities[0].department"),
    ({"identities": "dibao"}, "$.identities"),
])
def test_bad_person_names_the_field(world: World, change: dict[str, Any], path: str) -> None:
    r = world.client.post(PERSONS, headers=world.admin, json=person(**change))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["path"] == path


@pytest.mark.parametrize(("change", "path"), [
    ({"fixmedins_code": "H3201"}, "$.fixmedins_code"),
    ({"name": None}, "$.name"),
    ({"jurisdiction": "x"}, "$.jurisdiction"),
    ({"level": 4}, "$.level"),
])
def test_bad_institution_names_the_field(world: World, change: dict[str, Any],
                                         path: str) -> None:
    body = {"fixmedins_code": "H32010200001", "name": "医院", "jurisdiction": "nanjing",
            "district": "320102", "level": 3} | change
    r = world.client.post("/api/v1/institutions", headers=world.admin, json=body)
    assert r.status_code == 422 and r.json()["error"]["path"] == path


def test_duplicate_institution_is_a_conflict(world: World) -> None:
    world.institution()
    body = {"fixmedins_code": "H32010200001", "name": "医院", "jurisdiction": "nanjing",
            "district": "320102"}
    assert world.client.post("/api/v1/institutions", headers=world.admin, json=body
                             ).status_code == 409


@pytest.mark.parametrize(("change", "path"), [
    ({"name": "no_such"}, "$.name"),
    ({"value": -1}, "$.value"),
    ({"value": "much"}, "$.value"),
    ({"name": "low_income_ratio", "jurisdiction": "jiangsu", "value": 1.5}, "$.value"),
    ({"name": "critical_illness", "value": {"deductible": 1}}, "$.value.segments"),
    ({"year": 1800}, "$.year"),
    ({"source": ""}, "$.source"),
])
def test_bad_parameter_names_the_field(world: World, change: dict[str, Any],
                                       path: str) -> None:
    body = {"jurisdiction": "nanjing", "name": "income_per_capita_prev_year", "value": 70000,
            "year": 2024, "source": "statistics bureau"} | change
    r = world.client.post("/api/v1/parameters", headers=world.admin, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["path"] == path


def test_parameters_feed_the_engine_by_year(world: World) -> None:
    h = world.institution("H36090200001", "yichun", "360902")
    world.person("YC-1", "yichun", [{"category": "dibao_edge", "from": "2023-01-01"}],
                 district="360902")
    body = visit(psn_no="YC-1", start="2023-03-01", end="2023-03-10")
    r = world.client.post("/api/v1/settlements/preview", headers=h, json=body)
    assert r.json()["error"]["path"] == "local.income_per_capita_prev_year"
    world.parameter("yichun", "income_per_capita_prev_year", 40000)
    world.parameter("yichun", "income_per_capita_prev_year", 50000, year=2024)
    r = world.client.post("/api/v1/settlements/preview", headers=h, json=body)
    assert r.status_code == 200, r.text
    assert "deductible 4000.00" in " ".join(t["detail"] for t in r.json()["trace"])
    r = world.client.post("/api/v1/settlements/preview", headers=h, json=body | {
        "start": "2024-03-01", "end": "2024-03-10"})
    assert "deductible 5000.00" in " ".join(t["detail"] for t in r.json()["trace"])
    # setting a value again replaces it
    world.parameter("yichun", "income_per_capita_prev_year", 30000)
    r = world.client.post("/api/v1/settlements/preview", headers=h, json=body)
    assert "deductible 3000.00" in " ".join(t["detail"] for t in r.json()["trace"])


def test_year_shows_pools_against_caps(world: World) -> None:
    h = world.institution("H33020300001", "ningbo", "330203")
    world.person("NB-1", "ningbo", [{"category": "dibao", "from": "2023-01-01"},
                                    {"category": "youfu", "from": "2024-01-01"}],
                 district="330203")
    outpatient = visit(psn_no="NB-1", med_type="11", start="2023-02-01", end="2023-02-01",
                       medfee_sumamt=1000, fulamt_ownpay_amt=0, preselfpay_amt=0,
                       hifp_pay=400, hifmi_pay=0)
    r = world.client.post("/api/v1/settlements", headers=h, json=outpatient)
    assert r.json()["assistance"] == 420
    year = world.year(h, "NB-1")
    assert [i["category"] for i in year["identities"]] == ["dibao"]  # youfu starts in 2024
    assert year["policy"] == "ningbo 2019"
    cap = pool(year, "outpatient_cap")
    assert cap["used"] == 420
    assert {"rule": "NB-A4", "cap": 500, "left": 80} in cap["caps"]
    # a pool the file leaves unlabelled is named by its visits; a deductible of 0 is none
    base = pool(year, "outpatient")
    assert (base["label"], base["deductibles"]) == ("普通门诊救助基数累计", [])
    assert [s["maf_pay"] for s in year["settlements"]] == [420]
    r = world.client.post("/api/v1/settlements", headers=h, json=outpatient | {
        "medins_setl_id": "S-2", "mdtrt_id": "M-2", "start": "2023-03-01", "end": "2023-03-01"})
    assert r.json()["assistance"] == 80
    assert {"rule": "NB-A4", "cap": 500, "left": 0} in pool(world.year(h, "NB-1"),
                                                            "outpatient_cap")["caps"]


def test_year_keeps_exact_fractions(world: World) -> None:
    """YC-T's tilted pool can hold a fraction of a fen: stored as n/d, shown to the fen."""
    h = world.institution("H36090200001", "yichun", "360902")
    world.person("YC-2", "yichun", [{"category": "dibao", "from": "2023-01-01"}],
                 district="360902", tilted_application="2023-06-01")
    world.parameter("yichun", "income_per_capita_prev_year", 40000)
    r = world.client.post("/api/v1/settlements", headers=h, json=visit(
        psn_no="YC-2", start="2023-03-01", end="2023-03-20", medfee_sumamt=300000,
        fulamt_ownpay_amt=0, preselfpay_amt=0, hifp_pay=50000, hifmi_pay=0))
    assert r.status_code == 201, r.text
    tilted = pool(world.year(h, "YC-2"), "tilted")
    assert (tilted["used"], tilted["used_fen_exact"]) == (183333.33, "55000000/3")
    with UnitOfWork(world.sessions) as uow:
        stored = uow.session.scalars(select(PersonYear.pools)).one()
    assert stored["tilted"] == "55000000/3"
    world.client.post(f"/api/v1/settlements/{r.json()['setl_id']}/cancel", headers=h)
    assert "used_fen_exact" not in pool(world.year(h, "YC-2"), "tilted")


def test_year_of_unknown_person_is_404(world: World) -> None:
    r = world.client.get("/api/v1/persons/NOBODY/years/2023", headers=world.admin)
    assert r.status_code == 404 and r.json()["error"]["path"] == "psn_no"


def test_year_before_the_policy(world: World) -> None:
    world.person()
    year = world.year(world.admin, year=2020)
    assert (year["policy"], year["pools"], year["settlements"]) == (None, [], [])


def test_a_year_lists_the_identity_a_look_back_settled_its_visits_under(world: World) -> None:
    """支出型困难家庭中的大重病患者 recognised in February 2024, with 12 months' look-back
    (NJ-W): a stay of June 2023 is settled under it, and the person's 2023 lists it."""
    h = world.institution()
    world.person(identities=[{"category": "zhichu_illness", "department": "民政",
                              "from": "2024-02-15"}])
    r = world.client.post("/api/v1/settlements", headers=h, json=visit(
        start="2023-06-01", end="2023-06-10"))
    assert r.status_code == 201 and r.json()["category"] == "zhichu_illness", r.text
    year = world.year(h, year=2023)
    assert [i["category"] for i in year["identities"]] == ["zhichu_illness"]
