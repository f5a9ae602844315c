"""`medaid synth` and `medaid simulate` through the real command; the Parquet contract; the
DuckDB formulation equal to the batch path on the visits it expresses; errors as the
engine reports them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from medaid.batch import schema, sql, synth, synthfile, verify
from medaid.batch.settle import Results, settle_file, settle_population
from medaid.core.errors import InputError, MissingParameter
from medaid.engine.settle import settle_year
from medaid.policy import model

MEDAID = [sys.executable, "-m", "medaid"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MEDAID, *args], capture_output=True, text=True, timeout=300,
                          check=False)


@pytest.fixture(scope="module")
def year_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pop") / "nanjing.parquet"
    done = run("synth", "--jurisdiction", "nanjing", "--persons", "300", "--year", "2024",
               "--out", str(path), "--seed", "9", "--workers", "1")
    assert done.returncode == 0, done.stderr
    return path


def test_synth_writes_the_documented_schema(year_file: Path) -> None:
    visits = pq.read_table(year_file)
    persons = pq.read_table(schema.persons_path(year_file))
    assert visits.schema.remove_metadata() == schema.VISITS
    assert persons.schema.remove_metadata() == schema.PERSONS
    meta = schema.read_meta(year_file)
    assert meta.persons == "nanjing.persons.parquet"
    assert meta.extra["synth"]["seed"] == 9
    assert "income_per_capita_prev_year" in meta.local["nanjing"]
    assert persons.num_rows == 300


def test_synth_is_its_seed_person_by_person(year_file: Path) -> None:
    """Row k of the file is `synthfile.person_year(…, k)`: chunking changes nothing."""
    visits = pq.read_table(year_file).to_pylist()
    py = synthfile.person_year("nanjing", 2024, 9, 17)
    mine = [v for v in visits if v["person_key"] == 17]
    assert [v["medfee_sumamt"] for v in mine] == [v.medfee_sumamt for v in py.visits]
    assert [v["kind"] for v in mine] == [v.kind for v in py.visits]


def test_simulate_equals_the_engine_and_prints_totals(year_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.parquet"
    done = run("simulate", str(year_file), "--policy", "nanjing", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "by tier" in done.stdout and "by category" in done.stdout
    assert "by visit kind" in done.stdout
    assert "engine check: 32 person-years, drawn at random, settled again by the engine: " \
        "equal to the fen" in done.stdout
    results = pq.read_table(out)
    assert results.schema.remove_metadata() == schema.RESULTS
    local = schema.read_meta(year_file).local["nanjing"]
    rows = results.to_pylist()
    at = 0
    for k in range(300):
        py = synthfile.person_year("nanjing", 2024, 9, k)
        for s in settle_year(model.versions("nanjing"), local, py.person,
                             py.visits).settlements:
            r = rows[at]
            at += 1
            assert (r["person_key"], r["visit_id"]) == (k, s.id)
            assert (r["assistance"], r["tilted"], r["special"], r["maf_pay"],
                    r["psn_part_amt"], r["category"], r["rules"]) == (
                s.assistance, s.tilted, s.special, s.maf_pay, s.psn_part_amt, s.category,
                "+".join(s.rules))
    assert at == len(rows)
    total = sum(r["maf_pay"] for r in rows)
    assert f"{total // 100}.{total % 100:02d}" in done.stdout


def test_simulate_fails_loudly_when_the_batch_path_leaves_the_engine(
        year_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel that paid one fen too much on every visit: the engine's re-settlement of a
    random sample catches it; exit status 1, the person-year, visit and amounts named."""
    from typer.testing import CliRunner

    from medaid.batch import stream
    from medaid.cli import main as cli

    real = stream.settle_population

    def off_by_a_fen(*args: object, **kwargs: object) -> Results:
        res = real(*args, **kwargs)  # type: ignore[arg-type]
        res.assistance[:] += 1
        return res

    monkeypatch.setattr(stream, "settle_population", off_by_a_fen)
    done = CliRunner().invoke(cli.app, ["simulate", str(year_file), "--policy", "nanjing"])
    assert done.exit_code == 1, done.output
    message = done.stderr if hasattr(done, "stderr") else done.output
    assert re.search(r"error: the batch path and the engine differ on baseline: person_key "
                     r"\d+, year 2024, visit \d+ of \d+ \(file row \d+\): "
                     r"assistance batch \d+\.\d\d, engine \d+\.\d\d", message), message
    assert "by tier" not in done.stdout
    # --verify 0: no check, the wrong totals go through (the default never does that)
    done = CliRunner().invoke(cli.app, ["simulate", str(year_file), "--policy", "nanjing",
                                        "--verify", "0"])
    assert done.exit_code == 0 and "engine check" not in done.stdout


