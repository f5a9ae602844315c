"""The batch path equals the engine to the fen, on every visit, in all five jurisdictions.

Populations are drawn with `medaid.batch.synth` (one seed per person), then settled twice: by
`engine.settle.settle_year` person by person, and by `batch.settle` over the whole
population at once. Every amount, the category, the kind settled as and the rules that
paid must be equal. Variants make the rare paths common: flags, births, disability
grades and second identities (`edgy`); insurance computed from local parameters instead
of given (`computed`); persons with visits in two years, rows of persons interleaved
(`shuffled`). A failure prints the first differing person-year as a CASE.md input.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medaid.batch import schema, synth
from medaid.batch.schema import Meta, PopulationWriter
from medaid.batch.settle import Results, settle_file, settle_population
from medaid.engine.case import dumps
from medaid.engine.settle import settle_year
from medaid.engine.types import Visit
from medaid.policy import model
from medaid.policy.model import Policy
from runs import examples

JURISDICTIONS = synth.JURISDICTIONS
VARIANTS = ("plain", "edgy", "computed", "shuffled")
# A synthetic city's insurance parameters, for visits whose hifp/hifmi are not given.
INSURANCE = {
    "basic_insurance": {"deductible": {"1": 300, "2": 600, "3": Decimal(1000)},
                        "ratio": {"1": Decimal("0.9"), "2": Decimal("0.8"),
                                  "3": Decimal("0.7")},
                        "cap": 400_000},
    "critical_illness": {"deductible": 15_000,
                         "segments": [{"upto": 100_000, "ratio": Decimal("0.6")},
                                      {"upto": None, "ratio": Decimal("0.7")}],
                         "cap": 400_000},
}


@dataclasses.dataclass
class Population:
    jurisdiction: str
    local: dict[str, object]
    persons: list[synth.PersonYear]
    rows: list[tuple[int, int]]  # file order: (person index, visit index)


def _edgy(rng: random.Random, py: synth.PersonYear) -> synth.PersonYear:
    visits = [dataclasses.replace(
        v, kind="childbirth" if rng.random() < 0.1 else v.kind,
        rare_disease=rng.random() < 0.15, heroic_injury=rng.random() < 0.15,
        referral=rng.choice(("ok", "ok", "unreferred", "unreferred_hardship")),
        location=rng.choice(("city", "province", "out_of_province")),
        medfee_sumamt=v.medfee_sumamt * 4, fulamt_ownpay_amt=v.fulamt_ownpay_amt * 4,
        overlmt_selfpay=v.overlmt_selfpay * 4, preselfpay_amt=v.preselfpay_amt * 4,
        hifp_pay=(v.hifp_pay or 0) * 4, hifmi_pay=(v.hifmi_pay or 0) * 4,
        oth_pay=v.oth_pay * 4) for v in py.visits]
    cats = synth.policy_of(py.jurisdiction).categories
    extra = synth.generate_person(rng, py.jurisdiction, py.year, category=rng.choice(cats))
    person = dataclasses.replace(
        py.person, disability_grade=rng.choice((1, 2, 3, None)),
        identities=py.person.identities + extra.identities,
        tilted_application=py.person.tilted_application or (
            extra.tilted_application if rng.random() < 0.5 else None))
    return dataclasses.replace(py, person=person, visits=visits)


def _computed(rng: random.Random, py: synth.PersonYear) -> synth.PersonYear:
    def blank(v: Visit) -> Visit:
        r = rng.random()
        level = v.hospital_level if r < 0.5 or rng.random() < 0.9 else None  # needed below
        return dataclasses.replace(
            v, hifp_pay=None if r < 0.5 else v.hifp_pay,
            hifmi_pay=None if r < 0.25 or r > 0.75 else v.hifmi_pay,
            oth_pay=0 if r < 0.5 else v.oth_pay, hospital_level=level)
    return dataclasses.replace(py, visits=[blank(v) for v in py.visits])


def population(j: str, seed: int, n_persons: int, variant: str,
               year: int | None = None) -> Population:
    rng = random.Random(seed)
    year = year or synth.pick_year(rng, j)
    local = synth.generate_local(rng, j, year)
    if variant == "shuffled":  # a parameter a later year needs (one value for both years)
        local = {**synth.generate_local(rng, j, min(year + 1, synth.LAST_YEAR)), **local}
    if variant == "computed":
        local.update(INSURANCE)
    persons = []
    for i in range(n_persons):
        prng = random.Random(seed * 1_000_003 + i)
        py = synth.generate(prng, j, year=year, pid=f"P{i:05d}")
        if variant == "edgy":
            py = _edgy(prng, py)
        elif variant == "computed":
            py = _computed(prng, py)
        elif variant == "shuffled" and year < synth.LAST_YEAR and prng.random() < 0.5:
            later = synth.generate_year(prng, j, year + 1, prng.randint(1, 10), py.person)
            mixed = list(py.visits)
            for v in later:  # interleaved: each year's own order is kept
                mixed.insert(prng.randint(0, len(mixed)),
                             dataclasses.replace(v, id=f"N{v.id}"))
            py = dataclasses.replace(py, visits=mixed)
        persons.append(py)
    rows = [(i, k) for i, py in enumerate(persons) for k in range(len(py.visits))]
    if variant == "shuffled":  # persons' rows interleaved, each person's order kept
        queues = [list(range(len(py.visits))) for py in persons]
        rows = []
        live = [i for i, q in enumerate(queues) if q]
        while live:
            i = rng.choice(live)
            rows.append((i, queues[i].pop(0)))
            if not queues[i]:
                live.remove(i)
    return Population(j, local, persons, rows)


def tables(pop: Population) -> tuple[schema.pa.Table, schema.pa.Table]:
    visits = schema.visits_table((i, pop.persons[i].visits[k]) for i, k in pop.rows)
    persons = schema.persons_table((i, py.person) for i, py in enumerate(pop.persons))
    return visits, persons


def differences(pop: Population, res: Results,
                versions: Sequence[Policy] | None = None) -> list[str]:
    """Every field where the batch result differs from the engine's, per visit."""
    versions = list(versions or model.versions(pop.jurisdiction))
    at = {row: n for n, row in enumerate(pop.rows)}
    rule_ids, rule_names = res.rules()
    out: list[str] = []
    for i, py in enumerate(pop.persons):
        engine = settle_year(versions, pop.local, py.person, py.visits).settlements
        for k, s in enumerate(engine):
            n = at[(i, k)]
            cat = int(res.category[n])
            got = {
                "hifp_pay": int(res.hifp_pay[n]), "hifmi_pay": int(res.hifmi_pay[n]),
                "oth_pay": int(res.oth_pay[n]), "base": int(res.base[n]),
                "assistance": int(res.assistance[n]), "tilted": int(res.tilted[n]),
                "special": int(res.special[n]), "reassistance": int(res.reassistance[n]),
                "maf_pay": int(res.maf_pay[n]),
                "psn_part_amt": int(res.psn_part_amt[n]),
                "category": None if cat < 0 else res.plans.categories[cat],
                "settled_as": schema.KINDS[res.settled_as[n]],
                "rules": rule_names[rule_ids[n]], "year": int(res.year[n])}
            want = {
                "hifp_pay": s.hifp_pay, "hifmi_pay": s.hifmi_pay, "oth_pay": s.oth_pay,
                "base": s.base, "assistance": s.assistance, "tilted": s.tilted,
                "special": s.special, "reassistance": s.reassistance, "maf_pay": s.maf_pay,
                "psn_part_amt": s.psn_part_amt,
                "category": s.category, "settled_as": s.settled_as,
                "rules": "+".join(s.rules), "year": s.year}
            if got != want:
                diff = {f: (got[f], want[f]) for f in got if got[f] != want[f]}
                case = dumps(synth.case_dict(dataclasses.replace(py, local=pop.local)))
                out.append(f"{pop.jurisdiction} person {py.person.id} visit {s.id}: "
                           f"(batch, engine) {diff}\n{case}")
    return out


