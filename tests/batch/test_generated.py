"""Generated policies and reforms: the engine, the batch kernel and DuckDB agree to the fen.

`test_differential` draws populations over the five shipped files; here hypothesis draws
the *policies* too (`policy_strategies`: every shape the schema allows) and reforms of the
shipped files, and every population is settled three ways: `engine.settle.settle_year`
person by person, `batch.settle.settle_population` (the numba kernel), and the DuckDB
formulation (`batch.sql`) over the person-years it takes. Every amount must be equal per
visit and per tier; where the engine refuses a case (a parameter missing or below its
floor) the batch path must refuse it with the same error.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from policy_strategies import locals_ as local_params
from policy_strategies import policies, populations
from pydantic import ValidationError
from test_differential import Population, check, population, settle

from medaid.batch import schema, sql, synth
from medaid.batch.schema import Meta, PopulationWriter
from medaid.batch.settle import Results
from medaid.core.errors import MedaidError, PolicyError
from medaid.engine.settle import settle_year
from medaid.engine.types import Identity, Person, Visit
from medaid.policy import model
from medaid.policy import schema as s
from medaid.policy.model import Policy, compile_policy
from medaid.policy.reform import Reformed, ReformError, parse_reform
from runs import drawn

REFORMS = Path(__file__).resolve().parents[2] / "reforms"
# 60 policies in CI, 12 in `make test` (tests/runs.py); a long hunt:
# MEDAID_GENERATED_EXAMPLES=2000 pytest tests/batch/test_generated.py
SCALE = max(1.0, drawn(60, "MEDAID_GENERATED_EXAMPLES")) / 60  # of the policies
TIERS = ("hifp_pay", "hifmi_pay", "assistance", "tilted", "special", "maf_pay")


def _engine_error(versions: Sequence[Policy], local: dict[str, object],
                  people: Sequence[tuple[Person, list[Visit]]]) -> MedaidError | None:
    for person, visits in people:
        try:
            settle_year(versions, local, person, visits)
        except MedaidError as e:
            return e
    return None


def _per_tier(pop: Population, res: Results, versions: Sequence[Policy]) -> None:
    """The year's totals by tier, engine against batch."""
    engine = {t: 0 for t in TIERS}
    for py in pop.persons:
        for st_ in settle_year(versions, pop.local, py.person, py.visits).settlements:
            for t in TIERS:
                engine[t] += getattr(st_, t)
    assert {t: int(getattr(res, t).sum()) for t in TIERS} == engine


