"""`medaid synth --platform-export`: errors injected at known places, one kind per cause,
and `medaid audit-payments` finds exactly those (100% precision and recall) for every
jurisdiction, from Parquet and from CSV with a CSV roster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from medaid.audit.causes import CAUSES
from medaid.cli.main import app

runner = CliRunner()
LABEL_TO_CAUSE = {v: k for k, v in CAUSES.items()}
# every cause the data of 300 persons allows in each jurisdiction (caps bite in some only)
ALWAYS = {"duplicate", "cancel_net", "not_in_roster", "after_exit", "not_yet",
          "other_category", "rounding", "missed", "over_other", "under_other"}


def generate(tmp_path: Path, jurisdiction: str, suffix: str, persons: int = 300,
             seed: int = 3) -> dict[str, object]:
    out = tmp_path / f"export.{suffix}"
    r = runner.invoke(app, ["synth", "--platform-export", "--jurisdiction", jurisdiction,
                            "--persons", str(persons), "--year", "2024", "--seed", str(seed),
                            "--out", str(out), "--error-rate", "0.001"])
    assert r.exit_code == 0, r.output
    manifest = json.loads((tmp_path / "export.manifest.json").read_text(encoding="utf-8"))
    assert manifest["export"] == out.name
    return dict(manifest)


def audited(tmp_path: Path, manifest: dict[str, object], *more: str
            ) -> set[tuple[str, str, int]]:
    extra: list[str] = []
    for code, kind in dict(manifest["med_types"]).items():  # type: ignore[call-overload]
        extra += ["--med-type", f"{code}={kind}"]
    out = tmp_path / "findings.xlsx"
    r = runner.invoke(app, ["audit-payments", str(tmp_path / str(manifest["export"])),
                            "--roster", str(tmp_path / str(manifest["roster"])),
                            "--policy", str(manifest["jurisdiction"]),
                            "--local", str(tmp_path / str(manifest["local"])),
                            "--out", str(out), *extra, *more])
    assert r.exit_code == 0, r.output
    ws = load_workbook(out, read_only=True)["差异明细"]
    rows = list(ws.iter_rows(values_only=True))
    head = list(rows[0])
    at_setl, at_cause, at_row = head.index("结算ID"), head.index("差异类型"), head.index("行号")
    return {(str(row[at_setl]), LABEL_TO_CAUSE[str(row[at_cause])], int(str(row[at_row])))
            for row in rows[1:]}


@pytest.mark.parametrize("jurisdiction", ["nanjing", "jiangsu", "yichun", "ningbo",
                                          "changzhou"])
def test_the_audit_finds_exactly_the_injected_errors(tmp_path: Path, jurisdiction: str
                                                     ) -> None:
    manifest = generate(tmp_path, jurisdiction, "parquet")
    injected = {(str(i["setl_id"]), str(i["cause"]), int(i["row"]))
                for i in manifest["injected"]}  # type: ignore[attr-defined]
    kinds = {c for _, c, _ in injected}
    assert kinds >= ALWAYS, ALWAYS - kinds
    found = audited(tmp_path, manifest)
    assert found - injected == set(), "false findings (precision < 100%)"
    assert injected - found == set(), "missed errors (recall < 100%)"


def test_csv_export_and_roster(tmp_path: Path) -> None:
    """The same from CSV, with a CSV roster (ID numbers checked, tilted applications)."""
    manifest = generate(tmp_path, "yichun", "csv", persons=150, seed=11)
    assert str(manifest["roster"]).endswith(".roster.csv")
    header = (tmp_path / str(manifest["roster"])).read_text(encoding="utf-8").splitlines()[0]
    assert "倾斜救助申请日期" in header
    injected = {(str(i["setl_id"]), str(i["cause"]), int(i["row"]))
                for i in manifest["injected"]}  # type: ignore[attr-defined]
    assert min(r for _, _, r in injected) >= 2  # CSV rows: the header is row 1
    assert audited(tmp_path, manifest) == injected


def test_bad_error_rate(tmp_path: Path) -> None:
    r = runner.invoke(app, ["synth", "--platform-export", "--jurisdiction", "nanjing",
                            "--persons", "10", "--year", "2024", "--out",
                            str(tmp_path / "x.parquet"), "--error-rate", "0.5"])
    assert r.exit_code == 2 and "--error-rate" in r.stderr
