"""Stages after assistance (再救助, a year's flat grant, a ceiling on what a person bears),
conditions on a person's statuses and a visit's facts, and caps a condition raises, each
on a small city written for the test. Amounts in the docstrings are yuan; the engine works
in fen."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_policy_constructs import PERSON, paid, stay

from medaid.batch import schema
from medaid.batch.plan import compile_plans
from medaid.batch.settle import settle_population
from medaid.core.errors import PolicyError
from medaid.engine.settle import settle_year
from medaid.engine.types import Held, Identity, Person, Visit
from medaid.policy.model import parse_policy
from medaid.policy.references import cited
from medaid_command import medaid
from runs import examples
from small_city import HEAD, city

HALF = """\
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*", segments: [{ratio: 0.5}]}
"""
REASSIST = HALF + """\
stages:
  - rule: R1
    article: 第九条
    label: 再救助
    deductible: 2000
    segments: [{ratio: 0.6}]
"""


def test_reassistance_pays_on_what_assistance_left_above_its_yearly_threshold() -> None:
    """Assistance 50%; 再救助 60% of the year's remainder above 2,000. Stay 1, base 10,000:
    assistance 5,000, remainder 5,000, re-assistance (5,000 − 2,000) × 60% = 1,800. Stay 2,
    base 4,000: assistance 2,000, remainder 2,000; the year's remainder 7,000 gives
    F(7,000) − F(5,000) = 3,000 − 1,800 = 1,200."""
    visits = [stay("V1", 1, 1_000_000), stay("V2", 9, 400_000)]
    policy = city(REASSIST)
    assert paid(policy, visits, "reassistance") == [180_000, 120_000]
    result = settle_year([policy], {}, PERSON, visits).settlements
    assert [s.maf_pay for s in result] == [680_000, 320_000]
    assert [s.psn_part_amt for s in result] == [320_000, 80_000]
    assert result[0].rules == ["A1", "R1"]
    line = result[1].trace[-1]
    assert line.tier == "reassistance" and line.citation == "某市《某市医疗救助实施办法》第九条"
    assert ("再救助：本次个人负担2,000.00元，累计5,000.00元→7,000.00元，起付线2,000.00元"
            in line.text)


def test_reassistance_within_its_cap_and_by_category() -> None:
    """The same, at most 2,000 a year: 1,800, then 200. 特困 at 80% instead: 2,400, then
    F(7,000) − F(5,000) = 4,000 − 2,400 = 1,600 (cap 2,000: 2,400 > 2,000 → 2,000, then 0)."""
    visits = [stay("V1", 1, 1_000_000), stay("V2", 9, 400_000)]
    capped = REASSIST + "    caps: [{pool: r_cap, amount: 2000}]\n"
    assert paid(city(capped), visits, "reassistance") == [180_000, 20_000]
    by_category = capped + "    by_category: [{categories: [tekun], segments: [{ratio: 0.8}]}]\n"
    assert paid(city(by_category), visits, "reassistance") == [200_000, 0]
    other = Person("Q", (Identity("other", date(2024, 1, 1)),))
    result = settle_year([city(by_category)], {}, other, visits).settlements
    assert [s.reassistance for s in result] == [180_000, 20_000]


def test_a_stage_on_what_the_person_pays_in_all() -> None:
    """base: out_of_pocket includes what the person pays outside the policy range: a stay
    of 10,000 with 2,000 全自费 has inscp 8,000; assistance 4,000; the person bears 6,000 in
    all, of which 4,000 in range. 60% above 2,000: 2,400 (out of pocket) or 1,200."""
    visit = stay("V1", 1, 1_000_000, fulamt_ownpay_amt=200_000)
    assert paid(city(REASSIST), [visit], "reassistance") == [120_000]
    whole = REASSIST.replace("    label: 再救助\n", "    label: 再救助\n    base: out_of_pocket\n")
    assert paid(city(whole), [visit], "reassistance") == [240_000]


GRANT = HALF + """\
stages:
  - rule: G1
    article: 第十条
    label: 年度一次性补助
    when: year_end
    base: out_of_pocket
    deductible: 10000
    grant: 2000
"""


def test_a_year_end_grant_once_the_years_self_pay_passes_its_threshold() -> None:
    """Assistance 50%. Stays of 10,000 (2,000 全自费) and 6,000: the person bears 6,000 +
    3,000 = 9,000, not above 10,000: no grant. A third stay of 4,000 (bears 2,000) makes
    11,000: a grant of 2,000, once, reported for the year."""
    two = [stay("V1", 1, 1_000_000, fulamt_ownpay_amt=200_000), stay("V2", 5, 600_000)]
    policy = city(GRANT)
    assert settle_year([policy], {}, PERSON, two).year_end[0].amount == 0
    three = settle_year([policy], {}, PERSON, [*two, stay("V3", 9, 400_000)])
    (grant,) = three.year_end
    assert (grant.year, grant.rule, grant.amount, grant.visits) == (2024, "G1", 200_000,
                                                                     ["V1", "V2", "V3"])
    assert [s.reassistance for s in three.settlements] == [0, 0, 0]
    assert "超过10,000.00元给予一次性补助2,000.00元" in grant.trace[0].text


CEILING = HALF + """\
stages:
  - rule: F1
    article: 第十一条
    label: 个人负担封顶
    when: year_end
    kinds: [inpatient]
    ceiling: {share: 0.10, of: inscp_scp_amt}
