"""稽核 The auditor's page over HTTP (roles, upload, findings, downloads, a stored run,
bad input, CSRF) and an auditor's journey in headless Chromium."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from web_helpers import Server, Site, browser_sign_in, csrf_of

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "audit"
EXPORT = EXAMPLES / "nanjing-2023-export.csv"
ROSTER = EXAMPLES / "nanjing-2023-roster.csv"


def _upload(c: Any, export: bytes | None = None, name: str = "export.csv") -> Any:
    return c.post("/audit", data={"csrf": csrf_of(c), "jurisdiction": "nanjing"}, files={
        "export": (name, export if export is not None else EXPORT.read_bytes(), "text/csv"),
        "roster": ("roster.csv", ROSTER.read_bytes(), "text/csv")})


@pytest.mark.parametrize("role,status", [("auditor", 200), ("admin", 200), ("caseworker", 403),
                                         ("finance", 403), ("hospital", 403)])
def test_who_may_open_the_audit_page(site: Site, role: str, status: int) -> None:
    c = site.client(role)
    assert c.get("/audit").status_code == status
    nav = re.search(r"<nav>(.*?)</nav>", c.get("/").text, re.S)
    assert nav and (('href="/audit"' in nav.group(1)) == (status == 200))


def test_an_auditor_uploads_and_sees_the_findings(site: Site) -> None:
    c = site.client("auditor")
    r = _upload(c)
    assert r.status_code == 200, r.text
    page = r.text
    assert "稽核结果：export.csv" in page
    assert page.count('<tr data-setl="') == 4
    assert 'data-cause="after_exit"' in page and "身份退出后结算" in page
    assert "¥23,000.00" in page  # overpaid
    assert page.count('<img class="chart" src="data:image/png;base64,') == 3
    run = re.search(r'data-run="([0-9a-f]+)"', page)
    assert run
    # the workbook and the report to download
    book = c.get(f"/audit/{run.group(1)}/findings.xlsx")
    assert book.status_code == 200
    ws = load_workbook(io.BytesIO(book.content))["差异明细"]
    assert ws.max_row == 5
    html = c.get(f"/audit/{run.group(1)}/report.html")
    assert "医疗救助支付稽核报告" in html.text and "attachment" in html.headers[
        "content-disposition"]
    # the run stays in the list, and another auditor picks it again
    other = site.client("admin")
    listed = other.get("/audit").text
    assert f'href="/audit/{run.group(1)}"' in listed
    again = other.get(f"/audit/{run.group(1)}")
    assert again.status_code == 200 and again.text.count('<tr data-setl="') == 4
    assert site.client("caseworker").get(f"/audit/{run.group(1)}").status_code == 403
    assert other.get("/audit/ffffffffffff").status_code == 404


def test_bad_rows_are_listed_and_nothing_is_audited(site: Site) -> None:
    c = site.client("auditor")
    text = EXPORT.read_text(encoding="utf-8").splitlines()
    cells = text[1].split(",")
    cells[-2] = "12.345"  # maf_pay with three decimals
    text[1] = ",".join(cells)
    r = _upload(c, "\n".join(text).encode("utf-8"))
    assert r.status_code == 422
    assert "第2行" in r.text and "金额最多两位小数" in r.text
    assert "稽核结果：" not in r.text


def test_an_unknown_jurisdiction_is_refused_in_chinese() -> None:
    from medaid.core.errors import InputError
    from medaid.web.audit import audit_files

    with pytest.raises(InputError) as refused:
        audit_files(EXPORT, ROSTER, "atlantis", None, "auditor")
    assert refused.value.path == "jurisdiction"
    assert refused.value.message.startswith("没有统筹区「atlantis」的政策，可选：")


def test_the_upload_needs_the_forms_token(site: Site) -> None:
    c = site.client("auditor")
    r = c.post("/audit", data={"csrf": "wrong", "jurisdiction": "nanjing"}, files={
        "export": ("e.csv", EXPORT.read_bytes(), "text/csv"),
        "roster": ("r.csv", ROSTER.read_bytes(), "text/csv")})
    assert r.status_code == 403


def test_an_auditor_audits_an_export_in_the_browser(page: Any, server: Server) -> None:
    browser_sign_in(page, server, "auditor")
    page.get_by_role("link", name="稽核", exact=True).click()
    assert page.url == f"{server.url}/audit"
    page.get_by_label("政策（统筹地区）").select_option("nanjing")
    page.get_by_label(re.compile("平台结算数据")).set_input_files(str(EXPORT))
    page.get_by_label(re.compile("身份名单")).set_input_files(str(ROSTER))
    page.get_by_role("button", name="开始稽核").click()
    assert "稽核结果" in page.locator("section.audit-run h2").inner_text()
    row = page.locator('table.findings tr[data-setl="S4"]')
    assert "身份退出后结算" in row.inner_text()
    assert page.locator('table.causes tr[data-cause="duplicate"] td.num').first.inner_text() == "1"
    with page.expect_download() as got:
        page.get_by_role("link", name="下载差异明细（Excel）").click()
    assert got.value.suggested_filename.endswith("-findings.xlsx")
    page.get_by_role("link", name="稽核", exact=True).click()
    assert page.locator("table.runs tr[data-run]").count() >= 1
