"""Shared by every suite: this folder is on the import path, so `databases` (the test
databases on SQLite and PostgreSQL) is importable from each suite's conftest.

`make test` runs in a few minutes: the long runs (tests marked `slow`: the reliability
runs in small) wait for MEDAID_TEST_FULL=1, which CI sets, and the property and fuzzing
tests draw a fifth of CI's examples (runs.py). At the end the run says which suites it
skipped and the one command that enables each.
"""

from __future__ import annotations

import os
import shutil

import pytest
from argon2 import PasswordHasher

from medaid.app import users
from runs import FULL

# The service hashes passwords with argon2id at its production cost: 0.18 s of CPU and
# 64 MiB for each hash or check. The tests sign in and fail to sign in hundreds of times
# (about 90 s of CPU in all) and test who may sign in, not what a hash costs, so they hash
# at argon2's least cost: still argon2id, still salted, still checked.
users._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
users._DUMMY = users._hasher.hash("an unknown user's password")

# What a skipped suite needs, and the command that provides it.
ENABLE = {
    "PostgreSQL": ("MEDAID_TEST_POSTGRES_URL",
                   "export MEDAID_TEST_POSTGRES_URL=$(bash .ci/postgres.sh)"),
    "Chromium": ("chromium", "apt-get install chromium fonts-noto-cjk"),
    "the long runs (slow), CI's example counts": ("MEDAID_TEST_FULL",
                                                  "MEDAID_TEST_FULL=1 make test"),
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a long run; only with MEDAID_TEST_FULL=1 (CI)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if FULL:
        return
    skip = pytest.mark.skip(reason="a long run: MEDAID_TEST_FULL=1 runs it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def _missing() -> list[str]:
    gone = []
    if not os.environ.get("MEDAID_TEST_POSTGRES_URL"):
        gone.append("PostgreSQL")
    if shutil.which("chromium") is None:
        gone.append("Chromium")
    if not FULL:
        gone.append("the long runs (slow), CI's example counts")
    return gone


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = len(terminalreporter.stats.get("skipped", []))
    gone = _missing()
    if not skipped or not gone or hasattr(terminalreporter.config, "workerinput"):
        return
    terminalreporter.section("suites skipped")
    terminalreporter.write_line(f"{skipped} tests skipped; to run them:")
    for what in gone:
        terminalreporter.write_line(f"  {what}: {ENABLE[what][1]}")