"""


def test_a_year_end_ceiling_pays_what_the_person_bears_above_a_share_of_the_years_cost(
        ) -> None:
    """Stays with inscp 8,000 and 6,000, assistance 50%: the person bears 4,000 + 3,000 =
    7,000 in range; the ceiling is 10% × 14,000 = 1,400; 5,600 is paid at year end. An
    outpatient visit is not among the stays the ceiling counts."""
    visits = [stay("V1", 1, 1_000_000, fulamt_ownpay_amt=200_000), stay("V2", 5, 600_000),
              Visit("O1", "general_outpatient", date(2024, 3, 7), date(2024, 3, 7), 100_000,
                    hifp_pay=0, hifmi_pay=0)]
    (ceiling,) = settle_year([city(CEILING)], {}, PERSON, visits).year_end
    assert ceiling.amount == 560_000 and ceiling.visits == ["V1", "V2"]
    fixed = CEILING.replace("{share: 0.10, of: inscp_scp_amt}", "{share: 0.10, amount: 1000}")
    assert settle_year([city(fixed)], {}, PERSON, visits).year_end[0].amount == 600_000


HELD = HALF + """\
stages:
  - {rule: F2, article: 第十二条, label: 个人负担封顶, when: year_end, category_at: year_end,
     ceiling: {amount: 3000}, by_category: [{categories: [other], ceiling: {amount: 7000}}]}
"""


def test_a_year_end_ceiling_by_the_identity_held_at_the_years_end() -> None:
    """年度内救助身份发生变化的，按年末所具有的救助身份执行: 特困 until June (ceiling 3,000),
    其他 from July (7,000). Assistance 50%: a stay of 10,000 in March and one of 6,000 in
    September leave 5,000 + 3,000 = 8,000 borne; by the identity held at the year's end
    (其他) 8,000 − 7,000 = 1,000, over both stays. By the visits' first-listed category
    (特困) it would be 8,000 − 3,000 = 5,000. Where 其他 ended in May and 特困 was held from
    June to October, the one held last (特困) gives 5,000."""
    person = Person("P", (Identity("tekun", date(2024, 1, 1), date(2024, 6, 30)),
                          Identity("other", date(2024, 7, 1))))
    visits = [stay("V1", 1, 1_000_000), replace(stay("V2", 1, 600_000), start=date(2024, 9, 1),
                                                end=date(2024, 9, 1))]
    (held,) = settle_year([city(HELD)], {}, person, visits).year_end
    assert (held.category, held.amount, held.visits) == ("other", 100_000, ["V1", "V2"])
    assert "按年末救助身份其他救助对象" in held.trace[0].text
    by_visits = HELD.replace(" category_at: year_end,", "")
    assert settle_year([city(by_visits)], {}, person, visits).year_end[0].amount == 500_000
    exited = Person("P", (Identity("other", date(2024, 1, 1), date(2024, 5, 31)),
                          Identity("tekun", date(2024, 6, 1), date(2024, 10, 31))))
    early = [replace(v, start=date(2024, 6, 5), end=date(2024, 6, 5)) for v in visits]
    (last,) = settle_year([city(HELD)], {}, exited, early).year_end
    assert (last.category, last.amount) == ("tekun", 500_000)
    with pytest.raises(PolicyError, match="只用于年终阶段"):
        city(HELD.replace(" when: year_end,", ""))


GRACED = HEAD.replace("stay_rule: true}", "stay_rule: true, grace: [{rule: W2, article: "
                      "第六条, categories: [tekun], months: 6}]}")


def test_the_identity_held_at_the_years_end_is_held_through_its_grace() -> None:
    """渐退期内按原身份继续享受: 特困 exits 2024-09-01 (渐退期 to 2025-03-01), 其他 from
    2024-09-01. On 31 December both are held and 特困 comes first: its ceiling of 3,000
    gives 8,000 − 3,000 = 5,000 (其他's 7,000 would give 1,000). Without 其他, 特困 alone
    is held then."""
    policy = parse_policy(GRACED + HELD, "city.yaml")
    visits = [stay("V1", 1, 1_000_000), replace(stay("V2", 1, 600_000), start=date(2024, 10, 1),
                                                end=date(2024, 10, 1))]
    tekun = Identity("tekun", date(2024, 1, 1), date(2024, 9, 1))
    for person in (Person("P", (tekun, Identity("other", date(2024, 9, 1)))),
                   Person("P", (tekun,))):
        (held,) = settle_year([policy], {}, person, visits).year_end
        assert (held.category, held.amount) == ("tekun", 500_000)


def test_no_stage_takes_a_stay_the_referral_rule_leaves_unassisted() -> None:
    """未按规定转诊的，不享受医疗救助和年度个人负担封顶待遇: a stay of 40,000 (insurance
    22,000) unreferred gets nothing, neither at the visit nor in the year's ceiling of
    3,000 — which a referred stay of the same amounts gets: 18,000 − 3,000 = 15,000
    (assistance 0 here, so the person bears 18,000)."""
    body = ("referral: {rule: RF, article: 第七条, unreferred: {assistance: false, "
            "tilt: false}}\nlines:\n  - {rule: A1, article: 第五条, categories: [other], "
            "kinds: \"*\", segments: [{ratio: 0.5}]}\nstages:\n"
            "  - {rule: F1, article: 第十一条, label: 个人负担封顶, when: year_end, "
            "ceiling: {amount: 3000}}\n"
            "  - {rule: R1, article: 第九条, label: 再救助, segments: [{ratio: 0.5}]}\n")
    policy = city(body)
    unreferred = replace(stay("V1", 2, 4_000_000, hifp=2_200_000), referral="unreferred")
    result = settle_year([policy], {}, PERSON, [unreferred])
    assert result.settlements[0].maf_pay == 0 and result.settlements[0].closed
    assert result.year_end == []
    referred = settle_year([policy], {}, PERSON, [replace(unreferred, referral="ok")])
    assert [s.reassistance for s in referred.settlements] == [900_000]
    assert [(y.rule, y.amount) for y in referred.year_end] == [("F1", 600_000)]


def test_a_refused_childbirth_gets_no_stage_through_the_inpatient_fallback() -> None:
    """因病致贫重病患者的住院分娩费用不纳入医疗救助: childbirth falls back to the stays'
    lines, but the refusal names it for the category, so the 再救助 of stays (60%) pays it
    nothing either; a stay of the same amounts gets 60% × 2,000 = 1,200."""
    body = ("kind_fallback: {childbirth: inpatient}\nlines:\n"
            "  - {rule: A1, article: 第五条, categories: [tekun], kinds: [inpatient], "
            "segments: [{ratio: 0.0}]}\n"
            "refusals:\n  - {rule: B1, article: 第六条, categories: [tekun], "
            "kinds: [childbirth], reason: 住院分娩费用不纳入医疗救助}\n"
            "stages:\n  - {rule: R1, article: 第九条, label: 再救助, kinds: [inpatient], "
            "segments: [{ratio: 0.6}]}\n")
    birth = replace(stay("V1", 2, 500_000, hifp=300_000), kind="childbirth")
    assert paid(city(body), [birth], "reassistance") == [0]
    assert paid(city(body), [replace(birth, kind="inpatient")], "reassistance") == [120_000]


STATUS = """\
statuses:
  - {id: mts, label: 门诊特殊病种}
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*", segments: [{ratio: 0.5}]}
  - {rule: A2, article: 第六条, categories: "*", kinds: [inpatient], alternative: true,
     statuses: [mts], segments: [{ratio: 0.85}]}
  - {rule: A3, article: 第七条, categories: "*", kinds: [general_outpatient],
     locations: [out_of_province], hospital_levels: [3], segments: [{ratio: 0.3}]}
"""


def test_a_status_held_on_the_visits_date_changes_the_line() -> None:
    """Certified for 门诊特殊病种 from 5 March: a stay on 1 March gets 50%, one on 9 March
    85% (the alternative line, the higher applied)."""
    person = replace(PERSON, statuses=(Held("mts", date(2024, 3, 5)),))
    visits = [stay("V1", 1, 100_000), stay("V2", 9, 100_000)]
    result = settle_year([city(STATUS)], {}, person, visits).settlements
    assert [s.assistance for s in result] == [50_000, 85_000]
    assert result[1].rules == ["A2"]
    assert paid(city(STATUS), visits) == [50_000, 50_000]  # without the status


def test_a_line_for_those_without_a_status_and_its_trace() -> None:
    """未纳入门诊特殊病种管理的 get 50% on stays, those certified 85% (two exclusive
    readings of one sentence): certified from 5 March, a stay on 1 March gets 50%, one on
    9 March 85%; the first's trace says why the certified line paid nothing, the second's
    why the other did."""
    body = STATUS.split("lines:\n")[0] + """\
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: [inpatient], not_statuses: [mts],
     segments: [{ratio: 0.5}]}
  - {rule: A2, article: 第六条, categories: "*", kinds: [inpatient], statuses: [mts],
     segments: [{ratio: 0.85}]}
