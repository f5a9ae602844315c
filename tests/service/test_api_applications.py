"""Applications for assistance (依申请/事后救助) over the API, on SQLite and PostgreSQL:
states and who may move them, settlement on approval into the shared ledger and pools,
to the fen of the engine."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

from api_helpers import World, pool
from openpyxl import Workbook
from sqlalchemy import text
from typer.testing import CliRunner

from medaid.app import applications, users
from medaid.app.auth import CLI
from medaid.app.uow import UnitOfWork
from medaid.cli.main import app as cli
from medaid.core import clock, labels, workdays
from medaid.demo import applications as demo_applications
from medaid.demo import seed as demo
from medaid.engine import case as contract
from medaid.store import ledger_check

API = "/api/v1/applications"
OWN, OTHER = "320102", "320106"
DOCS = {"post_hoc": ("id_card", "invoices", "insurance_statement"),
        "lookback": ("id_card", "recognition", "invoices", "insurance_statement"),
        "tilted": ("id_card", "tilted_request", "invoices", "insurance_statement")}


def invoice(mdtrt_id: str = "INV-1", **fields: Any) -> dict[str, Any]:
    """A paper invoice of an out-of-province stay: Nanjing's worked 60,000-yuan case."""
    return {"mdtrt_id": mdtrt_id, "med_type": "21", "start": "2023-03-01",
            "end": "2023-03-10", "medfee_sumamt": 60000, "fulamt_ownpay_amt": 5000,
            "overlmt_selfpay": 0, "preselfpay_amt": 1000, "hifp_pay": 35000,
            "hifmi_pay": 3000, "location": "out_of_province",
            "institution_name": "上海市第六人民医院"} | fields


