"""Ningbo (RULES.md §4.4), hand-computed from the spec."""

from __future__ import annotations

import pytest
from rules_helpers import (
    NINGBO,
    assert_chain,
    assert_traced,
    base_visit,
    case,
    ident,
    settle,
    stay,
    visit,
)

NB_A2 = ["dibao", "dibao_edge", "jingjian", "laodangyuan", "youfu", "aids",
         "disabled_allowance"]


def nb(identities, visits, local=None, **person):
    return settle(case("ningbo", identities, visits, local or {}, **person))


# -- NB-A1 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["inpatient", "special_outpatient"])
def test_nb_a1_tekun_full_no_cap(kind):
    v = nb([ident("tekun")], [base_visit("V1", kind, "2023-02-01", base=300000)])["V1"]
    assert (v["category"], v["assistance"], v["tilted"]) == ("tekun", 300000, 0)
    assert_chain(v)
    assert_traced(v, "assistance", "NB-A1", NINGBO, "三（二）")


# -- NB-A2 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cat", NB_A2)
def test_nb_a2_seventy_percent(cat):
    v = nb([ident(cat)], [stay("V1", "2023-02-01", "2023-02-05", 10000)])["V1"]
    assert (v["category"], v["assistance"]) == (cat, 7000)
    assert_traced(v, "assistance", "NB-A2", NINGBO, "三（二）")


def test_nb_a2_annual_cap_80000():
    # V1 70% × 100000 = 70000; V2 70% × 100000 = 70000 → 10000 left
    r = nb([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-05", 100000),
                              base_visit("V2", "special_outpatient", "2023-03-01",
                                         base=100000)])
    assert r["V1"]["assistance"] == 70000
    assert r["V2"]["assistance"] == 10000


# -- NB-A3 -----------------------------------------------------------------------------------
def test_nb_a3_sixty_percent_in_12_months_before_from_by_default():
    # no application: look-back before from 06-01 → 60% × 10000 = 6000; after from → 7000
    r = nb([ident("yinbing", "2023-06-01")], [stay("V1", "2023-03-01", "2023-03-05", 10000),
                                              stay("V2", "2023-07-01", "2023-07-05", 10000)])
    assert (r["V1"]["category"], r["V1"]["assistance"]) == ("yinbing", 6000)
    assert (r["V2"]["category"], r["V2"]["assistance"]) == ("yinbing", 7000)
    assert_traced(r["V1"], "assistance", "NB-A3", NINGBO, "三（二）1")


def test_nb_a3_lookback_counts_from_the_application_date():
    # application 2023-05-15: visit 05-01 → 60% = 6000; visit 06-10 (from 06-01) → 7000
    r = nb([ident("yinbing", "2023-06-01", application="2023-05-15")],
           [stay("V1", "2023-04-28", "2023-05-01", 10000),
            stay("V2", "2023-06-05", "2023-06-10", 10000)])
    assert r["V1"]["assistance"] == 6000
    assert r["V2"]["assistance"] == 7000


def test_nb_a3_lookback_is_twelve_months():
    # application 2023-05-15: 2022-06-01 covered (60%), 2022-05-10 not
    inside = nb([ident("yinbing", "2023-06-01", application="2023-05-15")],
                [stay("V1", "2022-05-28", "2022-06-01", 10000)])["V1"]
    assert inside["assistance"] == 6000
    outside = nb([ident("yinbing", "2023-06-01", application="2023-05-15")],
                 [stay("V1", "2022-05-05", "2022-05-10", 10000)])["V1"]
    assert (outside["category"], outside["assistance"]) == (None, 0)


def test_nb_a3_cap_80000():
    # 70% × 200000 = 140000 → 80000
    v = nb([ident("yinbing")], [stay("V1", "2023-02-01", "2023-02-05", 200000)])["V1"]
    assert v["assistance"] == 80000


# -- NB-A4 -----------------------------------------------------------------------------------
def test_nb_a4_outpatient_cap_500():
    # V1 70% × 600 = 420; V2 cumulative 840 → 500 → 80
    r = nb([ident("dibao")], [
        visit("V1", "general_outpatient", "2023-02-01", total=1000, hifp=400),
        visit("V2", "general_outpatient", "2023-03-01", total=1000, hifp=400)])
    assert r["V1"]["assistance"] == 420
    assert r["V2"]["assistance"] == 80
    assert_traced(r["V1"], "assistance", "NB-A4", NINGBO, "三（二）2")


def test_nb_a4_tekun_outpatient_full_ratio_cap_500():
    # 100% × 600 = 600 → 500
    v = nb([ident("tekun")], [base_visit("V1", "general_outpatient", "2023-02-01",
                                         base=600)])["V1"]
    assert v["assistance"] == 500