"""
    person = replace(PERSON, statuses=(Held("mts", date(2024, 3, 5)),))
    result = settle_year([city(body)], {}, person,
                         [stay("V1", 1, 100_000), stay("V2", 9, 100_000)]).settlements
    assert [s.assistance for s in result] == [50_000, 85_000]
    assert [s.rules for s in result] == [["A1"], ["A2"]]
    alone = city(body.split("  - {rule: A2")[0])
    bare = settle_year([alone], {}, person, [stay("V2", 9, 100_000)]).settlements[0]
    assert bare.assistance == 0
    text = next(t.text for t in bare.trace if t.code == "conditions_unmet")
    assert "A1限未认定门诊特殊病种的人员（本人已认定）" in text


@pytest.mark.parametrize(("kind", "location", "pays"), [
    ("inpatient", "out_of_province", 40_000), ("inpatient", "city", 50_000),
    ("special_outpatient", "out_of_province", 50_000)])
def test_a_referral_rule_for_stays_out_of_the_area_only(kind: str, location: str,
                                                        pays: int) -> None:
    """未按规定办理转诊手续自行到县外住院的，救助比例降低10个百分点: an unreferred stay out of
    the province gets 40% of 1,000; one in the city, or an unreferred 门诊慢特病 visit
    out of the province, the line's 50%, in the engine and the kernel."""
    policy = city(HALF + "referral: {rule: RF, article: 第七条, kinds: [inpatient], "
                         "locations: [province, out_of_province], "
                         "unreferred: {ratio_points: -10}}\n")
    d = date(2024, 3, 1)
    visits = [Visit("V1", kind, d, d, 100_000, hifp_pay=0, hifmi_pay=0, location=location,
                    referral="unreferred")]
    assert paid(policy, visits) == [pays]
    res = settle_population([policy], {}, schema.visit_columns(schema.visits_table(
        (0, v) for v in visits)), schema.person_columns(schema.persons_table([(0, PERSON)])))
    assert res.assistance.tolist() == [pays]


def test_a_pool_names_the_article_that_sets_its_limit() -> None:
    """合计年度不超过…元 in an article of its own: the trace names it beside the pool's label
    where the cap holds the payout, and validate checks it is in the text."""
    policy = city("""\
pools:
  A1: {}
  main_cap: {label: 年度救助限额, article: 第十条}
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*", segments: [{ratio: 0.5}],
     caps: [{pool: main_cap, amount: 300}]}
""")
    trace = settle_year([policy], {}, PERSON, [stay("V1", 1, 100_000)]).settlements[0].trace
    assert trace[-1].text == ("50% × 1,000.00元；受年度救助限额（第十条）300.00元限制"
                              "（已支付0.00元）")
    assert (["pools", "main_cap", "article"], "第十条", None) in cited(policy.spec)


