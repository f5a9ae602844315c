"""Re-settlement: after each event that changes a person-year's facts, the ledger equals
what the rules give on today's facts, visit by visit and tier by tier; the differences
are adjustments traced to their cause, posted once, flowing to the institution's next
payment batch (or, for visits settled on paper, onto the refund/recovery list)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from api_helpers import World, certno, visit
from openpyxl import load_workbook
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import joinedload, sessionmaker
from test_api_applications import Desk, invoice
from typer.testing import CliRunner

from medaid.app import funds, resettle
from medaid.app.uow import UnitOfWork
from medaid.cli.main import app
from medaid.core import clock
from medaid.core.dates import BEIJING
from medaid.store import ledger_check
from medaid.store.application_models import ApplicationPayment
from medaid.store.models import Adjustment, LocalParameter, Person

SETTLE = "/api/v1/settlements"


def _engine(world: World) -> Engine:
    return world.client.app.state.engine  # type: ignore[attr-defined, no-any-return]


def invariant(world: World) -> None:
    """The ledger agrees with itself and, person-year by person-year, with the rules."""
    with ledger_check.snapshot(_engine(world)) as conn:
        report = ledger_check.verify(conn)
        assert report.ok, report.problems
        with UnitOfWork(sessionmaker(bind=conn)) as uow:
            _, differences = resettle.check(uow)
    assert differences == []


def adjustments(world: World) -> list[Adjustment]:
    with world.sessions() as s:
        return list(s.scalars(select(Adjustment).options(joinedload(Adjustment.settlement))
                              .order_by(Adjustment.id)))


def net(world: World, setl_id: str) -> dict[str, Decimal]:
    """A visit's amounts as the ledger now says: its entry plus its adjustments (yuan)."""
    entry = world.client.get(f"{SETTLE}/{setl_id}", headers=world.admin).json()
    out = {t: Decimal(str(entry[t])) for t in ("assistance", "tilted", "maf_pay")}
    for a in adjustments(world):
        if a.settlement.setl_id == setl_id:
            for t in out:
                out[t] += Decimal(getattr(a, t)) / 100
    return out


def _ningbo(world: World) -> tuple[dict[str, str], dict[str, Any]]:
    """Ningbo dibao outpatient visits: NB-A4 pays 70% of the base, up to 500 a year."""
    h = world.institution("H33020300001", "ningbo", "330203")
    world.person("NB-1", "ningbo", [{"category": "dibao", "from": "2023-01-01"}],
                 district="330203")
    outpatient = visit(psn_no="NB-1", med_type="11", start="2023-02-01", end="2023-02-01",
                       medfee_sumamt=1000, fulamt_ownpay_amt=0, preselfpay_amt=0,
                       hifp_pay=400, hifmi_pay=0)
    return h, outpatient


def test_cancelling_an_earlier_settlement_settles_the_later_again(world: World) -> None:
    h, outpatient = _ningbo(world)
    first = world.client.post(SETTLE, headers=h, json=outpatient).json()
    second = world.client.post(SETTLE, headers=h, json=outpatient | {
        "medins_setl_id": "S-2", "mdtrt_id": "M-2", "start": "2023-03-01",
        "end": "2023-03-01"}).json()
    assert (first["maf_pay"], second["maf_pay"]) == (420, 80)  # the cap of 500 reached
    r = world.client.post(f"{SETTLE}/{first['setl_id']}/cancel", headers=h)
    assert r.status_code == 201, r.text
    cancel_id = r.json()["setl_id"]
    # the second visit now has the whole cap: 420, an adjustment of +340 for it alone
    [adj] = adjustments(world)
    assert adj.settlement.setl_id == second["setl_id"]
    assert (adj.assistance, adj.maf_pay, adj.psn_part_amt) == (34000, 34000, -34000)
    assert (adj.cause, adj.cause_ref, adj.route) == ("cancel", f"settlement:{cancel_id}",
                                                     "batch")
    assert adj.reason.startswith("撤销结算") and first["setl_id"] in adj.reason
    assert net(world, second["setl_id"])["maf_pay"] == Decimal("420.00")
    year = world.year(h, "NB-1")
    assert [(a["setl_id"], a["maf_pay"]) for a in year["adjustments"]] == [
        (second["setl_id"], 340)]
    invariant(world)
    # the institution's next payment batch takes the difference: this month's assistance
    with UnitOfWork(world.sessions) as uow:
        month = funds.month_assistance(uow, date.fromisoformat(
            f"{datetime.now(BEIJING):%Y-%m}-01"))
    assert list(month.values()) == [42000 + 8000 - 42000 + 34000]
    # settling again finds nothing to change
    with UnitOfWork(world.sessions) as uow:
        plans = resettle.post_persons(uow, "test", {adj.person_id: resettle.Cause(
            "resettle", "test", "test")})
        uow.commit()
    assert all(p.clean for p in plans) and len(adjustments(world)) == 1


