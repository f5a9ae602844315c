"""General constructs of the policy schema, each on a small city written for the test:
pools per visit (单次), a line's base composed of the national amount fields, and the
errors `medaid policy validate` reports with the file's line. Amounts in the docstrings are
yuan; the engine works in fen."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import yaml

from medaid.core.errors import PolicyError
from medaid.engine.settle import settle_year
from medaid.engine.types import Identity, Person, Visit
from medaid.engine.wording import render
from medaid.policy import advisories
from medaid.policy.model import Policy, compile_policy, parse_policy
from medaid_command import medaid
from small_city import HEAD, INSURED, city

PERSON = Person("P", (Identity("tekun", date(2024, 1, 1)),))



def stay(vid: str, day: int, total: int, **amounts: int) -> Visit:
    """An inpatient stay in fen; by default insurance paid nothing and all is in scope."""
    d = date(2024, 3, day)
    return Visit(vid, "inpatient", d, d, total, hifp_pay=amounts.pop("hifp", 0),
                 hifmi_pay=amounts.pop("hifmi", 0), **amounts)


def paid(policy: Policy, visits: list[Visit], tier: str = "assistance") -> list[int]:
    result = settle_year([policy], {}, PERSON, visits)
    return [getattr(s, tier) for s in result.settlements]


LINE = """\
lines:
  - rule: A1
    article: 第五条
    categories: "*"
    kinds: [inpatient]
    pool: stay
    deductible: 3500
    segments: [{ratio: 0.5}]
"""


def test_a_pool_per_visit_applies_its_deductible_to_each_stay() -> None:
    """Deductible 3,500 per stay (单次), 50%. Stays with bases 5,000 and 6,000:
    (5,000 − 3,500) × 50% = 750 and (6,000 − 3,500) × 50% = 1,250. The same line over a
    yearly pool pays 750, then F(11,000) − F(5,000) = 3,750 − 750 = 3,000."""
    visits = [stay("V1", 1, 500_000), stay("V2", 9, 600_000)]
    assert paid(city(LINE + "pools: {stay: {period: visit}}\n"), visits) == [75_000, 125_000]
    assert paid(city(LINE + "pools: {stay: {period: year}}\n"), visits) == [75_000, 300_000]
    assert paid(city(LINE), visits) == [75_000, 300_000]  # no `pools`: yearly
    second = settle_year([city(LINE + "pools: {stay: {period: visit}}\n")], {}, PERSON,
                         visits).settlements[1].trace[-1]
    assert "本次基数0.00元→6,000.00元" in second.text and "this visit's base" in second.detail


def test_a_cap_pool_per_visit_limits_each_stay() -> None:
    """Deductible 3,500 per stay, 50%, at most 1,000 per stay (cap pool per visit). Stays
    of 6,000 and 9,000 would pay 1,250 and 2,750: each is held to 1,000. A yearly cap of
    1,000 pays 1,000 and then nothing."""
    body = LINE + "    caps: [{pool: stay_cap, amount: 1000}]\n"
    visits = [stay("V1", 1, 600_000), stay("V2", 9, 900_000)]
    per_visit = "pools: {stay: {period: visit}, stay_cap: {period: visit}}\n"
    yearly = "pools: {stay: {period: visit}, stay_cap: {period: year}}\n"
    assert paid(city(body + per_visit), visits) == [100_000, 100_000]
    assert paid(city(body + yearly), visits) == [100_000, 0]


TILTED = """\
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*", pool: main,
     segments: [{ratio: 0.7}], caps: [{pool: main_cap, amount: 1000}]}
tilted:
  rule: T1
  article: 第七条
  base: remainder
  pool: tilted
  deductible: 3500
  segments: [{ratio: 0.6}]
"""


def test_tilted_assistance_on_each_stays_remainder_above_a_per_visit_threshold() -> None:
    """Assistance 70% within 1,000 a year; tilted 60% on each stay's remainder above 3,500
    (单次). Stay 1, base 5,000: assistance 1,000, remainder 4,000, tilted
    (4,000 − 3,500) × 60% = 300. Stay 2, base 4,000: assistance 0 (cap used), remainder
    4,000, tilted again (4,000 − 3,500) × 60% = 300. Yearly, stay 2 would get
    F(8,000) − F(4,000) = 2,700 − 300 = 2,400."""
    visits = [stay("V1", 1, 500_000), stay("V2", 9, 400_000)]
    per_visit = city(TILTED + "pools: {main: {}, main_cap: {}, tilted: {period: visit}}\n")
    assert paid(per_visit, visits) == [100_000, 0]
    assert paid(per_visit, visits, "tilted") == [30_000, 30_000]
    tilted_line = settle_year([per_visit], {}, PERSON, visits).settlements[1].trace[-1]
    assert "倾斜救助本次基数0.00元→4,000.00元" in tilted_line.text
    assert paid(city(TILTED), visits, "tilted") == [30_000, 240_000]


BASE = """\
lines:
  - rule: A1
    article: 第五条
    categories: "*"
    kinds: "*"
    base: {base}
    segments: [{{ratio: 0.7}}]
