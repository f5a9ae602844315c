"""Nanjing (RULES.md §4.1), hand-computed from the spec. Income 80,000 → NJ-A5 deductible 8,000."""

from __future__ import annotations

import pytest
from rules_helpers import (
    NANJING,
    NJ_CRITICAL,
    D,
    assert_chain,
    assert_traced,
    base_visit,
    ident,
    nj,
    visit,
)

NJ_A2_CATS = ["dibao", "kunjing_child", "jingjian", "tekun_worker", "dibao_edge"]


# -- NJ-A1 -----------------------------------------------------------------------------------
def test_nj_a1_tekun_inpatient_pays_whole_base():
    # base = (30000 − 2000) − 20000 = 8000; 100% → 8000; psn = 30000 − 20000 − 8000 = 2000
    v = nj([ident("tekun", "2022-06-01")],
           [visit("V1", "inpatient", "2023-04-02", "2023-04-12", total=30000, fulamt=2000,
                  hifp=20000)])["V1"]
    assert (v["category"], v["base"], v["assistance"], v["tilted"]) == ("tekun", 8000, 8000, 0)
    assert v["psn_part_amt"] == 2000
    assert_chain(v)
    assert_traced(v, "assistance", "NJ-A1", NANJING, "（四）")


def test_nj_a1_orphan_special_outpatient_full_base():
    # base = 2000 − 1200 = 800 → 100%
    v = nj([ident("orphan")], [visit("V1", "special_outpatient", "2023-05-01", total=2000,
                                     hifp=1200)])["V1"]
    assert (v["category"], v["assistance"]) == ("orphan", 800)
    assert_traced(v, "assistance", "NJ-A1", NANJING, "（四）")


def test_nj_a1_general_outpatient_has_no_cap():
    # NJ-A1 names no cap pool: 100% × 20000 = 20000 (NJ-A3's 10,000 cap is not its)
    v = nj([ident("tekun")], [base_visit("V1", "general_outpatient", "2023-05-01",
                                         base=20000)])["V1"]
    assert v["assistance"] == 20000
    assert v["tilted"] == 0  # base − assistance = 0


# -- NJ-A2 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cat", NJ_A2_CATS)
def test_nj_a2_inpatient_ninety_percent(cat):
    # inscp = 60000 − 5000 − 1000 = 54000; base = 54000 − 35000 − 3000 = 16000; 90% → 14400
    # NJ-T: 16000 − 14400 = 1600 < 20000 deductible → 0; psn = 60000 − 38000 − 14400 = 7600
    v = nj([ident(cat, "2023-01-15")],
           [visit("V1", "inpatient", "2023-03-01", "2023-03-10", total=60000, fulamt=5000,
                  preself=1000, hifp=35000, hifmi=3000)])["V1"]
    assert (v["category"], v["base"], v["assistance"]) == (cat, 16000, 14400)
    assert (v["tilted"], v["maf_pay"], v["psn_part_amt"]) == (0, 14400, 7600)
    assert v["inscp_scp_amt"] == 54000
    assert_chain(v)
    assert_traced(v, "assistance", "NJ-A2", NANJING, "（四）")


def test_nj_a2_special_outpatient_no_cap():
    # 90% × 500000 = 450000, no cap; out of province → no NJ-T
    v = nj([ident("dibao")], [base_visit("V1", "special_outpatient", "2023-05-01",
                                         base=500000, location="out_of_province")])["V1"]
    assert (v["assistance"], v["tilted"]) == (450000, 0)


# -- NJ-A3 -----------------------------------------------------------------------------------
def test_nj_a3_general_outpatient_segments_over_year():
    # V1: F(1000) = 850; V2: F(3000) = 2000×85% + 1000×80% = 2500 → 2500 − 850 = 1650
    r = nj([ident("dibao")], [base_visit("V1", "general_outpatient", "2023-02-01", base=1000),
                              base_visit("V2", "general_outpatient", "2023-03-01", base=2000)])
    assert r["V1"]["assistance"] == 850
    assert r["V2"]["assistance"] == 1650
    assert_traced(r["V2"], "assistance", "NJ-A3", NANJING, "（四）")


@pytest.mark.parametrize("cat", NJ_A2_CATS)
def test_nj_a3_outpatient_cap_10000(cat):
    # F(20000) = 1700 + 18000×80% = 16100 → cap 10000; V2 then 0
    r = nj([ident(cat)], [
        base_visit("V1", "general_outpatient", "2023-02-01", base=20000,
                   location="out_of_province"),
        base_visit("V2", "general_outpatient", "2023-03-01", base=1000,
                   location="out_of_province")])
    assert r["V1"]["assistance"] == 10000
    assert r["V2"]["assistance"] == 0
    assert r["V2"]["trace"], "cap reached must be traced"


