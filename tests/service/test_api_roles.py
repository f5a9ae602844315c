"""Every endpoint × caller × scope, and ID numbers masked wherever an answer holds one.

The table `ROUTES` has an entry per (method, path template) of the API: the request of a
cell, built on the scene (a person and an institution in district A, another of each in
district B, and a settlement, application, warning, charity programme and referral,
budget and payment batch of district A), and the callers it allows. Each cell's request
is valid and fresh (its own settlement, application, warning, programme, referral or
batch where it writes), so an allowed caller gets a 2xx, any other caller 403 and no
token 401; a 404 or 422 would be a wrong request, and fails. A caller allowed but outside
the scene's scope (`blind`) gets an answer without district A's records. A route of the
application that the table does not name, or a name with no route, fails too.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from api_helpers import World, certno, visit
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from databases import BACKENDS, empty_database
from medaid.api.app import create_app
from medaid.app import auth, settlements, tokens, users, wire
from medaid.app import early_warning as ew
from medaid.app.auth import CLI
from medaid.app.uow import UnitOfWork
from medaid.core import clock
from medaid.policy import model

OWN, OTHER = "320102", "320106"  # districts A and B
HOSPITAL_A, HOSPITAL_B = "H32010200001", "H32010600002"
PSN_A, PSN_B = "P-A", "P-B"
PSN_S = "P-S"  # of district A, in a city whose policy declares a status
AFTER_2026 = datetime(2027, 1, 5, 9, 0)  # the city's year-end stages are paid after it
STATUS_CITY = model.load_policy(Path(__file__).parent / "cities" / "mucheng-2026.yaml")
ACTORS = ("no_token", "hospital_own", "hospital_other", "caseworker_own", "caseworker_other",
          "finance", "admin", "auditor")
SEES_IDS = {"caseworker_own", "caseworker_other", "admin", "auditor"}  # Actor.sees_ids
# who sees the scene's records, for each caller allowed but outside its scope
COUNTERPART = {"hospital_other": "hospital_own", "caseworker_other": "caseworker_own"}
READ_ALL = frozenset({"finance", "admin", "auditor"})
CASEWORK = frozenset({"caseworker_own", "admin", "auditor"})
DISTRICT_WRITE = frozenset({"caseworker_own", "admin"})
FUND_WRITE = frozenset({"finance", "admin"})
FUND_READ = READ_ALL | {"caseworker_own"}
HEAVY = 100000  # yuan: a stay whose burden is past Nanjing's 2023 threshold (34,519.50)
APRIL = datetime(2023, 4, 15, 2, 0, tzinfo=UTC)  # when a batch's settlements are made
CLEARED = 2030  # the scene's cleared fund year; the clearing cells clear the years after it
DOCUMENTS = {"id_card": True, "invoices": True, "insurance_statement": True}  # post_hoc


def invoice(mdtrt_id: str) -> dict[str, Any]:
    """A paper invoice of an out-of-province stay (an application's visit)."""
    return {"mdtrt_id": mdtrt_id, "med_type": "21", "start": "2023-03-01", "end": "2023-03-10",
            "medfee_sumamt": 60000, "fulamt_ownpay_amt": 5000, "overlmt_selfpay": 0,
            "preselfpay_amt": 1000, "hifp_pay": 35000, "hifmi_pay": 3000,
            "location": "out_of_province", "institution_name": "上海市第六人民医院"}


@dataclass
class Scene:
    """One database per backend for the whole matrix: the fixed records the reads use, and
    a fresh record for each cell that writes."""

    world: World
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    certnos: set[str] = field(default_factory=set)  # every ID number the scene holds
    fixed: dict[str, Any] = field(default_factory=dict)
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    new_warnings: list[int] = field(default_factory=list)
    fund_years: Iterator[int] = field(default_factory=lambda: itertools.count(CLEARED + 1))

    def n(self) -> int:
        return next(self.counter)

    def api(self, method: str, url: str, want: int = 200, **kw: Any) -> Any:
        r = self.world.client.request(method, url, headers=self.world.admin, **kw)
        assert r.status_code == want, r.text
        return r.json() if r.content else None

    def person(self, psn_no: str, district: str = OWN, dibao: bool = True) -> str:
        identities = [{"category": "dibao", "department": "民政", "from": "2023-01-15"}]
        self.certnos.add(self.world.person(
            psn_no, district=district, identities=identities if dibao else [])["certno"])
        return psn_no

    def settlement(self, psn_no: str = PSN_A, code: str = HOSPITAL_A, **fields: Any) -> str:
        n = self.n()
        return str(self.api("POST", "/api/v1/settlements", 201, json=visit(
            psn_no=psn_no, medins_setl_id=f"S-{n}", mdtrt_id=f"M-{n}", fixmedins_code=code)
            | fields)["setl_id"])

    def application(self, state: str = "draft") -> str:
        app = "/api/v1/applications"
        app_no = str(self.api("POST", app, 201, json={
            "psn_no": PSN_A, "kind": "post_hoc", "visits": [invoice(f"INV-{self.n()}")]}
        )["app_no"])
        if state == "under_review":
            self.api("POST", f"{app}/{app_no}/checklist", json={"items": DOCUMENTS})
        return app_no

    def warning(self, status: str = "new") -> int:
        """A warning of its own (eight persons with a heavy stay per run of the job)."""
        if not self.new_warnings:
            psns = {self.person(f"W-{self.n()}", dibao=False) for _ in range(8)}
            for psn_no in psns:
                self.settlement(psn_no, medfee_sumamt=HEAVY)
            with UnitOfWork(self.world.sessions) as uow:
                ew.run(uow, CLI, 2023, "nanjing")
            found = self.api("GET", "/api/v1/warnings", params={"year": 2023})["warnings"]
            self.new_warnings = [w["id"] for w in found if w["psn_no"] in psns]
            assert len(self.new_warnings) == len(psns)
        warning_id = self.new_warnings.pop()
        if status == "verified":
            self.api("POST", f"/api/v1/warnings/{warning_id}/verify")
        return warning_id

    def programme(self) -> int:
        """A programme any person-year of Nanjing matches (no criteria, no minimum)."""
        return int(self.api("POST", "/api/v1/charity/programmes", 201, json={
            "name": f"项目 {self.n()}", "organisation": "南京市慈善总会",
            "active_from": "2020-01-01"})["id"])

    def token(self) -> int:
        """A fresh hospital token's id (revoke and rotate use one each)."""
        with UnitOfWork(self.world.sessions) as uow:
            return tokens.create(uow, CLI, "hospital", 1, days=30).row.id

    def referral(self) -> int:
        return int(self.api("POST", "/api/v1/charity/referrals", 201, json={
            "programme_id": self.programme(), "psn_no": PSN_A, "year": 2023})["id"])

    def batch(self, code: str | None = None, status: str = "created") -> int:
        """A payment batch of its own: an institution's (a new one unless named) April 2023
        assistance to a new dibao person of district A."""
        if code is None:
            code = f"H{OWN}{self.n():05d}"
            self.api("POST", "/api/v1/institutions", 201, json={
                "fixmedins_code": code, "name": f"医院 {code}", "jurisdiction": "nanjing",
                "district": OWN, "level": 3})
        psn_no, n = self.person(f"F-{self.n()}"), self.n()
        with UnitOfWork(self.world.sessions) as uow:
            settlements.settle(uow, CLI, wire.visit_request(visit(
                psn_no=psn_no, medins_setl_id=f"F-{n}", mdtrt_id=f"F-{n}",
                fixmedins_code=code), settling=True), at=APRIL)
        run = self.api("POST", "/api/v1/funds/batches", 201, json={"month": "2023-04"})
        [batch_id] = [b["id"] for b in run["created"] if b["fixmedins_code"] == code]
        if status == "approved":
            self.api("POST", f"/api/v1/funds/batches/{batch_id}/approve")
        return int(batch_id)


@dataclass(frozen=True)
class Request:
    path: dict[str, Any] = field(default_factory=dict)  # the template's parameters
    json: Any = None
    params: dict[str, Any] | None = None


@dataclass(frozen=True)
class Cell:
    allowed: frozenset[str]
    request: Callable[[Scene], Request]
    blind: frozenset[str] = frozenset()  # allowed, but must not see `hidden` (COUNTERPART does)
    hidden: str = HOSPITAL_A
    unknown: frozenset[str] = frozenset()  # refused as if the record did not exist: 404


def _cell(allowed: set[str] | frozenset[str], request: Callable[[Scene], Request],
          blind: set[str] | None = None, hidden: str = HOSPITAL_A,
          unknown: set[str] | None = None) -> Cell:
    unseeing = frozenset(blind or ())
    assert unseeing <= allowed and not (unknown or set()) & allowed
    return Cell(frozenset(allowed), request, unseeing, hidden, frozenset(unknown or ()))


# A person of another district is as unknown to a caseworker as a number that exists
# nowhere (404, not 403: docs/SECURITY.md), and so is a person a hospital never settled for.
ELSEWHERE = {"caseworker_other"}


def _person_body(s: Scene) -> Request:
    psn_no = f"N-{s.n()}"
    number = certno(psn_no)
    s.certnos.add(number)
    return Request(json={"psn_no": psn_no, "certno": number, "name": "李四",
                         "jurisdiction": "nanjing", "district": OWN, "identities": []})


def _roster(s: Scene) -> Request:
    number = certno(f"R-{s.n()}")
    s.certnos.add(number)
    return Request(json={"jurisdiction": "nanjing", "district": OWN, "dry_run": True,
                         "mode": "incremental",
                         "records": [{"name": "王五", "certno": number, "category": "低保",
                                      "start": "2023-01-01", "department": "民政"}]})


def _clearing(s: Scene) -> Request:
    year = next(s.fund_years)  # a fund year of its own, with nothing to clear: one clearing each
    return Request(json={"jurisdiction": "nanjing", "district": OWN, "year": year,
                         "cleared_on": f"{year + 1}-03-20", "assessments": []})


NANJING_A = {"jurisdiction": "nanjing", "year": 2023, "district": OWN}
V1 = "/api/v1"
APPS, WARN, CHARITY, FUNDS = f"{V1}/applications", f"{V1}/warnings", f"{V1}/charity", \
    f"{V1}/funds"

ROUTES: dict[tuple[str, str], Cell] = {
    # settlements: the institution's own hospital settles and cancels (or an admin); the
    # caseworker of the person's district may preview; reading: the institution, the
    # person's district, and finance, admins and auditors
    ("POST", f"{V1}/settlements/preview"): _cell(
        {"hospital_own", "caseworker_own", "admin"},
        lambda s: Request(json=visit(psn_no=PSN_A, fixmedins_code=HOSPITAL_A)),
        unknown=ELSEWHERE),
    ("POST", f"{V1}/settlements"): _cell({"hospital_own", "admin"}, lambda s: Request(
        json=visit(psn_no=PSN_A, medins_setl_id=f"X-{s.n()}", fixmedins_code=HOSPITAL_A))),
    ("GET", f"{V1}/settlements/{{setl_id}}"): _cell(
        {"hospital_own", "caseworker_own"} | READ_ALL,
        lambda s: Request({"setl_id": s.fixed["setl_id"]}),
        unknown={"hospital_other", "caseworker_other"}),
    ("POST", f"{V1}/settlements/{{setl_id}}/cancel"): _cell(
        {"hospital_own", "admin"}, lambda s: Request({"setl_id": s.settlement()})),
    # the national platform's envelope (2304 here): the same callers as the settlement's
    ("POST", f"{V1}/national"): _cell({"hospital_own", "admin"}, lambda s: Request(json={
        "infno": "2304", "msgid": f"N-{s.n()}", "fixmedins_code": HOSPITAL_A, "input": {
            "data": visit(psn_no=PSN_A, medins_setl_id=f"N-{s.n()}", mdtrt_id=f"N-{s.n()}")
            }})),
    # a person's year: a hospital that has settled for the person (its own settlements
    # only), the district's caseworker, and finance, admins and auditors
    ("GET", f"{V1}/persons/{{psn_no}}/years/{{year}}"): _cell(
        {"hospital_own", "caseworker_own"} | READ_ALL,
        lambda s: Request({"psn_no": PSN_A, "year": 2023}),
        unknown={"hospital_other", "caseworker_other"}),
    ("POST", f"{V1}/persons"): _cell(DISTRICT_WRITE, _person_body),
    ("POST", f"{V1}/persons/{{psn_no}}/statuses"): _cell(
        DISTRICT_WRITE, lambda s: Request({"psn_no": PSN_S}, json={
            "status": "mts", **dict.fromkeys(("from", "to"), f"2026-01-{s.n() % 28 + 1:02d}")}),
        unknown={"caseworker_other"}),
    ("GET", f"{V1}/persons/{{psn_no}}/statuses"): _cell(
        {"caseworker_own"} | READ_ALL, lambda s: Request({"psn_no": PSN_S}),
        unknown={"caseworker_other"}),
    ("POST", f"{V1}/institutions"): _cell({"admin"}, lambda s: Request(json={
        "fixmedins_code": f"H{OWN}9{s.n():04d}", "name": "x", "jurisdiction": "nanjing",
        "district": OWN})),
    ("POST", f"{V1}/parameters"): _cell({"admin"}, lambda s: Request(json={
        "jurisdiction": "nanjing", "name": "youfu_outpatient_allowance", "value": 1,
        "source": "x"})),
    ("POST", f"{V1}/rosters"): _cell(DISTRICT_WRITE, _roster),
    ("GET", f"{V1}/premium-subsidies"): _cell(FUND_READ, lambda s: Request(params=NANJING_A)),
    ("GET", f"{V1}/audit"): _cell({"auditor"}, lambda s: Request()),
    # applications (docs/APPLICATIONS.md): the person's district's caseworker or an admin
    # acts; the district's caseworker, admins, auditors and finance read
    ("POST", APPS): _cell(DISTRICT_WRITE, lambda s: Request(json={
        "psn_no": PSN_A, "kind": "post_hoc", "visits": [invoice(f"C-{s.n()}")]}),
        unknown=ELSEWHERE),
    ("GET", APPS): _cell({"caseworker_own"} | READ_ALL,
                         lambda s: Request(params={"district": OWN})),
    ("GET", f"{APPS}/{{app_no}}"): _cell({"caseworker_own"} | READ_ALL,
                                         lambda s: Request({"app_no": s.fixed["app_no"]})),
    ("POST", f"{APPS}/{{app_no}}/submit"): _cell(
        DISTRICT_WRITE, lambda s: Request({"app_no": s.application()})),
    ("POST", f"{APPS}/{{app_no}}/checklist"): _cell(DISTRICT_WRITE, lambda s: Request(
        {"app_no": s.application()}, json={"items": DOCUMENTS})),
    ("POST", f"{APPS}/{{app_no}}/approve"): _cell(
        DISTRICT_WRITE, lambda s: Request({"app_no": s.application("under_review")})),
    ("POST", f"{APPS}/{{app_no}}/reject"): _cell(DISTRICT_WRITE, lambda s: Request(
        {"app_no": s.application("under_review")}, json={"reason": "发票不全"})),
    ("POST", f"{APPS}/{{app_no}}/withdraw"): _cell(
        DISTRICT_WRITE, lambda s: Request({"app_no": s.application()}, json={})),
    ("POST", f"{APPS}/{{app_no}}/visits"): _cell(DISTRICT_WRITE, lambda s: Request(
        {"app_no": s.application()}, json={"visits": [invoice(f"V-{s.n()}")]})),
    # warnings (docs/CASEWORK-WARNINGS.md): the district's caseworker, admins and auditors
    # read; the caseworker and admins act; admins run the job
    ("GET", WARN): _cell(CASEWORK, lambda s: Request(params={"year": 2023,
                                                              "district": OWN})),
    ("GET", f"{WARN}/export"): _cell(CASEWORK, lambda s: Request(params={"year": 2023,
                                                                         "district": OWN})),
    ("POST", f"{WARN}/run"): _cell({"admin"}, lambda s: Request(json={
        "year": 2023, "jurisdiction": "nanjing"})),
    ("GET", f"{WARN}/{{warning_id}}"): _cell(
        CASEWORK, lambda s: Request({"warning_id": s.fixed["warning_id"]})),
    ("POST", f"{WARN}/{{warning_id}}/verify"): _cell(
        DISTRICT_WRITE, lambda s: Request({"warning_id": s.warning()})),
    ("POST", f"{WARN}/{{warning_id}}/enroll"): _cell(
        DISTRICT_WRITE, lambda s: Request({"warning_id": s.warning("verified")})),
    ("POST", f"{WARN}/{{warning_id}}/dismiss"): _cell(DISTRICT_WRITE, lambda s: Request(
        {"warning_id": s.warning("verified")}, json={"reason": "收入超标"})),
    # charity: admins keep the register, which every role but hospitals reads (it names no
    # person); matches and referrals are casework, of the person's district
    ("GET", f"{CHARITY}/programmes"): _cell(READ_ALL | {"caseworker_own",
                                                        "caseworker_other"},
                                            lambda s: Request()),
    ("POST", f"{CHARITY}/programmes"): _cell({"admin"}, lambda s: Request(json={
        "name": f"新项目 {s.n()}", "organisation": "南京市慈善总会",
        "active_from": "2020-01-01"})),
    ("GET", f"{CHARITY}/programmes/{{programme_id}}"): _cell(
        READ_ALL | {"caseworker_own", "caseworker_other"},
        lambda s: Request({"programme_id": s.fixed["programme_id"]})),
    ("PATCH", f"{CHARITY}/programmes/{{programme_id}}"): _cell({"admin"}, lambda s: Request(
        {"programme_id": s.programme()}, json={"annual_slots": 5})),
    ("DELETE", f"{CHARITY}/programmes/{{programme_id}}"): _cell(
        {"admin"}, lambda s: Request({"programme_id": s.programme()})),
    ("GET", f"{CHARITY}/matches/{{psn_no}}"): _cell(
        CASEWORK, lambda s: Request({"psn_no": PSN_A}, params={"year": 2023}),
        unknown=ELSEWHERE),
    ("POST", f"{CHARITY}/referrals"): _cell(DISTRICT_WRITE, lambda s: Request(json={
        "programme_id": s.programme(), "psn_no": PSN_A, "year": 2023}), unknown=ELSEWHERE),
    ("GET", f"{CHARITY}/referrals"): _cell(CASEWORK | {"caseworker_other"},
                                           lambda s: Request(params={"year": 2023}),
                                           blind={"caseworker_other"}, hidden=PSN_A),
    ("POST", f"{CHARITY}/referrals/{{referral_id}}/accept"): _cell(
        DISTRICT_WRITE, lambda s: Request({"referral_id": s.referral()}, json={})),
    ("POST", f"{CHARITY}/referrals/{{referral_id}}/decline"): _cell(
        DISTRICT_WRITE, lambda s: Request({"referral_id": s.referral()},
                                          json={"note": "名额已满"})),
    # funds (docs/FUNDS.md): finance and admins write; they, auditors and the district's
    # caseworker read; a hospital reads its own batches only
    ("POST", f"{FUNDS}/budgets"): _cell(FUND_WRITE, lambda s: Request(json={
        "jurisdiction": "nanjing", "district": OWN, "year": 2023,
        "amount": 1500000 + s.n(), "source": "玄武区2023年预算"})),
    ("GET", f"{FUNDS}/schedule"): _cell(FUND_READ, lambda s: Request(params=NANJING_A)),
    ("POST", f"{FUNDS}/receipts"): _cell(FUND_WRITE, lambda s: Request(json={
        "jurisdiction": "nanjing", "district": OWN, "year": 2023, "amount": 1,
        "purpose": "budget", "received_on": "2023-01-08"})),
    ("POST", f"{FUNDS}/batches"): _cell(FUND_WRITE, lambda s: Request(json={
        "month": "2023-04"})),
    ("GET", f"{FUNDS}/batches"): _cell(
        set(ACTORS) - {"no_token"}, lambda s: Request(params={"year": 2023}),
        blind={"hospital_other", "caseworker_other"}),
    ("GET", f"{FUNDS}/batches/{{batch_id}}"): _cell(
        FUND_READ | {"hospital_own"}, lambda s: Request({"batch_id": s.fixed["batch_id"]})),
    ("POST", f"{FUNDS}/batches/{{batch_id}}/approve"): _cell(
        FUND_WRITE, lambda s: Request({"batch_id": s.batch()})),
    ("POST", f"{FUNDS}/batches/{{batch_id}}/pay"): _cell(FUND_WRITE, lambda s: Request(
        {"batch_id": s.batch(status="approved")}, json={"paid_on": "2023-05-05"})),
    ("POST", f"{FUNDS}/clearings"): _cell(FUND_WRITE, _clearing),
    ("GET", f"{FUNDS}/clearings"): _cell(FUND_READ, lambda s: Request(
        params=NANJING_A | {"year": CLEARED})),
    ("GET", f"{FUNDS}/balance"): _cell(FUND_READ, lambda s: Request(
        params={"jurisdiction": "nanjing", "district": OWN})),
    ("GET", f"{FUNDS}/report"): _cell(FUND_READ, lambda s: Request(params=NANJING_A)),
    # the year-end stages of a district-year of a city that has them: finance and admins
    # (asked once 2026 has ended: _send)
    ("POST", f"{V1}/year-end"): _cell(FUND_WRITE, lambda s: Request(
        json={"jurisdiction": "mucheng", "year": 2026, "district": OWN})),
    # indicators (docs/INDICATORS.md): finance, admins, auditors; the district's caseworker;
    # a hospital its own per-institution indicators
    ("GET", f"{V1}/indicators"): _cell(FUND_READ | {"hospital_own", "hospital_other"},
                                       lambda s: Request(params=NANJING_A),
                                       blind={"hospital_other"}),
    ("GET", f"{V1}/indicators/{{indicator_id}}/chart"): _cell(
        FUND_READ | {"hospital_own", "hospital_other"},
        lambda s: Request({"indicator_id": "inpatient_self_pay_share"}, params=NANJING_A)),
    # tokens (app.tokens): admins only
    ("GET", f"{V1}/tokens"): _cell({"admin"}, lambda s: Request()),
    ("POST", f"{V1}/tokens"): _cell({"admin"}, lambda s: Request(json={
        "role": "hospital", "fixmedins_code": HOSPITAL_A, "days": 30})),
    ("POST", f"{V1}/tokens/{{token_id}}/revoke"): _cell(
        {"admin"}, lambda s: Request({"token_id": s.token()})),
    ("POST", f"{V1}/tokens/{{token_id}}/rotate"): _cell(
        {"admin"}, lambda s: Request({"token_id": s.token()}, json={"grace_days": 1})),
}
UNGUARDED = {("GET", f"{V1}/health"), ("POST", f"{V1}/login")}

# The routes whose JSON answers hold a person's ID number (`certno`): whole for the roles
# that see ID numbers, masked for the others.
CERTNO_ROUTES = [
    ("GET", f"{V1}/persons/{{psn_no}}/years/{{year}}"),
    ("POST", f"{V1}/persons"),
    ("POST", f"{V1}/rosters"),
    ("GET", f"{V1}/premium-subsidies"),
    ("GET", WARN),
    ("GET", f"{WARN}/{{warning_id}}"),
    ("POST", f"{WARN}/{{warning_id}}/verify"),
    ("POST", f"{WARN}/{{warning_id}}/enroll"),
    ("POST", f"{WARN}/{{warning_id}}/dismiss"),
    ("GET", f"{CHARITY}/matches/{{psn_no}}"),
    ("POST", f"{CHARITY}/referrals"),
    ("GET", f"{CHARITY}/referrals"),
    ("POST", f"{CHARITY}/referrals/{{referral_id}}/accept"),
    ("POST", f"{CHARITY}/referrals/{{referral_id}}/decline"),
]
MASKED = re.compile(r"\d{6}\*{8}\d{3}[\dX]")


@pytest.fixture(scope="module", params=BACKENDS)
def scene(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Scene]:
    shipped = model.shipped()
    with pytest.MonkeyPatch.context() as patch, \
            empty_database(request.param, tmp_path_factory.mktemp("roles")) as url:
        # a city that declares a status, deployed beside the shipped ones
        patch.setattr(model, "shipped", lambda: (*shipped, STATUS_CITY))
        app = create_app(url)
        with UnitOfWork(app.state.sessions) as uow:
            setup = auth.issue(uow, "admin")
            uow.commit()
        with TestClient(app) as client:
            yield _scene(World(client, {"Authorization": f"Bearer {setup}"}))
        app.state.engine.dispose()


def _scene(world: World) -> Scene:
    s = Scene(world)
    world.institution(HOSPITAL_A)
    world.institution(HOSPITAL_B, district=OTHER)
    s.person(PSN_A)
    s.person(PSN_B, district=OTHER)
    s.certnos.add(world.person(PSN_S, jurisdiction="mucheng", identities=[])["certno"])
    s.headers = {
        "no_token": {}, "hospital_own": world.token("hospital", HOSPITAL_A),
        "hospital_other": world.token("hospital", HOSPITAL_B),
        "caseworker_own": world.token("caseworker", district=OWN),
        "caseworker_other": world.token("caseworker", district=OTHER),
        "finance": world.token("finance"),
        "admin": world.token("admin"),  # not the scene's author: it may decide applications
        "auditor": world.token("auditor")}
    s.api("POST", f"{FUNDS}/budgets", json={"jurisdiction": "nanjing", "district": OWN,
                                            "year": 2023, "amount": 1500000, "source": "预算"})
    s.api("POST", f"{FUNDS}/clearings", 201, json={
        "jurisdiction": "nanjing", "district": OWN, "year": CLEARED, "cleared_on":
        f"{CLEARED + 1}-03-20", "assessments": []})
    s.fixed = {"setl_id": s.settlement(), "app_no": s.application(),
               "warning_id": s.warning(), "programme_id": s.programme(),
               "referral_id": s.referral(), "batch_id": s.batch(HOSPITAL_A)}
    s.settlement(PSN_B, HOSPITAL_B)  # district B's own records, which A's callers never see
    return s


def _api_routes(routes: list[BaseRoute]) -> Iterator[tuple[str, str]]:
    for r in routes:
        included = getattr(r, "original_router", None)  # FastAPI 0.165 wraps include_router
        if included is not None:
            yield from _api_routes(included.routes)
        elif isinstance(r, APIRoute) and r.path.startswith(f"{V1}/"):
            yield from ((method, r.path) for method in r.methods or ())


def test_the_table_names_every_route_and_only_routes(tmp_path: Path) -> None:
    app = create_app(f"sqlite:///{tmp_path / 'routes.sqlite'}")
    routes = set(_api_routes(app.routes))
    documented = {(method.upper(), path) for path, item in app.openapi()["paths"].items()
                  for method in item if path.startswith(f"{V1}/")}
    app.state.engine.dispose()
    assert routes == documented  # the walk above found every route
    assert routes >= UNGUARDED
    assert set(ROUTES) == routes - UNGUARDED
    assert len(ROUTES) == 59  # the count docs/RELIABILITY.md gives


def _send(s: Scene, route: tuple[str, str], actor: str) -> Any:
    method, template = route
    req = ROUTES[route].request(s)
    kw: dict[str, Any] = {"params": req.params}
    if req.json is not None:
        kw["json"] = req.json
    with clock.frozen(AFTER_2026) if template == f"{V1}/year-end" else nullcontext():
        return s.world.client.request(method, template.format(**req.path),
                                      headers=s.headers[actor], **kw)


@pytest.mark.parametrize("route", list(ROUTES), ids=" ".join)
def test_exactly_the_allowed_callers_succeed(scene: Scene, route: tuple[str, str]) -> None:
    cell = ROUTES[route]
    wrong, answers = [], {}
    for actor in ACTORS:
        r = _send(scene, route, actor)
        want = 401 if actor == "no_token" else 404 if actor in cell.unknown else 403
        if (200 <= r.status_code < 300) != (actor in cell.allowed) or (
                actor not in cell.allowed and r.status_code != want):
            wrong.append((actor, r.status_code, r.text[:200]))
        answers[actor] = r.text
    assert wrong == []
    for actor in cell.blind:
        assert cell.hidden in answers[COUNTERPART[actor]], actor
        assert cell.hidden not in answers[actor], actor
    for actor, text in answers.items():
        whole = {n for n in scene.certnos if n in text}
        if actor not in SEES_IDS:
            assert whole == set(), (actor, whole)
        elif whole:  # an answer holding ID numbers is in the masking table below
            assert route in CERTNO_ROUTES, actor


def _certnos(data: Any) -> Iterator[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "certno" and isinstance(value, str):
                yield value
            else:
                yield from _certnos(value)
    elif isinstance(data, list):
        for item in data:
            yield from _certnos(item)


@pytest.mark.parametrize("route", CERTNO_ROUTES, ids=" ".join)
def test_id_numbers_are_whole_only_for_the_roles_that_see_them(
        scene: Scene, route: tuple[str, str]) -> None:
    for actor in sorted(ROUTES[route].allowed - ROUTES[route].blind):  # blind: none of A
        r = _send(scene, route, actor)
        assert 200 <= r.status_code < 300, (actor, r.text)
        found = list(_certnos(r.json()))
        assert found, actor
        if actor in SEES_IDS:
            assert all(n in scene.certnos for n in found), (actor, found)
        else:
            assert all(MASKED.fullmatch(n) for n in found), (actor, found)


def test_a_caseworker_previews_naming_the_institution(scene: Scene) -> None:
    own, client = scene.headers["caseworker_own"], scene.world.client
    r = client.post(f"{V1}/settlements/preview", headers=own, json=visit(psn_no=PSN_A))
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.fixmedins_code"
    r = client.post(f"{V1}/settlements/preview", headers=own,
                    json=visit(psn_no=PSN_A, fixmedins_code=HOSPITAL_B))  # any institution
    assert r.status_code == 200 and r.json()["fixmedins_code"] == HOSPITAL_B


@pytest.mark.parametrize("role", ["caseworker", "auditor"])
def test_a_users_session_carries_its_role_and_scope(scene: Scene, role: str) -> None:
    """A user's login gives a session token with the user's role and district."""
    client, name = scene.world.client, f"alice-{role}"
    with UnitOfWork(scene.world.sessions) as uow:
        users.create(uow, CLI, name, "correct horse battery", role,
                     OWN if role == "caseworker" else None)
    assert client.post(f"{V1}/login", json={"username": name, "password": "nope"}
                       ).status_code == 401
    assert client.post(f"{V1}/login", json={"username": "bob", "password": "x"}
                       ).status_code == 401
    assert client.post(f"{V1}/login", json={"username": name}).status_code == 422
    r = client.post(f"{V1}/login", json={"username": name,
                                         "password": "correct horse battery"})
    assert r.status_code == 200, r.text
    assert r.json()["role"] == role and r.json()["expires_at"]
    session = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.get(f"{V1}/persons/{PSN_A}/years/2023", headers=session).status_code == 200
    # district B: outside the caseworker's district (as unknown as no person: 404); the
    # auditor reads every record
    assert client.get(f"{V1}/persons/{PSN_B}/years/2023", headers=session).status_code == (
        404 if role == "caseworker" else 200)
    assert client.get(f"{V1}/audit", headers=session).status_code == (
        200 if role == "auditor" else 403)


UNKNOWN = {"setl_id": "NO-SUCH-SETL", "psn_no": "NO-SUCH-PERSON", "app_no": "NO-SUCH-APP",
           "warning_id": 2**31 - 1, "referral_id": 2**31 - 1, "programme_id": 2**31 - 1,
           "batch_id": 2**31 - 1, "year": 2023, "indicator_id": "NO-SUCH-INDICATOR",
           "token_id": 2**31 - 1}
WITH_IDS = [r for r in ROUTES if "{" in r[1]]


@pytest.mark.parametrize("route", WITH_IDS, ids=" ".join)
def test_a_role_with_no_business_on_a_route_learns_no_ids(scene: Scene,
                                                          route: tuple[str, str]) -> None:
    # A role the route never allows, in any scope, gets 403 for an unknown id as for a
    # known one: the role is checked before the look-up, so a 404 tells it nothing.
    method, template = route
    req = ROUTES[route].request(scene)
    path = template.format(**{k: UNKNOWN[k] for k in req.path})
    roles = {a.split("_")[0] for a in ROUTES[route].allowed}
    kw: dict[str, Any] = {"params": req.params}
    if req.json is not None:
        kw["json"] = req.json
    wrong = []
    for actor in ACTORS:
        if actor == "no_token" or actor.split("_")[0] in roles:
            continue
        r = scene.world.client.request(method, path, headers=scene.headers[actor], **kw)
        if r.status_code != 403:
            wrong.append((actor, r.status_code, r.text[:160]))
    assert wrong == []