def _duckdb(pop: Population, res: Results, versions: Sequence[Policy]) -> int:
    """Visits DuckDB settled; asserts each equals the batch path (so the engine)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "year.parquet"
        visits = schema.visits_table((i, pop.persons[i].visits[k]) for i, k in pop.rows)
        persons = schema.persons_table((i, py.person) for i, py in enumerate(pop.persons))
        meta = Meta(schema.persons_path(path).name, {}, {})
        with PopulationWriter(path, meta) as w:
            w.write(visits, persons)
        q = sql.Formulation(versions, pop.local)
        if not q.supported:
            return 0
        got = q.run(path)
        if len(got):
            bad = sql.differences(got, res, np.asarray(visits.column("person_key")))
            assert bad == 0, f"DuckDB differs on {bad} visits ({q.reason or 'supported'})"
        return len(got)


def three_ways(pop: Population, versions: Sequence[Policy]) -> int:
    """Engine == kernel per visit and per tier, and == DuckDB where it takes the
    person-year; where the engine refuses, the batch path refuses alike."""
    error = _engine_error(versions, pop.local, [(py.person, py.visits) for py in pop.persons])
    if error is not None:
        with pytest.raises(MedaidError) as batch:
            settle(pop, versions)
        assert type(batch.value) is type(error)
        if "visits[" not in str(error):
            assert str(batch.value) == str(error)
        return 0
    res = settle(pop, versions)
    check(pop, res, versions)
    _per_tier(pop, res, versions)
    return _duckdb(pop, res, versions)


def _compiled(data: dict[str, object]) -> Policy:
    try:
        return compile_policy(s.PolicyFile.model_validate(data), "generated.yaml")
    except (ValidationError, PolicyError):
        assume(False)
        raise


@settings(max_examples=round(60 * SCALE), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_generated_policies_settle_alike(data: st.DataObject) -> None:
    policy = _compiled(data.draw(policies(), label="policy"))
    local = data.draw(local_params(), label="local")
    people = data.draw(populations(list(policy.categories)), label="population")
    pop = Population("gen", local, [synth.PersonYear("gen", 2024, p, v, {}) for p, v in people],
                     [(i, k) for i, (_, v) in enumerate(people) for k in range(len(v))])
    three_ways(pop, [policy])


def test_the_generated_shapes_reach_duckdb_and_errors() -> None:
    """The strategies are not vacuous: a fixed draw of many examples reaches the DuckDB
    formulation, the kernel's alternatives, pools per visit, composed bases and the
    engine's refusals."""
    seen = {"duckdb": 0, "alternative": 0, "error": 0, "visit_pool": 0, "base_parts": 0}

    @settings(max_examples=200, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        policy = _compiled(data.draw(policies()))
        local = data.draw(local_params())
        people = data.draw(populations(list(policy.categories)))
        pop = Population("gen", local,
                         [synth.PersonYear("gen", 2024, p, v, {}) for p, v in people],
                         [(i, k) for i, (_, v) in enumerate(people) for k in range(len(v))])
        seen["alternative"] += bool(policy.alternative_lines)
        seen["visit_pool"] += bool(policy.visit_pools)
        seen["base_parts"] += any(isinstance(ln.spec.base, s.Base) for ln in policy.lines)
        if _engine_error([policy], local, people) is not None:
            seen["error"] += 1
        seen["duckdb"] += three_ways(pop, [policy]) > 0

    run()
    assert all(seen.values()), seen


# -- reforms ---------------------------------------------------------------------------------
def _reformed_local(done: Reformed, local: dict[str, object]) -> dict[str, object]:
    """The population's local parameters under a reform: those the reform's `parameters`
    edit are left to the policy file (as `simulate` asks the user to do), then its own."""
    hidden = {name for _, name in done.overridden(local)}
    return done.local_for({k: v for k, v in local.items() if k not in hidden})


def _rule_ops(policy: Policy) -> list[st.SearchStrategy[dict[str, object]]]:
    curve = sorted({ln.rule for ln in policy.lines if ln.spec.grant is None})
    capped = sorted({(ln.rule, c.pool) for ln in policy.lines for c in ln.spec.caps
                     if not isinstance(c.amount, s.ParamRef)})
    cats = list(policy.categories)
    kinds = list(s.KINDS)
    rules = sorted({ln.rule for ln in policy.lines})
    cap_pools = sorted({c.pool for ln in policy.lines for c in ln.spec.caps})
    ratio = st.sampled_from(("0.5", "0.75", "0.85", "0.95", "1"))
    ops: list[st.SearchStrategy[dict[str, object]]] = [
        st.builds(lambda r, x: {"rule": r, "set": {"segments": [{"ratio": x}]}},
                  st.sampled_from(curve), ratio),
        st.builds(lambda r, d: {"rule": r, "set": {"deductible": d}},
                  st.sampled_from(curve), st.integers(0, 5000)),
        st.builds(lambda r, c: {"rule": r, "add_categories": [c]},
                  st.sampled_from(rules), st.sampled_from(cats)),
        # a grant line before the curve lines of the same visits (max(0, …) on what follows)
        st.builds(lambda c, k, g, a: {"add_line": {
            "rule": "X-G", "article": "proposal", "categories": c, "kinds": k, "grant": g},
            "after": a}, st.sampled_from(["*", cats[:1]]), st.sampled_from(["*", kinds[:3]]),
            st.integers(1, 3000), st.sampled_from(rules)),
        # a curve line on a shared cap pool with a cap of its own, maybe alternative
        st.builds(lambda c, k, pool, cap, alt, ab: {"add_line": {
            "rule": "X-L", "article": "proposal", "categories": c, "kinds": k,
            "segments": [{"ratio": "0.6"}], "deductible": 100, "alternative": alt,
            "base": ab, **({"caps": [{"pool": pool, "amount": cap}]} if pool else {})}},
            st.sampled_from([cats, cats[:1]]), st.sampled_from([kinds, kinds[:2]]),
            st.sampled_from([None, *cap_pools]), st.integers(1, 20000), st.booleans(),
            st.sampled_from(["after_all_funds", "after_basic"])),
    ]
    if capped:
        ops.append(st.builds(lambda rc, a: {"rule": rc[0], "caps": {rc[1]: a}},
                             st.sampled_from(capped), st.integers(1, 100000)))
    if policy.spec.tilted is not None:
        ops.append(st.builds(lambda d: {"section": "tilted", "set": {"deductible": d}},
                             st.integers(0, 30000)))
    if policy.spec.windows.end == "month_end":
        ops.append(st.builds(lambda cs: {"section": "windows",
                                         "set": {"month_end_categories": cs}},
                             st.lists(st.sampled_from(cats), unique=True)))
    return ops


@settings(max_examples=round(15 * SCALE), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), j=st.sampled_from(synth.JURISDICTIONS), seed=st.integers(0, 2**20))
def test_generated_reforms_settle_alike(data: st.DataObject, j: str, seed: int) -> None:
    (policy,) = model.versions(j)[-1:]
    ops = data.draw(st.lists(st.one_of(_rule_ops(policy)), min_size=1, max_size=3),
                    label="operations")
    text = yaml.safe_dump({"title": "t", "policy": j, "question": "q", "operations": ops},
                          allow_unicode=True)
    try:
        done = parse_reform(text, "generated-reform.yaml").apply(model.versions(j))
    except ReformError:
        assume(False)
        raise
    pop = population(j, seed, 8, data.draw(st.sampled_from(("plain", "edgy", "computed"))))
    pop.local = _reformed_local(done, pop.local)
    three_ways(pop, done.versions)


