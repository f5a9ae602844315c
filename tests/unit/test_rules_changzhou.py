"""Changzhou (RULES.md §4.5), hand-computed from the spec."""

from __future__ import annotations

import pytest
from rules_helpers import (
    CHANGZHOU,
    D,
    assert_chain,
    assert_traced,
    base_visit,
    case,
    ident,
    settle,
    stay,
    visit,
)

CZ_A2 = ["dibao", "kunjing_child", "youfu", "jingjian", "dibao_edge", "zhichu_illness",
         "linshi_illness", "tekun_worker_family", "zhongcan", "other_special"]
CI = {"deductible": 20000,
      "segments": [{"upto": 100000, "ratio": 0.6}, {"upto": None, "ratio": 0.7}],
      "cap": None}


def cz(identities, visits, local=None):
    return settle(case("changzhou", identities, visits, local or {}))


# -- CZ-A1 / CZ-A2 ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["inpatient", "special_outpatient", "dual_channel_drug",
                                  "general_outpatient", "childbirth", "rehabilitation"])
@pytest.mark.parametrize("cat", ["tekun", "orphan"])
def test_cz_a1_full_no_deductible(cat, kind):
    v = cz([ident(cat)], [base_visit("V1", kind, "2023-02-01", base=5000)])["V1"]
    assert (v["category"], v["assistance"], v["tilted"]) == (cat, 5000, 0)
    assert_chain(v)
    assert_traced(v, "assistance", "CZ-A1", CHANGZHOU, "（六）")


@pytest.mark.parametrize("cat", CZ_A2)
def test_cz_a2_eighty_percent_no_deductible(cat):
    v = cz([ident(cat)], [stay("V1", "2023-02-01", "2023-02-05", 10000)])["V1"]
    assert (v["category"], v["assistance"]) == (cat, 8000)
    assert_traced(v, "assistance", "CZ-A2", CHANGZHOU, "（六）")


