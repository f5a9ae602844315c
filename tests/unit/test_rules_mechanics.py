"""RULES.md §1–§3: base, kinds, the chain, pools, rounding, year, highest benefit, in force,
computed insurance tiers. Hand-computed from the spec."""

from __future__ import annotations

import json

import pytest
from rules_helpers import (
    NJ_CRITICAL,
    NJ_LOCAL,
    D,
    assert_all_amounts_traced,
    assert_chain,
    base_visit,
    case,
    ident,
    nj,
    settle,
    settle_full,
    visit,
)

from medaid.case import parse_case, parse_json, result_json, settle_case
from medaid.errors import InputError


def input_error(c) -> InputError:
    with pytest.raises(InputError) as e:
        result_json(settle_case(parse_case(parse_json(json.dumps(c)))))
    return e.value


# -- §1 base ---------------------------------------------------------------------------------
def test_base_excludes_ownpay_overlimit_preselfpay_and_paid_tiers():
    # inscp = 10000 − 1000 − 500 − 300 = 8200; base = 8200 − 5000 − 1000 − 200 = 2000
    # tekun 100% → 2000; psn = 10000 − 5000 − 1000 − 200 − 2000 = 1800
    v = nj([ident("tekun")], [visit("V1", "inpatient", "2023-03-01", "2023-03-02",
                                    total=10000, fulamt=1000, overlmt=500, preself=300,
                                    hifp=5000, hifmi=1000, oth=200)])["V1"]
    assert (v["inscp_scp_amt"], v["base"], v["assistance"]) == (8200, 2000, 2000)
    assert v["psn_part_amt"] == 1800
    assert v["maf_pay"] == 2000
    assert_chain(v)
    assert_all_amounts_traced(v)


def test_base_with_consistent_inscp_given():
    v = nj([ident("tekun")], [visit("V1", "inpatient", "2023-03-01", "2023-03-02",
                                    total=10000, fulamt=1000, overlmt=500, preself=300,
                                    inscp_scp_amt=8200, hifp=5000, hifmi=1000)])["V1"]
    assert (v["base"], v["assistance"]) == (2200, 2200)


def test_base_fen_precision():
    # base = 1234.56 − 1000.01 = 234.55; dibao inpatient 90% → 211.095 → 211.10 (half up)
    v = nj([ident("dibao")], [visit("V1", "inpatient", "2023-03-01", "2023-03-02",
                                    total=1234.56, hifp=1000.01)])["V1"]
    assert v["base"] == D("234.55")
    assert v["assistance"] == D("211.10")
    assert v["psn_part_amt"] == D("23.45")


# -- §1 kinds without a rule of their own ----------------------------------------------------
@pytest.mark.parametrize(("kind", "setting", "expected"), [
    ("childbirth", "inpatient", 4500),            # NJ-A2 90% × 5000
    ("rehabilitation", "general_outpatient", 4100),  # NJ-A3 2000 × 85% + 3000 × 80%
    ("dual_channel_drug", "special_outpatient", 4500),
    ("rare_disease_drug", "special_outpatient", 4500),
])
def test_kind_without_rule_settled_as_its_setting_and_traced(kind, setting, expected):
    v = nj([ident("dibao")], [base_visit("V1", kind, "2023-03-01", base=5000,
                                         location="out_of_province")])["V1"]
    assert v["assistance"] == expected
    assert any(kind in t["detail"] and setting in t["detail"] for t in v["trace"]), v["trace"]


def test_childbirth_uses_the_stay_rule_as_inpatient():
    # settled as inpatient: identity from 04-15 (→ 04-01) in force during stay 03-30..04-02
    v = nj([ident("dibao", "2023-04-15")], [base_visit("V1", "childbirth", "2023-03-30",
                                                       "2023-04-02", base=1000)])["V1"]
    assert (v["category"], v["assistance"]) == ("dibao", 900)


