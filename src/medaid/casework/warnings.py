"""双预警 rules without a database: a jurisdiction's resolved threshold and which kind of
warning a person-year's identities make it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from medaid.policy import monitoring as m
from medaid.policy.model import Policy


@dataclass(frozen=True, slots=True)
class Threshold:
    """A jurisdiction's monitoring for one year, resolved to fen."""

    policy: Policy
    spec: m.Monitoring
    income: int
    share_bp: int
    amount: int

    @property
    def source(self) -> str:
        return self.policy.cite(self.spec.article)


def kind_of(spec: m.Monitoring, policy: Policy, categories: Iterable[str]
            ) -> tuple[str, str | None] | None:
    """(kind, monitored category) of a person-year, or None: not monitored."""
    held = set(categories)
    if not held:
        return ("poverty", None) if spec.poverty else None
    watched = sorted((c for c in held if c in spec.relapse), key=policy.order.__getitem__)
    return ("relapse", watched[0]) if watched else None
