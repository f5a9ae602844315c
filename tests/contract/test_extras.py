"""A settlement server runs without the optional extras (pyproject: postgres, simulate,
cluster, reports), and a command that needs a missing one names the extra to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from medaid.core.extras import EXTRA_OF

ROOT = Path(__file__).resolve().parents[2]

# Runs `body` with every module of an extra made impossible to import.
WITHOUT_EXTRAS = f"""
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {sorted(EXTRA_OF)!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Absent())
"""


def _run(body: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_EXTRAS + body], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_the_server_settles_without_any_extra(tmp_path: Path) -> None:
    body = f"""
from fastapi.testclient import TestClient
from medaid.api.app import create_app
from medaid.app import auth
from medaid.app.uow import UnitOfWork
app = create_app("sqlite:///{tmp_path / 'm.sqlite'}")
with UnitOfWork(app.state.sessions) as uow:
    token = auth.issue(uow, "admin"); uow.commit()
with TestClient(app) as c:
    r = c.get("/api/v1/health")
    assert r.status_code == 200, r.text
print("ok")
"""
    done = _run(body, tmp_path)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]


def test_a_command_needing_an_extra_names_it(tmp_path: Path) -> None:
    body = """
import sys
from medaid.cli.main import main
sys.argv = ["medaid", "synth", "--jurisdiction", "nanjing", "--persons", "5",
            "--year", "2023", "--out", "x.parquet"]
main()
"""
    done = _run(body, tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "medaid[simulate]" in done.stderr and "Traceback" not in done.stderr
