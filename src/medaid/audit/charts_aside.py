"""The audit report's charts drawn by a process of their own, forked when the command
starts: it imports matplotlib and the report (0.3–0.6 s) while the export is read and
settled, and draws while the workbook is written, on the other core.

Forked before the audit's own imports and threads, so that the process copies little and
nothing runs in it but the drawing (`report.charts`). Where a process cannot be forked the
charts are drawn in the command's process.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from medaid.audit.summary import Summary


def _charts(s: Summary) -> dict[str, str]:
    from medaid.audit.report import charts

    return charts(s)


def _aside(conn: Connection) -> None:
    """The charts' process: the report and matplotlib imported at once, then one summary
    drawn."""
    from medaid.audit import report  # noqa: F401

    with contextlib.suppress(ImportError):
        import medaid.batch.report.charts  # noqa: F401
    try:
        s = conn.recv()
    except (EOFError, OSError):  # the audit ended without a report
        return
    conn.send(_charts(s))


class ChartsAside:
    """Charts drawn aside: `draw(summary)` starts them, calling its answer gives them."""

    def __init__(self) -> None:
        self.proc: BaseProcess | None = None
        try:
            ctx = multiprocessing.get_context("fork")
            self.conn, theirs = ctx.Pipe()
            self.proc = ctx.Process(target=_aside, args=(theirs,), daemon=True)
            self.proc.start()
            theirs.close()
        except (ValueError, OSError):
            self.proc = None

    def draw(self, s: Summary) -> Callable[[], dict[str, str]]:
        """Start drawing `s`'s charts; call the answer for them."""
        if self.proc is None:
            return lambda: _charts(s)
        try:
            self.conn.send(s)
        except OSError:
            return lambda: _charts(s)

        def result() -> dict[str, str]:
            try:
                got: dict[str, str] = self.conn.recv()
            except (EOFError, OSError):  # the process died: draw them here
                return _charts(s)
            return got

        return result

    def close(self) -> None:
        if self.proc is not None:
            self.conn.close()
            self.proc.terminate()  # at once, whatever it was doing
            self.proc.join()
            self.proc = None
