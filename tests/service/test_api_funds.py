"""The fund ledger over the API (NJ-F): budgets and the quarterly schedule, monthly payment
batches less the 5% assessment reserve, the annual clearing; the books balance to the fen
after every operation. Amounts hand-computed in the comments."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from api_helpers import World, visit

from medaid.app import settlements

FUNDS = "/api/v1/funds"
NANJING = {"jurisdiction": "nanjing", "district": "320102"}


@pytest.fixture
def march_2023(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settlements are made on 15 March 2023 (their settlement time decides the batch)."""
    monkeypatch.setattr(settlements, "_now", lambda: datetime(2023, 3, 15, 2, 0, tzinfo=UTC))


def books_ok(w: World) -> dict[str, Any]:
    r = w.client.get(f"{FUNDS}/balance", headers=w.admin)
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["ok"] and b["unbalanced"] == [] and b["debits"] == b["credits"]
    return dict(b)


def settle_base(w: World, h: dict[str, str], n: int, base: str) -> dict[str, Any]:
    """A Nanjing dibao inpatient stay whose assistance base is `base` yuan (NJ-A2: 90%)."""
    fee = float(Decimal(base) + 100)  # JSON text 237.17: the server reads exact decimals
    r = w.client.post("/api/v1/settlements", headers=h, json=visit(
        medins_setl_id=f"S-{n}", mdtrt_id=f"M-{n}", medfee_sumamt=fee, fulamt_ownpay_amt=0,
        preselfpay_amt=0, hifp_pay=100, hifmi_pay=0))
    assert r.status_code == 201, r.text
    return dict(r.json())


def three_settlements(w: World) -> dict[str, str]:
    h = w.institution()
    w.person()
    # 90% of 137.17 = 123.453 → 123.45; of 1111.11 = 999.999 → 1000.00; of 0.08 → 0.07
    for n, (base, maf) in enumerate((("137.17", 123.45), ("1111.11", 1000.00),
                                     ("0.08", 0.07))):
        assert settle_base(w, h, n, base)["maf_pay"] == maf
    return h


def make_batches(w: World, month: str = "2023-03") -> Any:
    r = w.client.post(f"{FUNDS}/batches", headers=w.admin, json={"month": month})
    assert r.status_code in (200, 201), r.text
    return r.json()


def test_a_batch_is_the_months_assistance_less_the_reserve_once(
        world: World, march_2023: None) -> None:
    three_settlements(world)
    run = make_batches(world)
    assert len(run["created"]) == 1 and run["existing"] == []
    b = run["created"][0]
    # 123.45 + 1000.00 + 0.07 = 1123.52; 5% = 56.176 → 56.18 (half-up to the fen);
    # payment 1123.52 − 56.18 = 1067.34
    assert (b["assistance"], b["reserve"], b["payment"]) == (1123.52, 56.18, 1067.34)
    assert b["status"] == "created" and b["month"] == "2023-03"
    assert b["lines"] == [{"jurisdiction": "nanjing", "district": "320102",
                           "assistance": 1123.52, "reserve": 56.18, "payment": 1067.34}]
    books_ok(world)
    again = world.client.post(f"{FUNDS}/batches", headers=world.admin, json={"month": "2023-03"})
    assert again.status_code == 200
    assert again.json()["created"] == [] and [x["id"] for x in again.json()["existing"]] == [
        b["id"]]
    assert len(world.client.get(f"{FUNDS}/batches", headers=world.admin).json()["batches"]) == 1
    books = books_ok(world)
    # the journal holds one batch entry: 1123.52 debited to expense, 1067.34 + 56.18 credited
    assert books["debits"] == 1123.52


def test_a_cancellation_in_the_month_reduces_the_batch(world: World, march_2023: None) -> None:
    h = three_settlements(world)
    first = world.client.get("/api/v1/persons/P-001/years/2023", headers=world.admin).json()
    setl_id = first["settlements"][1]["setl_id"]  # the 1000.00
    assert world.client.post(f"/api/v1/settlements/{setl_id}/cancel", headers=h).status_code == 201
    b = make_batches(world)["created"][0]
    # 1123.52 − 1000.00 = 123.52; 5% = 6.176 → 6.18; payment 117.34
    assert (b["assistance"], b["reserve"], b["payment"]) == (123.52, 6.18, 117.34)
    books_ok(world)


def test_a_month_that_has_not_ended_is_not_batched(world: World) -> None:
    r = world.client.post(f"{FUNDS}/batches", headers=world.admin, json={"month": "2999-01"})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.month"
    assert r.json()["error"]["message"].startswith("2999-01 尚未结束：月末之后才能生成支付批次")
    r = world.client.post(f"{FUNDS}/batches", headers=world.admin, json={"month": "2023-13"})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.month"


