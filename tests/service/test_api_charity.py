"""社会力量参与 over HTTP: the register, matching by each criterion, referrals and their
answers, scope.

Nanjing 2023 (threshold 34,519.50, see test_api_warnings). Every stay pays 35,000 + 3,000
by the insurances and leaves 6,000 outside the policy range; burdens after assistance:
ADULT (no identity) 72,519.50 − 38,000 = 34,519.50, warned (因病致贫); CHILD (no identity,
8 on 2023-12-31) 50,000 − 38,000 = 12,000; EDGE (dibao_edge) 8,851.95 after NJ-A2's 90%,
warned (因病返贫); DIBAO 200,000: NJ-A2 pays 90% of 156,000 = 140,400, so 21,600 is left,
not monitored; LIGHT (no identity) 45,000 − 38,000 = 7,000.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from api_helpers import World, visit
from typer.testing import CliRunner

from medaid.cli.main import app
from medaid.engine.case import dumps
from medaid.registry import idcard

OWN, OTHER = "320102", "320106"
PROGRAMMES = "/api/v1/charity/programmes"
REFERRALS = "/api/v1/charity/referrals"


def _body(r: Any) -> Any:
    return json.loads(r.text, parse_float=Decimal)


def _person(world: World, h: dict[str, str], psn_no: str, born: date, total: str,
            category: str | None = None, n: int = 1) -> None:
    identities = [] if category is None else [
        {"category": category, "department": "民政", "from": "2023-01-15"}]
    world.person(psn_no, identities=identities, certno=idcard.make(OWN, born, n))
    r = world.client.post("/api/v1/settlements", headers=h, content=dumps(visit(
        psn_no=psn_no, medins_setl_id=f"S-{psn_no}", medfee_sumamt=Decimal(total))))
    assert r.status_code == 201, r.text


def _programme(world: World, name: str, **criteria: Any) -> int:
    r = world.client.post(PROGRAMMES, headers=world.admin, content=dumps({
        "name": name, "organisation": "南京市慈善总会", "active_from": "2020-01-01"} | criteria))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


@pytest.fixture
def city(world: World) -> dict[str, int]:
    h = world.institution()
    _person(world, h, "ADULT", date(1970, 5, 1), "72519.50", n=1)
    _person(world, h, "CHILD", date(2015, 6, 1), "50000", n=2)
    _person(world, h, "EDGE", date(1960, 1, 1), "72519.50", "dibao_edge", n=3)
    _person(world, h, "DIBAO", date(1950, 1, 1), "200000", "dibao", n=4)
    _person(world, h, "LIGHT", date(1980, 1, 1), "45000", n=5)
    r = world.client.post("/api/v1/warnings/run", headers=world.admin,
                          json={"year": 2023, "jurisdiction": "nanjing"})
    assert r.json()["jurisdictions"][0]["raised"] == 2
    return {
        "A": _programme(world, "大病补充救助", jurisdictions=["nanjing"], min_burden=20000),
        "B": _programme(world, "儿童大病救助", categories=["none"], max_age=17,
                        min_burden=10000),
        "C": _programme(world, "低边家庭帮扶", categories=["dibao_edge"], annual_slots=1),
        "D": _programme(world, "已结束项目", active_to="2021-12-31"),
        "E": _programme(world, "宜春项目", jurisdictions=["yichun"]),
    }


def _matches(world: World, psn_no: str, headers: dict[str, str] | None = None
             ) -> list[int]:
    r = world.client.get(f"/api/v1/charity/matches/{psn_no}", headers=headers or world.admin,
                         params={"year": 2023})
    assert r.status_code == 200, r.text
    return [p["id"] for p in r.json()["programmes"]]


def test_matching_by_each_criterion(world: World, city: dict[str, int]) -> None:
    a, b, c = city["A"], city["B"], city["C"]
    assert _matches(world, "ADULT") == [a]  # warned; 53, too old for B
    assert _matches(world, "CHILD") == [b]  # 12,000 < A's 20,000 and no warning
    assert _matches(world, "EDGE") == [a, c]  # 8,851.95 < 20,000, but warned
    assert _matches(world, "DIBAO") == [a]  # 21,600 ≥ 20,000 without a warning
    assert _matches(world, "LIGHT") == []  # D ended in 2021, E is Yichun's
    got = _body(world.client.get("/api/v1/charity/matches/EDGE", headers=world.admin,
                                 params={"year": 2023}))
    assert (got["age"], got["categories"], got["after_assistance"]) == (
        63, ["dibao_edge"], Decimal("8851.95"))
    assert got["warning"]["kind"] == "relapse"
    assert world.client.get("/api/v1/charity/matches/NOBODY", headers=world.admin,
                            params={"year": 2023}).status_code == 404


def test_the_referral_lifecycle(world: World, city: dict[str, int]) -> None:
    cw = world.token("caseworker", district=OWN)
    r = world.client.post(REFERRALS, headers=cw, json={
        "programme_id": city["C"], "psn_no": "EDGE", "year": 2023, "note": "住院后仍负担重"})
    assert r.status_code == 201, r.text
    ref = _body(r)
    assert (ref["status"], ref["burden"], ref["note"]) == (
        "referred", Decimal("8851.95"), "住院后仍负担重")
    assert ref["warning_id"] is not None and ref["referred_by"].startswith("token:")
    again = world.client.post(REFERRALS, headers=cw, json={
        "programme_id": city["C"], "psn_no": "EDGE", "year": 2023})
    assert again.status_code == 409 and "already referred to it for 2023 (referred)" in again.text
    assert again.json()["error"]["message"].startswith(
        "人员 EDGE 2023 年不符合慈善项目")
    assert "：2023 年已转介此项目（已转介） / " in again.json()["error"]["message"]
    r = world.client.post(REFERRALS, headers=cw, json={
        "programme_id": city["B"], "psn_no": "EDGE", "year": 2023})
    assert r.status_code == 409
    assert "项目面向无救助身份，此人为低保边缘家庭成员" in r.json()["error"]["message"]
    r = world.client.post(REFERRALS, headers=cw, json={
        "programme_id": 999999, "psn_no": "EDGE", "year": 2023})
    assert r.status_code == 404
    assert r.json()["error"]["message"].startswith("没有编号为 999999 的慈善项目")
    assert _matches(world, "EDGE") == [city["A"]]  # C no more: EDGE 2023 is referred to it
    r = world.client.post(REFERRALS, headers=cw, json={
        "programme_id": city["A"], "psn_no": "LIGHT", "year": 2023})
    assert r.status_code == 409 and "below the programme's 20000.00" in r.text
    assert "救助后个人负担" in r.text and "低于项目的 20000.00 元，且无预警" in r.text
    # C's one place for 2023 is taken while the referral is open.
    world.person("EDGE2", identities=[
        {"category": "dibao_edge", "department": "民政", "from": "2023-01-15"}],
        certno=idcard.make(OWN, date(1990, 1, 1), 6))
    assert _matches(world, "EDGE2") == []
    url = f"{REFERRALS}/{ref['id']}"
    r = world.client.post(f"{url}/decline", headers=cw, json={})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.note"
    r = world.client.post(f"{url}/decline", headers=cw, json={"note": "不符合本年度资助方向"})
    assert r.status_code == 200 and r.json()["status"] == "declined"
    assert r.json()["decision_note"] == "不符合本年度资助方向"
    assert world.client.post(f"{url}/accept", headers=cw).status_code == 409
    assert _matches(world, "EDGE2") == [city["C"]]  # a declined referral frees the place
    assert _matches(world, "EDGE") == [city["A"]]  # declined: still referred once
    r = world.client.post(REFERRALS, headers=cw, json={
        "programme_id": city["A"], "psn_no": "ADULT", "year": 2023})
    accepted = world.client.post(f"{REFERRALS}/{r.json()['id']}/accept", headers=cw)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    listed = world.client.get(REFERRALS, headers=cw, params={"year": 2023}).json()
    assert [(x["psn_no"], x["status"]) for x in listed["referrals"]] == [
        ("EDGE", "declined"), ("ADULT", "accepted")]
    one = world.client.get(REFERRALS, headers=cw, params={"psn_no": "ADULT"}).json()
    assert [(x["psn_no"], x["programme"]["id"]) for x in one["referrals"]] == [
        ("ADULT", city["A"])]
    assert world.client.get(REFERRALS, headers=cw, params={"psn_no": "NOBODY"}
                            ).json()["referrals"] == []
    assert world.client.get(REFERRALS, headers=cw, params={"status": "x"}).status_code == 422


def test_scope_and_roles(world: World, city: dict[str, int]) -> None:
    other = world.token("caseworker", district=OTHER)
    auditor, finance = world.token("auditor"), world.token("finance")
    hospital = world.token("hospital", "H32010200001")
    # a person of another district: as unknown to the caseworker as no person at all
    assert world.client.get("/api/v1/charity/matches/EDGE", headers=other,
                            params={"year": 2023}).status_code == 404
    assert world.client.post(REFERRALS, headers=other, json={
        "programme_id": city["C"], "psn_no": "EDGE", "year": 2023}).status_code == 404
    assert world.client.post(REFERRALS, headers=auditor, json={
        "programme_id": city["C"], "psn_no": "EDGE", "year": 2023}).status_code == 403
    r = world.client.post(REFERRALS, headers=world.admin, json={
        "programme_id": city["C"], "psn_no": "EDGE", "year": 2023})
    assert r.status_code == 201
    assert world.client.get(REFERRALS, headers=other).json()["referrals"] == []
    assert len(world.client.get(REFERRALS, headers=auditor).json()["referrals"]) == 1
    assert world.client.post(f"{REFERRALS}/{r.json()['id']}/accept",
                             headers=other).status_code == 403
    assert world.client.get(PROGRAMMES, headers=finance).status_code == 200
    assert world.client.get(PROGRAMMES, headers=hospital).status_code == 403
    assert world.client.get(REFERRALS, headers=finance).status_code == 403
    for headers in (finance, auditor, other):
        assert world.client.post(PROGRAMMES, headers=headers, json={
            "name": "x", "organisation": "y", "active_from": "2024-01-01"}).status_code == 403


def test_the_register_checks_and_changes(world: World, city: dict[str, int]) -> None:
    def post(**raw: Any) -> Any:
        return world.client.post(PROGRAMMES, headers=world.admin, content=dumps(
            {"name": "新项目", "organisation": "基金会", "active_from": "2024-01-01"} | raw))

    bad = post(jurisdictions=["nanjing"], categories=["jiance"])  # a Yichun category
    assert bad.status_code == 422 and bad.json()["error"]["path"] == "$.categories[0]"
    assert post(active_to="2023-12-31").json()["error"]["path"] == "$.active_to"
    assert post(min_age=18, max_age=10).json()["error"]["path"] == "$.max_age"
    assert post(min_burden=-1).json()["error"]["path"] == "$.min_burden"
    assert post(slots=3).json()["error"]["path"] == "$.slots"
    assert post(name="大病补充救助").status_code == 409
    r = world.client.patch(f"{PROGRAMMES}/{city['A']}", headers=world.admin,
                           json={"min_burden": 30000})
    assert r.status_code == 200 and _body(r)["min_burden"] == Decimal("30000.00")
    assert _matches(world, "DIBAO") == []  # 21,600 < 30,000 now
    assert world.client.delete(f"{PROGRAMMES}/{city['E']}", headers=world.admin
                               ).status_code == 204
    assert world.client.get(f"{PROGRAMMES}/{city['E']}", headers=world.admin
                            ).status_code == 404
    world.client.post(REFERRALS, headers=world.admin, json={
        "programme_id": city["C"], "psn_no": "EDGE", "year": 2023})
    assert world.client.delete(f"{PROGRAMMES}/{city['C']}", headers=world.admin
                               ).status_code == 409


def test_the_cli_lists_one_persons_referrals(world: World, city: dict[str, int],
                                             database_url: str) -> None:
    for psn_no, programme in (("EDGE", "C"), ("ADULT", "A")):
        assert world.client.post(REFERRALS, headers=world.admin, json={
            "programme_id": city[programme], "psn_no": psn_no, "year": 2023}).status_code == 201
    r = CliRunner().invoke(app, ["charity", "referrals", "--psn-no", "EDGE",
                                 "--database", database_url])
    assert r.exit_code == 0, r.output
    assert "EDGE" in r.output and "低边家庭帮扶" in r.output
    assert "ADULT" not in r.output and "大病补充救助" not in r.output
    bad = CliRunner().invoke(app, ["charity", "referrals", "--status", "x",
                                   "--database", database_url])
    assert bad.exit_code != 0 and "Traceback" not in bad.output
