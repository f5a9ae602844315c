"""The audit's HTML report beside the workbook: totals, causes, charts, the findings, and
text from the export escaped."""

from __future__ import annotations

from pathlib import Path

from audit_helpers import nanjing_year, write_csv, write_roster
from typer.testing import CliRunner

from medaid.cli.main import app

runner = CliRunner()


def test_html_report_beside_the_workbook(tmp_path: Path) -> None:
    rows = nanjing_year()
    rows[1][2] = "<script>alert(1)</script>"  # psn_name of S2, a finding
    export = write_csv(tmp_path / "x.csv", rows)
    out = tmp_path / "findings.xlsx"
    r = runner.invoke(app, ["audit-payments", str(export), "--roster",
                            str(write_roster(tmp_path / "roster.csv")), "--policy", "nanjing",
                            "--out", str(out)])
    assert r.exit_code == 0, r.stderr
    page = (tmp_path / "findings.html").read_text(encoding="utf-8")
    assert "report: " in r.stdout and "findings.html" in r.stdout
    assert "<h1>医疗救助支付稽核报告</h1>" in page
    assert 'data-cause="after_exit"' in page and "身份退出后结算" in page
    assert "¥23,000.00" in page and "¥400.00" in page  # overpaid, underpaid
    assert page.count('<tr data-setl="') == 4
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('<img src="data:image/png;base64,') == 3  # cause, month, institution
