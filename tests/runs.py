"""What a run includes. CI sets MEDAID_TEST_FULL=1: the long runs (tests marked `slow`)
and the example counts the tests name. `make test` leaves the long runs out and draws a
fifth of the examples, so a newcomer's run takes minutes; a suite's own variable (say
SCHEMATHESIS_EXAMPLES=100) sets its count for a longer hunt either way."""

from __future__ import annotations

import os

FULL = os.environ.get("MEDAID_TEST_FULL") == "1"
SHORT_RUN_SHARE = 5  # `make test` draws one example in five of CI's


def drawn(ci: float, variable: str | None = None) -> float:
    """`ci` in CI, a fifth of it in `make test`, or the value of `variable` when it is set."""
    if variable and os.environ.get(variable):
        return float(os.environ[variable])
    return ci if FULL else ci / SHORT_RUN_SHARE


def examples(ci: int, variable: str | None = None) -> int:
    """How many examples to draw (at least one): `drawn` as a whole number."""
    return max(1, round(drawn(ci, variable)))
