"""Person partitions of a population file: whole persons each, read one at a time.

Visits are settled per person-year, so a partition that holds every visit of its persons
settles on its own, in any process. Two ways to cut a file:

* **Key ranges** — a file sorted by `person_key` (what `medaid synth` writes: persons in
  order, a row group per chunk of them) is cut at row-group boundaries into ranges of
  keys `[lo, hi)`, found from the row groups' statistics without reading any row. A
  partition reads its row groups and keeps the rows of its range (a person whose rows
  straddle a boundary belongs to the range holding its key); its persons are read with
  the same range as a filter.
* **Hashed pieces** — any other file is split once, in one pass, into pieces by a hash of
  `person_key` (visits and persons, each piece a pair of Parquet files in a temporary
  folder beside the file); each piece is a partition. Within a piece rows keep the file's
  order, so each person-year's visits keep theirs.

Either way a partition is a plain record that a worker process can read by itself.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from medaid.batch.schema import COMPRESSION, PERSONS, VISITS, Meta, persons_path, read_meta
from medaid.core.errors import InputError

PARTITION_VISITS = 1_000_000  # visits per partition, about: memory is a few hundred MB
HASH = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: neighbouring keys spread evenly


@dataclass(frozen=True)
class Partition:
    """Whole persons: rows of `visits` with `lo <= person_key < hi` (None: unbounded), in
    the row groups listed (None: all), and their rows of `persons`."""

    index: int
    count: int
    visits: str
    persons: str
    lo: int | None
    hi: int | None
    row_groups: tuple[int, ...] | None
    first_row: int | None  # the file row of the row groups' first row (None: a piece)
    rows: int  # visit rows in its row groups (an estimate of its size, for progress)


@dataclass(frozen=True)
class Layout:
    """How a file is cut: its partitions, its metadata, its visit count."""

    meta: Meta
    visits: int
    partitions: list[Partition]
    sorted: bool  # key ranges (True) or hashed pieces (False)


def _key_stats(md: pq.FileMetaData) -> list[tuple[int, int, int]] | None:
    """(min, max, rows) of `person_key` per row group, or None when a row group has no
    statistics or the row groups are not in key order."""
    col = md.schema.names.index("person_key")
    out = []
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        if rg.num_rows == 0:
            continue
        st = rg.column(col).statistics
        if st is None or not st.has_min_max:
            return None
        out.append((int(st.min), int(st.max), rg.num_rows))
    for (_, hi, _), (lo, _, _) in pairwise(out):
        if hi > lo:
            return None
    return out


def layout(path: str | Path, target: int = PARTITION_VISITS,
           pieces: Callable[[], Path] | None = None) -> Layout:
    """Cut a population into partitions of about `target` visits. A file not sorted by
    person is split into hashed pieces in the folder `pieces()` gives (the caller removes
    it: `Pieces`)."""
    p = Path(path)
    meta = read_meta(p)
    persons = p.parent / meta.persons
    if not persons.is_file():
        raise InputError(str(persons), "no such file")
    try:
        md = pq.ParquetFile(p).metadata
    except (OSError, pa.ArrowInvalid) as e:
        raise InputError(str(p), f"cannot read: {e}") from None
    if "person_key" not in md.schema.names:
        raise InputError(f"{p}: visits[0].person_key", "required")
    total = md.num_rows
    stats = _key_stats(md)
    if stats is not None or total == 0:
        return Layout(meta, total, _ranges(p, persons, md, target), True)
    if pieces is None:
        raise InputError(str(p), "not sorted by person_key: a folder for its pieces is needed")
    count = max(1, math.ceil(total / target))
    return Layout(meta, total, split(p, persons, count, pieces()), False)


def _ranges(visits: Path, persons: Path, md: pq.FileMetaData, target: int) -> list[Partition]:
    col = md.schema.names.index("person_key")
    groups = []  # (row group, first row, min, max, rows)
    row = 0
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        if rg.num_rows:
            st = rg.column(col).statistics
            groups.append((i, row, int(st.min), int(st.max), rg.num_rows))
        row += rg.num_rows
    if not groups:
        return [Partition(0, 1, str(visits), str(persons), None, None, (), 0, 0)]
    # Cut before a row group once the partition holds `target` rows, at a key above the
    # previous cut (a person spanning row groups stays whole).
    cuts: list[int] = []  # indices into groups where a partition starts
    size = 0
    for k, (_, _, first_key, _, rows) in enumerate(groups):
        if k and size >= target and first_key > groups[cuts[-1] if cuts else 0][2]:
            cuts.append(k)
            size = 0
        size += rows
    keys: list[int | None] = [None, *(groups[k][2] for k in cuts), None]
    out = []
    for n in range(len(cuts) + 1):
        lo, hi = keys[n], keys[n + 1]
        mine = [g for g in groups if (lo is None or g[3] >= lo) and (hi is None or g[2] < hi)]
        out.append(Partition(
            n, len(cuts) + 1, str(visits), str(persons), lo, hi, tuple(g[0] for g in mine),
            mine[0][1], sum(g[4] for g in mine)))
    return out


def _range_filter(table: pa.Table, lo: int | None, hi: int | None
                  ) -> tuple[pa.Table, int | None]:
    """The rows within [lo, hi), and how many rows come before them (None when they are
    not contiguous: row groups in key order whose own rows are not)."""
    if lo is None and hi is None:
        return table, 0
    keys = table.column("person_key").to_numpy()
    if len(keys) > 1 and bool((keys[1:] < keys[:-1]).any()):
        keep = np.ones(len(keys), bool)
        if lo is not None:
            keep &= keys >= lo
        if hi is not None:
            keep &= keys < hi
        return table.filter(pa.array(keep)), None
    a = 0 if lo is None else int(np.searchsorted(keys, lo, side="left"))
    b = len(keys) if hi is None else int(np.searchsorted(keys, hi, side="left"))
    return table.slice(a, b - a), a


def read(part: Partition, columns: Sequence[str] | None = None
         ) -> tuple[pa.Table, pa.Table, int | None]:
    """The partition's visits (only `columns`), its persons, and the file row of its first
    visit (None for a hashed piece)."""
    try:
        first: int | None = None
        if part.row_groups is None:
            visits = pq.read_table(part.visits, columns=list(columns) if columns else None)
        else:
            f = pq.ParquetFile(part.visits)
            names = list(columns) if columns else None
            if names is not None and "person_key" not in names:
                names = ["person_key", *names]
            visits = f.read_row_groups(list(part.row_groups), columns=names) \
                if part.row_groups else f.schema_arrow.empty_table().select(names or
                                                                            f.schema_arrow.names)
            visits, skipped = _range_filter(visits, part.lo, part.hi)
            first = None if skipped is None or part.first_row is None \
                else part.first_row + skipped
            if columns and "person_key" not in columns:
                visits = visits.drop_columns(["person_key"])
        filters = []
        if part.lo is not None:
            filters.append(("person_key", ">=", part.lo))
        if part.hi is not None:
            filters.append(("person_key", "<", part.hi))
        persons = pq.read_table(part.persons, filters=filters or None)
    except (OSError, pa.ArrowInvalid) as e:
        raise InputError(part.visits, f"cannot read: {e}") from None
    return visits, persons, first


# -- hashed pieces ---------------------------------------------------------------------------
def piece_of(keys: np.ndarray, count: int) -> np.ndarray:
    """The piece of each person_key: a multiplicative hash, so keys in sequence spread."""
    mixed = keys.astype(np.uint64) * HASH
    return np.asarray((mixed >> np.uint64(33)) % np.uint64(count), np.int64)


def _split_file(src: Path, dst: list[Path], count: int, schema: pa.Schema) -> None:
    writers = [pq.ParquetWriter(d, schema, compression=COMPRESSION) for d in dst]
    try:
        f = pq.ParquetFile(src)
        for i in range(f.metadata.num_row_groups):
            table = f.read_row_group(i)
            piece = piece_of(table.column("person_key").to_numpy(), count)
            order = np.argsort(piece, kind="stable")  # each piece's rows in file order
            bounds = np.searchsorted(piece[order], np.arange(count + 1))
            taken = table.take(pa.array(order))
            for k in range(count):
                if bounds[k + 1] > bounds[k]:
                    writers[k].write_table(taken.slice(bounds[k], bounds[k + 1] - bounds[k])
                                           .cast(schema))
    finally:
        for w in writers:
            w.close()


def split(visits: Path, persons: Path, count: int, folder: Path) -> list[Partition]:
    """Split a population into `count` pieces by a hash of person_key, in one pass."""
    folder.mkdir(parents=True, exist_ok=True)
    v = [folder / f"part-{k:05d}.parquet" for k in range(count)]
    p = [persons_path(x) for x in v]
    try:
        _split_file(visits, v, count, _visits_schema(visits))
        own = pq.read_schema(persons).names  # a file written before statuses lacks them
        _split_file(persons, p, count, pa.schema([f for f in PERSONS if f.name in own]))
    except (OSError, pa.ArrowInvalid) as e:
        raise InputError(str(visits), f"cannot split into pieces: {e}") from None
    return [Partition(k, count, str(v[k]), str(p[k]), None, None, None, None,
                      pq.ParquetFile(v[k]).metadata.num_rows) for k in range(count)]


def _visits_schema(path: Path) -> pa.Schema:
    """The file's own schema (its columns as written), less the metadata."""
    found = pq.read_schema(path).remove_metadata()
    return found if found.names else VISITS


class Pieces:
    """A temporary folder beside the visits file for its hashed pieces (the workers of a
    cluster read them there), made when first needed and removed on exit."""

    def __init__(self, visits: str | Path) -> None:
        self.visits = Path(visits)
        self.made: Path | None = None

    def __call__(self) -> Path:
        if self.made is None:
            self.made = Path(tempfile.mkdtemp(prefix=f".{self.visits.name}.pieces-",
                                              dir=self.visits.parent))
        return self.made

    def __enter__(self) -> Pieces:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.made is not None:
            shutil.rmtree(self.made, ignore_errors=True)
