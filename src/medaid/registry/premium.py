"""Premium-subsidy lists (参保资助名单) per year: NJ-P, YC-P, NB-P, CZ-P (RULES.md §4).

From the policy's `premium_subsidy` section: each person gets the subsidy of the identity
(or, NB-P, the disability grade) that pays most, ties to the category first in the
policy's order; never two subsidies. A share is of the individual premium (local
parameter `individual_premium`, per year); a fixed amount (YC-P) is a local parameter and
never more than the premium itself. The premium is annual: a subsidy is never prorated.

When a subsidy starts is the section's `timing` (`subsidised_from`):
- `in_year`: an identity in force on any day of the year qualifies, from the later of
  1 January and its recognition date;
- `month_after_approval` (NB-P 三（一）): approved before the year → the whole year;
  approved in the year → from the first day of the next month, unless the person had
  already paid the year's premium by the approval date, who is subsidised from next year;
  an exit in the year leaves the year subsidised; an exit in an earlier year ends it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from medaid.core.dates import add_months, month_start
from medaid.core.errors import PolicyError
from medaid.core.money import BP, apply_ratio
from medaid.policy import schema as s
from medaid.policy.model import Policy, in_force, versions
from medaid.policy.params import Params
from medaid.registry.idcard import normalize
from medaid.registry.types import RegisteredIdentity

PREMIUM_PARAMETER = "individual_premium"


@dataclass(frozen=True, slots=True)
class Subsidy:
    certno: str
    name: str
    district: str | None
    category: str  # the identity whose timing and category (or the person's grade) apply
    label: str
    idet_type: str | None
    by_grade: bool  # subsidised for a disability grade (NB-P), not the category
    share_bp: int | None  # a share of the premium, in basis points, or …
    fixed: int | None  # … a fixed amount (fen), before capping at the premium
    premium: int  # the individual premium (fen)
    amount: int  # the subsidy (fen)
    subsidised_from: date


@dataclass(frozen=True, slots=True)
class NotSubsidised:
    certno: str
    name: str
    reason: str  # "中文 / English"


@dataclass(frozen=True, slots=True)
class SubsidyList:
    jurisdiction: str
    city: str
    version: str
    year: int
    rule: str
    source: str  # document and article
    premium: int  # fen
    subsidies: tuple[Subsidy, ...]
    not_subsidised: tuple[NotSubsidised, ...]

    @property
    def total(self) -> int:
        return sum(x.amount for x in self.subsidies)


def in_year(start: date, end: date | None, year: int) -> date | None:
    """`in_year` timing: the first subsidised day of `year`, None if not in force in it."""
    if start.year > year or (end is not None and end.year < year):
        return None
    return max(start, date(year, 1, 1))


def subsidised_from(approved: date, exited: date | None, year: int,
                    paid_on: date | None = None) -> date | None:
    """NB-P timing: the first subsidised day of `year`, or None when `year` is not subsidised.

    `paid_on`: when the person paid `year`'s individual premium themselves, if they did
    (often in the collection period of the year before).
    """
    if approved.year > year or (exited is not None and exited.year < year):
        return None
    if approved.year < year:
        return date(year, 1, 1)
    if paid_on is not None and paid_on <= approved:
        return None  # already insured this year: the subsidy starts next year
    begins = add_months(month_start(approved), 1)
    return begins if begins.year == year else None


def _why_not(paid_on: date | None, approved: date) -> str:
    """Why `subsidised_from` gave None for an identity in force in the year."""
    if paid_on is not None and paid_on <= approved:
        return "认定前已缴纳当年保费，次年起资助 / paid this year before approval: from next year"
    return "审批次月已是下一年，次年起资助 / approved in December: from next year"


@dataclass(frozen=True, slots=True)
class _Option:
    amount: int
    by_grade: bool
    order: int
    begins: date
    identity: RegisteredIdentity
    share_bp: int | None
    fixed: int | None

    def key(self) -> tuple[int, bool, int, date]:
        return (-self.amount, self.by_grade, self.order, self.begins)


Rate = tuple[int | None, int | None, int]  # (share in bp, fixed fen, subsidy fen)


class _Rates:
    """The year's subsidy per category, resolved when first needed: a parameter nobody
    in the list needs (YC's fixed amount for a category no one holds) is not required."""

    def __init__(self, policy: Policy, cfg: s.PremiumSubsidy, year: int,
                 local: Mapping[str, object]) -> None:
        self.params = Params(policy, local)
        self.cfg = cfg
        self.year = year
        self.premium = self.params.money(PREMIUM_PARAMETER, year, cfg.rule)
        self.grades = frozenset(cfg.disability_grades_full)
        self._cache: dict[str, Rate | None] = {}

    def of(self, category: str) -> Rate | None:
        if category not in self._cache:
            share = next((sh for sh in self.cfg.shares if category in sh.categories), None)
            self._cache[category] = None if share is None else self._rate(share)
        return self._cache[category]

    def _rate(self, share: s.PremiumShare) -> Rate:
        rule = self.cfg.rule
        if share.share is not None:
            bp = self.params.ratio_of(share.share, self.year, rule)
            return bp, None, apply_ratio(self.premium, bp)
        if share.amount is not None:
            fixed = self.params.amount(share.amount, self.year, rule)
            return None, fixed, min(fixed, self.premium)
        raise PolicyError(f"{self.params.policy.path}: {rule}: a share needs a share or an amount")


def policy_for(jurisdiction: str, year: int) -> Policy:
    """The version that governs a year's subsidies: the latest in force by 31 December."""
    found = in_force(versions(jurisdiction), date(year, 12, 31))
    if found is None:
        raise PolicyError(f"{jurisdiction}: no policy in force in {year}")
    return found


def subsidy_list(policy: Policy, year: int, identities: Iterable[RegisteredIdentity], *,
                 local: Mapping[str, object] | None = None,
                 paid: Mapping[str, date] | None = None) -> SubsidyList:
    """The year's premium-subsidy list of a jurisdiction's registry.

    `local` overrides local parameters (e.g. YC's fixed amounts, a city's own premium);
    `paid` maps an ID number to the date its holder paid this year's premium (whenever
    paid), for timing rules that depend on it. A parameter needed and not set raises
    MissingParameter.
    """
    cfg = policy.spec.premium_subsidy
    if cfg is None:
        raise PolicyError(f"{policy.jurisdiction}: the policy has no premium subsidy")
    rates = _Rates(policy, cfg, year, local or {})
    paid = {normalize(k): v for k, v in (paid or {}).items()}
    persons: dict[str, list[RegisteredIdentity]] = {}
    for i in identities:
        persons.setdefault(normalize(i.certno), []).append(i)

    subsidies: list[Subsidy] = []
    refused: list[NotSubsidised] = []
    for certno, held in sorted(persons.items()):
        latest = max(held, key=lambda i: i.start)
        grade = next((i.disability_grade for i in held if i.disability_grade is not None), None)
        options: list[_Option] = []
        reasons: list[str] = []
        for i in held:
            if in_year(i.start, i.end, year) is None:
                continue  # outside the year altogether: not this year's business
            begins = (subsidised_from(i.start, i.end, year, paid.get(certno))
                      if cfg.timing == "month_after_approval" else in_year(i.start, i.end, year))
            if begins is None:
                reasons.append(_why_not(paid.get(certno), i.start))
                continue
            order = policy.order.get(i.category, len(policy.order))
            rate = rates.of(i.category)
            if rate is not None and rate[2] > 0:
                options.append(_Option(rate[2], False, order, begins, i, rate[0], rate[1]))
            if grade in rates.grades:
                options.append(_Option(rates.premium, True, order, begins, i, BP, None))
            if rate is None and grade not in rates.grades:
                reasons.append(f"{policy.label(i.category)}不在资助范围 / "
                               f"{i.category} is not subsidised ({cfg.rule})")
        if options:
            best = min(options, key=_Option.key)
            c = best.identity.category
            idet = next((x.idet_type for x in policy.spec.categories if x.id == c), None)
            subsidies.append(Subsidy(certno, latest.name, latest.district, c, policy.label(c),
                                     idet, best.by_grade, best.share_bp, best.fixed,
                                     rates.premium, best.amount, best.begins))
        elif reasons:
            refused.append(NotSubsidised(certno, latest.name, "；".join(dict.fromkeys(reasons))))
    subsidies.sort(key=lambda x: (x.district or "", x.certno))
    return SubsidyList(policy.jurisdiction, policy.spec.name, policy.spec.version, year,
                       cfg.rule, policy.cite(cfg.article, cfg.document), rates.premium,
                       tuple(subsidies),
                       tuple(refused))
