"""Whether a charity programme matches a person-year: the rule alone, without a database
(casework.charity; the register, matching and referrals over the API are in
tests/service/test_api_charity.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import pytest

from medaid.casework.charity import NO_IDENTITY, Seeker, why_not


@dataclass(frozen=True)
class Programme:
    active_from: date = date(2023, 1, 1)
    active_to: date | None = None
    jurisdictions: tuple[str, ...] = ("nanjing",)
    categories: tuple[str, ...] = ("dibao", NO_IDENTITY)
    min_age: int | None = None
    max_age: int | None = 17
    min_burden: int = 1_000_000  # fen
    annual_slots: int | None = 2


CHILD = Seeker("nanjing", 2023, 9, ("dibao",), 1_200_000, warned=False)
TODAY = date(2023, 6, 1)


def test_a_programme_matches_a_person_year_that_meets_every_criterion() -> None:
    assert why_not(Programme(), CHILD, TODAY, 1, None) is None


@pytest.mark.parametrize(("programme", "seeker", "slots", "referred", "reason"), [
    (Programme(), CHILD, 0, "declined", "2023 年已转介此项目（已拒绝）"),
    (Programme(active_to=date(2023, 5, 31)), CHILD, 0, None, "不在有效期内"),
    (Programme(jurisdictions=("ningbo",)), CHILD, 0, None, "项目不面向南京市"),
    (Programme(categories=("tekun",)), CHILD, 0, None, "项目面向特困人员，此人为最低生活保障对象"),
    (Programme(), replace(CHILD, categories=()), 0, None, None),  # none: 无救助身份 is listed
    (Programme(), replace(CHILD, age=18), 0, None, "年龄 18 岁不在 0–17 岁之间"),
    (Programme(), replace(CHILD, after_assistance=999_999), 0, None, "救助后个人负担 9999.99 元"),
    (Programme(), replace(CHILD, after_assistance=0, warned=True), 0, None, None),
    (Programme(), CHILD, 2, None, "2023 年的 2 个名额已满"),
])
def test_why_a_programme_does_not_match(programme: Programme, seeker: Seeker, slots: int,
                                        referred: str | None, reason: str | None) -> None:
    found = why_not(programme, seeker, TODAY, slots, referred)
    if reason is None:
        assert found is None
    else:
        assert found is not None and reason in found