def test_the_quarterly_schedule_sums_to_the_budget(world: World) -> None:
    r = world.client.post(f"{FUNDS}/budgets", headers=world.admin, json={
        **NANJING, "year": 2023, "amount": 1000000.03, "source": "玄武区2023年预算"})
    assert r.status_code == 200, r.text
    # 25% of 100,000,003 fen = 25,000,000.75 → 25,000,000 (down) for Q1–Q3; Q4 the rest
    # 100,000,003 − 75,000,000 = 25,000,003
    paid = world.client.post(f"{FUNDS}/receipts", headers=world.admin, json={
        **NANJING, "year": 2023, "amount": 300000, "received_on": "2023-01-08"})
    assert paid.status_code == 201, paid.text
    s = world.client.get(f"{FUNDS}/schedule", headers=world.admin,
                         params={**NANJING, "year": 2023}).json()
    assert s["rule"] == "NJ-F" and s["source"].endswith("（十五）")
    assert [(i["due"], i["amount"], i["received"], i["status"]) for i in s["installments"]] == [
        ("2023-01-10", 250000.00, 250000.00, "received"),
        ("2023-04-10", 250000.00, 50000.00, "overdue"),  # 300,000 − 250,000 applied to Q2
        ("2023-07-10", 250000.00, 0.00, "overdue"),
        ("2023-10-10", 250000.03, 0.00, "overdue")]
    assert sum(Decimal(str(i["amount"])) for i in s["installments"]) == Decimal("1000000.03")
    books_ok(world)
    too_much = world.client.post(f"{FUNDS}/receipts", headers=world.admin, json={
        **NANJING, "year": 2023, "amount": 700000.04})  # 700,000.03 is outstanding
    assert too_much.status_code == 409
    assert too_much.json()["error"]["message"].startswith(
        "基金 nanjing/320102 2023 年预算资金待到账 700000.03 元，到账 700000.04 元超出")
    lower = world.client.post(f"{FUNDS}/budgets", headers=world.admin, json={
        **NANJING, "year": 2023, "amount": 200000, "source": "cut"})
    assert lower.status_code == 409  # 300,000 already paid in
    assert lower.json()["error"]["message"].startswith(
        "本区 2023 年预算已到账 300000.00 元，预算不能少于此数")


def _paid_batch(w: World) -> None:
    b = make_batches(w)["created"][0]
    for step in ("approve", "pay"):
        body = {"paid_on": "2023-04-05"} if step == "pay" else None
        r = w.client.post(f"{FUNDS}/batches/{b['id']}/{step}", headers=w.admin, json=body)
        assert r.status_code == 200, r.text
        books_ok(w)
    assert r.json()["status"] == "paid"


def _clear(w: World, share: str = "0.9") -> Any:
    return w.client.post(f"{FUNDS}/clearings", headers=w.admin, json={
        **NANJING, "year": 2023, "cleared_on": "2024-03-20",
        "assessments": [{"fixmedins_code": "H32010200001", "share": float(share)}]})


def _budget(w: World, amount: str) -> None:
    r = w.client.post(f"{FUNDS}/budgets", headers=w.admin, json={
        **NANJING, "year": 2023, "amount": float(amount), "source": "budget"})
    assert r.status_code == 200, r.text


def test_clearing_with_a_surplus(world: World, march_2023: None) -> None:
    three_settlements(world)
    _budget(world, "2000.00")
    b = make_batches(world)["created"][0]
    unpaid = _clear(world)
    assert unpaid.status_code == 409 and f"batch {b['id']}" in unpaid.json()["error"]["message"]
    assert unpaid.json()["error"]["message"].startswith("基金 nanjing/320102 2023 年尚不能清算：")
    assert f"支付批次 {b['id']}（2023-03）已生成" in unpaid.json()["error"]["message"]
    world.client.post(f"{FUNDS}/batches/{b['id']}/approve", headers=world.admin)
    world.client.post(f"{FUNDS}/batches/{b['id']}/pay", headers=world.admin, json={})
    r = _clear(world)
    assert r.status_code == 201, r.text
    c = r.json()
    # reserve 56.18 × 0.9 = 50.562 → 50.56 released, 5.62 forfeited to the fund;
    # 0 opening + 2000.00 budget + 5.62 − 1123.52 assistance = 882.10 carried forward
    assert c["assessments"] == [{"fixmedins_code": "H32010200001", "share": "0.9",
                                 "reserve": 56.18, "released": 50.56, "forfeited": 5.62}]
    assert (c["surplus"], c["deficit"], c["deficit_status"]) == (882.10, 0.00, "none")
    assert (c["due"], c["late"], c["deficit_due"]) == ("2024-03-31", False, None)
    books = books_ok(world)
    accounts = {a["account"]: a["balance"] for a in books["accounts"]}
    # closed: revenue, forfeits and expense are zero; the reserve is gone; the surplus stays
    assert accounts["surplus_carried_forward"] == 882.10
    for name in ("budget_revenue", "reserve_forfeited", "assistance_expense",
                 "assessment_reserve", "payable_institution"):
        assert accounts[name] == 0
    # nothing received yet: bank = −1067.34 paid − 50.56 released; receivable 2000.00
    assert accounts["bank"] == -1117.90 and accounts["budget_receivable"] == 2000.00
    assert _clear(world).status_code == 409  # once


