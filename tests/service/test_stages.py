"""A city with stages after assistance, a status condition and a raised cap, settled
through the service: every amount equal to the engine's (`medaid settle`) on the same
case, in the REST answer, the national envelope, cancellation and re-settlement.

The city (cities/mucheng-2026.yaml): assistance 50% (MC-A1), 85% on stays for a person
certified for 门诊特殊病种 (MC-A2), both within a yearly cap of 30,000 raised to 50,000 once
one visit's base exceeds 30,000; 再救助 60% of the year's remainder above 2,000 (MC-R);
at year end, what the person bore on stays above 10% of their policy-range cost (MC-F).
Amounts in docstrings are yuan."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from api_helpers import World

from medaid.core.money import to_yuan
from medaid.engine.settle import CaseResult, settle_year
from medaid.engine.types import Held, Identity, Person, Visit
from medaid.policy import model

CITY = model.load_policy(Path(__file__).parent / "cities" / "mucheng-2026.yaml")
HOSPITAL = "H11010100001"
SETTLE = "/api/v1/settlements"
NATIONAL = "/api/v1/national"
TIER_FIELDS = ("hifp_pay", "hifmi_pay", "base", "assistance", "tilted", "special",
               "reassistance", "maf_pay", "psn_part_amt")
STAY_1 = {"medins_setl_id": "S-1", "mdtrt_id": "M-1", "psn_no": "P-001", "med_type": "21",
          "start": "2026-03-01", "end": "2026-03-10", "medfee_sumamt": 60000,
          "fulamt_ownpay_amt": 0, "overlmt_selfpay": 0, "preselfpay_amt": 0,
          "hifp_pay": 20000, "hifmi_pay": 0}
STAY_2 = STAY_1 | {"medins_setl_id": "S-2", "mdtrt_id": "M-2", "start": "2026-06-01",
                   "end": "2026-06-10", "medfee_sumamt": 40000, "hifp_pay": 10000}


@pytest.fixture
def city(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The service with the city deployed beside the shipped ones, a hospital and a 低保
    person of it."""
    shipped = model.shipped()
    monkeypatch.setattr(model, "shipped", lambda: (*shipped, CITY))
    world.institution(HOSPITAL, jurisdiction="mucheng", district="110101")
    world.person(jurisdiction="mucheng", district="110101", identities=[
        {"category": "dibao", "department": "民政", "from": "2025-01-01"}])
    return world


def hospital(world: World) -> dict[str, str]:
    return world.token("hospital", HOSPITAL)


def engine_visit(body: dict[str, Any]) -> Visit:
    def fen(name: str) -> int:
        return int(Decimal(str(body[name])) * 100)

    return Visit(body["mdtrt_id"], "inpatient", date.fromisoformat(body["start"]),
                 date.fromisoformat(body["end"]), fen("medfee_sumamt"),
                 fen("fulamt_ownpay_amt"), fen("overlmt_selfpay"), fen("preselfpay_amt"),
                 fen("hifp_pay"), fen("hifmi_pay"), hospital_level=3)


def reference(bodies: list[dict[str, Any]], statuses: tuple[Held, ...] = ()) -> CaseResult:
    """What `medaid settle` gives for the same person and visits."""
    person = Person("P-001", (Identity("dibao", date(2025, 1, 1)),), statuses=statuses)
    return settle_year([CITY], {}, person, [engine_visit(b) for b in bodies])


def amounts(answer: dict[str, Any]) -> dict[str, Decimal]:
    return {k: Decimal(str(answer[k])) for k in TIER_FIELDS}


def expected(result: CaseResult, i: int) -> dict[str, Decimal]:
    s = result.settlements[i]
    return {k: to_yuan(getattr(s, k)) for k in TIER_FIELDS}


