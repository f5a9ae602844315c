"""`medaid settle` as the contract fixes it (contract/CASE.md): what the shell sees through
the real command (a case on stdin, JSON on stdout, one error line and exit 2), the rest in
this process (tests/medaid_command.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from medaid_command import medaid

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
MEDAID = [sys.executable, "-m", "medaid"]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real `medaid` process."""
    return subprocess.run([*MEDAID, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, check=False)


def without_expected(path: Path) -> tuple[dict[str, object], dict[str, object]]:
    case = json.loads(path.read_text(encoding="utf-8"))
    return case, case.pop("expected")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_settles_as_expected(path: Path) -> None:
    case, expected = without_expected(path)
    done = medaid("settle", "-", "--json", stdin=json.dumps(case))
    assert done.returncode == 0, done.stderr
    got = {v["id"]: v for v in json.loads(done.stdout)["visits"]}
    for want in expected["visits"]:  # type: ignore[attr-defined]
        have = got[want["id"]]
        for key, value in want.items():
            if isinstance(value, int | float):
                assert abs(have[key] - value) < 0.005, (want["id"], key, have[key], value)
            else:
                assert have[key] == value, (want["id"], key)


def test_money_is_printed_with_two_decimals() -> None:
    case, _ = without_expected(ROOT / "examples" / "nj-dibao-inpatient.json")
    done = run("settle", "-", "--json", stdin=json.dumps(case))
    assert '"assistance": 14400.00' in done.stdout
    assert '"psn_part_amt": 7600.00' in done.stdout


def test_totals_add_up() -> None:
    case, _ = without_expected(ROOT / "examples" / "nj-tekun-full.json")
    out = json.loads(medaid("settle", "-", "--json", stdin=json.dumps(case)).stdout)
    for key in ("medfee_sumamt", "maf_pay", "psn_part_amt"):
        assert out["totals"][key] == pytest.approx(sum(v[key] for v in out["visits"]))


def test_table_output_shows_amounts_and_trace() -> None:
    done = medaid("settle", str(ROOT / "examples" / "nj-dibao-inpatient.json"))
    assert done.returncode == 0, done.stderr
    assert "14400.00" in done.stdout
    assert "NJ-A2" in done.stdout and "（四）" in done.stdout


def test_bad_input_is_one_error_line_exit_2_and_no_stdout(tmp_path: Path) -> None:
    case, _ = without_expected(ROOT / "examples" / "nj-dibao-inpatient.json")
    case["visits"][0]["medfee_sumamt"] = -5  # type: ignore[index]
    done = run("settle", "-", "--json", stdin=json.dumps(case))
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: visits[0].medfee_sumamt")


def test_missing_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    done = run("settle", str(tmp_path / "nope.json"), "--json")
    assert done.returncode == 2
    assert done.stderr.startswith("error:") and "Traceback" not in done.stderr


def test_a_city_medaid_does_not_ship_is_a_policy_file(tmp_path: Path) -> None:
    # A hypothetical city: Changzhou's rules with 85% instead of 80% for CZ-A2.
    src = ROOT / "src" / "medaid" / "policies" / "changzhou-2023.yaml"
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    data["jurisdiction"], data["name"] = "newcity", "新城市"
    for line in data["lines"]:
        if line["rule"] == "CZ-A2":
            line["segments"] = [{"ratio": 0.85}]
    policy = tmp_path / "newcity.yaml"
    policy.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    case, _ = without_expected(ROOT / "examples" / "cz-caps.json")
    case["jurisdiction"] = "newcity"
    done = medaid("settle", "-", "--json", "--policy-file", str(policy),
                  stdin=json.dumps(case))
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout)["visits"][0]
    assert first["assistance"] == 6800.00  # 85% × (10000 − 2000)
    case["jurisdiction"] = "changzhou"  # the file would go unused: an error, not Changzhou
    done = medaid("settle", "-", "--json", "--policy-file", str(policy),
                  stdin=json.dumps(case))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("error: jurisdiction: 案例为 changzhou，而 --policy-file 为 "
                                  "newcity")


def test_invalid_policy_file_is_reported_by_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("jurisdiction: x\nname: X\n", encoding="utf-8")
    done = medaid("policy", "validate", str(bad))
    assert done.returncode == 2
    assert done.stderr.startswith("error:") and "bad.yaml" in done.stderr