def test_nb_a4_yinbing_outpatient_keeps_seventy_percent_in_lookback():
    # before from: the 60% is NB-A3's alone (RULES Changes 2026-12-04) → NB-A4 70% × 400 = 280
    v = nb([ident("yinbing", "2023-06-01")], [base_visit("V1", "general_outpatient",
                                                         "2023-03-01", base=400)])["V1"]
    assert v["assistance"] == 280
    assert any(t["rule"] == "NB-A4" and t["amount"] == 280 for t in v["trace"])


def test_nb_a4_outpatient_pay_counts_into_annual_cap():
    # V1 outpatient 500 (capped); V2 70% × 200000 = 140000 → 80000 − 500 = 79500
    r = nb([ident("dibao")], [base_visit("V1", "general_outpatient", "2023-02-01", base=1000),
                              stay("V2", "2023-03-01", "2023-03-05", 200000)])
    assert r["V1"]["assistance"] == 500
    assert r["V2"]["assistance"] == 79500


def test_nb_a4_outpatient_limited_by_what_is_left_of_annual_cap():
    # V1 70% × 114000 = 79800; V2 70% × 1000 = 700 → outpatient cap 500 → annual left 200
    r = nb([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-05", 114000),
                              base_visit("V2", "general_outpatient", "2023-03-01", base=1000)])
    assert r["V1"]["assistance"] == 79800
    assert r["V2"]["assistance"] == 200


# -- NB-A5 -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "base"), [("inpatient", 300000), ("general_outpatient", 2000),
                                            ("special_outpatient", 5000)])
def test_nb_a5_heroic_injury_full_no_cap(kind, base):
    v = nb([ident("jianyiyongwei")], [base_visit("V1", kind, "2023-02-01", base=base,
                                                 heroic_injury=True)])["V1"]
    assert (v["category"], v["assistance"]) == ("jianyiyongwei", base)
    assert_traced(v, "assistance", "NB-A5", NINGBO, "三（二）1")


def test_nb_a5_without_flag_nothing():
    v = nb([ident("jianyiyongwei")], [stay("V1", "2023-02-01", "2023-02-05", 10000)])["V1"]
    assert (v["assistance"], v["maf_pay"]) == (0, 0)
    assert v["trace"]


def test_nb_other_special_nothing_traced():
    v = nb([ident("other_special")], [stay("V1", "2023-02-01", "2023-02-05", 10000)])["V1"]
    assert (v["assistance"], v["maf_pay"]) == (0, 0)
    assert v["trace"]


# -- NB-S1 -----------------------------------------------------------------------------------
def test_nb_s1_childbirth_grant_900_when_higher_than_the_inpatient_line():
    # 就高 (amended 2026-12-04): base 1200 − 200 = 1000, NB-A2 70% = 700 < grant 900;
    # would still pay 1000 → 900; psn 100
    v = nb([ident("dibao")], [visit("V1", "childbirth", "2023-02-01", "2023-02-04",
                                    total=1200, hifp=200)])["V1"]
    assert (v["assistance"], v["special"], v["maf_pay"]) == (0, 900, 900)
    assert v["psn_part_amt"] == 100
    assert_chain(v)
    assert_traced(v, "special", "NB-S1", NINGBO, "三（二）3")


def test_nb_s1_childbirth_inpatient_line_when_higher_than_the_grant():
    # base 5000 − 3000 = 2000: NB-A2 70% = 1400 > 900 → assistance 1400, no grant
    v = nb([ident("dibao")], [visit("V1", "childbirth", "2023-02-01", "2023-02-04",
                                    total=5000, hifp=3000)])["V1"]
    assert (v["assistance"], v["special"], v["maf_pay"]) == (1400, 0, 1400)
    assert_traced(v, "assistance", "NB-A2", NINGBO, "三（二）1")


def test_nb_s1_childbirth_tie_goes_to_the_grant():
    # base 900 / 0.7 would tie at 900: base 1285.71 pays 900.00 under NB-A2 → the grant
    v = nb([ident("dibao")], [visit("V1", "childbirth", "2023-02-01", "2023-02-04",
                                    total=1285.71, hifp=0)])["V1"]
    assert (v["assistance"], v["special"]) == (0, 900)


def test_nb_s1_grant_limited_to_what_person_would_pay():
    # 2000 − 1500 = 500 < 900 → 500; psn 0
    v = nb([ident("dibao")], [visit("V1", "childbirth", "2023-02-01", "2023-02-04",
                                    total=2000, hifp=1500)])["V1"]
    assert (v["special"], v["psn_part_amt"]) == (500, 0)


