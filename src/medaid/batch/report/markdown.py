"""The reform report as Markdown: the tables of `report.tables`, the charts beside them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from medaid.batch.compare import Comparison
from medaid.batch.report.tables import Table, show, unit

# The chart shown after each table (file names in the report's folder).
CHART_AFTER = {"tiers": "tiers.png", "categories": "categories.png", "kinds": "kinds.png",
               "caps": "caps.png", "burden_shares": "burden.png", "bands": "people.png"}
UNITS = ("金额：基金合计以万元计（保留两位小数），个人金额以元计；计算全程以分为单位的"
         "整数进行，仅在显示时换算。Amounts are computed in integer fen and rounded only "
         "for display (万元 = 10,000 yuan).")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(t: Table) -> str:
    head = "| " + " | ".join(_cell(f"{unit(c)} {c.en}".strip()) for c in t.columns) + " |"
    rule = "|" + "|".join("---" if c.format == "text" else "---:" for c in t.columns) + "|"
    body = ["| " + " | ".join(_cell(show(v, c)) for v, c in zip(row, t.columns, strict=True))
            + " |" for row in t.rows]
    return "\n".join([head, rule, *body])


def render(c: Comparison, tables: Sequence[Table], charts: Mapping[str, str]) -> str:
    out = [f"# 医疗救助政策模拟：{c.reform.title}", "",
           f"*Reform simulation: {c.name} ({c.jurisdiction}), now against reform, the same "
           f"{c.base.visits:,} visits settled twice by medaid.*", "",
           f"> **分析问题 Question.** {c.reform.question}", ""]
    for t in tables:
        out += [f"## {t.title}", ""]
        if t.rows:
            out += [table(t), ""]
        if t.note:
            out += [f"*{t.note}*", ""]
        chart = CHART_AFTER.get(t.key)
        if chart and chart in charts:
            out += [f"![{t.title}]({charts[chart]})", ""]
    out += ["---", "", UNITS, ""]
    return "\n".join(out)
