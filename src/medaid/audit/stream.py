"""Auditing a Parquet export larger than memory: hashed pieces of whole persons, audited
one at a time (or on a Dask cluster), their totals and findings added up.

A person's records may lie anywhere in a platform's export, and a person-year settles only
with all of its records. So the export is read once, in record batches of the known
columns only, and each record is written to one of `count` pieces by a hash of its person
(the roster key as `export.records_of` reads it: `certno`, else `psn_no`, trimmed); each
record keeps its row number in the export. Each piece then holds whole persons in file
order and is audited exactly as a whole export is (`export.records_of`,
`resettle.run`, `causes.findings`, `summary.summarise`); only its totals and its findings'
table are kept. Cancellations and duplicates are matched within a person, so within a
piece; the one check across persons — a `setl_id` used twice — is made on a 64-bit hash
of every `setl_id` during the pass, and the candidate rows are then compared as text.

An export whose persons each lie in one run of consecutive records (one written person
by person, as `medaid synth` and many platforms write it) needs no split: one pass over
its person columns alone finds the runs, and each piece is a range of the export's rows,
whole row groups of about `partition_records` records (a person that the last one cuts
goes with it), read in place. Its `setl_id` hashes are then taken from the pieces as they are read.

What it keeps in memory is one record batch while splitting, one piece while auditing,
the `setl_id` hashes (8 bytes a record) and the findings: a province-year runs on one
machine. The engine's work is shared among the pieces: each checks its share of the
`sample` person-years and explains its share of the `explain` largest differences (its
own largest), so a streamed audit costs the engine what a single pass does.
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from medaid.audit import causes, detail, fields, resettle, summary
from medaid.audit.export import BadCell, BadExport, check_columns, records_of
from medaid.audit.roster import Identities
from medaid.core.errors import InputError, MedaidError
from medaid.policy.model import Policy

PARTITION_RECORDS = 1_000_000  # records per piece, about: a few hundred MB to audit
BATCH_RECORDS = 1 << 20  # records read at a time while splitting
LARGEST_ROW_GROUP = 2  # pieces: read in place when no row group holds more than 2 pieces
RANGE_BATCH = 1 << 16  # records decoded at a time from a row group a piece takes part of
THREADS = 2  # pieces audited at a time in one process
ROW = "__medaid_row__"  # the piece's column with each record's row in the export
COMPRESSION = "lz4"  # written once, read once: fast beats small

U64 = npt.NDArray[np.uint64]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Piece:
    """A piece's records: a file `split` wrote (with each record's row in the export), or
    the export's rows [lo, hi) read in place."""

    path: str
    lo: int = 0
    hi: int = -1  # −1: a file of its own


@dataclass
class Split:
    pieces: list[str]  # "" where no record hashed to the piece
    labels: dict[str, str]  # national field → the export's header
    records: int
    bad: list[BadCell]  # `setl_id`s used twice, across persons


@dataclass
class Part:
    """A piece's audit: its totals and findings, or its bad values."""

    records: int
    summary: summary.Summary | None = None
    findings: pa.Table | None = None
    bad: list[BadCell] = field(default_factory=list)
    unreadable: bool = False  # the bad values are the export's cells (not its pairings)
    setl: U64 | None = None  # a piece read in place: the hash of each record's `setl_id`


@dataclass
class Streamed:
    summary: summary.Summary
    findings: pa.Table  # in row order
    pieces: int
    where: str  # how it ran: in this process, or on which cluster
    in_place: bool = False  # pieces read in place (runs of whole persons), not split


Hashed = dict[tuple[int, ...], tuple[pa.Array, U64, B]]


