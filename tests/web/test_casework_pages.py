"""The casework pages over HTTP (TestClient) on SQLite and PostgreSQL: 预警, 慈善, 资金, 指标.

The data is made here through the use cases, on top of the demo world (demo_world.py):
three persons of 玄武区 (320102) and one of 鼓楼区 (320106) with no identity, each with one
stay of 100,000 at the demo's first hospital: 100,000 − 40,000 basic insurance − 10,000
critical-illness insurance = 50,000 paid by the person, and no assistance (no identity).
Nanjing's threshold (NJ-M, （十六）) is 50% × the demo's income parameter 72,000 = 36,000, so
each of them is on the 因病致贫 list with a burden of ¥50,000.00, level 1 (50,000 // 36,000).
The fund year is then filled by `demo_funds.demo` as if on 1 April of the next year: budgets,
pre-allocations, the month's batches approved and paid, the clearing.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from demo_world import DISTRICT, HOSPITAL, YEAR, api_body, visit
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from web_helpers import Site, csrf_of, sign_in

from medaid.app import auth, charity, funds, indicators, records, settlements, users, wire
from medaid.app import early_warning as ew
from medaid.app.uow import UnitOfWork
from medaid.demo import funds as demo_funds
from medaid.registry import idcard
from medaid.store.warning_models import EarlyWarning

OTHER = "320106"  # 鼓楼区
# psn_no → district: who gets a heavy stay (see the module's docstring)
HEAVY = {"WEB-W-1": DISTRICT, "WEB-W-2": DISTRICT, "WEB-W-3": DISTRICT, "WEB-W-9": OTHER}
PROGRAMME = "测试大病补充救助项目"


@dataclass(frozen=True)
class World:
    warnings: dict[str, int]  # psn_no → warning id
    programme_id: int


@pytest.fixture(scope="module")
def world(site: Site) -> World:
    with UnitOfWork(site.app.state.sessions) as uow:
        for n, (psn_no, district) in enumerate(HEAVY.items()):
            records.create_person(uow, auth.CLI, {
                "psn_no": psn_no, "certno": idcard.make(district, date(1966, 2, 3 + n), 910 + n),
                "name": f"预警{'甲乙丙丁'[n]}", "jurisdiction": "nanjing", "district": district,
                "identities": []})
            req = wire.parse_visit_request(api_body(visit(
                psn_no=psn_no, medins_setl_id=f"WEB-W-S{n}", mdtrt_id=f"WEB-W-M{n}",
                medfee_sumamt="100000", fulamt_ownpay_amt="5000", preselfpay_amt="1000",
                hifp_pay="40000", hifmi_pay="10000")), settling=True)
            settlements.settle(uow, auth.CLI, req)
        ew.run(uow, auth.CLI, YEAR, "nanjing")
        found = {w.person.psn_no: w.id for w in uow.session.scalars(select(EarlyWarning))}
        p = charity.create_programme(uow, auth.CLI, {
            "name": PROGRAMME, "organisation": "市慈善总会", "jurisdictions": ["nanjing"],
            "categories": ["none"], "min_burden": Decimal(10000),
            "active_from": f"{YEAR}-01-01"})
        demo_funds.demo(uow, YEAR, on=date(YEAR + 1, 4, 1))
        users.create(uow, auth.CLI, "gulou-cw", "a long password 2", "caseworker", OTHER)
        return World(found, p.id)


def _gulou(site: Site) -> TestClient:
    """A caseworker of 鼓楼区, signed in."""
    c = site.client()
    sign_in(c, "gulou-cw", "a long password 2")
    return c


# -- who may open what ------------------------------------------------------------------------
PAGES = ("/warnings", "/charity", "/funds", "/indicators")
MAY = {"admin": set(PAGES), "auditor": set(PAGES), "caseworker": set(PAGES),
       "finance": {"/charity", "/funds", "/indicators"},
       "hospital": {"/funds", "/indicators"}}
MENU = {"预警": "/warnings", "慈善": "/charity", "资金": "/funds", "指标": "/indicators"}


@pytest.mark.parametrize("role", sorted(MAY))
def test_each_role_opens_its_casework_pages_and_sees_them_in_its_menu(
        site: Site, world: World, role: str) -> None:
    c = site.client(role)
    for path in PAGES:
        r = c.get(path)
        expected = 200 if path in MAY[role] else 403
        assert r.status_code == expected, (role, path, r.status_code, r.text[:300])
        if expected == 403:
            assert "无权" in r.text
    nav = re.search(r"<nav>(.*?)</nav>", c.get("/").text, re.S)
    assert nav
    shown = set(re.findall(r'href="([^"]+)"', nav.group(1)))
    assert {p for p in PAGES if p in shown} == MAY[role]


# -- 预警 ------------------------------------------------------------------------------------------
def test_the_list_shows_the_jobs_warning_with_its_burden_in_yuan(site: Site, world: World
                                                                 ) -> None:
    r = site.client("caseworker").get(f"/warnings?year={YEAR}&kind=poverty")
    assert r.status_code == 200
    row = re.search(rf'<tr data-id="{world.warnings["WEB-W-1"]}">(.*?)</tr>', r.text, re.S)
    assert row, "the warning of WEB-W-1 is listed"
    # 100,000 − 40,000 − 10,000 = 50,000 against 50% × 72,000 = 36,000: level 1
    assert 'data-amount="50000.00">¥50,000.00' in row.group(1)
    assert "¥36,000.00" in row.group(1) and "新预警" in row.group(1) and "NJ-M" in row.group(1)
    assert "WEB-W-9" not in r.text  # 鼓楼区: not the caseworker's district
    assert "因病返贫（" not in r.text  # the list filter keeps one list
    admin = site.client("admin").get(f"/warnings?year={YEAR}&jurisdiction=nanjing").text
    assert "WEB-W-9" in admin and "因病致贫（" in admin and "因病返贫（" in admin


def test_a_bad_filter_is_a_422_page(site: Site, world: World) -> None:
    r = site.client("caseworker").get(f"/warnings?year={YEAR}&status=closed")
    assert r.status_code == 422 and "状态：应为新预警、已核实、已纳入救助、已排除" in r.text


def test_the_warning_page_shows_burden_threshold_parameter_and_article(
        site: Site, world: World) -> None:
    r = site.client("caseworker").get(f"/warnings/{world.warnings['WEB-W-2']}")
    assert r.status_code == 200
    text = r.text
    assert "¥50,000.00" in text and "¥36,000.00" in text
    assert "50% × ¥72,000.00" in text
    assert "warning_threshold_share" in text and "income_per_capita_prev_year" in text
    assert "NJ-M" in text and "（十六）" in text
    assert "经基本医保、大病保险支付后个人负担" in text  # Nanjing's measure
    # the programme for persons with no identity and a burden ≥ 10,000 matches
    assert PROGRAMME in text and 'value="refer"' in text


def test_verify_then_enroll_records_each_step(site: Site, world: World) -> None:
    c = site.client("caseworker")
    wid = world.warnings["WEB-W-1"]
    assert 'value="enroll"' not in c.get(f"/warnings/{wid}").text  # new: verify first
    r = c.post(f"/warnings/{wid}", data={"csrf": csrf_of(c), "action": "verify",
                                          "reason": "入户核实属实"})
    assert r.status_code == 200 and "已核实" in r.text and "入户核实属实" in r.text
    r = c.post(f"/warnings/{wid}", data={"csrf": csrf_of(c), "action": "enroll"})
    assert r.status_code == 200 and "已纳入救助" in r.text
    assert 'value="dismiss"' not in r.text  # decided: no more steps
    with UnitOfWork(site.app.state.sessions) as uow:
        w = uow.session.get(EarlyWarning, wid)
        assert w is not None and w.status == "enrolled"
        assert [e.to_status for e in w.events] == ["new", "verified", "enrolled"]
    again = c.post(f"/warnings/{wid}", data={"csrf": csrf_of(c), "action": "verify"})
    assert again.status_code == 409


def test_dismiss_without_a_reason_is_refused(site: Site, world: World) -> None:
    c = site.client("caseworker")
    wid = world.warnings["WEB-W-3"]
    c.post(f"/warnings/{wid}", data={"csrf": csrf_of(c), "action": "verify"})
    r = c.post(f"/warnings/{wid}", data={"csrf": csrf_of(c), "action": "dismiss",
                                          "reason": "  "})
    assert r.status_code == 422 and "排除理由：排除须填写理由" in r.text
    with UnitOfWork(site.app.state.sessions) as uow:
        w = uow.session.get(EarlyWarning, wid)
        assert w is not None and w.status == "verified"
    r = c.post(f"/warnings/{wid}", data={"csrf": csrf_of(c), "action": "dismiss",
                                          "reason": "已由其他渠道解决"})
    assert r.status_code == 200 and "已排除" in r.text and "已由其他渠道解决" in r.text


def test_a_caseworker_of_another_district_gets_403(site: Site, world: World) -> None:
    c = _gulou(site)
    wid = world.warnings["WEB-W-2"]
    page = c.get(f"/warnings/{wid}")
    assert page.status_code == 403 and f"预警 {wid} 不在本区（320106）" in page.text
    r = c.post(f"/warnings/{wid}", data={"csrf": csrf_of(c), "action": "verify"})
    assert r.status_code == 403 and f"预警 {wid} 不在本区（320106）" in r.text
    own = c.get(f"/warnings?year={YEAR}").text
    assert "WEB-W-9" in own and "WEB-W-2" not in own


def test_posting_without_the_csrf_token_or_as_auditor_is_refused(site: Site, world: World
                                                                 ) -> None:
    wid = world.warnings["WEB-W-2"]
    c = site.client("caseworker")
    assert c.post(f"/warnings/{wid}", data={"action": "verify"}).status_code == 403
    auditor = site.client("auditor")
    page = auditor.get(f"/warnings/{wid}")
    assert page.status_code == 200 and 'value="verify"' not in page.text
    r = auditor.post(f"/warnings/{wid}", data={"csrf": csrf_of(auditor), "action": "verify"})
    assert r.status_code == 403
    with UnitOfWork(site.app.state.sessions) as uow:
        w = uow.session.get(EarlyWarning, wid)
        assert w is not None and w.status == "new"


def test_export_is_the_workbook_of_the_list(site: Site, world: World) -> None:
    r = site.client("caseworker").get(f"/warnings/export?year={YEAR}&kind=poverty")
    assert r.status_code == 200 and r.headers["content-type"] == ew.XLSX
    ws = load_workbook(io.BytesIO(r.content))["预警名单"]
    rows = {row[3]: row for row in ws.iter_rows(min_row=3, values_only=True)}
    assert set(rows) >= {"预警甲", "预警乙"} and "预警丁" not in rows  # 丁 is of 鼓楼区
    assert Decimal(str(rows["预警乙"][9])) == Decimal("50000.00")  # after insurance, yuan
    assert rows["预警乙"][13] in ("新预警", "已核实", "已纳入救助", "已排除")


def test_refer_to_a_programme_then_its_status_shows(site: Site, world: World) -> None:
    c = site.client("caseworker")
    wid = world.warnings["WEB-W-2"]
    r = c.post(f"/warnings/{wid}", data={"csrf": csrf_of(c), "action": "refer",
                                          "programme_id": str(world.programme_id),
                                          "note": "三重制度后负担仍重"})
    assert r.status_code == 200 and "已转介" in r.text
    listing = c.get("/charity").text
    row = re.search(r'<tr data-id="\d+"><td>\d+</td><td>' + PROGRAMME + r"</td>(.*?)</tr>",
                    listing, re.S)
    assert row and "WEB-W-2" in row.group(1) and "已转介" in row.group(1)
    assert "¥50,000.00" in row.group(1)  # the burden after assistance when referred
    again = c.post(f"/warnings/{wid}", data={"csrf": csrf_of(c), "action": "refer",
                                              "programme_id": str(world.programme_id)})
    assert again.status_code == 409


# -- 慈善 ------------------------------------------------------------------------------------------
def test_an_admin_adds_a_programme_through_the_form(site: Site, world: World) -> None:
    c = site.client("admin")
    form = {"csrf": csrf_of(c), "name": "儿童<大病>救助", "organisation": "基金会",
            "min_burden": "5,000.50", "max_age": "17", "annual_slots": "20",
            "active_from": f"{YEAR}-01-01", "jurisdictions": ["nanjing"],
            "categories": ["dibao", "none"]}
    r = c.post("/charity", data=form)
    assert r.status_code == 200, r.text[:500]
    assert "儿童&lt;大病&gt;救助" in r.text and "¥5,000.50" in r.text and "0–17 岁" in r.text
    with UnitOfWork(site.app.state.sessions) as uow:
        p = next(p for p in charity.programmes(uow, auth.CLI) if p.name == "儿童<大病>救助")
        assert (p.min_burden, p.max_age, p.categories) == (500050, 17, ["dibao", "none"])
    bad = c.post("/charity", data=form | {"name": "另一项目", "min_burden": "五千"})
    assert bad.status_code == 422
    assert "起助负担（元，三重制度后）：应为金额（元），如 1234.56" in bad.text
    worker = site.client("caseworker")
    assert 'action="/charity"' not in worker.get("/charity").text
    assert worker.post("/charity", data=form | {"csrf": csrf_of(worker),
                                                "name": "x"}).status_code == 403


def test_the_programmes_answer_is_recorded_and_a_decline_needs_its_note(
        site: Site, world: World) -> None:
    with UnitOfWork(site.app.state.sessions) as uow:
        r = charity.refer(uow, auth.CLI, {"programme_id": world.programme_id,
                                          "psn_no": "WEB-W-3", "year": YEAR})
        rid = r.id
    c = site.client("caseworker")
    refused = c.post(f"/charity/referrals/{rid}", data={"csrf": csrf_of(c),
                                                         "action": "decline"})
    assert refused.status_code == 422 and "拒绝说明：拒绝须填写说明" in refused.text
    gulou = _gulou(site)  # a caseworker of another district
    forbidden = gulou.post(f"/charity/referrals/{rid}", data={"csrf": csrf_of(gulou),
                                                              "action": "accept"})
    assert forbidden.status_code == 403 and "320106" in forbidden.text
    r2 = c.post(f"/charity/referrals/{rid}", data={"csrf": csrf_of(c), "action": "decline",
                                                    "note": "名额已满"})
    assert r2.status_code == 200
    row = re.search(rf'<tr data-id="{rid}">(.*?)</tr>', r2.text, re.S)
    assert row and "已拒绝" in row.group(1) and "名额已满" in row.group(1)


def test_finance_reads_the_register_but_not_the_referrals(site: Site, world: World) -> None:
    r = site.client("finance").get("/charity")
    assert r.status_code == 200 and PROGRAMME in r.text and "转介记录" not in r.text


# -- 资金 ------------------------------------------------------------------------------------------
def _service_batches(site: Site, actor: auth.Actor) -> list[dict[str, object]]:
    with UnitOfWork(site.app.state.sessions) as uow:
        scope = actor.district if actor.role == "caseworker" else None
        return [funds.batch_json(b, scope) for b in funds.list_batches(uow, actor, year=YEAR)]


def test_the_funds_page_shows_the_services_batches_schedule_and_clearing(
        site: Site, world: World) -> None:
    r = site.client("finance").get(f"/funds?jurisdiction=nanjing&year={YEAR}")
    assert r.status_code == 200
    admin = auth.Actor("admin", subject="test")
    batches = _service_batches(site, admin)
    assert batches
    for b in batches:
        row = re.search(rf'<tr data-id="{b["id"]}">(.*?)</tr>', r.text, re.S)
        assert row, b
        amounts = re.findall(r'data-amount="([^"]+)"', row.group(1))
        assert amounts == [str(b["assistance"]), str(b["reserve"]), str(b["payment"])]
    # the demo hospital's batch: the dibao stay's assistance 14,400 (demo_world) and nothing
    # for the four persons with no identity; 5% reserve = 720.00, payment 13,680.00
    mine = next(b for b in batches if b["fixmedins_code"] == HOSPITAL)
    assert (mine["assistance"], mine["reserve"], mine["payment"]) == (
        Decimal("14400.00"), Decimal("720.00"), Decimal("13680.00"))
    assert "¥14,400.00" in r.text and "¥13,680.00" in r.text
    with UnitOfWork(site.app.state.sessions) as uow:
        report = funds.report(uow, admin, "nanjing", YEAR)
    for f in report["funds"]:
        section = re.search(rf'<section class="fund" data-district="{f["district"]}">(.*?)'
                            r"</section>", r.text, re.S)
        assert section
        s = section.group(1)
        assert f'data-field="budget">¥{f["schedule"]["budget"]:,}' in s
        assert f"第 {len(f['schedule']['installments'])} 季度" in s
        assert all(i["due"] in s for i in f["schedule"]["installments"])
        assert f'data-field="surplus">¥{f["clearing"]["surplus"]:,}' in s
    assert 'data-balanced="true"' in r.text and "账簿平衡校验：平衡" in r.text
    assert '<figure class="chart"' in r.text and "<script" not in r.text


def test_a_batch_page_lists_its_lines_and_a_caseworker_only_its_district(
        site: Site, world: World) -> None:
    batches = _service_batches(site, auth.Actor("admin", subject="test"))
    mine = next(b for b in batches if b["fixmedins_code"] == HOSPITAL)
    r = site.client("caseworker").get(f"/funds/batches/{mine['id']}")
    assert r.status_code == 200
    assert 'data-amount="14400.00">¥14,400.00' in r.text and "5% · <code>NJ-F</code>" in r.text
    assert _gulou(site).get(f"/funds/batches/{mine['id']}").status_code == 403
    assert site.client("caseworker").get(f"/funds?district={OTHER}").status_code == 403


def test_a_hospital_sees_only_its_own_batches(site: Site, world: World) -> None:
    r = site.client("hospital").get(f"/funds?year={YEAR}")
    assert r.status_code == 200 and "本院医疗救助支付批次" in r.text
    ids = set(re.findall(r'<tr data-id="(\d+)">', r.text))
    own = {str(b["id"]) for b in _service_batches(site, auth.Actor("admin", subject="t"))
           if b["fixmedins_code"] == HOSPITAL}
    assert ids == own
    others = [b for b in _service_batches(site, auth.Actor("admin", subject="t"))
              if b["fixmedins_code"] != HOSPITAL]
    assert others and site.client("hospital").get(
        f"/funds/batches/{others[0]['id']}").status_code == 403


# -- 指标 ------------------------------------------------------------------------------------------
def test_indicator_verdicts_match_the_service(site: Site, world: World) -> None:
    r = site.client("auditor").get(f"/indicators?jurisdiction=nanjing&year={YEAR}")
    assert r.status_code == 200
    with UnitOfWork(site.app.state.sessions) as uow:
        report = indicators.compute(uow, auth.Actor("admin", subject="t"), "nanjing", YEAR)
    verdicts = {True: "合格", False: "不合格", None: "无数据"}
    checked = 0
    for x in report.results:
        for row in x.rows:
            tr = re.search(rf'<tr data-subject="{row.subject}">(.*?)</tr>', r.text, re.S)
            assert tr, row.subject
            assert re.search(r'class="verdict[^"]*">' + verdicts[row.passes] + "<",
                             tr.group(1)), (row.subject, row.passes)
            checked += 1
    assert checked
    # the dibao stay at the demo hospital (demo_world): policy range 60,000 − 5,000 out of
    # catalog − 1,000 first self-pay = 54,000; after basic 35,000, critical illness 3,000
    # and assistance 14,400 the person pays 1,600 of it: 2.96% ≤ NJ-K's 10%: 合格 (its
    # psn_part_amt 7,600 of 60,000, 12.67%, counts costs outside the policy range)
    tr = re.search(rf'<tr data-subject="{HOSPITAL}">(.*?)</tr>', r.text, re.S)
    assert tr and "2.96%" in tr.group(1) and "≤ 10.00%" in tr.group(1)
    assert "1,600.00" in tr.group(1) and "54,000.00" in tr.group(1)
    assert ">合格<" in tr.group(1) and "NJ-K" in r.text and "（六）" in r.text
    assert "政策范围内个人自付" in r.text and "政策范围内住院总费用" in r.text
    assert 'data-dimension="category"' in r.text and "最低生活保障对象" in r.text  # dibao
    assert '<figure class="chart"' in r.text


def test_indicators_export_and_scope(site: Site, world: World) -> None:
    r = site.client("finance").get(f"/indicators/export?jurisdiction=nanjing&year={YEAR}")
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content))["指标"]
    row = next(row for row in ws.iter_rows(min_row=3, values_only=True) if row[3] == HOSPITAL)
    assert row[9] == "达标" and row[1] == "NJ-K"
    hospital = site.client("hospital").get(f"/indicators?year={YEAR}")
    assert hospital.status_code == 200
    assert set(re.findall(r'<tr data-subject="([^"]+)">', hospital.text)) == {HOSPITAL}
    assert site.client("caseworker").get(
        f"/indicators?jurisdiction=nanjing&year={YEAR}&district={OTHER}").status_code == 403