def test_yichun_rehabilitation_is_general_outpatient_so_class2_gets_nothing():
    r = settle(case("yichun", [ident("dibao")],
                    [base_visit("V1", "rehabilitation", "2023-03-01", base=1000),
                     base_visit("V2", "dual_channel_drug", "2023-03-02", base=1000)],
                    {"income_per_capita_prev_year": 40000}))
    assert r["V1"]["assistance"] == 0
    assert r["V2"]["assistance"] == 750  # as special_outpatient: YC-A3 75%


# -- §3 cumulative rounding ------------------------------------------------------------------
def test_cumulative_rounding_three_visits_sum_to_rounded_total():
    # 85% of 0.10 = 0.085 each; cumulative R(0.085)=0.09, R(0.17)=0.17, R(0.255)=0.26
    # pays 0.09, 0.08, 0.09 — sum 0.26 = R(F(0.30)), not 3 × 0.09 = 0.27
    r = nj([ident("dibao")], [base_visit(f"V{i}", "general_outpatient", f"2023-02-0{i}",
                                         base=0.1) for i in (1, 2, 3)])
    pays = [r[f"V{i}"]["assistance"] for i in (1, 2, 3)]
    assert pays == [D("0.09"), D("0.08"), D("0.09")]
    assert sum(pays) == D("0.26")


def test_cumulative_rounding_applies_to_a_plain_ratio_line():
    # NJ-A2 90% of 0.05 each: R(0.045)=0.05, R(0.09)=0.09, R(0.135)=0.14 → 0.05, 0.04, 0.05
    r = nj([ident("dibao")], [base_visit(f"V{i}", "special_outpatient", f"2023-02-0{i}",
                                         base=0.05) for i in (1, 2, 3)])
    pays = [r[f"V{i}"]["assistance"] for i in (1, 2, 3)]
    assert pays == [D("0.05"), D("0.04"), D("0.05")]


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
def test_cumulative_sum_is_order_independent(order):
    # total base 3000.03: F = 2000 × 85% + 1000.03 × 80% = 2500.024 → 2500.02
    bases = ["1999.99", "0.03", "1000.01"]
    visits = [base_visit(f"V{i}", "general_outpatient", f"2023-02-0{i + 1}", base=float(bases[i]))
              for i in order]
    r = nj([ident("dibao")], visits)
    assert sum(v["assistance"] for v in r.values()) == D("2500.02")


def test_visits_settled_in_the_order_given():
    # given V2 (1000) first: F(1000) = 850; then V1 (3000): F(4000) = 1700 + 1600 = 3300 → 2450
    r = nj([ident("dibao")], [base_visit("V2", "general_outpatient", "2023-03-01", base=1000),
                              base_visit("V1", "general_outpatient", "2023-02-01", base=3000)])
    assert r["V2"]["assistance"] == 850
    assert r["V1"]["assistance"] == 2450


# -- §3 year ---------------------------------------------------------------------------------
def test_year_is_the_end_date_and_pools_reset():
    # 2023: (10000 − 8000) × 70% = 1400; stay ending 2024-01-03 is 2024: fresh deductible →
    # 1400 again; 2024-02 special outpatient 1000: pool 11000 → 700 (not 7000 × 70% = 4900)
    r = nj([ident("zhichu_illness")], [
        base_visit("V1", "inpatient", "2023-11-01", "2023-11-05", base=10000,
                   location="out_of_province"),
        base_visit("V2", "inpatient", "2023-12-28", "2024-01-03", base=10000,
                   location="out_of_province"),
        base_visit("V3", "special_outpatient", "2024-02-01", base=1000,
                   location="out_of_province")])
    assert (r["V1"]["year"], r["V1"]["assistance"]) == (2023, 1400)
    assert (r["V2"]["year"], r["V2"]["assistance"]) == (2024, 1400)
    assert (r["V3"]["year"], r["V3"]["assistance"]) == (2024, 700)


def test_outpatient_segment_pool_resets_at_new_year():
    # 2023: 2000 × 85% = 1700; 2024: first 2000 again at 85% → 850
    r = nj([ident("dibao")], [base_visit("V1", "general_outpatient", "2023-12-01", base=2000),
                              base_visit("V2", "general_outpatient", "2024-01-02", base=1000)])
    assert r["V1"]["assistance"] == 1700
    assert r["V2"]["assistance"] == 850


