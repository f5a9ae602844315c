"""A caseworker's journey through the warning pages in Debian's headless Chromium."""

from __future__ import annotations

from datetime import date
from typing import Any

from demo_world import DISTRICT, YEAR, api_body, visit
from sqlalchemy import select
from web_helpers import Server, browser_sign_in

from medaid.app import auth, records, settlements, wire
from medaid.app import early_warning as ew
from medaid.app.uow import UnitOfWork
from medaid.registry import idcard
from medaid.store.models import Person
from medaid.store.warning_models import EarlyWarning

PSN_NO = "WEB-J-1"
NAME = "旅程预警"


def _warned_person(server: Server) -> int:
    """A 玄武区 person with no identity and a stay of 120,000: 120,000 − 50,000 basic −
    12,000 critical-illness insurance = 58,000 paid, against Nanjing's threshold of 50% ×
    72,000 = 36,000 (NJ-M): a 因病致贫 warning of ¥58,000.00. Its id."""
    with UnitOfWork(server.app.state.sessions) as uow:
        if uow.session.scalars(select(Person.id).where(Person.psn_no == PSN_NO)).first() is None:
            records.create_person(uow, auth.CLI, {
                "psn_no": PSN_NO, "certno": idcard.make(DISTRICT, date(1961, 6, 1), 930),
                "name": NAME, "jurisdiction": "nanjing", "district": DISTRICT,
                "identities": []})
            settlements.settle(uow, auth.CLI, wire.parse_visit_request(api_body(visit(
                psn_no=PSN_NO, medins_setl_id="WEB-J-S1", mdtrt_id="WEB-J-M1",
                medfee_sumamt="120000", fulamt_ownpay_amt="6000", preselfpay_amt="1000",
                hifp_pay="50000", hifmi_pay="12000")), settling=True))
        ew.run(uow, auth.CLI, YEAR, "nanjing")
        found = uow.session.scalars(select(EarlyWarning.id).join(Person).where(
            Person.psn_no == PSN_NO)).one()
        return int(found)


def test_a_caseworker_verifies_then_enrolls_a_warning(page: Any, server: Server) -> None:
    wid = _warned_person(server)
    browser_sign_in(page, server, "caseworker")
    page.get_by_role("link", name="预警", exact=True).click()
    page.get_by_label("名单").select_option("poverty")
    page.get_by_role("button", name="筛选").click()
    row = page.locator(f'table.warnings tr[data-id="{wid}"]')
    assert row.locator("td.num").first.inner_text() == "¥58,000.00"
    assert "新预警" in row.inner_text()
    row.get_by_role("link", name=NAME).click()
    assert page.url == f"{server.url}/warnings/{wid}"
    assert "50% × ¥72,000.00" in page.locator('tr[data-field="threshold"]').inner_text()
    assert page.get_by_role("button", name="纳入救助").count() == 0  # verify first

    page.get_by_label("核实说明（可选）").fill("入户核实，医疗费用属实")
    page.get_by_role("button", name="核实").click()
    assert "已核实" in page.locator("h1").inner_text()
    page.get_by_role("button", name="纳入救助").click()
    assert "已纳入救助" in page.locator("h1").inner_text()
    assert page.get_by_role("button", name="排除").count() == 0
    steps = page.locator("table.events tbody tr").all_inner_texts()
    assert [s.split("\t")[3] for s in steps] == ["新预警", "已核实", "已纳入救助"]
    assert "入户核实，医疗费用属实" in steps[1]
    with UnitOfWork(server.app.state.sessions) as uow:
        w = uow.session.get(EarlyWarning, wid)
        assert w is not None and w.status == "enrolled"
