"""The reform report's charts (PNG, matplotlib's Agg backend: no display needed).

Labels are Chinese when a CJK font is installed (Debian: fonts-noto-cjk) and English
otherwise, so the charts never show missing-glyph boxes and CI needs no fonts.
`MEDAID_CHART_LANG=en` forces English. Amounts are plotted in 万元 (10,000 yuan) or yuan;
floats exist here only to draw.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from medaid.batch.compare import BURDEN_SHARES, Burden, Comparison
from medaid.batch.report.tables import (
    KIND_LABELS,
    NO_CATEGORY,
    TIER_LABELS,
    band_label,
    share,
    wan,
    yuan,
)
from medaid.batch.summary import NONE
from medaid.core.money import BP
from medaid.policy.schema import KINDS

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC",
             "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei")
NOW, REFORM = "#8c9bab", "#1f5fa8"  # baseline grey-blue, reform blue
GAIN, LOSS = "#2e8b57", "#c0392b"
DPI = 110


@cache
def cjk_font() -> str | None:
    """An installed font with Chinese glyphs, or None."""
    if os.environ.get("MEDAID_CHART_LANG", "").lower() == "en":
        return None
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((n for n in CJK_FONTS if n in names), None)


@dataclass(frozen=True)
class Words:
    """The charts' words in one language."""

    zh: bool

    def __call__(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def category(self, c: Comparison, category: str) -> str:
        if category == NONE:
            return self(*NO_CATEGORY)
        return c.labels.get(category, category) if self.zh else category


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    font = cjk_font()
    plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    fig, ax = plt.subplots(figsize=(width, height), dpi=DPI)
    return fig, ax


def _style(ax: Axes, title: str, unit: str, horizontal: bool = False) -> None:
    ax.set_title(title, fontsize=12, loc="left", pad=22)
    (ax.set_xlabel if horizontal else ax.set_ylabel)(unit)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x" if horizontal else "y", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    axis = ax.xaxis if horizontal else ax.yaxis
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    if horizontal:  # room for the value labels; bars start at zero
        ax.margins(x=0.16)
        ax.set_xlim(left=0)
    else:
        ax.margins(y=0.16)
        ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=9, ncol=2, loc="lower right",
              bbox_to_anchor=(1.0, 1.0), borderaxespad=0.2)


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _pairs(ax: Axes, names: Sequence[str], now: Sequence[float], new: Sequence[float],
           w: Words, text: Callable[[int], str] | None = None,
           raw: tuple[Sequence[int], Sequence[int]] | None = None,
           horizontal: bool = False) -> None:
    """Bars of now and reform side by side, each labelled with its value."""
    at = list(range(len(names)))
    width = 0.38
    draw = ax.barh if horizontal else ax.bar
    for k, (values, color, label) in enumerate(((now, NOW, w("现行", "now")),
                                                (new, REFORM, w("改革", "reform")))):
        pos = [x + (k - 0.5) * width for x in at]
        bars = draw(pos, values, width, color=color, label=label)
        if text is not None and raw is not None:
            ax.bar_label(bars, labels=[text(v) for v in raw[k]], fontsize=6.5, padding=2)
    if horizontal:
        ax.set_yticks(at, names)
        ax.invert_yaxis()
    else:
        ax.set_xticks(at, names)


def _wan(fen: int) -> float:
    return fen / 1_000_000


def _change(a: int, b: int, w: Words) -> str:
    rate = f" ({share(Fraction(b - a, a), True)})" if a else ""
    return w(f"变化 {wan(b - a, True)}{rate}", f"change {wan(b - a, True)}{rate}")


def tiers(c: Comparison, w: Words, out: Path) -> Path:
    # Tilted assistance and special grants only where either settlement paid some.
    names = [n for n in ("assistance", "tilted", "special", "maf_pay")
             if n in ("assistance", "maf_pay") or c.base.tiers[n] or c.new.tiers[n]]
    fig, ax = _figure(9, 4.8)
    a = [c.base.tiers[n] for n in names]
    b = [c.new.tiers[n] for n in names]
    labels = [f"{w(*TIER_LABELS[n])}\n{_change(x, y, w)}" for n, x, y in zip(names, a, b,
                                                                         strict=True)]
    _pairs(ax, labels, [_wan(v) for v in a], [_wan(v) for v in b], w, wan, (a, b))
    _style(ax, w("医疗救助基金支出：现行与改革（万元）",
                 "Assistance fund spending: now and reform (10,000 yuan)"),
           w("万元", "10,000 yuan"))
    return _save(fig, out / "tiers.png")


def categories(c: Comparison, w: Words, out: Path) -> Path:
    base = {r["category"]: r["maf_pay"] for r in c.base.by_category.iter_rows(named=True)}
    new = {r["category"]: r["maf_pay"] for r in c.new.by_category.iter_rows(named=True)}
    cats = [k for k in dict.fromkeys([*base, *new]) if base.get(k, 0) or new.get(k, 0)]
    cats.sort(key=lambda k: -max(base.get(k, 0), new.get(k, 0)))
    a = [base.get(k, 0) for k in cats]
    b = [new.get(k, 0) for k in cats]
    fig, ax = _figure(9, 1.2 + 0.55 * max(1, len(cats)))
    _pairs(ax, [w.category(c, k) for k in cats], [_wan(v) for v in a], [_wan(v) for v in b],
           w, wan, (a, b), horizontal=True)
    _style(ax, w("医疗救助支出（按救助对象类别，万元）", "Assistance by category (10,000 yuan)"),
           w("万元", "10,000 yuan"), horizontal=True)
    return _save(fig, out / "categories.png")


