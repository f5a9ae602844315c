"""The reform report's tables, built once from a `Comparison` and rendered three ways
(Markdown, HTML, Excel): what each shows is decided here only.

Cells hold exact values — money in integer fen, counts, shares as fractions — and each
column says how to show them; the renderers only format. Money is shown in 万元 (fund
totals) or yuan (per person) in the reports and in yuan in the workbook.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import polars as pl

from medaid.batch.compare import BANDS, Burden, Comparison
from medaid.batch.summary import NONE
from medaid.core import labels
from medaid.core.money import BP
from medaid.policy.schema import KINDS

Format = Literal["text", "wan", "yuan", "count", "share"]
Cell = str | int | Fraction | None

KIND_LABELS = labels.KINDS
TIER_LABELS = {  # the report's tiers: the funds that pay, then what is left to the person
    "medfee_sumamt": ("医疗费用总额", "total cost"),
    "hifp_pay": ("基本医保", "basic insurance"),
    "hifmi_pay": ("大病保险", "critical-illness insurance"),
    "assistance": ("医疗救助", "assistance"),
    "tilted": ("倾斜救助", "tilted assistance"),
    "special": ("专项救助", "special grants"),
    "maf_pay": ("医疗救助基金合计", "assistance fund, total"),
    "psn_part_amt": ("个人负担", "paid by persons"),
}
NO_CATEGORY = ("无有效身份", "no category in force")


@dataclass(frozen=True)
class Column:
    zh: str  # the header (Chinese)
    en: str = ""  # its English gloss, shown under it in the reports
    format: Format = "text"
    signed: bool = False  # a change: shown with its sign


@dataclass(frozen=True)
class Table:
    key: str  # an ASCII name: the sheet, the chart, the anchor
    title: str
    columns: list[Column]
    rows: list[list[Cell]]
    note: str | None = None


# -- formatting (reports) --------------------------------------------------------------------
def _grouped(n: int) -> str:
    return f"{n:,}"


def _fixed2(hundredths: int, signed: bool) -> str:
    sign = "-" if hundredths < 0 else "+" if signed and hundredths > 0 else ""
    whole, part = divmod(abs(hundredths), 100)
    return f"{sign}{whole:,}.{part:02d}"


def _half_up(n: int, d: int) -> int:
    """n / d rounded half away from zero (d > 0)."""
    q = (2 * abs(n) + d) // (2 * d)
    return q if n >= 0 else -q


def wan(fen: int, signed: bool = False) -> str:
    """Fen as 万元 with two decimals (hundreds of yuan), e.g. 123_456_789 → '123.46'."""
    return _fixed2(_half_up(fen, 10_000), signed)


def yuan(fen: int, signed: bool = False) -> str:
    return _fixed2(fen, signed)


def share(value: Fraction, signed: bool = False) -> str:
    tenths = _half_up(value.numerator * 1000, value.denominator)
    sign = "-" if tenths < 0 else "+" if signed and tenths > 0 else ""
    whole, part = divmod(abs(tenths), 10)
    return f"{sign}{whole:,}.{part}%"


def show(cell: Cell, column: Column) -> str:
    """A cell as report text."""
    if cell is None:
        return "—"
    if isinstance(cell, str):
        return cell
    if column.format == "share":
        return share(Fraction(cell), column.signed)
    assert isinstance(cell, int)
    if column.format == "wan":
        return wan(cell, column.signed)
    if column.format == "yuan":
        return yuan(cell, column.signed)
    sign = "+" if column.signed and cell > 0 else ""
    return sign + _grouped(cell)


def unit(column: Column, workbook: bool = False) -> str:
    """The column's Chinese header with its unit: 万元 in reports, yuan in the workbook."""
    if column.format == "wan":
        return f"{column.zh}（{'元' if workbook else '万元'}）"
    if column.format == "yuan":
        return f"{column.zh}（元）"
    return column.zh


