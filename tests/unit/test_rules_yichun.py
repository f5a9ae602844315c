"""Yichun (RULES.md §4.3), hand-computed from the spec.

Income 40,000 → class-3 deductible 4,000 (10%), class-4 deductible 10,000 (25%).
YC-T: S* = d + cap / r — class 2: 0 + 50000/0.75 = 66666.67; class 3: 4000 + 30000/0.65 =
50153.85; class 4: 10000 + 20000/0.6 = 43333.33 (all to the fen)."""

from __future__ import annotations

import json

import pytest
from rules_helpers import (
    YICHUN,
    D,
    assert_chain,
    assert_traced,
    base_visit,
    case,
    ident,
    settle,
    stay,
)

from medaid.case import parse_case, parse_json, result_json, settle_case
from medaid.errors import InputError

YL = {"income_per_capita_prev_year": 40000}


def yc(identities, visits, local=None, **person):
    return settle(case("yichun", identities, visits, {**YL, **(local or {})}, **person))


# -- YC-A1 / YC-A2 ---------------------------------------------------------------------------
@pytest.mark.parametrize("cat", ["tekun", "orphan"])
def test_yc_a1_class1_general_outpatient_full_no_cap(cat):
    v = yc([ident(cat)], [base_visit("V1", "general_outpatient", "2023-02-01",
                                     base=50000)])["V1"]
    assert (v["category"], v["assistance"]) == (cat, 50000)
    assert_traced(v, "assistance", "YC-A1", YICHUN, "第十条 1")


@pytest.mark.parametrize("kind", ["inpatient", "special_outpatient"])
@pytest.mark.parametrize("cat", ["tekun", "orphan"])
def test_yc_a2_class1_full_no_deductible_no_cap(cat, kind):
    v = yc([ident(cat)], [base_visit("V1", kind, "2023-02-01", base=300000)])["V1"]
    assert v["assistance"] == 300000
    assert v["tilted"] == 0
    assert_chain(v)
    assert_traced(v, "assistance", "YC-A2", YICHUN, "第十条 2、3")


# -- YC-A3 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cat", ["dibao", "fanpin"])
def test_yc_a3_class2_75_percent_cap_50000(cat):
    # V1 75% × 60000 = 45000; V2 75% × 20000 = 15000 → 5000 left of 50000
    r = yc([ident(cat)], [stay("V1", "2023-02-01", "2023-02-05", 60000),
                          stay("V2", "2023-03-01", "2023-03-05", 20000)])
    assert (r["V1"]["category"], r["V1"]["assistance"]) == (cat, 45000)
    assert r["V2"]["assistance"] == 5000
    assert_traced(r["V1"], "assistance", "YC-A3", YICHUN, "第十条 2、3")


# -- YC-A4 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cat", ["jiance", "dibao_edge"])
def test_yc_a4_class3_deductible_ten_percent_then_65(cat):
    # deductible 4000: V1 3000 → 0; V2 cumulative 8000 → 4000 × 65% = 2600
    r = yc([ident(cat)], [stay("V1", "2023-02-01", "2023-02-05", 3000),
                          stay("V2", "2023-04-01", "2023-04-09", 5000)])
    assert r["V1"]["assistance"] == 0
    assert (r["V2"]["category"], r["V2"]["assistance"]) == (cat, 2600)
    assert_traced(r["V2"], "assistance", "YC-A4", YICHUN, "第十条 2、3")


def test_yc_a4_class3_cap_30000():
    # (100000 − 4000) × 65% = 62400 → 30000
    v = yc([ident("dibao_edge")], [stay("V1", "2023-02-01", "2023-02-05", 100000)])["V1"]
    assert v["assistance"] == 30000


# -- YC-A5 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cat", ["zhichu_illness", "other_special"])
def test_yc_a5_class4_deductible_25_percent_then_60(cat):
    # deductible 10000: (30000 − 10000) × 60% = 12000
    v = yc([ident(cat)], [base_visit("V1", "special_outpatient", "2023-02-01",
                                     base=30000)])["V1"]
    assert (v["category"], v["assistance"]) == (cat, 12000)
    assert_traced(v, "assistance", "YC-A5", YICHUN, "第十条 2、3")


