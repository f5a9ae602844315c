"""The findings workbook (稽核结果): Chinese headers, amounts in yuan, text as text.

Sheets: 汇总 (totals and how the audit ran), 差异明细 (one row per settlement whose
医疗救助 differs: the platform's and medaid's amounts, the difference, the cause, the rule,
the article, the reason and medaid's computation), 按机构 / 按差异类型 / 按月份 / 按类别 /
按规则 (sums), and 逐笔核对 (every settlement, for exports up to `ALL_ROWS` records).

Every text cell is written as text (`data_type = "s"`): a name or id like
`=HYPERLINK(...)` typed into the platform stays the text it was. The workbook is written
in openpyxl's write-only mode (rows streamed to the file, a province's findings in bounded
memory), so every cell is made here, text cells as text; none is ever a formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from medaid.audit import fields
from medaid.audit.causes import CAUSES, Finding
from medaid.audit.resettle import CANCELLED, DUPLICATE, REVERSAL, Outcome
from medaid.audit.summary import Group, Summary
from medaid.money import to_yuan
from medaid.policy.schema import KINDS

YUAN = "#,##0.00"
ALL_ROWS = 20_000
Cell = str | int | Decimal | None


BOLD = Font(bold=True)


def _row(ws: Worksheet, r: int, values: Sequence[Cell], money: Sequence[int] = (),
         bold: bool = False) -> None:
    """Append row `r` (rows come in order: the sheet is write-only)."""
    cells = []
    for c, v in enumerate(values):
        cell = WriteOnlyCell(ws, value=v)  # type: ignore[arg-type]  # Decimal: a number
        if isinstance(v, str):
            cell.data_type = "s"  # text, never a formula
        elif c in money:
            cell.number_format = YUAN
        if bold and (c == 0 or r == 1):
            cell.font = BOLD
        cells.append(cell)
    ws.append(cells)


def _header(ws: Worksheet, labels: Sequence[str], widths: Sequence[int], r: int = 1) -> None:
    for c, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = w
    ws.freeze_panes = f"A{r + 1}"
    _row(ws, r, labels, bold=True)


def _y(fen: int) -> Decimal:
    return to_yuan(int(fen))


def _text(a: object, i: int) -> str:
    if a is None:
        return ""
    v = a[i].as_py()  # type: ignore[index]
    return "" if v is None else str(v)


def _status(out: Outcome, i: int) -> str:
    st = int(out.status[i])
    if st == CANCELLED:
        return f"已撤销（第{int(out.records.row[out.partner[i]])}行）"
    if st == DUPLICATE:
        return f"重复（首次第{int(out.records.row[out.partner[i]])}行）"
    return "有效"


def _summary_sheet(ws: Worksheet, s: Summary, source: str, policy: str) -> None:
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


def _time(out: Outcome, i: int) -> str:
    import numpy as np

    return str(np.datetime64(int(out.records.time[i]), "s")).replace("T", " ")


def _record_cells(out: Outcome, i: int) -> list[Cell]:
    rec = out.records
    med = _text(rec.med_type, i)
    return [int(rec.row[i]), _text(rec.setl_id, i), _text(rec.mdtrt_id, i),
            _text(rec.psn_no, i), _text(rec.psn_name, i), _text(rec.fixmedins_code, i),
            _text(rec.fixmedins_name, i),
            f"{med} {fields.MED_TYPE_LABELS.get(med, fields.KIND_LABELS[KINDS[rec.kind[i]]])}",
            _time(out, i), _status(out, i), _y(int(rec.medfee[i]))]


def _category(out: Outcome, i: int) -> str:
    c = out.category(i)
    if c is None:
        return "无有效身份" if int(out.status[i]) not in (CANCELLED, DUPLICATE) else ""
    return f"{out.versions[-1].label(c)}（{c}）"


def write(out: Outcome, found: list[Finding], s: Summary, target: str | Path | BinaryIO,
          policy: str) -> None:
    wb = Workbook(write_only=True)
    _summary_sheet(wb.create_sheet("汇总"), s, out.records.source, policy)
    detail = wb.create_sheet("差异明细")
    _header(detail, DETAIL, DETAIL_WIDTHS)
    diff = out.diff
    rec = out.records
    for r, f in enumerate(found, start=2):
        i = f.record
        d = int(diff[i])
        _row(detail, r, [*_record_cells(out, i), _y(int(out.platform[i])),
                         _y(int(out.medaid[i])), _y(d), "多付" if d > 0 else "少付",
                         CAUSES[f.cause], _text(rec.psn_idet_type, i), _category(out, i),
                         f.rule or out.rules(i), f.article, f.reason, f.explanation],
             money=(10, 11, 12, 13))
    _group_sheet(wb, "按机构", "定点医药机构编号", s.by_institution, True)
    _group_sheet(wb, "按差异类型", "差异类型", s.by_cause, False)
    _group_sheet(wb, "按月份", "结算月份", s.by_month, False)
    _group_sheet(wb, "按类别", "核定适用类别", s.by_category, False)
    _group_sheet(wb, "按规则", "规则", s.by_rule, False)
    if len(rec) <= ALL_ROWS:
        every = wb.create_sheet("逐笔核对")
        heads = (*DETAIL[:11], "平台医疗救助（元）", "核定医疗救助（元）", "差额（平台−核定，元）",
                 "核定适用类别", "规则")
        _header(every, heads, DETAIL_WIDTHS[:16])
        r = 1
        for i in range(len(rec)):
            if int(out.status[i]) == REVERSAL:
                continue
            r += 1
            _row(every, r, [*_record_cells(out, i), _y(int(out.platform[i])),
                            _y(int(out.medaid[i])), _y(int(diff[i])), _category(out, i),
                            out.rules(i)], money=(10, 11, 12, 13))
    wb.save(target)  # write-only: every text cell above is text already