# -- the tables ------------------------------------------------------------------------------
def _rate(base: int, new: int) -> Fraction | None:
    return Fraction(new - base, base) if base else None


def _by(df: pl.DataFrame, key: str) -> dict[str, dict[str, int]]:
    return {row[key]: row for row in df.iter_rows(named=True)}


def _label(labels: dict[str, str], category: str) -> str:
    if category == NONE:
        return f"{NO_CATEGORY[0]} {NO_CATEGORY[1]}"
    return f"{labels.get(category, category)}（{category}）"


def overview(c: Comparison) -> Table:
    years = sorted({int(y) for y in set(c.base.year.tolist())})
    inc = c.income
    income = "; ".join(f"{y}年 {yuan(v)} 元" for y, v in sorted(inc.by_year.items())) \
        if inc.known else "—"
    rows: list[list[Cell]] = [
        ["改革方案 reform", f"{c.reform.title}（{c.reform.path}）"],
        ["分析问题 question", c.reform.question],
        ["地区 jurisdiction", f"{c.name}（{c.jurisdiction}）"],
        ["现行政策 baseline", c.baseline],
        ["改革后政策 reform policy", c.reformed],
        ["就诊数据 visits file", c.population],
        ["数据说明 data", c.data],
        ["年度 year", "、".join(str(y) for y in years) or "—"],
        ["人数 persons", _grouped(c.base.persons)],
        ["人年 person-years", _grouped(c.base.person_years)],
        ["就诊人次 visits", _grouped(c.base.visits)],
        ["上年居民人均可支配收入 income per capita", f"{income}（{inc.source}）"],
    ]
    return Table("overview", "概况 Overview", [Column("项目", "item"), Column("内容", "value")],
                 rows)


def changes(c: Comparison) -> Table:
    rows: list[list[Cell]] = [[str(ch.operation + 1), ch.what, ch.before, ch.after,
                               ch.note or ""] for ch in c.changes]
    return Table("changes", "改革内容 What the reform changes",
                 [Column("#"), Column("条目", "item"), Column("现行", "now"),
                  Column("改革后", "reform"), Column("说明", "note")], rows,
                 None if rows else "改革文件未做任何修改：改革与现行政策相同。The reform changes "
                 "nothing: both columns are the baseline.")


def _pair(zh: str, en: str, fmt: Format) -> list[Column]:
    return [Column(f"现行{zh}", f"{en}, now", fmt), Column(f"改革{zh}", f"{en}, reform", fmt),
            Column(f"{zh}变化", "change", fmt, signed=True)]


def tiers(c: Comparison) -> Table:
    rows: list[list[Cell]] = []
    for name, (zh, en) in TIER_LABELS.items():
        a, b = c.base.tiers[name], c.new.tiers[name]
        rows.append([f"{zh} {en}", a, b, b - a, _rate(a, b)])
    computed = {k: v for k, v in c.base.computed.items() if v}
    note = ("基本医保、大病保险按数据文件给定金额，两方案相同。Basic and critical-illness "
            "insurance are as the visits file gives them: the same in both columns.")
    if computed:
        note = ("部分就诊的基本医保/大病保险由本地参数计算（" + "，".join(
            f"{k} {_grouped(v)} 人次" for k, v in computed.items()) + "），改革可能影响大病保险"
            "倾斜。Computed from local parameters where the file leaves them blank.")
    return Table("tiers", "基金支出（按层级） Spending by tier",
                 [Column("层级", "tier"), Column("现行", "now", "wan"),
                  Column("改革", "reform", "wan"), Column("变化", "change", "wan", signed=True),
                  Column("变化率", "change %", "share", signed=True)], rows, note)