def test_yc_a5_class4_deductible_accumulates_and_cap_20000():
    # V1 10000 = deductible → 0; V2 1000 → 600; V3 100000 → 60600 − 600 … cap 20000 → 19400
    r = yc([ident("zhichu_illness")], [stay("V1", "2023-02-01", "2023-02-05", 10000),
                                       stay("V2", "2023-03-01", "2023-03-05", 1000),
                                       stay("V3", "2023-04-01", "2023-04-05", 100000)])
    assert [r[f"V{i}"]["assistance"] for i in (1, 2, 3)] == [0, 600, 19400]


@pytest.mark.parametrize("cat", ["dibao", "fanpin", "jiance", "dibao_edge", "zhichu_illness",
                                 "other_special"])
def test_yc_classes_2_to_4_nothing_for_general_outpatient(cat):
    v = yc([ident(cat)], [base_visit("V1", "general_outpatient", "2023-02-01",
                                     base=50000)])["V1"]
    assert (v["assistance"], v["maf_pay"]) == (0, 0)
    assert v["trace"]


def test_yc_income_is_required_for_class3():
    c = case("yichun", [ident("dibao_edge")], [stay("V1", "2023-02-01", "2023-02-05", 1000)])
    with pytest.raises(InputError) as e:
        result_json(settle_case(parse_case(parse_json(json.dumps(c)))))
    assert "income_per_capita_prev_year" in str(e.value)
    assert e.value.path == "local.income_per_capita_prev_year"


def test_yc_main_cap_shared_across_classes():
    # dibao (to 03-31) 75% × 40000 = 30000 of main_cap; then zhichu (cap 20000):
    # at most max(0, 20000 − 30000) = 0
    r = yc([ident("dibao", "2023-01-01", "2023-03-31"), ident("zhichu_illness")],
           [stay("V1", "2023-02-01", "2023-02-05", 40000),
            stay("V2", "2023-05-01", "2023-05-05", 50000)])
    assert (r["V1"]["category"], r["V1"]["assistance"]) == ("dibao", 30000)
    assert r["V2"]["assistance"] == 0


def test_yc_tie_order():
    assert yc([ident("orphan"), ident("tekun")],
              [stay("V1", "2023-02-01", "2023-02-05", 100)])["V1"]["category"] == "tekun"
    assert yc([ident("fanpin"), ident("dibao")],
              [stay("V1", "2023-02-01", "2023-02-05", 100)])["V1"]["category"] == "dibao"


# -- YC-W ------------------------------------------------------------------------------------
def test_yc_w_exact_from_and_to():
    # from 03-20, to 06-10, exact; dibao 75% × 1000 = 750
    r = yc([ident("dibao", "2023-03-20", "2023-06-10")], [
        base_visit("V1", "special_outpatient", "2023-03-19", base=1000),
        base_visit("V2", "special_outpatient", "2023-03-20", base=1000),
        base_visit("V3", "special_outpatient", "2023-06-10", base=1000),
        base_visit("V4", "special_outpatient", "2023-06-11", base=1000)])
    assert [r[f"V{i}"]["assistance"] for i in (1, 2, 3, 4)] == [0, 750, 750, 0]


def test_yc_w_no_stay_rule_discharge_date_decides():
    # to 06-10: stay 06-05..06-12 ends outside → 0; from 03-20: stay 03-15..03-21 ends inside
    r = yc([ident("dibao", "2023-03-20", "2023-06-10")], [
        stay("V1", "2023-03-15", "2023-03-21", 1000),
        stay("V2", "2023-06-05", "2023-06-12", 1000)])
    assert r["V1"]["assistance"] == 750
    assert (r["V2"]["category"], r["V2"]["assistance"]) == (None, 0)


# -- YC-R ------------------------------------------------------------------------------------
@pytest.mark.parametrize("referral", ["unreferred", "unreferred_hardship"])
def test_yc_r_unreferred_no_assistance_no_tilt(referral):
    v = yc([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-05", 200000,
                                   location="province", referral=referral)],
           tilted_application="2023-01-10")["V1"]
    assert (v["assistance"], v["tilted"], v["maf_pay"]) == (0, 0, 0)
    assert any(t["rule"] == "YC-R" for t in v["trace"])