"""


@pytest.mark.parametrize(("base", "expected"), [
    # inscp 9,000 − hifp 6,000 − hifmi 1,000 = 2,000; × 70% = 1,400
    ("after_all_funds", 140_000),
    # 9,000 − 6,000 = 3,000 × 70% = 2,100, but no more than the 2,000 left after every fund
    ("after_basic", 200_000),
    # 先行自付 included: 9,000 + 1,000 − 6,000 − 1,000 = 3,000 × 70% = 2,100 (≤ 3,000 left)
    ("{include: [preselfpay_amt]}", 210_000),
    # 先行自付 included, after basic only: 4,000 × 70% = 2,800, held to the 3,000 left
    ("{include: [preselfpay_amt], after: [hifp_pay]}", 280_000),
    # 先行自付 and 超限价 included, after basic only: 4,500 × 70% = 3,150; left 3,500
    ("{include: [preselfpay_amt, overlmt_selfpay], after: [hifp_pay]}", 315_000),
])
def test_a_lines_base_is_composed_of_the_national_amount_fields(base: str,
                                                                expected: int) -> None:
    """A stay of 12,000: 全自费 1,500, 超限价 500, 先行自付 1,000, so inscp 9,000; basic
    insurance 6,000, critical illness 1,000. The line pays 70% of its base, never more than
    what remains of the same parts after every fund."""
    visit = stay("V1", 1, 1_200_000, fulamt_ownpay_amt=150_000, overlmt_selfpay=50_000,
                 preselfpay_amt=100_000, hifp=600_000, hifmi=100_000)
    assert paid(city(BASE.format(base=base)), [visit]) == [expected]


def test_the_trace_names_a_composed_base() -> None:
    visit = stay("V1", 1, 1_000_000, preselfpay_amt=100_000, hifp=600_000)
    policy = city(BASE.format(base="{include: [preselfpay_amt], after: [hifp_pay]}"))
    line = settle_year([policy], {}, PERSON, [visit]).settlements[0].trace[-1]
    assert "基数＝政策范围内费用＋先行自付−基本医保" in line.text
    assert "base = inscp_scp_amt + preselfpay_amt − hifp_pay" in line.detail


# -- validation: the file's line is named -------------------------------------------------
def error(body: str) -> str:
    with pytest.raises(PolicyError) as e:
        city(body)
    return str(e.value)


def line_no(text: str, needle: str) -> int:
    """The 1-based line of the first line of `HEAD + body` containing `needle`."""
    return next(i for i, t in enumerate((HEAD + text).splitlines(), 1) if needle in t)


def test_an_unknown_key_is_named_with_its_line() -> None:
    body = LINE.replace("    pool: stay\n", "    pool: stay\n    dedutcible: 100\n")
    assert error(body) == f"city.yaml:{line_no(body, 'dedutcible')}: lines[0].dedutcible: " \
        "未知的键「dedutcible」（是否应为「deductible」？） / unknown key (did you mean " \
        "deductible?)"


def test_a_misspelt_required_key_is_named_not_the_key_it_left_missing() -> None:
    body = LINE.replace("    segments:", "    segmets:")
    assert error(body) == f"city.yaml:{line_no(body, 'segmets')}: lines[0].segmets: " \
        "未知的键「segmets」（是否应为「segments」？） / unknown key (did you mean segments?)"


def test_a_value_outside_its_choices_is_named_with_them() -> None:
    body = LINE + "rounding: per_vist\n"
    assert error(body) == f"city.yaml:{line_no(body, 'per_vist')}: rounding: 取值「per_vist」" \
        "无效，应为：cumulative、per_visit / Input should be 'cumulative' or 'per_visit'"
    with pytest.raises(PolicyError) as e:
        parse_policy(HEAD.replace("stay_rule: true", "stay_rule: admit") + LINE, "city.yaml")
    assert str(e.value) == (
        "city.yaml:9: windows.stay_rule: 取值「admit」无效，应为：true、false、admission / "
        "Input should be True, False or 'admission'")


@pytest.mark.parametrize("day", ["2024-02-30", "2024-13-01"])
def test_an_impossible_date_is_an_error_at_its_line(day: str) -> None:
    text = HEAD.replace("in_force: 2024-01-01", f"in_force: {day}") + LINE
    with pytest.raises(PolicyError) as e:
        parse_policy(text, "city.yaml")
    assert str(e.value) == f"city.yaml:4: 不是有效的 YAML / not valid YAML: 「{day}」不是有效的" \
        "日期 / not a valid date"


@pytest.mark.parametrize(("segments", "words"), [
    ("[{upto: 101, ratio: 0.3}, {upto: 100, ratio: 0.3}, {ratio: 0.45}]",
     "分段上限须逐段升高：100 不高于前一段的 101"),
    ("[{ratio: 0.3}, {upto: 100, ratio: 0.45}]", "只有最后一段可以不设上限（upto）"),
])
def test_segments_rise_and_only_the_last_is_open(segments: str, words: str) -> None:
    body = LINE.replace("segments: [{ratio: 0.5}]", f"segments: {segments}")
    assert error(body).startswith(f"city.yaml:{line_no(body, 'segments:')}: "
                                  f"lines[0].segments: {words}")


@pytest.mark.parametrize(("old", "new", "words"), [
    ("ratio: 0.5", "ratio: 0.50123", "segments[0].ratio: 比例最多四位小数（万分之一）：0.50123"),
    ("deductible: 3500", "deductible: 3500.001", "deductible: 金额最多两位小数（分）：3500.001"),
    ("deductible: 3500", "deductible: {param: p, times: 0.05123}",
     "deductible.times: 比例最多四位小数（万分之一）：0.05123"),
])
def test_a_number_finer_than_a_fen_or_a_basis_point_is_refused_at_its_line(
        old: str, new: str, words: str) -> None:
    body = LINE.replace(old, new)
    assert error(body).startswith(f"city.yaml:{line_no(body, new)}: lines[0].{words}")


def test_a_pool_used_but_never_defined_is_named_with_its_line() -> None:
    body = LINE + "    caps: [{pool: cap, amount: 1000}]\npools: {stay: {period: visit}}\n"
    assert error(body) == (f"city.yaml:{line_no(body, 'caps:')}: lines[0].caps[0].pool: 累计池"
                           "「cap」被使用但未在 pools 中定义（已定义：stay） / pool 'cap' is used "
                           "but never defined under pools")


def test_a_category_a_line_names_but_the_file_never_lists() -> None:
    body = LINE.replace('categories: "*"', "categories: [tekun, dibao]")
    assert error(body) == (f"city.yaml:{line_no(body, 'dibao')}: lines[0] (A1).categories[1]: "
                           "未列于 categories 的身份「dibao」（已列：tekun, other） / "
                           "unknown category 'dibao'")


def test_a_construct_that_cannot_run_is_named_with_its_line() -> None:
    """A pool cannot be both a line's deductible pool and a cap pool."""
    body = LINE + "    caps: [{pool: stay, amount: 1000}]\n"
    assert error(body) == (f"city.yaml:{line_no(body, '- rule: A1')}: lines[0] (A1): 累计池"
                           "「stay」不能既是封顶池又是起付线/分段累计池 / pool 'stay' is both a "
                           "cap pool and a deductible/segment pool")


