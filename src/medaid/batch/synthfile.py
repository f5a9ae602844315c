"""`medaid synth`: a synthetic population year written as Parquet (docs/SYNTH.md).

Each person is `synth.generate` under its own seed, `(seed << 32) | index`, so a file is
the same whatever the chunking or the number of processes, and any one person can be
regenerated alone (`person_year`). Chunks of persons are generated in worker processes
and streamed to the files in order; memory stays at a few chunks.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pyarrow as pa

from medaid.batch import synth
from medaid.batch.schema import Meta, PopulationWriter, local_json, persons_path
from medaid.batch.schema import persons_table as _persons_table
from medaid.batch.schema import visits_table as _visits_table
from medaid.core.errors import InputError
from medaid.engine.case import as_jurisdiction

CHUNK = 4_000  # persons per chunk: about 60,000 visits


def person_seed(seed: int, index: int) -> int:
    return (seed << 32) | index


def person_year(jurisdiction: str, year: int, seed: int, index: int) -> synth.PersonYear:
    """The person-year of row `index` of a file written with `seed`."""
    pid = f"{jurisdiction[:2].upper()}-{seed}-{index:08d}"
    return synth.generate(random.Random(person_seed(seed, index)), jurisdiction, year,
                          pid=pid)


def _chunk(args: tuple[str, int, int, int, int]) -> tuple[pa.Table, pa.Table]:
    jurisdiction, year, seed, lo, hi = args
    people = [person_year(jurisdiction, year, seed, i) for i in range(lo, hi)]
    visits = _visits_table((lo + k, v) for k, py in enumerate(people) for v in py.visits)
    persons = _persons_table((lo + k, py.person) for k, py in enumerate(people))
    return visits, persons


def local_of(jurisdiction: str, year: int, seed: int) -> dict[str, object]:
    """The file's local parameters: the ones the policy leaves open for the year."""
    return synth.generate_local(random.Random(seed), jurisdiction, year)


def check(jurisdiction: str, persons: int, year: int, seed: int) -> None:
    """What a synthetic year is asked for: a city with a policy (a shipped one or a
    deployment's, MEDAID_POLICY_DIR) in force that year, and counts in range."""
    as_jurisdiction(jurisdiction, "--jurisdiction")
    first = synth.policy_of(jurisdiction).in_force
    if year < first.year or year > 9999:
        raise InputError("--year", f"{jurisdiction} 的政策自 {first} 起施行，年份应不早于 "
                         f"{first.year} / the policy is in force from {first}")
    if persons < 0:
        raise InputError("--persons", "人数不能为负数 / must be ≥ 0")
    if not 0 <= seed < 2**31:
        raise InputError("--seed", f"应为 0 至 {2**31 - 1} 的整数 / out of range")


def write(jurisdiction: str, persons: int, year: int, out: str | Path, seed: int = 0,
          workers: int | None = None,
          progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
    """Write `persons` person-years; returns (persons, visits). `progress(persons, visits)`
    is called after each chunk."""
    check(jurisdiction, persons, year, seed)
    out = Path(out)
    local = local_of(jurisdiction, year, seed)
    meta = Meta(persons_path(out).name, {jurisdiction: local_json(local)},
                {"synth": {"jurisdiction": jurisdiction, "year": year, "persons": persons,
                           "seed": seed}})
    jobs = [(jurisdiction, year, seed, lo, min(persons, lo + CHUNK))
            for lo in range(0, persons, CHUNK)]
    n_visits = 0
    done = 0
    workers = workers or os.cpu_count() or 1
    with PopulationWriter(out, meta) as w:
        for visits, people in _run(jobs, workers):
            w.write(visits, people)
            done += people.num_rows
            n_visits += visits.num_rows
            if progress:
                progress(done, n_visits)
    return done, n_visits


def _run(jobs: list[tuple[str, int, int, int, int]], workers: int
         ) -> Iterator[tuple[pa.Table, pa.Table]]:
    if workers <= 1 or len(jobs) <= 1:
        yield from map(_chunk, jobs)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(_chunk, jobs)  # in order, a few chunks ahead
