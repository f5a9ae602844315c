"""双预警 over HTTP: the threshold to the fen, the lists by category, an idempotent job,
the lifecycle with its reasons, district scope, and the workbook.

Nanjing 2023: income 69,039.00 (the policy file's value), share 50% (its default), so the
threshold is 34,519.50 yuan. Every stay below leaves 6,000 outside the policy range and is
paid 35,000 + 3,000 by the insurances, so its burden after insurance is total − 38,000.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

import pytest
from api_helpers import World, visit
from openpyxl import load_workbook

from medaid.engine.case import dumps

THRESHOLD = "34519.50"
AT = Decimal("72519.50")  # 72,519.50 − 38,000 = 34,519.50: exactly the threshold
OWN, OTHER = "320102", "320106"
DIBAO_EDGE = [{"category": "dibao_edge", "department": "民政", "from": "2023-01-15"}]


def _body(r: Any) -> Any:
    """The answer's JSON with exact decimals (amounts are yuan with two places)."""
    return json.loads(r.text, parse_float=Decimal)


def _settle(world: World, h: dict[str, str], psn_no: str, total: Decimal | int, n: int = 1,
            **fields: Any) -> str:
    r = world.client.post("/api/v1/settlements", headers=h, content=dumps(visit(
        psn_no=psn_no, medins_setl_id=f"{psn_no}-{n}", mdtrt_id=f"M-{psn_no}-{n}",
        medfee_sumamt=total) | fields))
    assert r.status_code == 201, r.text
    return str(_body(r)["setl_id"])


def _fen_more(world: World, h: dict[str, str], psn_no: str, n: int) -> None:
    """An outpatient visit of 0.01 that no insurance pays: 0.01 more burden."""
    _settle(world, h, psn_no, Decimal("0.01"), n, med_type="11", start="2023-04-01",
            end="2023-04-01", fulamt_ownpay_amt=0, preselfpay_amt=0, hifp_pay=0, hifmi_pay=0)


def _run(world: World, year: int = 2023, **extra: Any) -> dict[str, Any]:
    r = world.client.post("/api/v1/warnings/run", headers=world.admin,
                          json={"year": year} | extra)
    assert r.status_code == 200, r.text
    return dict(_body(r))


def _warnings(world: World, headers: dict[str, str] | None = None, **query: Any
              ) -> list[dict[str, Any]]:
    r = world.client.get("/api/v1/warnings", headers=headers or world.admin, params=query)
    assert r.status_code == 200, r.text
    return list(_body(r)["warnings"])


@pytest.fixture
def nanjing(world: World) -> dict[str, str]:
    h = world.institution()
    world.person("NB-AT", identities=[])  # no identity: 因病致贫 if heavy
    world.person("NB-BELOW", identities=[])
    world.person("EDGE-AT", identities=DIBAO_EDGE)  # monitored: 因病返贫
    world.person("DIBAO", identities=[  # a beneficiary NJ-M does not monitor
        {"category": "dibao", "department": "民政", "from": "2023-01-15"}])
    world.person("NB-OTHER", identities=[], district=OTHER)
    _settle(world, h, "NB-AT", AT)
    _settle(world, h, "NB-BELOW", AT - Decimal("0.01"))
    _settle(world, h, "EDGE-AT", AT)
    _settle(world, h, "DIBAO", 200000)
    _settle(world, h, "NB-OTHER", 100000)
    return h


def test_a_warning_appears_exactly_at_the_threshold(world: World, nanjing: dict[str, str]
                                                     ) -> None:
    done = _run(world, jurisdiction="nanjing")["jurisdictions"][0]
    assert done["threshold"] == Decimal(THRESHOLD) and done["share"] == "50%"
    assert done["income"] == Decimal("69039.00") and done["rule"] == "NJ-M"
    assert done["raised"] == 3
    found = {w["psn_no"]: w for w in _warnings(world, year=2023)}
    # NB-BELOW is one fen short; DIBAO is not monitored by NJ-M, however heavy.
    assert set(found) == {"NB-AT", "EDGE-AT", "NB-OTHER"}
    at = found["NB-AT"]
    assert (at["kind"], at["kind_label"], at["category"]) == ("poverty", "因病致贫", None)
    assert at["burden"] == at["after_insurance"] == at["after_assistance"] == AT - 38000
    assert (at["level"], at["status"], at["threshold"]) == (1, "new", Decimal(THRESHOLD))
    edge = found["EDGE-AT"]
    assert (edge["kind"], edge["category"], edge["category_label"]) == (
        "relapse", "dibao_edge", "低保边缘家庭成员")
    # NJ-A2 pays 90% of the base 72,519.50 − 6,000 − 38,000 = 28,519.50: 25,667.55, so
    # 34,519.50 − 25,667.55 = 8,851.95 is left to the person; NJ-M measures before it.
    assert edge["burden"] == edge["after_insurance"] == Decimal(THRESHOLD)
    assert edge["after_assistance"] == Decimal("8851.95")
    assert [w["psn_no"] for w in _warnings(world, kind="relapse")] == ["EDGE-AT"]
    assert [w["psn_no"] for w in _warnings(world, category="dibao_edge")] == ["EDGE-AT"]
    assert {w["psn_no"] for w in _warnings(world, kind="poverty")} == {"NB-AT", "NB-OTHER"}
    assert _warnings(world, year=2024) == []