def test_a_bad_value_and_a_repeated_field_in_a_base() -> None:
    body = BASE.format(base="{include: [preselfpay_amt, preselfpay_amt]}")
    assert error(body) == f"city.yaml:{line_no(body, 'base:')}: lines[0].base: " \
        "每个金额字段只能列一次 / each amount field at most once"
    body = LINE.replace("ratio: 0.5", "ratio: 1.5")
    assert error(body) == f"city.yaml:{line_no(body, 'ratio: 1.5')}: " \
        "lines[0].segments[0].ratio: 1.5 不得大于 1 / Input should be less than or equal to 1"


def test_policy_validate_names_the_line(tmp_path: Path) -> None:
    body = LINE + "pools: {stay: {period: fortnight}}\n"
    f = tmp_path / "city.yaml"
    f.write_text(HEAD + body, encoding="utf-8")
    done = medaid("policy", "validate", str(f))
    assert done.returncode == 2
    assert f"city.yaml:{line_no(body, 'fortnight')}: pools.stay.period" in done.stderr
    f.write_text(HEAD + LINE + "pools: {stay: {period: visit}}\n", encoding="utf-8")
    # the city's document beside its file, with the articles the file cites
    (tmp_path / "city.txt").write_text("第三条 救助对象认定当日起享受待遇。\n"
                                       "第五条 住院费用按50%救助。\n", encoding="utf-8")
    ok = medaid("policy", "validate", str(f))
    assert ok.returncode == 0, ok.stderr
    assert yaml.safe_load(HEAD)["jurisdiction"] in ok.stdout


# -- tilted assistance by category ------------------------------------------------------
BY_CATEGORY = """\
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*", pool: main,
     segments: [{ratio: 0.7}], caps: [{pool: main_cap, amount: 1000}]}
tilted:
  rule: T1
  article: 第七条
  base: remainder
  deductible: 3000
  segments: [{ratio: 0.6}]
  caps: [{pool: tilted_cap, amount: 5000}]
  by_category:
    - {categories: [tekun], segments: [{ratio: 0.7}], caps: [{pool: tekun_cap, amount: 20000}]}
"""


def test_tilted_assistance_has_values_by_category() -> None:
    """Tilted 70% within 20,000 for 特困, 60% within 5,000 for the others, each above a
    yearly 3,000 of what assistance left. A stay of base 11,000: assistance 1,000 (cap),
    remainder 10,000. 特困: (10,000 − 3,000) × 70% = 4,900. Other: (10,000 − 3,000) × 60%
    = 4,200. A second such stay: assistance 0 (its cap used), remainder 11,000; 特困
    11,000 × 70% = 7,700 more (12,600 ≤ 20,000); other 11,000 × 60% = 6,600, held to the
    800 left of 5,000."""
    policy = city(BY_CATEGORY)
    visits = [stay("V1", 1, 1_100_000), stay("V2", 9, 1_100_000)]
    assert paid(policy, visits, "tilted") == [490_000, 770_000]
    other = Person("Q", (Identity("other", date(2024, 1, 1)),))
    result = settle_year([policy], {}, other, visits)
    assert [s.tilted for s in result.settlements] == [420_000, 80_000]


def test_tilted_assistance_for_some_categories_only() -> None:
    """`categories: [tekun]`: a person of another category gets no tilted assistance, and
    the trace says why."""
    policy = city(BY_CATEGORY.replace("  by_category:", "  categories: [tekun]\n  by_category:"))
    other = Person("Q", (Identity("other", date(2024, 1, 1)),))
    result = settle_year([policy], {}, other, [stay("V1", 1, 1_100_000)])
    assert result.settlements[0].tilted == 0
    assert "倾斜救助不含该身份" in result.settlements[0].trace[-1].text
    assert paid(policy, [stay("V1", 1, 1_100_000)], "tilted") == [490_000]


def test_a_tilted_category_the_file_never_lists() -> None:
    body = BY_CATEGORY.replace("categories: [tekun]", "categories: [tekun, fanpin]")
    assert error(body) == (f"city.yaml:{line_no(body, 'fanpin')}: tilted.by_category[0]"
                           ".categories[1]: 未列于 categories 的身份「fanpin」（已列：tekun, "
                           "other） / unknown category 'fanpin'")