def test_nj_a3_rounding_half_up_cumulative():
    # 85% × 0.10 = 0.085 → 0.09; cumulative 0.20 → 0.17 (pay 0.08)
    r = nj([ident("dibao")], [base_visit("V1", "general_outpatient", "2023-02-01", base=0.1),
                              base_visit("V2", "general_outpatient", "2023-02-02", base=0.1)])
    assert r["V1"]["assistance"] == D("0.09")
    assert r["V2"]["assistance"] == D("0.08")


# -- NJ-A4 -----------------------------------------------------------------------------------
def test_nj_a4_youfu_outpatient_default_allowance_zero():
    # allowance defaults to 0: 80% × 1000 = 800
    v = nj([ident("youfu")], [base_visit("V1", "general_outpatient", "2023-02-01",
                                         base=1000)])["V1"]
    assert (v["category"], v["assistance"]) == ("youfu", 800)
    assert_traced(v, "assistance", "NJ-A4", NANJING, "（四）")


def test_nj_a4_youfu_allowance_is_an_annual_deductible():
    # allowance 500: V1 base 300 → 0; V2 cumulative 1000 → (1000 − 500) × 80% = 400
    r = nj([ident("youfu")], [base_visit("V1", "general_outpatient", "2023-02-01", base=300),
                              base_visit("V2", "general_outpatient", "2023-03-01", base=700)],
           local={"youfu_outpatient_allowance": 500})
    assert r["V1"]["assistance"] == 0
    assert r["V2"]["assistance"] == 400


def test_nj_a4_youfu_outpatient_cap_10000():
    # 80% × 20000 = 16000 → cap 10000
    v = nj([ident("youfu")], [base_visit("V1", "general_outpatient", "2023-02-01",
                                         base=20000, location="out_of_province")])["V1"]
    assert v["assistance"] == 10000


@pytest.mark.parametrize("kind", ["inpatient", "special_outpatient"])
def test_nj_youfu_inpatient_and_special_outpatient_not_assisted_traced(kind):
    # governed by 宁政规字〔2016〕2号: no assistance here, with a trace line
    v = nj([ident("youfu")], [base_visit("V1", kind, "2023-02-01", base=5000)])["V1"]
    assert v["assistance"] == 0
    assert v["trace"]


@pytest.mark.parametrize("category,kind", [("youfu", "inpatient"),
                                           ("youfu", "special_outpatient"),
                                           ("other_special", "inpatient")])
def test_nj_visits_the_document_leaves_unassisted_get_no_tilt_either(category, kind):
    # a base of 30000 would give NJ-T (30000 − 20000) × 60% = 6000 were the visit assisted
    v = nj([ident(category)], [base_visit("V1", kind, "2023-02-01", base=30000)])["V1"]
    assert (v["assistance"], v["tilted"], v["maf_pay"]) == (0, 0, 0)
    assert any(t["rule"] == "NJ-T" and "does not assist" in t["detail"] for t in v["trace"])


def test_nj_other_special_no_rule_traced():
    v = nj([ident("other_special")], [base_visit("V1", "inpatient", "2023-02-01",
                                                 base=5000)])["V1"]
    assert v["assistance"] == 0
    assert v["maf_pay"] == 0  # tilt base 5000 < 20000 either way
    assert v["trace"]


# -- NJ-A5 / NJ-A6 ---------------------------------------------------------------------------
@pytest.mark.parametrize("cat", ["zhichu_illness", "linshi_illness"])
def test_nj_a5_annual_deductible_ten_percent_of_income(cat):
    # deductible 10% × 80000 = 8000; V1 base 5000 → 0; V2 cumulative 15000 → 7000 × 70% = 4900
    r = nj([ident(cat)], [base_visit("V1", "inpatient", "2023-02-01", "2023-02-03", base=5000),
                          base_visit("V2", "special_outpatient", "2023-03-01", base=10000)])
    assert r["V1"]["assistance"] == 0
    assert r["V2"]["assistance"] == 4900
    assert r["V2"]["category"] == cat
    assert_traced(r["V2"], "assistance", "NJ-A5", NANJING, "（四）")


