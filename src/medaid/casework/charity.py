"""Whether a charity programme (社会力量参与: NJ（十四）, YC 第十三条, CZ（十）, JS 五（五）,
NB 五（四）) matches a person-year, and why not: a rule over the programme's terms and the
person-year as matching sees it, with no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from medaid.core import labels
from medaid.core.money import to_yuan
from medaid.policy import model

NO_IDENTITY = "none"  # a programme for persons with no identity in force (因病致贫)


class Terms(Protocol):
    """A programme's criteria (the register's row has them)."""

    @property
    def active_from(self) -> date: ...
    @property
    def active_to(self) -> date | None: ...
    @property
    def jurisdictions(self) -> Sequence[str]: ...
    @property
    def categories(self) -> Sequence[str]: ...
    @property
    def min_age(self) -> int | None: ...
    @property
    def max_age(self) -> int | None: ...
    @property
    def min_burden(self) -> int: ...
    @property
    def annual_slots(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Seeker:
    """A person-year as matching sees it."""

    jurisdiction: str
    year: int
    age: int  # on the reference day
    categories: tuple[str, ...]  # in force on the reference day
    after_assistance: int  # fen: what the person bore after the three tiers
    warned: bool  # the year has a warning that is not dismissed


def why_not(p: Terms, c: Seeker, today: date, slots_used: int,
            referred: str | None) -> str | None:
    """Why the programme does not match the person-year; None: it matches. `referred`: the
    status of the person-year's referral to it, if there is one (a person-year is
    referred to a programme once)."""
    if referred is not None:
        return (f"{c.year} 年已转介此项目（{labels.label(labels.REFERRAL_STATES, referred)}） / "
                f"already referred to it for {c.year} ({referred})")
    if p.active_from > today or (p.active_to is not None and p.active_to < today):
        return f"项目在 {today} 不在有效期内 / not active on {today}"
    if p.jurisdictions and c.jurisdiction not in p.jurisdictions:
        return f"项目不面向{_place(c.jurisdiction)} / not for {c.jurisdiction}"
    if p.categories:
        held = set(c.categories) or {NO_IDENTITY}
        if not held & set(p.categories):
            return (f"项目面向{_categories(c.jurisdiction, p.categories)}，此人为"
                    f"{_categories(c.jurisdiction, sorted(held))} / "
                    f"for {', '.join(p.categories)}, not {', '.join(sorted(held))}")
    if (p.min_age is not None and c.age < p.min_age) or (p.max_age is not None
                                                         and c.age > p.max_age):
        ages = f"{p.min_age or 0}–{p.max_age if p.max_age is not None else ''}"
        return f"年龄 {c.age} 岁不在 {ages} 岁之间 / age {c.age} outside {ages}"
    if not c.warned and c.after_assistance < p.min_burden:
        return (f"救助后个人负担 {to_yuan(c.after_assistance)} 元低于项目的 "
                f"{to_yuan(p.min_burden)} 元，且无预警 / burden after assistance "
                f"{to_yuan(c.after_assistance)} below the programme's {to_yuan(p.min_burden)}, "
                f"and no warning")
    if p.annual_slots is not None and slots_used >= p.annual_slots:
        return (f"{c.year} 年的 {p.annual_slots} 个名额已满 / "
                f"its {p.annual_slots} places for {c.year} are taken")
    return None


def _place(jurisdiction: str) -> str:
    found = model.versions(jurisdiction)
    return found[-1].spec.name if found else jurisdiction


def _categories(jurisdiction: str, ids: Sequence[str]) -> str:
    """Category ids by their labels in the person's policy (none: 无救助身份)."""
    found = model.versions(jurisdiction)
    return "、".join("无救助身份" if c == NO_IDENTITY else
                    found[-1].label(c) if found else c for c in ids)
