"""A small city written for the tests of policy constructs: its head (jurisdiction,
document, two categories, exact windows), to which a test adds the lines it needs."""

from __future__ import annotations

from medaid.policy.model import Policy, parse_policy

HEAD = """\
jurisdiction: city
name: 某市
version: "2024"
in_force: 2024-01-01
document: {file: city.txt, title: 某市医疗救助实施办法}
categories:
  - {id: tekun, label: 特困人员}
  - {id: other, label: 其他救助对象}
windows: {rule: W, article: 第三条, start: exact, end: exact, stay_rule: true}
"""

# local insurance parameters (tiers 1 and 2 computed when a visit does not give them), the
# critical-illness tilt for tekun alone and without its cap, one line at 80%
INSURED = """\
parameters:
  basic_insurance:
    type: basic_insurance
    label: 基本医保
    source: 第二条
    default: {deductible: {"1": 300, "2": 600, "3": 900}, ratio: {"1": 0.9, "2": 0.85,
              "3": 0.8}, cap: 300000}
  critical_illness:
    type: critical_illness
    label: 大病保险
    source: 第二条
    default: {deductible: 15000, segments: [{upto: 85000, ratio: 0.6}, {upto: null,
              ratio: 0.7}], cap: 400000}
critical_illness_tilt: {rule: C, article: 第二条, deductible_share: 0.5, ratio_points: 5,
                        categories: [tekun], no_cap: true}
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*", segments: [{ratio: 0.8}]}
"""


# 特困 at 50%, the others at 70%: which category a visit is settled under shows in its amount
TWO_RATES = """\
lines:
  - {rule: A1, article: 第五条, categories: [tekun], kinds: "*", segments: [{ratio: 0.5}]}
  - {rule: A2, article: 第五条, categories: [other], kinds: "*", segments: [{ratio: 0.7}]}
"""


def city(body: str) -> Policy:
    """The city with `body` (its lines, pools, stages…) after its head."""
    return parse_policy(HEAD + body, "city.yaml")