def _text_hash(col: pa.ChunkedArray | pa.Array, seen: Hashed | None = None
               ) -> tuple[U64, B]:
    """A hash of each value as `export` reads a text column (trimmed), and whether the
    value is there (not null, not blank). A dictionary column's dictionaries are hashed
    once each (`seen` keeps them, alive, by their buffers), chunk by chunk, never unified."""
    if isinstance(col, pa.ChunkedArray):
        if pa.types.is_dictionary(col.type) and col.num_chunks != 1:
            got = [_text_hash(c, seen) for c in col.chunks] or [_text_hash(
                pa.array([], pa.string()))]
            return np.concatenate([h for h, _ in got]), np.concatenate([ok for _, ok in got])
        col = col.combine_chunks()
    if pa.types.is_dictionary(col.type):
        d = col.dictionary
        seen = {} if seen is None else seen
        key = (len(d), *(b.address if b is not None else 0 for b in d.buffers()))
        if key not in seen:
            seen[key] = (d, *_text_hash(d))
        _, h, ok = seen[key]
        idx = np.asarray(col.indices.fill_null(0).to_numpy(), np.int64)
        if not col.null_count:
            return h[idx], ok[idx]
        valid = np.asarray(col.indices.is_valid().to_numpy(zero_copy_only=False), bool)
        return h[idx], ok[idx] & valid
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = col.cast(pa.string())
    col = pc.utf8_trim_whitespace(col)
    ok = pc.fill_null(pc.not_equal(col, ""), False).to_numpy(zero_copy_only=False)
    return resettle.text_hashes(col), np.asarray(ok, bool)


def _person_hash(t: pa.Table, names: Mapping[str, str], seen: Hashed | None = None) -> U64:
    h, _ = _text_hash(t.column(names["psn_no"]), seen)
    if "certno" in names:
        hc, ok = _text_hash(t.column(names["certno"]), seen)
        h = np.where(ok, hc, h)
    return h


def piece_of(h: U64, count: int) -> npt.NDArray[np.uint64]:
    """The piece of each person's hash."""
    return np.asarray((h >> np.uint64(20)) % np.uint64(count), np.uint64)


def roster_pieces(ids: Identities, count: int, runs: Runs | None = None) -> list[Identities]:
    """The roster cut as the export is (by the hash of each person, or by the run of the
    person's records): each piece's persons only, so that a piece costs what its own
    persons cost, not a province's roster."""
    if count == 1:
        return [ids]
    h = resettle.text_hashes(ids.keys)
    if runs is None:
        piece = piece_of(h, count)
    else:  # a person not in the export is in no piece
        piece = np.full(len(h), count, np.uint64)
        if len(runs.hashes):  # both sides sorted: 10× a search through a sorter
            order = np.argsort(runs.hashes)
            sought = np.argsort(h)
            ranked = runs.hashes[order]
            at = np.minimum(np.searchsorted(ranked, h[sought]), len(order) - 1)
            found = ranked[at] == h[sought]
            piece[sought[found]] = runs.piece[order[at[found]]]
    by_piece = np.argsort(piece, kind="stable")  # each piece's persons in roster order
    bounds = np.searchsorted(piece[by_piece], np.arange(count + 1, dtype=np.uint64))
    out = []
    for k in range(count):
        who = by_piece[bounds[k]:bounds[k + 1]]
        counts = ids.offsets[who + 1] - ids.offsets[who]
        items = (np.repeat(ids.offsets[who] - np.cumsum(counts) + counts, counts)
                 + np.arange(int(counts.sum()), dtype=np.int64))
        out.append(replace(
            ids, keys=ids.keys.take(who), grade=ids.grade[who],
            offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            category_code=ids.category_code[items], start=ids.start[items],
            end=ids.end[items], application=ids.application[items],
            rows=ids.rows[items] if len(ids.rows) else ids.rows,
            tilted=None if ids.tilted is None else ids.tilted[who]))
    return out


def _labels(f: pq.ParquetFile, source: str) -> dict[str, str]:
    names = {fields.field_of(n): n for n in f.schema_arrow.names}
    names.pop(None, None)
    labels = {str(k): v for k, v in names.items()}
    check_columns(labels, source)
    return labels


@dataclass(frozen=True)
class Runs:
    """An export whose persons each lie in one run of consecutive records, in ranges."""

    pieces: list[Piece]
    labels: dict[str, str]  # national field → the export's header
    hashes: U64  # each run's person
    piece: npt.NDArray[np.int64]  # each run's piece