def kinds(c: Comparison, w: Words, out: Path) -> Path:
    base = {r["kind"]: r["maf_pay"] for r in c.base.by_kind.iter_rows(named=True)}
    new = {r["kind"]: r["maf_pay"] for r in c.new.by_kind.iter_rows(named=True)}
    present = [k for k in KINDS if k in base]
    a = [base[k] for k in present]
    b = [new.get(k, 0) for k in present]
    fig, ax = _figure(11.5, 4.8)
    _pairs(ax, [w(*KIND_LABELS[k]).replace(" ", "\n") for k in present], [_wan(v) for v in a],
           [_wan(v) for v in b], w, wan, (a, b))
    _style(ax, w("医疗救助支出（按就诊类型，万元）", "Assistance by visit kind (10,000 yuan)"),
           w("万元", "10,000 yuan"))
    return _save(fig, out / "kinds.png")


def burden(c: Comparison, a: Burden, b: Burden, w: Words, out: Path) -> Path:
    font = cjk_font()
    plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.5, 4.8), dpi=DPI,
                                      gridspec_kw={"width_ratios": [3, 2]})
    names = [f"P{q}" for q, _ in a.percentiles]
    va = [v for _, v in a.percentiles]
    vb = [v for _, v in b.percentiles]
    _pairs(left, names, [v / 100 for v in va], [v / 100 for v in vb], w,
           lambda fen: yuan(fen).split(".")[0], (va, vb))
    _style(left, w("个人负担分位数（每人每年，元）", "What persons still pay per person-year "
                   "(yuan)"), w("元", "yuan"))
    if a.above is None or b.above is None:
        right.axis("off")
        right.text(0.5, 0.5, w("高额负担占比无法计算：\n缺少上年居民人均可支配收入",
                               "Shares of income not computable:\nno per-capita income given"),
                   ha="center", va="center", fontsize=10, color="#555555")
    else:
        n = max(1, a.person_years)
        labels = [w(f">{s * 100 // BP}%收入", f">{s * 100 // BP}% of income")
                  for s in BURDEN_SHARES]
        pa_ = [100 * k / n for _, k in a.above]
        pb_ = [100 * k / n for _, k in b.above]
        _pairs(right, labels, pa_, pb_, w)
        for bars, values in zip(right.containers, (pa_, pb_), strict=True):
            right.bar_label(bars, labels=[f"{v:.1f}%" for v in values], fontsize=6.5,
                            padding=2)
        _style(right, w("负担超过收入一定比例的人年", "Paying more than a share of income"),
               w("占人年 %", "% of person-years"))
    return _save(fig, out / "burden.png")


def people(c: Comparison, w: Words, out: Path) -> Path:
    p = c.people
    fig, ax = _figure(9, 4.6)
    names = [band_label(k) for k in range(len(p.gain_bands))]
    at = list(range(len(names)))
    gains = ax.bar([x - 0.2 for x in at], p.gain_bands.tolist(), 0.4, color=GAIN,
                   label=w(f"救助增加 {p.gainers:,} 人", f"gain: {p.gainers:,} persons"))
    losses = ax.bar([x + 0.2 for x in at], p.loss_bands.tolist(), 0.4, color=LOSS,
                    label=w(f"救助减少 {p.losers:,} 人", f"lose: {p.losers:,} persons"))
    for bars, counts in ((gains, p.gain_bands), (losses, p.loss_bands)):
        ax.bar_label(bars, labels=[f"{int(v):,}" if v else "" for v in counts.tolist()],
                     fontsize=7, padding=2)
    ax.set_xticks(at, names)
    ax.set_xlabel(w("全年救助变化（元/人）", "change in a person's assistance over the year "
                    "(yuan)"))
    _style(ax, w("受益与受损人数（按变化幅度）", "Winners and losers by size of change"),
           w("人数", "persons"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return _save(fig, out / "people.png")


def caps(c: Comparison, w: Words, out: Path) -> Path:
    base = {r["pool"]: r for r in c.base.caps.iter_rows(named=True)}
    new = {r["pool"]: r for r in c.new.caps.iter_rows(named=True)}
    pools = list(dict.fromkeys([*base, *new]))
    a = [base[k]["reached"] if k in base else 0 for k in pools]
    b = [new[k]["reached"] if k in new else 0 for k in pools]
    fig, ax = _figure(8, 4.4)
    if not pools:
        ax.axis("off")
        ax.text(0.5, 0.5, w("该政策没有封顶线", "This policy has no caps"), ha="center")
        return _save(fig, out / "caps.png")

    def label(k: str) -> str:
        row = new.get(k) or base[k]
        return f"{k}\n({row['rules']})"

    _pairs(ax, [label(k) for k in pools], a, b, w, lambda v: f"{v:,}", (a, b))
    _style(ax, w("达到封顶线的人年", "Person-years reaching each cap"), w("人年", "person-years"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if not any(a) and not any(b):
        ax.set_ylim(0, 1)
        ax.set_yticks([0])
        ax.text(0.5, 0.55, w("没有人年达到封顶线", "No person-year reaches a cap"),
                transform=ax.transAxes, ha="center", color="#555555")
    return _save(fig, out / "caps.png")


def draw(c: Comparison, out: Path) -> list[Path]:
    """Every chart of the report into `out`; returns their paths."""
    w = Words(cjk_font() is not None)
    a, b = c.base_burden, c.new_burden
    return [tiers(c, w, out), categories(c, w, out), kinds(c, w, out),
            burden(c, a, b, w, out), people(c, w, out), caps(c, w, out)]


# the pieces other reports draw with (the audit report, medaid.audit.report)
figure, style = _figure, _style
