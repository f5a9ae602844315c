"""Beijing (京医保发〔2022〕37号): each category's outpatient, inpatient and 门诊特殊疾病 lines,
their caps, the 因病致贫 refusal, the undefined tilted stage and the referral rule. The
document publishes no worked example; the amounts below are its articles applied by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest

from medaid.engine.case import parse_case, parse_json, result_json, settle_case

SEED = "005_db2b6b169e953d9a.txt"


def stay(vid: str, kind: str, day: str, base: int, **extra: Any) -> dict[str, Any]:
    """A visit whose assistance base is `base` yuan: all in policy range, nothing insured."""
    return {"id": vid, "kind": kind, "start": day, "end": day, "medfee_sumamt": base,
            "fulamt_ownpay_amt": 0, "overlmt_selfpay": 0, "preselfpay_amt": 0,
            "hifp_pay": 0, "hifmi_pay": 0, **extra}


def settle(category: str, visits: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    case = {"jurisdiction": "beijing", "local": {},
            "person": {"id": "P", "identities": [
                {"category": category, "from": "2023-01-01", "to": None, "application": None}]},
            "visits": visits}
    result = result_json(settle_case(parse_case(parse_json(json.dumps(case)))))
    return {v["id"]: v for v in result["visits"]}


def rules(v: dict[str, Any]) -> list[tuple[str, int]]:
    return [(t["rule"], t["amount"]) for t in v["trace"] if t.get("amount")]


@pytest.mark.parametrize(("category", "kind", "paid", "rule", "article"), [
    ("tekun", "general_outpatient", 20000, "BJ-A1", "六（一）1"),   # 100%, no cap
    ("zhiqing", "inpatient", 20000, "BJ-A1", "六（二）1"),
    ("tekun", "special_outpatient", 20000, "BJ-A1", "七"),          # 按住院救助标准
    ("jingjian", "general_outpatient", 16000, "BJ-A2", "六（一）2"),  # 80%, no cap
    ("jingjian", "inpatient", 17000, "BJ-A2", "六（二）2"),           # 85%
    ("dibao", "inpatient", 17000, "BJ-A3", "六（二）3"),
    ("low_income", "special_outpatient", 17000, "BJ-A3", "七"),
    ("shenghuo_kunnan", "general_outpatient", 8000, "BJ-A3", "六（一）3"),  # 80% of 20,000
])                                                                      # capped at 8,000
def test_each_category_and_kind(category: str, kind: str, paid: int, rule: str,
                                article: str) -> None:
    v = settle(category, [stay("V1", kind, "2023-03-01", 20000)])["V1"]
    assert (v["category"], v["assistance"], v["maf_pay"]) == (category, paid, paid)
    assert v["psn_part_amt"] == 20000 - paid
    line = next(t for t in v["trace"] if t["rule"] == rule and t.get("amount"))
    assert line["source"] == f"{SEED} {article}"


def test_the_outpatient_cap_is_a_year_and_apart_from_the_inpatient_cap() -> None:
    vs = settle("dibao", [stay("V1", "general_outpatient", "2023-02-01", 6000),
                          stay("V2", "general_outpatient", "2023-03-01", 6000),
                          stay("V3", "inpatient", "2023-04-01", 10000),
                          stay("V4", "general_outpatient", "2024-01-05", 1000)])
    assert vs["V1"]["assistance"] == 4800          # 80% × 6,000
    assert vs["V2"]["assistance"] == 3200          # 8,000 − 4,800 left of the year's cap
    assert vs["V3"]["assistance"] == 8500          # 85%: the inpatient cap is another pool
    assert vs["V4"]["assistance"] == 800           # a new year, a new cap


def test_special_outpatient_counts_against_the_inpatient_cap() -> None:
    vs = settle("dibao", [stay("V1", "inpatient", "2023-02-01", 180000),
                          stay("V2", "special_outpatient", "2023-05-01", 20000)])
    assert vs["V1"]["assistance"] == 153000        # 85% × 180,000
    assert vs["V2"]["assistance"] == 7000          # 160,000 − 153,000 (并入住院年度限额)


def test_yinbing_is_refused_at_the_visit_with_the_reason() -> None:
    v = settle("yinbing", [stay("V1", "inpatient", "2023-03-01", 20000)])["V1"]
    assert (v["assistance"], v["maf_pay"], v["psn_part_amt"]) == (0, 0, 20000)
    refusal = next(t for t in v["trace"] if t["rule"] == "BJ-A4")
    assert refusal["source"] == f"{SEED} 六（三）"
    assert "同一自然年度只能申请一次" in refusal["text"]


def test_tilted_assistance_waits_for_the_districts() -> None:
    v = settle("dibao", [stay("V1", "inpatient", "2023-03-01", 100000)])["V1"]
    assert v["tilted"] == 0
    assert any(t["rule"] == "BJ-T" and "尚未规定" in t["text"] for t in v["trace"])


def test_an_unreferred_visit_is_not_assisted() -> None:
    for referral in ("unreferred", "unreferred_hardship"):
        v = settle("tekun", [stay("V1", "inpatient", "2023-03-01", 20000,
                                  referral=referral)])["V1"]
        assert (v["assistance"], v["psn_part_amt"]) == (0, 20000), referral