def runs_of_persons(path: Path, count: int) -> Runs | None:
    """The export as about `count` ranges of whole persons read in place, or None when
    some person's records are not one run of consecutive records, or a row group holds
    more than LARGEST_ROW_GROUP pieces (then it is `split`)."""
    # batch by batch, keeping only where each run starts and its person's hash
    starts: list[npt.NDArray[np.int64]] = []
    heads: list[U64] = []
    n = 0
    last = None  # the hash of the record before the batch
    try:
        f = pq.ParquetFile(path)
        labels = _labels(f, path.name)
        keys = [labels["psn_no"], *([labels["certno"]] if "certno" in labels else [])]
        f = pq.ParquetFile(path, read_dictionary=keys)  # each id hashed once a row group
        seen: Hashed = {}
        for batch in f.iter_batches(BATCH_RECORDS, columns=keys):
            h = _person_hash(pa.Table.from_batches([batch]), labels, seen)
            if not len(h):
                continue
            at = np.flatnonzero(h[1:] != h[:-1]) + 1
            if last is None or h[0] != last:
                at = np.concatenate([[0], at])
            starts.append(at.astype(np.int64) + n)
            heads.append(h[at])
            n, last = n + len(h), h[-1]
    except (OSError, pa.ArrowInvalid) as e:
        raise InputError(path.name, f"无法读取Parquet文件 / cannot read: {e}") from None
    if not n:
        return None
    firsts, first_hash = np.concatenate(starts), np.concatenate(heads)
    if resettle.repeated(first_hash).any():
        return None  # a person in two runs (or two persons' hashes equal: split anyway)
    sizes = [f.metadata.row_group(g).num_rows for g in range(f.metadata.num_row_groups)]
    size = n / count
    if count > 1 and max(sizes) > LARGEST_ROW_GROUP * size:
        return None  # a row group is decoded from its start: pieces within one would
        # decode it again and again
    cuts = [0]
    for end in np.cumsum(sizes)[:-1].tolist():  # a piece ends with a row group…
        if end - cuts[-1] >= size:
            k = int(np.searchsorted(firsts, end))  # …or with the person it cuts
            cut = int(firsts[k]) if k < len(firsts) else n
            if cuts[-1] < cut < n:
                cuts.append(cut)
    cuts.append(n)
    return Runs([Piece(str(path), lo, hi) for lo, hi in pairwise(cuts)], labels, first_hash,
                np.searchsorted(np.asarray(cuts[1:]), firsts, side="right"))


def read_rows(path: str, lo: int, hi: int, columns: list[str]) -> pa.Table:
    """Rows [lo, hi) of a Parquet file: its whole row groups as they are, of a row group
    it takes part of only the batches up to `hi`."""
    f = pq.ParquetFile(path)
    parts = []
    start = 0
    for g in range(f.metadata.num_row_groups):
        size = f.metadata.row_group(g).num_rows
        a, b = max(lo, start), min(hi, start + size)
        if a < b and a == start and b == start + size:
            parts.append(f.read_row_group(g, columns=columns))
        elif a < b:
            at = start
            for batch in f.iter_batches(RANGE_BATCH, row_groups=[g], columns=columns):
                end = at + batch.num_rows
                if end > a:
                    first = max(a, at)
                    parts.append(pa.Table.from_batches([batch.slice(first - at,
                                                                    min(b, end) - first)]))
                at = end
                if at >= b:
                    break
        start += size
        if start >= hi:
            break
    return pa.concat_tables(parts) if parts else f.schema_arrow.empty_table().select(columns)


def split(path: Path, count: int, folder: Path) -> Split:
    """The export in `count` pieces of whole persons (Parquet files in `folder`)."""
    source = path.name
    try:
        f = pq.ParquetFile(path)
        labels = _labels(f, source)
        out = [folder / f"piece-{k:05d}.parquet" for k in range(count)]
        writers: list[pq.ParquetWriter | None] = [None] * count
        setl: list[U64] = []
        setl_ok: list[B] = []
        row0 = 0
        try:
            for batch in f.iter_batches(batch_size=BATCH_RECORDS, columns=list(labels.values())):
                t = pa.Table.from_batches([batch])
                n = t.num_rows
                h, ok = _text_hash(t.column(labels["setl_id"]))
                setl.append(h)
                setl_ok.append(ok)
                piece = piece_of(_person_hash(t, labels), count)
                t = t.append_column(ROW, pa.array(np.arange(row0 + 1, row0 + n + 1)))
                row0 += n
                order = np.argsort(piece, kind="stable")  # each piece's rows in file order
                bounds = np.searchsorted(piece[order], np.arange(count + 1, dtype=np.uint64))
                taken = t.take(pa.array(order))
                for k in range(count):
                    if bounds[k + 1] > bounds[k]:
                        w = writers[k]
                        if w is None:
                            w = writers[k] = pq.ParquetWriter(out[k], t.schema,
                                                              compression=COMPRESSION)
                        w.write_table(taken.slice(bounds[k], bounds[k + 1] - bounds[k]))
        finally:
            for w in writers:
                if w is not None:
                    w.close()
    except (OSError, pa.ArrowInvalid) as e:
        raise InputError(source, f"无法读取Parquet文件 / cannot read: {e}") from None
    bad = _setl_twice(path, labels["setl_id"], setl, setl_ok)
    return Split([str(p) if writers[k] is not None else "" for k, p in enumerate(out)],
                 labels, row0, bad)


