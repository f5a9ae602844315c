"""就高不叠加 as a document writes it (`highest`): by the largest assistance for the visit
(RULES §3, the default) or by the categories' order (同时具有多重身份的，按就高原则救助，依次
为特困人员、低保对象…，不重复享受), the trace citing the document's own sentence. Amounts in
the docstrings are yuan; the engine works in fen. The batch kernel chooses as the engine."""

from __future__ import annotations

from datetime import date

import pytest

from medaid.batch import schema
from medaid.batch.settle import settle_population
from medaid.engine.settle import settle_year
from medaid.engine.types import Identity, Person, Visit
from medaid.policy.model import Policy, parse_policy
from small_city import HEAD

# 特困 75% within 50,000 a year; 其他 above 3,000 at 60% within 30,000
LINES = """\
lines:
  - {rule: A1, article: 第五条, categories: [tekun], kinds: "*", segments: [{ratio: 0.75}],
     caps: [{pool: tekun_cap, amount: 50000}]}
  - {rule: A2, article: 第六条, categories: [other], kinds: "*", deductible: 3000,
     segments: [{ratio: 0.60}], caps: [{pool: other_cap, amount: 30000}]}
"""
BOTH = Person("P", (Identity("tekun", date(2024, 1, 1)), Identity("other", date(2024, 1, 1))))


def city(highest: str = "") -> Policy:
    return parse_policy(HEAD + highest + LINES, "city.yaml")


def stays() -> list[Visit]:
    return [Visit(f"V{k}", "inpatient", date(2024, m, 1), date(2024, m, 5), total,
                  hifp_pay=0, hifmi_pay=0)
            for k, (m, total) in enumerate(((3, 8_000_000), (9, 6_000_000)), 1)]


def test_by_amount_a_second_category_pays_once_the_first_cap_is_spent() -> None:
    """V1 80,000: 特困 60,000 → 50,000 (cap) beats 其他 (80,000 − 3,000) × 60% = 46,200.
    V2 60,000: 特困 nothing left, 其他 (its deductible met at V1) 36,000 → 30,000. The
    trace cites the document's 就高 sentence where the file gives it."""
    for highest in ("", "highest: {rule: H, article: 第四条}\n"):
        got = settle_year([city(highest)], {}, BOTH, stays()).settlements
        assert [(s.category, s.assistance) for s in got] == [("tekun", 5_000_000),
                                                           ("other", 3_000_000)]
    line = next(t for t in got[1].trace if t.code == "highest")
    assert (line.rule, line.source) == ("H", "city.txt 第四条")
    assert line.citation == "某市《某市医疗救助实施办法》第四条"
    # the category that paid nothing says why: its annual limit is spent
    assert line.text == ("就高不叠加：按其他救助对象救助30,000.00元，其他身份或标准："
                         "特困人员（A1，限额已用完）0.00元")
    small = Visit("V0", "inpatient", date(2024, 2, 1), date(2024, 2, 1), 200_000, hifp_pay=0,
                  hifmi_pay=0)
    line = next(t for t in settle_year([city()], {}, BOTH, [small]).settlements[0].trace
                if t.code == "highest")
    assert line.text.endswith("其他救助对象（A2，未超过起付线）0.00元")


def test_by_order_the_first_category_settles_even_when_it_pays_nothing() -> None:
    """依次为特困人员、其他救助对象…，不重复享受: V2 is settled as 特困, whose cap is spent,
    and is paid nothing; 其他's deductible still measures both stays."""
    policy = city("highest: {rule: H, article: 第四条, by: order}\n")
    got = settle_year([policy], {}, BOTH, stays()).settlements
    assert [(s.category, s.assistance) for s in got] == [("tekun", 5_000_000), ("tekun", 0)]
    line = next(t for t in got[1].trace if t.code == "highest")
    assert line.text == ("同时具有多重身份，按身份顺序以特困人员救助0.00元，"
                         "不再按其他救助对象救助")
    assert line.citation == "某市《某市医疗救助实施办法》第四条"
    alone = Person("P", (Identity("other", date(2024, 1, 1)),
                         Identity("tekun", date(2024, 6, 1))))
    paid = settle_year([policy], {}, alone, stays()).settlements
    assert [(s.category, s.assistance) for s in paid] == [("other", 3_000_000),
                                                           ("tekun", 4_500_000)]


@pytest.mark.parametrize("by", ["amount", "order"])
def test_the_batch_kernel_chooses_as_the_engine(by: str) -> None:
    """Both categories all year: by amount 50,000 then 30,000 (其他), by order 50,000 then
    0 (特困); 其他 first and 特困 from June: 30,000 then 45,000 either way."""
    policy = city(f"highest: {{rule: H, article: 第四条, by: {by}}}\n")
    later = Person("Q", (Identity("other", date(2024, 1, 1)), Identity("tekun", date(2024, 6, 1))))
    pop = [(BOTH, stays()), (later, stays())]
    res = settle_population(
        [policy], {},
        schema.visit_columns(schema.visits_table((i, v) for i, (_, vs) in enumerate(pop)
                                                 for v in vs)),
        schema.person_columns(schema.persons_table((i, p) for i, (p, _) in enumerate(pop))))
    engine = [s.assistance for p, vs in pop for s in settle_year([policy], {}, p, vs).settlements]
    second = 3_000_000 if by == "amount" else 0
    assert res.assistance.tolist() == engine == [5_000_000, second, 3_000_000, 4_500_000]


def test_the_same_identity_twice_is_no_choice() -> None:
    """其他 until 31 March, recognised again from 1 July on an application of 1 June with a
    3-month look-back (1 March – 30 June): a stay of 10 March is in the first window and
    the second look-back, the same identity's lines either way, so the trace names no
    就高 between them."""
    policy = parse_policy(HEAD.replace("stay_rule: true}", (
        "stay_rule: true, lookback: [{rule: W, article: 第三条, categories: [other], "
        "months: 3, before: application}]}")) + LINES, "city.yaml")
    twice = Person("P", (Identity("other", date(2024, 1, 1), date(2024, 3, 31)),
                         Identity("other", date(2024, 7, 1), None, date(2024, 6, 1))))
    stay = Visit("V1", "inpatient", date(2024, 3, 10), date(2024, 3, 10), 1_000_000,
                 hifp_pay=0, hifmi_pay=0)
    got = settle_year([policy], {}, twice, [stay]).settlements[0]
    assert got.assistance == 420_000  # (10,000 − 3,000) × 60%
    assert not [t for t in got.trace if t.code == "highest"]
