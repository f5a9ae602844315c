"""The work queues, the application intake, the two-step money actions (approve and
settle, cancel a settlement) and the auditor's audit-log page, over HTTP on SQLite and
PostgreSQL: what each role's home lists, the confirmation that carries the CSRF token and
the amount and is refused when the amount is not the one shown, the message after, the
decision history, the audit log's filters, pages and chain check."""

from __future__ import annotations

import re
from typing import Any

from demo_world import DISTRICT, PSN_NO, YEAR
from sqlalchemy import func, select
from web_helpers import Site, csrf_of

from medaid.app import auth, funds
from medaid.app.uow import UnitOfWork
from medaid.store import audit
from medaid.store.application_models import Application
from medaid.store.models import AuditEntry, Settlement

AMOUNT = re.compile(r'data-amount-fen="(-?\d+)"')


def _state(site: Site, app_no: str) -> str:
    with site.app.state.sessions() as s:
        return str(s.scalar(select(Application.state).where(Application.app_no == app_no)))


def _under_review(site: Site) -> str:
    with site.app.state.sessions() as s:
        return str(s.scalars(select(Application.app_no).where(
            Application.state == "under_review").order_by(Application.id)).first())


def _submitted(c: Any, csrf: str) -> str:
    """An application taken in through the pages: created, one invoice, submitted."""
    r = c.post("/applications/new", data={"csrf": csrf, "psn_no": PSN_NO, "kind": "post_hoc",
                                          "applied_on": f"{YEAR}-01-02"})
    assert r.status_code == 303, r.text
    app_no = str(r.headers["location"].split("/")[2].split("?")[0])
    r = c.post(f"/applications/{app_no}/invoices", data={
        "csrf": csrf, "mdtrt_id": "FP-1", "med_type": "21", "location": "out_of_province",
        "institution_name": "上海市第六人民医院", "start": f"{YEAR}-02-01",
        "end": f"{YEAR}-02-05", "medfee_sumamt": "20000", "fulamt_ownpay_amt": "1000",
        "preselfpay_amt": "500", "hifp_pay": "12000", "hifmi_pay": "1000"})
    assert r.status_code == 303, r.text
    assert c.post(f"/applications/{app_no}/submit", data={"csrf": csrf}).status_code == 303
    return app_no


def test_each_role_gets_its_work_queue(site: Site) -> None:
    c = site.client("caseworker")
    app_no = _submitted(c, csrf_of(c))
    caseworker = c.get("/").text
    row = re.search(rf'<tr><td><a href="/applications/{app_no}">.*?</tr>', caseworker, re.S)
    assert "待审批的申请" in caseworker and row
    # the working days left, provisional while the due year's holidays are not published
    assert re.search(r'<td class="num">\d+ 个工作日(（暂按周一至周五计）)?</td>', row.group(0))
    assert "新预警" in caseworker and "待确认的名单导入" in caseworker
    with UnitOfWork(site.app.state.sessions) as uow:
        funds.set_budget(uow, auth.CLI, {"jurisdiction": "nanjing", "district": DISTRICT,
                                         "year": YEAR, "amount": 500000,
                                         "source": "宁财社〔{YEAR}〕预算"})
    finance = site.client("finance").get("/").text
    row = re.search(rf'<tr data-district="{DISTRICT}">(.*?)</tr>', finance, re.S)
    assert row and "¥500,000.00" in row.group(1) and "玄武区" in row.group(1), finance
    assert "待审批的申请" not in finance
    hospital = site.client("hospital").get("/").text
    assert "本院最近的结算" in hospital and f'data-setl="{site.demo.setl_id}"' in hospital
    assert "测试低保" in hospital  # the patient's name, not a number
    auditor = site.client("auditor").get("/").text
    assert "最近的审计日志" in auditor and "结算" in auditor