def test_cancelling_a_visit_adjusted_since_reverses_what_it_stands_at(world: World) -> None:
    """The second visit, settled at 80 and adjusted by +340 when the first was cancelled,
    stands at 420: that is what its settlement now says (`adjusted`), what cancelling it
    must confirm and what the cancellation takes back, with its pool additions; nothing
    is left to adjust, and the month's assistance nets to nothing."""
    h, outpatient = _ningbo(world)
    first = world.client.post(SETTLE, headers=h, json=outpatient).json()
    second = world.client.post(SETTLE, headers=h, json=outpatient | {
        "medins_setl_id": "S-2", "mdtrt_id": "M-2", "start": "2023-03-01",
        "end": "2023-03-01"}).json()
    assert world.client.post(f"{SETTLE}/{first['setl_id']}/cancel", headers=h
                             ).status_code == 201
    now = world.client.get(f"{SETTLE}/{second['setl_id']}", headers=h).json()
    assert (now["maf_pay"], now["adjusted"]["maf_pay"]) == (80, 420)
    retried = world.client.post(SETTLE, headers=h, json=outpatient | {  # a lost answer
        "medins_setl_id": "S-2", "mdtrt_id": "M-2", "start": "2023-03-01",
        "end": "2023-03-01"})
    assert retried.status_code == 200 and retried.json()["adjusted"]["maf_pay"] == 420
    assert now["adjusted"]["psn_part_amt"] == 1000 - 400 - 420
    (change,) = now["adjusted"]["adjustments"]
    assert (change["cause"], change["maf_pay"]) == ("cancel", 340)
    assert now["adjusted"]["trace"][-1]["amount"] == 420
    refused = world.client.post(f"{SETTLE}/{second['setl_id']}/cancel", headers=h,
                                json={"maf_pay": 80})
    assert refused.status_code == 409 and "现为 ¥420.00" in refused.text, refused.text
    r = world.client.post(f"{SETTLE}/{second['setl_id']}/cancel", headers=h,
                          json={"maf_pay": 420})
    assert r.status_code == 201, r.text
    assert (r.json()["maf_pay"], r.json()["assistance"]) == (-420, -420)
    assert "含其后补差340.00元" in r.json()["trace"][0]["text"]
    assert len(adjustments(world)) == 1  # the cancellation took the adjustment back too
    assert world.year(h, "NB-1")["pools"] == [] or all(
        p["used"] == 0 for p in world.year(h, "NB-1")["pools"])
    invariant(world)
    with UnitOfWork(world.sessions) as uow:
        month = funds.month_assistance(uow, date.fromisoformat(
            f"{datetime.now(BEIJING):%Y-%m}-01"))
    assert list(month.values()) == [42000 + 8000 - 42000 + 34000 - 42000]