# -- §3 highest benefit ----------------------------------------------------------------------
def test_deductible_pools_measure_spending_under_every_category_in_force():
    # V1 dibao 9000 beats zhichu 1400; dibao exits 03-15 (→ 03-31). The shared annual
    # deductible pool measures spending (RULES §3, amended 2026-12-04): V1 advanced it under
    # zhichu in force too, so V2 under zhichu: C 10000 → 20000 above the 8000 deductible,
    # 70% × (12000 − 2000) = 7000
    r = nj([ident("dibao", "2023-01-01", "2023-03-15"), ident("zhichu_illness")], [
        base_visit("V1", "inpatient", "2023-02-01", "2023-02-05", base=10000,
                   location="out_of_province"),
        base_visit("V2", "inpatient", "2023-05-01", "2023-05-05", base=10000,
                   location="out_of_province")])
    assert (r["V1"]["category"], r["V1"]["assistance"]) == ("dibao", 9000)
    assert (r["V2"]["category"], r["V2"]["assistance"]) == ("zhichu_illness", 7000)


def test_highest_benefit_per_visit_category_can_change():
    # V1 general outpatient: youfu 80% × 1000 = 800 vs zhichu 0 (deductible) → youfu;
    # V2 inpatient: youfu nothing; zhichu's annual pool holds V1's 1000 (spending, NJ-A6
    # in force), C 1000 → 11000 above 8000: 3000 × 70% = 2100
    r = nj([ident("zhichu_illness"), ident("youfu")], [
        base_visit("V1", "general_outpatient", "2023-02-01", base=1000,
                   location="out_of_province"),
        base_visit("V2", "inpatient", "2023-03-01", "2023-03-02", base=10000,
                   location="out_of_province")])
    assert (r["V1"]["category"], r["V1"]["assistance"]) == ("youfu", 800)
    assert (r["V2"]["category"], r["V2"]["assistance"]) == ("zhichu_illness", 2100)


def test_highest_benefit_tie_goes_to_first_listed_category():
    # Jiangsu key objects all 70%: listed dibao before tekun → dibao
    r = settle(case("jiangsu", [ident("tekun"), ident("dibao")],
                    [base_visit("V1", "inpatient", "2023-02-01", "2023-02-02", base=1000)],
                    {"basic_cap": 100000}))
    assert (r["V1"]["category"], r["V1"]["assistance"]) == ("dibao", 700)


# -- §3 no identity --------------------------------------------------------------------------
def test_no_identity_no_assistance_traced():
    v = nj([], [visit("V1", "inpatient", "2023-03-01", "2023-03-04", total=10000,
                      hifp=6000, hifmi=500)])["V1"]
    assert v["category"] is None
    assert (v["assistance"], v["tilted"], v["special"], v["maf_pay"]) == (0, 0, 0, 0)
    assert v["psn_part_amt"] == 3500
    assert v["trace"]


# -- §3 policy in force ----------------------------------------------------------------------
@pytest.mark.parametrize(("jur", "day"), [
    ("nanjing", "2022-12-31"), ("changzhou", "2022-12-31"), ("yichun", "2022-09-30"),
    ("ningbo", "2019-09-29"), ("jiangsu", "2015-12-20")])
def test_visit_before_policy_in_force_is_an_error(jur, day):
    e = input_error(case(jur, [ident("tekun", "2015-01-01")],
                         [base_visit("V1", "inpatient", day, base=1000)],
                         {"income_per_capita_prev_year": 40000, "basic_cap": 100000}))
    assert e.path == "visits[0].end"
    assert "no policy in force" in str(e)


def test_stay_ending_after_in_force_date_is_settled():
    # ends 2023-01-03: Nanjing 2023 policy; year 2023; tekun 100%
    v = nj([ident("tekun", "2022-01-01")], [base_visit("V1", "inpatient", "2022-12-28",
                                                       "2023-01-03", base=1000)])["V1"]
    assert (v["year"], v["assistance"]) == (2023, 1000)


