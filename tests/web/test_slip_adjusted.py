"""A settlement adjusted since (补差) reads, on its slip, what the visit stands at now and
why, and cancelling it confirms that amount."""

from __future__ import annotations

from demo_world import CERTNO, DISTRICT, NAME, PSN_NO, YEAR
from web_helpers import Site


def test_the_slip_of_an_adjusted_settlement_says_what_it_stands_at(site: Site) -> None:
    """The worked stay of March (低保, NJ-A2: 14,400): a roster moving the recognition to
    April takes it all back; the slip says so, with the roster's reason and the trace of
    the stay settled again, and the cancel page asks to confirm ¥0.00."""
    admin = {"Authorization": f"Bearer {site.demo.admin_token}"}
    api = site.client()
    r = api.post("/api/v1/rosters", headers=admin, json={
        "jurisdiction": "nanjing", "district": DISTRICT, "month": f"{YEAR}-05",
        "mode": "incremental", "records": [
            {"name": NAME, "certno": CERTNO, "category": "低保", "start": f"{YEAR}-04-01",
             "department": "民政"}]})
    assert r.status_code == 200 and r.json()["counts"]["changed"] == 1, r.text
    page = site.client("caseworker").get(f"/settlements/{site.demo.setl_id}").text
    assert "本结算其后经补差：现医疗救助 ¥0.00" in page
    assert "名单导入" in page and "-¥14,400.00" in page
    assert "重新结算的计算依据" in page and "无有效救助身份" in page
    confirm = site.client("hospital").get(f"/settlements/{site.demo.setl_id}/cancel").text
    assert 'name="expected" value="0"' in confirm, confirm
    # the person's page lists it by the visit's dates, with where the money goes
    person = site.client("caseworker").get(f"/persons/{PSN_NO}?year={YEAR}").text
    assert f"{YEAR}-03-01 至 {YEAR}-03-10</a>" in person
    assert "从医院拨付中扣回，由医院向患者收取" in person
    assert "（已补差，现医疗救助 ¥0.00）" in person
    assert "计算依据（）" not in person
