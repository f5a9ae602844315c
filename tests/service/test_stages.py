"""A city with stages after assistance, a status condition and a raised cap, settled
through the service: every amount equal to the engine's (`medaid settle`) on the same
case, in the REST answer, the national envelope, cancellation and re-settlement.

The city (cities/mucheng-2026.yaml): assistance 50% (MC-A1), 85% on stays for a person
certified for 门诊特殊病种 (MC-A2), both within a yearly cap of 30,000 raised to 50,000 once
one visit's base exceeds 30,000; 再救助 60% of the year's remainder above 2,000 (MC-R);
at year end, what the person bore on stays above 10% of their policy-range cost (MC-F).
Amounts in docstrings are yuan."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from api_helpers import World
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from medaid.app import resettle_bulk, users
from medaid.app import year_end as ye
from medaid.app.auth import CLI
from medaid.app.fund_journal import Fund, balance
from medaid.app.uow import UnitOfWork
from medaid.batch.schema import NO_DATE
from medaid.core import clock
from medaid.core.money import to_yuan
from medaid.engine.settle import CaseResult, settle_year
from medaid.engine.types import Held, Identity, Person, Visit
from medaid.policy import model
from medaid.store.fund_models import FundClearing
from medaid.store.models import YearEndPayout
from medaid_command import medaid

CITY = model.load_policy(Path(__file__).parent / "cities" / "mucheng-2026.yaml")
HOSPITAL = "H11010100001"
SETTLE = "/api/v1/settlements"
NATIONAL = "/api/v1/national"
YEAR_END = "/api/v1/year-end"
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


# -- the year-end stages ------------------------------------------------------------------------
AFTER_THE_YEAR = datetime(2027, 1, 5, 9, 0)  # Beijing time


def year_end(world: World, status: int = 200, **fields: Any) -> dict[str, Any]:
    finance = world.token("finance")
    with clock.frozen(AFTER_THE_YEAR):
        r = world.client.post(YEAR_END, headers=finance,
                              json={"jurisdiction": "mucheng", "year": 2026} | fields)
    assert r.status_code == status, r.text
    return dict(r.json())


def expense(world: World) -> int:
    """The fund's assistance expense of the year, fen (what the clearing closes)."""
    with UnitOfWork(world.sessions) as uow:
        return balance(uow.session, Fund("mucheng", "110101"), "assistance_expense", year=2026)


def test_the_year_end_ceiling_is_paid_once_as_the_engine_pays_it(city: World,
                                                                database_url: str) -> None:
    """The person bears 60,000 − 20,000 − 20,000 − 10,800 = 9,200 and 40,000 − 10,000 −
    15,000 − 9,000 = 6,000: 15,200, above 10% of 100,000: MC-F pays 5,200, once. Stay 2
    cancelled: 9,200 above 10% of 60,000 = 6,000: 3,200, so the next run recovers 2,000."""
    h = hospital(city)
    city.client.post(SETTLE, headers=h, json=STAY_1)
    second = city.client.post(SETTLE, headers=h, json=STAY_2).json()
    ref = reference([STAY_1, STAY_2])
    (ceiling,) = ref.year_end
    assert ceiling.amount == 520000
    answer = year_end(city)
    assert answer["person_years"] == 1 and answer["amount"] == 5200
    (stage,) = answer["results"][0]["stages"]
    assert (stage["rule"], stage["label"], stage["visits"]) == ("MC-F", "个人负担封顶",
                                                                ["M-1", "M-2"])
    assert Decimal(str(stage["amount"])) == to_yuan(ceiling.amount)
    again = year_end(city)  # nothing changed: nothing paid
    assert again["person_years"] == 1 and again["results"] == [] and again["amount"] == 0
    entries = city.year(city.admin, year=2026)["year_end"]
    assert [(e["rule"], e["seq"], e["amount"], e["total"]) for e in entries] == [
        ("MC-F", 1, 5200, 5200)]
    assert entries[0]["trace"][0]["text"].startswith("个人负担封顶（年终，2次就诊，按低保对象）")
    assert expense(city) == 520000

    r = city.client.post(f"{SETTLE}/{second['setl_id']}/cancel", headers=h, json={})
    assert r.status_code == 201, r.text
    assert reference([STAY_1]).year_end[0].amount == 320000
    assert year_end(city, dry_run=True)["amount"] == -2000  # a dry run pays nothing
    with clock.frozen(AFTER_THE_YEAR):
        told = medaid("year-end", "-j", "mucheng", "--year", "2026", "--dry-run",
                      "--database", database_url)
    assert told.stdout == ("P-001 张三 2026：个人负担封顶（MC-F）追回 ¥2,000.00（此前已付 "
                           "¥5,200.00，现应为 ¥3,200.00）\nmucheng 2026 年终救助：1 个人员年度，"
                           "应支付 0 个，合计 ¥0.00；应追回 1 个，合计 ¥2,000.00\n"), told.stdout
    assert year_end(city)["amount"] == -2000
    entries = city.year(city.admin, year=2026)["year_end"]
    assert [(e["seq"], e["amount"], e["total"]) for e in entries] == [
        (1, 5200, 5200), (2, -2000, 3200)]
    assert expense(city) == 320000
    assert city.year(h, year=2026)["year_end"] == []  # not the hospital's to read


