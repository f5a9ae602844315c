"""Windows of a policy file as Chinese cities' documents write them: 自认定之日的次月起享受
(`start: next_month`) and a look-back that runs until recognition (自提出救助申请之日前6个月
起, `until: from`). Amounts in the docstrings are yuan; the engine works in fen."""

from __future__ import annotations

from datetime import date

import pytest

from medaid.core.errors import PolicyError
from medaid.engine.settle import settle_year
from medaid.engine.types import Identity, Person, Visit
from medaid.engine.wording import render
from medaid.policy import diff
from medaid.policy.explain import elements
from medaid.policy.model import Policy, parse_policy
from medaid.web.views import timeline
from small_city import HEAD, TWO_RATES

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


GRACE = HEAD.replace("stay_rule: true}", (
    "stay_rule: true, grace: [{rule: W2, article: 第六条, categories: [tekun], months: 6}]}"))


def test_windows_grace_keeps_an_exited_identity_for_six_months() -> None:
    """低保对象、特困人员退出后给予6个月渐退期，渐退期内按原身份继续享受医疗救助待遇: tekun
    exits 2024-03-31; visits of 2024-05-10 and 2024-09-30 are paid 1,000 × 50% = 500 as
    tekun, one of 2024-10-01 nothing. Exit 2024-08-31: the 渐退期 ends 2025-02-28 (the
    month's last day). The trace's window line names the 渐退期 and its article."""
    policy = _policy(GRACE + LINE)
    person = Person("P", (Identity("tekun", date(2024, 1, 1), date(2024, 3, 31)),))
    assert paid(policy, person, [visit("V1", date(2024, 5, 10)), visit("V2", date(2024, 9, 30)),
                                 visit("V3", date(2024, 10, 1))]) == [50_000, 50_000, 0]
    later = Person("P", (Identity("tekun", date(2024, 1, 1), date(2024, 8, 31)),))
    assert [settle_year([policy], {}, later, [visit("V", d)]).settlements[0].assistance
            for d in (date(2025, 2, 28), date(2025, 3, 1))] == [50_000, 0]
    settled = settle_year([policy], {}, person, [visit("V1", date(2024, 5, 10))]).settlements[0]
    line = next(t for t in settled.trace if t.code == "window")
    assert line.rule == "W2" and "第六条" in line.source
    assert render(line.code, line.args) == (
        "2024-05-10在特困人员身份退出后的渐退期（2024-04-01–2024-09-30）内，按原身份继续享受救助")
    shown = next(e for e in elements(policy) if e.what == "grace")
    assert dict(shown.facts)["covers"] == "退出之日后 6 个月内按原身份继续享受"


def test_windows_grace_never_starts_before_the_window() -> None:
    """自认定之日的次月起享受 with a 6-month 渐退期: tekun recognised 2024-03-10 and exited
    2024-03-20 never reached its window (from 2024-04-01): a visit of 2024-03-25 gets
    nothing, those of 2024-04-01 and 2024-09-20 are paid 500 in the 渐退期, one of
    2024-09-21 nothing."""
    policy = _policy(GRACE.replace("start: exact", "start: next_month") + LINE)
    person = Person("P", (Identity("tekun", date(2024, 3, 10), date(2024, 3, 20)),))
    days = (date(2024, 3, 25), date(2024, 4, 1), date(2024, 9, 20), date(2024, 9, 21))
    assert paid(policy, person, [visit(f"V{i}", d) for i, d in enumerate(days)]) == [
        0, 50_000, 50_000, 0]


def test_windows_grace_a_later_identity_competes_as_usual() -> None:
    """A category not listed has no 渐退期: `other` exiting 2024-03-31 gets nothing on
    2024-05-10. tekun (line A1, 50%) in its 渐退期 after 2024-03-31 and `other` (line A2,
    70%) recognised 2024-05-01: a visit of 1,000 on 2024-04-20 is paid 500 as tekun, one on
    2024-05-10 1,000 × 70% = 700 as `other` (就高)."""
    policy = _policy(GRACE + LINE)
    alone = Person("P", (Identity("other", date(2024, 1, 1), date(2024, 3, 31)),))
    assert paid(policy, alone, [visit("V1", date(2024, 5, 10))]) == [0]
    two = _policy(GRACE + TWO_RATES)
    both = Person("P", (Identity("tekun", date(2024, 1, 1), date(2024, 3, 31)),
                        Identity("other", date(2024, 5, 1))))
    got = [settle_year([two], {}, both, [visit("V", d)]).settlements[0]
           for d in (date(2024, 4, 20), date(2024, 5, 10))]
    assert [(s.assistance, s.rules) for s in got] == [(50_000, ["A1"]), (70_000, ["A2"])]


def test_windows_grace_names_an_unknown_category_in_chinese() -> None:
    with pytest.raises(PolicyError) as e:
        _policy(GRACE.replace("[tekun], months: 6", "[dibao], months: 6") + LINE)
    assert "windows.grace[0].categories[0]: 未列于 categories 的身份「dibao」" in str(e.value)


def test_windows_policy_diff_says_the_new_windows_in_chinese() -> None:
    """policy diff of the city before and after: the start, the look-back's end and the
    渐退期 read in Chinese."""
    before = _policy(HEAD + LINE)
    after = _policy(GRACE.replace("start: exact", "start: next_month").replace(
        "grace:", "lookback: [{rule: W, article: 第四条, categories: [tekun], months: 6, "
        "before: application, until: from}], grace:") + LINE)
    shown = diff.render(diff.diff(before, after))
    assert "在保期起：认定之日 → 认定之日的次月第一日" in shown
    assert "起算 申请之日，截止 至认定之日前一日（含申请至认定期间）" in shown
    assert "渐退期：无 → 规则编号 W2，条款 第六条，救助对象 特困人员，月数 6" in shown


