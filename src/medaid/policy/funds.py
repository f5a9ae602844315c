"""The `funds:` section of a policy file: how the document keeps and pays the assistance fund
(专户, 分账核算; Nanjing's NJ-F numbers).

Its own module so that the policy schema only names it; shares are decimals (0.25) made
exact (basis points) where they are used (`app.funds`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Share = Annotated[Decimal, Field(ge=0, le=1)]
QUARTERS = 4


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MonthDay(_Strict):
    """A day of the year (a deadline in the year after the fund year, or in it)."""

    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)

    @model_validator(mode="after")
    def _real(self) -> MonthDay:
        date(2001, self.month, self.day)  # raises for 31 April; 29 February is refused
        return self

    def of(self, year: int) -> date:
        return date(year, self.month, self.day)


class Allocation(_Strict):
    """Pre-allocation (预拨) of each district's annual budget into the special account."""

    share: Share  # of the annual budget, per quarter
    per: Literal["quarter"]
    due_day: int = Field(ge=1, le=28)  # by this day of each quarter's first month

    @model_validator(mode="after")
    def _whole(self) -> Allocation:
        if self.share * QUARTERS != 1:
            raise ValueError(f"{QUARTERS} quarterly shares must make the whole budget")
        return self


class Payment(_Strict):
    """Payments to institutions: the month's assistance less an assessment reserve."""

    every: Literal["month"] = "month"
    reserve_share: Share = Decimal(0)  # 考核预留款


class Clearing(_Strict):
    """The annual clearing (清算) of a fund year, in the following year."""

    due: MonthDay | None = None  # clearing deadline in the following year
    surplus: Literal["carry_forward"]  # 结余结转下年
    deficit_due: MonthDay | None = None  # the district makes a deficit up by (following year)
    reserve_release: Literal["by_assessment"] = "by_assessment"


class Funds(_Strict):
    rule: str
    article: str
    account: str  # what the document says about the account, in its words
    fund: Literal["district"] = "district"  # 分账: one fund per district
    allocation: Allocation | None = None  # None: the document sets no schedule
    payment: Payment = Payment()
    clearing: Clearing
    note: str | None = None
