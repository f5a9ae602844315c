"""Settle a population partition by partition, under one policy or under two (a reform).

Each partition (`batch.partition`: whole persons) is read, settled under every scenario,
summarised (`batch.summary`, `batch.compare`) and dropped, so memory holds a partition or
two whatever the size of the file. In each partition a random sample of person-years is
settled again by the engine under every scenario (`batch.verify`): any difference stops
the run with `EngineDifference`. The same function settles a partition in this process
or on a Dask worker (`batch.cluster`); `Collector` takes the outcomes in any order and
hands the result rows to the caller in the file's partition order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from medaid.batch import compare, partition, summary, verify
from medaid.batch.partition import Partition
from medaid.batch.schema import VISIT_INPUT, person_columns, visit_columns
from medaid.batch.settle import settle_population
from medaid.core.errors import InputError
from medaid.policy.model import Policy

_ROW = re.compile(r"^(visits|persons)\[(\d+)\]")


@dataclass(frozen=True)
class Scenario:
    name: str  # "baseline", "reform"
    versions: list[Policy]
    local: dict[str, object]


@dataclass(frozen=True)
class Outcome:
    """One partition settled under every scenario."""

    index: int
    visits: int
    totals: list[summary.Totals]  # one per scenario
    people: compare.PersonChanges | None  # with two scenarios: the second against the first
    results: pa.Table | None  # the first scenario's result rows (`schema.RESULTS`)
    checked: int = 0  # person-years settled again by the engine, equal (all scenarios)


Loaded = tuple[Partition, pa.Table, pa.Table, int | None]


def load(part: Partition, with_results: bool) -> Loaded:
    columns = [*VISIT_INPUT, "visit_id"] if with_results else VISIT_INPUT
    visits, persons, first = partition.read(part, columns)
    return part, visits, persons, first


def _located(e: InputError, part: Partition, visits: pa.Table, persons: pa.Table,
             first: int | None) -> InputError:
    """An error about row k of a partition, named by its row in the file or its person."""
    m = _ROW.match(e.path)
    if not m:
        return e
    table, row = m.group(1), int(m.group(2))
    rest = e.path[m.end():]
    if table == "visits" and first is not None:
        return InputError(f"visits[{first + row}]{rest}", e.message)
    rows = visits if table == "visits" else persons
    if row >= rows.num_rows:
        return e
    key = rows.column("person_key")[row].as_py()
    return InputError(f"{table}[person_key {key}]{rest}", e.message)


def settle_loaded(loaded: Loaded, scenarios: Sequence[Scenario], with_results: bool,
                  threads: int | None = None, sample: int = verify.SAMPLE) -> Outcome:
    """Settle a partition under every scenario; `sample` person-years of it (per
    scenario, drawn at random) are settled again by the engine and must be equal."""
    part, table, people, first = loaded
    try:
        visits = visit_columns(table)
        persons = person_columns(people)
        results = [settle_population(s.versions, s.local, visits, persons, threads)
                   for s in scenarios]
    except InputError as e:
        raise _located(e, part, table, people, first) from None
    checked = 0
    if sample > 0:
        rng = np.random.default_rng()
        ids = table.column("visit_id").to_pylist() if "visit_id" in table.column_names \
            else None
        if ids is None and first is not None:
            ids = [f"file row {first + k}" for k in range(table.num_rows)]
        for s, res in zip(scenarios, results, strict=True):
            checked += verify.check(s.versions, s.local, visits, persons, res, sample, rng,
                                    ids, s.name)
    totals = [summary.totals(r, visits) for r in results]
    people_changes = compare.person_changes(results[0], results[1]) \
        if len(results) == 2 else None
    rows = results[0].table(visits.person, table.column("visit_id")) if with_results else None
    return Outcome(part.index, len(visits), totals, people_changes, rows, checked)


def settle_partition(part: Partition, scenarios: Sequence[Scenario], with_results: bool,
                     threads: int | None = None, sample: int = verify.SAMPLE) -> Outcome:
    """Read, settle and summarise one partition (what a worker runs)."""
    return settle_loaded(load(part, with_results), scenarios, with_results, threads, sample)


@dataclass
class Collector:
    """Outcomes in, in any order; result rows out to `sink` in partition order."""

    scenarios: int
    sink: Callable[[pa.Table], None] | None = None
    totals: list[list[summary.Totals]] = field(default_factory=list)
    people: list[compare.PersonChanges] = field(default_factory=list)
    checked: int = 0  # person-years the engine settled again, equal
    _waiting: dict[int, pa.Table] = field(default_factory=dict)
    _next: int = 0

    def __post_init__(self) -> None:
        self.totals = [[] for _ in range(self.scenarios)]

    def add(self, outcome: Outcome) -> None:
        self.checked += outcome.checked
        for k, t in enumerate(outcome.totals):
            self.totals[k].append(t)
        if outcome.people is not None:
            self.people.append(outcome.people)
        if self.sink is None:
            return
        assert outcome.results is not None
        self._waiting[outcome.index] = outcome.results
        while self._next in self._waiting:
            self.sink(self._waiting.pop(self._next))
            self._next += 1

    def merged(self) -> tuple[list[summary.Totals], compare.PersonChanges | None]:
        people = compare.PersonChanges.merge(self.people) if self.people else None
        return [summary.merge(ts) for ts in self.totals], people


def run_local(parts: Sequence[Partition], scenarios: Sequence[Scenario], collector: Collector,
              progress: Callable[[Outcome], None] | None = None,
              sample: int = verify.SAMPLE) -> None:
    """Every partition in this process, in order; the next one is read while the current
    one settles (reading releases the GIL)."""
    with_results = collector.sink is not None
    with ThreadPoolExecutor(1) as reader:
        ahead: Future[Loaded] | None = reader.submit(load, parts[0], with_results) \
            if parts else None
        for k in range(len(parts)):
            assert ahead is not None
            loaded = ahead.result()
            ahead = reader.submit(load, parts[k + 1], with_results) \
                if k + 1 < len(parts) else None
            outcome = settle_loaded(loaded, scenarios, with_results, sample=sample)
            del loaded
            collector.add(outcome)
            if progress:
                progress(outcome)