def test_a_parameter_correction_settles_the_year_again(world: World) -> None:
    """Yichun dibao_edge: the deductible is 10% of last year's income per capita, published
    in spring; visits settled on a provisional figure are corrected when it is."""
    h = world.institution("H36090200001", "yichun", "360902")
    world.person("YC-1", "yichun", [{"category": "dibao_edge", "from": "2023-01-01"}],
                 district="360902")
    world.parameter("yichun", "income_per_capita_prev_year", 40000, 2023)
    body = visit(psn_no="YC-1", start="2023-03-01", end="2023-03-10")
    settled = world.client.post(SETTLE, headers=h, json=body).json()
    world.parameter("yichun", "income_per_capita_prev_year", 30000, 2023)
    # what the rules give today: the same visit of another such person, settled now
    world.person("YC-2", "yichun", [{"category": "dibao_edge", "from": "2023-01-01"}],
                 district="360902")
    today = world.client.post(SETTLE, headers=h, json=body | {
        "psn_no": "YC-2", "medins_setl_id": "S-2"}).json()
    [adj] = adjustments(world)
    assert adj.cause == "parameter"
    assert adj.cause_ref == "parameter:yichun.income_per_capita_prev_year/2023"
    assert ("本地参数「我市上一年度城乡居民人均可支配收入」（income_per_capita_prev_year）"
            "（2023年）设为 30000") in adj.reason, adj.reason
    assert adj.maf_pay > 0  # a lower deductible pays more
    assert net(world, settled["setl_id"])["maf_pay"] == Decimal(str(today["maf_pay"]))
    invariant(world)
    # the same value again changes nothing
    world.parameter("yichun", "income_per_capita_prev_year", 30000, 2023)
    assert len(adjustments(world)) == 1


def test_a_roster_change_settles_hospital_and_paper_visits_again(world: World) -> None:
    """Nanjing dibao recognised 2023-01-15 covers March; the roster corrects the date to
    April: the hospital's stay and the paper invoice of March lose their assistance, the
    first through the hospital's batch, the second from what the application, not paid
    out yet, owes the person (and, once paid out, on the refund/recovery list)."""
    h = world.institution()
    world.person()
    stay = world.client.post(SETTLE, headers=h, json=visit()).json()
    assert stay["maf_pay"] == 14400
    desk, app_no, paper = _paper_visit(world)
    assert paper["maf_pay"] > 0
    assert _roster(world, "低保", "2023-04-01")["counts"]["changed"] == 1
    found = {a.settlement.setl_id: a for a in adjustments(world)}
    assert found[stay["setl_id"]].maf_pay == -1440000
    assert found[stay["setl_id"]].route == "batch"
    assert found[paper["setl_id"]].maf_pay == -int(Decimal(str(paper["maf_pay"])) * 100)
    assert found[paper["setl_id"]].route == "person"
    for a in found.values():
        assert a.cause == "roster" and a.cause_ref.startswith("roster:nanjing/320102/2023-05")
        assert "第1行" in a.reason
    invariant(world)
    owed = desk.world.client.get(f"/api/v1/applications/{app_no}", headers=desk.clerk
                                 ).json()["payment"]
    assert (owed["amount"], owed["adjusted"], owed["due"]) == (
        paper["maf_pay"], -paper["maf_pay"], 0)
    out = CliRunner().invoke(app, ["ledger", "refunds", "--database", _url(world)])
    assert out.exit_code == 0 and "P-001" not in out.output, out.output
    _paid_out(world)  # what it owed, 0.00: the recovery was in it, not on the refund list
    out = CliRunner().invoke(app, ["ledger", "refunds", "--database", _url(world)])
    assert out.exit_code == 0 and "P-001" not in out.output, out.output


def _paper_visit(world: World) -> tuple[Desk, str, dict[str, Any]]:
    """P-001's invoice of March 2023 (a stay of 事后救助), approved: the desk, the
    application's number and its visit's settlement."""
    desk = Desk(world)
    app_no = desk.create(visits=[invoice("INV-1", start="2023-03-20", end="2023-03-25")])
    desk.ready(app_no)
    return desk, app_no, desk.approve(app_no)["visits"][0]["settlement"]


def _roster(world: World, category: str, start: str) -> dict[str, Any]:
    """A roster of May 2023 listing P-001 (张三) as `category` from `start`."""
    r = world.client.post("/api/v1/rosters", headers=world.admin, json={
        "jurisdiction": "nanjing", "district": "320102", "month": "2023-05",
        "mode": "incremental", "records": [
            {"name": "张三", "certno": certno("P-001"), "category": category,
             "start": start, "department": "民政"}]})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _paid_out(world: World) -> None:
    with world.sessions() as s:
        for p in s.scalars(select(ApplicationPayment)):
            p.paid_at = clock.now()
        s.commit()


