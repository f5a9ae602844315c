"""The indicators as a workbook (Chinese headers) and as charts (PNG).

Sheet 指标 has one row per indicator and subject with its threshold and verdict; sheet
分类统计 the statistics by category, district, month and visit kind. A chart per
indicator shows each subject's value against the threshold line; labels are Chinese when
a CJK font is installed (`batch.report.charts.cjk_font`), English otherwise.
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from medaid.app.indicators import MONEY, Report, Result, shown
from medaid.core import sheets
from medaid.core.money import to_yuan

SUMMARY_HEADERS = ("指标", "规则", "条款", "统计对象", "对象名称", "分子", "分母", "指标值",
                   "阈值", "是否达标")
STATS_HEADERS = ("指标", "维度", "分组", "分子", "分母", "指标值")
DIMENSION_LABELS = {"category": "人员类别", "district": "所属区县", "month": "月份",
                    "kind": "就诊类型"}
VERDICT = {True: "达标", False: "未达标", None: "无数据"}


def _threshold(x: Result) -> str:
    ind = x.indicator
    return f"≥ {ind.min}" if ind.min is not None else f"≤ {ind.max}"


def _amount(x: Result, n: int) -> Decimal | int:
    return to_yuan(n) if x.indicator.measure in MONEY else n


def _value(v: str | None) -> Decimal | None:
    return None if v is None else Decimal(v)


def workbook(r: Report) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "指标"
    ws.append([f"{r.jurisdiction} {r.year} 年度医疗救助指标（政策版本 {r.version}）"])
    ws["A1"].font = Font(bold=True, size=12)
    ws.append(list(SUMMARY_HEADERS))
    for x in r.results:
        for row in x.rows:
            ws.append([x.indicator.label, x.indicator.rule, x.source, row.subject, row.name,
                       _amount(x, row.num), _amount(x, row.den), _value(shown(row.value)),
                       _threshold(x), VERDICT[row.passes]])
    stats = wb.create_sheet("分类统计")
    stats.append(list(STATS_HEADERS))
    for x in r.results:
        for dim, tallies in x.stats.items():
            for key, t in tallies.items():
                stats.append([x.indicator.label, DIMENSION_LABELS[dim], key, _amount(x, t.num),
                              _amount(x, t.den), _value(shown(t.value))])
    for sheet in (ws, stats):
        for cell in sheet[2 if sheet is ws else 1]:
            cell.font = Font(bold=True)
        for col in "ABCDEFGHIJ":
            sheet.column_dimensions[col].width = 18
    out = io.BytesIO()
    sheets.save(wb, out)
    return out.getvalue()


def chart(x: Result) -> bytes:
    """One indicator: a bar per subject, the threshold as a line (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from medaid.batch.report.charts import cjk_font

    font = cjk_font()
    plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    rows = [row for row in x.rows if row.value is not None]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.8 * len(rows) + 2), 4), dpi=110)
    try:
        values = [float(row.value) for row in rows if row.value is not None]  # only to draw
        colours = ["#2e8b57" if row.passes else "#c0392b" for row in rows]
        ax.bar([row.subject for row in rows], values, color=colours)
        bound = x.indicator.min if x.indicator.min is not None else x.indicator.max
        ax.axhline(float(bound or 0), color="#333333", linestyle="--",
                   label=("阈值 " if font else "threshold ") + _threshold(x))
        ax.set_title(x.indicator.label if font else f"{x.indicator.id} ({x.indicator.rule})")
        ax.legend()
        ax.tick_params(axis="x", labelrotation=30)
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(fig)


def write_charts(r: Report, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for x in r.results:
        path = folder / f"{r.jurisdiction}-{r.year}-{x.indicator.id}.png"
        path.write_bytes(chart(x))
        written.append(path)
    return written