def test_nj_a5_a6_share_the_annual_deductible():
    # V1 outpatient 6000 (pool 6000) → 0; V2 inpatient: pool 10000 → 2000 × 70% = 1400;
    # V3 outpatient 1000 → 700
    r = nj([ident("zhichu_illness")], [
        base_visit("V1", "general_outpatient", "2023-02-01", base=6000),
        base_visit("V2", "inpatient", "2023-03-01", "2023-03-04", base=4000),
        base_visit("V3", "general_outpatient", "2023-04-01", base=1000)])
    assert r["V1"]["assistance"] == 0
    assert r["V2"]["assistance"] == 1400
    assert r["V3"]["assistance"] == 700
    assert_traced(r["V3"], "assistance", "NJ-A6", NANJING, "（四）")


def test_nj_a6_outpatient_cap_10000():
    # (30000 − 8000) × 70% = 15400 → cap 10000
    v = nj([ident("linshi_illness")], [base_visit("V1", "general_outpatient", "2023-02-01",
                                                  base=30000, location="out_of_province")])["V1"]
    assert v["assistance"] == 10000


def test_nj_a5_main_cap_200000():
    # (400000 − 8000) × 70% = 274400 → cap 200000
    v = nj([ident("zhichu_illness")], [base_visit("V1", "inpatient", "2023-02-01",
                                                  "2023-02-20", base=400000,
                                                  location="out_of_province")])["V1"]
    assert v["assistance"] == 200000


# -- NJ-W ------------------------------------------------------------------------------------
def test_nj_w_month_rule_from_and_to():
    # from 03-20 → in force 03-01; to 06-10 → in force to 06-30; 90% × 1000 = 900 when in force
    r = nj([ident("dibao", "2023-03-20", "2023-06-10")], [
        base_visit("V1", "special_outpatient", "2023-02-28", base=1000),
        base_visit("V2", "special_outpatient", "2023-03-01", base=1000),
        base_visit("V3", "special_outpatient", "2023-06-30", base=1000),
        base_visit("V4", "special_outpatient", "2023-07-01", base=1000)])
    assert (r["V1"]["category"], r["V1"]["assistance"]) == (None, 0)
    assert (r["V2"]["category"], r["V2"]["assistance"]) == ("dibao", 900)
    assert (r["V3"]["category"], r["V3"]["assistance"]) == ("dibao", 900)
    assert (r["V4"]["category"], r["V4"]["assistance"]) == (None, 0)


def test_nj_w_stay_rule_identity_starting_during_stay():
    # from 04-15 → in force from 04-01; stay 03-25..04-03 has in-force days → 900
    # stay 03-20..03-31 has none → 0
    r = nj([ident("dibao", "2023-04-15")], [
        base_visit("V1", "inpatient", "2023-03-25", "2023-04-03", base=1000),
        base_visit("V2", "inpatient", "2023-03-20", "2023-03-31", base=1000)])
    assert (r["V1"]["category"], r["V1"]["assistance"]) == ("dibao", 900)
    assert (r["V2"]["category"], r["V2"]["assistance"]) == (None, 0)


def test_nj_w_stay_rule_identity_ending_during_stay():
    # to 05-10 → in force to 05-31; stay 05-25..06-05 overlaps → 900; stay 06-01..06-05 → 0
    r = nj([ident("dibao", "2023-01-01", "2023-05-10")], [
        base_visit("V1", "inpatient", "2023-05-25", "2023-06-05", base=1000),
        base_visit("V2", "inpatient", "2023-06-01", "2023-06-05", base=1000)])
    assert (r["V1"]["category"], r["V1"]["assistance"]) == ("dibao", 900)
    assert (r["V2"]["category"], r["V2"]["assistance"]) == (None, 0)


def test_nj_w_zhichu_covers_twelve_months_before_from():
    # from 2024-03-15 → also covers 2023-03-15 on; (10000 − 8000) × 70% = 1400
    inside = nj([ident("zhichu_illness", "2024-03-15")],
                [base_visit("V1", "special_outpatient", "2023-03-15", base=10000)])["V1"]
    assert (inside["category"], inside["assistance"]) == ("zhichu_illness", 1400)
    outside = nj([ident("zhichu_illness", "2024-03-15")],
                 [base_visit("V1", "special_outpatient", "2023-03-14", base=10000)])["V1"]
    assert (outside["category"], outside["assistance"]) == (None, 0)


