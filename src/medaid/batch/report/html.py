"""The reform report as one HTML page (Jinja2), the PNG charts beside it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from jinja2 import Environment, PackageLoader, select_autoescape

from medaid.batch.compare import Comparison
from medaid.batch.report.markdown import CHART_AFTER, UNITS
from medaid.batch.report.tables import Table, share, show, unit, wan
from medaid.core.money import BP


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    delta: str


def _change(a: int, b: int) -> str:
    rate = "" if not a else f"，{share(Fraction(b - a, a), True)}"
    return f"变化 {wan(b - a, True)} 万元{rate}"


def kpis(c: Comparison) -> list[Kpi]:
    a, b = c.base.tiers["maf_pay"], c.new.tiers["maf_pay"]
    p = c.people
    out = [Kpi("救助基金支出（改革）fund, reform", f"{wan(b)} 万元", _change(a, b)),
           Kpi("受益人数 persons gaining", f"{p.gainers:,}", f"合计 {wan(p.gained, True)} 万元"),
           Kpi("受损人数 persons losing", f"{p.losers:,}", f"合计 {wan(-p.lost, True)} 万元")]
    na, nb = c.base_burden, c.new_burden
    if na.above is not None and nb.above is not None:
        s, before = na.above[-1]
        after = nb.above[-1][1]
        out.append(Kpi(f"负担超收入{s * 100 // BP}%的人年 > {s * 100 // BP}% of income",
                       f"{after:,}", f"现行 {before:,}，变化 {after - before:+,}"))
    else:
        out.append(Kpi("个人负担中位数 median paid", f"{nb.percentiles[0][1] // 100:,} 元",
                       f"现行 {na.percentiles[0][1] // 100:,} 元"))
    return out


def render(c: Comparison, tables: Sequence[Table], charts: Mapping[str, str]) -> str:
    env = Environment(loader=PackageLoader("medaid.batch.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                      lstrip_blocks=True)
    template = env.get_template("reform.html.j2")
    return template.render(c=c, tables=tables, charts=charts, chart_after=CHART_AFTER,
                           kpis=kpis(c), show=show, unit=unit, zip=zip, units=UNITS)
