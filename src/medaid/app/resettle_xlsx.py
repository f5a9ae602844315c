"""The re-settlement workbook (重新结算补差清单): who gains and who loses, by how much and
why — the dry run of `medaid ledger resettle`, for the office to read before posting.

Sheet 汇总: one row per person-year with the net change of assistance. Sheet 明细: one
row per visit and tier that changes, the ledger's amount, the rules' amount and the
difference. Sheet 无法重算: person-years the rules cannot settle again, and why. Amounts
are numbers in yuan with two decimals, written from Decimal.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from medaid.app.resettle import ROUTE_LABELS, TIER_LABELS, Cause, YearPlan
from medaid.core.money import to_yuan
from medaid.policy import model

YUAN = "#,##0.00"
SUMMARY = ("人员编号", "姓名", "统筹区", "年度", "变动就诊数", "救助增减（元）", "增/减",
           "原因")
DETAIL = ("人员编号", "姓名", "年度", "就诊ID", "医药机构结算ID", "结算流水号", "项目",
          "原金额（元）", "重算金额（元）", "差额（元）", "资金去向", "重算后类别", "重算后规则",
          "原因")
ERRORS = ("人员编号", "姓名", "年度", "原因")


def _sheet(wb: Workbook, title: str, headers: Sequence[str], first: bool = False
           ) -> Worksheet:
    ws = wb.active if first else wb.create_sheet()
    assert isinstance(ws, Worksheet)
    ws.title = title
    ws.append(list(headers))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    return ws


def write(plans: Sequence[YearPlan], cause: Cause, target: str | Path) -> None:
    wb = Workbook()
    summary = _sheet(wb, "汇总", SUMMARY, first=True)
    detail = _sheet(wb, "明细", DETAIL)
    errors = _sheet(wb, "无法重算", ERRORS)
    for p in plans:
        if p.error is not None:
            errors.append([p.psn_no, p.name, p.year, p.error])
            continue
        net = sum(c.maf_pay for c in p.changes)
        summary.append([p.psn_no, p.name, model.jurisdiction_name(p.jurisdiction), p.year,
                        len(p.changes), to_yuan(net),
                        "增加" if net > 0 else "减少" if net < 0 else "不变", cause.reason])
        for c in p.changes:
            for tier, d in c.diff.items():
                if d:
                    detail.append([
                        p.psn_no, p.name, p.year, c.entry.mdtrt_id, c.entry.medins_setl_id,
                        c.entry.setl_id, TIER_LABELS[tier], to_yuan(c.ledger[tier]),
                        to_yuan(c.rules[tier]), to_yuan(d), ROUTE_LABELS[c.route],
                        model.category_label(p.jurisdiction, c.category) if c.category
                        else "", " ".join(c.rule_ids),
                        cause.reason if c.live else f"{cause.reason}（该结算已撤销）"])
    for ws, money in ((summary, (6,)), (detail, (8, 9, 10))):
        for row in ws.iter_rows(min_row=2):
            for col in money:
                row[col - 1].number_format = YUAN
    wb.save(target)
