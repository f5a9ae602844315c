"""The reform report: baseline against reform as Markdown, HTML with PNG charts, and Excel.

`tables` decides what is shown, once; `markdown`, `html`, `workbook` and `charts` render it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from medaid.batch.compare import Comparison


def write(c: Comparison, folder: Path, step: Callable[[str], None] | None = None
          ) -> list[Path]:
    """Every file of the report into `folder`: report.md, report.html, report.xlsx and the
    charts; `step(name)` after each."""
    from medaid.batch.report import charts, html, markdown, tables, workbook

    folder.mkdir(parents=True, exist_ok=True)
    done = step or (lambda name: None)
    built = tables.build(c)
    pngs = charts.draw(c, folder)
    done("charts")
    names = {p.name: p.name for p in pngs}
    md = folder / "report.md"
    md.write_text(markdown.render(c, built, names), encoding="utf-8")
    done("report.md")
    page = folder / "report.html"
    page.write_text(html.render(c, built, names), encoding="utf-8")
    done("report.html")
    xlsx = workbook.write(built, folder / "report.xlsx")
    done("report.xlsx")
    return [md, page, xlsx, *pngs]