def test_nj_w_linshi_covers_six_months_before_from():
    # from 2023-09-15 → also covers 2023-03-15 on; 1400 as above
    inside = nj([ident("linshi_illness", "2023-09-15")],
                [base_visit("V1", "special_outpatient", "2023-03-15", base=10000)])["V1"]
    assert (inside["category"], inside["assistance"]) == ("linshi_illness", 1400)
    outside = nj([ident("linshi_illness", "2023-09-15")],
                 [base_visit("V1", "special_outpatient", "2023-03-14", base=10000)])["V1"]
    assert (outside["category"], outside["assistance"]) == (None, 0)


def test_nj_w_linshi_lookback_is_six_not_twelve_months():
    # from 2023-12-15: six months back is 2023-06-15; a visit on 2023-02-01 is outside
    v = nj([ident("linshi_illness", "2023-12-15")],
           [base_visit("V1", "special_outpatient", "2023-02-01", base=10000)])["V1"]
    assert (v["category"], v["assistance"]) == (None, 0)


# -- NJ-R ------------------------------------------------------------------------------------
def test_nj_r_unreferred_no_assistance_no_tilt():
    v = nj([ident("dibao")], [base_visit("V1", "inpatient", "2023-02-01", "2023-02-10",
                                         base=300000, location="province",
                                         referral="unreferred")])["V1"]
    assert (v["assistance"], v["tilted"], v["maf_pay"]) == (0, 0, 0)
    assert v["psn_part_amt"] == 300000
    assert any(t["rule"] == "NJ-R" for t in v["trace"])


def test_nj_r_hardship_twenty_points_lower_and_no_tilt():
    # 70% × 300000 = 210000; no tilt (with ok it would be 270000 + (30000 − 20000) × 60%)
    v = nj([ident("dibao")], [base_visit("V1", "inpatient", "2023-02-01", "2023-02-10",
                                         base=300000, location="province",
                                         referral="unreferred_hardship")])["V1"]
    assert (v["assistance"], v["tilted"]) == (210000, 0)
    assert_traced(v, "assistance", "NJ-A2", NANJING, "（四）")


def test_nj_r_hardship_lowers_each_segment_ratio():
    # 2000 × 65% + 1000 × 60% = 1900
    v = nj([ident("dibao")], [base_visit("V1", "general_outpatient", "2023-02-01", base=3000,
                                         location="province",
                                         referral="unreferred_hardship")])["V1"]
    assert v["assistance"] == 1900


def test_nj_r_hardship_tekun_eighty_percent():
    v = nj([ident("tekun")], [base_visit("V1", "inpatient", "2023-02-01", "2023-02-03",
                                         base=1000, location="out_of_province",
                                         referral="unreferred_hardship")])["V1"]
    assert v["assistance"] == 800  # (100 − 20)% × 1000


def test_nj_r_hardship_zhichu_fifty_percent_after_deductible():
    # (10000 − 8000) × 50% = 1000
    v = nj([ident("zhichu_illness")], [base_visit("V1", "inpatient", "2023-02-01",
                                                  "2023-02-03", base=10000,
                                                  location="out_of_province",
                                                  referral="unreferred_hardship")])["V1"]
    assert v["assistance"] == 1000


# -- NJ-C ------------------------------------------------------------------------------------
def test_nj_c_critical_illness_tilt_halves_deductible_and_adds_five_points():
    # on 60000 − 35000 = 25000: deductible 7500, 65% → 11375; base = 60000 − 35000 − 11375 =
    # 13625; 90% → 12262.50; psn = 60000 − 35000 − 11375 − 12262.50 = 1362.50
    v = nj([ident("dibao")], [visit("V1", "inpatient", "2023-03-01", "2023-03-10",
                                    total=60000, hifp=35000, hifmi=None)],
           local={"critical_illness": NJ_CRITICAL})["V1"]
    assert v["hifmi_pay"] == 11375
    assert v["base"] == 13625
    assert v["assistance"] == D("12262.50")
    assert v["psn_part_amt"] == D("1362.50")
    assert_chain(v)
    assert any(t["rule"] == "NJ-C" and NANJING in t["source"] and "（五）" in t["source"]
               for t in v["trace"]), v["trace"]


def test_nj_c_no_tilt_without_identity_in_force():
    # identity from 06-01 (month rule: 06-01), visit in March: (25000 − 15000) × 60% = 6000
    v = nj([ident("dibao", "2023-06-01")],
           [visit("V1", "inpatient", "2023-03-01", "2023-03-10", total=60000, hifp=35000,
                  hifmi=None)], local={"critical_illness": NJ_CRITICAL})["V1"]
    assert v["hifmi_pay"] == 6000
    assert (v["category"], v["assistance"], v["tilted"]) == (None, 0, 0)
    assert v["psn_part_amt"] == 19000