def test_a_paper_visit_cancelled_after_an_adjustment_nets_to_nothing_everywhere(
        world: World) -> None:
    """An approved invoice (14,400.00), then a roster making the person 特困 (+1,600.00,
    the person's), then the office cancels it: the cancellation takes back the 14,400.00 the
    office's batch carried and the re-settlement the 1,600.00 the person was owed; the
    application owes nothing, the refund list holds nothing, the month nets to nothing."""
    world.institution()
    world.person()
    desk, app_no, paper = _paper_visit(world)
    _roster(world, "特困人员", "2023-01-15")
    (raised,) = adjustments(world)
    assert raised.route == "person" and raised.maf_pay > 0
    c = world.client.post(f"{SETTLE}/{paper['setl_id']}/cancel", headers=world.admin)
    assert c.status_code == 201, c.text
    assert c.json()["maf_pay"] == -paper["maf_pay"]
    assert sum(a.maf_pay for a in adjustments(world)) == 0  # the person's, reversed there
    invariant(world)
    owed = world.client.get(f"/api/v1/applications/{app_no}", headers=desk.clerk
                            ).json()["payment"]
    assert owed["due"] == 0, owed
    with UnitOfWork(world.sessions) as uow:
        assert resettle.refunds(uow) == []
        month = funds.month_assistance(uow, date.fromisoformat(
            f"{datetime.now(BEIJING):%Y-%m}-01"))
    assert sum(month.values()) == 0
    # the cancelled settlement says what it took back, not what it stood at
    got = world.client.get(f"{SETTLE}/{paper['setl_id']}", headers=world.admin).json()
    assert got["cancelled_by"] == c.json()["setl_id"] and "adjusted" not in got


def test_a_roster_says_which_years_it_changed_cannot_be_settled_again(world: World) -> None:
    """A stay of 2024 settled without an identity; a roster recognises the person as
    支出型困难家庭中的大重病患者, whose deductible is 10% of the previous year's income, not
    recorded for 2024: the import is applied, the stay stays as it was, and the report says
    which year could not be settled again and why, in words a caseworker can act on."""
    h = world.institution()
    world.person(identities=[])
    stay = visit(start="2024-03-01", end="2024-03-10")
    assert world.client.post(SETTLE, headers=h, json=stay).json()["maf_pay"] == 0
    r = world.client.post("/api/v1/rosters", headers=world.admin, json={
        "jurisdiction": "nanjing", "district": "320102", "month": "2024-05",
        "mode": "incremental", "records": [
            {"name": "张三", "certno": certno("P-001"), "category": "支出型困难家庭中的大重病患者",
             "start": "2024-01-01", "department": "民政"}]})
    assert r.status_code == 200 and r.json()["applied"], r.text
    (failed,) = r.json()["not_settled_again"]
    assert (failed["psn_no"], failed["year"]) == ("P-001", 2024)
    assert "本市上年居民人均可支配收入" in failed["error"]
    assert "medaid parameter set" in failed["error"]
    assert adjustments(world) == []