def test_clearing_with_a_deficit(world: World, march_2023: None) -> None:
    three_settlements(world)
    _budget(world, "1000.00")
    _paid_batch(world)
    c = _clear(world).json()
    # 1000.00 + 5.62 − 1123.52 = −117.90: a deficit the district makes up by 30 June 2024
    assert (c["surplus"], c["deficit"], c["deficit_due"]) == (0.00, 117.90, "2024-06-30")
    assert c["deficit_status"] == "overdue"  # today is after 30 June 2024
    books_ok(world)
    r = world.client.post(f"{FUNDS}/receipts", headers=world.admin, json={
        **NANJING, "year": 2023, "purpose": "deficit", "amount": 117.90,
        "received_on": "2024-06-01"})
    assert r.status_code == 201, r.text
    got = world.client.get(f"{FUNDS}/clearings", headers=world.admin,
                           params={"jurisdiction": "nanjing", "year": 2023}).json()
    assert got["clearings"][0]["deficit_status"] == "received"
    books = books_ok(world)
    accounts = {a["account"]: a["balance"] for a in books["accounts"]}
    assert accounts["deficit_receivable"] == 0 and accounts.get("surplus_carried_forward", 0) == 0
    report = world.client.get(f"{FUNDS}/report", headers=world.admin,
                              params={"jurisdiction": "nanjing", "year": 2023}).json()
    fund = report["funds"][0]
    assert fund["district"] == "320102" and fund["balanced"]
    assert fund["batches"]["paid"] == 1067.34 and fund["clearing"]["deficit"] == 117.90


def test_the_report_counts_the_districts_batches(world: World, march_2023: None) -> None:
    """March 2023: three stays at H32010200001 and one at H32010200002, all of 320102, make
    two batches (one an institution's month); April makes none."""
    three_settlements(world)
    settle_base(world, world.institution("H32010200002"), 9, "10.00")  # 90%: 9.00
    assert len(make_batches(world)["created"]) == 2
    assert make_batches(world, "2023-04")["created"] == []
    report = world.client.get(f"{FUNDS}/report", headers=world.admin,
                              params={"jurisdiction": "nanjing", "year": 2023}).json()
    (fund,) = report["funds"]
    # 123.45 + 1000.00 + 0.07 + 9.00 = 1132.52 of assistance
    assert (fund["district"], fund["batches"]["count"]) == ("320102", 2)
    assert fund["batches"]["assistance"] == 1132.52


def test_roles_and_scopes(world: World, march_2023: None) -> None:
    h = three_settlements(world)
    other = world.institution("H32010200002")
    b = make_batches(world)["created"][0]
    assert world.client.get(f"{FUNDS}/batches/{b['id']}", headers=h).status_code == 200
    assert world.client.get(f"{FUNDS}/batches/{b['id']}", headers=other).status_code == 403
    assert world.client.get(f"{FUNDS}/batches", headers=other).json()["batches"] == []
    params = {**NANJING, "year": 2023}
    assert world.client.get(f"{FUNDS}/schedule", headers=h, params=params).status_code == 403
    mine = world.token("caseworker", district="320102")
    theirs = world.token("caseworker", district="320106")
    assert world.client.get(f"{FUNDS}/schedule", headers=mine, params=params).status_code == 200
    assert world.client.get(f"{FUNDS}/schedule", headers=theirs, params=params
                            ).status_code == 403
    assert [x["id"] for x in world.client.get(f"{FUNDS}/batches", headers=mine
                                               ).json()["batches"]] == [b["id"]]
    assert world.client.get(f"{FUNDS}/batches", headers=theirs).json()["batches"] == []
    auditor, finance = world.token("auditor"), world.token("finance")
    assert world.client.get(f"{FUNDS}/balance", headers=auditor).status_code == 200
    for who in (auditor, mine, h):
        r = world.client.post(f"{FUNDS}/batches/{b['id']}/approve", headers=who)
        assert r.status_code == 403
    assert world.client.post(f"{FUNDS}/batches/{b['id']}/approve", headers=finance
                             ).status_code == 200


def test_bad_input_names_the_field(world: World) -> None:
    def post(path: str, body: dict[str, Any]) -> Any:
        r = world.client.post(f"{FUNDS}/{path}", headers=world.admin, json=body)
        assert r.status_code == 422, r.text
        return r.json()["error"]["path"]

    budget = {**NANJING, "year": 2023, "amount": 100, "source": "x"}
    assert post("budgets", budget | {"amount": -5}) == "$.amount"
    assert post("budgets", budget | {"amount": "1.001"}) == "$.amount"
    assert post("budgets", budget | {"district": "3201"}) == "$.district"
    assert post("budgets", budget | {"jurisdiction": "atlantis"}) == "$.jurisdiction"
    receipt = {k: v for k, v in budget.items() if k != "source"}  # a receipt has none
    assert post("receipts", receipt | {"purpose": "gift"}) == "$.purpose"
    assert post("receipts", budget) == "$.source"  # unknown: refused, not ignored
    assert post("clearings", {**NANJING, "year": 2023, "cleared_on": "2023-12-31"}
                ) == "$.cleared_on"
