"""Jiangsu framework (RULES.md §4.2), hand-computed from the spec.

Local parameters here: basic_cap 100,000 → key_cap defaults to 50,000; low-income 60% after
an annual 2,000 deductible; other 50% after 5,000."""

from __future__ import annotations

import json

import pytest
from rules_helpers import JIANGSU, assert_chain, assert_traced, base_visit, case, ident, settle

from medaid.case import parse_case, parse_json, result_json, settle_case
from medaid.errors import InputError

JL = {"basic_cap": 100000, "low_income_ratio": 0.6, "low_income_deductible": 2000,
      "other_ratio": 0.5, "other_deductible": 5000}
KEY = ["dibao", "tekun", "linshi_illness", "jingjian", "youfu", "orphan", "tekun_worker"]
KINDS = ["general_outpatient", "special_outpatient", "inpatient", "dual_channel_drug",
         "rare_disease_drug", "rehabilitation", "childbirth"]


def js(identities, visits, local=None):
    return settle(case("jiangsu", identities, visits, {**JL, **(local or {})}))


def js_error(identities, visits, local) -> InputError:
    c = case("jiangsu", identities, visits, local)
    with pytest.raises(InputError) as e:
        result_json(settle_case(parse_case(parse_json(json.dumps(c)))))
    return e.value


# -- JS-A1 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cat", KEY)
def test_js_a1_key_objects_seventy_percent_no_deductible(cat):
    # 70% × 10000 = 7000 from the first yuan
    v = js([ident(cat)], [base_visit("V1", "inpatient", "2023-02-01", "2023-02-05",
                                     base=10000)])["V1"]
    assert (v["category"], v["assistance"], v["tilted"]) == (cat, 7000, 0)
    assert_chain(v)
    assert_traced(v, "assistance", "JS-A1", JIANGSU, "三（二）2")


@pytest.mark.parametrize("kind", KINDS)
def test_js_a1_all_visit_kinds(kind):
    v = js([ident("dibao")], [base_visit("V1", kind, "2023-02-01", base=1000)])["V1"]
    assert v["assistance"] == 700  # 70% × 1000


def test_js_a1_key_cap_defaults_to_half_of_basic_cap():
    # key_cap = 50% × 100000 = 50000; V1 70% × 60000 = 42000; V2 14000 → 8000 left
    r = js([ident("dibao")], [
        base_visit("V1", "inpatient", "2023-02-01", "2023-02-05", base=60000),
        base_visit("V2", "inpatient", "2023-03-01", "2023-03-05", base=20000)])
    assert r["V1"]["assistance"] == 42000
    assert r["V2"]["assistance"] == 8000


def test_js_a1_key_cap_follows_basic_cap():
    # basic_cap 200000 → key_cap 100000; 70% × 200000 = 140000 → 100000
    v = js([ident("tekun")], [base_visit("V1", "inpatient", "2023-02-01", "2023-02-05",
                                         base=200000)], {"basic_cap": 200000})["V1"]
    assert v["assistance"] == 100000


def test_js_a1_local_key_ratio_and_key_cap():
    # key_ratio 80%: 80% × 100000 = 80000 → key_cap 60000
    v = js([ident("dibao")], [base_visit("V1", "inpatient", "2023-02-01", "2023-02-05",
                                         base=100000)],
           {"key_ratio": 0.8, "key_cap": 60000})["V1"]
    assert v["assistance"] == 60000
    w = js([ident("dibao")], [base_visit("V1", "inpatient", "2023-02-01", "2023-02-05",
                                         base=10000)], {"key_ratio": 0.8})["V1"]
    assert w["assistance"] == 8000


# -- JS-A2 -----------------------------------------------------------------------------------
def test_js_a2_low_income_annual_deductible_then_ratio():
    # V1 1500 < 2000 → 0; V2 cumulative 4500 → 2500 × 60% = 1500
    r = js([ident("low_income")], [
        base_visit("V1", "inpatient", "2023-02-01", "2023-02-05", base=1500),
        base_visit("V2", "special_outpatient", "2023-03-01", base=3000)])
    assert r["V1"]["assistance"] == 0
    assert (r["V2"]["category"], r["V2"]["assistance"]) == ("low_income", 1500)
    assert_traced(r["V2"], "assistance", "JS-A2", JIANGSU, "三（二）2")


def test_js_a2_low_income_capped_by_key_cap():
    # (200000 − 2000) × 60% = 118800 → key_cap 50000
    v = js([ident("low_income")], [base_visit("V1", "inpatient", "2023-02-01", "2023-02-05",
                                              base=200000)])["V1"]
    assert v["assistance"] == 50000


# -- JS-A3 -----------------------------------------------------------------------------------
def test_js_a3_other_special_deductible_then_ratio():
    # (10000 − 5000) × 50% = 2500
    v = js([ident("other_special")], [base_visit("V1", "inpatient", "2023-02-01",
                                                 "2023-02-05", base=10000)])["V1"]
    assert (v["category"], v["assistance"]) == ("other_special", 2500)
    assert_traced(v, "assistance", "JS-A3", JIANGSU, "三（二）2")


def test_js_a3_other_special_capped_by_key_cap():
    # (200000 − 5000) × 50% = 97500 → 50000
    v = js([ident("other_special")], [base_visit("V1", "inpatient", "2023-02-01",
                                                 "2023-02-05", base=200000)])["V1"]
    assert v["assistance"] == 50000


def test_js_highest_benefit_key_over_low_income():
    # dibao 70% × 10000 = 7000 vs low-income (10000 − 2000) × 60% = 4800
    v = js([ident("low_income"), ident("dibao")],
           [base_visit("V1", "inpatient", "2023-02-01", "2023-02-05", base=10000)])["V1"]
    assert (v["category"], v["assistance"]) == ("dibao", 7000)


