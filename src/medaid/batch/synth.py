"""Synthetic persons and years for tests, benchmarks and simulation (deterministic, stdlib).

Everything is drawn from a `random.Random` the caller seeds, so one seed is one
person-year on every platform. Shapes follow what a settlement platform sees, not any
real person:

* identities from the policy's own categories (`model.versions(j)[-1]`), sometimes two,
  in force all year, starting or ending in the year, or both; Ningbo `yinbing` with
  application dates; a Yichun tilted-assistance application some of the time; each
  status the policy declares (`statuses:`) held by about a third of persons, with dates;
* visits mostly `general_outpatient`, then `inpatient` and `special_outpatient`, a few of
  every other kind; costs lognormal (heavy-tailed for stays and drugs), out-of-catalog
  and pre-self-pay shares, `hifp_pay`/`hifmi_pay`/`oth_pay` as plausible shares of the
  policy-range amount (their sum never exceeds it); Changzhou's provincial rare-disease
  fund as `oth_pay` on `rare_disease_drug` visits; Ningbo `rare_disease` and
  `heroic_injury` flags; locations and referrals;
* the `local` parameters the jurisdiction needs and does not fix for the year (Yichun's
  and Nanjing's income; Jiangsu's cap, ratios and deductibles, key > low income > other).

Amounts are integer fen (the engine's `Visit`); `case_dict` writes the CASE.md input.
Visits come sorted by end date, all on or after the policy's in-force date, in one year.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from medaid.core.money import to_yuan
from medaid.engine.types import Held, Identity, Person, Visit
from medaid.policy import model
from medaid.policy.model import Policy

JURISDICTIONS = ("nanjing", "jiangsu", "yichun", "ningbo", "changzhou", "beijing", "suqian",
                 "zichuan")
LAST_YEAR = 2025  # latest year drawn when the caller gives none

# kind: (weight, median cost in yuan, lognormal sigma, share of inscp paid by hifp (lo, hi))
KINDS: dict[str, tuple[float, float, float, tuple[float, float]]] = {
    "general_outpatient": (0.60, 150.0, 0.9, (0.0, 0.6)),
    "inpatient": (0.15, 12_000.0, 1.1, (0.45, 0.85)),
    "special_outpatient": (0.12, 1_500.0, 1.0, (0.5, 0.8)),
    "dual_channel_drug": (0.04, 5_000.0, 0.9, (0.5, 0.7)),
    "rehabilitation": (0.04, 800.0, 0.8, (0.3, 0.6)),
    "rare_disease_drug": (0.03, 20_000.0, 1.0, (0.3, 0.6)),
    "childbirth": (0.02, 6_000.0, 0.4, (0.5, 0.8)),
}
STAYS = frozenset({"inpatient", "childbirth"})
MAX_COST_FEN = 500_000_000  # 5 million yuan: the lognormal tail, clipped


@dataclass(frozen=True, slots=True)
class PersonYear:
    """One person's year: what `settle_year(versions, local, person, visits)` takes."""

    jurisdiction: str
    year: int
    person: Person
    visits: list[Visit]
    local: dict[str, object]


def policy_of(jurisdiction: str) -> Policy:
    return model.versions(jurisdiction)[-1]


def pick_year(rng: random.Random, jurisdiction: str) -> int:
    return rng.randint(max(policy_of(jurisdiction).in_force.year, 2019), LAST_YEAR)


def _first_day(policy: Policy, year: int) -> date:
    return max(date(year, 1, 1), policy.in_force)


def _day(rng: random.Random, lo: date, hi: date) -> date:
    return lo + timedelta(days=rng.randint(0, max(0, (hi - lo).days)))


def _identity(rng: random.Random, policy: Policy, year: int, category: str,
              whole_year: bool) -> Identity:
    """A window: all year (55%), starting in the year, ending in it, or both."""
    first, last = _first_day(policy, year), date(year, 12, 31)
    before = date(year, 1, 1) - timedelta(days=rng.randint(1, 3000))
    r = 1.0 if whole_year else rng.random()
    if r >= 0.45:
        start, end = before, None
    elif r >= 0.25:
        start, end = _day(rng, first, last), None
    elif r >= 0.10:
        start, end = before, _day(rng, first, last)
    else:
        start = _day(rng, first, last)
        end = _day(rng, start, last)
    application = None
    if category == "yinbing" and rng.random() < 0.7:  # NB-A3: applied before recognition
        application = start - timedelta(days=rng.randint(0, 60))
    return Identity(category, start, end, application)


