"""The settlement slip as an A4 PDF, in Chinese, drawn by reportlab with its built-in CID
font STSong-Light (Adobe's Song for simplified Chinese: the reader supplies the glyphs, so
no font file is shipped or installed)."""

from __future__ import annotations

from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from medaid.web.slip import Slip

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_BODY = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13, wordWrap="CJK")
_TITLE = ParagraphStyle("title", parent=_BODY, fontSize=16, leading=22, alignment=1)
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=8, leading=11,
                        textColor=colors.HexColor("#444444"))
_GRID: list[Any] = [("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 9.5),
         ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
         ("VALIGN", (0, 0), (-1, -1), "TOP")]


def _style(*extra: Any) -> TableStyle:
    return TableStyle([*_GRID, *extra])


def _p(text: str, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(escape(text), style)


def render(s: Slip) -> bytes:
    out = BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm,
                            topMargin=14 * mm, bottomMargin=14 * mm,
                            title=f"医疗救助一站式结算单 {s.number}", author="medaid")
    width = A4[0] - 32 * mm
    story: list[Flowable] = [_p("医疗救助一站式结算单", _TITLE), _p(f"结算单号 {s.number}", _SMALL),
                           Spacer(0, 4 * mm)]
    if s.entry == "cancel":
        story += [_p(f"撤销单：撤销结算 {s.reverses}，冲回其结算及其后补差的金额。"),
                  Spacer(0, 2 * mm)]
    elif s.cancelled_by:
        story += [_p(f"本结算已被撤销（撤销单 {s.cancelled_by}）。"), Spacer(0, 2 * mm)]
    if s.adjusted is not None:
        story += [_p(s.adjusted.summary), Spacer(0, 2 * mm)]
    facts = [("姓名", s.name, "身份证号", s.certno),
             ("人员编号", s.psn_no, "救助身份", s.category),
             ("定点医疗机构", s.hospital, "医院结算号", s.medins_setl_id),
             ("就诊类别", s.kind, "就诊日期", f"{s.start} 至 {s.end}"),
             ("参保地", f"{s.city} {s.district}", "结算时间", s.settled_at)]
    story.append(Table([[_p(c) for c in row] for row in facts],
                       colWidths=[width * 0.16, width * 0.34, width * 0.16, width * 0.34],
                       style=_style(("BACKGROUND", (0, 0), (0, -1), "#f0f0f0"),
                                   ("BACKGROUND", (2, 0), (2, -1), "#f0f0f0"))))
    story.append(Spacer(0, 4 * mm))
    money = [["医疗费用总额", s.total]] + [[label, amount] for _, label, amount in s.tiers] + \
        [["个人支付", s.pays]]
    story.append(Table(money, colWidths=[width * 0.5, width * 0.5], style=_style(
        ("ALIGN", (1, 0), (1, -1), "RIGHT"), ("FONTSIZE", (0, -1), (-1, -1), 12),
        ("BACKGROUND", (0, -1), (-1, -1), "#fff3d6"))))
    story += [Spacer(0, 4 * mm), _p("计算依据")]
    rows = [[_p("说明"), _p("依据"), _p("金额")]] + [
        [_p(r.text), _p(r.citation), _p(r.amount)] for r in s.reasons]
    story.append(Table(rows, colWidths=[width * 0.58, width * 0.27, width * 0.15],
                       repeatRows=1, style=_style(("BACKGROUND", (0, 0), (-1, 0),
                                                            "#f0f0f0"))))
    story += [Spacer(0, 6 * mm), _p(f"打印时间 {s.printed_at}（北京时间）", _SMALL)]
    doc.build(story)
    return out.getvalue()
