"""A journey in Debian's headless Chromium: a caseworker sends an application's invoice
with several amounts wrong and reads every error at once, in Chinese, by the form's
labels; corrected, the invoice is added."""

from __future__ import annotations

from typing import Any

from demo_world import PSN_NO, YEAR
from web_helpers import Server, browser_sign_in


def test_an_invoice_with_three_bad_amounts_shows_three_messages(page: Any, server: Server
                                                                 ) -> None:
    browser_sign_in(page, server, "caseworker")
    page.goto("/applications/new")
    page.get_by_label("人员编号").fill(PSN_NO)
    page.get_by_label("申请类型").select_option(label="事后救助")
    page.get_by_label("申请日期").fill(f"{YEAR}-01-02")
    page.get_by_role("button", name="录入（草稿）").click()
    assert "申请已录入" in page.locator("p.flash").inner_text()
    page.get_by_label("发票号").fill("FP-FORM-1")
    page.get_by_label("入院/就诊日期").fill(f"{YEAR}-04-01")
    page.get_by_label("出院日期").fill(f"{YEAR}-04-06")
    page.get_by_label("医疗费用总额（元）").fill("十万")
    page.get_by_label("全自费金额（元）").fill("-1")
    page.get_by_label("基本医保支付（元）").fill("1.234")
    page.get_by_role("button", name="添加这张发票").click()
    alert = page.locator("div.error[role=alert]")
    assert "有 3 处需要修改" in alert.inner_text()
    assert sorted(alert.locator("li").all_inner_texts()) == sorted([
        "医疗费用总额：应为金额（元），如 1234.56", "全自费金额：不能为负数",
        "基本医保支付：金额至多保留两位小数"])
    # what was typed is there again, to correct
    assert page.get_by_label("发票号").input_value() == "FP-FORM-1"
    assert page.get_by_label("出院日期").input_value() == f"{YEAR}-04-06"
    assert page.get_by_label("全自费金额（元）").input_value() == "-1"
    page.get_by_label("医疗费用总额（元）").fill("20000")
    page.get_by_label("全自费金额（元）").fill("0")
    page.get_by_label("基本医保支付（元）").fill("12000")
    page.get_by_role("button", name="添加这张发票").click()
    assert "发票已添加：本申请共 1 张" in page.locator("p.flash").inner_text()
