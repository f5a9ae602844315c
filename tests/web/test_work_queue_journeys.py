"""Journeys in Debian's headless Chromium: a caseworker takes in an application on its
pages and finds it in its work queue; another official approves it through the amount's
confirmation and reads the decision in its history; a hospital cancels a settlement
through the same kind of confirmation; an auditor filters the audit log, turns its pages
and verifies the chain; a fund manager's home shows budget against spending."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import httpx
from demo_world import PSN_NO, YEAR, api_body, visit
from sqlalchemy import select
from web_helpers import Server, browser_sign_in

from medaid.app import auth, funds
from medaid.app.uow import UnitOfWork
from medaid.store import audit
from medaid.store.application_models import Application, ApplicationPayment

QIXIA = "320113"  # a district no other journey budgets


def _sign_out(page: Any) -> None:
    page.get_by_role("button", name="退出").click()


def test_take_in_an_application_then_approve_it_after_confirming_the_amount(
        page: Any, server: Server) -> None:
    browser_sign_in(page, server, "caseworker")
    page.goto("/applications")
    page.get_by_role("link", name="录入新申请").click()
    page.get_by_label("人员编号").fill(PSN_NO)
    page.get_by_label("申请类型").select_option(label="事后救助")
    page.get_by_label("申请日期").fill(f"{YEAR}-01-02")
    page.get_by_role("button", name="录入（草稿）").click()
    assert "申请已录入" in page.locator("p.flash").inner_text()
    app_no = page.url.split("/applications/")[1].split("?")[0]
    page.get_by_label("发票号").fill("FP-JOURNEY-1")
    page.get_by_label("医疗机构名称").fill("上海市第六人民医院")
    page.get_by_label("入院/就诊日期").fill(f"{YEAR}-04-01")
    page.get_by_label("出院日期").fill(f"{YEAR}-04-06")
    for label, value in (("医疗费用总额（元）", "20000"), ("全自费金额（元）", "1000"),
                         ("先行自付（元）", "500"), ("基本医保支付（元）", "12000"),
                         ("大病保险支付（元）", "1000")):
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="添加这张发票").click()
    assert "发票已添加" in page.locator("p.flash").inner_text()
    for box in page.locator('form.checklist input[type="checkbox"]').all():
        box.check()
    page.get_by_role("button", name="保存材料核对").click()
    assert "材料核对已保存" in page.locator("p.flash").inner_text()
    page.goto("/")
    row = page.locator(f'#queue-applications tr:has(a[href="/applications/{app_no}"])')
    assert re.search(r"\d+ 个工作日", row.inner_text()), row.inner_text()
    _sign_out(page)

    browser_sign_in(page, server, "admin")  # another official decides
    page.goto(f"/applications/{app_no}")
    page.get_by_role("button", name="批准并结算").click()
    amount = int(page.locator(".confirm-money .amount").get_attribute("data-amount-fen"))
    shown = page.locator(".confirm-money .amount").inner_text()
    assert amount > 0 and shown == f"¥{Decimal(amount) / 100:,.2f}"
    with UnitOfWork(server.app.state.sessions) as uow:  # nothing stored by showing it
        assert uow.session.scalar(select(Application.state).where(
            Application.app_no == app_no)) == "under_review"
    page.get_by_role("button", name=re.compile("确认批准并结算")).click()
    assert page.locator("p.flash").inner_text() == (
        f"已批准并结算：医疗救助 {shown}，待支付给申请人。")
    last = page.locator("table.history tbody tr").last
    cells = last.locator("td").all_inner_texts()
    assert cells[1:4] == ["admin", "批准并结算", shown]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", cells[0])
    with UnitOfWork(server.app.state.sessions) as uow:
        paid = uow.session.scalar(select(ApplicationPayment.amount).join(Application).where(
            Application.app_no == app_no))
    assert paid == amount


def test_a_hospital_cancels_a_settlement_after_confirming_the_amount(
        page: Any, server: Server) -> None:
    body = api_body(visit(medins_setl_id="WEB-CANCEL-1", mdtrt_id="WEB-CANCEL-M1",
                          start=f"{YEAR}-05-01", end=f"{YEAR}-05-03",
                          medfee_sumamt="3000", fulamt_ownpay_amt="0", preselfpay_amt="0",
                          hifp_pay="2000", hifmi_pay="0"))
    r = httpx.post(f"{server.url}/api/v1/settlements", content=body, headers={
        "Authorization": f"Bearer {server.demo.hospital_token}",
        "Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    setl_id, maf = r.json()["setl_id"], Decimal(str(r.json()["maf_pay"]))
    browser_sign_in(page, server, "hospital")
    page.goto(f"/settlements/{setl_id}")
    page.get_by_role("link", name="撤销结算").click()
    shown = page.locator(".confirm-money .amount").inner_text()
    assert shown == f"¥{maf:,.2f}"
    page.get_by_role("button", name=re.compile("确认撤销")).click()
    assert f"冲回医疗救助 {shown}" in page.locator("p.flash").inner_text()
    assert "本结算已被撤销" in page.locator("main").inner_text()
    assert page.get_by_role("button", name=re.compile("确认撤销")).count() == 0


def test_an_auditor_filters_pages_and_verifies_the_audit_log(page: Any, server: Server
                                                             ) -> None:
    with UnitOfWork(server.app.state.sessions) as uow:  # more than a page
        for n in range(60):
            audit.append(uow.session.connection(), "cli", "person.read", f"person:J{n}", {})
        uow.commit()
    browser_sign_in(page, server, "auditor")
    page.locator("header nav").get_by_role("link", name="审计日志").click()
    assert page.locator("table.audit-log tbody tr").count() == 50
    first = page.locator("table.audit-log tbody tr").first.get_attribute("data-seq")
    page.get_by_role("link", name="下一页").click()
    assert "第 2 /" in page.locator("nav.pager").inner_text()
    assert int(page.locator("table.audit-log tbody tr").first.get_attribute("data-seq")
               ) < int(first)
    page.locator('select[name="action"]').select_option(label="结算")
    page.get_by_role("button", name="筛选").click()
    kinds = page.locator("table.audit-log tbody tr td:nth-child(4)").all_inner_texts()
    assert kinds and set(kinds) == {"结算"}
    page.get_by_role("button", name="校验哈希链").click()
    assert "哈希链完整" in page.locator(".verdict").inner_text()


def test_a_fund_managers_home_shows_budget_against_spending(page: Any, server: Server
                                                            ) -> None:
    with UnitOfWork(server.app.state.sessions) as uow:
        funds.set_budget(uow, auth.CLI, {"jurisdiction": "nanjing", "district": QIXIA,
                                         "year": YEAR, "amount": 300000,
                                         "source": "栖霞区年度预算"})
    browser_sign_in(page, server, "finance")
    row = page.locator(f'#queue-funds tr[data-district="{QIXIA}"]')
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "栖霞区" and cells[1] == "¥300,000.00" and cells[5] == "¥300,000.00"