def test_windows_grace_on_the_persons_timeline() -> None:
    """The person page's timeline shows the window to 2024-03-31, then the 渐退期 to
    2024-09-30 under its rule."""
    person = Person("P", (Identity("tekun", date(2024, 1, 1), date(2024, 3, 31)),))
    bars = timeline(_policy(GRACE + LINE), person, 2024)[0].bars
    assert [(b.label, b.first, b.last, b.rule) for b in bars] == [
        ("在保期", date(2024, 1, 1), date(2024, 3, 31), "W"),
        ("渐退期", date(2024, 4, 1), date(2024, 9, 30), "W2")]


def test_stay_rule_admission_takes_the_identity_held_on_the_admission_date() -> None:
    """按入院之日的身份确定救助待遇 (`stay_rule: admission`): 特困 from 2024-03-15 to
    2024-06-10. A stay 03-10 → 03-20 (recognised during it) gets nothing; one 06-05 → 06-15
    (exit during it) is paid 1,000 × 50% = 500; one 03-15 → 03-16 is paid 500. Under the
    plain stay rule the first is paid too, by its discharge date the second is not. An
    outpatient visit is still judged on its date."""
    person = Person("P", (Identity("tekun", date(2024, 3, 15), date(2024, 6, 10)),))
    stays = [visit("V1", date(2024, 3, 10), date(2024, 3, 20), "inpatient"),
             visit("V2", date(2024, 6, 5), date(2024, 6, 15), "inpatient"),
             visit("V3", date(2024, 3, 15), date(2024, 3, 16), "inpatient"),
             visit("V4", date(2024, 6, 11))]
    rules = {"admission": [0, 50_000, 50_000, 0], "true": [50_000, 50_000, 50_000, 0],
             "false": [50_000, 0, 50_000, 0]}
    for rule, expected in rules.items():
        policy = _policy(HEAD.replace("stay_rule: true", f"stay_rule: {rule}") + LINE)
        assert paid(policy, person, stays) == expected, rule
    shown = dict(elements(_policy(HEAD.replace("stay_rule: true", "stay_rule: admission")
                                  + LINE))[0].facts)
    assert shown["stay rule"] == "住院以入院之日的身份为准"
    # the paid stay's window line says its admission date decided, past the exit
    policy = _policy(HEAD.replace("stay_rule: true", "stay_rule: admission") + LINE)
    second = settle_year([policy], {}, person, stays[1:2]).settlements[0]
    window = next(t.text for t in second.trace if t.code == "window")
    assert window.endswith("覆盖2024-06-05–2024-06-15的就诊（按入院之日2024-06-05的身份认定）")


def test_the_window_line_says_when_a_stay_is_only_partly_covered() -> None:
    """A stay 2024-09-25 → 2024-10-15 of 特困 in its 渐退期 to 2024-09-30 counts under the
    stay rule (any day); the trace says only some of its days are in the period."""
    policy = _policy(GRACE + LINE)
    person = Person("P", (Identity("tekun", date(2024, 1, 1), date(2024, 3, 31)),))
    settled = settle_year([policy], {}, person, [
        visit("V", date(2024, 9, 25), date(2024, 10, 15), "inpatient")]).settlements[0]
    line = next(t for t in settled.trace if t.code == "window")
    assert settled.assistance == 50_000
    assert line.text.endswith("继续享受救助（住院期间部分日期在内，按住院期间任一日在保认定）")


def test_a_lookback_from_the_application_without_one_says_it_counts_from_recognition() -> None:
    """自提出救助申请之日前6个月: with no application date the period counts back from the
    recognition (2024-03-15 → from 2023-09-15), and the trace says so."""
    policy = _policy(APPLICATION.replace("UNTIL", "anchor") + LINE)
    person = Person("P", (Identity("tekun", date(2024, 3, 15)),))
    settled = settle_year([policy], {}, person, [visit("V", date(2024, 2, 1))]).settlements[0]
    line = next(t for t in settled.trace if t.code == "window")
    assert settled.assistance == 50_000
    assert line.text.endswith("（未提供申请日期，回溯期自认定之日起算）")


def test_a_recognition_again_within_the_old_ones_grace_period_is_cited() -> None:
    """低保 until 31 March with a 6-month 渐退期, recognised 低保 again from 1 June: a stay in
    July is held by the new recognition, and its window line says so, not 渐退期."""
    policy = parse_policy(HEAD.replace("stay_rule: true}", (
        "stay_rule: true, grace: [{rule: W, article: 第三条, categories: [tekun], "
        "months: 6}]}")) + TWO_RATES, "city.yaml")
    person = Person("P", (Identity("tekun", date(2023, 1, 1), date(2024, 3, 31)),
                          Identity("tekun", date(2024, 6, 1))))
    d = date(2024, 7, 10)
    (settled,) = settle_year([policy], {}, person, [Visit("V1", "inpatient", d, d, 1_000_000,
                                                          hifp_pay=0, hifmi_pay=0)]).settlements
    window = next(t for t in settled.trace if t.code == "window")
    assert "渐退期" not in window.text and "2024-06-01" in window.text, window.text