@pytest.mark.parametrize("path", sorted(REFORMS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_reform_settles_alike(path: Path) -> None:
    """Each file of reforms/ through the engine, the kernel and DuckDB, on a population
    that makes the rare paths common."""
    r = parse_reform(path.read_text("utf-8"), path.name)
    done = r.apply(model.versions(r.jurisdiction))
    for variant in ("plain", "edgy"):
        pop = population(r.jurisdiction, 20261204, 60, variant, year=2024)
        pop.local = _reformed_local(done, pop.local)
        covered = three_ways(pop, done.versions)
        assert variant == "edgy" or covered > 0, "DuckDB took no person-year"


def _tilted_by_category(pools: bool) -> Policy:
    """A fixed policy whose tilted assistance pays on most visits, with values by category
    (c0 90% within 5,000; c1 50%; c2 tilted's own 60%; c3 none), maybe on a pool per visit."""
    data = {
        "jurisdiction": "gen", "name": "generated", "version": "1", "in_force": "2020-01-01",
        "document": {"file": "gen.txt", "title": "generated"},
        "categories": [{"id": c, "label": c} for c in ("c0", "c1", "c2", "c3")],
        "windows": {"rule": "W", "article": "w", "start": "exact", "end": "exact",
                    "stay_rule": True},
        "lines": [{"rule": "A", "article": "a", "categories": "*", "kinds": "*", "pool": "main",
                   "deductible": 100, "segments": [{"ratio": "0.7"}],
                   "caps": [{"pool": "main_cap", "amount": 2000}]}],
        "tilted": {"rule": "T", "article": "t", "base": "remainder", "kinds": "*",
                   "locations": ["city", "province", "out_of_province"],
                   "referral": ["ok", "unreferred", "unreferred_hardship"],
                   "segments": [{"ratio": "0.6"}], "categories": ["c0", "c1", "c2"],
                   "by_category": [
                       {"categories": ["c0"], "segments": [{"ratio": "0.9"}],
                        "caps": [{"pool": "c0_cap", "amount": 5000}]},
                       {"categories": ["c1"], "deductible": 50,
                        "segments": [{"ratio": "0.5"}]}]},
    }
    if pools:
        data["pools"] = {"main": {}, "main_cap": {}, "c0_cap": {"period": "visit"},
                         "tilted": {"period": "visit"}}
    return compile_policy(s.PolicyFile.model_validate(data), "generated.yaml")


@pytest.mark.parametrize("pools", [False, True], ids=["yearly", "per-visit"])
def test_tilted_assistance_by_category_settles_alike(pools: bool) -> None:
    """Engine, kernel and DuckDB on tilted assistance with values by category: drawn
    populations, then one person per category with the same three stays, where each
    category's entry pays its own amount (c3, which tilted assistance leaves out, nothing)."""
    policy = _tilted_by_category(pools)

    @settings(max_examples=15, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(people=populations(list(policy.categories), max_persons=6))
    def run(people: list[tuple[Person, list[Visit]]]) -> None:
        three_ways(_population(people), [policy])

    run()
    day = date(2024, 3, 1)
    stays = [Visit(f"V{k}", "inpatient", day + timedelta(days=10 * k),
                   day + timedelta(days=10 * k + 3), total, hifp_pay=0, hifmi_pay=0)
             for k, total in enumerate((300_000, 800_000, 50_000))]
    people = [(Person(c, (Identity(c, date(2024, 1, 1)),)), stays) for c in policy.categories]
    assert three_ways(_population(people), [policy]) == len(people) * len(stays)  # DuckDB too
    tilted = {p.id: [st_.tilted for st_ in settle_year([policy], {}, p, v).settlements]
              for p, v in people}
    assert tilted["c3"] == [0, 0, 0]
    assert len({tuple(tilted[c]) for c in ("c0", "c1", "c2")}) == 3, tilted


def _population(people: Sequence[tuple[Person, list[Visit]]]) -> Population:
    return Population("gen", {}, [synth.PersonYear("gen", 2024, p, v, {}) for p, v in people],
                      [(i, k) for i, (_, v) in enumerate(people) for k in range(len(v))])
