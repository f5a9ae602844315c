"""A day's work in Debian's headless Chromium against a real server (demo_world.py): the
settle form naming the person as the number is typed and listing every error at once, the
patient's 结算单 on paper and as a PDF, the lists with their filters and Excel exports, a
person's page from the list, and a mistyped address."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from demo_world import CERTNO, NAME, PSN_NO, YEAR
from openpyxl import load_workbook
from playwright.sync_api import expect
from web_helpers import Server, browser_sign_in


def menu(page: Any, label: str) -> None:
    page.locator("header nav").get_by_role("link", name=label, exact=True).click()


def test_the_settle_form_names_the_person_and_lists_every_error(page: Any, server: Server
                                                                 ) -> None:
    browser_sign_in(page, server, "hospital")
    menu(page, "结算")
    page.get_by_label("人员编号").fill(PSN_NO)
    # before anything is settled: who the number is, from the form's look-up
    expect(page.locator("#person-found")).to_contain_text(f"{NAME} · 最低生活保障对象 · 玄武区")
    page.get_by_label("人员编号").fill("NO-SUCH-PERSON")
    expect(page.locator("#person-found")).to_have_text("未找到此人员编号")
    page.get_by_label("人员编号").fill(PSN_NO)
    page.get_by_label("入院/就诊日期").fill(f"{YEAR}-03-01")
    page.get_by_label("出院日期").fill(f"{YEAR}-03-10")
    page.get_by_label("医疗费用总额").fill("abc")
    page.get_by_label("全自费金额").fill("-5")
    page.get_by_label("大病保险支付").fill("1.234")
    page.get_by_role("button", name="试算").click()
    expect(page.get_by_role("alert")).to_contain_text("有 3 处需要修改")
    assert sorted(page.locator("span.why").all_inner_texts()) == sorted([
        "医疗费用总额：应为金额（元），如 1234.56", "全自费金额：不能为负数",
        "大病保险支付：金额至多保留两位小数"])
    page.get_by_label("医疗费用总额").fill("60000")
    page.get_by_label("全自费金额").fill("5000")
    page.get_by_label("先行自付").fill("1000")
    page.get_by_label("基本医保支付").fill("35000")
    page.get_by_label("大病保险支付").fill("3000")
    page.get_by_role("button", name="试算").click()
    expect(page.locator('.tiers [data-field="maf_pay"]')).to_have_text("¥14,400.00")


def test_the_slip_prints_without_the_menu_and_downloads_as_a_pdf(page: Any, server: Server,
                                                                 tmp_path: Path) -> None:
    browser_sign_in(page, server, "hospital")
    menu(page, "结算清单")
    page.locator(f'tr[data-setl="{server.demo.setl_id}"] a').first.click()
    expect(page.locator("h1")).to_have_text("医疗救助一站式结算单")
    expect(page.locator('[data-field="name"]')).to_have_text(NAME)
    expect(page.locator('[data-field="hospital"]')).to_have_text("南京市第一人民医院")
    expect(page.locator('[data-field="certno"]')).not_to_have_text(CERTNO)
    expect(page.locator('.tiers [data-field="psn_part_amt"]')).to_have_text("¥7,600.00")
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.get_by_text("下载 PDF")).to_be_hidden()
    expect(page.locator("p.print-only")).to_be_visible()
    page.emulate_media(media="screen")
    with page.expect_download() as got:
        page.get_by_text("下载 PDF").click()
    saved = tmp_path / "slip.pdf"
    got.value.save_as(saved)
    content = saved.read_bytes()
    assert content.startswith(b"%PDF-") and b"STSong-Light" in content


def test_lists_filter_page_and_export_in_the_caseworkers_district(page: Any, server: Server,
                                                                  tmp_path: Path) -> None:
    browser_sign_in(page, server, "caseworker")
    menu(page, "人员名单")
    expect(page.locator("p.hint").first).to_contain_text("玄武区")
    page.get_by_label("在保身份").select_option(label="最低生活保障对象")
    page.get_by_role("button", name="筛选").click()
    assert "category=dibao" in page.url
    expect(page.locator(f'tr[data-psn="{PSN_NO}"]')).to_contain_text("最低生活保障对象")
    districts = page.locator("table.person-list tbody td:nth-child(5)").all_inner_texts()
    assert districts and set(districts) == {"玄武区"}
    with page.expect_download() as got:
        page.get_by_text("导出 Excel").click()
    saved = tmp_path / "persons.xlsx"
    got.value.save_as(saved)
    ws = load_workbook(io.BytesIO(saved.read_bytes())).active
    assert ws is not None
    assert any(row[2] == PSN_NO and row[0] == NAME
               for row in ws.iter_rows(min_row=3, values_only=True))
    # the person's page from the list opens on the latest year with a settlement
    page.get_by_role("link", name=NAME).click()
    expect(page.locator('input[name="year"]')).to_have_value(str(YEAR))
    expect(page.locator("table.settlements")).to_be_visible()
    menu(page, "结算清单")
    page.get_by_label("人员编号").fill(PSN_NO)
    page.get_by_role("button", name="筛选").click()
    expect(page.locator(f'tr[data-setl="{server.demo.setl_id}"]')).to_contain_text("¥14,400.00")
    expect(page.locator('td[data-total="maf_pay"]')).to_have_text(re.compile(r"¥[\d,]+\.\d\d"))


def test_a_mistyped_address_is_a_page_in_chinese(page: Any, server: Server) -> None:
    browser_sign_in(page, server, "caseworker")
    response = page.goto("/persons-list-typo")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_contain_text("未找到")
    expect(page.get_by_text("没有这个页面")).to_be_visible()
    page.get_by_role("link", name="返回首页").click()
    assert page.url == f"{server.url}/"