def test_a_file_without_kind_fallback_settles_unnamed_kinds_as_their_setting() -> None:
    """RULES §1: rehabilitation, which no line names, is settled as general outpatient
    where a line names that; a line naming rehabilitation, or `kind_fallback: {}`, keeps
    it its own."""
    outpatient = LINE.replace("kinds: [inpatient]", "kinds: [general_outpatient]")
    assert dict(city(outpatient).spec.kind_fallback) == {
        "rehabilitation": "general_outpatient"}
    both = outpatient.replace("[general_outpatient]", "[general_outpatient, rehabilitation]")
    assert dict(city(both).spec.kind_fallback) == {}
    assert dict(city(outpatient + "kind_fallback: {}\n").spec.kind_fallback) == {}
    assert dict(city(LINE.replace("kinds: [inpatient]", 'kinds: "*"')).spec.kind_fallback) == {}


def test_a_visit_no_line_holds_for_says_whose_conditions_failed() -> None:
    """A stay without its hospital's level, under a line for level-1 hospitals only: the
    trace names the line whose conditions do not hold and which one, then says the
    category's stays are not assisted under it, citing the line's article."""
    policy = city(LINE.replace("kinds: [inpatient]", "kinds: [inpatient]\n    "
                                                     "hospital_levels: [1]"))
    result = settle_year([policy], {}, PERSON, [stay("V1", 1, 600_000)])
    texts = {t.code: (t.text, t.citation) for t in result.settlements[0].trace}
    assert texts["conditions_unmet"][0] == "A1限医院等级为一级（本次为未定级），本次不按其结算"
    assert texts["not_met"] == ("特困人员的住院救助（A1）本次不适用，不予救助",
                                "某市《某市医疗救助实施办法》第五条")
    assert result.settlements[0].assistance == 0
    levelled = replace(stay("V1", 1, 600_000), hospital_level=1)
    assert settle_year([policy], {}, PERSON, [levelled]).settlements[0].assistance == 125_000
    # a line for another category is not named among them
    other = policy.spec.model_copy(update={"lines": [*policy.spec.lines, policy.spec.lines[0]
                                                     .model_copy(update={
                                                         "rule": "A9", "categories": ["other"]})]})
    result = settle_year([compile_policy(other)], {}, PERSON, [stay("V1", 1, 600_000)])
    said = next(t.text for t in result.settlements[0].trace if t.code == "conditions_unmet")
    assert "A9" not in said and said.startswith("A1限医院等级"), said


def test_two_lines_that_add_up_on_one_pool_advance_it_once_per_visit() -> None:
    """RULES §3: a deductible pool advances by the visit's base once per pool per visit,
    however many lines of the category draw on it (here 70% everywhere, 10% more at
    level-1 hospitals, over one 5,000 deductible)."""
    policy = city("""\
lines:
  - {rule: A1, article: 第四条, categories: [other], kinds: [inpatient], pool: annual,
     deductible: 5000, segments: [{ratio: 0.70}]}
  - {rule: A2, article: 第四条, categories: [other], kinds: [inpatient], pool: annual,
     hospital_levels: [1], deductible: 5000, segments: [{ratio: 0.10}]}
pools: {annual: {period: year}}
""")
    person = Person("P", (Identity("other", date(2024, 1, 1)),))
    visits = [replace(stay("V1", 1, 300000), hospital_level=1),
              replace(stay("V2", 2, 300000), hospital_level=2),
              replace(stay("V3", 3, 100000), hospital_level=1)]
    result = settle_year([policy], {}, person, visits)
    # 3,000 under the deductible; then 1,000 above it at 70%; then 1,000 at 70% + 10%
    assert [s.assistance for s in result.settlements] == [0, 70000, 80000]
    last = [t.args for t in result.settlements[2].trace if t.code == "line"]
    assert [(a["before"], a["after"]) for a in last] == [(600000, 700000)] * 2


def test_a_visit_without_a_hospital_level_is_level_0_unrated() -> None:
    """一级及以下: `hospital_levels: [0, 1]`, 0 for a visit sent without a level."""
    policy = city("""\
lines:
  - {rule: A1, article: 第四条, categories: "*", kinds: [inpatient], hospital_levels: [0, 1],
     segments: [{ratio: 0.90}]}
  - {rule: A2, article: 第四条, categories: "*", kinds: [inpatient], hospital_levels: [2, 3],
     segments: [{ratio: 0.70}]}
""")
    got = paid(policy, [stay("V1", 1, 100000), replace(stay("V2", 2, 100000), hospital_level=1),
                        replace(stay("V3", 3, 100000), hospital_level=3)])
    assert got == [90000, 90000, 70000]


def test_tilted_assistance_for_a_kind_no_line_covers_is_refused_at_its_line() -> None:
    """Tilted assistance follows assistance: a kind it names that no line covers would be
    silently never paid."""
    body = LINE + ("tilted: {rule: T, article: 第八条, base: remainder, "
                   "kinds: [general_outpatient, inpatient], segments: [{ratio: 0.6}]}\n"
                   "pools: {stay: {period: visit}, tilted: {period: year}}\n")
    assert error(body).startswith(
        f"city.yaml:{line_no(body, 'general_outpatient')}: tilted.kinds[0]: "
        "没有救助标准（lines）覆盖「普通门诊」")


