"""The `indicators:` section of a policy file: the document's cost-control and service
targets (NJ-K, CZ-K, YC-K, NB-G), each with its threshold, rule id and article.

Its own module so that the policy schema only names it; `app.indicators` computes them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Measure = Literal[
    # NJ-K, CZ-K: Σ (inscp_scp_amt − hifp_pay − hifmi_pay − oth_pay − maf_pay) /
    # Σ inscp_scp_amt, per institution: policy-range self-pay after every tier over the
    # policy-range cost (政策范围内住院总费用); out-of-catalog costs count in neither
    "policy_range_self_pay_share",
    "out_of_catalog_share",  # Σ fulamt_ownpay_amt / Σ medfee_sumamt, per institution
    "in_city_visit_share",  # visits at institutions of the person's city / all visits
    "roster_push_days",  # working days from recognition (or exit) to the registry
    "subsidised_enrolment_rate",  # persons on the premium list / persons eligible
]
# Which visits count, by where the institution is: `city` its jurisdiction is the person's,
# `county` also its district (县域内), `any` every visit.
Scope = Literal["city", "county", "any"]


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    rule: str
    article: str
    label: str  # the document's words
    measure: Measure
    kinds: list[str] | Literal["*"] = "*"  # visit kinds (policy.schema.KINDS)
    scope: Scope = "any"
    min: Annotated[Decimal, Field(ge=0)] | None = None
    max: Annotated[Decimal, Field(ge=0)] | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _threshold(self) -> Indicator:
        from medaid.policy.schema import KINDS  # the schema imports this module

        if (self.min is None) == (self.max is None):
            raise ValueError("an indicator has a min or a max, exactly one")
        if self.kinds != "*":
            unknown = [k for k in self.kinds if k not in KINDS]
            if unknown:
                raise ValueError(f"unknown visit kinds {unknown}")
        if self.measure == "roster_push_days":
            if self.max is None or self.max != int(self.max):
                raise ValueError("roster_push_days needs a whole number of days as max")
        elif (self.max or self.min or Decimal(0)) > 1:
            raise ValueError("a share's threshold is between 0 and 1")
        return self