def generate_person(rng: random.Random, jurisdiction: str, year: int, pid: str | None = None,
                    category: str | None = None, whole_year: bool = False) -> Person:
    """A person with one identity (sometimes two) of `jurisdiction`'s categories.

    `category` fixes the only identity and `whole_year` keeps it in force all year with no
    tilted application and no disability grade: a single-line person for exact checks.
    """
    policy = policy_of(jurisdiction)
    cats = list(policy.categories)
    idents: tuple[Identity, ...]
    if category is not None:
        idents = (_identity(rng, policy, year, category, whole_year),)
    else:
        first = rng.choice(cats)
        idents = (_identity(rng, policy, year, first, whole_year),)
        if rng.random() < 0.25:
            second = rng.choice([c for c in cats if c != first])
            idents += (_identity(rng, policy, year, second, whole_year),)
    simple = category is not None and whole_year
    tilted_application = None
    if policy.spec.tilted is not None and policy.spec.tilted.requires_application \
            and not simple and rng.random() < 0.35:
        tilted_application = _day(rng, _first_day(policy, year), date(year, 12, 31))
    grade = rng.randint(1, 4) if not simple and rng.random() < 0.12 else None
    if pid is None:
        pid = f"{jurisdiction[:2].upper()}-{rng.randrange(10**8):08d}"
    held = () if simple else _statuses(rng, policy, year)
    return Person(pid, idents, grade, tilted_application, held)


def _statuses(rng: random.Random, policy: Policy, year: int) -> tuple[Held, ...]:
    """Each status the policy declares, held by about a third of persons: from before the
    year or a day in it, until a day in it or open (a policy without statuses draws
    nothing, so its persons are those of earlier seeds)."""
    found = []
    first, last = _first_day(policy, year), date(year, 12, 31)
    for status in policy.spec.statuses:
        if rng.random() >= 0.3:
            continue
        start = _day(rng, first, last) if rng.random() < 0.5 else None
        end = _day(rng, start or first, last) if rng.random() < 0.3 else None
        found.append(Held(status.id, start, end))
    return tuple(found)


def _share(rng: random.Random, amount: int, lo: float, hi: float) -> int:
    return int(amount * rng.uniform(lo, hi))


def _visit(rng: random.Random, policy: Policy, person: Person, year: int, kind: str,
           plain: bool) -> Visit:
    _, median, sigma, (hifp_lo, hifp_hi) = KINDS[kind]
    first, last = _first_day(policy, year), date(year, 12, 31)
    end = _day(rng, first, last)
    start = end
    if kind in STAYS:
        stay = min(90, int(rng.lognormvariate(math.log(6), 0.6)))
        start = max(first, end - timedelta(days=stay))
    total = min(MAX_COST_FEN, max(100, int(rng.lognormvariate(math.log(median), sigma) * 100)))
    ownpay = _share(rng, total, 0.0, 0.15) if rng.random() < 0.6 else 0
    overlmt = _share(rng, total, 0.0, 0.03) if rng.random() < 0.2 else 0
    preself = _share(rng, total, 0.0, 0.08) if rng.random() < 0.5 else 0
    inscp = total - ownpay - overlmt - preself
    hifp = _share(rng, inscp, hifp_lo, hifp_hi)
    hifmi = 0
    if kind != "general_outpatient" and kind != "rehabilitation" and rng.random() < 0.35:
        hifmi = _share(rng, inscp - hifp, 0.0, 0.6)
    oth = 0
    if kind == "rare_disease_drug" and policy.jurisdiction == "changzhou":
        oth = _share(rng, inscp - hifp - hifmi, 0.3, 0.7)  # 省医保罕见病用药保障资金
    elif rng.random() < 0.02:
        oth = _share(rng, inscp - hifp - hifmi, 0.0, 0.2)
    location, referral = "city", "ok"
    heroic = rare = False
    if not plain:
        r = rng.random()
        location = "city" if r < 0.85 else "province" if r < 0.95 else "out_of_province"
        r = rng.random()
        if location == "city":
            referral = "ok" if r < 0.97 else "unreferred"
        else:
            referral = "ok" if r < 0.7 else "unreferred" if r < 0.85 else "unreferred_hardship"
        if policy.jurisdiction == "ningbo":
            rare = kind != "general_outpatient" and rng.random() < 0.04
            heroic_person = any(i.category == "jianyiyongwei" for i in person.identities)
            heroic = rng.random() < (0.5 if heroic_person else 0.005)
    return Visit(
        id="", kind=kind, start=start, end=end, medfee_sumamt=total,
        fulamt_ownpay_amt=ownpay, overlmt_selfpay=overlmt, preselfpay_amt=preself,
        hifp_pay=hifp, hifmi_pay=hifmi, oth_pay=oth, location=location, referral=referral,
        hospital_level=rng.randint(1, 3), heroic_injury=heroic, rare_disease=rare)