def _setl_twice(path: Path, column: str, hashes: list[U64], oks: list[B]) -> list[BadCell]:
    """Rows whose `setl_id` an earlier row has (as `resettle` reports them)."""
    if not hashes:
        return []
    h = np.concatenate(hashes)
    ok = np.concatenate(oks)
    at = np.flatnonzero(ok)
    twice = resettle.repeated(h[at])
    if not twice.any():
        return []
    rows = at[twice]  # candidates, in file order: compared as text
    values = pc.utf8_trim_whitespace(pq.read_table(path, columns=[column]).column(column)
                                     .combine_chunks().cast(pa.string()).take(pa.array(rows))
                                     ).to_pylist()
    seen: dict[str, int] = {}
    bad = []
    for r, v in zip((rows + 1).tolist(), values, strict=True):
        if v in seen:
            bad.append(BadCell(r, "setl_id", v, f"结算ID与第{seen[v]}行重复 / duplicate of row "
                                                f"{seen[v]}"))
        else:
            seen[v] = r
    return bad


@dataclass(frozen=True)
class Job:
    """How every piece is read and audited."""

    labels: dict[str, str]
    source: str
    med_types: dict[str, str]
    rounding: str
    explain: int | None
    sample: int


Loaded = tuple[pa.Table, npt.NDArray[np.int64]]


def load_piece(piece: Piece, job: Job) -> Loaded:
    """A piece's records (national field names) and their rows in the export."""
    try:
        if piece.hi < 0:
            t = pq.read_table(piece.path)
            rows = np.asarray(t.column(ROW).to_numpy(), np.int64)
            t = t.drop_columns([ROW])
        else:
            t = read_rows(piece.path, piece.lo, piece.hi, list(job.labels.values()))
            rows = np.arange(piece.lo + 1, piece.hi + 1, dtype=np.int64)
    except (OSError, pa.ArrowInvalid) as e:
        raise InputError(job.source, f"无法读取Parquet文件 / cannot read: {e}") from None
    return t.rename_columns([str(fields.field_of(n)) for n in t.column_names]), rows


def audit_piece(piece: Piece, job: Job, ids: Identities, versions: Sequence[Policy],
                local: Mapping[str, object], settle: bool = True) -> Part:
    """One piece read and audited (`settle=False`: only read, to report its bad cells)."""
    t, rows = load_piece(piece, job)
    try:
        rec = records_of(t, rows, job.labels, job.source, job.med_types)
    except BadExport as e:
        return Part(len(rows), bad=e.bad, unreadable=True)
    setl = resettle.text_hashes(rec.setl_id) if piece.hi >= 0 else None
    if not settle:
        return Part(len(rec), setl=setl)
    try:
        out = resettle.run(rec, ids, versions, local, sample=job.sample,
                           explain_limit=job.explain)
    except BadExport as e:
        return Part(len(rec), bad=e.bad, setl=setl)
    found = causes.findings(out)
    return Part(len(rec), summary.summarise(out, found, job.rounding),
                detail.table(out, found), setl=setl)


def _work(piece: Piece, job: Job, ids: Identities, versions: Sequence[Policy],
          local: Mapping[str, object]) -> Part:
    try:
        return audit_piece(piece, job, ids, versions, local)
    except MedaidError as e:  # as plain text: medaid's errors need not unpickle
        raise MedaidError(str(e)) from None


