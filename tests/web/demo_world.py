"""A demo deployment for the page tests: the service's demo seed and users, and one
person and one settlement whose numbers are worked out by hand.

The person is a 低保 (dibao) beneficiary of 玄武区 (320102, Nanjing) from 1 January of the
current year. The settlement is Nanjing's worked inpatient stay (README, examples/
nj-dibao-inpatient.json) moved into this year, at the demo's first hospital:
    60,000 total − 5,000 fully self-paid − 1,000 pre-self-paid = 54,000 in the policy range;
    54,000 − 35,000 basic insurance − 3,000 critical-illness insurance = a base of 16,000;
    NJ-A2 (article （四）) pays 90% × 16,000 = 14,400; the person pays 60,000 − 35,000
    − 3,000 − 14,400 = 7,600.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from medaid.app import auth, records, settlements, wire
from medaid.app.uow import UnitOfWork
from medaid.core import clock
from medaid.demo import applications
from medaid.demo import seed as demo
from medaid.engine.case import dumps
from medaid.registry import idcard
from medaid.store.models import AMOUNTS

YEAR = clock.today().year
DISTRICT = "320102"
HOSPITAL = "H32010200001"  # the demo's first Nanjing hospital, the hospital user's
PSN_NO = "WEB-P-0001"
NAME = "测试低保"
CERTNO = idcard.make(DISTRICT, date(1960, 5, 17), 901)


def visit(**fields: Any) -> dict[str, Any]:
    return {"medins_setl_id": "WEB-T-1", "mdtrt_id": "WEB-M-1", "psn_no": PSN_NO,
            "fixmedins_code": HOSPITAL, "med_type": "21", "start": f"{YEAR}-03-01",
            "end": f"{YEAR}-03-10", "medfee_sumamt": "60000", "fulamt_ownpay_amt": "5000",
            "overlmt_selfpay": "0", "preselfpay_amt": "1000", "hifp_pay": "35000",
            "hifmi_pay": "3000"} | fields


@dataclass(frozen=True)
class Demo:
    passwords: dict[str, str]  # username (= role) → password
    admin_token: str
    hospital_token: str
    setl_id: str


def seed(uow: UnitOfWork) -> Demo:
    done = demo.seed(uow)
    people = demo.demo_users(uow)
    demo.import_demo_roster(uow, clock.today())
    records.create_person(uow, auth.CLI, {
        "psn_no": PSN_NO, "certno": CERTNO, "name": NAME, "jurisdiction": "nanjing",
        "district": DISTRICT, "identities": [
            {"category": "dibao", "department": "民政", "from": f"{YEAR}-01-01"}]})
    request = wire.parse_visit_request(api_body(visit()), settling=True)
    entry = settlements.settle(uow, auth.CLI, request).entry
    applications.demo(uow, YEAR)  # one approved, one under review, one rejected
    hospital = next(h.token for h in done.hospitals if h.code == HOSPITAL)
    return Demo({u.username: u.password for u in people}, done.admin_token, hospital,
                entry.setl_id)


def api_body(fields: dict[str, Any]) -> bytes:
    """The API's JSON body for a visit (amounts as JSON numbers)."""
    return dumps({k: Decimal(v) if k in AMOUNTS else v for k, v in fields.items()}).encode()