# -- YC-T ------------------------------------------------------------------------------------
def test_yc_t_class2_beyond_cap_paid_after_the_fact_for_the_whole_year():
    # V1 (before the 05-01 application, same year): assistance min(50000, 67500) = 50000;
    # tilted base 90000 − 66666.67 = 23333.33; − 10000 → × 60% = 8000
    # V2: assistance 0 (cap); tilt T(110000) = min(10000, …) → 10000 − 8000 = 2000
    r = yc([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-05", 90000),
                              stay("V2", "2023-06-01", "2023-06-05", 20000)],
           tilted_application="2023-05-01")
    assert (r["V1"]["assistance"], r["V1"]["tilted"]) == (50000, 8000)
    assert (r["V2"]["assistance"], r["V2"]["tilted"]) == (0, 2000)
    assert_traced(r["V1"], "tilted", "YC-T", YICHUN, "第十条 4")
    assert_chain(r["V1"])


def test_yc_t_tilted_deductible_pool_accumulates():
    # T(80000) = (80000 − 76666.67) × 60% = 2000; T(85000) = 5000 → V2 3000
    r = yc([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-05", 80000),
                              stay("V2", "2023-03-01", "2023-03-05", 5000)],
           tilted_application="2023-01-05")
    assert r["V1"]["tilted"] == 2000
    assert r["V2"]["tilted"] == 3000


def test_yc_t_class4():
    # assistance min(20000, 50000 × 60%) = 20000; tilted base 60000 − 43333.33 = 16666.67 →
    # (16666.67 − 10000) × 60% = 4000
    v = yc([ident("zhichu_illness")], [stay("V1", "2023-02-01", "2023-02-05", 60000)],
           tilted_application="2023-01-10")["V1"]
    assert (v["assistance"], v["tilted"]) == (20000, 4000)


def test_yc_t_class3():
    # assistance min(30000, 66000 × 65%) = 30000; tilted base 70000 − 50153.846… =
    # 19846.15; (19846.15 − 10000) × 60% = 5907.69
    v = yc([ident("dibao_edge")], [base_visit("V1", "special_outpatient", "2023-02-01",
                                              base=70000)],
           tilted_application="2023-01-10")["V1"]
    assert (v["assistance"], v["tilted"]) == (30000, D("5907.69"))


