"""Settling a file partition by partition — in this process, from hashed pieces, or on a
Dask LocalCluster of two workers — gives what settling it whole gives."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medaid.batch import partition, schema, summary, synthfile
from medaid.batch.settle import settle_file
from medaid.batch.stream import Collector, Scenario, run_local
from medaid.core.errors import InputError
from medaid.policy import model
from medaid.policy.reform import parse_reform

J = "changzhou"
REFORM = """title: t
policy: changzhou
question: q
operations:
  - {rule: CZ-A2, set: {segments: [{ratio: 0.85}]}}
"""


@pytest.fixture(scope="module")
def year_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pop") / "cz.parquet"
    synthfile.write(J, 1200, 2024, path, seed=4, workers=1)  # 4,000 persons per row group
    return path


def scenarios(path: Path, reform: bool = False) -> list[Scenario]:
    local = schema.read_meta(path).local[J]
    out = [Scenario("baseline", model.versions(J), local)]
    if reform:
        done = parse_reform(REFORM, "r.yaml").apply(model.versions(J))
        out.append(Scenario("reform", done.versions, done.local_for(local)))
    return out


def streamed(path: Path, target: int, reform: bool = False,
             pieces: partition.Pieces | None = None) -> tuple[Collector, pa.Table, int]:
    tables: list[pa.Table] = []
    lay = partition.layout(path, target, pieces)
    collector = Collector(2 if reform else 1, tables.append)
    run_local(lay.partitions, scenarios(path, reform), collector)
    return collector, pa.concat_tables(tables), len(lay.partitions)


def whole(path: Path) -> tuple[summary.Totals, pa.Table]:
    res, table = settle_file(path, model.versions(J))
    visits = schema.visit_columns(table)
    ids = pq.read_table(path, columns=["visit_id"]).column("visit_id")
    return summary.totals(res, visits), res.table(visits.person, ids)


def same_totals(a: summary.Totals, b: summary.Totals) -> None:
    assert (a.visits, a.persons, a.person_years, a.tiers, a.computed) == \
        (b.visits, b.persons, b.person_years, b.tiers, b.computed)
    assert a.by_category.equals(b.by_category) and a.by_kind.equals(b.by_kind)
    assert a.caps.equals(b.caps)
    assert np.array_equal(np.sort(a.psn_part), np.sort(b.psn_part))


def plain(t: pa.Table) -> pa.Table:
    """Values only: dictionaries decoded (each partition has its own dictionaries)."""
    return pa.table({n: c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c
                     for n, c in zip(t.column_names, t.columns, strict=True)})


def resplit(src: Path, dst: Path, rows: int) -> None:
    """The same population with row groups of `rows` visits: persons straddle them."""
    visits, persons, meta = schema.read_population(src)
    writer = pq.ParquetWriter(dst, visits.schema, compression=schema.COMPRESSION)
    for k in range(0, visits.num_rows, rows):
        writer.write_table(visits.slice(k, rows))
    writer.close()
    pq.write_table(persons, dst.parent / meta.persons)


def test_key_ranges_cut_whole_persons(year_file: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.parquet"
    resplit(year_file, cut, 1_000)
    lay = partition.layout(cut, 5_000)
    assert lay.sorted and len(lay.partitions) > 3
    keys = [partition.read(p, ["person_key"])[0].column("person_key").to_numpy()
            for p in lay.partitions]
    flat = np.concatenate(keys)
    assert np.array_equal(flat, pq.read_table(cut, columns=["person_key"])
                          .column("person_key").to_numpy())  # every row once, in order
    for a, b in pairwise(keys):
        assert a[-1] < b[0]  # no person in two partitions


def test_streamed_equals_whole(year_file: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.parquet"
    resplit(year_file, cut, 3_000)
    collector, rows, n = streamed(cut, 6_000)
    assert n > 2
    (totals,), _ = collector.merged()
    want_totals, want_rows = whole(year_file)
    same_totals(totals, want_totals)
    assert plain(rows).equals(plain(want_rows))


def test_an_unsorted_file_is_settled_from_hashed_pieces(year_file: Path,
                                                        tmp_path: Path) -> None:
    visits, persons, meta = schema.read_population(year_file)
    rng = np.random.default_rng(1)
    # Rows of persons interleaved at random, each person's own order kept.
    key = visits.column("person_key").to_numpy()
    slots = rng.permutation(len(key))
    order = np.empty(len(key), np.int64)
    order[slots[np.lexsort((slots, key))]] = np.arange(len(key))
    mixed = visits.take(pa.array(order))
    shuffled = tmp_path / "shuffled.parquet"
    with schema.PopulationWriter(shuffled, schema.Meta(schema.persons_path(shuffled).name,
                                                       meta.local, {})) as w:
        for k in range(0, mixed.num_rows, 2_000):
            w.write(mixed.slice(k, 2_000), persons if k == 0 else persons.slice(0, 0))
    with partition.Pieces(shuffled) as pieces:
        collector, _, n = streamed(shuffled, 5_000, pieces=pieces)
        folder = pieces.made
        assert folder is not None and folder.is_dir() and n > 2
    assert not folder.exists()
    (totals,), _ = collector.merged()
    same_totals(totals, whole(year_file)[0])


def test_a_bad_row_is_named_by_its_row_in_the_file(year_file: Path, tmp_path: Path) -> None:
    visits, persons, meta = schema.read_population(year_file)
    amounts = visits.column("medfee_sumamt").to_numpy().copy()
    row = visits.num_rows - 7
    amounts[row] = -5
    bad = tmp_path / "bad.parquet"
    with schema.PopulationWriter(bad, schema.Meta(schema.persons_path(bad).name, meta.local,
                                                  {})) as w:
        for k in range(0, visits.num_rows, 2_000):
            part = visits.slice(k, 2_000)
            w.write(part.set_column(5, "medfee_sumamt", pa.array(amounts[k:k + 2_000])),
                    persons if k == 0 else persons.slice(0, 0))
    with pytest.raises(InputError, match=rf"^visits\[{row}\]\.medfee_sumamt: must be ≥ 0"):
        streamed(bad, 4_000)


def test_a_local_dask_cluster_equals_one_process(year_file: Path, tmp_path: Path) -> None:
    from medaid.batch.cluster import run_cluster

    cut = tmp_path / "cut.parquet"
    resplit(year_file, cut, 1_500)
    lay = partition.layout(cut, 4_000)
    assert len(lay.partitions) >= 3
    tables: list[pa.Table] = []
    collector = Collector(2, tables.append)
    where = run_cluster(lay.partitions, scenarios(year_file, reform=True), collector)
    assert where.startswith("Dask: 2 workers")
    (base, new), people = collector.merged()
    alone, rows, _ = streamed(year_file, 10**9, reform=True)  # one partition
    (base1, new1), people1 = alone.merged()
    same_totals(base, base1)
    same_totals(new, new1)
    assert people is not None and people1 is not None
    assert (people.gainers, people.gained, people.losers, people.lost) == \
        (people1.gainers, people1.gained, people1.losers, people1.lost)
    assert np.array_equal(people.gain_bands, people1.gain_bands)
    assert plain(pa.concat_tables(tables)).equals(plain(rows))
    assert new.tiers["maf_pay"] > base.tiers["maf_pay"]