def test_segment_bounds_as_the_document_writes_them() -> None:
    """再救助：年度累计超过5000元至2万元（含）的部分按50%，2万元以上的部分按60%: with
    `bounds: absolute` the first bound is 20,000 as written, the same as 15,000 above the
    deductible. Assistance 50% of 60,000 leaves 30,000: (20,000 − 5,000) × 50% + 10,000 ×
    60% = 13,500, in the engine and the kernel."""
    stage = ("stages:\n  - {rule: R1, article: 第九条, label: 再救助, deductible: 5000, "
             "segments: [{upto: UPTO, ratio: 0.5}, {ratio: 0.6}]BOUNDS}\n")
    visits = [stay("V1", 1, 6_000_000)]
    for upto, bounds in (("15000", ""), ("20000", ", bounds: absolute")):
        policy = city(HALF + stage.replace("UPTO", upto).replace("BOUNDS", bounds))
        assert paid(policy, visits, "reassistance") == [1_350_000]
        res = settle_population([policy], {}, schema.visit_columns(schema.visits_table(
            (0, v) for v in visits)), schema.person_columns(schema.persons_table([(0, PERSON)])))
        assert res.reassistance.tolist() == [1_350_000]
    # a category whose deductible is above the first bound starts in the second segment:
    # (30,000 − 25,000) × 60% = 3,000
    high = city(HALF + stage.replace("UPTO", "20000").replace("BOUNDS", ", bounds: absolute")
                .replace("absolute}", "absolute, by_category: [{categories: [other], "
                         "deductible: 25000}]}"))
    other = Person("P", (Identity("other", date(2024, 1, 1)),))
    assert settle_year([high], {}, other, visits).settlements[0].reassistance == 300_000
    res = settle_population([high], {}, schema.visit_columns(schema.visits_table(
        (0, v) for v in visits)), schema.person_columns(schema.persons_table([(0, other)])))
    assert res.reassistance.tolist() == [300_000]


def test_the_rules_page_and_diff_read_the_referral_scope_and_an_unheld_year_end() -> None:
    from medaid.policy import diff, explain
    body = HALF + ("referral: {rule: RF, article: 第七条, kinds: [inpatient], "
                   "locations: [province, out_of_province], unreferred: {ratio_points: -10}}\n"
                   "stages:\n  - {rule: F1, article: 第十一条, label: 个人负担封顶, "
                   "when: year_end, category_at: year_end, unheld_at_year_end: none, "
                   "ceiling: {amount: 3000}}\n")
    shown = {e.rule: dict(e.facts) for e in explain.elements(city(body))}
    assert (shown["RF"]["kinds"], shown["RF"]["locations"]) == ("inpatient", "省内异地、省外")
    assert shown["F1"]["when"] == "年终一次，按年末所具有的救助身份；年末已不具有救助身份的不享受"
    printed = diff.render(diff.diff(city(body), city(body.replace(
        "unheld_at_year_end: none, ", ""))))
    assert "年末无身份的：不享受 → 按退出前最后所具有的身份" in printed


def test_an_unreferred_visit_kept_from_the_stages() -> None:
    """未按规定转诊到县外住院的，比例降低10个百分点，其费用不纳入个人负担封顶计算: an
    unreferred stay out of the province gets 40% and no 再救助; one in the city, outside the
    rule, gets 50% and its 再救助 (60% of the 500 left above 0: 300), in the engine and the
    kernel."""
    policy = city(HALF + "referral: {rule: RF, article: 第七条, kinds: [inpatient], "
                         "locations: [province, out_of_province], "
                         "unreferred: {ratio_points: -10, stages: false}}\n"
                         "stages:\n  - {rule: R1, article: 第九条, label: 再救助, "
                         "segments: [{ratio: 0.6}]}\n")
    d = date(2024, 3, 1)
    visits = [Visit(f"V{k}", "inpatient", d, d, 100_000, hifp_pay=0, hifmi_pay=0,
                    location=where, referral="unreferred")
              for k, where in enumerate(("out_of_province", "city"))]
    got = settle_year([policy], {}, PERSON, visits).settlements
    assert [(s.assistance, s.reassistance) for s in got] == [(40_000, 0), (50_000, 30_000)]
    said = next(t.text for t in got[0].trace if t.rule == "RF")
    assert said.endswith("各救助比例降低10个百分点，其费用不纳入再救助"), said
    kept = city(HALF + "referral: {rule: RF, article: 第七条, unreferred: {stages: false}}\n"
                       "stages:\n  - {rule: R1, article: 第九条, label: 再救助, "
                       "segments: [{ratio: 0.6}]}\n")  # the ratio kept, the stages not
    (alone,) = settle_year([kept], {}, PERSON, visits[:1]).settlements
    assert (alone.assistance, alone.reassistance) == (50_000, 0)
    assert next(t.text for t in alone.trace if t.rule == "RF").endswith("其费用不纳入再救助")
    res = settle_population([policy], {}, schema.visit_columns(schema.visits_table(
        (0, v) for v in visits)), schema.person_columns(schema.persons_table([(0, PERSON)])))
    assert list(zip(res.assistance.tolist(), res.reassistance.tolist(), strict=True)) == [
        (40_000, 0), (50_000, 30_000)]


def test_a_lines_visit_facts_choose_it() -> None:
    """An outpatient visit out of the province at a level-3 hospital: A1 50% and A3 30%
    both run (A3's conditions hold): 500 + 300 = 800 of the 1,000 borne. At a
    level-2 hospital A3's conditions fail: 500."""
    def visit(level: int) -> Visit:
        d = date(2024, 3, 1)
        return Visit("O1", "general_outpatient", d, d, 100_000, hifp_pay=0, hifmi_pay=0,
                     location="out_of_province", hospital_level=level)
    assert paid(city(STATUS), [visit(3)]) == [80_000]
    assert paid(city(STATUS), [visit(2)]) == [50_000]


RAISED = """\
lines:
  - rule: A1
    article: 第五条
    categories: "*"
    kinds: "*"
    segments: [{ratio: 0.5}]
    caps: [{pool: yearly, amount: 3000, raised: {amount: 5000, over: 8000}}]
"""


