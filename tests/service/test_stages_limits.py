"""The year-end stages and person statuses against those who would misuse them: a status
period that overlaps another (an end recorded without its start), values beyond the
columns, a caseworker of another district, a jurisdiction without year-end stages, and
`medaid ledger verify` checking re-assistance and the year-end ledger against the fund
journal and the audit log. The city is tests/service/cities/mucheng-2026.yaml (see
test_stages)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from api_helpers import World
from sqlalchemy import select
from test_stages import (
    AFTER_THE_YEAR,
    HOSPITAL,
    MTS,
    SETTLE,
    STAY_1,
    STAY_2,
    city,
    expense,
    hospital,
    year_end,
)

from medaid.app import resettle, statuses
from medaid.app.auth import Actor
from medaid.app.uow import UnitOfWork
from medaid.core import clock
from medaid.core.errors import InputError
from medaid.store import ledger_check
from medaid.store.models import Adjustment, AuditEntry, YearEndPayout
from medaid_command import medaid

__all__ = ["city"]  # the fixture
STATUSES = "/api/v1/persons/P-001/statuses"


def post_status(world: World, body: Any, headers: dict[str, str] | None = None) -> Any:
    return world.client.post(STATUSES, json=body, headers=headers or world.token(
        "caseworker", district="110101"))


def recorded(world: World) -> list[tuple[str | None, str | None]]:
    r = world.client.get(STATUSES, headers=world.admin)
    assert r.status_code == 200, r.text
    return [(s["from"], s["to"]) for s in r.json()["statuses"]]


def verify(world: World) -> list[str]:
    with ledger_check.snapshot(world.client.app.state.engine) as conn:  # type: ignore[attr-defined]
        return ledger_check.verify(conn).problems


def test_an_end_recorded_without_its_start_is_refused_not_held_all_along(city: World) -> None:
    """Certified from 1 May, open; `{mts, to: 31 May}` would be a second period held from
    always to 31 May, so the person would hold the status all along: refused, naming
    from, and nothing settled again. Ended with its own start it is ended."""
    assert post_status(city, MTS).status_code == 200
    r = post_status(city, {"status": "mts", "to": "2026-05-31"})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["path"] == "$.from"
    assert error["message"].startswith("门诊特殊病种认定（mts）起～2026-05-31 与已登记的 "
                                       "2026-05-01～今 重叠")
    r = post_status(city, MTS | {"from": "2026-07-01"})  # inside the open period
    assert r.status_code == 422 and "重叠" in r.json()["error"]["message"]
    assert recorded(city) == [("2026-05-01", None)]
    assert post_status(city, MTS | {"to": "2026-05-31"}).status_code == 200
    assert post_status(city, {"status": "mts", "from": "2026-09-01"}).status_code == 200
    assert post_status(city, {"status": "mts", "to": "2025-12-31"}).status_code == 200
    assert recorded(city) == [("2026-05-01", "2026-05-31"), ("2026-09-01", None),
                              (None, "2025-12-31")]
    # an end that would reach into the next period is refused too
    r = post_status(city, MTS | {"to": "2026-09-30"})
    assert r.status_code == 422 and "2026-09-01～今" in r.json()["error"]["message"]


def test_a_status_and_a_person_number_longer_than_their_columns_are_refused(city: World
                                                                            ) -> None:
    r = post_status(city, {"status": "x" * 5000})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.status"
    assert "至多 40 个字符" in r.json()["error"]["message"]
    assert len(r.text) < 400  # the value is not echoed back
    answer = year_end(city, 422, psn_no="P" * 5000)
    assert answer["error"]["path"] == "$.psn_no" and len(str(answer)) < 400


def test_statuses_are_hidden_from_other_districts_and_every_access_is_audited(city: World
                                                                             ) -> None:
    other = city.token("caseworker", district="110102")
    unknown = city.client.get("/api/v1/persons/P-404/statuses", headers=other)
    for r in (post_status(city, MTS, other), city.client.get(STATUSES, headers=other)):
        assert r.status_code == 404 and r.json() == unknown.json() | {
            "error": unknown.json()["error"] | {"message": r.json()["error"]["message"]}}
        assert r.json()["error"]["message"] == unknown.json()["error"]["message"].replace(
            "P-404", "P-001")
    assert city.client.get(STATUSES, headers=hospital(city)).status_code == 403
    assert post_status(city, MTS, city.token("finance")).status_code == 403
    assert post_status(city, MTS, city.token("auditor")).status_code == 403
    assert recorded(city) == []
    assert post_status(city, MTS).status_code == 200
    assert city.client.get(STATUSES, headers=city.token("auditor")).status_code == 200
    with UnitOfWork(city.sessions) as uow:
        logged = [(a, o, d) for a, o, d in uow.session.execute(
            select(AuditEntry.action, AuditEntry.object, AuditEntry.detail)
            .where(AuditEntry.object == "person:P-001").order_by(AuditEntry.seq))]
    assert ("person.status", "person:P-001",
            {"status": "mts", "from": "2026-05-01", "to": None}) in logged
    assert [d for a, _, d in logged if a == "person.read"] == [{"statuses": True}] * 2


def test_a_jurisdiction_without_year_end_stages_is_refused(city: World) -> None:
    """nanjing's policy pays nothing at year end: the run is refused, naming the
    jurisdiction, rather than answer that no one was owed anything."""
    answer = year_end(city, 422, jurisdiction="nanjing")
    assert answer["error"]["path"] == "$.jurisdiction"
    assert answer["error"]["message"].startswith(
        "nanjing 2026 年施行的政策文件没有年终救助")
    assert year_end(city, 422, year=2025)["error"]["path"] == "$.jurisdiction"  # none in 2025


def test_a_person_year_whose_visits_are_all_cancelled_gets_back_to_nothing(city: World
                                                                         ) -> None:
    """Paid 5,200 at year end, then both stays cancelled: the next run recovers 5,200
    (the stage's total 0), the one after pays nothing, and the fund's expense of the year
    is what the settlements left: nothing."""
    h = hospital(city)
    ids = [city.client.post(SETTLE, headers=h, json=b).json()["setl_id"]
           for b in (STAY_1, STAY_2)]
    assert year_end(city)["amount"] == 5200
    for sid in ids:
        assert city.client.post(f"{SETTLE}/{sid}/cancel", headers=h, json={}
                                ).status_code == 201
    back = year_end(city)
    assert back["amount"] == -5200
    (stage,) = back["results"][0]["stages"]
    assert (stage["total"], stage["paid_before"], stage["visits"]) == (0, 5200, [])
    assert year_end(city)["results"] == []
    assert expense(city) == 0
    assert verify(city) == []


def test_ledger_verify_checks_reassistance_and_the_year_end_ledger(city: World) -> None:
    """A clean ledger with re-assistance, a status, year-end payouts and a recovery
    verifies; an adjustment whose tiers do not make its maf_pay, and a year-end entry the
    fund journal and the audit log know nothing of, are reported."""
    h = hospital(city)
    city.client.post(SETTLE, headers=h, json=STAY_1)
    second = city.client.post(SETTLE, headers=h, json=STAY_2).json()
    assert post_status(city, MTS).status_code == 200
    assert year_end(city)["amount"] == 1000
    city.client.post(f"{SETTLE}/{second['setl_id']}/cancel", headers=h, json={})
    assert year_end(city)["amount"] == 2200  # 9,200 above 6,000: 3,200 in all
    assert verify(city) == []
    with UnitOfWork(city.sessions) as uow:
        adj = uow.session.scalars(select(Adjustment)).first()
        assert adj is not None and adj.reassistance == -630000
        uow.session.add(Adjustment(**{
            c.name: getattr(adj, c.name) for c in Adjustment.__table__.columns
            if c.name not in ("id", "adj_id")} | {"adj_id": "forged", "reassistance": 0,
                                                 "pool_deltas": {}}))
        paid = uow.session.scalars(select(YearEndPayout).order_by(YearEndPayout.seq)).all()
        assert [(p.seq, p.amount, p.total) for p in paid] == [(1, 100000, 100000),
                                                              (2, 220000, 320000)]
        uow.session.add(YearEndPayout(**{
            c.name: getattr(paid[-1], c.name) for c in YearEndPayout.__table__.columns
            if c.name != "id"} | {"payout_id": "forged", "seq": 3, "amount": 50000,
                                 "total": 370000, "created_at": clock.now()}))
        uow.commit()
    problems = verify(city)
    assert any(p.startswith("adjustment forged: tiers do not add up: assistance 1050000 + "
                            "tilted 0 + special 0 + reassistance 0 = 1050000, not maf_pay "
                            "420000") for p in problems), problems
    assert "year-end person_year:P-001/2026 of fund mucheng/110101 2026: the year-end " \
           "ledger pays 370000, the fund journal expenses 320000" in problems
    assert "year-end person_year:P-001/2026: the year-end ledger pays 370000, its audit " \
           "entries say 320000" in problems


FUNDS = "/api/v1/funds"


def test_a_fund_year_is_not_cleared_while_a_year_end_payout_is_owed(city: World) -> None:
    """Once cleared, a fund year pays no year-end stage: so the clearing waits for them,
    naming the person-years owed. Paid (5,200), the year clears, and its assistance is
    the ledger's maf_pay and the year-end payouts together, to the fen."""
    h = hospital(city)
    with clock.frozen(datetime(2026, 6, 15, 10, 0)):
        settled = [city.client.post(SETTLE, headers=h, json=b).json() for b in (STAY_1, STAY_2)]
    clearing = {"jurisdiction": "mucheng", "district": "110101", "year": 2026,
                "cleared_on": "2027-01-20",
                "assessments": [{"fixmedins_code": HOSPITAL, "share": 1}]}
    with clock.frozen(AFTER_THE_YEAR):
        (batch,) = city.client.post(f"{FUNDS}/batches", headers=city.admin,
                                    json={"month": "2026-06"}).json()["created"]
        for step, body in (("approve", None), ("pay", {"paid_on": "2026-07-05"})):
            r = city.client.post(f"{FUNDS}/batches/{batch['id']}/{step}", headers=city.admin,
                                 json=body)
            assert r.status_code == 200, r.text
        early = city.client.post(f"{FUNDS}/clearings", headers=city.admin, json=clearing)
    assert early.status_code == 409, early.text
    assert "年终救助尚未办理完毕：P-001 1 个人员年度" in early.json()["error"]["message"]
    assert year_end(city)["amount"] == 5200
    with clock.frozen(AFTER_THE_YEAR):
        r = city.client.post(f"{FUNDS}/clearings", headers=city.admin, json=clearing)
    assert r.status_code == 201, r.text
    maf = sum(Decimal(str(s["maf_pay"])) for s in settled)
    assert maf == Decimal(30800 + 24000)
    assert Decimal(str(r.json()["assistance"])) == maf + 5200
    assert year_end(city)["results"] == []  # nothing owed, nothing refused
    assert verify(city) == []


def test_a_hospital_reads_neither_statuses_nor_year_end_payouts_in_the_persons_year(
        city: World) -> None:
    """The statuses route refuses a hospital (403); the person's year it may read (a
    person it settled for) does not list them either, nor the year-end payouts."""
    assert post_status(city, MTS).status_code == 200
    h = hospital(city)
    city.client.post(SETTLE, headers=h, json=STAY_1)
    city.client.post(SETTLE, headers=h, json=STAY_2)
    year_end(city)
    assert city.client.get(STATUSES, headers=h).status_code == 403
    seen = city.year(h, year=2026)
    assert seen["statuses"] == [] and seen["year_end"] == []
    assert "门诊特殊病种认定" not in str(seen)
    full = city.year(city.token("caseworker", district="110101"), year=2026)
    assert [s["status"] for s in full["statuses"]] == ["mts"]
    assert [e["rule"] for e in full["year_end"]] == ["MC-F"]


def test_two_overlapping_periods_recorded_at_once_are_not_both_kept(
        city: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two caseworkers record the same status from 1 May and from 1 July at the same
    moment: one is recorded, the other is refused as overlapping it (the person's row
    lock orders them; without it each would find no period to overlap while the other
    settles the person's years again, slowed down here)."""
    actor = Actor("caseworker", district="110101", subject="test")
    start = threading.Barrier(2)
    settle_again = resettle.post_persons

    def slowly(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.5)
        return settle_again(*args, **kwargs)

    monkeypatch.setattr(resettle, "post_persons", slowly)

    def one(day: str) -> str:
        start.wait()
        with UnitOfWork(city.sessions) as uow:
            try:
                statuses.record(uow, actor, "P-001", {"status": "mts", "from": day})
            except InputError as e:
                return e.message
        return "recorded"

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(one, ("2026-05-01", "2026-07-01")))
    assert sorted(a[:8] for a in answers) == ["recorded", "门诊特殊病种认定"[:8]], answers
    assert len(recorded(city)) == 1


def test_the_status_command_names_its_options_in_every_refusal(city: World, database_url: str
                                                              ) -> None:
    def refused(*args: str) -> str:
        done = medaid("person-status", *args, "--database", database_url)
        assert done.returncode == 2 and done.stdout == "", done
        return done.stderr

    assert refused("--psn-no", "P-404", "--status", "mts").startswith(
        "error: --psn-no: 未找到人员编号「P-404」")
    assert refused("--psn-no", "P-001", "--status", "mts", "--from", "2026-13-01"
                   ).startswith("error: --from: ")
    assert medaid("person-status", "--psn-no", "P-001", "--status", "mts", "--from",
                  "2026-05-01", "--database", database_url).returncode == 0
    assert refused("--psn-no", "P-001", "--status", "mts", "--to", "2026-05-31").startswith(
        "error: --from: 门诊特殊病种认定（mts）起～2026-05-31 与已登记的 2026-05-01～今 重叠")
    with clock.frozen(AFTER_THE_YEAR):
        done = medaid("year-end", "-j", "nanjing", "--year", "2026", "--database",
                      database_url)
    assert done.returncode == 2 and done.stderr.startswith(
        "error: --jurisdiction: nanjing 2026 年施行的政策文件没有年终救助")


def test_every_refusal_of_the_two_routes_says_chinese_first_naming_the_field(city: World
                                                                           ) -> None:
    for fields, path, words in (
            ({"jurisdiction": "atlantis"}, "$.jurisdiction", "没有统筹区「atlantis」的政策"),
            ({"year": "2026"}, "$.year", "应为 1990 至 2100 之间的整数年份"),
            ({"year": 1800}, "$.year", "应为 1990 至 2100"),
            ({"district": "1" * 100}, "$.district", "应为 6 位行政区划代码"),
            ({"psn_no": ""}, "$.psn_no", "必填"),
            ({"dry_run": "yes"}, "$.dry_run", "须为 true 或 false")):
        error = year_end(city, 422, **fields)["error"]
        assert (error["path"], error["message"][:len(words)]) == (path, words), error
    for body, path, words in (
            ({"status": 5}, "$.status", "应为文本"),
            ({}, "$.status", "必填"),
            (MTS | {"from": "2026-02-30"}, "$.from", "应为日期，如 2026-03-01"),
            (MTS | {"to": 20260531}, "$.to", "应为日期"),
            (MTS | {"from": "1899-12-31"}, "$.from", "认定日期须在 1900-01-01 至 2100-12-31 之间"),
            (MTS | {"to": "2101-01-01"}, "$.to", "退出日期须在 1900-01-01 至 2100-12-31 之间")):
        r = post_status(city, body)
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert (error["path"], error["message"][:len(words)]) == (path, words), error
    assert recorded(city) == []


def test_a_status_recorded_in_error_is_withdrawn_as_if_never_held(city: World,
                                                                  database_url: str) -> None:
    """Recorded for the wrong person, a status could only be ended, at the earliest on
    its first day (still held that day); withdrawn with its own from it is gone, stay 2
    is paid as before (+10,500 then −10,500) and the audit log keeps what it was."""
    h = hospital(city)
    for body in (STAY_1, STAY_2):
        assert city.client.post(SETTLE, headers=h, json=body).status_code == 201
    assert post_status(city, MTS).status_code == 200
    for body, path in ((MTS | {"withdrawn": True, "to": "2026-05-31"}, "$.to"),
                       (MTS | {"withdrawn": "yes"}, "$.withdrawn"),
                       ({"status": "mts", "from": "2026-05-02", "withdrawn": True}, "$.from")):
        r = post_status(city, body)
        assert r.status_code == 422 and r.json()["error"]["path"] == path, r.text
    r = post_status(city, {"status": "mts", "from": "2026-05-02", "withdrawn": True})
    assert r.json()["error"]["message"].startswith(
        "门诊特殊病种认定（mts）没有起始日期为 2026-05-02 的登记，无可撤销")
    r = post_status(city, MTS | {"withdrawn": True})
    assert r.status_code == 200 and r.json()["statuses"] == [], r.text
    adjustments = city.year(city.admin, year=2026)["adjustments"]
    assert [a["assistance"] for a in adjustments] == [10500, -10500]
    assert "撤销误登记的人员状态" in adjustments[-1]["reason"]
    with UnitOfWork(city.sessions) as uow:
        (last,) = uow.session.scalars(select(AuditEntry.detail).where(
            AuditEntry.action == "person.status").order_by(AuditEntry.seq.desc()).limit(1))
    assert last == {"status": "mts", "from": "2026-05-01", "to": None, "withdrawn": True}
    assert verify(city) == []
    # the command withdraws as the route does
    assert medaid("person-status", "--psn-no", "P-001", "--status", "mts", "--from",
                  "2026-05-01", "--database", database_url).returncode == 0
    done = medaid("person-status", "--psn-no", "P-001", "--status", "mts", "--from",
                  "2026-05-01", "--withdraw", "--database", database_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "P-001 已撤销 门诊特殊病种认定（mts）2026-05-01～\n"
    assert recorded(city) == []