# -- §2 computed basic insurance -------------------------------------------------------------
def test_hifp_computed_flat_ratio_per_admission_deductible():
    # (11000 − 1000) × 80% = 8000 each admission; base 3000; tekun 100%
    r = nj([ident("tekun")], [
        visit("V1", "inpatient", "2023-03-01", "2023-03-05", total=11000, hifp=None),
        visit("V2", "inpatient", "2023-04-01", "2023-04-05", total=11000, hifp=None)],
        local={"basic_insurance": {"deductible": 1000, "ratio": 0.8, "cap": 300000}})
    for vid in ("V1", "V2"):
        assert (r[vid]["hifp_pay"], r[vid]["base"], r[vid]["assistance"]) == (8000, 3000, 3000)


@pytest.mark.parametrize(("level", "hifp"), [(1, 9000), (2, 8500), (3, 8000)])
def test_hifp_computed_ratio_by_hospital_level(level, hifp):
    # (11000 − 1000) × ratio of the level
    v = nj([ident("tekun")], [visit("V1", "inpatient", "2023-03-01", "2023-03-05",
                                    total=11000, hifp=None, hospital_level=level)],
           local={"basic_insurance": {"deductible": 1000,
                                      "ratio": {"1": 0.9, "2": 0.85, "3": 0.8},
                                      "cap": 300000}})["V1"]
    assert v["hifp_pay"] == hifp
    assert v["assistance"] == 11000 - hifp


def test_hifp_computed_annual_cap():
    # 8000, then min(8000, 10000 − 8000) = 2000; V2 base 11000 − 2000 = 9000
    r = nj([ident("tekun")], [
        visit("V1", "inpatient", "2023-03-01", "2023-03-05", total=11000, hifp=None),
        visit("V2", "inpatient", "2023-04-01", "2023-04-05", total=11000, hifp=None)],
        local={"basic_insurance": {"deductible": 1000, "ratio": 0.8, "cap": 10000}})
    assert r["V1"]["hifp_pay"] == 8000
    assert r["V2"]["hifp_pay"] == 2000
    assert r["V2"]["base"] == 9000


def test_hifp_and_hifmi_both_computed_with_nj_c_tilt():
    # hifp = (61000 − 1000) × 50% = 30000; CI on 61000 − 30000 = 31000: (31000 − 7500) × 65%
    # = 15275; base = 61000 − 30000 − 15275 = 15725; 90% → 14152.50; psn 1572.50
    v = nj([ident("dibao")], [visit("V1", "inpatient", "2023-03-01", "2023-03-05",
                                    total=61000, hifp=None, hifmi=None)],
           local={"basic_insurance": {"deductible": 1000, "ratio": 0.5, "cap": 500000},
                  "critical_illness": NJ_CRITICAL})["V1"]
    assert (v["hifp_pay"], v["hifmi_pay"], v["base"]) == (30000, 15275, 15725)
    assert v["assistance"] == D("14152.50")
    assert v["psn_part_amt"] == D("1572.50")
    assert_chain(v)


# -- §2 computed critical-illness insurance --------------------------------------------------
def test_hifmi_annual_deductible_accumulates_over_visits():
    # no identity: 10000 → below 15000; cumulative 20000 → 5000 × 60% = 3000
    r = nj([], [visit("V1", "inpatient", "2023-03-01", "2023-03-05", total=10000, hifmi=None),
                visit("V2", "inpatient", "2023-04-01", "2023-04-05", total=10000, hifmi=None)],
           local={"critical_illness": NJ_CRITICAL})
    assert r["V1"]["hifmi_pay"] == 0
    assert r["V2"]["hifmi_pay"] == 3000


