"""A deployment's own policy files (MEDAID_POLICY_DIR) are known beside the shipped ones:
the service, `medaid settle` and every command settle a city that ships with no medaid."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from medaid.core.errors import PolicyError
from medaid.policy import model

CITY = Path(__file__).resolve().parents[1] / "service" / "cities" / "mucheng-2026.yaml"


@pytest.fixture
def policy_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(model.POLICY_DIR_ENV, str(tmp_path))
    model.shipped.cache_clear()
    yield tmp_path
    monkeypatch.delenv(model.POLICY_DIR_ENV)
    model.shipped.cache_clear()


def test_a_citys_own_file_is_a_jurisdiction_like_the_shipped(policy_dir: Path) -> None:
    shutil.copy(CITY, policy_dir / CITY.name)
    (policy_dir / "mucheng-2027.yaml").write_text(
        "amends: mucheng-2026\nversion: '2027'\nin_force: 2027-01-01\n", encoding="utf-8")
    assert "mucheng" in model.jurisdictions() and "nanjing" in model.jurisdictions()
    assert [p.spec.version for p in model.versions("mucheng")] == ["2026", "2027"]


def test_a_local_file_may_not_repeat_a_version_medaid_has(policy_dir: Path) -> None:
    (policy_dir / "nj.yaml").write_text("amends: nanjing-2023\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"nanjing 2023 已由 policies/nanjing-2023\.yaml 定义"):
        model.shipped()


def test_a_folder_that_is_not_there_is_named(policy_dir: Path) -> None:
    shutil.rmtree(policy_dir)
    with pytest.raises(PolicyError, match="不是目录"):
        model.shipped()


def test_a_citys_own_file_generates_a_population_and_simulates(policy_dir: Path) -> None:
    """`medaid synth` and `simulate` take a deployment's city as they take a shipped one;
    the engine check settles it again to the fen."""
    from typer.testing import CliRunner

    from medaid.cli.main import app

    shutil.copy(CITY, policy_dir / CITY.name)
    out = policy_dir / "pop" / "mucheng.parquet"
    out.parent.mkdir()
    runner = CliRunner()
    made = runner.invoke(app, ["synth", "--jurisdiction", "mucheng", "--persons", "60",
                               "--year", "2026", "--out", str(out), "--seed", "3",
                               "--workers", "1"])
    assert made.exit_code == 0, made.output
    done = runner.invoke(app, ["simulate", str(out), "--policy", "mucheng"])
    assert done.exit_code == 0 and "equal to the fen" in done.output, done.output
    unknown = runner.invoke(app, ["synth", "--jurisdiction", "nowhere", "--persons", "1",
                                  "--year", "2026", "--out", str(out)])
    assert unknown.exit_code == 2 and "没有统筹区「nowhere」的政策，可选：" in unknown.output
    assert "mucheng" in unknown.output  # the deployment's city is offered beside the shipped


def test_a_citys_own_file_writes_a_platform_export(policy_dir: Path) -> None:
    """`synth --platform-export` takes a deployment's city too: the export and its roster are
    written, and an unknown city is told in Chinese which ones there are."""
    from typer.testing import CliRunner

    from medaid.cli.main import app

    shutil.copy(CITY, policy_dir / CITY.name)
    out = policy_dir / "export" / "mucheng.csv"
    out.parent.mkdir()
    runner = CliRunner()
    made = runner.invoke(app, ["synth", "--platform-export", "--jurisdiction", "mucheng",
                               "--persons", "40", "--year", "2026", "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert out.stat().st_size > 0 and len(out.read_text().splitlines()) > 1
    unknown = runner.invoke(app, ["synth", "--platform-export", "--jurisdiction", "nowhere",
                                  "--persons", "1", "--year", "2026", "--out", str(out)])
    assert unknown.exit_code == 2 and "没有统筹区「nowhere」的政策" in unknown.output