def _here(todo: list[tuple[Piece, Identities]], job: Job, versions: Sequence[Policy],
          local: Mapping[str, object]) -> list[Part]:
    """The pieces audited in this process, THREADS at a time: reading, Arrow, numpy and
    the kernel release the GIL, so the pieces share the cores."""
    unreadable = threading.Event()  # after a bad cell: only read the rest, to list theirs

    def one(p: Piece, r: Identities) -> Part:
        part = audit_piece(p, job, r, versions, local, settle=not unreadable.is_set())
        if part.unreadable:
            unreadable.set()
        return part

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, *zip(*todo, strict=True))) if todo else []


def _on_cluster(pieces: list[tuple[Piece, Identities]], job: Job, versions: Sequence[Policy],
                local: Mapping[str, object], workers: int, scheduler: str | None
                ) -> tuple[list[Part], str]:
    from dask.distributed import Client, LocalCluster

    cluster = None
    if scheduler is None:  # one thread per worker process: a piece on one core each
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster if cluster is not None else scheduler)
    try:
        info = client.scheduler_info()
        where = f"Dask: {len(info.get('workers', {}))} workers at " \
                f"{info.get('address', scheduler)}"
        shared = client.scatter([list(versions), dict(local)], broadcast=True)
        futures = [client.submit(_work, p, job, r, *shared, pure=False) for p, r in pieces]
        parts: list[Part] = client.gather(futures)
        return parts, where
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def pieces_of(path: Path, partition_records: int) -> int:
    """How many pieces a streamed audit cuts the export into: 1 for one that fits (and for
    CSV and XLSX, which are read whole)."""
    if not is_parquet(path):
        return 1
    try:
        records = int(pq.ParquetFile(path).metadata.num_rows)
    except (OSError, pa.ArrowInvalid):
        return 1  # reported by the reader
    return max(1, math.ceil(records / max(1, partition_records)))


def is_parquet(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == b"PAR1"
    except OSError:
        return False


def audit(path: Path, roster: Identities | Callable[[], Identities],
          versions: Sequence[Policy], local: Mapping[str, object], med_types: dict[str, str],
          rounding: str, explain: int | None = resettle.EXPLAIN, sample: int = resettle.SAMPLE,
          partition_records: int = PARTITION_RECORDS, cluster: bool = False,
          workers: int = 2, scheduler: str | None = None) -> Streamed:
    """Audit a Parquet export piece by piece; BadExport lists every bad value as a single
    pass would (the export's cells first; its pairings only when every cell reads).
    `roster` may be what gives it when called (its read in flight on another thread: the
    export's runs of persons are found meanwhile); its error comes before the export's."""
    count = pieces_of(path, partition_records)
    source = path.name
    try:
        runs = runs_of_persons(path, count)
    finally:
        ids = roster() if callable(roster) else roster
    folder = None if runs is not None else \
        Path(tempfile.mkdtemp(prefix=f".{path.name}.pieces-", dir=path.parent))
    try:
        if runs is not None:
            labels, pieces = runs.labels, runs.pieces
            roster_of = roster_pieces(ids, len(pieces), runs)
        else:
            assert folder is not None
            sp = split(path, count, folder)
            labels, roster_of = sp.labels, roster_pieces(ids, count)
            pieces = [Piece(p) if p else Piece("", 0, 0) for p in sp.pieces]
        share = None if explain is None else math.ceil(explain / len(pieces))
        job = Job(labels, source, med_types, rounding, share, math.ceil(sample / len(pieces)))
        todo = [(p, r) for p, r in zip(pieces, roster_of, strict=True) if p.path]
        if cluster or scheduler is not None:
            parts, where = _on_cluster(todo, job, versions, local, workers, scheduler)
        else:
            parts, where = _here(todo, job, versions, local), "one process"
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    unreadable = [b for q in parts if q.unreadable for b in q.bad]
    if unreadable:
        raise BadExport(source, unreadable)
    across = sp.bad if runs is None else _setl_twice(
        path, labels["setl_id"], [q.setl for q in parts if q.setl is not None],
        [np.ones(len(q.setl), bool) for q in parts if q.setl is not None])
    paired = {(b.row, b.column, b.value, b.reason): b for b in
              [*across, *(b for q in parts for b in q.bad)]}
    if paired:
        raise BadExport(source, list(paired.values()))
    done = [q for q in parts if q.summary is not None]
    total = summary.merge([q.summary for q in done if q.summary is not None], rounding)
    return Streamed(total, detail.merge([q.findings for q in done if q.findings is not None]),
                    len(todo), where, runs is not None)