def test_a_cap_raised_once_a_stays_own_base_passes_a_threshold() -> None:
    """50% within 3,000 a year, raised to 5,000 from a stay whose base exceeds 8,000. Stay
    1, base 6,000: 3,000 (the cap). Stay 2, base 9,000: the cap is now 5,000, 4,500 held to
    the 2,000 left. Stay 3, base 2,000: nothing left. Without stay 2's size (base 7,000):
    nothing after stay 1."""
    policy = city(RAISED)
    assert paid(policy, [stay("V1", 1, 600_000), stay("V2", 5, 900_000),
                         stay("V3", 9, 200_000)]) == [300_000, 200_000, 0]
    assert paid(policy, [stay("V1", 1, 600_000), stay("V2", 5, 700_000)]) == [300_000, 0]
    # the stay that raises the cap says so, once; a later one reads the raised cap
    result = settle_year([policy], {}, PERSON, [stay("V1", 1, 600_000), stay("V2", 5, 900_000),
                                               stay("V3", 9, 200_000)]).settlements
    texts = [next(t.text for t in r.trace if t.rule == "A1") for r in result]
    assert "本次基数9,000.00元超过8,000.00元，救助限额自3,000.00元提高至5,000.00元" in texts[1]
    assert "提高至" not in texts[0] and "提高至" not in texts[2]


@pytest.mark.parametrize("order", ["main_first", "sub_first"])
def test_each_cap_pool_of_a_line_advances_by_what_all_its_caps_let_it_pay(order: str) -> None:
    """住院和门诊慢特病合计年度不超过1,000元，其中门诊慢特病不超过500元: a special-outpatient
    visit of 800 is held to 500 by its own limit, and the joint limit counts those 500, not
    800; a stay of 800 then gets the 500 left, whichever order the file lists the caps in,
    in the engine and the kernel."""
    caps = ["{pool: main_cap, amount: 1000}", "{pool: mts_cap, amount: 500}"]
    if order == "sub_first":
        caps.reverse()
    policy = city(f"""\
lines:
  - {{rule: A1, article: 第五条, categories: "*", kinds: [inpatient], segments: [{{ratio: 1}}],
     caps: [{{pool: main_cap, amount: 1000}}]}}
  - {{rule: A2, article: 第六条, categories: "*", kinds: [special_outpatient],
     segments: [{{ratio: 1}}], caps: [{", ".join(caps)}]}}
""")
    d = date(2024, 3, 1)
    visits = [Visit("M1", "special_outpatient", d, d, 80_000, hifp_pay=0, hifmi_pay=0),
              stay("V2", 5, 80_000)]
    assert paid(policy, visits) == [50_000, 50_000]
    res = settle_population([policy], {}, schema.visit_columns(schema.visits_table(
        (0, v) for v in visits)), schema.person_columns(schema.persons_table([(0, PERSON)])))
    assert res.assistance.tolist() == [50_000, 50_000]


def test_a_visit_stage_named_as_a_lines_pool_is_refused() -> None:
    """A visit stage without `pool` accumulates in its rule id: one that is a line's pool
    would count the stage's base into the line's and overpay."""
    with pytest.raises(PolicyError, match=r"stages\[0\]\.rule: 累计池「main」是 lines\[0\]"):
        city("lines:\n  - {rule: A1, article: 第五条, categories: \"*\", kinds: \"*\", "
             "pool: main, segments: [{ratio: 0.5}]}\nstages:\n  - {rule: main, article: "
             "第九条, label: 再救助, deductible: 100, segments: [{ratio: 0.5}]}\n")


def test_a_refusal_a_line_makes_inert_only_for_some_categories_is_no_warning() -> None:
    """特困 fully covered, the others refused: the refusal still refuses 其他."""
    from medaid.policy.advisories import advisories
    body = ("lines:\n  - {rule: A1, article: 第五条, categories: [tekun], kinds: \"*\", "
            "segments: [{ratio: 1}]}\nrefusals:\n  - {rule: X, article: 第六条, categories: "
            "CATS, kinds: [general_outpatient], reason: 不予救助}\n")
    assert advisories(city(body.replace("CATS", "[tekun, other]"))) == []
    assert len(advisories(city(body.replace("CATS", "[tekun]")))) == 1


def test_more_selection_conditions_than_the_batch_path_compiles_is_a_warning() -> None:
    """Seven alternative lines of distinct conditions settle case by case; validate warns
    that the batch path refuses them, and it does, in Chinese and English."""
    from medaid.policy.advisories import advisories
    conds = [f"hospital_levels: [{k}]" for k in range(4)] + [
        f"locations: [{x}]" for x in ("city", "province", "out_of_province")]
    policy = city("lines:\n  - {rule: A1, article: 第五条, categories: \"*\", kinds: \"*\", "
                  "segments: [{ratio: 0.5}]}\n" + "".join(
                      f"  - {{rule: B{k}, article: 第六条, categories: \"*\", kinds: \"*\", "
                      f"alternative: true, {c}, segments: [{{ratio: 0.6}}]}}\n"
                      for k, c in enumerate(conds)))
    (said,) = [m for _, m in advisories(policy) if "排他或替代" in m]
    assert said.startswith("lines: 排他或替代救助标准上的条件有 7 种，超过批量结算")
    with pytest.raises(PolicyError, match="more than 6 distinct conditions"):
        compile_plans([policy], {}, [(0, 2024)])


def test_a_fallback_that_voids_a_line_naming_its_kind_is_a_warning() -> None:
    """罕见病用药 written to fall back to 门诊慢特病 while a line names it: every such visit
    is settled as 门诊慢特病, so the line never pays; validate says so."""
    from medaid.policy.advisories import advisories
    body = ("kind_fallback: {rare_disease_drug: special_outpatient}\nlines:\n"
            "  - {rule: A1, article: 第五条, categories: \"*\", kinds: [special_outpatient], "
            "segments: [{ratio: 0.85}]}\n  - {rule: A2, article: 第六条, categories: [tekun], "
            "kinds: [rare_disease_drug], segments: [{ratio: 0.7}]}\n")
    (said,) = [m for _, m in advisories(city(body))]
    assert said.startswith("kind_fallback.rare_disease_drug: 救助标准 A2 单列了罕见病用药")
    assert advisories(city(body.replace("kind_fallback: {rare_disease_drug: special_outpatient}"
                                        "\n", "kind_fallback: {}\n"))) == []


