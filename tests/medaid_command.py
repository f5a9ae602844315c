"""`medaid …` run in the test's own process (click's runner): its exit status, stdout and
stderr as the finished command gives them, without a new interpreter importing medaid
for each run (0.6 s of CPU). What only the real process shows (reading stdin and files,
the exit status the shell sees) is tested through it in tests/contract."""

from __future__ import annotations

import subprocess

from typer.testing import CliRunner

from medaid.cli.main import app


def medaid(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    done = CliRunner().invoke(app, list(args), input=stdin)
    if done.exception is not None and not isinstance(done.exception, SystemExit):
        raise done.exception  # a traceback, where a command must print one error line
    return subprocess.CompletedProcess(["medaid", *args], done.exit_code, done.stdout,
                                       done.stderr)
