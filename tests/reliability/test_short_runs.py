"""The reliability runs of reliability/, short: each script run as `make reliability` runs
it, in a subprocess, with small numbers. The long runs are `make reliability`.

PostgreSQL runs when MEDAID_TEST_POSTGRES_URL is set (the soak and the cap race create a
database on that server; the crash run makes a private cluster with the same binaries, so
that it may crash it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # minutes of load, crashes and fuzzing: MEDAID_TEST_FULL=1

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = os.environ.get("MEDAID_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(
    not POSTGRES, reason="MEDAID_TEST_POSTGRES_URL is not set (.ci/postgres.sh prints one)")
BACKENDS = [pytest.param("sqlite", id="sqlite"),
            pytest.param("postgresql", id="postgresql", marks=needs_postgres)]


def _run(script: str, *args: str, timeout: float = 240) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(ROOT / "reliability" / script), *args,
                           "--json"], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("database", BACKENDS)
def test_soak(database: str) -> None:
    r = _run("soak.py", "--database", database, "--clients", "20", "--seconds", "10",
             "--persons", "20")
    assert set(r["statuses"]) == {"201"} and r["settlements"] > 0
    assert r["lost"] == r["duplicated"] == r["unknown"] == 0
    assert r["ledger_verify"].startswith(f"ok: {r['sent']} settlements")


@pytest.mark.parametrize("database", [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("private-postgresql", id="postgresql", marks=needs_postgres)])
def test_crash(database: str) -> None:
    # 300 settlements, the server SIGKILLed 3 times; PostgreSQL crashed and restarted once
    r = _run("crash.py", "--database", database, "--settlements", "300", "--kills", "3",
             "--persons", "20")
    assert r["kills"] == 3 and r["postgres_restarts"] == (database != "sqlite")
    assert r["acknowledged"] == 300 and not r["given_up"]
    assert r["lost"] == r["duplicated"] == r["unknown"] == 0
    assert r["acknowledged_with_another_setl_id"] == []
    assert r["ledger_verify"].startswith("ok: 300 settlements")


@pytest.mark.parametrize("database", BACKENDS)
def test_cap_race_across_four_processes(database: str) -> None:
    r = _run("cap_race.py", "--database", database, "--processes", "4",
             "--settlements", "100")
    (one,) = r["rounds"]
    # 500.00 cap − 434.00 already paid = 66.00 = 4 × 14.00 + 10.00, and never more
    assert one["statuses"] == {"201": 100, "200": 100}
    assert one["paid"] == "66.00" and one["cap_used"] == "500.00"
    assert r["rows"] == 101 and r["duplicated"] == 0 and r["ledger_verify_ok"]


def test_fuzz_roster_parser(tmp_path: Path) -> None:
    """A few thousand inputs of the atheris fuzzer: parsed, or refused with InputError."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "reliability" / "fuzz_roster.py"), "-atheris_runs=3000",
         "-seed=1", f"-artifact_prefix={tmp_path}/"],
        capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-6000:]
    assert "Done 3000 in" in done.stderr, done.stderr[-2000:]
