"""The indicators over the API on small hand-made ledgers and registries (NJ-K, CZ-K, YC-K,
NB-G): values by hand arithmetic, verdicts against the policy thresholds, scopes, export.

NJ-K and CZ-K (amended 2026-12-04) are policy-range shares: Σ (inscp_scp_amt − hifp_pay −
hifmi_pay − oth_pay − maf_pay) / Σ inscp_scp_amt; out-of-catalog costs are in neither."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from api_helpers import World, certno, visit
from openpyxl import load_workbook
from sqlalchemy import text

URL = "/api/v1/indicators"


def settle(w: World, h: dict[str, str], n: int, psn_no: str = "P-001", **amounts: Any
           ) -> dict[str, Any]:
    r = w.client.post("/api/v1/settlements", headers=h, json=visit(
        medins_setl_id=f"S-{n}", mdtrt_id=f"M-{n}", psn_no=psn_no, preselfpay_amt=0,
        hifmi_pay=0, **amounts))
    assert r.status_code == 201, r.text
    return dict(r.json())


def indicator(w: World, jurisdiction: str, ident: str, headers: dict[str, str] | None = None,
              year: int = 2023) -> dict[str, Any]:
    r = w.client.get(URL, headers=headers or w.admin,
                     params={"jurisdiction": jurisdiction, "year": year})
    assert r.status_code == 200, r.text
    return next(x for x in r.json()["indicators"] if x["id"] == ident)


def nanjing_ledger(w: World) -> tuple[dict[str, str], dict[str, str]]:
    a = w.institution("H32010200001")
    c = w.institution("H32010200003")
    away = w.institution("H32040200001", jurisdiction="changzhou", district="320402")
    w.person()
    # A: 10,000 total, all in the catalog, basic 7,000 → base 3,000, NJ-A2 90% = 2,700;
    # self-pay 300, all of it policy-range
    assert settle(w, a, 1, medfee_sumamt=10000, fulamt_ownpay_amt=0, hifp_pay=7000
                  )["psn_part_amt"] == 300
    # A: 20,000 total, 2,000 out of catalog → policy range 18,000; basic 12,000 → base
    # 6,000, 5,400; self-pay 2,600, of which policy-range 18,000 − 12,000 − 5,400 = 600
    assert settle(w, a, 2, medfee_sumamt=20000, fulamt_ownpay_amt=2000, hifp_pay=12000
                  )["psn_part_amt"] == 2600
    # C: 10,000, 5,000 out of catalog → policy range 5,000; basic 3,000 → base 2,000,
    # 1,800; self-pay 5,200, of which policy-range 5,000 − 3,000 − 1,800 = 200
    assert settle(w, c, 3, medfee_sumamt=10000, fulamt_ownpay_amt=5000, hifp_pay=3000
                  )["psn_part_amt"] == 5200
    # not counted: a general-outpatient visit at A, an inpatient stay outside Nanjing
    settle(w, a, 4, med_type="11", medfee_sumamt=500, fulamt_ownpay_amt=0, hifp_pay=100)
    settle(w, away, 5, medfee_sumamt=10000, fulamt_ownpay_amt=5000, hifp_pay=1000)
    return a, c


def test_nanjing_inpatient_policy_range_self_pay_share(world: World) -> None:
    nanjing_ledger(world)
    # D: an unreferred stay (NJ-R): no assistance; 10,000 all in the catalog, basic 7,000
    # → policy-range self-pay 3,000
    d = world.institution("H32010200004")
    assert settle(world, d, 6, medfee_sumamt=10000, fulamt_ownpay_amt=0, hifp_pay=7000,
                  referral="unreferred")["psn_part_amt"] == 3000
    k = indicator(world, "nanjing", "inpatient_self_pay_share")
    assert (k["rule"], k["max"], k["per"]) == ("NJ-K", "0.1", "institution")
    assert k["measure"] == "policy_range_self_pay_share"
    assert k["source"].endswith("（六）")
    rows = {r["subject"]: r for r in k["rows"]}
    # the Changzhou stay is not in-city
    assert set(rows) == {"H32010200001", "H32010200003", "H32010200004"}
    # A: (300 + 600) / (10,000 + 18,000) = 0.032142… → 0.0321 ≤ 0.10: passes
    # (Σ psn_part_amt / Σ medfee_sumamt would be 2,900 / 30,000 = 0.0967)
    a = rows["H32010200001"]
    assert (a["numerator"], a["denominator"], a["value"], a["passes"]) == (
        900.00, 28000.00, "0.0321", True)
    # C: 200 / 5,000 = 0.04: passes; its 5,000 out of catalog count on neither side
    # (Σ psn_part_amt / Σ medfee_sumamt would be 5,200 / 10,000 = 0.52 and fail)
    c = rows["H32010200003"]
    assert (c["numerator"], c["denominator"], c["value"], c["passes"]) == (
        200.00, 5000.00, "0.0400", True)
    # D: 3,000 / 10,000 = 0.30: fails, and so the indicator
    assert (rows["H32010200004"]["value"], rows["H32010200004"]["passes"]) == ("0.3000", False)
    assert k["passes"] is False
    # by district: (900 + 200 + 3,000) / (28,000 + 5,000 + 10,000) = 0.095348… → 0.0953;
    # by kind only inpatient
    assert k["stats"]["district"] == [{"key": "320102", "numerator": 4100.00,
                                       "denominator": 43000.00, "value": "0.0953"}]
    assert [s["key"] for s in k["stats"]["kind"]] == ["inpatient"]
    assert [s["key"] for s in k["stats"]["category"]] == ["dibao"]


def test_the_assistance_office_is_not_a_hospital_to_judge(world: World) -> None:
    # The office that settles applications' paper invoices (kind office, as
    # app.applications registers it) is left out of the hospitals' indicators.
    nanjing_ledger(world)
    with world.sessions() as s:
        s.execute(text("UPDATE institutions SET kind = 'office' WHERE code = 'H32010200003'"))
        s.commit()
    k = indicator(world, "nanjing", "inpatient_self_pay_share")
    assert [r["subject"] for r in k["rows"]] == ["H32010200001"]
    assert k["passes"] is True  # A alone: 0.0321 ≤ 0.10


def test_a_cancelled_stay_leaves_the_indicator(world: World) -> None:
    _, c = nanjing_ledger(world)
    year = world.year(world.admin)
    setl_id = next(s["setl_id"] for s in year["settlements"] if s["medins_setl_id"] == "S-3")
    assert world.client.post(f"/api/v1/settlements/{setl_id}/cancel", headers=c
                             ).status_code == 201
    k = indicator(world, "nanjing", "inpatient_self_pay_share")
    c_row = next(r for r in k["rows"] if r["subject"] == "H32010200003")
    assert (c_row["numerator"], c_row["denominator"], c_row["value"]) == (0.00, 0.00, None)
    assert c_row["passes"] is None and k["passes"] is True  # only A is left to judge


def test_changzhou_in_county_policy_range_self_pay_share(world: World) -> None:
    here = world.institution("H32040200001", jurisdiction="changzhou", district="320402")
    elsewhere = world.institution("H32041100001", jurisdiction="changzhou", district="320411")
    world.person("C-1", jurisdiction="changzhou", district="320402")
    # 10,000 total, 1,000 out of catalog → policy range 9,000; basic 6,000 → base 3,000,
    # CZ-A2 80% = 2,400; self-pay 1,600, of which policy-range 9,000 − 6,000 − 2,400 = 600
    assert settle(world, here, 1, "C-1", medfee_sumamt=10000, fulamt_ownpay_amt=1000,
                  hifp_pay=6000)["psn_part_amt"] == 1600
    # not counted: a stay in another district of Changzhou (not 县域内)
    settle(world, elsewhere, 2, "C-1", medfee_sumamt=10000, fulamt_ownpay_amt=0, hifp_pay=0)
    k = indicator(world, "changzhou", "inpatient_self_pay_share")
    assert (k["rule"], k["measure"], k["max"]) == ("CZ-K", "policy_range_self_pay_share", "0.1")
    assert k["source"].endswith("（七）")
    # 600 / 9,000 = 0.0667 ≤ 0.10: passes (1,600 / 10,000 = 0.16 would fail)
    assert [(r["subject"], r["numerator"], r["denominator"], r["value"], r["passes"])
            for r in k["rows"]] == [("H32040200001", 600.00, 9000.00, "0.0667", True)]
    assert k["passes"] is True


def test_yichun_visit_and_out_of_catalog_shares(world: World) -> None:
    here = world.institution("H36090200001", jurisdiction="yichun", district="360902")
    away = world.institution("H32010200001")
    world.person("Y-1", jurisdiction="yichun", district="360902", identities=[
        {"category": "tekun", "department": "民政", "from": "2023-01-01"}])
    settle(world, here, 1, "Y-1", medfee_sumamt=1000, fulamt_ownpay_amt=50, hifp_pay=500)
    settle(world, here, 2, "Y-1", medfee_sumamt=3000, fulamt_ownpay_amt=450, hifp_pay=1500)
    third = settle(world, here, 3, "Y-1", medfee_sumamt=500, fulamt_ownpay_amt=0, hifp_pay=200)
    settle(world, away, 4, "Y-1", medfee_sumamt=2000, fulamt_ownpay_amt=0, hifp_pay=1000)
    settle(world, away, 5, "Y-1", medfee_sumamt=2000, fulamt_ownpay_amt=0, hifp_pay=1000)
    assert world.client.post(f"/api/v1/settlements/{third['setl_id']}/cancel", headers=here
                             ).status_code == 201
    v = indicator(world, "yichun", "in_city_visit_share")
    # visits net of the cancellation: 2 in Yichun of 4 → 0.5 < 0.90: fails
    assert (v["rows"][0]["numerator"], v["rows"][0]["denominator"], v["rows"][0]["value"],
            v["passes"]) == (2, 4, "0.5000", False)
    o = indicator(world, "yichun", "out_of_catalog_share")
    rows = {r["subject"]: r for r in o["rows"]}
    # Yichun hospital: (50 + 450) / (1,000 + 3,000) = 0.125 > 0.10: fails
    # (the cancelled 500 nets out); the Nanjing hospital: 0 / 4,000 passes
    assert (rows["H36090200001"]["numerator"], rows["H36090200001"]["denominator"],
            rows["H36090200001"]["value"], rows["H36090200001"]["passes"]) == (
        500.00, 4000.00, "0.1250", False)
    assert (rows["H32010200001"]["value"], rows["H32010200001"]["passes"]) == ("0.0000", True)


def _receive(w: World, psn_no: str, event: str, moment: datetime) -> None:
    """Set when the registry received a person's recognition or exit (the trigger wrote
    now; the test needs a known day)."""
    engine = w.client.app.state.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(text(
            "UPDATE identity_receipts SET received_at = :at WHERE event = :event AND "
            "identity_id IN (SELECT i.id FROM identities i JOIN persons p "
            "ON p.id = i.person_id WHERE p.psn_no = :psn_no)"),
            {"at": moment, "event": event, "psn_no": psn_no})


def test_yichun_roster_push_latency(world: World) -> None:
    # recognised Friday 2023-03-03; received Tuesday 2023-03-14 (Beijing) → working days
    # Mon 6 … Fri 10 (5), Mon 13, Tue 14 = 7: within the limit
    world.person("Y-1", jurisdiction="yichun", district="360902", identities=[
        {"category": "tekun", "department": "民政", "from": "2023-03-03"}])
    _receive(world, "Y-1", "from", datetime(2023, 3, 14, 1, 0, tzinfo=UTC))
    # recognised 2023-03-03, received Wednesday 2023-03-15 at 00:30 Beijing (16:30 UTC on
    # the 14th): 8 working days, late
    world.person("Y-2", jurisdiction="yichun", district="360921", identities=[
        {"category": "dibao", "department": "民政", "from": "2023-03-03"}])
    _receive(world, "Y-2", "from", datetime(2023, 3, 14, 16, 30, tzinfo=UTC))
    k = indicator(world, "yichun", "roster_push_days")
    assert (k["rule"], k["max"], k["per"]) == ("YC-K", "7", "district")
    assert k["source"].endswith("第二十条")
    rows = {r["subject"]: r for r in k["rows"]}
    assert (rows["360902"]["max_days"], rows["360902"]["late"], rows["360902"]["passes"]) == (
        7, 0, True)
    assert (rows["360921"]["max_days"], rows["360921"]["late"], rows["360921"]["passes"]) == (
        8, 1, False)
    assert k["stats"]["category"] == [
        {"key": "dibao", "numerator": 0, "denominator": 1, "value": "0.0000"},
        {"key": "tekun", "numerator": 1, "denominator": 1, "value": "1.0000"}]


def test_the_registry_records_when_identities_arrive(world: World) -> None:
    world.person("Y-1", jurisdiction="yichun", district="360902", identities=[
        {"category": "tekun", "department": "民政", "from": "2023-03-03",
         "to": "2023-05-31"}])
    engine = world.client.app.state.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT event, effective FROM identity_receipts ORDER BY id")
                            ).all()
        assert [(e, str(d)) for e, d in rows] == [("from", "2023-03-03"), ("to", "2023-05-31")]
        conn.execute(text("UPDATE identities SET to_date = '2023-06-30'"))
        conn.execute(text("UPDATE identities SET category = 'dibao'"))  # not a date: no receipt
        rows = conn.execute(text("SELECT event, effective FROM identity_receipts ORDER BY id")
                            ).all()
    assert [(e, str(d)) for e, d in rows][2:] == [("to", "2023-06-30")]


def test_ningbo_subsidised_enrolment_rate(world: World) -> None:
    # tekun approved 2023-03-01: subsidised from April (NB-P); dibao_edge approved
    # 2023-12-05: from January 2024, so not on 2023's list; other_special: not eligible
    for psn_no, category, start in (("N-1", "tekun", "2023-03-01"),
                                    ("N-2", "dibao_edge", "2023-12-05"),
                                    ("N-3", "other_special", "2023-02-01")):
        world.person(psn_no, jurisdiction="ningbo", district="330203", identities=[
            {"category": category, "department": "民政", "from": start}])
    k = indicator(world, "ningbo", "subsidised_enrolment_rate")
    # 1 subsidised of 2 eligible = 0.5 < 1.00: fails
    assert (k["rule"], k["min"]) == ("NB-G", "1.0")
    assert [(r["subject"], r["numerator"], r["denominator"], r["value"], r["passes"])
            for r in k["rows"]] == [("330203", 1, 2, "0.5000", False)]


def test_scopes_and_export(world: World) -> None:
    a, _ = nanjing_ledger(world)
    mine = indicator(world, "nanjing", "inpatient_self_pay_share", headers=a)
    assert [r["subject"] for r in mine["rows"]] == ["H32010200001"]
    params = {"jurisdiction": "nanjing", "year": 2023}
    other = world.token("caseworker", district="320106")
    assert world.client.get(URL, headers=other, params=params | {"district": "320102"}
                            ).status_code == 403
    own = world.client.get(URL, headers=other, params=params).json()
    assert own["indicators"][0]["rows"] == []  # no person of 320106 was treated
    bad = world.client.get(URL, headers=world.admin, params={"jurisdiction": "x", "year": 2023})
    assert bad.status_code == 422 and bad.json()["error"]["path"] == "jurisdiction"
    bad = world.client.get(URL, headers=world.admin, params={"jurisdiction": "nanjing",
                                                             "year": 1800})
    assert bad.status_code == 422 and bad.json()["error"]["path"] == "year"
    xlsx = world.client.get(URL, headers=world.admin, params=params | {"format": "xlsx"})
    assert xlsx.status_code == 200
    wb = load_workbook(io.BytesIO(xlsx.content))
    sheet = wb["指标"]
    assert [c.value for c in sheet[2]][:3] == ["指标", "规则", "条款"]
    assert [c.value for c in sheet[3]][3:] == ["H32010200001", "医院 H32010200001", 900, 28000,
                                                0.0321, "≤ 0.1", "达标"]
    assert wb["分类统计"]["B2"].value in ("人员类别", "所属区县", "月份", "就诊类型")
    png = world.client.get(f"{URL}/inpatient_self_pay_share/chart", headers=world.admin,
                           params=params)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert world.client.get(f"{URL}/nothing/chart", headers=world.admin, params=params
                            ).status_code == 404


def test_policy_range_self_pay_counts_re_settlement_adjustments(world: World) -> None:
    """The roster moves P-001's dibao to April: re-settlement takes back the March stays'
    assistance (adjustments), and NJ-K counts it: self-pay is what the ledger says now."""
    nanjing_ledger(world)
    r = world.client.post("/api/v1/rosters", headers=world.admin, json={
        "jurisdiction": "nanjing", "district": "320102", "month": "2023-05",
        "mode": "incremental", "records": [
            {"name": "张三", "certno": certno("P-001"), "category": "低保",
             "start": "2023-04-01", "department": "民政"}]})
    assert r.status_code == 200, r.text
    rows = {r["subject"]: r for r in indicator(world, "nanjing",
                                               "inpatient_self_pay_share")["rows"]}
    # A: (3,000 + 6,000) / 28,000 = 0.3214…; C: 2,000 / 5,000 = 0.40 (no assistance left)
    a, c = rows["H32010200001"], rows["H32010200003"]
    assert (a["numerator"], a["denominator"], a["value"]) == (9000.00, 28000.00, "0.3214")
    assert (c["numerator"], c["denominator"], c["value"]) == (2000.00, 5000.00, "0.4000")