@pytest.mark.parametrize(("end", "paid_on_exit_day"), [("exact", True), ("day_before", False)])
def test_a_window_may_end_the_day_before_the_exit(end: str, paid_on_exit_day: bool) -> None:
    """自退出之日起停止享受: with `end: day_before` the exit day itself is not covered."""
    policy = parse_policy(HEAD.replace("end: exact", f"end: {end}")
                          + LINE.replace("kinds: [inpatient]", 'kinds: "*"')
                          + "pools: {stay: {period: visit}}\n", "city.yaml")
    person = Person("P", (Identity("tekun", date(2024, 1, 1), date(2024, 3, 10)),))
    day = date(2024, 3, 10)
    out = Visit("V1", "general_outpatient", day, day, 1_000_000, hifp_pay=0, hifmi_pay=0)
    result = settle_year([policy], {}, person, [out])
    assert (result.settlements[0].assistance > 0) is paid_on_exit_day


@pytest.mark.parametrize("new_only", [True, False])
def test_a_lookback_only_for_persons_recognised_this_year(new_only: bool) -> None:
    """当年新认定的对象，认定前3个月的费用纳入救助 (`new_this_year`): recognised on 2024-01-15,
    a stay of 2024-01-05 is in the look-back either way; one of 2023-12-10 only where every
    recognition has its look-back (the person was not recognised in 2023)."""
    head = HEAD.replace("in_force: 2024-01-01", "in_force: 2023-01-01").replace(
        "stay_rule: true}", "stay_rule: true, lookback: [{rule: W, article: 第三条, "
        f"categories: [tekun], months: 3, new_this_year: {str(new_only).lower()}}}]}}")
    policy = parse_policy(head + LINE + "pools: {stay: {period: visit}}\n", "city.yaml")
    person = Person("P", (Identity("tekun", date(2024, 1, 15)),))
    visits = [Visit(v, "inpatient", d, d, 1_000_000, hifp_pay=0, hifmi_pay=0)
              for v, d in (("V1", date(2023, 12, 10)), ("V2", date(2024, 1, 5)))]
    got = [settle_year([policy], {}, person, [v]).settlements[0].assistance > 0
           for v in visits]
    assert got == [not new_only, True]


def both_ways(policy: Policy, people: list[tuple[Person, list[Visit]]]) -> list[int]:
    """Each visit's assistance by the engine, asserted equal to the kernel's."""
    from medaid.batch import schema
    from medaid.batch.settle import settle_population

    engine = [s.assistance for person, visits in people
              for s in settle_year([policy], {}, person, visits).settlements]
    res = settle_population([policy], {}, schema.visit_columns(schema.visits_table(
        (k, v) for k, (_, visits) in enumerate(people) for v in visits)),
        schema.person_columns(schema.persons_table((k, p) for k, (p, _) in enumerate(people))))
    assert res.assistance.tolist() == engine
    return engine


def test_a_lookback_only_for_the_kinds_it_names() -> None:
    """认定之日前3个月内发生的住院费用纳入救助 (`kinds: [inpatient]`): recognised on 1 April,
    a stay of 10 February is in the look-back (50% of 10,000), a 门诊慢特病 visit of 15
    February is not, in the engine and the kernel; without `kinds` both are."""
    lines = ("lines:\n  - {rule: A1, article: 第五条, categories: \"*\", "
             "kinds: [inpatient, special_outpatient], segments: [{ratio: 0.5}]}\n")
    def policy(kinds: str) -> Policy:
        return parse_policy(HEAD.replace("stay_rule: true}", (
            "stay_rule: true, lookback: [{rule: W, article: 第三条, categories: [tekun], "
            f"months: 3{kinds}}}]}}")) + lines, "city.yaml")
    person = Person("P", (Identity("tekun", date(2024, 4, 1)),))
    visits = [Visit(v, kind, d, d, 1_000_000, hifp_pay=0, hifmi_pay=0) for v, kind, d in (
        ("V1", "inpatient", date(2024, 2, 10)),
        ("V2", "special_outpatient", date(2024, 2, 15)))]
    for kinds, want in ((", kinds: [inpatient]", [500_000, 0]), ("", [500_000, 500_000])):
        assert both_ways(policy(kinds), [(person, visits)]) == want, kinds
    # 生育 is settled as a stay here (kind_fallback): a look-back naming it meets nothing
    ((steps, said),) = advisories.advisories(policy(", kinds: [childbirth]"))
    assert steps == ["windows", "lookback", 0, "kinds", 0] and "请写住院" in said, said


def test_a_lookback_for_those_recognised_since_a_date() -> None:
    """2024年10月1日以后新认定的，认定之日前3个月内发生的住院费用纳入救助 (`recognised_since`):
    recognised on 20 October, a stay of 15 August is in the look-back (50% of 10,000);
    recognised on 20 September, the same stay is not, in the engine and the kernel."""
    policy = parse_policy(HEAD.replace("stay_rule: true}", (
        "stay_rule: true, lookback: [{rule: W, article: 第三条, categories: [tekun], "
        "months: 3, recognised_since: 2024-10-01}]}")) + LINE, "city.yaml")
    d = date(2024, 8, 15)
    late = Visit("V1", "inpatient", d, d, 1_350_000, hifp_pay=0, hifmi_pay=0)
    people = [Person(p, (Identity("tekun", day),)) for p, day in (
        ("P1", date(2024, 10, 20)), ("P2", date(2024, 9, 20)))]
    assert both_ways(policy, [(p, [late]) for p in people]) == [500_000, 0]  # 10,000 × 50%