def test_yc_t_cap_10000():
    # (200000 − 76666.67) × 60% = 74000 → 10000
    v = yc([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-05", 200000)],
           tilted_application="2023-01-10")["V1"]
    assert v["tilted"] == 10000


def test_yc_t_needs_an_application():
    v = yc([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-05", 200000)])["V1"]
    assert (v["assistance"], v["tilted"]) == (50000, 0)


def test_yc_t_application_of_another_year_does_not_cover():
    v = yc([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-05", 200000)],
           tilted_application="2022-12-01")["V1"]
    assert v["tilted"] == 0


def test_yc_t_class1_never_tilted():
    v = yc([ident("tekun")], [stay("V1", "2023-02-01", "2023-02-05", 300000)],
           tilted_application="2023-01-10")["V1"]
    assert (v["assistance"], v["tilted"]) == (300000, 0)


@pytest.mark.parametrize(("kw", "tilted"), [
    ({"location": "city"}, 8000), ({"location": "province"}, 8000),
    ({"location": "out_of_province"}, 0)])
def test_yc_t_only_city_or_province(kw, tilted):
    v = yc([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-05", 90000, **kw)],
           tilted_application="2023-01-10")["V1"]
    assert (v["assistance"], v["tilted"]) == (50000, tilted)


def test_yc_t_only_special_outpatient_and_inpatient():
    # special outpatient counts like inpatient: 8000 (as above)
    v = yc([ident("dibao")], [base_visit("V1", "special_outpatient", "2023-02-01",
                                         base=90000)], tilted_application="2023-01-10")["V1"]
    assert v["tilted"] == 8000
    w = yc([ident("dibao")], [base_visit("V1", "general_outpatient", "2023-02-01",
                                         base=200000)], tilted_application="2023-01-10")["V1"]
    assert (w["assistance"], w["tilted"]) == (0, 0)


def test_yc_t_three_month_lookback_for_person_recognised_this_year():
    # from 06-15: 04-01 is within the 3 months before → counts into C and the tilted base,
    # regular assistance 0: T(90000) = 8000
    v = yc([ident("dibao", "2023-06-15")], [stay("V1", "2023-04-01", "2023-04-05", 90000)],
           tilted_application="2023-06-20")["V1"]
    assert (v["assistance"], v["tilted"]) == (0, 8000)
    assert_traced(v, "tilted", "YC-T", YICHUN, "第十条 4")


def test_yc_t_lookback_visit_counts_into_c_of_later_visits():
    # V1 in the look-back: C 0 → 90000, tilt 8000; V2 in force: C 90000 → 100000,
    # T(100000) = min(10000, 14000) → 10000 − 8000 = 2000
    r = yc([ident("dibao", "2023-06-15")], [stay("V1", "2023-04-01", "2023-04-05", 90000),
                                            stay("V2", "2023-07-01", "2023-07-05", 10000)],
           tilted_application="2023-06-20")
    assert r["V1"]["tilted"] == 8000
    assert r["V2"]["tilted"] == 2000


def test_yc_t_no_lookback_beyond_three_months():
    # from 06-15: 03-01 is more than 3 months before → nothing
    v = yc([ident("dibao", "2023-06-15")], [stay("V1", "2023-03-01", "2023-03-05", 90000)],
           tilted_application="2023-06-20")["V1"]
    assert (v["assistance"], v["tilted"]) == (0, 0)


def test_yc_t_star_is_exact_not_rounded_to_the_fen():
    # S* = 50000 / 0.75 = 66666.666…; tilted base 76666.71 − 66666.666… = 10000.0433…;
    # (… − 10000) × 60% = 0.026 → 0.03 (a fen-rounded S* 66666.67 would give 0.024 → 0.02)
    v = yc([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-05", 76666.71)],
           tilted_application="2023-01-10")["V1"]
    assert v["assistance"] == 50000
    assert v["tilted"] == D("0.03")


def test_yc_t_application_does_not_cover_next_year():
    # 2023 application: the 2023 stay gets 8000; the 2024 stay nothing
    r = yc([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-05", 90000),
                              stay("V2", "2024-02-01", "2024-02-05", 90000)],
           tilted_application="2023-05-01")
    assert (r["V1"]["tilted"], r["V2"]["tilted"]) == (8000, 0)
    assert (r["V2"]["year"], r["V2"]["assistance"]) == (2024, 50000)


def test_yc_childbirth_settled_as_inpatient():
    v = yc([ident("dibao")], [base_visit("V1", "childbirth", "2023-02-01", "2023-02-03",
                                         base=1000)])["V1"]
    assert v["assistance"] == 750  # YC-A3 75%


def test_yc_class1_line_without_cap_leaves_class2_cap_whole():
    # tekun until 05-31: V1 100% × 100000 on pool main, no cap pool. dibao from 06-01: V2
    # 75% × 10000 = 7500; main_cap has paid nothing → 7500 (RULES §3: caps are payout limits)
    r = yc([ident("tekun", "2023-01-01", "2023-05-31"), ident("dibao", "2023-06-01")],
           [stay("V1", "2023-02-01", "2023-02-10", 100000),
            stay("V2", "2023-07-01", "2023-07-05", 10000)])
    assert (r["V1"]["assistance"], r["V2"]["category"], r["V2"]["assistance"]) == (
        100000, "dibao", 7500)


def test_yc_t_lookback_visits_are_never_paid_so_the_cap_stays_whole():
    # V1 in the YC-T look-back counts C 0 → 90000 unpaid; V2 in force: 75% × 10000 = 7500
    # from a main_cap that has paid nothing
    r = yc([ident("dibao", "2023-06-15")], [stay("V1", "2023-04-01", "2023-04-05", 90000),
                                            stay("V2", "2023-07-01", "2023-07-05", 10000)],
           tilted_application="2023-06-20")
    assert (r["V1"]["assistance"], r["V2"]["assistance"]) == (0, 7500)
