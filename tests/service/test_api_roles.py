"""Every endpoint × role × scope: exactly the allowed cells succeed, the others are 403."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from api_helpers import World, certno, visit

from medaid.service import users
from medaid.service.auth import CLI
from medaid.service.uow import UnitOfWork

OWN, OTHER = "320102", "320106"
HOSPITAL_A, HOSPITAL_B = "H32010200001", "H32010600002"
ACTORS = ("hospital_own", "hospital_other", "caseworker_own", "caseworker_other", "finance",
          "admin", "auditor")
READERS = {"caseworker_own", "finance", "admin", "auditor"}
Request = tuple[str, str, dict[str, Any]]


def _settled(world: World, n: int) -> str:
    r = world.client.post("/api/v1/settlements", headers=world.admin, json=visit(
        medins_setl_id=f"A-{n}", fixmedins_code=HOSPITAL_A))
    assert r.status_code == 201, r.text
    return str(r.json()["setl_id"])


def _roster(n: int) -> dict[str, Any]:
    return {"jurisdiction": "nanjing", "district": OWN, "dry_run": True, "records": [
        {"name": "王五", "certno": certno(f"R-{n}"), "category": "低保",
         "start": "2023-01-01", "department": "民政"}]}


# endpoint → (who may, the request for cell n)
ENDPOINTS: dict[str, tuple[set[str], Callable[[World, int], Request]]] = {
    "preview": ({"hospital_own", "caseworker_own", "admin"}, lambda w, n: (
        "post", "/api/v1/settlements/preview", {"json": visit(fixmedins_code=HOSPITAL_A)})),
    "settle": ({"hospital_own", "admin"}, lambda w, n: (
        "post", "/api/v1/settlements",
        {"json": visit(medins_setl_id=f"S-{n}", fixmedins_code=HOSPITAL_A)})),
    "read settlement": ({"hospital_own"} | READERS, lambda w, n: (
        "get", f"/api/v1/settlements/{_settled(w, n)}", {})),
    "cancel": ({"hospital_own", "admin"}, lambda w, n: (
        "post", f"/api/v1/settlements/{_settled(w, n)}/cancel", {})),
    "read person": ({"hospital_own", "hospital_other"} | READERS, lambda w, n: (
        "get", "/api/v1/persons/P-001/years/2023", {})),
    "create person": ({"caseworker_own", "admin"}, lambda w, n: (
        "post", "/api/v1/persons", {"json": {
            "psn_no": f"N-{n}", "certno": certno(f"N-{n}"), "name": "李四",
            "jurisdiction": "nanjing", "district": OWN, "identities": []}})),
    "create institution": ({"admin"}, lambda w, n: (
        "post", "/api/v1/institutions", {"json": {
            "fixmedins_code": f"H{n:011d}", "name": "x", "jurisdiction": "nanjing",
            "district": OWN}})),
    "set parameter": ({"admin"}, lambda w, n: (
        "post", "/api/v1/parameters", {"json": {
            "jurisdiction": "nanjing", "name": "youfu_outpatient_allowance", "value": 1,
            "source": "x"}})),
    "import roster": ({"caseworker_own", "admin"}, lambda w, n: (
        "post", "/api/v1/rosters", {"json": _roster(n)})),
    "premium list": (READERS, lambda w, n: (
        "get", "/api/v1/premium-subsidies",
        {"params": {"jurisdiction": "nanjing", "year": 2023, "district": OWN}})),
    "audit log": ({"auditor"}, lambda w, n: ("get", "/api/v1/audit", {})),
}


def _actors(world: World) -> dict[str, dict[str, str]]:
    world.institution(HOSPITAL_A)
    world.institution(HOSPITAL_B, district=OTHER)
    world.person()
    return {"hospital_own": world.token("hospital", HOSPITAL_A),
            "hospital_other": world.token("hospital", HOSPITAL_B),
            "caseworker_own": world.token("caseworker", district=OWN),
            "caseworker_other": world.token("caseworker", district=OTHER),
            "finance": world.token("finance"), "admin": world.admin,
            "auditor": world.token("auditor")}


def test_every_endpoint_role_and_scope(world: World) -> None:
    actors = _actors(world)
    wrong = []
    n = 0
    for endpoint, (allowed, make) in ENDPOINTS.items():
        for actor in ACTORS:
            n += 1
            method, url, kwargs = make(world, n)
            status = world.client.request(method, url, headers=actors[actor], **kwargs
                                          ).status_code
            want_ok = actor in allowed
            if (200 <= status < 300) != want_ok or (not want_ok and status != 403):
                wrong.append((endpoint, actor, status))
    assert wrong == []


def test_a_caseworker_previews_naming_the_institution(world: World) -> None:
    _actors(world)
    own = world.token("caseworker", district=OWN)
    r = world.client.post("/api/v1/settlements/preview", headers=own, json=visit())
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.fixmedins_code"
    r = world.client.post("/api/v1/settlements/preview", headers=own,
                          json=visit(fixmedins_code=HOSPITAL_B))  # any institution
    assert r.status_code == 200 and r.json()["fixmedins_code"] == HOSPITAL_B
    assert world.client.post("/api/v1/settlements", headers=own, json=visit(
        medins_setl_id="CW-1", fixmedins_code=HOSPITAL_A)).status_code == 403


@pytest.mark.parametrize("role", ["caseworker", "auditor"])
def test_a_users_session_carries_its_role_and_scope(world: World, role: str) -> None:
    district = OWN if role == "caseworker" else None
    with UnitOfWork(world.sessions) as uow:
        users.create(uow, CLI, "alice", "correct horse battery", role, district)
    bad = world.client.post("/api/v1/login", json={"username": "alice", "password": "nope"})
    assert bad.status_code == 401
    unknown = world.client.post("/api/v1/login", json={"username": "bob", "password": "x"})
    assert unknown.status_code == 401
    assert world.client.post("/api/v1/login", json={"username": "alice"}).status_code == 422
    r = world.client.post("/api/v1/login", json={"username": "alice",
                                                 "password": "correct horse battery"})
    assert r.status_code == 200, r.text
    assert r.json()["role"] == role and r.json()["expires_at"]
    session = {"Authorization": f"Bearer {r.json()['token']}"}
    world.person()
    assert world.client.get("/api/v1/persons/P-001/years/2023", headers=session
                            ).status_code == 200
    assert world.client.get("/api/v1/audit", headers=session).status_code == (
        200 if role == "auditor" else 403)