def test_a_counted_lookback_counts_while_another_identity_settles_the_visit() -> None:
    """认定之日前3个月内发生的住院费用计入年度救助起付标准累计 for 其他 (recognised 10 April),
    while 特困, held all year, settles a February stay of 3,000 (its 5,000 deductible: 0):
    the 3,000 still counts into 其他's deductible of 1,000, so a May stay of 2,000 gets
    65% × 2,000 = 1,300 under 其他 (not 65% × 1,000), in the engine and the kernel."""
    policy = parse_policy(HEAD.replace("stay_rule: true}", (
        "stay_rule: false, lookback: [{rule: W, article: 第三条, categories: [other], "
        "months: 3, counts_only: true}]}")) + """\
lines:
  - {rule: A1, article: 第五条, categories: [tekun], kinds: "*", deductible: 5000,
     segments: [{ratio: 0.6}]}
  - {rule: A2, article: 第五条, categories: [other], kinds: "*", deductible: 1000,
     segments: [{ratio: 0.65}]}
""", "city.yaml")
    person = Person("P", (Identity("other", date(2025, 4, 10)),
                          Identity("tekun", date(2025, 1, 1))))
    visits = [Visit(v, "inpatient", d, d, total, hifp_pay=100_000, hifmi_pay=0)
              for v, d, total in (("V1", date(2025, 2, 5), 400_000),
                                  ("V2", date(2025, 5, 5), 300_000))]
    assert both_ways(policy, [(person, visits)]) == [0, 130_000]


def test_a_grace_period_by_the_exit_date() -> None:
    """2024年7月1日以后退出的，渐退期延长至12个月；此前退出的仍按6个月: exited 31 August,
    a stay of the next May is in its 渐退期 (50% of 10,000); exited 31 May, it is not
    (six months end 30 November), in the engine and the kernel."""
    policy = parse_policy(HEAD.replace("in_force: 2024-01-01", "in_force: 2023-01-01")
                          .replace("stay_rule: true}", (
                              "stay_rule: true, grace: [{rule: W, article: 第三条, "
                              "categories: [tekun], months: 12, exited_since: 2024-07-01}, "
                              "{rule: W, article: 第三条, categories: [tekun], months: 6}]}"))
                          + LINE, "city.yaml")
    d = date(2025, 5, 10)
    stay_ = Visit("V1", "inpatient", d, d, 1_350_000, hifp_pay=0, hifmi_pay=0)
    people = [Person(p, (Identity("tekun", date(2023, 1, 1), end),)) for p, end in (
        ("P1", date(2024, 8, 31)), ("P2", date(2024, 5, 31)))]
    assert both_ways(policy, [(p, [stay_]) for p in people]) == [500_000, 0]  # 10,000 × 50%


def test_a_cap_pool_is_named_in_the_trace_by_the_label_the_file_gives_it() -> None:
    capped = "segments: [{ratio: 0.5}]\n    caps: [{pool: main_cap, amount: 100}]"
    policy = city(LINE.replace("segments: [{ratio: 0.5}]", capped)
                  + "pools: {stay: {period: visit}, main_cap: {label: 年度救助限额}}\n")
    settled = settle_year([policy], {}, PERSON, [stay("V1", 1, 1_000_000)]).settlements[0]
    line = next(t for t in settled.trace if t.code == "line")
    assert settled.assistance == 10_000
    assert "受年度救助限额100.00元限制" in render(line.code, line.args)




def test_the_critical_illness_tilt_for_its_categories_without_its_cap() -> None:
    """大病保险倾斜 for 特困 only (起付线减半、比例提高5个百分点、取消封顶线): a tekun stay is
    paid past the 400,000 cap, an `other` one by the standard curve and cap."""
    policy = city(INSURED)
    d = date(2024, 3, 1)
    stay_ = Visit("V1", "inpatient", d, d, 100_000_000, hifp_pay=30_000_000)  # fen
    hifmi = {c: settle_year([policy], {}, Person("P", (Identity(c, date(2024, 1, 1)),)),
                            [stay_]).settlements[0].hifmi_pay for c in ("tekun", "other")}
    # tekun: 7,500 deductible, 85,000 at 65%, the rest (607,500) at 75%, no cap (in fen)
    assert hifmi["tekun"] == 85_000 * 65 + 607_500 * 75
    assert hifmi["other"] == 40_000_000  # 51,000 + 420,000 capped at 400,000


def test_insurance_the_platform_gave_counts_into_the_years_pools() -> None:
    """A stay whose insurance was given still counts into the year: a later stay computed
    from local parameters continues the critical-illness total and the basic cap."""
    policy = city(INSURED)
    person = Person("P", (Identity("other", date(2024, 1, 1)),))
    d1, d2 = date(2024, 3, 1), date(2024, 4, 1)
    given = Visit("V1", "inpatient", d1, d1, 2_000_000, hifp_pay=600_000, hifmi_pay=0)
    computed = Visit("V2", "inpatient", d2, d2, 1_000_000, hifp_pay=600_000)
    second = settle_year([policy], {}, person, [given, computed]).settlements[1]
    assert second.hifmi_pay == 180_000  # 14,000 + 4,000: 3,000 above 15,000, at 60%
    big = Visit("V1", "inpatient", d1, d1, 200_000_000, hifp_pay=29_000_000, hifmi_pay=0)
    level3 = Visit("V2", "inpatient", d2, d2, 5_000_000, hospital_level=3)
    after = settle_year([policy], {}, person, [big, level3]).settlements[1]
    assert after.hifp_pay == 1_000_000  # what is left of the 300,000 annual cap


