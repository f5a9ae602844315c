"""嘉市, the city the policy-command tests write to files: its head (a document, its
categories, exact windows, a referral penalty of 10 points), to which a test adds the rest."""

from __future__ import annotations

LABELS = {"tekun": "特困人员", "dibao": "低保对象"}


def head(document: str, categories: list[str]) -> str:
    listed = "".join(f"  - {{id: {c}, label: {LABELS[c]}}}\n" for c in categories)
    return f"""\
jurisdiction: jiashi
name: 嘉市
version: "2025"
in_force: 2025-01-01
document: {{file: {document}, title: 嘉市医疗救助实施办法}}
categories:
{listed}windows: {{rule: JX-W, article: 第三条, start: exact, end: exact, stay_rule: true}}
referral:
  rule: JX-R
  article: 第四条
  unreferred: {{ratio_points: -10}}
"""