def test_nj_c_tilt_on_every_segment():
    # 120000 − 7500 = 112500: 100000 × 65% + 12500 × 75% = 74375; base 45625; 90% → 41062.50
    v = nj([ident("dibao")], [visit("V1", "inpatient", "2023-03-01", "2023-03-10",
                                    total=120000, hifp=0, hifmi=None)],
           local={"critical_illness": NJ_CRITICAL})["V1"]
    assert v["hifmi_pay"] == 74375
    assert v["assistance"] == D("41062.50")


# -- NJ-T ------------------------------------------------------------------------------------
def test_nj_t_tilted_assistance_above_20000():
    # 90% × 500000 = 450000; tilt (50000 − 20000) × 60% = 18000; psn 500000 − 468000 = 32000
    v = nj([ident("dibao")], [base_visit("V1", "inpatient", "2023-03-01", "2023-03-05",
                                         base=500000, location="province")])["V1"]
    assert (v["assistance"], v["tilted"], v["maf_pay"]) == (450000, 18000, 468000)
    assert v["psn_part_amt"] == 32000
    assert_traced(v, "tilted", "NJ-T", NANJING, "（五）")
    assert_traced(v, "assistance", "NJ-A2", NANJING, "（四）")


def test_nj_t_none_out_of_province():
    v = nj([ident("dibao")], [base_visit("V1", "inpatient", "2023-03-01", "2023-03-05",
                                         base=500000, location="out_of_province")])["V1"]
    assert (v["assistance"], v["tilted"]) == (450000, 0)


def test_nj_t_deductible_pool_accumulates_over_year():
    # V1: 100000 − 90000 = 10000 into the pool → 0; V2: 15000 more → 25000 → 5000 × 60% = 3000
    r = nj([ident("dibao")], [
        base_visit("V1", "inpatient", "2023-02-01", "2023-02-05", base=100000),
        base_visit("V2", "inpatient", "2023-05-01", "2023-05-05", base=150000)])
    assert (r["V1"]["assistance"], r["V1"]["tilted"]) == (90000, 0)
    assert (r["V2"]["assistance"], r["V2"]["tilted"]) == (135000, 3000)


def test_nj_t_after_outpatient_cap_reached():
    # V1: A3 capped at 10000, tilt base 10000 → 0; V2: assistance 0, tilt base 15000 →
    # pool 25000 → 3000
    r = nj([ident("dibao")], [
        base_visit("V1", "general_outpatient", "2023-02-01", base=20000),
        base_visit("V2", "general_outpatient", "2023-03-01", base=15000)])
    assert (r["V1"]["assistance"], r["V1"]["tilted"]) == (10000, 0)
    assert (r["V2"]["assistance"], r["V2"]["tilted"]) == (0, 3000)


def test_nj_t_none_without_identity():
    v = nj([ident("dibao", "2023-06-01")], [base_visit("V1", "inpatient", "2023-03-01",
                                                       "2023-03-05", base=500000)])["V1"]
    assert (v["assistance"], v["tilted"], v["maf_pay"]) == (0, 0, 0)


# -- highest benefit -------------------------------------------------------------------------
def test_nj_tie_goes_to_tekun_listed_first():
    v = nj([ident("orphan"), ident("tekun")], [base_visit("V1", "inpatient", "2023-03-01",
                                                          "2023-03-05", base=1000)])["V1"]
    assert (v["category"], v["assistance"]) == ("tekun", 1000)


def test_nj_highest_benefit_dibao_over_zhichu():
    # dibao 90% × 10000 = 9000 vs zhichu (10000 − 8000) × 70% = 1400
    v = nj([ident("zhichu_illness"), ident("dibao")],
           [base_visit("V1", "inpatient", "2023-03-01", "2023-03-05", base=10000)])["V1"]
    assert (v["category"], v["assistance"]) == ("dibao", 9000)
    assert v["rules"] == ["NJ-A2"]


def test_nj_w_two_windows_of_the_same_category():
    # dibao to 02-10 (→ 02-28) and again from 05-03 (→ 05-01): Feb and May assisted
    r = nj([ident("dibao", "2023-01-01", "2023-02-10"), ident("dibao", "2023-05-03")],
           [base_visit(f"V{m}", "special_outpatient", f"2023-0{m}-15", base=1000)
            for m in (2, 3, 4, 5)])
    assert [r[f"V{m}"]["assistance"] for m in (2, 3, 4, 5)] == [900, 0, 0, 900]


