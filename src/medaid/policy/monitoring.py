"""双预警 (因病致贫 and 因病返贫 early warning) as policy data, and its arithmetic.

A policy file's `monitoring:` section says which burden a jurisdiction's monitoring article
measures, whether persons without an identity are watched (因病致贫) and which categories
are (因病返贫); the threshold is a share of the previous year's per-capita income, both
local parameters of the file. The functions below are the whole arithmetic, in fen.

Burdens of a person-year, from the settlement ledger net of cancellations:

* after insurance (经基本医保、大病保险等支付后) = Σ psn_part_amt + Σ maf_pay: what the person
  would have paid without medical assistance;
* after assistance (经…医疗救助等支付后) = Σ psn_part_amt: what the person still pays.

A burden crosses the threshold when it is at least the threshold (达到: ≥).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from medaid.core.money import apply_ratio

if TYPE_CHECKING:
    from medaid.policy.schema import PolicyFile

Measure = Literal["after_insurance", "after_assistance"]
MEASURES: tuple[Measure, ...] = ("after_insurance", "after_assistance")
KINDS = ("poverty", "relapse")  # 因病致贫, 因病返贫
KIND_LABELS = {"poverty": "因病致贫", "relapse": "因病返贫"}
MEASURE_LABELS = {"after_insurance": "经基本医保、大病保险支付后个人负担",
                  "after_assistance": "经三重制度支付后个人负担"}


class Monitoring(BaseModel):
    """A jurisdiction's monitoring article (RULES.md §5) as the warning job reads it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    article: str
    measure: Measure
    poverty: bool = True  # 因病致贫: persons with no identity in force in the year
    relapse: list[str] = []  # 因病返贫: the categories monitored
    threshold_share: str = "warning_threshold_share"  # a ratio parameter of the file
    income: str = "income_per_capita_prev_year"  # a money parameter of the file
    note: str | None = Field(default=None, description="how the article was read")


def burden(measure: Measure, psn_part_amt: int, maf_pay: int) -> int:
    """The year's burden in fen under `measure`, from the ledger's net sums."""
    return psn_part_amt + maf_pay if measure == "after_insurance" else psn_part_amt


def threshold(income: int, share_bp: int) -> int:
    """share × income, half-up to the fen (income in fen, share in basis points)."""
    return apply_ratio(income, share_bp)


def crosses(amount: int, limit: int) -> bool:
    """达到或超过: the threshold itself crosses; one fen below does not."""
    return limit > 0 and amount >= limit


def level(amount: int, limit: int) -> int:
    """How many whole thresholds the burden reaches (0: not crossed). A dismissed warning
    is raised again only when a later run finds a higher level."""
    return amount // limit if limit > 0 and amount > 0 else 0


def problems(spec: PolicyFile) -> list[str]:
    """What the schema alone cannot see: unknown categories, undeclared parameters."""
    m = spec.monitoring
    if m is None:
        return []
    known = {c.id for c in spec.categories}
    found = [f"monitoring.relapse: unknown category {c!r}" for c in m.relapse if c not in known]
    for field, name, kind in (("threshold_share", m.threshold_share, "ratio"),
                              ("income", m.income, "money")):
        declared = spec.parameters.get(name)
        if declared is None or declared.type != kind:
            found.append(f"monitoring.{field}: {name!r} is not a declared {kind} parameter")
    return found