def test_basic_insurance_may_give_a_level_for_visits_without_one() -> None:
    """一级及以下（含未定级）起付线200元: level 0 is a visit without a level; a stay of
    10,000 there pays (10,000 − 200) × 90% = 8,820, in the engine and the kernel alike."""
    from medaid.batch import schema
    from medaid.batch.settle import settle_population

    body = INSURED.replace('deductible: {"1": 300,', 'deductible: {"0": 200, "1": 300,').replace(
        'ratio: {"1": 0.9,', 'ratio: {"0": 0.9, "1": 0.9,')
    d = date(2024, 3, 1)
    unrated = Visit("V1", "inpatient", d, d, 1_000_000, hifmi_pay=0)
    policy = city(body)
    assert settle_year([policy], {}, PERSON, [unrated]).settlements[0].hifp_pay == 882_000
    res = settle_population([policy], {}, schema.visit_columns(schema.visits_table(
        [(0, unrated)])), schema.person_columns(schema.persons_table([(0, PERSON)])))
    assert int(res.hifp_pay[0]) == 882_000
    wrong = body.replace('{"0": 200,', '{"4": 200,')
    assert "医院等级应为 0（未定级）、1、2 或 3" in error(wrong)
    assert "比例应在 0 至 1 之间" in error(body.replace('ratio: {"0": 0.9', 'ratio: {"0": 90'))


def test_one_limit_shared_by_several_lines_is_written_once_on_its_pool() -> None:
    """门诊慢特病和住院合并计算年度救助限额6万元: the limit on the pool, each line's cap
    naming the pool alone; a line may still give its own amount."""
    body = """\
lines:
  - {rule: A1, article: 第四条, categories: "*", kinds: [inpatient], segments: [{ratio: 0.5}],
     caps: [{pool: main_cap}]}
  - {rule: A2, article: 第四条, categories: "*", kinds: [special_outpatient],
     segments: [{ratio: 0.5}], caps: [{pool: main_cap}]}
pools: {A1: {period: year}, A2: {period: year}, main_cap: {amount: 600, label: 年度救助限额}}
"""
    d = date(2024, 3, 1)
    visits = [stay("V1", 1, 100_000),
              Visit("V2", "special_outpatient", d, d, 100_000, hifp_pay=0, hifmi_pay=0)]
    assert paid(city(body), visits) == [50_000, 10_000]  # 500, then what is left of 600
    own = body.replace("caps: [{pool: main_cap}]}\n  - {rule: A2",
                       "caps: [{pool: main_cap, amount: 400}]}\n  - {rule: A2")
    assert paid(city(own), visits) == [40_000, 20_000]
    assert not advisories.advisories(city(own))  # A2 still takes the pool's 600
    both = own.replace("segments: [{ratio: 0.5}], caps: [{pool: main_cap}]}",
                       "segments: [{ratio: 0.5}], caps: [{pool: main_cap, amount: 500}]}")
    ((steps, said),) = advisories.advisories(city(both))
    assert steps == ["pools", "main_cap", "amount"] and "累计池的限额不起作用" in said
    missing = body.replace(", main_cap: {amount: 600, label: 年度救助限额}", ", main_cap: {}")
    assert "lines[0].caps[0].amount: 缺少必填的键「amount」：限额写在此处，或在 pools 下" \
        "该累计池的 amount 中写一次" in error(missing)


def test_computed_insurance_cites_its_parameter_by_label_and_source() -> None:
    policy = city(INSURED)
    d = date(2024, 3, 1)
    trace = settle_year([policy], {}, PERSON, [Visit("V1", "inpatient", d, d, 1_000_000,
                                                     hospital_level=1)]).settlements[0].trace
    cited = {t.tier: t.citation for t in trace if t.tier in ("hifp", "hifmi")}
    assert cited == {"hifp": "本地参数「基本医保」：第二条",
                     "hifmi": "本地参数「大病保险」：第二条"}


def test_traces_say_only_what_the_city_has_and_what_was_paid() -> None:
    """A city without tilted assistance is not told 倾斜救助 was refused; a cap pool the
    file leaves unlabelled is 救助限额, never its code; under per-visit rounding the trace
    does not give cumulative amounts whose difference is not what was paid."""
    body = ("referral: {rule: RF, article: 第七条, unreferred: {assistance: false, "
            "tilt: false}}\nrounding: per_visit\nlines:\n"
            "  - {rule: A1, article: 第五条, categories: \"*\", kinds: \"*\", deductible: 100, "
            "segments: [{ratio: 0.333}], caps: [{pool: my_cap, amount: 500}]}\n")
    policy = city(body)
    unreferred = replace(stay("V1", 1, 100_000), referral="unreferred")
    texts = [t.text for s in settle_year([policy], {}, PERSON, [unreferred]).settlements
             for t in s.trace]
    assert "未按规定转诊：不予医疗救助" in texts and not any("倾斜" in t for t in texts)
    visits = [stay("V1", 1, 100_101), stay("V2", 2, 200_000)]
    result = settle_year([policy], {}, PERSON, visits).settlements
    assert [s.assistance for s in result] == [30_004, 19_996]  # 901.01 × 33.3%; 666 held to 500
    line = next(t for t in result[1].trace if t.rule == "A1")
    assert "本次按基数增量分段计算" in line.text and "累计救助额" not in line.text
    assert "受救助限额500.00元限制" in line.text and "my_cap" not in line.text