def test_nb_s1_limit_is_what_person_pays_not_the_base():
    # base = 1200 − 1000 = 200, but person would pay 2000 − 1000 = 1000 (incl. out-of-catalog
    # 800) → grant 900; psn 100
    v = nb([ident("dibao")], [visit("V1", "childbirth", "2023-02-01", "2023-02-04",
                                    total=2000, fulamt=800, hifp=1000)])["V1"]
    assert v["base"] == 200
    assert (v["special"], v["maf_pay"], v["psn_part_amt"]) == (900, 900, 100)


def test_nb_childbirth_of_a_non_dibao_person_is_settled_as_inpatient():
    # tekun is not dibao: no grant, but the childbirth is an inpatient stay under NB-A1 100%
    v = nb([ident("tekun")], [visit("V1", "childbirth", "2023-02-01", "2023-02-04",
                                    total=5000, hifp=3000)])["V1"]
    assert (v["assistance"], v["special"], v["maf_pay"]) == (2000, 0, 2000)
    assert_traced(v, "assistance", "NB-A1", NINGBO, "三（二）1")


# -- NB-S2 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("grade", [1, 2])
def test_nb_s2_rehabilitation_half_of_base(grade):
    v = nb([ident("dibao")], [base_visit("V1", "rehabilitation", "2023-02-01", base=1000)],
           disability_grade=grade)["V1"]
    assert (v["assistance"], v["special"], v["maf_pay"]) == (0, 500, 500)
    assert_traced(v, "special", "NB-S2", NINGBO, "三（二）3")


def test_nb_s2_rehab_cap_3000():
    # 50% × 4000 = 2000; 50% × 4000 = 2000 → 1000 left of 3000
    r = nb([ident("dibao")], [base_visit("V1", "rehabilitation", "2023-02-01", base=4000),
                              base_visit("V2", "rehabilitation", "2023-03-01", base=4000)],
           disability_grade=1)
    assert r["V1"]["special"] == 2000
    assert r["V2"]["special"] == 1000


def test_nb_s2_outside_annual_cap():
    # annual 80000 exhausted by V1; rehab still 50% × 2000 = 1000
    r = nb([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-05", 200000),
                              base_visit("V2", "rehabilitation", "2023-03-01", base=2000)],
           disability_grade=2)
    assert r["V1"]["assistance"] == 80000
    assert r["V2"]["special"] == 1000


def test_nb_rehab_without_grade_1_or_2_is_general_outpatient():
    # grade 3: settled as general_outpatient under NB-A4: 70% × 1000 = 700 → cap 500
    v = nb([ident("dibao")], [base_visit("V1", "rehabilitation", "2023-02-01", base=1000)],
           disability_grade=3)["V1"]
    assert (v["assistance"], v["special"]) == (500, 0)


# -- NB-S3 -----------------------------------------------------------------------------------
def test_nb_s3_rare_disease_full_base_as_special():
    # base = 100000 − 50000 − 20000 = 30000 → 100% special
    v = nb([ident("dibao")], [visit("V1", "inpatient", "2023-02-01", "2023-02-05",
                                    total=100000, hifp=50000, hifmi=20000,
                                    rare_disease=True)])["V1"]
    assert (v["assistance"], v["special"], v["psn_part_amt"]) == (0, 30000, 0)
    assert_traced(v, "special", "NB-S3", NINGBO, "三（二）3")


def test_nb_s3_outside_every_cap():
    r = nb([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-05", 200000),
                              stay("V2", "2023-03-01", "2023-03-05", 50000, rare_disease=True)])
    assert r["V1"]["assistance"] == 80000
    assert (r["V2"]["special"], r["V2"]["assistance"]) == (50000, 0)


# -- NB-W and referral -----------------------------------------------------------------------
def test_nb_w_exact_from_and_to_no_stay_rule():
    # from 03-20 .. to 06-10 exact; stays decided by discharge date; 70% × 1000 = 700
    r = nb([ident("dibao", "2023-03-20", "2023-06-10")], [
        base_visit("V1", "special_outpatient", "2023-03-19", base=1000),
        base_visit("V2", "special_outpatient", "2023-03-20", base=1000),
        base_visit("V3", "special_outpatient", "2023-06-10", base=1000),
        base_visit("V4", "special_outpatient", "2023-06-11", base=1000),
        stay("V5", "2023-06-05", "2023-06-12", 1000),
        stay("V6", "2023-03-15", "2023-03-21", 1000)])
    assert [r[f"V{i}"]["assistance"] for i in range(1, 7)] == [0, 700, 700, 0, 0, 700]


@pytest.mark.parametrize("referral", ["unreferred", "unreferred_hardship"])
def test_nb_referral_has_no_effect(referral):
    v = nb([ident("dibao")], [stay("V1", "2023-02-01", "2023-02-05", 10000,
                                   location="out_of_province", referral=referral)])["V1"]
    assert (v["assistance"], v["tilted"]) == (7000, 0)