def test_hifmi_segments_standard_without_identity():
    # 130000 − 15000 = 115000: 100000 × 60% + 15000 × 70% = 70500
    v = nj([], [visit("V1", "inpatient", "2023-03-01", "2023-03-05", total=130000,
                      hifmi=None)], local={"critical_illness": NJ_CRITICAL})["V1"]
    assert v["hifmi_pay"] == 70500


def test_hifmi_annual_cap():
    # (100000 − 15000) × 60% = 51000 → cap 5000
    v = nj([], [visit("V1", "inpatient", "2023-03-01", "2023-03-05", total=100000,
                      hifmi=None)], local={"critical_illness": {**NJ_CRITICAL, "cap": 5000}})["V1"]
    assert v["hifmi_pay"] == 5000


def test_hifmi_computed_on_policy_range_minus_hifp():
    # inscp = 40000 − 5000 = 35000; 35000 − 10000 = 25000 → (25000 − 15000) × 60% = 6000
    v = nj([], [visit("V1", "inpatient", "2023-03-01", "2023-03-05", total=40000,
                      fulamt=5000, hifp=10000, hifmi=None)],
           local={"critical_illness": NJ_CRITICAL})["V1"]
    assert v["hifmi_pay"] == 6000


def test_cz_c_no_deductible_and_ten_points():
    # CZ-C: 50000 − 30000 = 20000, no deductible, 70% → 14000; base 6000; CZ-A2 80% → 4800
    ci = {"deductible": 20000,
          "segments": [{"upto": 100000, "ratio": 0.6}, {"upto": None, "ratio": 0.7}],
          "cap": None}
    v = settle(case("changzhou", [ident("dibao")],
                    [visit("V1", "inpatient", "2023-03-01", "2023-03-05", total=50000,
                           hifp=30000, hifmi=None)], {"critical_illness": ci}))["V1"]
    assert (v["hifmi_pay"], v["base"], v["assistance"]) == (14000, 6000, 4800)


# -- §2 missing parameters -------------------------------------------------------------------
def test_missing_basic_insurance_parameters_is_an_error_naming_them():
    e = input_error(case("nanjing", [ident("dibao")],
                         [visit("V1", "inpatient", "2023-03-01", "2023-03-05", total=1000,
                                hifp=None)], NJ_LOCAL))
    assert "basic_insurance" in str(e)
    assert "basic_insurance" in e.path


def test_missing_critical_illness_parameters_is_an_error_naming_them():
    e = input_error(case("changzhou", [ident("dibao")],
                         [visit("V1", "inpatient", "2023-03-01", "2023-03-05", total=1000,
                                hifmi=None)], {}))
    assert "critical_illness" in str(e)
    assert "critical_illness" in e.path


def test_ratio_by_level_without_hospital_level_is_an_error():
    e = input_error(case("nanjing", [ident("dibao")],
                         [visit("V1", "inpatient", "2023-03-01", "2023-03-05", total=1000,
                                hifp=None)],
                         {**NJ_LOCAL, "basic_insurance": {"deductible": 0,
                                                   "ratio": {"1": 0.9, "2": 0.85, "3": 0.8},
                                                   "cap": 100000}}))
    assert "hospital_level" in str(e)


def test_totals_are_sums_over_visits():
    out = settle_full(case("nanjing", [ident("dibao")], [
        visit("V1", "inpatient", "2023-03-01", "2023-03-05", total=60000, fulamt=5000,
              preself=1000, hifp=35000, hifmi=3000, oth=500),
        base_visit("V2", "general_outpatient", "2023-04-01", base=1000)], NJ_LOCAL))
    for name in ("medfee_sumamt", "hifp_pay", "hifmi_pay", "oth_pay", "maf_pay",
                 "psn_part_amt"):
        assert out["totals"][name] == sum(v[name] for v in out["visits"])
    # V1 base 15500 → 13950; V2 850
    assert out["totals"]["maf_pay"] == 13950 + 850