def test_critical_illness_tilts_by_group_and_bounds_from_zero() -> None:
    """特困：起付线降低50%，各段比例提高5个百分点，取消封顶线；其他：起付线降低25%，比例提高5个
    百分点。The bands are amounts of cost (1.5万元至10万元部分60%，10万元以上70%), so a lower
    deductible widens the first band. A year's base of 200,000: 特困 7,500 deductible,
    92,500 at 65% + 100,000 at 75% = 135,125; 其他 11,250, 88,750 at 65% + 100,000 at
    75% = 132,687.50. Bounds above the deductible (upto 85,000) would give 特困 85,000 at
    65% + 107,500 at 75% = 135,875. The kernel pays as the engine."""
    from medaid.batch import schema
    from medaid.batch.settle import settle_population

    body = INSURED.replace(
        'default: {deductible: 15000, segments: [{upto: 85000, ratio: 0.6}, {upto: null,\n'
        '              ratio: 0.7}], cap: 400000}',
        'default: {deductible: 15000, segments: [{upto: 100000, ratio: 0.6}, {upto: null,\n'
        '              ratio: 0.7}], cap: 400000, bounds: absolute}').replace(
        "critical_illness_tilt: {rule: C, article: 第二条, deductible_share: 0.5, "
        "ratio_points: 5,\n                        categories: [tekun], no_cap: true}",
        "critical_illness_tilt:\n"
        "  - {rule: C1, article: 第二条, deductible_share: 0.5, ratio_points: 5,\n"
        "     categories: [tekun], no_cap: true}\n"
        "  - {rule: C2, article: 第二条, deductible_share: 0.75, ratio_points: 5}")
    assert "bounds: absolute" in body and "C2" in body
    policy = city(body)
    d = date(2024, 3, 1)
    visit = Visit("V1", "inpatient", d, d, 30_000_000, hifp_pay=10_000_000)  # base 200,000
    people = [Person(c, (Identity(c, date(2024, 1, 1)),)) for c in ("tekun", "other")]
    engine = [settle_year([policy], {}, p, [visit]).settlements[0].hifmi_pay for p in people]
    assert engine == [13_512_500, 13_268_750]
    res = settle_population([policy], {}, schema.visit_columns(schema.visits_table(
        [(i, visit) for i in range(2)])), schema.person_columns(schema.persons_table(
            list(enumerate(people)))))
    assert res.hifmi_pay.tolist() == engine
    relative = body.replace("{upto: 100000, ratio: 0.6}", "{upto: 85000, ratio: 0.6}").replace(
        ", bounds: absolute", "")
    assert settle_year([city(relative)], {}, people[0], [visit]).settlements[0].hifmi_pay \
        == 13_587_500
    trace = settle_year([policy], {}, people[1], [visit]).settlements[0].trace
    assert next(t.rule for t in trace if t.tier == "hifmi") == "C2"


def test_tilted_assistance_on_a_base_with_self_pay_parts() -> None:
    """倾斜救助基数为政策范围内个人负担与乙类先行自付之和: a stay of 10,000 with 2,000 先行自付
    and 3,000 basic insurance has inscp 8,000 and base 5,000; assistance 50% pays 2,500.
    The tilted base is 8,000 + 2,000 − 3,000 − 2,500 = 4,500: above 1,000 at 60%, 2,100
    (on what assistance left of the base alone, 2,500: 900). The kernel pays as the engine."""
    from medaid.batch import schema
    from medaid.batch.settle import settle_population

    body = ("lines:\n  - {rule: A1, article: 第五条, categories: \"*\", kinds: \"*\", "
            "segments: [{ratio: 0.5}]}\ntilted: {rule: T, article: 第八条, "
            "base: {include: [preselfpay_amt]}, deductible: 1000, segments: [{ratio: 0.6}]}\n")
    visit = stay("V1", 1, 1_000_000, hifp=300_000, preselfpay_amt=200_000)
    policy = city(body)
    (settled,) = settle_year([policy], {}, PERSON, [visit]).settlements
    assert (settled.assistance, settled.tilted) == (250_000, 210_000)
    line = next(t for t in settled.trace if t.rule == "T")
    assert "救助后剩余基数7,000.00元−2,500.00元（基数含政策范围内费用及先行自付）" in line.text
    res = settle_population([policy], {}, schema.visit_columns(schema.visits_table(
        [(0, visit)])), schema.person_columns(schema.persons_table([(0, PERSON)])))
    assert int(res.tilted[0]) == 210_000
    plain = body.replace("base: {include: [preselfpay_amt]}", "base: remainder")
    assert paid(city(plain), [visit], "tilted") == [90_000]


def test_two_exclusive_lines_of_two_categories_settle_each_by_its_own() -> None:
    """门诊特殊病种: 特困 by A2 at 70%, 其他 by A3 above 1,500 at 60%, each `exclusive`. A
    visit of 1,000 of 其他 is settled by A3 (below its deductible: 0), not refused as if
    the document had no line for it; a second of 2,000 pays (3,000 − 1,500) × 60% = 900."""
    policy = city("""\
lines:
  - {rule: A2, article: 第五条, categories: [tekun], kinds: [special_outpatient],
     exclusive: true, segments: [{ratio: 0.70}]}
  - {rule: A3, article: 第六条, categories: [other], kinds: [special_outpatient],
     exclusive: true, deductible: 1500, segments: [{ratio: 0.60}]}
""")
    person = Person("P", (Identity("other", date(2024, 1, 1)),))
    visits = [Visit(f"V{k}", "special_outpatient", date(2024, 3, k), date(2024, 3, k), total,
                    hifp_pay=0, hifmi_pay=0) for k, total in ((1, 100_000), (2, 200_000))]
    got = settle_year([policy], {}, person, visits).settlements
    assert [s.assistance for s in got] == [0, 90_000]
    codes = [(t.rule, t.code) for t in got[0].trace]
    assert ("A3", "line") in codes and not any(c in ("not_covered", "highest")
                                               for _, c in codes)
