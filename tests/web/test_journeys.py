"""Journeys through the pages in Debian's headless Chromium against a real server."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from demo_world import CERTNO, HOSPITAL, NAME, PSN_NO, api_body, visit
from sqlalchemy import func, select
from web_helpers import Server, browser_sign_in

from medaid.app.uow import UnitOfWork
from medaid.registry import idcard
from medaid.store.application_models import Application
from medaid.store.models import Person, Settlement


def test_sign_in_sets_a_strict_httponly_cookie_and_shows_the_roles_menu(
        page: Any, server: Server) -> None:
    browser_sign_in(page, server, "caseworker")
    assert page.locator("header nav a").all_inner_texts() == [
        "人员", "结算", "名单导入", "申请", "预警", "慈善", "资金", "指标", "人员名单", "结算清单",
        "政策"]
    cookie = next(c for c in page.context.cookies() if c["name"] == "medaid_session")
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (True, "Strict", False)
    assert page.evaluate("document.cookie").find("medaid_session") == -1  # not readable by JS
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(f"{server.url}/login")
    page.goto("/persons")
    assert page.url == f"{server.url}/login"


def test_find_a_person_and_read_a_settlements_explanation(page: Any, server: Server) -> None:
    browser_sign_in(page, server, "caseworker")
    page.get_by_role("link", name="人员", exact=True).click()
    page.get_by_label("身份证号、人员编号或姓名").fill(CERTNO)
    page.get_by_role("button", name="查询").click()
    assert CERTNO not in page.url  # searched by POST: the number is in no URL
    page.get_by_role("link", name=NAME).click()
    assert page.locator("h1").inner_text().startswith(NAME)
    # the dibao window in force from 1 January (NJ-W, article （七）) on the timeline
    assert "在保期" in page.locator(".tl-periods").inner_text()
    assert "NJ-W" in page.locator(".tl-periods").inner_text()
    page.locator("table.settlements a").first.click()
    row = page.locator('tr[data-field="assistance"]')
    assert row.locator("td.num").inner_text() == "¥14,400.00"  # 90% × 16,000
    assert "NJ-A2" in row.inner_text() and "（四）" in row.inner_text()
    assert "90% × 16,000.00元" in row.inner_text()
    assert page.locator('tr[data-field="psn_part_amt"] td.num').inner_text() == "¥7,600.00"


def test_trial_settlement_shows_the_apis_numbers(page: Any, server: Server) -> None:
    fields = visit(medins_setl_id="", mdtrt_id="WEB-M-TRIAL", medfee_sumamt="12345.67",
                   fulamt_ownpay_amt="345.67", preselfpay_amt="0", hifp_pay="6000",
                   hifmi_pay="1000", start=visit()["start"].replace("03-01", "06-01"),
                   end=visit()["end"].replace("03-10", "06-05"))
    browser_sign_in(page, server, "hospital")
    page.get_by_role("link", name="结算", exact=True).click()
    for name in ("psn_no", "mdtrt_id", "start", "end", "medfee_sumamt", "fulamt_ownpay_amt",
                 "overlmt_selfpay", "preselfpay_amt", "hifp_pay", "hifmi_pay"):
        page.locator(f'[name="{name}"]').fill(fields[name])
    page.get_by_role("button", name="试算").click()
    shown = {r.get_attribute("data-field"): r.locator("td.num").get_attribute("data-amount")
             for r in page.locator("table.amounts tr[data-field]").all()}
    body = json.loads(api_body({k: v for k, v in fields.items() if k != "medins_setl_id"}))
    api = httpx.post(f"{server.url}/api/v1/settlements/preview", json=body,
                     headers={"Authorization": f"Bearer {server.demo.hospital_token}"}).json()
    assert shown and all(Decimal(shown[k]) == Decimal(str(api[k])) for k in shown)
    # 12,345.67 − 345.67 = 12,000 in range; − 6,000 − 1,000 = a base of 5,000; 90% → 4,500
    assert Decimal(shown["maf_pay"]) == Decimal("4500.00")
    assert page.locator('.tiers [data-field="psn_part_amt"]').inner_text() == "¥845.67"


def test_roster_with_a_bad_row_shows_row_and_reason_and_stores_nothing(
        page: Any, server: Server, tmp_path: Path) -> None:
    roster = tmp_path / "玄武区低保名单.csv"
    good = idcard.make("320102", date(1980, 1, 1), 1)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")  # a wrong check digit
    roster.write_text("姓名,身份证号,身份类别,认定日期,认定部门\n"
                      f"周一,{good},低保,2024-01-01,民政\n"
                      f"吴二,{bad},低保,2024-01-01,民政\n", encoding="utf-8")
    with UnitOfWork(server.app.state.sessions) as uow:
        before = uow.session.scalar(select(func.count()).select_from(Person))
    browser_sign_in(page, server, "caseworker")
    page.get_by_role("link", name="名单导入", exact=True).click()
    page.get_by_label("名单文件（CSV 或 XLSX）").set_input_files(str(roster))
    page.get_by_label("增量名单").check()
    page.get_by_role("button", name="试导入（不保存）").click()
    errors = page.locator("table.errors tbody tr")
    assert errors.count() == 1
    assert errors.first.locator("td").first.inner_text() == "第 3 行"  # header is row 1
    assert "校验位错误" in errors.first.inner_text()  # the reason, the number masked
    assert bad not in page.content()
    assert "未导入任何数据" in page.locator("h2").first.inner_text()
    assert page.get_by_role("button", name="确认导入").count() == 0
    with UnitOfWork(server.app.state.sessions) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Person)) == before


def test_a_role_that_may_not_see_a_page_gets_403(page: Any, server: Server) -> None:
    browser_sign_in(page, server, "finance")
    response = page.goto("/settle")
    assert response.status == 403
    assert "无权" in page.locator("main").inner_text()
    browser_sign_in(page, server, "hospital")
    assert page.goto("/persons").status == 403


def test_a_post_without_the_csrf_token_is_refused(page: Any, server: Server) -> None:
    browser_sign_in(page, server, "caseworker")
    r = page.request.post(f"{server.url}/persons", form={"q": NAME})  # the session's cookie
    assert r.status == 403 and "CSRF" in r.text()
    page.goto("/persons")
    page.evaluate("document.querySelector('form.search input[name=csrf]').remove()")
    page.get_by_label("身份证号、人员编号或姓名").fill(NAME)
    page.get_by_role("button", name="查询").click()
    assert "CSRF" in page.locator("main").inner_text()


def test_no_hospital_code_or_id_number_in_any_url_visited(page: Any, server: Server) -> None:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    browser_sign_in(page, server, "admin")
    page.goto("/persons")
    page.get_by_label("身份证号、人员编号或姓名").fill(CERTNO)
    page.get_by_role("button", name="查询").click()
    page.get_by_role("link", name=NAME).click()
    assert seen and not any(CERTNO in u for u in seen)
    assert HOSPITAL  # the demo's hospital exists (used by the settlement above)
    assert PSN_NO in page.url


def test_approve_an_application_with_its_checklist(page: Any, server: Server) -> None:
    with UnitOfWork(server.app.state.sessions) as uow:
        app_no, psn_no = uow.session.execute(
            select(Application.app_no, Application.psn_no)
            .where(Application.state == "under_review")).one()
    browser_sign_in(page, server, "caseworker")
    page.get_by_role("link", name="申请", exact=True).click()
    page.get_by_role("link", name="审核中").click()
    page.get_by_role("link", name=app_no).click()
    boxes = page.locator("form.checklist input[type=checkbox]")
    assert boxes.count() >= 3
    boxes.first.uncheck()
    page.get_by_role("button", name="保存材料核对").click()
    assert not page.locator("form.checklist input[type=checkbox]").first.is_checked()
    page.locator("form.checklist input[type=checkbox]").first.check()
    page.get_by_role("button", name="保存材料核对").click()
    page.get_by_role("button", name="批准并结算").click()
    shown = page.locator(".confirm-money .amount").inner_text()  # the amount, confirmed
    page.get_by_role("button", name=f"确认批准并结算 {shown}").click()
    assert "已批准" in page.locator("h1").inner_text()
    paid = page.locator("dl.facts strong").inner_text()
    with UnitOfWork(server.app.state.sessions) as uow:
        entry = uow.session.scalars(select(Settlement).where(
            Settlement.psn_no == psn_no, Settlement.kind == "settle")
            .order_by(Settlement.id.desc())).first()
    assert entry is not None and paid == shown == f"¥{Decimal(entry.maf_pay) / 100:,.2f}"
    assert page.get_by_role("button", name="批准并结算").count() == 0