def test_a_tilted_application_pays_visits_settled_before_it(world: World) -> None:
    """Yichun dibao: a stay settled at the hospital gets YC-A3 only; the tilted application
    (YC-T) that follows pays its tilted assistance after the fact."""
    h = world.institution("H36090200001", "yichun", "360902")
    world.person("YC-1", "yichun", [{"category": "dibao", "from": "2023-01-01"}],
                 district="360902")
    big = visit(psn_no="YC-1", start="2023-03-01", end="2023-03-20", medfee_sumamt=200000,
                fulamt_ownpay_amt=0, preselfpay_amt=0, hifp_pay=80000, hifmi_pay=20000)
    settled = world.client.post(SETTLE, headers=h, json=big).json()
    assert (settled["assistance"], settled["tilted"]) == (50000, 0)
    desk = Desk(world, "360902")
    app_no = desk.create("YC-1", "tilted", [invoice(
        "T-1", location="city", start="2023-06-02", end="2023-06-05", medfee_sumamt=2000,
        fulamt_ownpay_amt=0, preselfpay_amt=0, hifp_pay=1000, hifmi_pay=0)],
        applied_on="2023-06-01")
    desk.ready(app_no, "tilted")
    desk.approve(app_no)
    [adj] = [a for a in adjustments(world) if a.settlement.setl_id == settled["setl_id"]]
    assert (adj.cause, adj.cause_ref, adj.route) == ("application", f"application:{app_no}",
                                                     "batch")
    assert adj.tilted == 1000000 and "YC-T" in adj.rules
    assert net(world, settled["setl_id"])["tilted"] == Decimal("10000.00")
    invariant(world)


def _url(world: World) -> str:
    return _engine(world).url.render_as_string(hide_password=False)


