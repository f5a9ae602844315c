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


def city(body: str) -> Policy:
    """The city with `body` (its lines, pools, stages…) after its head."""
    return parse_policy(HEAD + body, "city.yaml")