def test_concurrent_year_end_runs_pay_once(city: World) -> None:
    h = hospital(city)
    for body in (STAY_1, STAY_2):
        city.client.post(SETTLE, headers=h, json=body)
    with UnitOfWork(city.sessions) as uow:
        pairs = ye.person_years(uow, "mucheng", 2026)
    start = threading.Barrier(4)

    def one(_: int) -> list[ye.YearEndPlan]:
        start.wait()
        return ye.run(city.sessions, "test", pairs)

    with ThreadPoolExecutor(4) as pool_:
        runs = list(pool_.map(one, range(4)))
    assert sorted(sum(p.amount for p in r) for r in runs) == [0, 0, 0, 520000]
    with UnitOfWork(city.sessions) as uow:
        (entry,) = ye.payouts(uow, pairs[0][0], 2026)
        assert entry.amount == 520000
        # the unique key refuses a second entry of the same sequence, whoever writes it
        uow.session.add(YearEndPayout(**{
            c.name: getattr(entry, c.name) for c in YearEndPayout.__table__.columns
            if c.name != "id"} | {"payout_id": "another"}))
        with pytest.raises(IntegrityError):
            uow.session.flush()


def test_year_end_refusals_say_why_in_chinese(city: World) -> None:
    r = city.client.post(YEAR_END, headers=city.token("finance"),
                         json={"jurisdiction": "mucheng", "year": 2026})
    assert r.status_code == 422 and "2026 年尚未结束" in r.json()["error"]["message"]
    assert r.json()["error"]["path"] == "$.year"
    hospital_token = hospital(city)
    with clock.frozen(AFTER_THE_YEAR):
        r = city.client.post(YEAR_END, headers=hospital_token,
                             json={"jurisdiction": "mucheng", "year": 2026})
    assert r.status_code == 403
    missing = year_end(city, 404, psn_no="P-404")
    assert missing["error"]["path"] == "$.psn_no" and "P-404" in missing["error"]["message"]


# -- person statuses ------------------------------------------------------------------------------
MTS = {"status": "mts", "from": "2026-05-01"}
CERTIFIED = (Held("mts", date(2026, 5, 1)),)