def check(pop: Population, res: Results, versions: Sequence[Policy] | None = None) -> None:
    found = differences(pop, res, versions)
    assert not found, f"{len(found)} visits differ; the first:\n{found[0]}"


def settle(pop: Population, versions: Sequence[Policy] | None = None) -> Results:
    visits, persons = tables(pop)
    return settle_population(versions or model.versions(pop.jurisdiction), pop.local,
                             schema.visit_columns(visits), schema.person_columns(persons))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("j", JURISDICTIONS)
def test_batch_equals_engine(j: str, variant: str) -> None:
    pop = population(j, 20261123 + VARIANTS.index(variant), 160, variant)
    assert len(pop.rows) > 2000
    check(pop, settle(pop))


@pytest.mark.parametrize("j", JURISDICTIONS)
def test_batch_equals_engine_through_parquet(j: str, tmp_path: Path) -> None:
    pop = population(j, 7, 60, "edgy")
    visits, persons = tables(pop)
    path = tmp_path / "year.parquet"
    meta = Meta(schema.persons_path(path).name, {j: schema.local_json(pop.local)}, {})
    with PopulationWriter(path, meta) as w:
        half = visits.num_rows // 2  # two row groups, as a streamed file has
        w.write(visits.slice(0, half), persons)
        w.write(visits.slice(half), persons.slice(0, 0))
    res, _ = settle_file(path, model.versions(j))
    check(pop, res)


@settings(max_examples=examples(40), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), j=st.sampled_from(JURISDICTIONS),
       variant=st.sampled_from(VARIANTS), n=st.integers(1, 12))
def test_batch_equals_engine_on_any_seed(seed: int, j: str, variant: str, n: int) -> None:
    pop = population(j, seed, n, variant)
    check(pop, settle(pop))


def test_empty_population() -> None:
    pop = Population("nanjing", {}, [], [])
    assert len(settle(pop)) == 0


def _rows(res: Results, names: Sequence[str]) -> list[tuple[int, ...]]:
    return list(zip(*(getattr(res, n).tolist() for n in names), strict=True))


def test_file_order_does_not_change_a_result() -> None:
    pop = population("yichun", 11, 80, "plain")
    shuffled = dataclasses.replace(pop, rows=sorted(pop.rows, key=lambda r: (r[1], r[0])))
    a, b = settle(pop), settle(shuffled)
    names = ("assistance", "tilted", "special", "base")
    by_row_b = dict(zip(shuffled.rows, _rows(b, names), strict=True))
    assert _rows(a, names) == [by_row_b[r] for r in pop.rows]


def test_two_policy_versions_in_one_file() -> None:
    """Visits of 2023 and 2024 under two versions of a policy (a 2024 version that raises
    NJ-A2 to 95%): each visit under the version in force on its end date."""
    text = (resources.files("medaid") / "policies" / "nanjing-2023.yaml").read_text("utf-8")
    text = text.replace('version: "2023"', 'version: "2024"').replace(
        "in_force: 2023-01-01", "in_force: 2024-01-01").replace(
        "segments: [{ratio: 0.90}]", "segments: [{ratio: 0.95}]")
    assert "0.95" in text
    versions = [*model.versions("nanjing"), model.parse_policy(text, "nanjing-2024.yaml")]
    pop = population("nanjing", 31, 150, "shuffled", year=2023)
    res = settle(pop, versions)
    assert {2023, 2024} <= set(res.year.tolist())
    check(pop, res, versions)
