"""How every command reports a user error: one `error:` line on stderr, exit status 2."""

from __future__ import annotations

import sys
from typing import NoReturn


def fail(message: str) -> NoReturn:
    """Inside a command or around the whole application alike (SystemExit passes through
    typer and click unchanged)."""
    sys.stderr.write(f"error: {message}\n")
    raise SystemExit(2)
