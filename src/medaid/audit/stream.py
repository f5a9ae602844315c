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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
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
ROW = "__medaid_row__"  # the piece's column with each record's row in the export
COMPRESSION = "lz4"  # written once, read once: fast beats small

U64 = npt.NDArray[np.uint64]
B = npt.NDArray[np.bool_]


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


@dataclass
class Streamed:
    summary: summary.Summary
    findings: pa.Table  # in row order
    pieces: int
    where: str  # how it ran: in this process, or on which cluster


def _text_hash(col: pa.ChunkedArray) -> tuple[U64, B]:
    """A hash of each value as `export` reads a text column (trimmed), and whether the
    value is there (not null, not blank)."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(arr.type):  # hash each distinct value once
        h, ok = _text_hash(arr.dictionary)
        idx = np.asarray(arr.indices.fill_null(0).to_numpy(), np.int64)
        valid = np.asarray(arr.indices.is_valid().to_numpy(zero_copy_only=False), bool)
        return h[idx], ok[idx] & valid
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    arr = pc.utf8_trim_whitespace(arr)
    ok = pc.fill_null(pc.not_equal(arr, ""), False).to_numpy(zero_copy_only=False)
    return resettle.text_hashes(arr), np.asarray(ok, bool)


def _person_hash(t: pa.Table, names: Mapping[str, str]) -> U64:
    h, _ = _text_hash(t.column(names["psn_no"]))
    if "certno" in names:
        hc, ok = _text_hash(t.column(names["certno"]))
        h = np.where(ok, hc, h)
    return h


def piece_of(h: U64, count: int) -> npt.NDArray[np.uint64]:
    """The piece of each person's hash."""
    return np.asarray((h >> np.uint64(20)) % np.uint64(count), np.uint64)


def roster_pieces(ids: Identities, count: int) -> list[Identities]:
    """The roster cut as the export is: each piece's persons only, so that a piece costs
    what its own persons cost, not a province's roster."""
    if count == 1:
        return [ids]
    piece = piece_of(resettle.text_hashes(pa.array(ids.keys, pa.string())), count)
    out = []
    for k in range(count):
        who = np.flatnonzero(piece == k)
        counts = ids.offsets[who + 1] - ids.offsets[who]
        items = (np.repeat(ids.offsets[who] - np.cumsum(counts) + counts, counts)
                 + np.arange(int(counts.sum()), dtype=np.int64))
        at = items.tolist()
        out.append(replace(
            ids, keys=[ids.keys[i] for i in who.tolist()], grade=ids.grade[who],
            offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            category=[ids.category[i] for i in at], start=ids.start[items],
            end=ids.end[items], application=ids.application[items],
            rows=[ids.rows[i] for i in at] if ids.rows else [],
            tilted=None if ids.tilted is None else ids.tilted[who]))
    return out


def split(path: Path, count: int, folder: Path) -> Split:
    """The export in `count` pieces of whole persons (Parquet files in `folder`)."""
    source = path.name
    try:
        f = pq.ParquetFile(path)
        names = {fields.field_of(n): n for n in f.schema_arrow.names}
        names.pop(None, None)
        labels = {str(k): v for k, v in names.items()}
        check_columns(labels, source)
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


def audit_piece(piece: str, job: Job, ids: Identities, versions: Sequence[Policy],
                local: Mapping[str, object], settle: bool = True) -> Part:
    """One piece read and audited (`settle=False`: only read, to report its bad cells)."""
    t = pq.read_table(piece)
    rows = np.asarray(t.column(ROW).to_numpy(), np.int64)
    t = t.drop_columns([ROW])
    t = t.rename_columns([str(fields.field_of(n)) for n in t.column_names])
    try:
        rec = records_of(t, rows, job.labels, job.source, job.med_types)
    except BadExport as e:
        return Part(len(rows), bad=e.bad, unreadable=True)
    if not settle:
        return Part(len(rec))
    try:
        out = resettle.run(rec, ids, versions, local, sample=job.sample,
                           explain_limit=job.explain)
    except BadExport as e:
        return Part(len(rec), bad=e.bad)
    found = causes.findings(out)
    return Part(len(rec), summary.summarise(out, found, job.rounding),
                detail.table(out, found))


def _work(piece: str, job: Job, ids: Identities, versions: Sequence[Policy],
          local: Mapping[str, object]) -> Part:
    try:
        return audit_piece(piece, job, ids, versions, local)
    except MedaidError as e:  # as plain text: medaid's errors need not unpickle
        raise MedaidError(str(e)) from None


def _on_cluster(pieces: list[tuple[str, Identities]], job: Job, versions: Sequence[Policy],
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


def audit(path: Path, ids: Identities, versions: Sequence[Policy],
          local: Mapping[str, object], med_types: dict[str, str], rounding: str,
          explain: int | None = resettle.EXPLAIN, sample: int = resettle.SAMPLE,
          partition_records: int = PARTITION_RECORDS, cluster: bool = False,
          workers: int = 2, scheduler: str | None = None) -> Streamed:
    """Audit a Parquet export piece by piece; BadExport lists every bad value as a single
    pass would (the export's cells first; its pairings only when every cell reads)."""
    count = pieces_of(path, partition_records)
    folder = Path(tempfile.mkdtemp(prefix=f".{path.name}.pieces-", dir=path.parent))
    try:
        sp = split(path, count, folder)
        source = path.name
        share = None if explain is None else math.ceil(explain / count)
        job = Job(sp.labels, source, med_types, rounding, share, math.ceil(sample / count))
        todo = [(p, r) for p, r in zip(sp.pieces, roster_pieces(ids, count), strict=True) if p]
        if cluster or scheduler is not None:
            parts, where = _on_cluster(todo, job, versions, local, workers, scheduler)
        else:
            parts, where = [], "one process"
            for p, r in todo:  # after a bad cell: only read the rest, to list theirs
                ok = not any(q.unreadable for q in parts)
                parts.append(audit_piece(p, job, r, versions, local, settle=ok))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    unreadable = [b for q in parts if q.unreadable for b in q.bad]
    if unreadable:
        raise BadExport(source, unreadable)
    paired = {(b.row, b.column, b.value, b.reason): b for b in
              [*sp.bad, *(b for q in parts for b in q.bad)]}
    if paired:
        raise BadExport(source, list(paired.values()))
    done = [q for q in parts if q.summary is not None]
    total = summary.merge([q.summary for q in done if q.summary is not None], rounding)
    return Streamed(total, detail.merge([q.findings for q in done if q.findings is not None]),
                    len(todo), where)