def categories(c: Comparison) -> Table:
    base, new = _by(c.base.by_category, "category"), _by(c.new.by_category, "category")
    order = [k for k in [*base, *new] if k != NONE]
    order = [*dict.fromkeys(order), *([NONE] if NONE in base or NONE in new else [])]
    zero = {"persons": 0, "visits": 0, "maf_pay": 0, "psn_part_amt": 0}
    rows: list[list[Cell]] = []
    for cat in order:
        a, b = base.get(cat, zero), new.get(cat, zero)
        rows.append([_label(c.labels, cat), a["persons"], b["persons"], a["maf_pay"],
                     b["maf_pay"], b["maf_pay"] - a["maf_pay"],
                     _rate(a["maf_pay"], b["maf_pay"])])
    return Table("categories", "救助支出（按救助对象类别） Assistance by category",
                 [Column("类别", "category"), Column("现行人数", "persons, now", "count"),
                  Column("改革人数", "persons, reform", "count"),
                  *_pair("救助", "assistance", "wan"),
                  Column("变化率", "change %", "share", signed=True)], rows,
                 "人数：该类别下结算过至少一次就诊的人数（一人多身份时按每次就诊所用身份计）。"
                 "Persons: with at least one visit settled under the category (就高不叠加).")


def kinds(c: Comparison) -> Table:
    base, new = _by(c.base.by_kind, "kind"), _by(c.new.by_kind, "kind")
    rows: list[list[Cell]] = []
    for kind in KINDS:
        if kind not in base:
            continue
        a, b = base[kind], new[kind]
        zh, en = KIND_LABELS[kind]
        rows.append([f"{zh} {en}", a["visits"], a["medfee_sumamt"], a["maf_pay"], b["maf_pay"],
                     b["maf_pay"] - a["maf_pay"], a["psn_part_amt"], b["psn_part_amt"]])
    return Table("kinds", "救助支出（按就诊类型） Assistance by visit kind",
                 [Column("就诊类型", "kind"), Column("人次", "visits", "count"),
                  Column("医疗费用", "total cost", "wan"), *_pair("救助", "assistance", "wan"),
                  Column("现行个人负担", "paid by persons, now", "wan"),
                  Column("改革个人负担", "paid by persons, reform", "wan")], rows)


def _cap_text(row: dict[str, int] | None) -> str | None:
    if row is None:
        return None
    lo, hi = row["cap_min"], row["cap_max"]
    return yuan(lo) if lo == hi else f"{yuan(lo)}–{yuan(hi)}"


def caps(c: Comparison) -> Table:
    base = {(r["pool"]): r for r in c.base.caps.iter_rows(named=True)}
    new = {(r["pool"]): r for r in c.new.caps.iter_rows(named=True)}
    rows: list[list[Cell]] = []
    for pool in dict.fromkeys([*base, *new]):
        a, b = base.get(pool), new.get(pool)
        rules = (a or b or {}).get("rules", "")
        ra, rb = (a or {}).get("reached", 0), (b or {}).get("reached", 0)
        rows.append([f"{pool}（{rules}）", _cap_text(a), _cap_text(b), ra, rb, rb - ra])
    return Table("caps", "达到封顶线的人年 Person-years reaching each cap",
                 [Column("封顶池（规则）", "cap pool (rules)"),
                  Column("现行封顶额（元）", "cap now"), Column("改革封顶额（元）", "cap, reform"),
                  Column("现行人年", "now", "count"), Column("改革人年", "reform", "count"),
                  Column("变化", "change", "count", signed=True)],
                 rows, "一人一年内该封顶池已付满封顶额即计为达到。A person-year reaches a cap "
                 "when the pool has paid its full amount.")