def generate_year(rng: random.Random, jurisdiction: str, year: int, n_visits: int,
                  person: Person | None = None, kind: str | None = None,
                  plain: bool = False) -> list[Visit]:
    """`n_visits` visits of `person` in `year`, sorted by end date, ids V001….

    `kind` fixes every visit's kind; `plain` gives every visit location `city`, referral
    `ok` and no flags (with `kind`: one rule line for a whole-year single identity).
    """
    policy = policy_of(jurisdiction)
    person = person or Person("-")
    kinds = list(KINDS)
    weights = [KINDS[k][0] for k in kinds]
    drawn: list[Visit] = []
    births = 0
    for _ in range(n_visits):
        k = kind or rng.choices(kinds, weights)[0]
        if k == "childbirth" and kind is None:
            births += 1
            k = "inpatient" if births > 1 else k  # one birth a year at most
        drawn.append(_visit(rng, policy, person, year, k, plain))
    drawn.sort(key=lambda v: (v.end, v.start))
    width = max(3, len(str(len(drawn))))
    return [_with_id(v, f"V{i + 1:0{width}d}") for i, v in enumerate(drawn)]


def _with_id(v: Visit, vid: str) -> Visit:
    return Visit(vid, v.kind, v.start, v.end, v.medfee_sumamt, v.fulamt_ownpay_amt,
                 v.overlmt_selfpay, v.preselfpay_amt, v.hifp_pay, v.hifmi_pay, v.oth_pay,
                 v.location, v.referral, v.hospital_level, v.heroic_injury, v.rare_disease)


def _ratio(lo: int, hi: int, rng: random.Random) -> Decimal:
    """A ratio with two decimals, lo..hi per cent."""
    return Decimal(rng.randint(lo, hi)) / 100


def generate_local(rng: random.Random, jurisdiction: str, year: int) -> dict[str, object]:
    """The local parameters (yuan, ratios as Decimal) the policy needs and does not fix."""
    params = policy_of(jurisdiction).spec.parameters
    local: dict[str, object] = {}

    def unset(name: str) -> bool:
        p = params.get(name)
        return p is not None and p.default is None and all(v.year != year for v in p.values)

    if unset("income_per_capita_prev_year"):
        local["income_per_capita_prev_year"] = rng.randrange(28_000, 80_000)
    if "basic_cap" in params:  # the Jiangsu framework: the city fills in its numbers
        local["basic_cap"] = rng.choice((200_000, 300_000, 400_000, 500_000))
        key = Decimal("0.70")
        if rng.random() < 0.4:
            key = local["key_ratio"] = _ratio(70, 90, rng)
        low = key - _ratio(5, 20, rng)
        local["low_income_ratio"] = low
        local["low_income_deductible"] = rng.randrange(0, 3_001, 100)
        local["other_ratio"] = low - _ratio(5, 20, rng)
        local["other_deductible"] = rng.randrange(500, 6_001, 100)
    return local


def generate(rng: random.Random, jurisdiction: str, year: int | None = None,
             n_visits: int | None = None, pid: str | None = None) -> PersonYear:
    """A mixed person-year; `n_visits` defaults to 1–30."""
    year = year if year is not None else pick_year(rng, jurisdiction)
    n = n_visits if n_visits is not None else rng.randint(1, 30)
    person = generate_person(rng, jurisdiction, year, pid)
    visits = generate_year(rng, jurisdiction, year, n, person)
    return PersonYear(jurisdiction, year, person, visits, generate_local(rng, jurisdiction, year))


def from_seed(seed: int, jurisdiction: str) -> PersonYear:
    """The person-year of one seed (what property tests shrink and report)."""
    return generate(random.Random(seed), jurisdiction)


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else to_yuan(fen)


def case_dict(py: PersonYear) -> dict[str, Any]:
    """The CASE.md input of a person-year (amounts as Decimal yuan; `case.dumps` writes it)."""
    p = py.person
    return {
        "jurisdiction": py.jurisdiction,
        "local": dict(py.local),
        "person": {
            "id": p.id,
            "identities": [
                {"category": i.category, "from": i.start.isoformat(),
                 "to": i.end and i.end.isoformat(),
                 "application": i.application and i.application.isoformat()}
                for i in p.identities],
            "disability_grade": p.disability_grade,
            "tilted_application": p.tilted_application and p.tilted_application.isoformat(),
            **({"statuses": [{"status": h.status, "from": h.start and h.start.isoformat(),
                              "to": h.end and h.end.isoformat()} for h in p.statuses]}
               if p.statuses else {}),
        },
        "visits": [
            {"id": v.id, "kind": v.kind, "start": v.start.isoformat(),
             "end": v.end.isoformat(), "location": v.location, "referral": v.referral,
             "hospital_level": v.hospital_level,
             "medfee_sumamt": _yuan(v.medfee_sumamt),
             "fulamt_ownpay_amt": _yuan(v.fulamt_ownpay_amt),
             "overlmt_selfpay": _yuan(v.overlmt_selfpay),
             "preselfpay_amt": _yuan(v.preselfpay_amt),
             "hifp_pay": _yuan(v.hifp_pay), "hifmi_pay": _yuan(v.hifmi_pay),
             "oth_pay": _yuan(v.oth_pay),
             "heroic_injury": v.heroic_injury, "rare_disease": v.rare_disease}
            for v in py.visits],
    }