def test_approving_takes_a_confirmation_of_the_amount(site: Site) -> None:
    app_no = _under_review(site)
    c = site.client("caseworker")  # not who entered it (the demo's clerk)
    csrf = csrf_of(c)
    step = c.post(f"/applications/{app_no}", data={"csrf": csrf, "action": "approve"})
    assert step.status_code == 200, step.text
    found = AMOUNT.search(step.text)
    assert found and int(found.group(1)) > 0
    amount = int(found.group(1))
    assert _state(site, app_no) == "under_review"  # showing the amount stores nothing
    # a confirmation of another amount is refused, and so is one without the CSRF token
    other = c.post(f"/applications/{app_no}", data={
        "csrf": csrf, "action": "approve_confirmed", "expected": str(amount + 1)})
    assert other.status_code == 409 and "金额已变化" in other.text
    assert _state(site, app_no) == "under_review"
    forged = c.post(f"/applications/{app_no}", data={
        "action": "approve_confirmed", "expected": str(amount)})
    assert forged.status_code == 403 and _state(site, app_no) == "under_review"
    missing = c.post(f"/applications/{app_no}", data={"csrf": csrf,
                                                      "action": "approve_confirmed"})
    assert missing.status_code == 422 and _state(site, app_no) == "under_review"
    done = c.post(f"/applications/{app_no}", data={
        "csrf": csrf, "action": "approve_confirmed", "expected": str(amount)})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=approved")
    assert _state(site, app_no) == "approved"
    shown = c.get(done.headers["location"]).text
    yuan = f"¥{amount // 100:,}.{amount % 100:02d}"
    assert f"已批准并结算：医疗救助 {yuan}" in shown
    history = re.findall(r'<tr data-step="(\w+)"><td class="nowrap">([^<]+)</td><td>([^<]+)'
                         r'</td><td>[^<]+</td><td class="num">([^<]+)</td>', shown)
    assert [h[0] for h in history][-1] == "approve"
    assert history[-1][2] == "caseworker" and history[-1][3] == yuan
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", history[-1][1])  # Beijing time


def test_intake_creates_adds_an_invoice_and_submits(site: Site) -> None:
    c = site.client("caseworker")
    csrf = csrf_of(c)
    assert c.get("/applications/new").status_code == 200
    unknown = c.post("/applications/new", data={"csrf": csrf, "psn_no": "NOBODY",
                                                 "kind": "post_hoc"})
    assert unknown.status_code == 404
    r = c.post("/applications/new", data={"csrf": csrf, "psn_no": PSN_NO, "kind": "post_hoc",
                                          "applied_on": f"{YEAR}-01-02"})
    assert r.status_code == 303, r.text
    app_no = r.headers["location"].split("/")[2].split("?")[0]
    assert "申请已录入" in c.get(r.headers["location"]).text
    assert _state(site, app_no) == "draft"
    bad = c.post(f"/applications/{app_no}/invoices", data={
        "csrf": csrf, "mdtrt_id": "FP-1", "med_type": "21", "start": f"{YEAR}-02-01",
        "end": f"{YEAR}-02-05", "medfee_sumamt": "十万"})
    assert bad.status_code == 422 and "医疗费用总额：应为金额（元），如 1234.56" in bad.text
    r = c.post(f"/applications/{app_no}/invoices", data={
        "csrf": csrf, "mdtrt_id": "FP-1", "med_type": "21", "location": "out_of_province",
        "institution_name": "上海市第六人民医院", "start": f"{YEAR}-02-01",
        "end": f"{YEAR}-02-05", "medfee_sumamt": "20000", "fulamt_ownpay_amt": "1000",
        "preselfpay_amt": "500", "hifp_pay": "12000", "hifmi_pay": "1000"})
    assert r.status_code == 303, r.text
    page = c.get(r.headers["location"]).text
    assert "发票已添加：本申请共 1 张" in page and "上海市第六人民医院" in page
    r = c.post(f"/applications/{app_no}/submit", data={"csrf": csrf})
    assert r.status_code == 303 and _state(site, app_no) == "submitted"
    page = c.get(r.headers["location"]).text
    assert "申请已提交，审核期限" in page
    steps = re.findall(r'<tr data-step="(\w+)">', page)
    assert steps == ["create", "visits", "submit"]


def _cancel_page(c: Any, setl_id: str) -> tuple[str, int]:
    r = c.get(f"/settlements/{setl_id}/cancel")
    assert r.status_code == 200, r.text
    found = AMOUNT.search(r.text)
    assert found
    return csrf_of(c), int(found.group(1))