def test_a_visit_stage_and_a_raised_cap_settle_as_the_engine_does(city: World) -> None:
    """Stay 1: base 40,000, assistance 50% = 20,000 (the cap raised to 50,000: its base
    exceeds 30,000); 再救助 (20,000 − 2,000) × 60% = 10,800. Stay 2: base 30,000, 50% =
    15,000, within the raised cap (35,000 ≤ 50,000; 30,000 would have paid 10,000);
    再救助 on 20,000 + 15,000 = 35,000: 19,800 − 10,800 = 9,000."""
    h = hospital(city)
    ref = reference([STAY_1, STAY_2])
    answers = []
    for i, body in enumerate((STAY_1, STAY_2)):
        r = city.client.post(SETTLE, headers=h, json=body)
        assert r.status_code == 201, r.text
        answers.append(r.json())
        assert amounts(r.json()) == expected(ref, i)
    assert [a["reassistance"] for a in answers] == [10800, 9000]
    assert [a["assistance"] for a in answers] == [20000, 15000]
    assert answers[0]["rules"] == ["MC-A1", "MC-R"]
    line = answers[0]["trace"][-1]
    assert (line["tier"], line["rule"], line["amount"]) == ("reassistance", "MC-R", 10800)
    # the stage's pool and the raised cap's flag are the person-year's pools
    year = city.year(h, year=2026)
    used = {p["pool"]: p["used"] for p in year["pools"]}
    assert used["MC-R"] == 35000 and used["main_cap"] == 35000 and used["r_cap"] == 19800
    assert [p["pool"] for p in year["pools"] if p.get("raised")] == ["main_cap"]
    assert [s["reassistance"] for s in year["settlements"]] == [10800, 9000]


def test_the_envelope_gives_reassistance_its_own_fund_line(city: World) -> None:
    """setldetail: 610100 the assistance (20,000), 610102 医疗再救助 the re-assistance
    (10,800); with basic insurance (20,000) they make fund_pay_sumamt."""
    env = {"infno": "2304", "msgid": "MSG-1", "mdtrtarea_admvs": "110101",
           "insuplc_admdvs": "110101", "recer_sys_code": "MEDAID", "infver": "V1.0",
           "opter_type": "1", "opter": "001", "opter_name": "收费员",
           "inf_time": "2026-03-10 12:00:00", "fixmedins_code": HOSPITAL,
           "fixmedins_name": "医院", "sign_no": "S1",
           "input": {"data": {k: v for k, v in STAY_1.items() if k != "medins_setl_id"}}}
    r = city.client.post(NATIONAL, headers=hospital(city), json=env)
    assert r.status_code == 200, r.text
    out = r.json()["output"]
    lines = {d["fund_pay_type"]: (d["fund_pay_type_name"], Decimal(str(d["fund_payamt"])))
             for d in out["setldetail"]}
    assert lines["610100"] == ("医疗救助基金", Decimal(20000))
    assert lines["610102"] == ("医疗再救助", Decimal(10800))
    assert Decimal(str(out["setlinfo"]["maf_pay"])) == Decimal(30800)
    assert sum(v for _, v in lines.values()) == Decimal(str(out["setlinfo"]["fund_pay_sumamt"]))
    assert out["medaid"]["reassistance"] == 10800
    reassist = next(d for d in out["setldetail"] if d["fund_pay_type"] == "610102")
    assert reassist["setl_proc_info"].startswith("MC-R 再救助")


def test_cancelling_reverses_the_reassistance_and_settles_the_rest_again(city: World) -> None:
    """Stay 1 cancelled: its 10,800 reversed; stay 2 settled again as the year's only
    stay: base 30,000, 15,000, then 再救助 (15,000 − 2,000) × 60% = 7,800 (was 9,000):
    an adjustment of −1,200 re-assistance."""
    h = hospital(city)
    first = city.client.post(SETTLE, headers=h, json=STAY_1).json()
    assert city.client.post(SETTLE, headers=h, json=STAY_2).status_code == 201
    r = city.client.post(f"{SETTLE}/{first['setl_id']}/cancel", headers=h, json={})
    assert r.status_code == 201, r.text
    assert r.json()["reassistance"] == -10800 and r.json()["maf_pay"] == -30800
    year = city.year(h, year=2026)
    (adj,) = year["adjustments"]
    ref = reference([STAY_2])
    assert ref.settlements[0].reassistance == 780000
    assert Decimal(str(adj["reassistance"])) == to_yuan(780000 - 900000) == Decimal(-1200)
    assert Decimal(str(adj["maf_pay"])) == Decimal(-1200)
    used = {p["pool"]: p["used"] for p in year["pools"]}
    assert used["MC-R"] == 15000 and used["r_cap"] == 7800