def test_nb_tie_order_by_number():
    v = nb([ident("dibao_edge"), ident("dibao")],
           [stay("V1", "2023-02-01", "2023-02-05", 1000)])["V1"]
    assert (v["category"], v["assistance"]) == ("dibao", 700)


@pytest.mark.parametrize("kind", ["dual_channel_drug", "rare_disease_drug"])
def test_nb_drug_kinds_settled_as_special_outpatient(kind):
    # no rule of their own in Ningbo (NB-S3 is the rare_disease flag): NB-A2 70% × 1000
    v = nb([ident("dibao")], [base_visit("V1", kind, "2023-02-01", base=1000)])["V1"]
    assert (v["assistance"], v["special"]) == (700, 0)


def test_nb_s3_rare_disease_outpatient_beyond_outpatient_cap():
    v = nb([ident("dibao")], [base_visit("V1", "general_outpatient", "2023-02-01", base=2000,
                                         rare_disease=True)])["V1"]
    assert (v["assistance"], v["special"]) == (0, 2000)


def test_nb_highest_benefit_dibao_over_yinbing_lookback():
    # dibao 70% vs yinbing 60% (before from) → dibao 7000
    v = nb([ident("yinbing", "2023-06-01"), ident("dibao")],
           [stay("V1", "2023-03-01", "2023-03-05", 10000)])["V1"]
    assert (v["category"], v["assistance"]) == ("dibao", 7000)


def test_nb_s2_and_nb_a4_tie_goes_to_the_grant_for_tekun():
    # tekun grade 1, rehabilitation: NB-S2 50% × 1000 = 500 beside NB-A4 100% within the
    # outpatient 500 = 500: a tie goes to the special grant (RULES §4.4, amended 2026-12-04)
    v = nb([ident("tekun")], [base_visit("V1", "rehabilitation", "2023-02-01", base=1000)],
           disability_grade=1)["V1"]
    assert (v["assistance"], v["special"]) == (0, 500)


def test_nb_s1_grant_limited_after_other_payments():
    # would still pay 5000 − 3000 − 1500 = 500 → grant 500
    v = nb([ident("dibao")], [visit("V1", "childbirth", "2023-03-10", "2023-03-14",
                                    total=5000, hifp=3000, oth=1500)])["V1"]
    assert (v["special"], v["psn_part_amt"]) == (500, 0)


# -- amended 2026-12-04: caps are payout limits; the look-back ratio is NB-A3's alone -------
def test_nb_lookback_visits_at_60_do_not_spend_the_70_curve():
    # V1 in the look-back: 60% × 100000 = 60000 of the 80000 cap. V2 in force: the 70% line's
    # F goes 70000 → 98000 (28000), the cap pool has 20000 left → 20000, not 10000
    r = nb([ident("yinbing", "2023-07-01")], [stay("V1", "2023-03-01", "2023-03-05", 100000),
                                              stay("V2", "2023-08-01", "2023-08-05", 40000)])
    assert (r["V1"]["assistance"], r["V2"]["assistance"]) == (60000, 20000)


def test_nb_a3_sixty_percent_also_inside_the_window_when_application_follows_recognition():
    # recognised 01-01, applied 09-01: 05-01 lies in the window and in the 12 months before
    # the application → 60%; 10-01 is after the application → 70%
    r = nb([ident("yinbing", "2023-01-01", application="2023-09-01")],
           [stay("V1", "2023-05-01", "2023-05-03", 10000),
            stay("V2", "2023-10-01", "2023-10-03", 10000)])
    assert (r["V1"]["assistance"], r["V2"]["assistance"]) == (6000, 7000)
    assert any(t["rule"] == "NB-A3" and "look-back" in t["detail"] for t in r["V1"]["trace"])


def test_nb_s3_is_not_cut_by_the_lookback_ratio():
    v = nb([ident("yinbing", "2023-07-01")],
           [stay("V1", "2023-03-01", "2023-03-05", 10000, rare_disease=True)])["V1"]
    assert (v["assistance"], v["special"]) == (0, 10000)
    assert_traced(v, "special", "NB-S3", NINGBO, "三（二）3(4)")


@pytest.mark.parametrize(("base", "assistance", "special"), [
    (2000, 0, 1000),   # NB-S2 50% × 2000 = 1000 > NB-A4 70% × 2000 within 500
    (600, 420, 0),     # NB-A4 70% × 600 = 420 > NB-S2 50% × 600 = 300
])
def test_nb_s2_beside_nb_a4_in_the_lookback(base, assistance, special):
    # yinbing grade 1 in the look-back: NB-S2 keeps its 50%, NB-A4 its 70% (60% is NB-A3's)
    v = nb([ident("yinbing", "2023-07-01")],
           [base_visit("V1", "rehabilitation", "2023-03-01", base=base)],
           disability_grade=1)["V1"]
    assert (v["assistance"], v["special"]) == (assistance, special)
