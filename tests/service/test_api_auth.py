"""401 without a valid token, 403 outside the token's role or scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import World, visit
from sqlalchemy import select, update

from medaid.app import users
from medaid.app.auth import CLI, token_hash
from medaid.app.uow import UnitOfWork
from medaid.core import clock
from medaid.store.models import Settlement, Token

SETTLE = "/api/v1/settlements"
ROUTES = [("post", "/api/v1/settlements/preview"), ("post", SETTLE),
          ("get", f"{SETTLE}/x"), ("post", f"{SETTLE}/x/cancel"),
          ("get", "/api/v1/persons/P-001/years/2023"), ("post", "/api/v1/persons"),
          ("post", "/api/v1/institutions"), ("post", "/api/v1/parameters")]


@pytest.mark.parametrize(("method", "url"), ROUTES)
@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer nope", "Basic abc"])
def test_no_valid_token_is_401(world: World, method: str, url: str,
                               authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    r = world.client.request(method, url, headers=headers, json=visit())
    assert r.status_code == 401, r.text
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert r.json()["error"]["message"]


def _expire(world: World, headers: dict[str, str], **values: datetime) -> None:
    token = headers["Authorization"].split()[1]
    with UnitOfWork(world.sessions) as uow:
        uow.session.execute(update(Token).where(Token.token_hash == token_hash(token))
                            .values(**values))
        uow.commit()


def test_revoked_and_expired_tokens_are_401(world: World) -> None:
    h = world.institution()
    world.person()
    assert world.client.post(SETTLE + "/preview", headers=h, json=visit()).status_code == 200
    _expire(world, h, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert world.client.post(SETTLE + "/preview", headers=h, json=visit()).status_code == 401
    _expire(world, h, expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert world.client.post(SETTLE + "/preview", headers=h, json=visit()).status_code == 200
    _expire(world, h, revoked_at=datetime.now(UTC))
    assert world.client.post(SETTLE + "/preview", headers=h, json=visit()).status_code == 401


def test_a_settlement_refuses_a_revoked_or_expired_token_first_and_writes_nothing(
        world: World) -> None:
    """A settlement reads its token with the person and the lock on their year (one
    statement on PostgreSQL): a token expired, revoked or expired by the clock is still a
    401 at once, before an unknown person's 404, and nothing is written."""
    h = world.institution()
    world.person()

    def settle(n: str, **fields: str) -> int:
        return world.client.post(SETTLE, headers=h, json=visit(
            medins_setl_id=n, mdtrt_id=n, **fields)).status_code

    assert settle("A") == 201
    _expire(world, h, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert (settle("B"), settle("C", psn_no="P-404")) == (401, 401)
    _expire(world, h, expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert (settle("D"), settle("E", psn_no="P-404")) == (201, 404)
    with clock.frozen(datetime.now(UTC) + timedelta(hours=2)):
        assert settle("F") == 401
    _expire(world, h, revoked_at=datetime.now(UTC))
    assert (settle("G"), settle("H", medfee_sumamt="x")) == (401, 401)
    with UnitOfWork(world.sessions) as uow:
        assert uow.session.scalars(select(Settlement.medins_setl_id).order_by(
            Settlement.id)).all() == ["A", "D"]


def test_a_deactivated_users_sessions_stop_at_once(world: World) -> None:
    with UnitOfWork(world.sessions) as uow:
        users.create(uow, CLI, "li", "a long password 1", "auditor")
    sessions = [world.client.post("/api/v1/login", json={
        "username": "li", "password": "a long password 1"}).json()["token"] for _ in range(2)]
    for token in sessions:
        h = {"Authorization": f"Bearer {token}"}
        assert world.client.get("/api/v1/audit", headers=h).status_code == 200
    with UnitOfWork(world.sessions) as uow:
        assert users.deactivate(uow, CLI, "li") == 2
    for token in sessions:
        h = {"Authorization": f"Bearer {token}"}
        assert world.client.get("/api/v1/audit", headers=h).status_code == 401
    assert world.client.post("/api/v1/login", json={
        "username": "li", "password": "a long password 1"}).status_code == 401


@pytest.fixture
def two_hospitals(world: World) -> tuple[dict[str, str], dict[str, str], str]:
    mine = world.institution("H32010200001")
    other = world.institution("H32010600002", district="320106")
    world.person()
    setl_id = world.client.post(SETTLE, headers=mine, json=visit()).json()["setl_id"]
    return mine, other, setl_id


def test_hospital_acts_only_for_its_institution(
        world: World, two_hospitals: tuple[dict[str, str], dict[str, str], str]) -> None:
    mine, other, setl_id = two_hospitals
    assert world.client.get(f"{SETTLE}/{setl_id}", headers=mine).status_code == 200
    # reading another's: the answer for an id that exists nowhere (docs/SECURITY.md)
    theirs = world.client.get(f"{SETTLE}/{setl_id}", headers=other)
    nowhere = world.client.get(f"{SETTLE}/{'0' * 32}", headers=other)
    assert (theirs.status_code, theirs.json()["error"]["message"]) == (
        404, f"未找到结算「{setl_id}」 / no settlement {setl_id!r}")
    assert nowhere.status_code == 404 and nowhere.json()["error"]["path"] == "setl_id"
    assert world.client.post(f"{SETTLE}/{setl_id}/cancel", headers=other).status_code == 403
    r = world.client.post(SETTLE, headers=other, json=visit(
        medins_setl_id="S-9", fixmedins_code="H32010200001"))
    assert r.status_code == 403
    assert r.json()["error"]["message"].startswith("此令牌只能为定点医药机构 ")
    r = world.client.post(SETTLE, headers=mine, json=visit(
        medins_setl_id="S-9", fixmedins_code="H32010200001"))
    assert r.status_code == 201
    # the same medins_setl_id at another institution is another settlement
    assert world.client.post(SETTLE, headers=other, json=visit()).status_code == 201


def test_hospital_sees_only_its_own_settlements_in_a_year(
        world: World, two_hospitals: tuple[dict[str, str], dict[str, str], str]) -> None:
    mine, other, setl_id = two_hospitals
    assert [s["setl_id"] for s in world.year(mine)["settlements"]] == [setl_id]
    # a hospital that never settled for the person: as unknown to it as no person at all
    r = world.client.get("/api/v1/persons/P-001/years/2023", headers=other)
    unknown = world.client.get("/api/v1/persons/P-404/years/2023", headers=other)
    assert r.status_code == unknown.status_code == 404
    assert r.json()["error"]["message"].replace("P-001", "P-404") == \
        unknown.json()["error"]["message"]
    assert world.client.post(SETTLE, headers=other, json=visit(medins_setl_id="S-2")
                             ).status_code == 201
    other_year = world.year(other)  # once it has settled for them: its own settlements only
    assert [s["setl_id"] for s in other_year["settlements"]] != [setl_id]
    assert len(other_year["settlements"]) == 1
    assert len(world.year(world.admin)["settlements"]) == 2


@pytest.mark.parametrize("role", ["caseworker", "finance", "auditor"])
def test_only_hospitals_and_admins_settle(world: World, role: str) -> None:
    """A caseworker of the person's district may preview (test_api_roles), not settle."""
    world.institution()
    world.person()
    h = world.token(role, district="320102")
    for url, caseworker in ((SETTLE, 403), (SETTLE + "/preview", 200)):
        r = world.client.post(url, headers=h, json=visit(fixmedins_code="H32010200001"))
        assert r.status_code == (caseworker if role == "caseworker" else 403), (role, url)


@pytest.mark.parametrize(("role", "district", "status"), [
    ("auditor", None, 200), ("finance", None, 200), ("admin", None, 200),
    ("caseworker", "320102", 200), ("caseworker", "320106", 404)])
def test_who_reads_a_settlement_and_a_year(
        world: World, two_hospitals: tuple[dict[str, str], dict[str, str], str], role: str,
        district: str | None, status: int) -> None:
    _, _, setl_id = two_hospitals
    h = world.token(role, district=district)
    # another district's settlement and person: as if they did not exist
    assert world.client.get(f"{SETTLE}/{setl_id}", headers=h).status_code == status
    r = world.client.get("/api/v1/persons/P-001/years/2023", headers=h)
    assert r.status_code == status
    assert world.client.post(f"{SETTLE}/{setl_id}/cancel", headers=h).status_code == (
        201 if role == "admin" else 403)


def test_registry_writes_by_role(world: World) -> None:
    hospital = world.institution()
    person = {"psn_no": "P-9", "certno": "11010519491231002X", "name": "李四",
              "jurisdiction": "nanjing", "district": "320102", "identities": []}
    assert world.client.post("/api/v1/persons", headers=hospital, json=person
                             ).status_code == 403
    other_district = world.token("caseworker", district="320106")
    assert world.client.post("/api/v1/persons", headers=other_district, json=person
                             ).status_code == 403
    own_district = world.token("caseworker", district="320102")
    assert world.client.post("/api/v1/persons", headers=own_district, json=person
                             ).status_code == 201
    inst = {"fixmedins_code": "H32010200009", "name": "x", "jurisdiction": "nanjing",
            "district": "320102"}
    for h in (hospital, own_district):
        assert world.client.post("/api/v1/institutions", headers=h, json=inst
                                 ).status_code == 403
        assert world.client.post("/api/v1/parameters", headers=h, json={
            "jurisdiction": "nanjing", "name": "youfu_outpatient_allowance", "value": 1,
            "source": "x"}).status_code == 403