def test_verify_names_the_first_difference() -> None:
    pop_rng = __import__("random").Random(12)
    people = [synth.generate(pop_rng, "yichun", year=2024, pid=f"P{i}") for i in range(20)]
    visits = schema.visit_columns(schema.visits_table(
        (i, v) for i, py in enumerate(people) for v in py.visits))
    persons = schema.person_columns(schema.persons_table(
        (i, py.person) for i, py in enumerate(people)))
    local = people[0].local
    res = settle_population(model.versions("yichun"), local, visits, persons)
    rng = np.random.default_rng(1)
    assert verify.check(model.versions("yichun"), local, visits, persons, res, 100, rng) == 20
    res.category[:] = -1  # no category in force for any visit
    with pytest.raises(verify.EngineDifference, match=r"person_key \d+, year 2024"
                       r", visit 1 of \d+ \(row \d+\): category batch None, "
                       r"engine '"):
        verify.check(model.versions("yichun"), local, visits, persons, res, 5, rng)


def test_simulate_errors_are_one_line(tmp_path: Path) -> None:
    done = run("simulate", str(tmp_path / "missing.parquet"), "--policy", "nanjing")
    assert done.returncode == 2 and done.stderr.startswith("error: ")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("j", synth.JURISDICTIONS)
def test_duckdb_equals_the_batch_path(j: str, tmp_path: Path) -> None:
    path = tmp_path / f"{j}.parquet"
    year = max(2024, synth.policy_of(j).in_force.year)  # a year the policy is in force
    synthfile.write(j, 400, year, path, seed=3, workers=1)
    res, _ = settle_file(path, model.versions(j))
    q = sql.Formulation(model.versions(j), schema.read_meta(path).local[j])
    got = q.run(path)
    assert len(got) > 0.5 * len(res)  # persons of one identity, insurance given
    table = pq.read_table(path, columns=["person_key"])
    assert sql.differences(got, res, table.column("person_key").to_numpy()) == 0


def test_a_missing_parameter_is_the_engines_error(tmp_path: Path) -> None:
    py = synth.generate(__import__("random").Random(4), "jiangsu", year=2024, n_visits=20)
    person = py.person.__class__(py.person.id, (py.person.identities[0].__class__(
        "low_income", py.person.identities[0].start.replace(year=2020)),))
    local = {k: v for k, v in py.local.items() if k != "low_income_ratio"}
    with pytest.raises(MissingParameter) as engine:
        settle_year(model.versions("jiangsu"), local, person, py.visits)
    visits = schema.visits_table((0, v) for v in py.visits)
    persons = schema.persons_table([(0, person)])
    with pytest.raises(MissingParameter) as batch:
        settle_population(model.versions("jiangsu"), local, schema.visit_columns(visits),
                          schema.person_columns(persons))
    assert str(batch.value) == str(engine.value)


def test_bad_visits_are_located() -> None:
    py = synth.generate(__import__("random").Random(5), "nanjing", year=2024, n_visits=3)
    visits = schema.visits_table((7, v) for v in py.visits)
    persons = schema.persons_table([(0, py.person)])
    with pytest.raises(InputError, match=r"visits\[0\]\.person_key"):
        settle_population(model.versions("nanjing"), {}, schema.visit_columns(visits),
                          schema.person_columns(persons))
    bad = visits.set_column(visits.schema.get_field_index("medfee_sumamt"), "medfee_sumamt",
                            __import__("pyarrow").array([-1] * visits.num_rows))
    with pytest.raises(InputError, match=r"visits\[0\]\.medfee_sumamt: must be ≥ 0"):
        schema.visit_columns(bad)
