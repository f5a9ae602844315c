"""The audit's HTML report (稽核报告): the totals, charts (differences by cause, by month,
by institution) and the largest findings, in one file beside the workbook.

The charts are drawn with the reform report's pieces (`batch.report.charts`: matplotlib's
Agg backend, Chinese labels when a CJK font is installed, English otherwise) and embedded
as PNG data, so the report is one file to mail or archive; the auditor's page
(`web.audit`) shows the same charts. Without matplotlib (the `reports` extra) the report
has its tables and says that the charts need it.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from jinja2 import Environment, PackageLoader, select_autoescape

from medaid.audit import detail
from medaid.audit.causes import CAUSES, Finding
from medaid.audit.resettle import Outcome
from medaid.audit.summary import Group, Summary
from medaid.core import clock
from medaid.core.dates import BEIJING
from medaid.core.money import fmt_yuan

SHOWN = 500  # findings listed in the report (the largest differences); the workbook has all
TOP_INSTITUTIONS = 12


@dataclass(frozen=True)
class Row:
    """A finding as the report and the page show it."""

    row: int
    setl_id: str
    psn_name: str
    institution: str
    time: str
    platform: int
    medaid: int
    diff: int
    cause: str
    rule: str
    article: str
    reason: str
    explanation: str


def rows_of(t: pa.Table, limit: int | None = SHOWN) -> list[Row]:
    """The findings of a findings table, largest difference first (`limit` of them; None:
    all)."""
    if limit is not None:
        t = detail.largest(t, limit)
    c = t.to_pydict()
    order = sorted(range(t.num_rows), key=lambda k: (-abs(c["diff"][k]), c["row"][k]))
    return [Row(c["row"][k], c["setl_id"][k], c["psn_name"][k],
                f"{c['fixmedins_code'][k]} {c['fixmedins_name'][k]}".strip(),
                c["setl_time"][k], c["platform"][k], c["medaid"][k], c["diff"][k],
                CAUSES[c["cause"][k]], c["rule"][k], c["article"][k], c["reason"][k],
                c["explanation"][k]) for k in order]


def rows(out: Outcome, found: list[Finding], limit: int | None = SHOWN) -> list[Row]:
    """The findings, largest difference first (`limit` of them; None: all)."""
    return rows_of(detail.table(out, found), limit)


def _png(fig: object) -> str:
    buf = io.BytesIO()
    fig.tight_layout()  # type: ignore[attr-defined]
    fig.savefig(buf, format="png")  # type: ignore[attr-defined]
    import matplotlib.pyplot as plt

    plt.close(fig)  # type: ignore[arg-type]
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def charts(s: Summary) -> dict[str, str]:
    """The report's charts as PNG data URIs (title → URI); {} without matplotlib."""
    try:
        from medaid.batch.report.charts import Words, cjk_font, figure, style
    except ImportError:
        return {}
    w = Words(cjk_font() is not None)
    out: dict[str, str] = {}

    def bars(title: str, unit: str, groups: list[Group], names: list[str],
             horizontal: bool) -> str:
        fig, ax = figure(9.0, max(3.2, 0.42 * len(groups) + 1.6) if horizontal else 4.2)
        at = list(range(len(groups)))
        width = 0.4
        draw = ax.barh if horizontal else ax.bar
        for k, (values, color, label) in enumerate((
                ([g.overpaid / 100 for g in groups], "#c0392b", w("多付", "overpaid")),
                ([g.underpaid / 100 for g in groups], "#1f5fa8", w("少付", "underpaid")))):
            draw([x + (k - 0.5) * width for x in at], values, width, color=color, label=label)
        if horizontal:
            ax.set_yticks(at, names)
            ax.invert_yaxis()
        else:
            ax.set_xticks(at, names, rotation=45 if len(names) > 6 else 0)
        style(ax, title, unit, horizontal)
        return _png(fig)

    if s.by_cause:
        out[w("按差异类型：多付与少付", "by cause: overpaid and underpaid")] = bars(
            w("按差异类型", "By cause"), w("元", "yuan"), s.by_cause,
            [g.label if w.zh else g.key for g in s.by_cause], True)
    if s.by_month:
        out[w("按结算月份", "by month")] = bars(
            w("按结算月份", "By month of settlement"), w("元", "yuan"), s.by_month,
            [g.key for g in s.by_month], False)
    inst = [g for g in s.by_institution if g.findings][:TOP_INSTITUTIONS]
    if inst:
        out[w("差异金额最大的机构", "institutions with the largest differences")] = bars(
            w("差异金额最大的机构", "Institutions with the largest differences"),
            w("元", "yuan"), inst, [f"{g.key} {g.label}".strip() if w.zh else g.key
                                    for g in inst], True)
    return out


def _env() -> Environment:
    env = Environment(loader=PackageLoader("medaid.audit", "templates"),
                      autoescape=select_autoescape(("html", "j2"), default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["yuan"] = lambda fen: fmt_yuan(int(fen))
    return env


def render_table(s: Summary, source: str, t: pa.Table, policy: str,
                 chart_uris: dict[str, str] | None = None) -> str:
    """The report as one HTML document, from the findings' table."""
    return _env().get_template("audit.html.j2").render(
        s=s, source=source, policy=policy, charts=chart_uris
        if chart_uris is not None else charts(s), rows=rows_of(t), shown=SHOWN,
        made=clock.now().astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"))


def render(out: Outcome, found: list[Finding], s: Summary, policy: str,
           chart_uris: dict[str, str] | None = None) -> str:
    """The report as one HTML document."""
    return render_table(s, out.records.source, detail.table(out, found), policy, chart_uris)


def write_table(s: Summary, source: str, t: pa.Table, target: str | Path, policy: str,
                chart_uris: dict[str, str] | None = None) -> None:
    Path(target).write_text(render_table(s, source, t, policy, chart_uris), encoding="utf-8")


def write(out: Outcome, found: list[Finding], s: Summary, target: str | Path,
          policy: str) -> None:
    write_table(s, out.records.source, detail.table(out, found), target, policy)