def test_resettle_dry_run_then_post_then_nothing(world: World, tmp_path: Path) -> None:
    """A parameter corrected behind the service's back (as a corrected policy file is):
    verify names the difference, the dry run writes who gains, the run posts it once."""
    h = world.institution("H36090200001", "yichun", "360902")
    world.person("YC-1", "yichun", [{"category": "dibao_edge", "from": "2023-01-01"}],
                 district="360902")
    world.parameter("yichun", "income_per_capita_prev_year", 40000, 2023)
    settled = world.client.post(SETTLE, headers=h, json=visit(psn_no="YC-1")).json()
    with world.sessions.begin() as s:
        s.execute(update(LocalParameter).values(value="30000"))
    world.client.app.state.cache.clear()  # type: ignore[attr-defined]
    runner, db = CliRunner(), ["--database", _url(world)]
    r = runner.invoke(app, ["ledger", "verify", *db])
    assert r.exit_code == 1
    assert f"differs from the rules: person YC-1 year 2023 visit M-1 ({settled['setl_id']})" \
        in r.output
    out = tmp_path / "补差.xlsx"
    args = ["ledger", "resettle", "--jurisdiction", "yichun", "--year", "2023", *db]
    r = runner.invoke(app, [*args, "--dry-run", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "would change 1" in r.output and adjustments(world) == []
    wb = load_workbook(out)
    assert wb.sheetnames == ["汇总", "明细", "无法重算"]
    summary = [[c.value for c in row] for row in wb["汇总"].iter_rows()]
    assert summary[0][:6] == ["人员编号", "姓名", "统筹区", "年度", "变动就诊数", "救助增减（元）"]
    assert summary[1][0] == "YC-1" and summary[1][6] == "增加" and summary[1][5] > 0
    assert summary[1][2] == "宜春市"
    detail = [[c.value for c in row] for row in wb["明细"].iter_rows()]
    assert {r[6] for r in detail[1:]} >= {"医疗救助", "医疗救助基金支出", "个人负担"}
    assert {r[11] for r in detail[1:]} == {"低保边缘家庭人口（三类）"}, detail
    r = runner.invoke(app, [*args, "--reason", "2022年人均可支配收入公布"])
    assert r.exit_code == 0 and "adjusted 1" in r.output, r.output
    [adj] = adjustments(world)
    assert (adj.cause, adj.reason) == ("resettle", "2022年人均可支配收入公布")
    assert adj.maf_pay == int(Decimal(str(summary[1][5])) * 100)
    assert runner.invoke(app, ["ledger", "verify", *db]).exit_code == 0
    r = runner.invoke(app, [*args])
    assert "adjusted 0" in r.output and len(adjustments(world)) == 1


def test_a_resettlement_waits_for_the_year_lock(world: World) -> None:
    """Re-settlement takes the person-year lock settlement takes: settled meanwhile, a
    visit is in the plan; the pools it leaves are the rules'."""
    h, outpatient = _ningbo(world)
    world.client.post(SETTLE, headers=h, json=outpatient)
    with world.sessions() as s:
        person_id = s.scalars(select(Person.id)).one()
    with UnitOfWork(world.sessions) as uow:
        plan = resettle.post_year(uow, "test", person_id, 2023, resettle.Cause(
            "resettle", "test", "test"))
        uow.commit()
    assert plan.clean and plan.pools == plan.stored


def test_a_settlement_waiting_for_an_identity_change_settles_on_the_new_identities(
        world: World) -> None:
    """PostgreSQL: a settlement whose statement read the person before an identity change
    committed, and waited for the year's lock that change's re-settlement held, reads the
    person again once it has the lock (the locked row's version is not its snapshot's)."""
    import threading
    import time

    if _engine(world).dialect.name != "postgresql":
        pytest.skip("SQLite: a write transaction holds the one write lock from its start")
    h = world.institution()
    world.person()  # dibao from 2023-01-15
    first = world.client.post(SETTLE, headers=h, json=visit()).json()
    assert first["maf_pay"] == 14400
    with world.sessions() as s:
        person_id = s.scalars(select(Person.id)).one()
    change = _engine(world).connect()
    tx = change.begin()
    # the change's re-settlement: the year locked, the identity moved to April
    change.execute(text("SELECT id FROM person_years WHERE person_id = :p FOR UPDATE"),
                   {"p": person_id})
    change.execute(text("UPDATE identities SET from_date = DATE '2023-04-01' "
                        "WHERE person_id = :p"), {"p": person_id})
    got: dict[str, Any] = {}

    def settle() -> None:
        got["r"] = world.client.post(SETTLE, headers=h, json=visit(
            medins_setl_id="S-2", mdtrt_id="M-2"))

    waiting = threading.Thread(target=settle)
    waiting.start()
    with _engine(world).connect() as probe:  # until the settlement waits for the lock
        for _ in range(200):
            if probe.execute(text("SELECT count(*) FROM pg_stat_activity WHERE "
                                  "wait_event_type = 'Lock'")).scalar_one():
                break
            time.sleep(0.02)
    change.execute(text("UPDATE person_years SET version = version + 1 "
                        "WHERE person_id = :p"), {"p": person_id})
    tx.commit()
    change.close()
    waiting.join(30)
    assert got["r"].status_code == 201, got["r"].text
    assert got["r"].json()["maf_pay"] == 0  # March: no identity in force any more


def test_medaid_parameter_set_records_and_settles_again(world: World) -> None:
    """`medaid parameter set`: the parameter as POST /api/v1/parameters records it, and the
    same re-settlement (cause parameter), on the batch path; the same value again posts
    nothing."""
    h = world.institution("H36090200001", "yichun", "360902")
    world.person("YC-1", "yichun", [{"category": "dibao_edge", "from": "2023-01-01"}],
                 district="360902")
    world.parameter("yichun", "income_per_capita_prev_year", 40000, 2023)
    settled = world.client.post(SETTLE, headers=h, json=visit(psn_no="YC-1")).json()
    args = ["parameter", "set", "--jurisdiction", "yichun", "--name",
            "income_per_capita_prev_year", "--year", "2023", "--value", "30000", "--source",
            "2022年统计公报", "--database", _url(world)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "adjusted 1" in r.output
    world.client.app.state.cache.clear()  # type: ignore[attr-defined]
    [adj] = adjustments(world)
    assert adj.settlement.setl_id == settled["setl_id"]
    assert (adj.cause, adj.cause_ref) == ("parameter",
                                          "parameter:yichun.income_per_capita_prev_year/2023")
    assert "30000" in adj.reason and "2022年统计公报" in adj.reason and adj.maf_pay > 0
    with world.sessions() as s:
        row = s.scalars(select(LocalParameter).where(
            LocalParameter.name == "income_per_capita_prev_year")).one()
    assert (row.value, row.source, row.year) == ("30000", "2022年统计公报", 2023)
    invariant(world)
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0 and "adjusted 0" in r.output, r.output
    assert len(adjustments(world)) == 1
    r = CliRunner().invoke(app, [*args[:-4], "--value", "-1", "--source", "x", *args[-2:]])
    assert r.exit_code == 2