def record_status(world: World, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = world.client.post("/api/v1/persons/P-001/statuses",
                          headers=world.token("caseworker", district="110101"), json=body)
    assert r.status_code == status, r.text
    return dict(r.json())


def envelope(body: dict[str, Any], msgid: str) -> dict[str, Any]:
    return {"infno": "2304", "msgid": msgid, "mdtrtarea_admvs": "110101",
            "insuplc_admdvs": "110101", "recer_sys_code": "MEDAID", "infver": "V1.0",
            "opter_type": "1", "opter": "001", "opter_name": "收费员",
            "inf_time": f"{body['end']} 12:00:00", "fixmedins_code": HOSPITAL,
            "fixmedins_name": "医院", "sign_no": "S1",
            "input": {"data": {k: v for k, v in body.items() if k != "medins_setl_id"}}}


def test_the_whole_city_through_rest_and_envelope_equals_medaid_settle(city: World) -> None:
    """Certified for 门诊特殊病种 from 1 May: stay 1 (March) as before, 20,000 and 再救助
    10,800; stay 2 (June) at 85% (MC-A2): 25,500 (the raised cap: 45,500 ≤ 50,000), its
    remainder 4,500 makes the year's 24,500: 再救助 13,500 − 10,800 = 2,700. The person
    bears 9,200 + 1,800 = 11,000, above 10,000: the year-end ceiling pays 1,000."""
    listed = record_status(city, MTS)["statuses"]
    assert [(s["status"], s["label"], s["from"], s["to"]) for s in listed] == [
        ("mts", "门诊特殊病种认定", "2026-05-01", None)]
    ref = reference([STAY_1, STAY_2], CERTIFIED)
    h = hospital(city)
    rest = city.client.post(SETTLE, headers=h, json=STAY_1).json()
    assert amounts(rest) == expected(ref, 0)
    r = city.client.post(NATIONAL, headers=h, json=envelope(STAY_2, "MSG-2"))
    out = r.json()["output"]
    assert out["medaid"]["rules"] == ["MC-A2", "MC-R"]
    by_type = {d["fund_pay_type"]: Decimal(str(d["fund_payamt"])) for d in out["setldetail"]}
    s2 = ref.settlements[1]
    assert (by_type["610100"], by_type["610102"]) == (to_yuan(s2.assistance),
                                                     to_yuan(s2.reassistance))
    assert (s2.assistance, s2.reassistance) == (2550000, 270000)
    stored = city.client.get(f"{SETTLE}/{out['setlinfo']['setl_id']}", headers=h).json()
    assert amounts(stored) == expected(ref, 1)
    (ceiling,) = ref.year_end
    assert ceiling.amount == 100000
    assert year_end(city)["amount"] == to_yuan(ceiling.amount)


def test_a_status_recorded_after_settlement_settles_the_year_again(city: World) -> None:
    """Settled uncertified, stay 2 paid 15,000 and 再救助 9,000; the certificate recorded
    from 1 May makes it 25,500 and 2,700: an adjustment of +10,500 and −6,300."""
    h = hospital(city)
    for body in (STAY_1, STAY_2):
        assert city.client.post(SETTLE, headers=h, json=body).status_code == 201
    record_status(city, MTS)
    year = city.year(city.admin, year=2026)
    (adj,) = year["adjustments"]
    before, after = reference([STAY_1, STAY_2]), reference([STAY_1, STAY_2], CERTIFIED)
    for tier in ("assistance", "reassistance", "maf_pay"):
        assert Decimal(str(adj[tier])) == to_yuan(getattr(after.settlements[1], tier)
                                                  - getattr(before.settlements[1], tier))
    assert (adj["assistance"], adj["reassistance"]) == (10500, -6300)
    assert adj["cause"] == "roster" and "门诊特殊病种认定" in adj["reason"]
    # ended on 31 May: stay 2 is uncertified again
    record_status(city, MTS | {"to": "2026-05-31"})
    adjustments = city.year(city.admin, year=2026)["adjustments"]
    assert [a["assistance"] for a in adjustments] == [10500, -10500]


def test_a_status_the_policy_does_not_declare_is_refused_in_chinese(city: World) -> None:
    error = record_status(city, {"status": "dialysis"}, 422)["error"]
    assert error["path"] == "$.status"
    assert error["message"].startswith(
        "mucheng 的政策文件未定义人员状态「dialysis」（已定义：mts（门诊特殊病种认定））")
    error = record_status(city, MTS | {"to": "2026-04-01"}, 422)["error"]
    assert error["path"] == "$.to" and "早于起始日期" in error["message"]
    r = city.client.post("/api/v1/persons/P-001/statuses", headers=hospital(city), json=MTS)
    assert r.status_code == 403
    assert city.client.get("/api/v1/persons/P-001/statuses",
                           headers=city.admin).json()["statuses"] == []


def test_the_commands_record_a_status_and_pay_the_year_end(city: World, database_url: str
                                                           ) -> None:
    h = hospital(city)
    for body in (STAY_1, STAY_2):
        assert city.client.post(SETTLE, headers=h, json=body).status_code == 201
    done = medaid("person-status", "--psn-no", "P-001", "--status", "mts", "--from",
                  "2026-05-01", "--database", database_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "P-001 门诊特殊病种认定（mts）2026-05-01～\n"
    assert [a["assistance"] for a in city.year(city.admin, year=2026)["adjustments"]] == [10500]
    refused = medaid("person-status", "--psn-no", "P-001", "--status", "dialysis",
                     "--database", database_url)
    assert refused.returncode == 2
    assert refused.stderr.startswith(
        "error: --status: mucheng 的政策文件未定义人员状态「dialysis」")
    with clock.frozen(AFTER_THE_YEAR):
        paid = medaid("year-end", "-j", "mucheng", "--year", "2026", "--database",
                      database_url)
        again = medaid("year-end", "-j", "mucheng", "--year", "2026", "--database",
                       database_url)
    assert paid.returncode == again.returncode == 0, paid.stderr
    assert paid.stdout == ("P-001 张三 2026：个人负担封顶（MC-F）¥1,000.00\n"
                           "mucheng 2026 年终救助：1 个人员年度，已支付 1 个，合计 ¥1,000.00\n")
    assert again.stdout == "mucheng 2026 年终救助：1 个人员年度，已支付 0 个，合计 ¥0.00\n"


def test_a_person_the_year_end_pays_nothing_is_told_why(city: World, database_url: str
                                                        ) -> None:
    """A stay of 10,000, 9,000 by basic insurance: assistance 500, no 再救助 (500 is below
    2,000); the person bears 500, below 10% of 10,000: MC-F pays nothing, and a run for the
    person says so, as the engine's trace does."""
    small = STAY_1 | {"medfee_sumamt": 10000, "hifp_pay": 9000}
    assert city.client.post(SETTLE, headers=hospital(city), json=small).status_code == 201
    (ceiling,) = reference([small]).year_end
    reason = ceiling.trace[-1].text
    assert ceiling.amount == 0 and "未超过封顶线1,000.00元" in reason, reason
    answer = year_end(city, psn_no="P-001")
    assert answer["amount"] == 0
    ((stage,),) = [r["stages"] for r in answer["results"]]
    assert (stage["total"], stage["trace"][-1]["text"]) == (0, reason)
    assert year_end(city)["results"] == []  # a city's run lists who is paid or refused
    with clock.frozen(AFTER_THE_YEAR):
        told = medaid("year-end", "-j", "mucheng", "--year", "2026", "--psn-no", "P-001",
                      "--database", database_url)
    assert told.returncode == 0, told.stderr
    assert told.stdout == (f"P-001 张三 2026：{reason}\n"
                           "mucheng 2026 年终救助：1 个人员年度，已支付 0 个，合计 ¥0.00\n")


def test_the_pages_show_the_reassistance_the_status_and_the_year_end(city: World) -> None:
    """A caseworker of the district reads the slip (医疗再救助 under the assistance it is
    part of) and the person's year (the status, the year-end payout)."""
    record_status(city, MTS)
    h = hospital(city)
    first = city.client.post(SETTLE, headers=h, json=STAY_1).json()
    city.client.post(SETTLE, headers=h, json=STAY_2)
    year_end(city)
    with UnitOfWork(city.sessions) as uow:
        users.create(uow, CLI, "区经办", "correct horse battery", "caseworker", "110101")
        uow.commit()
    browser = TestClient(city.client.app, follow_redirects=False)
    csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/login").text)
    assert csrf is not None
    assert browser.post("/login", data={"csrf": csrf.group(1), "username": "区经办",
                                        "password": "correct horse battery"}
                        ).status_code == 303
    slip = browser.get(f"/settlements/{first['setl_id']}").text
    assert re.search(r'<span>其中：医疗再救助</span><strong data-field="reassistance">'
                     r'¥?10,800\.00', slip), slip
    person = browser.get("/persons/P-001?year=2026").text
    assert "门诊特殊病种认定" in person and "2026-05-01" in person
    assert "年终救助" in person and "个人负担封顶" in person and "1,000.00" in person


def test_a_cleared_fund_year_pays_no_year_end_stage(city: World) -> None:
    """Once the district's fund year is cleared, its year-end stages are not paid: the
    person-year is named with the reason, and nothing is written."""
    h = hospital(city)
    for body in (STAY_1, STAY_2):
        city.client.post(SETTLE, headers=h, json=body)
    with UnitOfWork(city.sessions) as uow:
        uow.session.add(FundClearing(
            jurisdiction="mucheng", district="110101", year=2026,
            cleared_on=date(2027, 1, 4), due=None, opening_surplus=0, budget=0, assistance=0,
            released=0, forfeited=0, surplus=0, deficit=0, deficit_due=None,
            created_at=clock.now()))
        uow.commit()
    answer = year_end(city)
    (refused,) = answer["results"]
    assert answer["amount"] == 0 and refused["psn_no"] == "P-001"
    assert refused["error"].startswith("基金 mucheng/110101 2026 年已清算，不能再支付年终救助")
    assert city.year(city.admin, year=2026)["year_end"] == [] and expense(city) == 0


def test_bulk_resettlement_of_the_city_finds_nothing_to_change(city: World,
                                                               database_url: str) -> None:
    """The ledger settled with the status, stages and the raised cap equals the rules:
    `medaid ledger resettle` over the city-year posts nothing."""
    record_status(city, MTS)
    h = hospital(city)
    for body in (STAY_1, STAY_2):
        city.client.post(SETTLE, headers=h, json=body)
    done = medaid("ledger", "resettle", "-j", "mucheng", "--year", "2026", "--database",
                  database_url)
    assert done.returncode == 0, done.stderr
    assert "mucheng 2026：重新结算 1 个人员年度，已补差 0 个" in done.stdout, done.stdout
    assert "1 person-years settled again; adjusted 0 " in done.stdout
    assert city.year(city.admin, year=2026)["adjustments"] == []


def test_the_bulk_path_reads_each_persons_statuses(city: World) -> None:
    """`ledger resettle`'s columnar read gives the batch kernel the statuses the engine
    reads: 门诊特殊病种认定 from 1 May 2026 (day 20,574 since 1970), open."""
    record_status(city, MTS)
    for body in (STAY_1, STAY_2):
        city.client.post(SETTLE, headers=hospital(city), json=body)
    with UnitOfWork(city.sessions) as uow:
        persons = resettle_bulk.read_year(uow.session.connection(), "mucheng", 2026).persons
    assert persons.status_names == ["mts"] and persons.status_offsets.tolist() == [0, 1]
    assert persons.status_from.tolist() == [(date(2026, 5, 1) - date(1970, 1, 1)).days]
    assert persons.status_to.tolist() == [NO_DATE]
