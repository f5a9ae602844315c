"""Three demo applications of Nanjing persons (`medaid demo`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from medaid.app import auth
from medaid.app.applications import CHECKLISTS, approve, checklist, create, reject
from medaid.app.auth import Actor
from medaid.app.uow import UnitOfWork
from medaid.core import clock
from medaid.core.errors import NotFound
from medaid.store.application_models import Application
from medaid.store.models import Identity, Person

DEMO_DISTRICT = "320102"  # the demo caseworker's (demo.seed.demo_users)
DEMO_NOTE = "demo"


@dataclass(frozen=True, slots=True)
class DemoSummary:
    applications: dict[str, str]  # app_no → state
    paid: int  # fen, owed by the approved one


def demo(uow: UnitOfWork, year: int) -> DemoSummary:
    """Three applications of Nanjing persons seeded by `medaid demo` (demo.seed): one
    approved with its payment, one under review, one rejected. Entered by a caseworker
    of 玄武区 and decided by the city (another official); run again, it adds none."""
    done = list(uow.session.scalars(select(Application).where(Application.note == DEMO_NOTE)))
    if done:
        return DemoSummary({a.app_no: a.state for a in done},
                           sum(a.payment.amount for a in done if a.payment is not None))
    persons = list(uow.session.scalars(
        select(Person.psn_no).join(Identity, Identity.person_id == Person.id)
        .where(Person.district == DEMO_DISTRICT, Person.jurisdiction == "nanjing",
               Identity.category.in_(("dibao", "tekun", "dibao_edge")),
               Identity.from_date <= date(year, 1, 1),
               (Identity.to_date.is_(None)) | (Identity.to_date >= date(year, 12, 31)))
        .order_by(Person.psn_no).limit(3)))
    if len(persons) < 3:
        raise NotFound("demo", f"fewer than 3 Nanjing persons of {DEMO_DISTRICT} in "
                               f"assistance all {year}: run `medaid demo` first")
    clerk = Actor("caseworker", district=DEMO_DISTRICT, subject="demo:caseworker")
    today = clock.today()
    out: dict[str, str] = {}
    paid = 0
    for n, psn_no in enumerate(persons):
        visit = {"mdtrt_id": f"INV-{year}-{n + 1:03d}", "med_type": "21",
                 "start": f"{year}-01-{3 + n:02d}", "end": f"{year}-01-{12 + n:02d}",
                 "location": "out_of_province", "institution_name": "上海市第六人民医院",
                 "medfee_sumamt": Decimal(48000 + 6000 * n), "fulamt_ownpay_amt": 3000,
                 "overlmt_selfpay": 0, "preselfpay_amt": 800,
                 "hifp_pay": Decimal(26000 + 3000 * n), "hifmi_pay": 2000}
        app = create(uow, clerk, {"psn_no": psn_no, "kind": "post_hoc", "note": DEMO_NOTE,
                                  "visits": [visit]}, today)
        ticks: dict[str, object] = {d.item: True for d in CHECKLISTS["post_hoc"]}
        app = checklist(uow, clerk, app.app_no, {"items": ticks}, today)
        if n == 0:
            app = approve(uow, auth.CLI, app.app_no)
            paid = app.payment.amount if app.payment else 0
        elif n == 2:
            app = reject(uow, auth.CLI, app.app_no, {
                "reason": "发票与结算单金额不符 / the invoice does not match the statement"})
        out[app.app_no] = app.state
    return DemoSummary(out, paid)