def test_no_tier_pays_more_than_remains():
    # CZ-C pushes 95% to 105%: critical illness still pays at most the 10000 left
    v = settle(case("changzhou", [ident("dibao")],
                    [visit("V1", "inpatient", "2023-03-01", total=10000, hifp=0, hifmi=None)],
                    {"critical_illness": {"deductible": 0,
                                          "segments": [{"upto": None, "ratio": 0.95}],
                                          "cap": None}}))["V1"]
    assert v["hifmi_pay"] == 10000
    assert (v["base"], v["maf_pay"], v["psn_part_amt"]) == (0, 0, 0)


@pytest.mark.parametrize(("jur", "cat", "ratio"), [
    ("jiangsu", "dibao", "0.7"), ("yichun", "dibao", "0.75"), ("ningbo", "dibao", "0.7")])
def test_no_critical_illness_tilt_where_rules_name_none(jur, cat, ratio):
    # standard: (60000 − 35000 − 15000) × 60% = 6000; base 60000 − 35000 − 6000 = 19000
    v = settle(case(jur, [ident(cat)],
                    [visit("V1", "inpatient", "2023-03-01", "2023-03-05", total=60000,
                           hifp=35000, hifmi=None)],
                    {"critical_illness": NJ_CRITICAL, "basic_cap": 100000,
                     "income_per_capita_prev_year": 40000} if jur == "jiangsu" else
                    {"critical_illness": NJ_CRITICAL, "income_per_capita_prev_year": 40000}))["V1"]
    assert v["hifmi_pay"] == 6000
    assert v["base"] == 19000
    assert v["assistance"] == D(ratio) * 19000


def test_nj_c_applies_for_any_identity_in_force_even_if_it_pays_nothing():
    # youfu in force (inpatient not assisted here), NJ-C still: (25000 − 7500) × 65% = 11375
    v = nj([ident("youfu")], [visit("V1", "inpatient", "2023-03-01", "2023-03-10",
                                    total=60000, hifp=35000, hifmi=None,
                                    location="out_of_province")],
           local={"critical_illness": NJ_CRITICAL})["V1"]
    assert v["hifmi_pay"] == 11375
    assert v["assistance"] == 0


def test_optional_fields_default():
    # no location/referral (city, ok), no preselfpay_amt/oth_pay (0), no flags:
    # dibao 90% × 500000 = 450000 + NJ-T (50000 − 20000) × 60% = 18000
    c = case("nanjing", [ident("dibao")], [
        {"id": "V1", "kind": "inpatient", "start": "2023-03-01", "end": "2023-03-05",
         "medfee_sumamt": 500000, "fulamt_ownpay_amt": 0, "overlmt_selfpay": 0,
         "hifp_pay": 0, "hifmi_pay": 0}], NJ_LOCAL)
    v = settle(c)["V1"]
    assert (v["oth_pay"], v["assistance"], v["tilted"]) == (0, 450000, 18000)


# -- §3 rounding: cumulative (default) or per visit -----------------------------------------
def _nanjing_rounded(mode: str):
    from medaid.policy.model import compile_policy, versions

    nanjing = versions("nanjing")[-1]
    return compile_policy(nanjing.spec.model_copy(update={"rounding": mode}), "per-visit")


@pytest.mark.parametrize(("mode", "paid"), [("cumulative", [3, 2, 3]), ("per_visit", [3, 3, 3])])
def test_rounding_cumulative_or_per_visit(mode, paid):
    # NJ-A3 85% of three 0.03 bases: cumulative R(2.55)=3, R(5.10)=5, R(7.65)=8 → 3, 2, 3;
    # per visit R(2.55) each → 3, 3, 3 (fen)
    from datetime import date

    from medaid.engine.settle import settle_year
    from medaid.engine.types import Identity, Person, Visit

    person = Person("P", (Identity("dibao", date(2023, 1, 1)),))
    visits = [Visit(f"V{i}", "general_outpatient", date(2023, 2, i), date(2023, 2, i), 3,
                    hifp_pay=0, hifmi_pay=0) for i in (1, 2, 3)]
    result = settle_year([_nanjing_rounded(mode)], {"income_per_capita_prev_year": 80000},
                         person, visits)
    assert [x.assistance for x in result.settlements] == paid
