"""The findings workbook (稽核结果): Chinese headers, amounts in yuan, text as text.

Sheets: 汇总 (totals and how the audit ran), 差异明细 (one row per settlement whose
医疗救助 differs: the platform's and medaid's amounts, the difference, the cause, the rule,
the article, the reason and medaid's computation; at most `DETAIL_ROWS`, the largest
differences, with every finding in the CSV beside when there are more), 按机构 /
按差异类型 / 按月份 / 按类别 / 按规则 (sums), and 逐笔核对 (every settlement, for exports
up to `ALL_ROWS` records).

Every text cell is written as text (`data_type = "s"`): a name or id like
`=HYPERLINK(...)` typed into the platform stays the text it was. The workbook is written
in openpyxl's write-only mode (rows streamed to the file, a province's findings in bounded
memory), so every cell is made here, text cells as text; none is ever a formula. The rows
of 差异明细 and 逐笔核对 are made as the XML openpyxl writes for them (`xlsx_rows`: the
same bytes, a third of the time).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from medaid.audit import detail, xlsx_rows
from medaid.audit.causes import CAUSES, Finding
from medaid.audit.resettle import REVERSAL, Outcome
from medaid.audit.summary import Group, Summary
from medaid.core.money import to_yuan

YUAN = "#,##0.00"
ALL_ROWS = 20_000
DETAIL_ROWS = 50_000  # findings listed in 差异明细 (the largest); the CSV has every one
Cell = str | int | Decimal | None


def _row(ws: Worksheet, r: int, values: Sequence[Cell], money: Sequence[int] = (),
         bold: bool = False) -> None:
    """Append row `r` (rows come in order: the sheet is write-only)."""
    ws.append(xlsx_rows.cells(ws, r, values, money, bold, YUAN))


def _header(ws: Worksheet, labels: Sequence[str], widths: Sequence[int], r: int = 1) -> None:
    for c, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = w
    ws.freeze_panes = f"A{r + 1}"
    _row(ws, r, labels, bold=True)


def _y(fen: int) -> Decimal:
    return to_yuan(int(fen))


def _summary_sheet(ws: Worksheet, s: Summary, source: str, policy: str, listed: int,
                   everything: str | None) -> None:
    lines: list[tuple[str, Cell]] = [
        ("结算数据", source), ("政策", policy),
        ("舍入方式", "逐次舍入（per_visit）" if s.rounding == "per_visit"
         else "累计舍入（cumulative）"),
        ("记录数", s.records), ("结算笔数（含已撤销）", s.settlements),
        ("撤销笔数", s.cancellations), ("重复结算笔数", s.duplicates),
        ("人员数", s.persons), ("不在名单的人员数", s.not_in_roster),
        ("人员年度数", s.person_years),
        ("平台医疗救助支出（元，撤销后净额）", _y(s.platform)),
        ("核定医疗救助（元）", _y(s.medaid)),
        ("多付（元）", _y(s.overpaid)), ("少付（元）", _y(s.underpaid)),
        ("差异笔数", s.findings),
        ("差异明细所列笔数", listed if listed == s.findings else
         f"{listed}（差异金额最大的{listed}笔；全部{s.findings}笔见{everything}）"),
        ("引擎复核的人员年度数", s.checked),
        ("核对方式", "逐人按引擎结算（批量结果与引擎不一致）" if s.fallback
         else "批量结算，差异与抽样由引擎复核"),
    ]
    _header(ws, ("项目", "数值"), (36, 48))
    for r, (k, v) in enumerate(lines, start=2):
        _row(ws, r, (k, v), money=(1,) if isinstance(v, Decimal) else ())


def _group_sheet(wb: Workbook, title: str, first: str, groups: list[Group],
                 with_label: bool) -> None:
    ws = wb.create_sheet(title)
    heads = [first, *(["名称"] if with_label else []), "笔数", "平台医疗救助（元）",
             "核定医疗救助（元）", "差异笔数", "多付（元）", "少付（元）"]
    _header(ws, heads, [18, *([30] if with_label else []), 10, 18, 18, 10, 16, 16])
    off = 1 if with_label else 0
    money = (2 + off, 3 + off, 5 + off, 6 + off)
    r = 1
    for g in groups:
        r += 1
        _row(ws, r, [g.key if with_label else g.label, *([g.label] if with_label else []),
                     g.settlements, _y(g.platform), _y(g.medaid), g.findings,
                     _y(g.overpaid), _y(g.underpaid)], money)
    r += 1
    _row(ws, r, ["合计", *([""] if with_label else []), sum(g.settlements for g in groups),
                 _y(sum(g.platform for g in groups)), _y(sum(g.medaid for g in groups)),
                 sum(g.findings for g in groups), _y(sum(g.overpaid for g in groups)),
                 _y(sum(g.underpaid for g in groups))], money, bold=True)


DETAIL = ("行号", "结算ID", "就诊ID", "人员编号", "姓名", "定点医药机构编号", "定点医药机构名称",
          "医疗类别", "结算时间", "结算状态", "医疗费总额（元）", "平台医疗救助（元）",
          "核定医疗救助（元）", "差额（平台−核定，元）", "多付/少付", "差异类型",
          "平台人员身份类别", "核定适用类别", "规则", "条款", "原因说明",
          "核定计算过程（规则、条款、算式）")
DETAIL_WIDTHS = (8, 20, 20, 18, 10, 16, 24, 12, 20, 16, 14, 14, 14, 16, 8, 20, 12, 24, 12,
                 30, 50, 90)
RECORD = ("row", "setl_id", "mdtrt_id", "psn_no", "psn_name", "fixmedins_code",
          "fixmedins_name", "med_type", "setl_time", "status")


def _detail_rows(t: pa.Table) -> Iterator[list[Cell]]:
    c = t.to_pydict()
    for k in range(t.num_rows):
        d = c["diff"][k]
        yield [*(c[f][k] for f in RECORD), _y(c["medfee"][k]), _y(c["platform"][k]),
               _y(c["medaid"][k]), _y(d), "多付" if d > 0 else "少付", CAUSES[c["cause"][k]],
               c["psn_idet_type"][k], c["category"][k], c["rule"][k], c["article"][k],
               c["reason"][k], c["explanation"][k]]


def _every_rows(t: pa.Table) -> Iterator[list[Cell]]:
    c = t.to_pydict()
    for k in range(t.num_rows):
        yield [*(c[f][k] for f in RECORD), _y(c["medfee"][k]), _y(c["platform"][k]),
               _y(c["medaid"][k]), _y(c["diff"][k]), c["category"][k], c["rule"][k]]


def write(out: Outcome, found: list[Finding], s: Summary, target: str | Path | BinaryIO,
          policy: str) -> None:
    """The workbook of one audited export (the 逐笔核对 sheet when it is small)."""
    every = None
    if len(out.records) <= ALL_ROWS:
        every = detail.table(out, [], np.flatnonzero(out.status != REVERSAL))
    write_tables(s, out.records.source, detail.table(out, found), every, target, policy)


def write_tables(s: Summary, source: str, found: pa.Table, every: pa.Table | None,
                 target: str | Path | BinaryIO, policy: str,
                 everything: str | None = None) -> None:
    """The workbook from the findings' table (row order): 差异明细 lists at most
    `DETAIL_ROWS` of them, the largest differences, and 汇总 says so (`everything`
    names the file that has them all)."""
    shown = detail.largest(found, DETAIL_ROWS)
    wb = Workbook(write_only=True)
    _summary_sheet(wb.create_sheet("汇总"), s, source, policy, shown.num_rows, everything)
    ws = wb.create_sheet("差异明细")
    _header(ws, DETAIL, DETAIL_WIDTHS)
    xlsx_rows.append_rows(ws, _detail_rows(shown), 2, (10, 11, 12, 13), YUAN)
    _group_sheet(wb, "按机构", "定点医药机构编号", s.by_institution, True)
    _group_sheet(wb, "按差异类型", "差异类型", s.by_cause, False)
    _group_sheet(wb, "按月份", "结算月份", s.by_month, False)
    _group_sheet(wb, "按类别", "核定适用类别", s.by_category, False)
    _group_sheet(wb, "按规则", "规则", s.by_rule, False)
    if every is not None:
        ws = wb.create_sheet("逐笔核对")
        heads = (*DETAIL[:11], "平台医疗救助（元）", "核定医疗救助（元）", "差额（平台−核定，元）",
                 "核定适用类别", "规则")
        _header(ws, heads, DETAIL_WIDTHS[:16])
        xlsx_rows.append_rows(ws, _every_rows(every), 2, (10, 11, 12, 13), YUAN)
    wb.save(target)  # write-only: every text cell above is text already


def _yuan_text(fen: int) -> str:
    return f"{'-' if fen < 0 else ''}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def write_csv(found: pa.Table, target: str | Path) -> None:
    """Every finding as CSV (UTF-8 with BOM, as Excel opens it): the columns of 差异明细,
    amounts in yuan."""
    import pyarrow.csv as pcsv

    yuan = {n: pa.array([_yuan_text(v) for v in found.column(n).to_pylist()], pa.string())
            for n in ("medfee", "platform", "medaid", "diff")}
    causes = pa.array([CAUSES[c] for c in found.column("cause").to_pylist()], pa.string())
    side = pc.if_else(pc.greater(found.column("diff"), 0), "多付", "少付")
    cols = [*(found.column(f) for f in RECORD), *yuan.values(), side, causes,
            *(found.column(f) for f in ("psn_idet_type", "category", "rule", "article",
                                        "reason", "explanation"))]
    with open(target, "wb") as f:
        f.write("\ufeff".encode())
        pcsv.write_csv(pa.table(cols, names=list(DETAIL)), f)
