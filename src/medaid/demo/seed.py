"""A demo deployment: generated persons in the five jurisdictions, a few hospitals each with
a token, and the local parameters each jurisdiction needs for the year (source "demo").

Deterministic (one seed) and safe to run again: what exists is kept; tokens are new each
run, since only their hashes are stored.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from medaid.app import auth, rosters, users
from medaid.app.parameters import check_value, put, stored
from medaid.app.tokens import LIFETIME_DAYS
from medaid.app.uow import UnitOfWork
from medaid.batch import synth
from medaid.core import clock
from medaid.engine.case import dumps
from medaid.registry import idcard
from medaid.registry.plan import ImportPlan
from medaid.store.models import Identity, Institution, Person

SEED = 20240101
# Two districts (administrative-division codes) per jurisdiction; Jiangsu's framework is
# shown in two cities that follow it as written.
DISTRICTS = {
    "nanjing": (("320102", "玄武区"), ("320106", "鼓楼区")),
    "changzhou": (("320402", "天宁区"), ("320411", "新北区")),
    "jiangsu": (("320302", "徐州市鼓楼区"), ("321002", "扬州市广陵区")),
    "ningbo": (("330203", "海曙区"), ("330212", "鄞州区")),
    "yichun": (("360902", "袁州区"), ("360921", "奉新县")),
}
CITY = {"nanjing": "南京", "changzhou": "常州", "jiangsu": "江苏", "ningbo": "宁波",
        "yichun": "宜春"}
HOSPITALS = (("第一人民医院", 3), ("中医院", 2), ("社区卫生服务中心", 1))
DEPARTMENT = {"youfu": "退役军人", "tekun_worker": "总工会", "tekun_worker_family": "总工会",
              "zhongcan": "残联", "disabled_allowance": "残联", "fanpin": "乡村振兴",
              "jiance": "乡村振兴", "zhichu_illness": "医保", "yinbing": "医保", "aids": "卫健",
              "jianyiyongwei": "公安"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
# Values for the parameters the policies leave to the deployment; illustrative, not facts.
DEMO_VALUES: dict[str, object] = {
    "critical_illness": {"deductible": 15000, "cap": None, "segments": [
        {"upto": 100000, "ratio": Decimal("0.60")}, {"upto": None, "ratio": Decimal("0.70")}]},
    "basic_insurance": {"deductible": {"1": 300, "2": 600, "3": 1000},
                        "ratio": {"1": Decimal("0.90"), "2": Decimal("0.80"),
                                  "3": Decimal("0.70")}, "cap": 300000},
    "basic_cap": 300000, "low_income_ratio": Decimal("0.60"), "low_income_deductible": 2000,
    "other_ratio": Decimal("0.50"), "other_deductible": 5000,
    "premium_dibao": 380, "premium_fanpin": 380, "premium_jiance": 190,
    "individual_premium": 400,  # a year the policy file has no figure for
}
DEMO_INCOME = {"nanjing": 72000, "changzhou": 62000, "jiangsu": 52000, "ningbo": 71000,
               "yichun": 40000}


@dataclass(frozen=True, slots=True)
class Hospital:
    code: str
    name: str
    jurisdiction: str
    token: str


@dataclass(frozen=True, slots=True)
class Seeded:
    year: int
    persons: int  # added this run
    parameters: list[str]
    hospitals: list[Hospital]
    admin_token: str
    sample_psn_no: str


def seed(uow: UnitOfWork, persons_per_jurisdiction: int = 60, year: int | None = None
         ) -> Seeded:
    year = year or clock.today().year
    rng = random.Random(SEED)
    added, params, hospitals = 0, [], []
    sample = ""
    expires = clock.now() + timedelta(days=LIFETIME_DAYS)  # as `medaid token create`
    for jurisdiction, districts in DISTRICTS.items():
        params += _parameters(uow, jurisdiction, year)
        for i, (name, level) in enumerate(HOSPITALS):
            district, place = districts[i % len(districts)]
            code = f"H{district}{i + 1:05d}"
            inst = uow.session.scalars(select(Institution).where(Institution.code == code)
                                       ).first()
            if inst is None:
                town = place if jurisdiction == "jiangsu" else f"{CITY[jurisdiction]}市"
                inst = Institution(code=code, name=f"{town}{name}", jurisdiction=jurisdiction,
                                   district=district, level=level)
                uow.session.add(inst)
                uow.session.flush()
            hospitals.append(Hospital(code, inst.name, jurisdiction,
                                      auth.issue(uow, "hospital", inst.id,
                                                 expires_at=expires)))
        for n in range(persons_per_jurisdiction):
            district = districts[n % len(districts)][0]
            psn_no = f"{district}{n + 1:010d}"
            sample = sample or psn_no
            drawn = synth.generate_person(rng, jurisdiction, year, psn_no)
            born = date(1940, 1, 1) + timedelta(days=rng.randrange(80 * 365))
            if uow.session.scalars(select(Person.id).where(Person.psn_no == psn_no)).first():
                continue
            uow.session.add(Person(
                psn_no=psn_no, certno=idcard.make(district, born, n), name=_name(rng),
                jurisdiction=jurisdiction, district=district,
                disability_grade=drawn.disability_grade,
                tilted_application=drawn.tilted_application,
                identities=[Identity(category=i.category,
                                     department=DEPARTMENT.get(i.category, "民政"),
                                     from_date=i.start, to_date=i.end,
                                     application_date=i.application)
                            for i in drawn.identities]))
            added += 1
    admin = auth.issue(uow, "admin", expires_at=expires)
    uow.commit_audited(auth.CLI.subject, "demo.seed", "demo",
                       {"persons": added, "hospitals": len(hospitals), "parameters": params})
    return Seeded(year, added, params, hospitals, admin, sample)


def _parameters(uow: UnitOfWork, jurisdiction: str, year: int) -> list[str]:
    """Seed what the policy in force leaves open for `year` and nobody has set."""
    have = stored(uow, jurisdiction, year)
    out = []
    for name, p in synth.policy_of(jurisdiction).spec.parameters.items():
        if p.default is not None or any(v.year == year for v in p.values) or name in have:
            continue
        value = DEMO_INCOME[jurisdiction] if name == "income_per_capita_prev_year" \
            else DEMO_VALUES.get(name)
        if value is None:
            continue
        check_value(jurisdiction, name, value, f"demo.{jurisdiction}.{name}")
        put(uow, jurisdiction, name, year, dumps(value), "demo")
        out.append(f"{jurisdiction}.{name}")
    return out


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


# One user per role; the caseworker and the hospital user get the first district and
# hospital of Nanjing.
USERS = (("admin", "admin"), ("auditor", "auditor"), ("finance", "finance"),
         ("caseworker", "caseworker"), ("hospital", "hospital"))
ROSTER_DISTRICT = "320104"  # 秦淮区: a district of its own, so the roster exits no one
ROSTER_SIZE = 12


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    role: str
    scope: str
    password: str


def demo_users(uow: UnitOfWork) -> list[DemoUser]:
    """A user per role with a new password (shown once: only its hash is kept)."""
    district = DISTRICTS["nanjing"][0][0]
    hospital = uow.session.scalars(select(Institution).where(
        Institution.jurisdiction == "nanjing").order_by(Institution.id)).first()
    assert hospital is not None, "seed() first"
    out = []
    for username, role in USERS:
        password = secrets.token_urlsafe(12)
        d = district if role == "caseworker" else None
        inst = hospital.id if role == "hospital" else None
        users.create(uow, auth.CLI, username, password, role, d, inst)
        scope = d or (hospital.code if inst else "city")
        out.append(DemoUser(username, role, scope, password))
    return out


def import_demo_roster(uow: UnitOfWork, today: date) -> ImportPlan:
    """A small 民政 roster of 秦淮区 through the import path (all unchanged when run again)."""
    rng = random.Random(SEED + 1)
    records = [{"name": _name(rng),
                "certno": idcard.make(ROSTER_DISTRICT, date(1950, 1, 1)
                                      + timedelta(days=rng.randrange(60 * 365)), 500 + n),
                "category": rng.choice(("低保", "特困", "低边")), "start": "2023-01-01",
                "department": "民政"} for n in range(ROSTER_SIZE)]
    roster = rosters.records_roster(records, "nanjing", today, None)
    to = rosters.Target("nanjing", ROSTER_DISTRICT, None)
    plan, _, _ = rosters.import_roster(uow, auth.CLI, roster, to, today, dry_run=False,
                                       mode="complete")
    return plan
