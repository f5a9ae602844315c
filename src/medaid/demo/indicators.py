"""The demo year's indicators (`medaid demo`)."""

from __future__ import annotations

from typing import Any

from medaid.app import auth
from medaid.app.indicators import compute, report_json
from medaid.app.uow import UnitOfWork
from medaid.policy import model


def demo(uow: UnitOfWork, year: int) -> dict[str, Any]:
    """The indicators of every jurisdiction for `year`, as the JSON the API answers."""
    return {j: report_json(compute(uow, auth.CLI, j, year)) for j in model.jurisdictions()}