def burden(c: Comparison, a: Burden, b: Burden) -> Table:
    rows: list[list[Cell]] = [["平均 mean", a.mean, b.mean, b.mean - a.mean]]
    for (q, va), (_, vb) in zip(a.percentiles, b.percentiles, strict=True):
        rows.append([f"P{q}" + (" 中位数 median" if q == 50 else ""), va, vb, vb - va])
    rows.append(["最高 maximum", a.maximum, b.maximum, b.maximum - a.maximum])
    return Table("burden", "个人负担分布（每人每年） What persons still pay per person-year",
                 [Column("统计量", "statistic"), Column("现行", "now", "yuan"),
                  Column("改革", "reform", "yuan"), Column("变化", "change", "yuan", signed=True)],
                 rows,
                 "个人负担 psn_part_amt = 医疗费用总额 − 基本医保 − 大病保险 − 其他 − 医疗救助，"
                 "含政策范围外费用；每人每年合计。Pq：q% 的人年个人负担不超过该值（最近秩）。"
                 "Pq: q% of person-years pay at most this (nearest rank); costs outside the "
                 "policy range included.")


def burden_shares(c: Comparison, a: Burden, b: Burden) -> Table:
    cols = [Column("个人负担超过", "pays more than"), Column("现行人年", "now", "count"),
            Column("现行占比", "share now", "share"), Column("改革人年", "reform", "count"),
            Column("改革占比", "share, reform", "share"),
            Column("人年变化", "change", "count", signed=True)]
    if a.above is None or b.above is None:
        return Table("burden_shares", "高额个人负担 Persons paying a large share of income",
                     cols, [], f"无法计算：{c.income.source}。Not computable: the population "
                     "gives no per-capita income for the year (set local."
                     "income_per_capita_prev_year in its metadata).")
    n = max(1, a.person_years)
    rows: list[list[Cell]] = []
    for (s, na), (_, nb) in zip(a.above, b.above, strict=True):
        rows.append([f"收入的 {s * 100 // BP}%（{s * 100 // BP}% of income）", na,
                     Fraction(na, n), nb, Fraction(nb, n), nb - na])
    return Table("burden_shares", "高额个人负担 Persons paying a large share of income", cols,
                 rows, f"分母为人年数 {_grouped(a.person_years)}；收入：{c.income.source}。"
                 "Shares of person-years.")


def people(c: Comparison) -> Table:
    p = c.people
    same = p.persons - p.gainers - p.losers
    rows: list[list[Cell]] = [
        ["救助增加 gain", p.gainers, Fraction(p.gainers, max(1, p.persons)), p.gained,
         p.gained // p.gainers if p.gainers else None, p.largest_gain or None],
        ["救助减少 lose", p.losers, Fraction(p.losers, max(1, p.persons)), -p.lost,
         -(p.lost // p.losers) if p.losers else None, -p.largest_loss or None],
        ["不变 unchanged", same, Fraction(same, max(1, p.persons)), 0, None, None],
    ]
    return Table("people", "受益与受损 Winners and losers",
                 [Column("人员", "persons"), Column("人数", "persons", "count"),
                  Column("占比", "share", "share"),
                  Column("救助变化合计", "total change", "wan", signed=True),
                  Column("人均变化", "average", "yuan", signed=True),
                  Column("最大变化", "largest", "yuan", signed=True)], rows,
                 "按人比较全年救助金额（maf_pay 合计）。Each person's assistance over the year, "
                 "reform against now; averages rounded down to the fen.")


def band_label(k: int) -> str:
    lo = BANDS[k] // 100 if k else 0
    if k + 1 < len(BANDS):
        return f"{lo:,}–{BANDS[k + 1] // 100:,}"
    return f"{lo:,}+"


def bands(c: Comparison) -> Table:
    rows: list[list[Cell]] = [[band_label(k), int(c.people.gain_bands[k]),
                               int(c.people.loss_bands[k])] for k in range(len(BANDS))]
    return Table("bands", "救助变化幅度分布（元） Size of the change per person (yuan)",
                 [Column("变化幅度（元）", "change"), Column("增加人数", "gain", "count"),
                  Column("减少人数", "lose", "count")], rows)


def build(c: Comparison) -> list[Table]:
    a, b = c.base_burden, c.new_burden
    return [overview(c), changes(c), tiers(c), categories(c), kinds(c), caps(c),
            burden(c, a, b), burden_shares(c, a, b), people(c), bands(c)]
