"""Refusals a caseworker, a clerk or an official reads say Chinese first (roles by their
labels, choices by theirs), the JSON path where the contract names one, medaid's English
after."""

from __future__ import annotations

from api_helpers import World
from sqlalchemy import select

from medaid.app.uow import UnitOfWork
from medaid.store.models import LocalParameter

OWN = "320102"


def _error(r: object) -> dict[str, str]:
    body = r.json()  # type: ignore[attr-defined]
    return dict(body["error"])


def test_a_role_refused_reads_which_roles_may(world: World) -> None:
    cw = world.token("caseworker", district=OWN)
    r = world.client.post("/api/v1/institutions", headers=cw, json={
        "fixmedins_code": "H32010200009", "name": "医院", "jurisdiction": "nanjing",
        "district": OWN})
    assert r.status_code == 403
    assert _error(r)["message"].startswith("区经办无权办理此项（须为市级管理员）")


def test_an_institution_refused_by_field(world: World) -> None:
    r = world.client.post("/api/v1/institutions", headers=world.admin, json={
        "fixmedins_code": "H1", "name": "医院", "jurisdiction": "nanjing", "district": OWN})
    assert r.status_code == 422 and _error(r)["path"] == "$.fixmedins_code"
    assert _error(r)["message"].startswith("定点医药机构编号应为 12 位")


def test_warning_filters_name_their_choices_in_chinese(world: World) -> None:
    for params, path, words in (
            ({"status": "x"}, "status", "应为新预警、已核实"),
            ({"jurisdiction": "atlantis"}, "jurisdiction", "没有统筹区「atlantis」的政策")):
        r = world.client.get("/api/v1/warnings", headers=world.admin, params=params)
        assert r.status_code == 422 and _error(r)["path"] == path, r.text
        assert _error(r)["message"].startswith(words), r.text


def test_a_parameter_nobody_declared_lists_those_that_are(world: World) -> None:
    r = world.client.post("/api/v1/parameters", headers=world.admin, json={
        "jurisdiction": "nanjing", "name": "bogus", "value": 1, "year": 2023,
        "source": "测试"})
    assert r.status_code == 422 and _error(r)["path"] == "$.name"
    assert _error(r)["message"].startswith("nanjing 没有本地参数「bogus」（可设定：")
    assert "income_per_capita_prev_year" in _error(r)["message"]


def test_an_application_state_filter_names_the_states(world: World) -> None:
    r = world.client.get("/api/v1/applications", headers=world.admin, params={"state": "lost"})
    assert r.status_code == 422 and _error(r)["path"] == "state"
    assert _error(r)["message"].startswith("应为草稿、已提交、审核中")


def test_a_parameter_below_its_floor_is_refused_before_it_is_stored(world: World) -> None:
    """Jiangsu's key_ratio may not be below 0.70 (JS-A1): 0.50 is a 422 naming the value,
    and nothing is stored."""
    r = world.client.post("/api/v1/parameters", headers=world.admin, json={
        "jurisdiction": "jiangsu", "name": "key_ratio", "value": 0.5, "year": 2023,
        "source": "测试"})
    assert r.status_code == 422 and _error(r)["path"] == "$.value", r.text
    assert "0.7" in _error(r)["message"]
    with UnitOfWork(world.sessions) as uow:
        assert uow.session.scalars(select(LocalParameter).where(
            LocalParameter.name == "key_ratio")).first() is None
