"""Bulk re-settlement on the batch path (`medaid ledger resettle`): on generated ledgers of
several jurisdictions, after a parameter correction, the bulk plan equals the engine's
person-year by person-year (every visit, tier, pool addition, category and rule); posted,
the ledger equals the rules; run again, it posts nothing; a person-year settled meanwhile
is planned again under its lock."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import sessionmaker

from databases import BACKENDS, migrated_database
from medaid.app import resettle, resettle_bulk
from medaid.app.ledger_load import load
from medaid.app.uow import UnitOfWork
from medaid.batch import synthfile
from medaid.batch.schema import person_columns, read_population, visit_columns
from medaid.policy import model
from medaid.store import db, ledger_check
from medaid.store.models import Adjustment, LocalParameter, PersonYear
from runs import examples

PERSONS = examples(150)  # a generated ledger's persons: 150 in CI, 30 in `make test`
CASES = [("nanjing", 2023, "income_per_capita_prev_year", "52000"),
         ("yichun", 2023, "income_per_capita_prev_year", "30000"),
         ("jiangsu", 2023, "low_income_deductible", "800")]


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    with migrated_database(request.param, tmp_path) as u:
        yield u


def _ledger(url: str, tmp_path: Path, jurisdiction: str, year: int, persons: int = PERSONS
            ) -> sessionmaker:  # type: ignore[type-arg]
    path = tmp_path / f"{jurisdiction}.parquet"
    synthfile.write(jurisdiction, persons, year, path, seed=11, workers=1)
    table, people, meta = read_population(path)
    engine = db.make_engine(url)
    with engine.begin() as conn:
        load(conn, model.versions(jurisdiction), meta.local.get(jurisdiction, {}),
             visit_columns(table), [str(v) for v in table.column("visit_id").to_pylist()],
             person_columns(people))
    return db.sessions(engine)


def _looped(sessions: sessionmaker, jurisdiction: str, year: int  # type: ignore[type-arg]
            ) -> dict[tuple[int, int], resettle.YearPlan]:
    with UnitOfWork(sessions) as uow:
        pairs = resettle.jurisdiction_years(uow, jurisdiction, year)
        return {k: p for k in pairs if not (p := resettle.plan_year(uow, *k)).clean}


def _key(p: resettle.YearPlan) -> list[tuple[object, ...]]:
    return [(c.entry.id, c.live, tuple(sorted(c.diff.items())),
             tuple(sorted(c.pool_deltas.items())), c.category, tuple(c.rule_ids), c.route)
            for c in p.changes] + [("pools", tuple(sorted((k, v) for k, v in p.pools.items() if v)),
                            p.error)]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bulk_equals_the_engine_and_posts_once(url: str, tmp_path: Path,
                                               case: tuple[str, int, str, str]) -> None:
    jurisdiction, year, name, value = case
    sessions = _ledger(url, tmp_path, jurisdiction, year)
    # as loaded, the ledger is the rules' (the loader is the batch path, checked by the
    # engine here), and the bulk path finds nothing
    assert _looped(sessions, jurisdiction, year) == {}
    with UnitOfWork(sessions) as uow:
        assert resettle_bulk.plan(uow, jurisdiction, year).plans == []
    with sessions.begin() as s:
        row = s.scalars(select(LocalParameter).where(LocalParameter.name == name)).first()
        if row is None:
            s.add(LocalParameter(jurisdiction=jurisdiction, name=name, year=year, value=value,
                                 source="test"))
        else:
            row.value = value
    looped = _looped(sessions, jurisdiction, year)
    assert looped, "the correction changes some person-years"
    with UnitOfWork(sessions) as uow:
        bulk = resettle_bulk.plan(uow, jurisdiction, year)
    assert bulk.engine_only == []
    found = {(p.person_id, p.year): p for p in bulk.plans}
    assert sorted(found) == sorted(looped)
    for k, p in looped.items():
        assert _key(found[k]) == _key(p), k
        for a, b in zip(found[k].changes, p.changes, strict=True):
            assert a.trace == b.trace
    cause = resettle.Cause("resettle", f"resettle:{jurisdiction}/{year}", "test")
    # a settlement-like write to one changed person-year after the plan: it is planned
    # again under its lock
    moved = min(found)
    with sessions.begin() as s:
        s.execute(update(PersonYear).where(PersonYear.person_id == moved[0],
                                           PersonYear.year == year)
                  .values(version=PersonYear.version + 1))
    posted = resettle_bulk.post(sessions, "test", bulk, cause)
    assert posted.replanned == 1
    assert posted.adjustments == sum(len(p.changes) for p in looped.values())
    assert _looped(sessions, jurisdiction, year) == {}
    with ledger_check.snapshot(db.make_engine(url)) as conn:
        report = ledger_check.verify(conn, audit=False)
    assert report.ok, report.problems[:5]
    with UnitOfWork(sessions) as uow:
        again = resettle_bulk.plan(uow, jurisdiction, year)
    assert again.plans == []
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Adjustment)) == posted.adjustments
        causes = set(s.scalars(select(Adjustment.cause_ref).distinct()))
    assert causes == {f"resettle:{jurisdiction}/{year}"}