def _cancelled(site: Site, setl_id: str) -> bool:
    with site.app.state.sessions() as s:
        original = s.scalar(select(Settlement.id).where(Settlement.setl_id == setl_id))
        return bool(s.scalar(select(func.count()).select_from(Settlement).where(
            Settlement.reverses_id == original)))


def test_cancelling_takes_a_confirmation_of_the_amount(site: Site) -> None:
    setl_id = site.demo.setl_id
    assert site.client("caseworker").get(f"/settlements/{setl_id}/cancel").status_code == 403
    c = site.client("hospital")
    csrf, amount = _cancel_page(c, setl_id)
    assert amount == 1440000  # the worked stay's 14,400.00 (demo_world)
    wrong = c.post(f"/settlements/{setl_id}/cancel", data={"csrf": csrf, "expected": "1"})
    assert wrong.status_code == 409 and "已变化" in wrong.text
    forged = c.post(f"/settlements/{setl_id}/cancel", data={"expected": str(amount)})
    assert forged.status_code == 403
    assert not _cancelled(site, setl_id)
    done = c.post(f"/settlements/{setl_id}/cancel", data={"csrf": csrf,
                                                        "expected": str(amount)})
    assert done.status_code == 303 and _cancelled(site, setl_id)
    shown = c.get(done.headers["location"]).text
    assert "已撤销结算" in shown and "冲回医疗救助 ¥14,400.00" in shown
    again = c.post(f"/settlements/{setl_id}/cancel", data={"csrf": csrf,
                                                         "expected": str(amount)})
    assert again.status_code == 409 and "已被撤销" in again.text


def test_the_audit_log_page_filters_pages_and_verifies(site: Site) -> None:
    assert site.client("caseworker").get("/audit-log").status_code == 403
    with UnitOfWork(site.app.state.sessions) as uow:  # more than a page, whatever the seed
        for n in range(60):
            audit.append(uow.session.connection(), "cli", "person.read", f"person:X{n}", {})
        uow.commit()
    c = site.client("auditor")
    whole = c.get("/audit-log")
    assert whole.status_code == 200
    total = int(re.search(r"共 (\d+) 条", whole.text).group(1))  # type: ignore[union-attr]
    with site.app.state.sessions() as s:
        assert total == s.scalar(select(func.count()).select_from(AuditEntry)) - 1
    assert total > 50 and "第 1 /" in whole.text  # more than a page
    second = c.get("/audit-log?page=2")
    firsts = re.findall(r'<tr data-seq="(\d+)">', whole.text)
    seconds = re.findall(r'<tr data-seq="(\d+)">', second.text)
    # newest first; reading appends an entry, so the second page starts one later
    assert len(firsts) == 50 and int(firsts[0]) > int(firsts[-1]) >= int(seconds[0])
    settles = c.get("/audit-log?action=settle")
    rows = re.findall(r'<tr data-seq="\d+">.*?</tr>', settles.text, re.S)
    assert rows and all("<td>结算</td>" in r for r in rows)
    mine = c.get("/audit-log?actor=auditor")
    assert all("<td>auditor</td>" in r
               for r in re.findall(r'<tr data-seq="\d+">.*?</tr>', mine.text, re.S))
    later = c.get(f"/audit-log?start={YEAR + 1}-01-01")
    assert "没有符合条件的记录" in later.text
    backwards = c.get(f"/audit-log?start={YEAR}-02-01&end={YEAR}-01-01")
    assert backwards.status_code == 422 and "结束日期早于开始日期" in backwards.text
    r = c.post("/audit-log/verify", data={"csrf": csrf_of(c)})
    assert r.status_code == 200 and "哈希链完整" in r.text
    assert c.post("/audit-log/verify", data={}).status_code == 403


def test_the_hospital_home_links_its_settlements_not_others(site: Site) -> None:
    page = site.client("hospital").get("/").text
    with site.app.state.sessions() as s:
        theirs = s.scalars(select(Settlement.setl_id).where(
            Settlement.institution_id != select(Settlement.institution_id).where(
                Settlement.setl_id == site.demo.setl_id).scalar_subquery()).limit(5)).all()
    assert theirs and not any(f'data-setl="{t}"' in page for t in theirs)
