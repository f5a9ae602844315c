"""A demo year of settlements, then the warning job and the charity register on it.

`settle_year` settles generated visits (`medaid.batch.synth`) for the demo persons through the
settlement use case itself, each visit with the actor of the hospital that sends it, so
the ledger, the pools and the audit log are what a real year leaves. Some persons get a
heavy stay: a few persons with no identity (因病致贫 warnings follow) and the first
persons of each monitored category (因病返贫). Deterministic; run again, it settles
nothing more.

`demo` runs the warning job for the year, registers two charity programmes and refers
the heaviest warned person-year that a programme matches.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from medaid.app import auth, charity, settlements
from medaid.app import early_warning as ew
from medaid.app.auth import Actor
from medaid.app.uow import UnitOfWork
from medaid.app.wire import MED_TYPES, VisitRequest
from medaid.batch import synth
from medaid.core.dates import BEIJING
from medaid.core.errors import Conflict
from medaid.demo.seed import DISTRICTS, SEED
from medaid.engine.types import Visit
from medaid.registry import idcard
from medaid.store.models import Institution, Person, Settlement
from medaid.store.warning_models import CharityProgramme, EarlyWarning

NO_IDENTITY_PERSONS = 4  # per jurisdiction: persons with no identity, three with heavy bills
HEAVY_MONITORED = 2  # per jurisdiction: monitored persons given a heavy stay
VISITS = (1, 3)  # ordinary visits per person
HEAVY_TOTAL_FEN = 16_000_000  # a 160,000-yuan stay: heavy against every demo threshold
CODES = {kind: code for code, kind in reversed(MED_TYPES.items())}  # kind → 医疗类别
PROGRAMMES = (
    {"name": "大病困难群众补充救助项目", "organisation": "市慈善总会", "min_burden": 10000,
     "annual_slots": 50, "annual_budget": 500000},
    {"name": "困境儿童大病救助项目", "organisation": "儿童少年福利基金会", "max_age": 17,
     "min_burden": 5000},
)


@dataclass(frozen=True, slots=True)
class YearSettled:
    year: int
    settled: int  # new ledger entries
    retries: int  # already in the ledger from an earlier run
    persons_added: int  # persons with no identity added for the demo


def settle_year(uow: UnitOfWork | Callable[[], UnitOfWork], year: int,
                visits: tuple[int, int] = VISITS) -> YearSettled:
    """Settle a generated year for every demo person (`demo.seed.seed` first); nothing
    when the year is already settled (what the persons hold has changed since: a replay
    would draw other visits under the same settlement ids)."""
    if callable(uow):
        with uow() as opened:
            return settle_year(opened, year, visits)
    earlier = uow.session.scalar(select(func.count()).select_from(Settlement).where(
        Settlement.medins_setl_id.like(f"D{year}-%"), Settlement.kind == "settle"))
    if earlier:
        return YearSettled(year, 0, earlier, 0)
    rng = random.Random(SEED + year)
    settled = retries = added = 0
    for jurisdiction, districts in DISTRICTS.items():
        added += _no_identity_persons(uow, jurisdiction, districts[0][0], year)
        hospitals = [Actor("hospital", inst.id, subject=f"demo:{inst.code}")
                     for inst in uow.session.scalars(select(Institution).where(
                         Institution.jurisdiction == jurisdiction).order_by(Institution.id))]
        assert hospitals, "demo.seed.seed first"
        policy = synth.policy_of(jurisdiction)
        watched = set(policy.spec.monitoring.relapse) if policy.spec.monitoring else set()
        heavy_left = HEAVY_MONITORED
        people = list(uow.session.scalars(select(Person).where(
            Person.jurisdiction == jurisdiction).order_by(Person.id)))
        for person in people:
            drawn = synth.generate_year(rng, jurisdiction, year, rng.randint(*visits),
                                        plain=True)
            categories = {i.category for i in person.identities}
            heavy = (not categories and not person.psn_no.endswith("9000000000")) or (
                heavy_left > 0 and bool(categories & watched))
            if heavy and categories:
                heavy_left -= 1
            if heavy:
                drawn.append(_heavy_stay(rng, year, policy.in_force))
            for n, v in enumerate(drawn):
                req = VisitRequest(person.psn_no, f"D{year}-{person.psn_no}-{n}",
                                   f"D{year}-{person.psn_no}-{n}", None, CODES.get(v.kind),
                                   replace(v, id=f"D{year}-{person.psn_no}-{n}"))
                # settled on the day of discharge, so that each month's payment batch
                # (app.funds, by settlement time) holds that month's visits
                done = settlements.settle(uow, rng.choice(hospitals), req, _discharged(v.end))
                settled, retries = settled + done.created, retries + (not done.created)
    return YearSettled(year, settled, retries, added)


def _discharged(day: date) -> datetime:
    return datetime.combine(day, time(10), tzinfo=BEIJING)


def _heavy_stay(rng: random.Random, year: int, in_force: date) -> Visit:
    """A long stay of 160,000 yuan: 5% out of catalog, 2% pre-self-pay, basic insurance
    45% of the policy range and critical-illness insurance 10% of it."""
    end = max(date(year, rng.randint(2, 11), rng.randint(1, 28)), in_force + timedelta(days=20))
    total = HEAVY_TOTAL_FEN
    ownpay, preself = total * 5 // 100, total * 2 // 100
    inscp = total - ownpay - preself
    return Visit("", "inpatient", end - timedelta(days=20), end, total,
                 fulamt_ownpay_amt=ownpay, preselfpay_amt=preself,
                 hifp_pay=inscp * 45 // 100, hifmi_pay=inscp * 10 // 100, hospital_level=3)


def _no_identity_persons(uow: UnitOfWork, jurisdiction: str, district: str, year: int) -> int:
    """Persons insured here with no identity, psn_no …9000000000 to …9000000003 (the
    first gets ordinary visits only, the others a heavy stay too)."""
    added = 0
    for k in range(NO_IDENTITY_PERSONS):
        psn_no = f"{district}9{k:09d}"
        if uow.session.scalars(select(Person.id).where(Person.psn_no == psn_no)).first():
            continue
        born = date(1958 + 9 * k, 3 + k, 10 + k)
        uow.session.add(Person(psn_no=psn_no, certno=idcard.make(district, born, 900 + k),
                               name=f"{'赵钱孙李'[k]}{'建国秀兰志强桂英'[2 * k:2 * k + 2]}",
                               jurisdiction=jurisdiction, district=district,
                               disability_grade=None, tilted_application=None, identities=[]))
        added += 1
    uow.session.flush()
    uow.commit()
    return added


@dataclass(frozen=True, slots=True)
class DemoWarnings:
    year: int
    outcomes: list[ew.Outcome]
    programmes: list[str]
    referred: str | None  # "psn_no → programme", or None when nothing matched


def demo(uow: UnitOfWork, year: int) -> DemoWarnings:
    """The warning job on the demo year, two charity programmes and one referral."""
    outcomes = ew.run(uow, auth.CLI, year)
    names = []
    for spec in PROGRAMMES:
        names.append(str(spec["name"]))
        if uow.session.scalars(select(CharityProgramme.id).where(
                CharityProgramme.name == spec["name"])).first() is None:
            charity.create_programme(uow, auth.CLI, {
                **spec, "active_from": f"{year}-01-01"})
    referred = None
    warned = uow.session.scalars(select(EarlyWarning).where(EarlyWarning.year == year)
                                 .order_by(EarlyWarning.after_assistance.desc(),
                                           EarlyWarning.id)).all()
    for w in warned:
        psn_no = w.person.psn_no
        _, found = charity.matches(uow, auth.CLI, psn_no, year)
        if not found:
            continue
        with suppress(Conflict):  # referred by an earlier run
            charity.refer(uow, auth.CLI, {"programme_id": found[0].id, "psn_no": psn_no,
                                          "year": year, "note": "演示：三重制度后负担仍重"})
        referred = f"{psn_no} → {found[0].name}"
        break
    return DemoWarnings(year, outcomes, names, referred)