def test_what_officials_got_wrong_about_tilts_and_periods_is_told() -> None:
    """ratio_points 0.05 for 5个百分点, a pool period `stay`, a critical-illness tilt entry
    an earlier one shadows: each told how it is written, or that it never applies."""
    from medaid.policy.advisories import advisories
    line = ("lines:\n  - {rule: A1, article: 第五条, categories: \"*\", kinds: \"*\", "
            "segments: [{ratio: 0.8}]}\n")
    tilt = "{rule: C, article: 第二条, deductible_share: 0.5, ratio_points: 5}"
    with pytest.raises(PolicyError, match="ratio_points: 应为整数：写百分点数"):
        city(f"critical_illness_tilt: {tilt.replace('5}', '0.05}')}\n" + line)
    with pytest.raises(PolicyError, match=r"period: 取值「stay」无效，应为：year（年度累计）、visit"
                                          r" 或 admission（单次）"):
        city("pools:\n  A1: {period: stay}\n" + line)
    second = tilt.replace("}", ", categories: [tekun]}")
    shadowed = city(f"critical_illness_tilt: [{tilt}, {second}]\n" + line)
    assert [m for _, m in advisories(shadowed)] == [
        "critical_illness_tilt[1].categories[0]: 特困人员已由前面的大病保险倾斜条目适用，此条对其"
        "不适用 / an earlier entry already takes this category"]


def test_tilted_assistance_advances_each_cap_pool_by_what_it_pays() -> None:
    """倾斜救助 50%, within 1,000 a year and 500 a stay: stays of 4,000 leave 2,000 after
    assistance; each gets 500 (the stay's limit), and the year's pool counts 500, not the
    1,000 that passed it, so the second stay gets 500 too, in the engine and the kernel."""
    policy = city("""\
pools:
  A1: {}
  tilted: {}
  t_year: {}
  t_stay: {period: visit}
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*", segments: [{ratio: 0.5}]}
tilted:
  rule: T
  article: 第六条
  base: remainder
  segments: [{ratio: 0.5}]
  caps: [{pool: t_year, amount: 1000}, {pool: t_stay, amount: 500}]
""")
    visits = [stay("V1", 1, 400_000), stay("V2", 5, 400_000)]
    assert paid(policy, visits, "tilted") == [50_000, 50_000]
    res = settle_population([policy], {}, schema.visit_columns(schema.visits_table(
        (0, v) for v in visits)), schema.person_columns(schema.persons_table([(0, PERSON)])))
    assert res.tilted.tolist() == [50_000, 50_000]


def test_only_the_kinds_a_raised_cap_names_may_raise_it_and_every_line_reads_it() -> None:
    """Stays 50%, special outpatient 40%, one yearly limit of 3,000 raised to 5,000 once a
    stay's own base exceeds 8,000. A special-outpatient visit of base 9,000: 3,600 held to
    3,000, and it raises nothing (not a stay); a stay of base 9,000 then raises the limit:
    4,500 held to the 2,000 left. Another year: a stay of 9,000 raises it and gets 4,500;
    a special-outpatient visit of 2,000 after it reads the raised limit: 800 held to 500."""
    raised = "raised: {amount: 5000, over: 8000, kinds: [inpatient]}"
    policy = city(f"""\
lines:
  - {{rule: A1, article: 第五条, categories: "*", kinds: [inpatient], segments: [{{ratio: 0.5}}],
     caps: [{{pool: yearly, amount: 3000, {raised}}}]}}
  - {{rule: A2, article: 第五条, categories: "*", kinds: [special_outpatient],
     segments: [{{ratio: 0.4}}], caps: [{{pool: yearly, amount: 3000, {raised}}}]}}
""")
    day = date(2024, 3, 3)
    special = Visit("M1", "special_outpatient", day, day, 900_000, hifp_pay=0, hifmi_pay=0)
    assert paid(policy, [replace(special, id="M1"), stay("V2", 5, 900_000)]) == \
        [300_000, 200_000]
    later = replace(special, id="M2", start=date(2024, 3, 9), end=date(2024, 3, 9),
                    medfee_sumamt=200_000)
    assert paid(policy, [stay("V1", 1, 900_000), later]) == [450_000, 50_000]


@pytest.mark.parametrize(("body", "message"), [
    (STATUS.replace("statuses: [mts]", "statuses: [mtz]"),
     "city.yaml:15: lines[1].statuses[0]: 未在 statuses 中声明的人员状态「mtz」（已声明：mts） / "
     "unknown status 'mtz'"),
    (REASSIST + "    grant: 500\n",
     "city.yaml:13: stages[0]: 一个阶段须有 segments、grant、ceiling 三者之一，且只能有其一 / "
     "a stage has exactly one of segments, grant or ceiling"),
    (REASSIST + "    categories: [dibao]\n",
     "city.yaml:18: stages[0].categories[0]: 未列于 categories 的身份「dibao」"),
    (REASSIST + "    caps: [{pool: r_cap, amount: 10}]\npools: {A1: {}, R1: {}}\n",
     "city.yaml:18: stages[0].caps[0].pool: 累计池「r_cap」被使用但未在 pools 中定义"),
])
def test_validate_names_the_stage_or_condition_and_its_line(body: str, message: str) -> None:
    with pytest.raises(PolicyError) as e:
        city(body)
    assert str(e.value).startswith(message)


def test_the_batch_kernel_compiles_stages_and_a_condition_choosing_the_lines() -> None:
    """Stages and a condition on an alternative line (which set of lines settles the
    visit) compile for the kernel: the visit's selection depends on whether it holds."""
    assert compile_plans([city(REASSIST)], {}, [(0, 2024)]).n_stages.tolist() == [1]
    plans = compile_plans([city(STATUS)], {}, [(0, 2024)])
    assert plans.sel_of.shape[4] == 2 and len(plans.sel_conditions) == 1
    stays = plans.sel_of[0, 2, 0, 0]  # inpatient, no flags, no grade: without and with mts
    assert stays[0] != stays[1]


