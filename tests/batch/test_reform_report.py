"""`medaid simulate --reform --report-dir`: the report's files, with the numbers of the two
settlements (computed here again, whole-file), and a workbook that reads back to them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from medaid.batch import partition, report, schema, synthfile
from medaid.batch.compare import comparison
from medaid.batch.report.tables import build, wan
from medaid.batch.settle import settle_file
from medaid.batch.stream import Collector, Scenario, run_local
from medaid.policy import model
from medaid.policy.reform import load_reform

REFORMS = Path(__file__).resolve().parents[2] / "reforms"
NJ = REFORMS / "nanjing-nj-a2-95.yaml"
PNGS = ("tiers.png", "categories.png", "kinds.png", "burden.png", "people.png", "caps.png")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    folder = tmp_path_factory.mktemp("report")
    data = folder / "nj.parquet"
    synthfile.write("nanjing", 400, 2023, data, seed=5, workers=1)
    out = folder / "out"
    done = subprocess.run(
        [sys.executable, "-m", "medaid", "simulate", str(data), "--policy", "nanjing",
         "--reform", str(NJ), "--report-dir", str(out)],
        env={**os.environ, "MEDAID_CHART_LANG": "en"},  # the charts CI draws: no CJK font
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return data, out, done.stdout


def totals(data: Path) -> tuple[int, int, int, int]:
    """maf_pay and assistance, baseline and reform, settled whole-file here."""
    versions = model.versions("nanjing")
    local = schema.read_meta(data).local["nanjing"]
    reformed = load_reform(NJ).apply(versions)
    base, _ = settle_file(data, versions, local)
    new, _ = settle_file(data, reformed.versions, reformed.local_for(local))
    return (int(base.maf_pay.sum()), int(new.maf_pay.sum()), int(base.assistance.sum()),
            int(new.assistance.sum()))


def test_the_report_files_are_written(made: tuple[Path, Path, str]) -> None:
    _, out, stdout = made
    for name in ("report.md", "report.html", "report.xlsx", *PNGS):
        assert (out / name).stat().st_size > 0, name
    for name in PNGS:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "baseline against reform" in stdout and "persons whose assistance rises" in stdout


def test_the_markdown_has_the_tables_with_the_numbers(made: tuple[Path, Path, str]) -> None:
    data, out, _ = made
    a, b, aa, ab = totals(data)
    assert b > a
    md = (out / "report.md").read_text("utf-8")
    for heading in ("概况 Overview", "改革内容", "基金支出（按层级）", "救助支出（按救助对象类别）",
                    "救助支出（按就诊类型）", "达到封顶线的人年", "个人负担分布", "高额个人负担",
                    "受益与受损", "救助变化幅度分布"):
        assert f"## {heading}" in md, heading
    assert f"| 医疗救助基金合计 assistance fund, total | {wan(a)} | {wan(b)} | " \
           f"{wan(b - a, True)} |" in md
    assert f"| 医疗救助 assistance | {wan(aa)} | {wan(ab)} |" in md
    assert "| NJ-A2 segments | [{ratio: 0.9}] | [{ratio: 0.95}] |" in md
    assert "2023年 69,039.00 元" in md  # the policy file's income for 2023
    assert "收入的 25%（25% of income）" in md
    assert "![基金支出（按层级） Spending by tier](tiers.png)" in md
    html = (out / "report.html").read_text("utf-8")
    assert '<img src="tiers.png"' in html and wan(b) in html


def test_the_workbook_reads_back_to_the_same_totals(made: tuple[Path, Path, str]) -> None:
    data, out, _ = made
    a, b, _, _ = totals(data)
    wb = openpyxl.load_workbook(out / "report.xlsx")
    assert wb.sheetnames[:4] == ["概况", "改革内容", "按层级", "按类别"]
    tiers = wb["按层级"]
    assert tiers.cell(2, 2).value == "现行（元）"
    row = next(r for r in tiers.iter_rows(min_row=3, values_only=True)
               if str(r[0]).startswith("医疗救助基金合计"))
    assert [round(float(v) * 100) for v in row[1:4]] == [a, b, b - a]
    assert tiers.cell(3, 2).number_format == "#,##0.00"
    by_cat = wb["按类别"]
    header = [c.value for c in by_cat[2]]
    k = header.index("现行救助（元）")
    assert sum(round(float(r[k]) * 100) for r in by_cat.iter_rows(min_row=3, values_only=True)
               if r[k] is not None) == a


def test_shares_of_income_are_not_computable_without_an_income(tmp_path: Path) -> None:
    data = tmp_path / "cz.parquet"
    synthfile.write("changzhou", 300, 2024, data, seed=2, workers=1)
    visits, persons, _ = schema.read_population(data)
    bare = tmp_path / "bare.parquet"
    with schema.PopulationWriter(bare, schema.Meta(schema.persons_path(bare).name, {}, {})) as w:
        w.write(visits, persons)
    versions = model.versions("changzhou")
    reformed = load_reform(REFORMS / "changzhou-cz-a2-85.yaml").apply(versions)
    collector = Collector(2)
    run_local(partition.layout(bare).partitions,
              [Scenario("baseline", versions, {}), Scenario("reform", reformed.versions, {})],
              collector)
    found, people = collector.merged()
    assert people is not None
    c = comparison(str(bare), schema.read_meta(bare), reformed, {}, found, people)
    assert not c.income.known
    shares = next(t for t in build(c) if t.key == "burden_shares")
    assert shares.rows == [] and shares.note is not None and "无法计算" in shares.note
    files = report.write(c, tmp_path / "out")
    assert {f.name for f in files} >= {"report.md", "report.xlsx", "burden.png"}
    assert "local.income_per_capita_prev_year" in (tmp_path / "out" / "report.md").read_text(
        "utf-8")