# -- required parameters ---------------------------------------------------------------------
@pytest.mark.parametrize(("cat", "missing"), [
    ("low_income", "low_income_ratio"), ("low_income", "low_income_deductible"),
    ("other_special", "other_ratio"), ("other_special", "other_deductible")])
def test_js_required_parameter_missing_is_an_error_naming_it(cat, missing):
    local = {k: v for k, v in JL.items() if k != missing}
    e = js_error([ident(cat)], [base_visit("V1", "inpatient", "2023-02-01", base=1000)], local)
    assert e.path == f"local.{missing}"
    assert f"jiangsu: local parameter {missing} is required" in str(e)


def test_js_key_cap_without_basic_cap_is_an_error():
    local = {k: v for k, v in JL.items() if k != "basic_cap"}
    e = js_error([ident("dibao")], [base_visit("V1", "inpatient", "2023-02-01", base=1000)],
                 local)
    # key_cap defaults to 50% of basic_cap; neither given → an error naming the parameter
    assert "basic_cap" in str(e) or "key_cap" in str(e)
    assert e.path.startswith("local.")


# -- JS-W ------------------------------------------------------------------------------------
def test_js_w_exact_from_and_month_end_of_to():
    # from 03-20 exactly; to 06-10 → to 06-30; 70% × 1000 = 700 when in force
    r = js([ident("dibao", "2023-03-20", "2023-06-10")], [
        base_visit("V1", "special_outpatient", "2023-03-19", base=1000),
        base_visit("V2", "special_outpatient", "2023-03-20", base=1000),
        base_visit("V3", "special_outpatient", "2023-06-30", base=1000),
        base_visit("V4", "special_outpatient", "2023-07-01", base=1000)])
    assert [r[f"V{i}"]["assistance"] for i in (1, 2, 3, 4)] == [0, 700, 700, 0]
    assert r["V1"]["category"] is None
    assert r["V4"]["category"] is None


def test_js_w_stay_rule_both_directions():
    # from 03-20: stay 03-15..03-21 covers 03-20 → 700; stay 03-10..03-19 → 0
    # to 06-10 (→ 06-30): stay 06-25..07-03 → 700; stay 07-01..07-05 → 0
    r = js([ident("dibao", "2023-03-20", "2023-06-10")], [
        base_visit("V1", "inpatient", "2023-03-15", "2023-03-21", base=1000),
        base_visit("V2", "inpatient", "2023-03-10", "2023-03-19", base=1000),
        base_visit("V3", "inpatient", "2023-06-25", "2023-07-03", base=1000),
        base_visit("V4", "inpatient", "2023-07-01", "2023-07-05", base=1000)])
    assert [r[f"V{i}"]["assistance"] for i in (1, 2, 3, 4)] == [700, 0, 700, 0]


def test_js_lines_share_main_cap():
    # dibao (to 02-10 → 02-28) 70% × 60000 = 42000; then low-income:
    # (60000 − 2000) × 60% = 34800, at most 50000 − 42000 = 8000
    r = js([ident("dibao", "2023-01-01", "2023-02-10"), ident("low_income", "2023-04-01")],
           [base_visit("V1", "inpatient", "2023-02-01", base=60000),
            base_visit("V2", "inpatient", "2023-05-01", base=60000)])
    assert (r["V1"]["category"], r["V1"]["assistance"]) == ("dibao", 42000)
    assert (r["V2"]["category"], r["V2"]["assistance"]) == ("low_income", 8000)


# -- amended 2026-12-04 ---------------------------------------------------------------------
@pytest.mark.parametrize(("cat", "covered"), [("dibao", True), ("linshi_illness", False)])
def test_js_w_month_end_exit_only_for_the_listed_key_categories(cat, covered):
    # to 03-10, visit 03-20: 二（三） lists dibao (→ 03-31); linshi_illness ends on 03-10
    v = js([ident(cat, "2023-01-01", "2023-03-10")],
           [base_visit("V1", "general_outpatient", "2023-03-20", base=1000)])["V1"]
    assert v["assistance"] == (700 if covered else 0)


@pytest.mark.parametrize(("cat", "local", "path"), [
    ("low_income", {"low_income_ratio": 0.7}, "local.low_income_ratio"),  # not < key 0.70
    ("other_special", {"other_ratio": 0.6}, "local.other_ratio"),  # not < low-income 0.60
    ("dibao", {"key_cap": 40000}, "local.key_cap"),  # < 50% of basic_cap 100000
])
def test_js_floors_are_errors_naming_the_parameter(cat, local, path):
    e = js_error([ident(cat)], [base_visit("V1", "inpatient", "2023-02-01", base=10000)],
                 {**JL, **local})
    assert e.path == path


def test_js_optional_outpatient_cap_limits_general_outpatient_inside_key_cap():
    # outpatient_cap 1000: V1 70% × 2000 = 1400 → 1000; V2 inpatient 7000 (main_cap 50000
    # has paid 1000); V3 general outpatient: the outpatient cap is spent → 0
    r = js([ident("dibao")], [base_visit("V1", "general_outpatient", "2023-02-01", base=2000),
                              base_visit("V2", "inpatient", "2023-03-01", base=10000),
                              base_visit("V3", "general_outpatient", "2023-04-01", base=1000)],
           {"outpatient_cap": 1000})
    assert [r[v]["assistance"] for v in ("V1", "V2", "V3")] == [1000, 7000, 0]


def test_js_without_outpatient_cap_only_key_cap_applies():
    v = js([ident("dibao")], [base_visit("V1", "general_outpatient", "2023-02-01",
                                         base=2000)])["V1"]
    assert v["assistance"] == 1400
