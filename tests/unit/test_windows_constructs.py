"""Windows of a policy file as Chinese cities' documents write them: 自认定之日的次月起享受
(`start: next_month`) and a look-back that runs until recognition (自提出救助申请之日前6个月
起, `until: from`). Amounts in the docstrings are yuan; the engine works in fen."""

from __future__ import annotations

from datetime import date

from medaid.engine.settle import settle_year
from medaid.engine.types import Identity, Person, Visit
from medaid.policy.explain import elements
from medaid.policy.model import Policy, parse_policy
from small_city import HEAD

LINE = """\
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*", segments: [{ratio: 0.5}]}
"""


def visit(vid: str, first: date, last: date | None = None,
          kind: str = "general_outpatient") -> Visit:
    """A visit of 1,000 yuan, insurance paying nothing."""
    return Visit(vid, kind, first, last or first, 100_000, hifp_pay=0, hifmi_pay=0)


def paid(policy: Policy, person: Person, visits: list[Visit]) -> list[int]:
    return [settle_year([policy], {}, person, [v]).settlements[0].assistance for v in visits]


def next_month(stay_rule: bool = True) -> Policy:
    head = HEAD.replace("start: exact", "start: next_month")
    if not stay_rule:
        head = head.replace("stay_rule: true", "stay_rule: false")
    return _policy(head + LINE)


def _policy(text: str) -> Policy:
    return parse_policy(text, "city.yaml")


def test_windows_next_month_counts_from_the_first_of_the_month_after_recognition() -> None:
    """自认定之日的次月起享受医疗救助待遇: recognised 2024-03-15, a visit of 2024-03-31 gets
    nothing, one of 2024-04-01 is paid 1,000 × 50% = 500. Recognised on the first
    (2024-03-01) the month of recognition is still not covered: 次月 is April."""
    policy = next_month()
    for start in (date(2024, 3, 15), date(2024, 3, 1)):
        person = Person("P", (Identity("tekun", start),))
        got = paid(policy, person, [visit("V1", date(2024, 3, 31)),
                                    visit("V2", date(2024, 4, 1))])
        assert got == [0, 50_000]


def test_windows_next_month_a_stay_into_the_month_counts_under_the_stay_rule() -> None:
    """A stay 2024-03-20 → 2024-04-02 of a person recognised 2024-03-15: with the stay rule
    (any day in the window) it is paid 500; by its discharge date alone too (04-02); a stay
    2024-03-16 → 2024-03-31 is paid nothing either way."""
    person = Person("P", (Identity("tekun", date(2024, 3, 15)),))
    across = visit("V1", date(2024, 3, 20), date(2024, 4, 2), "inpatient")
    inside = visit("V2", date(2024, 3, 16), date(2024, 3, 31), "inpatient")
    for rule in (True, False):
        assert paid(next_month(rule), person, [across, inside]) == [50_000, 0]


def test_windows_next_month_in_policy_show() -> None:
    shown = dict(elements(next_month())[0].facts)
    assert shown["start"] == "认定之日的次月第一日"


APPLICATION = HEAD.replace("stay_rule: true}", (
    "stay_rule: true, lookback: [{rule: W, article: 第四条, categories: [tekun], "
    "months: 6, before: application, until: UNTIL}]}"))


def test_lookback_until_from_covers_the_time_between_application_and_recognition() -> None:
    """自提出救助申请之日前6个月起发生的费用纳入救助范围: applied 2024-02-10, recognised
    2024-03-15. The period runs from 2023-08-10; with `until: from` to 2024-03-14, so a visit
    of 2024-03-01 (pending) is paid 1,000 × 50% = 500; with the default (`until: anchor`)
    the period ends 2024-02-09 and the visit gets nothing. A visit of 2024-02-01 is paid
    either way, one of 2023-08-09 neither."""
    person = Person("P", (Identity("tekun", date(2024, 3, 15), application=date(2024, 2, 10)),))
    visits = [visit("V1", date(2024, 3, 1)), visit("V2", date(2024, 2, 1)),
              visit("V3", date(2023, 8, 9))]
    until_from = _policy(APPLICATION.replace("UNTIL", "from").replace(
        "in_force: 2024-01-01", "in_force: 2023-01-01") + LINE)
    anchor = _policy(APPLICATION.replace("UNTIL", "anchor").replace(
        "in_force: 2024-01-01", "in_force: 2023-01-01") + LINE)
    assert paid(until_from, person, visits) == [50_000, 50_000, 0]
    assert paid(anchor, person, visits) == [0, 50_000, 0]
    shown = dict(elements(until_from)[1].facts)
    assert shown["covers"] == "申请之日前 6 个月起至认定之日前一日"