def test_cz_a2_from_the_first_fen():
    # 80% × 0.01 = 0.008 → 0.01
    v = cz([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-05", 0.01)])["V1"]
    assert v["assistance"] == D("0.01")


# -- caps ------------------------------------------------------------------------------------
def test_cz_outpatient_cap_10000():
    # V1 80% × 8000 = 6400; V2 6400 → 3600 left
    r = cz([ident("dibao")], [
        visit("V1", "general_outpatient", "2023-02-01", total=10000, hifp=2000),
        visit("V2", "general_outpatient", "2023-03-01", total=10000, hifp=2000)])
    assert r["V1"]["assistance"] == 6400
    assert r["V2"]["assistance"] == 3600


def test_cz_outpatient_cap_applies_to_tekun():
    # 100% × 15000 → 10000
    v = cz([ident("tekun")], [base_visit("V1", "general_outpatient", "2023-02-01",
                                         base=15000)])["V1"]
    assert v["assistance"] == 10000


def test_cz_rehabilitation_shares_outpatient_cap():
    # V1 8000; V2 rehab 80% × 5000 = 4000 → 2000 left
    r = cz([ident("dibao")], [base_visit("V1", "general_outpatient", "2023-02-01", base=10000),
                              base_visit("V2", "rehabilitation", "2023-03-01", base=5000)])
    assert r["V1"]["assistance"] == 8000
    assert r["V2"]["assistance"] == 2000


def test_cz_main_cap_shared_200000():
    # V1 160000; V2 80000 → 40000 left; V3 dual-channel → 0; V4 general outpatient separate
    r = cz([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-20", 200000),
                              base_visit("V2", "special_outpatient", "2023-03-01",
                                         base=100000),
                              base_visit("V3", "dual_channel_drug", "2023-04-01", base=1000),
                              base_visit("V4", "general_outpatient", "2023-05-01", base=1000)])
    assert [r[f"V{i}"]["assistance"] for i in (1, 2, 3, 4)] == [160000, 40000, 0, 800]


def test_cz_childbirth_in_main_cap():
    # V1 80% × 240000 = 192000; V2 childbirth 16000 → 8000 left
    r = cz([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-20", 240000),
                              base_visit("V2", "childbirth", "2023-03-01", "2023-03-03",
                                         base=20000)])
    assert r["V2"]["assistance"] == 8000


def test_cz_main_cap_applies_to_tekun():
    v = cz([ident("tekun")], [stay("V1", "2023-02-01", "2023-02-20", 300000)])["V1"]
    assert v["assistance"] == 200000


# -- CZ-A3 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cat", ["tekun", "dibao", "zhongcan"])
def test_cz_a3_rare_disease_drug_half_after_provincial_fund(cat):
    # base = 100000 − 50000 − 10000 − 20000 = 20000 → 50% = 10000; psn = 100000 − 90000 = 10000
    v = cz([ident(cat)], [visit("V1", "rare_disease_drug", "2023-02-01", total=100000,
                                hifp=50000, hifmi=10000, oth=20000)])["V1"]
    assert v["base"] == 20000
    assert v["assistance"] + v["special"] == 10000
    assert (v["maf_pay"], v["psn_part_amt"]) == (10000, 10000)
    assert_chain(v)
    lines = [t for t in v["trace"] if t["rule"] == "CZ-A3" and t["amount"] != 0]
    assert sum(t["amount"] for t in lines) == 10000
    assert all(CHANGZHOU in t["source"] and "（六）" in t["source"] for t in lines)


def test_cz_a3_within_main_cap():
    # V1 80% × 250000 = 200000 → cap; V2 rare-disease drug → 0
    r = cz([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-20", 250000),
                              base_visit("V2", "rare_disease_drug", "2023-03-01", base=20000)])
    assert r["V1"]["assistance"] == 200000
    assert r["V2"]["maf_pay"] == 0


# -- CZ-C ------------------------------------------------------------------------------------
def test_cz_c_no_deductible_plus_ten_points():
    # 50000 − 30000 = 20000 at 70% = 14000; base 6000 → 80% = 4800; psn 1200
    v = cz([ident("dibao")], [visit("V1", "inpatient", "2023-03-01", "2023-03-05",
                                    total=50000, hifp=30000, hifmi=None)],
           {"critical_illness": CI})["V1"]
    assert (v["hifmi_pay"], v["base"], v["assistance"], v["psn_part_amt"]) == (
        14000, 6000, 4800, 1200)
    assert any(t["rule"] == "CZ-C" and CHANGZHOU in t["source"] and "（三）" in t["source"]
               for t in v["trace"]), v["trace"]


def test_cz_c_every_segment():
    # 150000: 100000 × 70% + 50000 × 80% = 110000; base 40000 → 32000
    v = cz([ident("dibao")], [visit("V1", "inpatient", "2023-03-01", "2023-03-05",
                                    total=150000, hifp=0, hifmi=None)],
           {"critical_illness": CI})["V1"]
    assert (v["hifmi_pay"], v["assistance"]) == (110000, 32000)


def test_cz_c_not_for_non_beneficiary():
    # no identity: (50000 − 30000 − 20000) × 60% = 0
    v = cz([], [visit("V1", "inpatient", "2023-03-01", "2023-03-05", total=50000,
                      hifp=30000, hifmi=None)], {"critical_illness": CI})["V1"]
    assert (v["hifmi_pay"], v["assistance"], v["psn_part_amt"]) == (0, 0, 20000)


# -- CZ-T, CZ-W, ties ------------------------------------------------------------------------
def test_cz_t_empty_stage_no_tilt():
    v = cz([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-20", 180000)])["V1"]
    assert (v["assistance"], v["tilted"]) == (144000, 0)


def test_cz_w_exact_from_and_to_no_stay_rule():
    # 80% × 1000 = 800 in force
    r = cz([ident("dibao", "2023-03-20", "2023-06-10")], [
        base_visit("V1", "special_outpatient", "2023-03-19", base=1000),
        base_visit("V2", "special_outpatient", "2023-03-20", base=1000),
        base_visit("V3", "special_outpatient", "2023-06-10", base=1000),
        base_visit("V4", "special_outpatient", "2023-06-11", base=1000),
        stay("V5", "2023-06-05", "2023-06-12", 1000),
        stay("V6", "2023-03-15", "2023-03-21", 1000)])
    assert [r[f"V{i}"]["assistance"] for i in range(1, 7)] == [0, 800, 800, 0, 0, 800]


def test_cz_tie_order():
    assert cz([ident("orphan"), ident("tekun")],
              [stay("V1", "2023-02-01", "2023-02-05", 100)])["V1"]["category"] == "tekun"
    assert cz([ident("kunjing_child"), ident("dibao")],
              [stay("V1", "2023-02-01", "2023-02-05", 100)])["V1"]["category"] == "dibao"


def test_cz_main_cap_limits_payouts_not_the_curve():
    # dibao until 05-31: V1 80% × 240000 = 192000 of main_cap 200000. tekun from 06-01: V2's
    # 100% line pays 10000 by its curve, but main_cap has 8000 left → 8000 (RULES §3)
    r = cz([ident("dibao", "2023-01-01", "2023-05-31"), ident("tekun", "2023-06-01")],
           [stay("V1", "2023-02-01", "2023-02-10", 240000),
            stay("V2", "2023-07-01", "2023-07-05", 10000)])
    assert (r["V1"]["category"], r["V1"]["assistance"]) == ("dibao", 192000)
    assert (r["V2"]["category"], r["V2"]["assistance"]) == ("tekun", 8000)