def test_the_job_is_idempotent_and_follows_cancellations(world: World,
                                                         nanjing: dict[str, str]) -> None:
    first = _run(world)
    nj = next(j for j in first["jurisdictions"] if j["jurisdiction"] == "nanjing")
    assert nj["warnings"] == {"poverty": 2, "relapse": 1}
    js = next(j for j in first["jurisdictions"] if j["jurisdiction"] == "jiangsu")
    assert js["skipped"] == "no monitoring article in the policy in force"
    again = next(j for j in _run(world)["jurisdictions"] if j["jurisdiction"] == "nanjing")
    assert (again["raised"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert again["warnings"] == {"poverty": 2, "relapse": 1}
    # One fen more for NB-BELOW: now exactly the threshold, so a fourth warning; the
    # others are unchanged.
    _fen_more(world, nanjing, "NB-BELOW", 2)
    third = next(j for j in _run(world)["jurisdictions"] if j["jurisdiction"] == "nanjing")
    assert (third["raised"], third["unchanged"]) == (1, 3)
    below = next(w for w in _warnings(world) if w["psn_no"] == "NB-BELOW")
    assert below["burden"] == Decimal(THRESHOLD)
    # Cancelling NB-AT's stay nets its year to 0: the open warning stays, with level 0.
    setl = _warnings(world)
    at = next(w for w in setl if w["psn_no"] == "NB-AT")
    year = world.year(world.admin, "NB-AT")
    r = world.client.post(f"/api/v1/settlements/{year['settlements'][0]['setl_id']}/cancel",
                          headers=nanjing)
    assert r.status_code == 201, r.text
    fourth = next(j for j in _run(world)["jurisdictions"] if j["jurisdiction"] == "nanjing")
    assert (fourth["raised"], fourth["updated"]) == (0, 1)
    now = _body(world.client.get(f"/api/v1/warnings/{at['id']}", headers=world.admin))
    assert (now["burden"], now["level"], now["status"]) == (Decimal("0.00"), 0, "new")


def test_the_lifecycle_and_its_reasons(world: World, nanjing: dict[str, str]) -> None:
    _run(world, jurisdiction="nanjing")
    w = next(x for x in _warnings(world) if x["psn_no"] == "NB-AT")
    url = f"/api/v1/warnings/{w['id']}"
    cw = world.token("caseworker", district=OWN)
    assert world.client.post(f"{url}/enroll", headers=cw).status_code == 409  # not verified
    assert world.client.post(f"{url}/dismiss", headers=cw, json={"reason": "x"}
                             ).status_code == 409
    r = world.client.post(f"{url}/verify", headers=cw, json={"reason": "入户核查属实"})
    assert r.status_code == 200 and _body(r)["status"] == "verified"
    assert world.client.post(f"{url}/verify", headers=cw).status_code == 409
    r = world.client.post(f"{url}/dismiss", headers=cw, json={})
    assert r.status_code == 422 and _body(r)["error"]["path"] == "$.reason"
    r = world.client.post(f"{url}/dismiss", headers=cw, json={"reason": "已由商业保险理赔"})
    assert r.status_code == 200, r.text
    events = _body(r)["events"]
    assert [(e["from"], e["to"]) for e in events] == [
        (None, "new"), ("new", "verified"), ("verified", "dismissed")]
    assert events[2]["reason"] == "已由商业保险理赔" and events[2]["actor"].startswith("token:")
    # The job's reason: amounts as yuan, the article as people cite it (34,519.50 =
    # 50% × 69,039.00, the burden exactly at it).
    assert events[0]["reason"] == (
        "经基本医保、大病保险支付后个人负担 ¥34,519.50 ≥ 预警标准 ¥34,519.50 = 50% × ¥69,039.00"
        "（NJ-M 南京市《宁政办发〔2023〕1号》（十六））")
    assert world.client.post(f"{url}/enroll", headers=cw).status_code == 409
    # The same burden again: the dismissal stands.
    _run(world, jurisdiction="nanjing")
    assert _body(world.client.get(url, headers=cw))["status"] == "dismissed"
    # 34,519.49 more (a stay of 72,519.49) makes 69,038.99: still below 2 × 34,519.50.
    _settle(world, nanjing, "NB-AT", AT - Decimal("0.01"), n=2)
    _run(world, jurisdiction="nanjing")
    assert _body(world.client.get(url, headers=cw))["status"] == "dismissed"
    # One fen more reaches 69,039.00 = 2 × the threshold: a higher level re-opens it.
    _fen_more(world, nanjing, "NB-AT", 3)
    assert _run(world, jurisdiction="nanjing")["jurisdictions"][0]["reopened"] == 1
    now = _body(world.client.get(url, headers=cw))
    assert (now["status"], now["level"], now["burden"]) == ("new", 2, Decimal("69039.00"))
    assert now["events"][-1]["from"] == "dismissed"
    assert "2×" in now["events"][-1]["reason"]
    assert "¥69,039.00 ≥ 预警标准 ¥34,519.50" in now["events"][-1]["reason"]
    # new → verified → enrolled is the other end; enrolled is final.
    assert world.client.post(f"{url}/verify", headers=cw).status_code == 200
    r = world.client.post(f"{url}/enroll", headers=cw, json={"reason": "纳入支出型困难家庭"})
    assert r.status_code == 200 and _body(r)["status"] == "enrolled"
    assert world.client.post(f"{url}/dismiss", headers=cw, json={"reason": "x"}
                             ).status_code == 409
    assert world.client.post("/api/v1/warnings/999/verify", headers=cw).status_code == 404


def test_district_scope_and_roles(world: World, nanjing: dict[str, str]) -> None:
    _run(world, jurisdiction="nanjing")
    own, other = world.token("caseworker", district=OWN), world.token("caseworker",
                                                                      district=OTHER)
    assert {w["psn_no"] for w in _warnings(world, own)} == {"NB-AT", "EDGE-AT"}
    assert [w["psn_no"] for w in _warnings(world, other)] == ["NB-OTHER"]
    assert world.client.get("/api/v1/warnings", headers=other, params={"district": OWN}
                            ).status_code == 403
    mine = next(w for w in _warnings(world, own) if w["psn_no"] == "NB-AT")
    url = f"/api/v1/warnings/{mine['id']}"
    assert world.client.get(url, headers=other).status_code == 403
    assert world.client.post(f"{url}/verify", headers=other).status_code == 403
    auditor = world.token("auditor")
    assert len(_warnings(world, auditor)) == 3
    assert world.client.get(url, headers=auditor).status_code == 200
    assert world.client.post(f"{url}/verify", headers=auditor).status_code == 403
    for role, headers in (("hospital", nanjing), ("finance", world.token("finance"))):
        assert world.client.get("/api/v1/warnings", headers=headers).status_code == 403, role
        assert world.client.get(url, headers=headers).status_code == 403, role
    for headers in (own, auditor, nanjing):
        assert world.client.post("/api/v1/warnings/run", headers=headers,
                                 json={"year": 2023}).status_code == 403
    assert _body(world.client.post("/api/v1/warnings/run", headers=world.admin,
                             json={"year": "2023"}))["error"]["path"] == "$.year"
    assert world.client.post("/api/v1/warnings/run", headers=world.admin, json={
        "year": 2023, "jurisdiction": "shanghai"}).status_code == 422
    assert world.client.get("/api/v1/warnings", headers=world.admin,
                            params={"status": "open"}).status_code == 422
    r = world.client.get("/api/v1/audit", headers=auditor, params={"limit": 1000})
    actions = [e["action"] for e in _body(r)["entries"]]
    assert "warning.run" in actions and "warning.list" in actions and "warning.read" in actions


def test_the_export_is_a_workbook_whose_rows_match(world: World, nanjing: dict[str, str]
                                                   ) -> None:
    _run(world, jurisdiction="nanjing")
    own = world.token("caseworker", district=OWN)
    listed = _warnings(world, own, year=2023)
    r = world.client.get("/api/v1/warnings/export", headers=own, params={"year": 2023})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    assert [c.value for c in ws[2]][:5] == ["序号", "预警类型", "年度", "姓名", "公民身份号码"]
    assert len(rows) == len(listed) == 2
    for row, w in zip(rows, listed, strict=True):
        assert row[1] == w["kind_label"] and row[2] == 2023 and row[3] == w["name"]
        assert row[4] == w["certno"] and "*" not in str(row[4])  # a caseworker sees IDs
        assert Decimal(str(row[9])) == w["after_insurance"]
        assert Decimal(str(row[10])) == w["after_assistance"]
        assert Decimal(str(row[11])) == Decimal(THRESHOLD)
        assert row[13] == "新预警" and row[14] == "NJ-M （十六）"
    assert world.client.get("/api/v1/warnings/export", headers=nanjing).status_code == 403


def test_yichun_measures_after_assistance(world: World) -> None:
    """YC-M: dibao_edge and jiance, burden after the three tiers. Income 40,000 → the
    threshold is 20,000. A jiance stay of 60,000 (6,000 outside the range, 20,000 basic
    insurance) has a base of 34,000; YC-A4 pays 65% above 10% × 40,000: 19,500, so
    20,500 is left (≥ 20,000: warned). Its burden after insurance is 40,000."""
    h = world.institution("H36090200001", "yichun", "360902")
    world.parameter("yichun", "income_per_capita_prev_year", 40000, 2023)
    for psn_no, category in (("YC-J", "jiance"), ("YC-F", "fanpin")):
        world.person(psn_no, "yichun", district="360902", identities=[
            {"category": category, "department": "乡村振兴", "from": "2023-01-15"}])
        r = world.client.post("/api/v1/settlements", headers=h, json=visit(
            psn_no=psn_no, medins_setl_id=f"S-{psn_no}", hifmi_pay=0, hifp_pay=20000))
        assert r.status_code == 201, r.text
    done = _run(world, jurisdiction="yichun")["jurisdictions"][0]
    assert (done["threshold"], done["measure"], done["rule"]) == (
        Decimal("20000.00"), "after_assistance", "YC-M")
    [w] = _warnings(world, jurisdiction="yichun")
    assert (w["psn_no"], w["kind"], w["category"]) == ("YC-J", "relapse", "jiance")
    assert (w["burden"], w["after_assistance"], w["after_insurance"]) == (
        Decimal("20500.00"), Decimal("20500.00"), Decimal("40000.00"))


def test_a_missing_income_is_named_not_guessed(world: World) -> None:
    """Yichun's file has no income for 2023: that jurisdiction reports it, the others run."""
    done = {j["jurisdiction"]: j for j in _run(world)["jurisdictions"]}
    assert "local parameter income_per_capita_prev_year is required (YC-M)" in \
        done["yichun"]["error"]
    assert done["yichun"]["threshold"] is None and done["nanjing"]["error"] is None
    assert done["nanjing"]["threshold"] == Decimal(THRESHOLD)


def test_the_demo_year_raises_both_lists(database_url: str) -> None:
    """The demo's year settled through the settlement use case: every jurisdiction with a
    monitoring article warns, Nanjing on both lists; settling and running again changes
    nothing."""
    from medaid.app.uow import UnitOfWork
    from medaid.demo import seed as demo
    from medaid.demo import year as demo_year
    from medaid.store import db

    engine = db.make_engine(database_url)
    db.ensure_schema(engine)
    sessions = db.sessions(engine)
    with UnitOfWork(sessions) as uow:
        demo.seed(uow, persons_per_jurisdiction=20, year=2024)
        first = demo_year.settle_year(uow, 2024)
        done = demo_year.demo(uow, 2024)
    assert first.settled > 0 and first.retries == 0 and first.persons_added == 20
    counts = {o.jurisdiction: o.counts for o in done.outcomes}
    assert counts["nanjing"]["poverty"] >= 3 and counts["nanjing"]["relapse"] >= 1
    assert counts["yichun"]["relapse"] >= 1 and counts["ningbo"]["poverty"] >= 3
    assert counts["jiangsu"] == {} and done.referred is not None
    with UnitOfWork(sessions) as uow:
        again = demo_year.settle_year(lambda: UnitOfWork(sessions), 2024)
        rerun = demo_year.demo(uow, 2024)
    assert (again.settled, again.retries) == (0, first.settled)
    assert all(o.raised == o.updated == 0 for o in rerun.outcomes)
    assert {o.jurisdiction: o.counts for o in rerun.outcomes} == counts
    engine.dispose()