def test_nj_r_hardship_is_per_visit_segment_pool_still_shared():
    # V1 hardship: 1000 × 65% = 650; V2 ok: F(3000) − F(1000) = 2500 − 850 = 1650
    r = nj([ident("dibao")], [
        base_visit("V1", "general_outpatient", "2023-03-01", base=1000, location="province",
                   referral="unreferred_hardship"),
        base_visit("V2", "general_outpatient", "2023-04-01", base=2000)])
    assert (r["V1"]["assistance"], r["V2"]["assistance"]) == (650, 1650)


def test_nj_r_hardship_youfu_outpatient_sixty_percent():
    v = nj([ident("youfu")], [base_visit("V1", "general_outpatient", "2023-03-01", base=1000,
                                         location="province",
                                         referral="unreferred_hardship")])["V1"]
    assert v["assistance"] == 600  # (80 − 20)% × 1000


def test_nj_category_reported_even_when_nothing_is_paid():
    # exactly one category is applied per visit among those in force
    v = nj([ident("other_special")], [base_visit("V1", "inpatient", "2023-02-01",
                                                 base=500)])["V1"]
    assert v["category"] == "other_special"
    w = nj([ident("dibao")], [base_visit("V1", "inpatient", "2023-02-01", base=500,
                                         referral="unreferred",
                                         location="out_of_province")])["V1"]
    assert w["category"] == "dibao"


def test_nj_w_zhichu_lookback_with_stay_rule():
    # look-back starts 2023-03-15: stay 03-10..03-16 has covered days → (10000 − 8000) × 70%
    v = nj([ident("zhichu_illness", "2024-03-15")],
           [base_visit("V1", "inpatient", "2023-03-10", "2023-03-16", base=10000)])["V1"]
    assert (v["category"], v["assistance"]) == ("zhichu_illness", 1400)
    w = nj([ident("zhichu_illness", "2024-03-15")],
           [base_visit("V1", "inpatient", "2023-03-10", "2023-03-14", base=10000)])["V1"]
    assert (w["category"], w["assistance"]) == (None, 0)


def test_nj_w_stay_across_new_year_within_month_rule():
    # to 2023-12-05 → in force to 12-31; stay 12-28..2024-01-03 overlaps → year 2024, 900
    v = nj([ident("dibao", "2023-01-01", "2023-12-05")],
           [base_visit("V1", "inpatient", "2023-12-28", "2024-01-03", base=1000)])["V1"]
    assert (v["year"], v["category"], v["assistance"]) == (2024, "dibao", 900)


# -- amended 2026-12-04 ---------------------------------------------------------------------
@pytest.mark.parametrize(("hifmi", "assistance"), [(0, 1700), (500, 1500)])
def test_nj_a3_base_is_after_basic_insurance_bounded_by_what_remains(hifmi, assistance):
    # line base 3000 − 1000 = 2000 → 85% = 1700; with hifmi 500 what remains is 1500
    v = nj([ident("dibao")], [visit("V1", "general_outpatient", "2023-02-01", total=3000,
                                    hifp=1000, hifmi=hifmi)])["V1"]
    assert v["assistance"] == assistance


def test_nj_a5_payouts_never_count_against_the_outpatient_cap():
    # V1 NJ-A5: C 0 → 30000 over the 8000 deductible: 70% × 22000 = 15400 (main_cap).
    # V2 NJ-A6: C 30000 → 32000: 1400 from an outpatient_cap that has paid nothing
    r = nj([ident("zhichu_illness")],
           [visit("V1", "inpatient", "2023-02-01", "2023-02-10", total=100000, hifp=60000,
                  hifmi=10000),
            visit("V2", "general_outpatient", "2023-03-01", total=3000, hifp=1000)])
    assert (r["V1"]["assistance"], r["V2"]["assistance"]) == (15400, 1400)


def test_nj_tie_goes_to_the_first_listed_category_even_in_its_lookback():
    # zhichu_illness (listed 9th) in its 12-month look-back, linshi_illness (10th) in force:
    # both NJ-A5, 70% × (20000 − 8000) = 8400 → zhichu_illness
    v = nj([ident("zhichu_illness", "2023-06-01"), ident("linshi_illness", "2023-01-01")],
           [visit("V1", "inpatient", "2023-03-01", "2023-03-05", total=20000)])["V1"]
    assert (v["category"], v["assistance"]) == ("zhichu_illness", 8400)