class Desk:
    """Two caseworkers of a district: one enters applications, the other decides."""

    def __init__(self, world: World, district: str = OWN) -> None:
        self.world = world
        self.clerk = world.token("caseworker", district=district)
        self.reviewer = world.token("caseworker", district=district)

    def post(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.world.client.post(f"{API}{path}", headers=headers or self.clerk, **kw)

    def create(self, psn_no: str = "P-001", kind: str = "post_hoc",
               visits: list[dict[str, Any]] | None = None, **extra: Any) -> str:
        r = self.post("", json={"psn_no": psn_no, "kind": kind,
                                "visits": visits if visits is not None else [invoice()]}
                      | extra)
        assert r.status_code == 201, r.text
        assert r.json()["state"] == "draft"
        return str(r.json()["app_no"])

    def ready(self, app_no: str, kind: str = "post_hoc") -> dict[str, Any]:
        """Submitted, every document received: under review."""
        assert self.post(f"/{app_no}/submit").status_code == 200
        r = self.post(f"/{app_no}/checklist", json={"items": dict.fromkeys(DOCS[kind], True)})
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "under_review"
        return dict(r.json())

    def approve(self, app_no: str) -> dict[str, Any]:
        r = self.post(f"/{app_no}/approve", self.reviewer)
        assert r.status_code == 200, r.text
        return dict(r.json())


def expected(jurisdiction: str, person: dict[str, Any], visits: list[dict[str, Any]],
             local: dict[str, Any] | None = None) -> list[Decimal]:
    """maf_pay of each visit as `medaid settle` gives it for these visits, in date order,
    on the person's empty pools."""
    ordered = sorted(visits, key=lambda v: (v["end"], v["start"]))
    case = {"jurisdiction": jurisdiction, "local": local or {},
            "person": {"id": "P", "identities": [  # the case has no department
                {k: v for k, v in i.items() if k != "department"} for i in person["identities"]],
                       "tilted_application": person.get("tilted_application")},
            "visits": [{k: v for k, v in visit.items()
                        if k not in ("mdtrt_id", "med_type", "institution_name")}
                       | {"id": visit["mdtrt_id"], "kind": "inpatient"} for visit in ordered]}
    result = contract.settle_case(contract.parse_case(contract.parse_json(
        contract.dumps(case))))
    return [contract.settlement_json(s)["maf_pay"] for s in result.settlements]


def ledger_clean(world: World) -> None:
    engine = world.client.app.state.engine  # type: ignore[attr-defined]
    with ledger_check.snapshot(engine) as conn:
        report = ledger_check.verify(conn)
    assert report.ok, report.problems


# -- settlement on approval --------------------------------------------------------------------
def test_an_approved_application_pays_what_the_engine_says(world: World) -> None:
    person = world.person()  # dibao, from 2023-01-15: in force from 2023-01-01 (NJ-W)
    desk = Desk(world)
    visits = [invoice("INV-2", start="2023-05-01", end="2023-05-08", medfee_sumamt=30000,
                      fulamt_ownpay_amt=0, preselfpay_amt=0, hifp_pay=20000, hifmi_pay=0),
              invoice("INV-1")]  # entered out of date order: settled in date order
    app_no = desk.create(visits=visits)
    desk.ready(app_no)
    done = desk.approve(app_no)
    assert done["state"] == "approved"
    # NJ-A2 90% of each base; out of province, so no NJ-T:
    # INV-1 60000 − 5000 − 1000 − 35000 − 3000 = 16000 → 14400;
    # INV-2 30000 − 20000 = 10000 → 9000; owed to the person 23400.
    paid = {v["mdtrt_id"]: v["settlement"]["maf_pay"] for v in done["visits"]}
    assert paid == {"INV-1": Decimal("14400.00"), "INV-2": Decimal("9000.00")}
    assert [paid["INV-1"], paid["INV-2"]] == expected("nanjing", person, visits)
    assert done["payment"]["amount"] == Decimal("23400.00")
    entry = done["visits"][1]["settlement"]
    assert entry["fixmedins_code"] == applications.office_code(OWN)
    with world.sessions() as s:  # registered as the office, not as a hospital
        assert s.execute(text("SELECT kind FROM institutions WHERE code = :c"), {
            "c": applications.office_code(OWN)}).scalar_one() == "office"
    assert entry["medins_setl_id"] == f"{app_no}-2"
    assert [t["rule"] for t in entry["trace"] if t["amount"]] == ["NJ-A2"]
    # the same ledger and pools as one-stop settlement: the person's year shows both
    year = world.year(world.admin)
    assert sorted(s["maf_pay"] for s in year["settlements"]) == [Decimal("9000.00"),
                                                                Decimal("14400.00")]
    assert pool(year, "tilted")["used"] == 0  # out of province: NJ-T counts nothing
    ledger_clean(world)


def test_a_visit_at_a_registered_institution_is_settled_as_its_own(world: World) -> None:
    hospital = world.institution("H32010200001")
    world.person()
    desk = Desk(world)
    app_no = desk.create(visits=[invoice(fixmedins_code="H32010200001", location="city")])
    desk.ready(app_no)
    entry = desk.approve(app_no)["visits"][0]["settlement"]
    assert entry["fixmedins_code"] == "H32010200001"
    # in the city NJ-T applies: base 16000 − 14400 = 1600 counts toward its 20000 deductible
    assert entry["maf_pay"] == Decimal("14400.00")
    r = world.client.get(f"/api/v1/settlements/{entry['setl_id']}", headers=hospital)
    assert r.status_code == 200  # the hospital reads its own visit's entry


def test_caps_are_shared_with_one_stop_settlement(world: World) -> None:
    """NJ-A3's outpatient cap pool of 10,000: a one-stop settlement used 9,000 of it."""
    hospital = world.institution()
    world.person()
    r = world.client.post("/api/v1/settlements", headers=hospital, json={
        "medins_setl_id": "S-1", "mdtrt_id": "M-1", "psn_no": "P-001", "med_type": "11",
        "start": "2023-02-01", "end": "2023-02-01", "medfee_sumamt": 12000,
        "fulamt_ownpay_amt": 0, "overlmt_selfpay": 0, "hifp_pay": 800, "hifmi_pay": 0})
    assert r.status_code == 201, r.text
    # base 11200: 2000 × 85% + 9200 × 80% = 1700 + 7360 = 9060
    assert r.json()["maf_pay"] == Decimal("9060.00")
    desk = Desk(world)
    app_no = desk.create(visits=[invoice(med_type="11", start="2023-04-01", end="2023-04-01",
                                         medfee_sumamt=3000, fulamt_ownpay_amt=0,
                                         preselfpay_amt=0, hifp_pay=0, hifmi_pay=0)])
    desk.ready(app_no)
    # base 3000 at 80% = 2400, but only 10000 − 9060 = 940 is left of the cap
    assert desk.approve(app_no)["visits"][0]["settlement"]["maf_pay"] == Decimal("940.00")
    assert pool(world.year(world.admin), "outpatient_cap")["used"] == Decimal("10000.00")
    ledger_clean(world)


def test_a_lookback_visit_is_covered_inside_the_window_only(world: World) -> None:
    """NJ-W: linshi_illness also covers the 6 months before recognition (2023-10-10):
    2023-04-10 to 2023-10-09. NJ-A5: deductible 10% × 70000 = 7000, then 70%."""
    world.parameter("nanjing", "income_per_capita_prev_year", 70000, 2023)
    person = world.person(identities=[{"category": "linshi_illness", "from": "2023-10-10"}])
    desk = Desk(world)
    inside = invoice("IN", start="2023-05-01", end="2023-05-10")
    outside = invoice("OUT", start="2023-03-01", end="2023-03-10")
    app_no = desk.create(kind="lookback", visits=[inside, outside])
    desk.ready(app_no, "lookback")
    done = desk.approve(app_no)
    by_id = {v["mdtrt_id"]: v for v in done["visits"]}
    # (16000 − 7000) × 70% = 6300
    assert by_id["IN"]["settlement"]["maf_pay"] == Decimal("6300.00")
    assert expected("nanjing", person, [inside], {"income_per_capita_prev_year": 70000}) \
        == [Decimal("6300.00")]
    window = [t for t in by_id["IN"]["settlement"]["trace"] if t["rule"] == "NJ-W"]
    assert "look-back" in window[0]["detail"]
    assert by_id["OUT"]["settlement"] is None
    assert "无有效救助身份" in by_id["OUT"]["not_covered"]
    assert done["payment"]["amount"] == Decimal("6300.00")
    assert len(world.year(world.admin)["settlements"]) == 1
    ledger_clean(world)


def test_nb_a3_pays_60_percent_in_the_12_months_before_the_application(world: World) -> None:
    """NB-A3: yinbing recognised 2023-06-01 on an application of 2023-05-01: a stay in
    [2022-05-01, 2023-04-30] at 60%, one from recognition at 70%, one before neither."""
    world.person("NB-1", "ningbo", district="330203", identities=[
        {"category": "yinbing", "from": "2023-06-01", "application": "2023-05-01"}])
    desk = Desk(world, "330203")
    visits = [invoice("LB", start="2023-03-01", end="2023-03-10"),
              invoice("IF", start="2023-07-01", end="2023-07-10"),
              invoice("NO", start="2022-03-01", end="2022-03-10")]
    app_no = desk.create("NB-1", "lookback", visits)
    desk.ready(app_no, "lookback")
    paid = {v["mdtrt_id"]: v["settlement"] and v["settlement"]["maf_pay"]
            for v in desk.approve(app_no)["visits"]}
    # base 16000 each: 60% = 9600, 70% = 11200 (cap 80000 far off)
    assert paid == {"LB": Decimal("9600.00"), "IF": Decimal("11200.00"), "NO": None}
    ledger_clean(world)


def test_a_tilted_application_pays_yc_t(world: World) -> None:
    """Yichun dibao (YC-A3: 75%, cap 50000). A stay with a base of 100000 pays 50000 of
    assistance; S* = 50000 / 75% ≈ 66666.67, so ≈ 33333.33 is beyond the cap; YC-T: above
    its 10000 deductible at 60% ≈ 14000, capped at 10000. Total 60000."""
    identities = [{"category": "dibao", "from": "2023-01-01"}]
    world.person("YC-1", "yichun", district="360902", identities=identities)
    desk = Desk(world, "360902")
    stay = invoice("T-1", location="city", medfee_sumamt=200000, fulamt_ownpay_amt=0,
                   preselfpay_amt=0, hifp_pay=80000, hifmi_pay=20000)
    app_no = desk.create("YC-1", "tilted", [stay], applied_on="2023-06-01")
    desk.ready(app_no, "tilted")
    entry = desk.approve(app_no)["visits"][0]["settlement"]
    assert (entry["assistance"], entry["tilted"], entry["maf_pay"]) == (
        Decimal("50000.00"), Decimal("10000.00"), Decimal("60000.00"))
    assert "YC-T" in entry["rules"]
    assert expected("yichun", {"identities": identities, "tilted_application": "2023-06-01"},
                    [stay]) == [Decimal("60000.00")]
    # without the application the same stay gets no tilted assistance
    assert expected("yichun", {"identities": identities}, [stay]) == [Decimal("50000.00")]
    ledger_clean(world)


def test_tilted_applications_only_where_the_policy_has_them(world: World) -> None:
    world.person()
    r = Desk(world).post("", json={"psn_no": "P-001", "kind": "tilted", "visits": []})
    assert r.status_code == 422
    assert r.json()["error"]["path"] == "$.kind"


# -- who may, and when ---------------------------------------------------------------------
def test_nobody_decides_their_own_application(world: World) -> None:
    world.person()
    desk = Desk(world)
    app_no = desk.create()
    desk.ready(app_no)
    for action, body in (("approve", None), ("reject", {"reason": "x"})):
        r = desk.post(f"/{app_no}/{action}", json=body)
        assert r.status_code == 403, r.text
        assert "may not" in r.json()["error"]["message"]
    # submitted by someone else than its creator: neither of them decides
    other = desk.create(visits=[invoice("INV-9")])
    assert desk.post(f"/{other}/submit", desk.reviewer).status_code == 200
    assert desk.post(f"/{other}/checklist", desk.reviewer, json={
        "items": dict.fromkeys(DOCS["post_hoc"], True)}).status_code == 200
    assert desk.post(f"/{other}/approve", desk.reviewer).status_code == 403
    assert desk.post(f"/{other}/approve", world.admin).status_code == 200


def test_forbidden_transitions_are_409(world: World) -> None:
    world.person()
    desk = Desk(world)
    app_no = desk.create()
    assert desk.post(f"/{app_no}/approve", desk.reviewer).status_code == 409  # a draft
    assert desk.post(f"/{app_no}/submit").status_code == 200
    assert desk.post(f"/{app_no}/submit").status_code == 409  # twice
    assert desk.post(f"/{app_no}/visits", json={"visits": [invoice("X")]}).status_code == 409
    assert desk.post(f"/{app_no}/reject", desk.reviewer,
                     json={"reason": "x"}).status_code == 409  # not yet reviewed
    r = desk.post(f"/{app_no}/checklist", json={"items": {"id_card": True}})
    assert r.status_code == 200
    r = desk.post(f"/{app_no}/approve", desk.reviewer)  # documents missing
    assert r.status_code == 409
    assert "invoices, insurance_statement" in r.json()["error"]["message"]
    assert r.json()["error"]["message"].startswith(
        f"申请 {app_no} 尚缺材料：医疗费用发票、")
    assert desk.post(f"/{app_no}/withdraw", json={"reason": "家属撤回"}).status_code == 200
    for action in ("approve", "withdraw", "submit"):
        assert desk.post(f"/{app_no}/{action}", desk.reviewer).status_code == 409
    empty = desk.create(visits=[])
    r = desk.post(f"/{empty}/submit")
    assert r.status_code == 409 and "no visits" in r.json()["error"]["message"]


def test_rejection_needs_a_reason(world: World) -> None:
    world.person()
    desk = Desk(world)
    app_no = desk.create()
    desk.ready(app_no)
    r = desk.post(f"/{app_no}/reject", desk.reviewer, json={})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.reason"
    r = desk.post(f"/{app_no}/reject", desk.reviewer, json={"reason": "发票不符"})
    assert r.status_code == 200
    assert (r.json()["state"], r.json()["reason"]) == ("rejected", "发票不符")
    assert desk.post(f"/{app_no}/approve", world.admin).status_code == 409
    assert world.year(world.admin)["settlements"] == []


def test_approving_twice_settles_once(world: World) -> None:
    world.person()
    desk = Desk(world)
    app_no = desk.create()
    desk.ready(app_no)
    first = desk.approve(app_no)
    again = desk.approve(app_no)
    assert again["visits"] == first["visits"]
    assert again["payment"]["amount"] == Decimal("14400.00")
    assert len(world.year(world.admin)["settlements"]) == 1
    ledger_clean(world)


def test_scope_other_district_and_hospital_are_refused(world: World) -> None:
    hospital = world.institution()
    world.person()
    desk = Desk(world)
    app_no = desk.create()
    stranger = world.token("caseworker", district=OTHER)
    # a person of another district is as unknown to the caseworker as no person at all
    assert desk.post("", stranger, json={"psn_no": "P-001", "kind": "post_hoc"}
                     ).status_code == 404
    desk.ready(app_no)
    for headers in (stranger, hospital):
        assert world.client.get(f"{API}/{app_no}", headers=headers).status_code == 403
        assert desk.post(f"/{app_no}/approve", headers).status_code == 403
        assert desk.post(f"/{app_no}/withdraw", headers).status_code == 403
    assert world.client.get(API, headers=hospital).status_code == 403
    assert world.client.get(API, headers=stranger, params={"district": OWN}).status_code == 403
    assert world.client.get(API, headers=stranger).json()["applications"] == []
    assert desk.post("", hospital, json={"psn_no": "P-001", "kind": "post_hoc"}
                     ).status_code == 403
    for reader in (world.token("auditor"), world.token("finance")):
        assert world.client.get(f"{API}/{app_no}", headers=reader).status_code == 200
        assert desk.post(f"/{app_no}/approve", reader).status_code == 403


def test_bad_input_names_the_field(world: World) -> None:
    world.person()
    desk = Desk(world)
    cases = [
        ({"psn_no": "P-001", "kind": "post_hoc",
          "visits": [invoice(), invoice("INV-2", medfee_sumamt=-5)]}, "$.visits[1].medfee_sumamt"),
        ({"psn_no": "P-001", "kind": "whatever"}, "$.kind"),
        ({"psn_no": "P-001", "kind": "post_hoc", "visits": [invoice(end="2023-02-30")]},
         "$.visits[0].end"),
        ({"psn_no": "P-001", "kind": "post_hoc", "visits": [invoice(), invoice()]},
         "$.visits[1].mdtrt_id"),
        ({"psn_no": "P-001", "kind": "post_hoc", "visits": [invoice(end="2019-01-01",
                                                                    start="2019-01-01")]},
         "$.visits[0].end"),  # before Nanjing's policy is in force
        ({"psn_no": "P-001", "kind": "post_hoc", "applied_on": "2999-01-01"}, "$.applied_on"),
    ]
    for body, path in cases:
        r = desk.post("", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["path"] == path, r.text
    # the date's messages name it by its label: the path is the contract's, the words Chinese
    assert r.json()["error"]["message"].startswith("申请日期须在 1900-01-01 至 2100-12-31 之间")
    r = desk.post("", json={"psn_no": "P-001", "kind": "post_hoc", "applied_on": "2099-01-01"})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.applied_on"
    assert r.json()["error"]["message"].startswith("申请日期 2099-01-01 不能晚于今天（")
    r = desk.post("", json={"psn_no": "NOBODY", "kind": "post_hoc"})
    assert r.status_code == 404
    app_no = desk.create()
    r = desk.post(f"/{app_no}/checklist", json={"items": {"passport": True}})
    assert r.json()["error"]["message"].startswith("不是此类申请的材料（应为 身份证或户口簿、")
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.items.passport"
    r = desk.post(f"/{app_no}/checklist", json={"items": {"id_card": "yes"}})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.items.id_card"
    assert world.client.get(f"{API}/SQ-NONE", headers=desk.clerk).status_code == 404
    r = world.client.get(API, headers=desk.clerk, params={"state": "lost"})
    assert r.status_code == 422


# -- invoices from a file ---------------------------------------------------------------------
HEADER = ["发票号", "医疗类别", "入院日期", "出院日期", "医疗费总额", "全自费金额", "超限价自费",
          "先行自付金额", "统筹基金支付", "大病保险支付", "就医地", "医疗机构名称"]


def test_invoices_imported_from_csv_and_xlsx(world: World) -> None:
    world.person()
    desk = Desk(world)
    app_no = desk.create(visits=[])
    csv = "\n".join([",".join(HEADER),
                     "F-1,21,2023-03-01,2023-03-10,60000,5000,0,1000,35000,3000,省外,上海某医院",
                     ",,,,,,,,,,,"]).encode("gbk")
    r = desk.post(f"/{app_no}/visits", files={"file": ("发票.csv", csv, "text/csv")})
    assert r.status_code == 200, r.text
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    ws.append(["F-2", "21", date(2023, 5, 1), date(2023, 5, 8), 30000, 0, 0, 0, 20000, 0,
               "省外", "杭州某医院"])
    data = io.BytesIO()
    wb.save(data)
    r = desk.post(f"/{app_no}/visits", files={"file": ("invoices.xlsx", data.getvalue())})
    assert r.status_code == 200, r.text
    visits = r.json()["visits"]
    assert [(v["mdtrt_id"], v["location"], v["medfee_sumamt"]) for v in visits] == [
        ("F-1", "out_of_province", Decimal("60000.00")),
        ("F-2", "out_of_province", Decimal("30000.00"))]
    bad = "\n".join([",".join(HEADER),
                     "F-3,21,2023-06-01,2023-06-02,100,0,0,0,200,0,省外,x"]).encode()
    r = desk.post(f"/{app_no}/visits", files={"file": ("bad.csv", bad, "text/csv")})
    assert r.status_code == 422
    assert r.json()["error"]["path"] == "bad.csv row 2.hifp_pay"
    desk.ready(app_no)
    assert desk.approve(app_no)["payment"]["amount"] == Decimal("23400.00")  # as above


# -- deadlines, audit, CLI ---------------------------------------------------------------------
def test_review_deadline_and_overdue(world: World) -> None:
    world.person()
    desk = Desk(world)
    with UnitOfWork(world.sessions) as uow:
        applications.set_review_days(uow, CLI, "nanjing", 5, "test", clock.today().year)
    late, fresh = desk.create(), desk.create(visits=[invoice("INV-7")])
    for app_no in (late, fresh):
        r = desk.post(f"/{app_no}/submit")
        assert r.json()["review_due"] == str(workdays.add_workdays(clock.today(), 5))
    with UnitOfWork(world.sessions) as uow:
        uow.session.execute(text("UPDATE applications SET review_due = :d WHERE app_no = :n"),
                            {"d": date(2020, 1, 2), "n": late})
        uow.commit()
    r = world.client.get(API, headers=desk.clerk, params={"overdue": "true"})
    assert [a["app_no"] for a in r.json()["applications"]] == [late]
    assert r.json()["applications"][0]["overdue"] is True
    r = world.client.get(API, headers=world.admin, params={"state": "submitted",
                                                           "district": OWN})
    assert {a["app_no"] for a in r.json()["applications"]} == {late, fresh}


def test_every_step_is_audited(world: World) -> None:
    world.person()
    desk = Desk(world)
    app_no = desk.create()
    desk.ready(app_no)
    entry = desk.approve(app_no)["visits"][0]["settlement"]
    world.client.get(f"{API}/{app_no}", headers=desk.clerk)
    log = world.client.get("/api/v1/audit", headers=world.token("auditor"),
                           params={"limit": 1000}).json()["entries"]
    mine = [e["action"] for e in log if e["object"] == f"application:{app_no}"]
    assert mine == ["application.create", "application.submit", "application.checklist",
                    "application.approve", "application.read"]
    assert any(e["action"] == "settle" and e["object"] == f"settlement:{entry['setl_id']}"
               for e in log)


def test_cli_lists_shows_and_decides(world: World, database_url: str) -> None:
    world.person()
    desk = Desk(world)
    approved, rejected = desk.create(), desk.create(visits=[invoice("INV-5")])
    for app_no in (approved, rejected):
        desk.ready(app_no)
    with UnitOfWork(world.sessions) as uow:
        users.create(uow, CLI, "chief", "a-long-password", "admin")
    run = CliRunner()
    db = ["--database", database_url]
    r = run.invoke(cli, ["application", "approve", approved, "--by", "chief", *db])
    assert r.exit_code == 0, r.output
    assert "14400.00" in r.output
    r = run.invoke(cli, ["application", "reject", rejected, "--by", "chief", *db])
    assert r.exit_code == 2  # --reason is required
    r = run.invoke(cli, ["application", "reject", rejected, "--by", "chief",
                         "--reason", "重复申请", *db])
    assert r.exit_code == 0, r.output
    r = run.invoke(cli, ["application", "approve", rejected, "--by", "nobody", *db])
    assert r.exit_code == 2 and "no active user" in r.output
    r = run.invoke(cli, ["application", "list", "--state", "approved", *db])
    assert r.exit_code == 0 and approved in r.output and rejected not in r.output
    r = run.invoke(cli, ["application", "show", approved, "--json", *db])
    assert r.exit_code == 0 and '"maf_pay": 14400.00' in r.output
    r = run.invoke(cli, ["ledger", "verify", *db])
    assert r.exit_code == 0 and r.output.startswith("ok: 1 settlements"), r.output


def test_demo_applications_on_the_demo_data(world: World) -> None:
    with UnitOfWork(world.sessions) as uow:
        seeded = demo.seed(uow, 60)
    with UnitOfWork(world.sessions) as uow:
        made = demo_applications.demo(uow, seeded.year)
    assert sorted(made.applications.values()) == ["approved", "rejected", "under_review"]
    # a dibao/tekun/dibao_edge stay out of province: 90% or 100% of its base 48000 − 3000
    # − 800 − 26000 − 2000 = 16200 (NJ-A1/NJ-A2), never NJ-T (out of province)
    assert made.paid in (1458000, 1620000)
    with UnitOfWork(world.sessions) as uow:
        assert demo_applications.demo(uow, seeded.year) == made  # run again: nothing added
    ledger_clean(world)


def test_the_history_names_who_acted_by_role_and_district(world: World) -> None:
    """A caseworker's token that belongs to no user is read as 区经办（district）接口令牌 N, not
    as the audit log's subject token:N."""
    world.person()
    desk = Desk(world)
    app_no = desk.create()
    desk.ready(app_no)
    with UnitOfWork(world.sessions) as uow:
        steps = applications.history(uow, app_no)
    assert steps and all(not h["who"].startswith("token:") for h in steps), steps
    role = labels.label(labels.ROLES, "caseworker")
    assert steps[0]["who"].startswith(f"{role}（{OWN}）接口令牌"), steps