def test_medaid_settle_reports_statuses_stages_and_the_year_end(tmp_path: Path) -> None:
    """Through the case contract: a person's statuses (an id, or an object with dates), the
    visit's re-assistance, the year-end payout and the totals that include it."""
    policy = tmp_path / "city.yaml"
    from small_city import HEAD
    policy.write_text(HEAD + GRANT.replace("lines:\n", "statuses: [{id: mts, label: 门诊特殊病种}]"
                                            "\nlines:\n"), encoding="utf-8")
    case = {"jurisdiction": "city",
            "person": {"id": "P", "identities": [{"category": "tekun", "from": "2024-01-01"}],
                       "statuses": ["mts", {"status": "mts", "from": "2024-02-01"}]},
            "visits": [{"id": f"V{i}", "kind": "inpatient", "start": f"2024-03-0{i}",
                        "end": f"2024-03-0{i}", "medfee_sumamt": 8000, "fulamt_ownpay_amt": 0,
                        "overlmt_selfpay": 0, "hifp_pay": 0, "hifmi_pay": 0}
                       for i in (1, 2, 3)]}
    done = medaid("settle", "-", "--json", "--policy-file", str(policy), stdin=json.dumps(case))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    # each stay: assistance 4,000, the person bears 4,000; 12,000 > 10,000: a grant of 2,000
    assert out["year_end"][0]["amount"] == 2000.0 and out["year_end"][0]["rule"] == "G1"
    assert out["totals"]["maf_pay"] == 14000.0 and out["totals"]["psn_part_amt"] == 10000.0
    assert out["totals"]["year_end"] == 2000.0
    assert [v["reassistance"] for v in out["visits"]] == [0.0, 0.0, 0.0]
    case["person"]["statuses"] = ["mtx"]
    bad = medaid("settle", "-", "--json", "--policy-file", str(policy), stdin=json.dumps(case))
    assert bad.returncode == 2 and bad.stderr.startswith("error: person.statuses[0].status:")


def test_the_rules_page_and_policy_diff_read_stages_and_conditions() -> None:
    from medaid.policy import diff, explain
    policy = city(STATUS + REASSIST.replace(HALF, "").replace("lines:\n", ""))
    shown = {e.rule: dict(e.facts) for e in explain.elements(policy)}
    assert shown["R1"]["when"] == "每次结算" and shown["R1"]["base"] == "政策范围内个人负担"
    assert shown["A2"]["statuses"] == "门诊特殊病种"
    assert shown["A3"]["locations"] == "省外" and shown["A3"]["hospital levels"] == "三级"
    raised = city(STATUS + REASSIST.replace(HALF, "").replace("ratio: 0.6", "ratio: 0.7"))
    printed = diff.render(diff.diff(policy, raised))
    assert ("规则 R1（第九条） 再救助 修改\n"
            "  分段比例：60% → 70%") in printed


EVERY_FORM = STATUS + """\
stages:
  - {rule: R1, article: 第九条, label: 再救助, deductible: 1000, segments: [{ratio: 0.6}],
     caps: [{pool: r_cap, amount: 3000}]}
  - {rule: R2, article: 第九条, label: 单次封顶, kinds: [inpatient], base: out_of_pocket,
     ceiling: {share: 0.2, of: medfee_sumamt}}
  - {rule: G1, article: 第十条, label: 年度一次性补助, when: year_end, base: out_of_pocket,
     deductible: 5000, grant: 2000}
  - {rule: F1, article: 第十一条, label: 年终封顶, when: year_end,
     ceiling: {share: 0.1, of: inscp_scp_amt, amount: 4000}}
"""


def test_the_rules_page_reads_each_ceiling_in_chinese() -> None:
    """A ceiling names its field by its label and its period; having no cap of its own, it
    says nothing of one (不封顶 would read as if it lifted the ceiling)."""
    from medaid.policy import explain
    shown = {e.rule: dict(e.facts) for e in explain.elements(city(EVERY_FORM))}
    assert shown["R2"]["ceiling"] == "当年累计医疗费总额的 20%" and "caps" not in shown["R2"]
    assert shown["F1"]["ceiling"] == "当年累计符合政策范围金额的 10% 与 4000.00元 中较低者"
    assert shown["R1"]["caps"] == "r_cap 3000.00元"


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["inpatient", "general_outpatient"]),
                          st.integers(0, 3_000_000), st.integers(0, 100),
                          st.integers(0, 100), st.booleans()), min_size=1, max_size=8))
def test_stages_never_pay_more_than_the_person_bears_nor_beyond_their_caps(
        raw: list[tuple[str, int, int, int, bool]]) -> None:
    """Whatever the visits: no payout is negative, a visit's tiers never exceed its total
    (the person pays ≥ 0), the re-assistance cap holds over the year, and the year-end
    stages pay at most what the person still bears."""
    person = replace(PERSON, statuses=(Held("mts", date(2024, 3, 10)),))
    visits = []
    for i, (kind, total, own_pct, hifp_pct, far) in enumerate(raw):
        d = date(2024, 3, 1 + 3 * i)
        own = total * own_pct // 100
        visits.append(Visit(f"V{i}", kind, d, d, total, fulamt_ownpay_amt=own,
                            hifp_pay=(total - own) * hifp_pct // 100, hifmi_pay=0,
                            location="out_of_province" if far else "city", hospital_level=3))
    result = settle_year([city(EVERY_FORM)], {}, person, visits)
    r1 = 0
    for s_ in result.settlements:
        assert min(s_.assistance, s_.tilted, s_.special, s_.reassistance) >= 0
        assert s_.psn_part_amt >= 0
        r1 += sum(t.amount for t in s_.trace if t.rule == "R1")
    assert r1 <= 300_000
    bears = sum(s_.psn_part_amt for s_ in result.settlements)
    year_end = sum(y.amount for y in result.year_end)
    assert all(y.amount >= 0 for y in result.year_end) and year_end <= bears


def test_a_pool_per_admission_is_a_pool_per_visit() -> None:
    body = REASSIST + "pools: {A1: {}, R1: {period: admission}}\n"
    assert city(body).visit_pools == frozenset({"R1"})


DATED_GRANT = HALF + """\
parameters:
  grant_threshold:
    type: money
    label: 年度一次性补助个人负担标准
    default: 10000
    source: 第十条：累计超过1万元
    values:
      - {from: 2024-07-01, value: 8000, source: "自2024年7月1日起降为8000元"}
stages:
  - {rule: G, article: 第十条, label: 年度一次性补助, when: year_end,
     deductible: {param: grant_threshold}, grant: 2000}
"""


def test_a_year_end_stage_takes_the_values_in_force_at_the_years_end() -> None:
    """年度个人负担累计超过1万元的给予2000元一次性补助，自2024年7月1日起降为8000元: a stay of
    18,000 in March (assistance 50%) leaves 9,000 borne, over the 8,000 in force on 31
    December: the grant of 2,000 is paid, by the engine and the kernel alike. The trace
    cites the source of the dated value beside the stage's article."""
    policy = city(DATED_GRANT)
    visits = [stay("V1", 2, 1_800_000)]
    (grant,) = settle_year([policy], {}, PERSON, visits).year_end
    assert grant.amount == 200_000
    assert grant.trace[0].text.endswith(
        "（本地参数「年度一次性补助个人负担标准」：自2024年7月1日起降为8000元）")
    res = settle_population([policy], {}, schema.visit_columns(schema.visits_table(
        (0, v) for v in visits)), schema.person_columns(schema.persons_table([(0, PERSON)])))
    assert res.years.year_end[:, 0].tolist() == [200_000]


VISIT_CEILING = HALF.replace("segments: [{ratio: 0.5}]", "segments: [{ratio: 0.75}]") + """\
stages:
  - {rule: F, article: 第十一条, label: 个人负担封顶, kinds: [inpatient], CEILING}
"""


@pytest.mark.parametrize(("ceiling", "paid"), [
    ("{share: 0.10, of: inscp_scp_amt}", [0, 50_000]),
    ("{amount: 5000}", [0, 150_000])])
def test_a_ceiling_at_each_visit_works_on_the_years_running_totals(
        ceiling: str, paid: list[int]) -> None:
    """年度内住院政策范围内个人负担累计超过当年累计政策范围内费用10%的部分，在每次出院结算时即时
    兜底: stays of 50,000 (insurance 34,000) and 10,000 at 75% leave 4,000 then 2,500 borne.
    After the first: 4,000 against 10% × 50,000 = 5,000, nothing. After the second: 6,500
    against 10% × 60,000 = 6,000, 500. A fixed 5,000 pays 6,500 − 5,000 = 1,500 at the
    second; a third stay then pays all it leaves borne. The kernel pays as the engine."""
    policy = city(VISIT_CEILING.replace("CEILING", f"ceiling: {ceiling}"))
    visits = [stay("V1", 1, 5_000_000, hifp=3_400_000), stay("V2", 9, 1_000_000)]
    got = settle_year([policy], {}, PERSON, visits).settlements
    assert [s.reassistance for s in got] == paid
    if ceiling == "{amount: 5000}":
        third = settle_year([policy], {}, PERSON, [*visits, stay("V3", 20, 400_000)])
        assert third.settlements[2].reassistance == 100_000
    res = settle_population([policy], {}, schema.visit_columns(schema.visits_table(
        (0, v) for v in visits)), schema.person_columns(schema.persons_table([(0, PERSON)])))
    assert res.reassistance.tolist() == paid


def test_a_by_category_entry_cites_its_own_article() -> None:
    """四（一）: 再救助 60% above 2,000; 四（二）: for 其他 70%. The trace of an 其他 visit
    cites （二）, that of a 特困 visit the stage's own article; validate checks both."""
    policy = city(REASSIST.replace("    segments: [{ratio: 0.6}]\n", (
        "    segments: [{ratio: 0.6}]\n"
        "    by_category: [{categories: [other], article: 第十条, segments: [{ratio: 0.7}]}]\n")))
    other = Person("P", (Identity("other", date(2024, 1, 1)),))
    for person, article, pay in ((PERSON, "第九条", 180_000), (other, "第十条", 210_000)):
        got = settle_year([policy], {}, person, [stay("V1", 1, 1_000_000)]).settlements[0]
        assert got.reassistance == pay
        assert got.trace[-1].citation == f"某市《某市医疗救助实施办法》{article}"
    assert (["stages", 0, "by_category", 0, "article"], "第十条", None) in cited(policy.spec)


def test_a_ceiling_at_its_fixed_amount_says_it_is_the_lower() -> None:
    """个人负担超过政策范围内费用10%且最高1万元的部分: a stay of 180,000, 150,000 by basic
    insurance, assisted at 50%, leaves 15,000 borne; the ceiling is the fixed 10,000 (10% of
    180,000 is 18,000): 5,000 paid, and the trace says which of the two it is."""
    policy = city(HALF + "stages:\n  - {rule: F1, article: 第十条, label: 个人负担封顶, "
                         "when: year_end, ceiling: {share: 0.1, of: inscp_scp_amt, "
                         "amount: 10000}}\n")
    d = date(2024, 3, 1)
    stay = Visit("V1", "inpatient", d, d, 18_000_000, hifp_pay=15_000_000, hifmi_pay=0)
    (ceiling,) = settle_year([policy], {}, PERSON, [stay]).year_end
    assert ceiling.amount == 500_000
    assert ("超过封顶线10,000.00元（定额，低于政策范围内费用180,000.00元的10%即18,000.00元，"
            "取较低者）的部分予以支付") in ceiling.trace[0].text, ceiling.trace[0].text
