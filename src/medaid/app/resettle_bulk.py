"""Bulk re-settlement of a jurisdiction's year on the batch path (docs/RESETTLEMENT.md,
"Bulk").

1. **Read** the year's `settle` entries (with each visit's net ledger amounts: the entry,
   its cancellation, its adjustments), the persons, their identities and their
   person-years, in bulk and in one snapshot (PostgreSQL: `COPY … TO STDOUT`, read as
   Arrow columns; a REPEATABLE READ transaction).
2. **Settle** the live visits with the batch kernel (`batch.settle.settle_population`,
   equal to the engine to the fen), keeping every pool before each visit.
3. **Compare**, vectorized, each visit and tier with the ledger; a person-year differs
   when a visit does, a cancelled visit does not net to zero, or its stored pools are not
   the pools the rules leave. Only those person-years are looked at one by one: their
   ledger pool additions read, each changed visit settled by the engine on the batch's
   pools before it (its trace; the engine and the kernel must agree, or the person-year
   is planned by the engine alone, `resettle.plan_year`).
4. **Post** in chunks of person-years, each in one transaction: lock the chunk's
   `person_years` rows (in person and year order, as every other re-settlement does),
   check that each `version` is still the one read in step 1 — a settlement, a
   cancellation or another re-settlement since bumped it, and that person-year is
   planned again by the engine under the lock it now holds — then write the adjustments
   in bulk (PostgreSQL COPY, else executemany), the pools, one version bump per
   person-year and one audit entry for the chunk.

A person-year is written only under its lock and only from a plan of the state its
version names: a settlement cannot interleave. A second run finds nothing to post.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import insert, text
from sqlalchemy.engine import Connection

from medaid.app import parameters, resettle
from medaid.app.parameters import params_for
from medaid.app.resettle import Cause, Change, EntryRef, YearPlan
from medaid.app.uow import UnitOfWork
from medaid.app.wire import ROOT, trace_rows
from medaid.batch import kernel
from medaid.batch.schema import FLAG_HEROIC, FLAG_RARE, NO_DATE, PersonColumns, VisitColumns
from medaid.batch.settle import Results, settle_population
from medaid.core import clock
from medaid.core.errors import MedaidError
from medaid.engine import types as engine
from medaid.engine.case import LOCATIONS, REFERRALS, parse_json
from medaid.engine.insurance import BASIC_PAID, CI_BASE, CI_PAID
from medaid.engine.settle import settle_visit
from medaid.policy import model
from medaid.policy.params import Num
from medaid.policy.schema import KINDS
from medaid.store import audit, pools, visits
from medaid.store.models import TIERS, Base, PersonYear

I8 = npt.NDArray[np.int8]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
EPOCH = date(1970, 1, 1)
CHUNK = 20_000  # person-years posted per transaction

_TIER_SQL = ", ".join(
    f"s.{t} + coalesce(c.{t}, 0) + coalesce(a.{t}, 0) AS net_{t}" for t in TIERS)
_ADJ_SUMS = ", ".join(f"sum({t}) AS {t}" for t in TIERS)
_VISIT_FIELDS = ("hifp_pay bigint, hifmi_pay bigint, oth_pay bigint, location text, "
                 "referral text, hospital_level int, heroic_injury bool, rare_disease bool")


def _case(col: str, choices: Sequence[str]) -> str:
    """A text column as its index into `choices` (unknown: very negative)."""
    whens = " ".join(f"WHEN '{c}' THEN {i}" for i, c in enumerate(choices))
    return f"(CASE {col} {whens} ELSE -1000000 END)"


# Entry columns packed into one integer (`packed`), and the visit's two days (`days`).
P_KIND, P_LOCATION, P_REFERRAL, P_LEVEL, P_HEROIC, P_RARE, P_CANCELLED = (
    1, 32, 128, 512, 4096, 8192, 16384)
DAYS = 65536  # days = start × DAYS + end (days since 1970-01-01)


def _entries_sql(dialect: str) -> str:
    """The year's `settle` entries: the visit as settled (kind, location, referral,
    level, flags and whether cancelled packed into one integer, its days into another),
    the amounts and each tier's net in the ledger. Integers only, never null.
    Parameters :j, :y."""
    if dialect == "postgresql":
        v = {f: f"v.{f}" for f in ("hifp_pay", "hifmi_pay", "oth_pay", "location", "referral",
                                   "hospital_level", "heroic_injury", "rare_disease")}
        lateral = f"LEFT JOIN LATERAL json_to_record(s.visit) AS v({_VISIT_FIELDS}) ON true"
        days = "({col} - DATE '1970-01-01')"
        boolean = "coalesce({e}, false)::int"
    else:
        v = {f: f"json_extract(s.visit, '$.{f}')" for f in (
            "hifp_pay", "hifmi_pay", "oth_pay", "location", "referral", "hospital_level",
            "heroic_injury", "rare_disease")}
        lateral = ""
        days = "CAST(julianday({col}) - 2440587.5 AS INTEGER)"
        boolean = "coalesce({e}, 0)"
    location = _case(f"coalesce({v['location']}, 'city')", LOCATIONS)
    referral = _case(f"coalesce({v['referral']}, 'ok')", REFERRALS)
    packed = " + ".join([
        f"{_case('s.visit_kind', KINDS)} * {P_KIND}",
        f"{location} * {P_LOCATION}", f"{referral} * {P_REFERRAL}",
        f"coalesce(CASE WHEN s.visit IS NULL THEN i.level ELSE {v['hospital_level']} END, 0)"
        f" * {P_LEVEL}",
        f"{boolean.format(e=v['heroic_injury'])} * {P_HEROIC}",
        f"{boolean.format(e=v['rare_disease'])} * {P_RARE}",
        f"CASE WHEN c.id IS NULL THEN 0 ELSE {P_CANCELLED} END"])
    return f"""
SELECT s.id, s.person_id, {packed} AS packed,
  {days.format(col='s.start')} * {DAYS} + {days.format(col='s."end"')} AS days,
  s.medfee_sumamt AS medfee,
  s.medfee_sumamt - s.fulamt_ownpay_amt - s.overlmt_selfpay - s.preselfpay_amt AS inscp,
  CASE WHEN s.visit IS NULL THEN s.hifp_pay ELSE coalesce({v['hifp_pay']}, -1) END AS hifp,
  CASE WHEN s.visit IS NULL THEN s.hifmi_pay ELSE coalesce({v['hifmi_pay']}, -1) END AS hifmi,
  coalesce({v['oth_pay']}, s.oth_pay) AS oth,
  {_TIER_SQL}
FROM settlements s
JOIN persons p ON p.id = s.person_id
JOIN institutions i ON i.id = s.institution_id
{lateral}
LEFT JOIN settlements c ON c.reverses_id = s.id AND c.kind = 'cancel' AND c.year = :y
LEFT JOIN (SELECT settlement_id, {_ADJ_SUMS} FROM adjustments WHERE year = :y
           GROUP BY settlement_id) a ON a.settlement_id = s.id
WHERE p.jurisdiction = :j AND s.year = :y AND s.kind = 'settle'"""


def _identities_sql(dialect: str) -> str:
    days = ("({col} - DATE '1970-01-01')" if dialect == "postgresql"
            else "CAST(julianday({col}) - 2440587.5 AS INTEGER)")
    return f"""
SELECT p.id AS person_id, coalesce(i.id, 0) AS ident_id,
  coalesce(p.disability_grade, 0) AS grade,
  {days.format(col='p.tilted_application')} AS tilted, i.category,
  {days.format(col='i.from_date')} AS from_day, {days.format(col='i.to_date')} AS to_day,
  {days.format(col='i.application_date')} AS app_day
FROM persons p LEFT JOIN identities i ON i.person_id = p.id
WHERE p.jurisdiction = :j
  AND EXISTS (SELECT 1 FROM settlements s WHERE s.person_id = p.id AND s.year = :y)"""


def _statuses_sql(dialect: str) -> str:
    """The statuses of the persons `_identities_sql` reads, in person and record order."""
    days = ("({col} - DATE '1970-01-01')" if dialect == "postgresql"
            else "CAST(julianday({col}) - 2440587.5 AS INTEGER)")
    return f"""
SELECT st.person_id, st.status, {days.format(col='st.from_date')} AS from_day,
  {days.format(col='st.to_date')} AS to_day
FROM person_statuses st JOIN persons p ON p.id = st.person_id
WHERE p.jurisdiction = :j
  AND EXISTS (SELECT 1 FROM settlements s WHERE s.person_id = p.id AND s.year = :y)
ORDER BY st.person_id, st.id"""


def _with_statuses(conn: Connection, persons: PersonColumns, key: dict[str, Any]
                   ) -> PersonColumns:
    """The persons with the statuses they hold (rare: read row by row), in CSR form."""
    rows = conn.execute(text(_statuses_sql(conn.dialect.name)), key).all()
    if not rows:
        return persons
    names = sorted({r.status for r in rows})
    owner = np.searchsorted(persons.key, np.array([r.person_id for r in rows], np.int64))

    def day(value: int | None) -> int:
        return NO_DATE if value is None else int(value)

    return dataclasses.replace(
        persons, status_names=names,
        status_offsets=np.r_[0, np.cumsum(np.bincount(owner, minlength=len(persons.key)))
                             ].astype(np.int64),
        status_id=np.array([names.index(r.status) for r in rows], np.int32),
        status_from=np.array([day(r.from_day) for r in rows], np.int32),
        status_to=np.array([day(r.to_day) for r in rows], np.int32))


_YEARS_SQL = """
SELECT y.id, y.person_id, y.version, CAST(y.pools AS TEXT) AS pools FROM person_years y
JOIN persons p ON p.id = y.person_id WHERE p.jurisdiction = :j AND y.year = :y"""


def _codes_sql(col: str, choices: Sequence[str]) -> str:
    """PostgreSQL: a text column as its index into `choices` (−1: none of them)."""
    names = ", ".join("'" + c.replace("'", "''") + "'" for c in choices)
    return f"coalesce(array_position(ARRAY[{names}]::text[], {col}::text) - 1, -1)"


_COPY_HEADER = 19  # PGCOPY signature, flags, header extension length


def _copy_part(raw: Any, sql: str) -> bytearray:
    """COPY (sql) TO STDOUT in binary, every row appended to one buffer: libpq's rows
    taken in a tight loop (psycopg's Copy object spends more per row than the row)."""
    from psycopg import pq

    pg = raw.pgconn
    pg.send_query(f"COPY ({sql}) TO STDOUT (FORMAT binary)".encode())
    started = pg.get_result()
    if started is None or started.status != pq.ExecStatus.COPY_OUT:
        message = "" if started is None else started.error_message.decode(errors="replace")
        while pg.get_result() is not None:
            pass
        raise MedaidError(f"bulk read failed: {message}")
    buf = bytearray()
    get = pg.get_copy_data
    while True:
        n, data = get(0)
        if n <= 0:
            break
        buf += data
    failed = ""
    while (r := pg.get_result()) is not None:
        if r.status != pq.ExecStatus.COMMAND_OK:
            failed = r.error_message.decode(errors="replace")
    if n == -2 or failed:
        raise MedaidError(f"bulk read failed: {failed or pg.error_message.decode()}")
    return buf


def _read_copy(conn: Connection, sql: str, params: dict[str, Any],
               order: tuple[str, str], parts: int = 2) -> pa.Table:
    """PostgreSQL: a query's integer columns (never null) as numpy arrays, rows sorted by
    `order`. Rows come by binary COPY, whose rows of int8 fields all have one size, so
    numpy reads them in place; `parts` connections each COPY a share of the persons in
    parallel (the server's work per row, the visit's JSON, is most of the time), all
    reading the snapshot of `conn`'s transaction (pg_export_snapshot)."""
    import threading

    import psycopg  # only on PostgreSQL

    result = conn.execute(text(f"SELECT * FROM ({sql}) q LIMIT 0"), params)
    names = list(result.keys())
    result.close()
    cols = ", ".join(f"q.{c}::int8" for c in names)
    bound = str(text(f"SELECT {cols} FROM ({sql}) q").bindparams(**params).compile(
        dialect=conn.dialect, compile_kwargs={"literal_binds": True})).replace("%%", "%")
    raw = conn.connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    # shares of the persons by ranges of their ids (each COPY comes, as a rule, in
    # order: then the shares need no sort, only joining)
    cut_sql = text("SELECT percentile_disc(CAST(:f AS float8)) WITHIN GROUP (ORDER BY id) "
                   "FROM persons WHERE jurisdiction = :j")
    found = [conn.execute(cut_sql, {"f": k / parts, "j": params["j"]}).scalar()
             for k in range(1, parts)]
    cuts = sorted({int(c) for c in found if c is not None})
    parts = len(cuts) + 1
    bounds = [None, *cuts, None]
    queries = [f"{bound} WHERE true"
               + ("" if lo is None else f" AND q.{order[0]} >= {lo}")
               + ("" if hi is None else f" AND q.{order[0]} < {hi}")
               for lo, hi in itertools.pairwise(bounds)]
    bufs: list[bytearray] = [bytearray() for _ in queries]
    errors: list[BaseException] = []
    helpers = []
    if parts > 1:
        snapshot = raw.execute("SELECT pg_export_snapshot()").fetchone()
        assert snapshot is not None
        for k in range(1, parts):
            other = psycopg.Connection.connect(raw.info.dsn, password=raw.info.password)
            other.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            other.execute(f"SET TRANSACTION SNAPSHOT '{snapshot[0]}'")
            other.execute("SET LOCAL jit = off")

            def work(c: Any = other, k: int = k) -> None:
                try:
                    bufs[k] = _copy_part(c, queries[k])
                except BaseException as e:
                    errors.append(e)

            t = threading.Thread(target=work)
            t.start()
            helpers.append((t, other))
    try:
        bufs[0] = _copy_part(raw, queries[0])
    finally:
        for t, other in helpers:
            t.join()
            other.close()
    if errors:
        raise errors[0]
    fields = [("count", ">i2")]
    for i in range(len(names)):
        fields += [(f"length{i}", ">i4"), (names[i], ">i8")]
    row = np.dtype(fields)
    out: dict[str, list[Any]] = {c: [] for c in names}
    for buf in bufs:
        rows = max(0, (len(buf) - _COPY_HEADER - 2) // row.itemsize)
        got = np.frombuffer(buf, row, count=rows, offset=_COPY_HEADER)
        for c in names:
            out[c].append(got[c].astype(np.int64))
    arrays = {c: np.concatenate(v) for c, v in out.items()}
    a, b = arrays[order[0]], arrays[order[1]]
    if len(a) > 1 and not bool(np.all((a[1:] > a[:-1]) | ((a[1:] == a[:-1]) & (b[1:] > b[:-1])))):
        at = np.lexsort((b, a))
        arrays = {k: v[at] for k, v in arrays.items()}
    return pa.table(arrays)


def _read(conn: Connection, sql: str, params: dict[str, Any], order: tuple[str, str]
          ) -> pa.Table:
    """A query's rows, ordered by the columns `order`, as an Arrow table. PostgreSQL sends
    them as a few large CSV texts (rows aggregated by the server, a block per thousand
    persons: row by row, a driver spends more on each row than the server does), which
    Arrow parses; elsewhere rows are fetched."""
    if conn.dialect.name == "postgresql":
        result = conn.execute(text(f"SELECT * FROM ({sql}) q LIMIT 0"), params)
        names = list(result.keys())
        result.close()
        line = ", ".join(f"coalesce(q.{c}::text, '')" for c in names)
        rows = conn.execute(text(
            f"SELECT string_agg(concat_ws(',', {line}), E'\\n' ORDER BY q.{order[0]}, "
            f"q.{order[1]}) FROM ({sql}) q GROUP BY q.{order[0]} / 1000 "
            f"ORDER BY q.{order[0]} / 1000"), params).scalars().all()
        if not rows:
            return pa.table({n: pa.array([], pa.int64()) for n in names})
        body = ",".join(names) + "\n" + "\n".join(rows) + "\n"
        return pacsv.read_csv(io.BytesIO(body.encode()), convert_options=pacsv.ConvertOptions(
            strings_can_be_null=True, quoted_strings_can_be_null=False))
    sql = f"SELECT * FROM ({sql}) q ORDER BY q.{order[0]}, q.{order[1]}"
    result = conn.execute(text(sql), params)
    names = list(result.keys())
    rows = result.all()
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pa.table({n: pa.array(list(c)) for n, c in zip(names, cols, strict=True)})


def _int(t: pa.Table, name: str, dtype: Any = np.int64, null: int = 0) -> Any:
    if t.num_rows == 0:
        return np.zeros(0, dtype)
    col = t.column(name)
    if pa.types.is_null(col.type):
        return np.full(t.num_rows, null, dtype)
    if col.null_count:
        col = col.fill_null(null)
    return np.asarray(col.to_numpy(), dtype)


def _codes(t: pa.Table, name: str, choices: Sequence[str]) -> I8:
    if t.num_rows == 0:
        return np.zeros(0, np.int8)
    if pa.types.is_integer(t.column(name).type):  # codes already (PostgreSQL)
        codes = np.asarray(t.column(name).to_numpy(), np.int64)
        if bool((codes < 0).any()) or bool((codes >= len(choices)).any()):
            raise MedaidError(f"ledger entry with an unknown {name}")
        return codes.astype(np.int8)
    enc = t.column(name).cast(pa.string()).combine_chunks().dictionary_encode()
    index = {c: i for i, c in enumerate(choices)}
    lookup = np.array([index.get(c, -1) for c in enc.dictionary.to_pylist()] or [0], np.int8)
    out = lookup[np.asarray(enc.indices.to_numpy(zero_copy_only=False), np.int64)]
    if len(out) and bool((out < 0).any()):
        at = int(enc.indices[int(np.flatnonzero(out < 0)[0])].as_py())
        raise MedaidError(f"ledger entry {name} unknown: {enc.dictionary[at]}")
    return np.asarray(out, np.int8)


@dataclass
class Year:
    """A jurisdiction-year as the ledger holds it, columnar (entries in person and ledger
    order)."""

    jurisdiction: str
    year: int
    entry: I64  # settlements.id of each `settle` entry
    person: I64  # persons.id
    cancelled: npt.NDArray[np.bool_]
    visits: VisitColumns  # every entry's visit (live and cancelled)
    net: dict[str, I64]  # tier → the ledger's net amount per entry
    persons: PersonColumns
    years: dict[int, tuple[int, int, str]]  # person id → (year id, version, pools as JSON)
    read_s: float = 0.0

    def __len__(self) -> int:
        return len(self.entry)


def read_year(conn: Connection, jurisdiction: str, year: int) -> Year:
    """Step 1: the jurisdiction-year, columnar; give a connection inside one transaction
    (on PostgreSQL a REPEATABLE READ one, so that the reads are one snapshot)."""
    t0 = time.perf_counter()
    key = {"j": jurisdiction, "y": int(year)}
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL jit = off")  # compiling costs more than it saves
        e = _read_copy(conn, _entries_sql(conn.dialect.name), key, ("person_id", "id"))
    else:
        e = _read(conn, _entries_sql(conn.dialect.name), key, ("person_id", "id"))
    n = e.num_rows
    packed = _int(e, "packed")
    if n and bool((packed < 0).any()):
        raise MedaidError("a ledger entry of an unknown visit kind, location or referral")
    days = _int(e, "days")

    def field(unit: int, size: int) -> Any:
        return ((packed // unit) % size).astype(np.int8)

    medfee = _int(e, "medfee")
    vcols = VisitColumns(
        person=_int(e, "person_id"), kind=field(P_KIND, 32),
        start=(days // DAYS).astype(np.int32), end=(days % DAYS).astype(np.int32),
        medfee=medfee, inscp=_int(e, "inscp"), hifp=_int(e, "hifp", null=-1),
        hifmi=_int(e, "hifmi", null=-1), oth=_int(e, "oth"),
        location=field(P_LOCATION, 4), referral=field(P_REFERRAL, 4),
        level=field(P_LEVEL, 8),
        flags=(field(P_HEROIC, 2) * np.int8(FLAG_HEROIC)
               + field(P_RARE, 2) * np.int8(FLAG_RARE)).astype(np.int8))
    net = {t: _int(e, f"net_{t}") for t in TIERS}

    ids = _read(conn, _identities_sql(conn.dialect.name), key, ("person_id", "ident_id"))
    pid = _int(ids, "person_id")
    first = np.r_[True, pid[1:] != pid[:-1]] if len(pid) else np.zeros(0, bool)
    has = np.asarray(ids.column("category").is_valid().to_numpy(zero_copy_only=False), bool) \
        if ids.num_rows else np.zeros(0, bool)
    keys = pid[first]
    count = np.bincount(np.cumsum(first)[has] - 1, minlength=len(keys)) if len(keys) \
        else np.zeros(0, np.int64)
    offsets = np.r_[0, np.cumsum(count)].astype(np.int64)
    cats = ids.column("category").filter(pa.array(has)).cast(pa.string()).combine_chunks() \
        if ids.num_rows else pa.array([], pa.string())
    enc = cats.dictionary_encode()
    persons = PersonColumns(
        key=keys, grade=_int(ids, "grade", np.int8)[first],
        tilted_application=_int(ids, "tilted", np.int32, NO_DATE)[first],
        ident_offsets=offsets, ident_category=[str(c) for c in enc.dictionary.to_pylist()],
        ident_cat=np.asarray(enc.indices.to_numpy(zero_copy_only=False), np.int32),
        ident_from=_int(ids, "from_day", np.int32, NO_DATE)[has],
        ident_to=_int(ids, "to_day", np.int32, NO_DATE)[has],
        ident_application=_int(ids, "app_day", np.int32, NO_DATE)[has])
    persons = _with_statuses(conn, persons, key)
    # the pools as stored (JSON text): compared as text first (_stored_differs)
    years = {int(pid): (int(yid), int(version), pools_text or "{}")
             for yid, pid, version, pools_text in conn.execute(text(_YEARS_SQL), key)}
    return Year(jurisdiction, int(year), _int(e, "id"), vcols.person,
                field(P_CANCELLED, 2) != 0, vcols, net,
                persons, years, time.perf_counter() - t0)


def _json(value: Any) -> Any:
    """A JSON column's value (SQLite's drivers give text, psycopg the object)."""
    return json.loads(value) if isinstance(value, str) else value


# -- plan -----------------------------------------------------------------------------------
@dataclass
class BulkPlan:
    """What the rules change in a jurisdiction-year: one YearPlan per person-year that
    differs (or cannot be settled again), and each one's person_years version as read."""

    jurisdiction: str
    year: int
    visits: int  # settle entries read
    person_years: int
    plans: list[YearPlan] = field(default_factory=list)
    versions: dict[tuple[int, int], int] = field(default_factory=dict)  # (person, year) →
    engine_only: list[tuple[int, int]] = field(default_factory=list)  # planned by the engine
    timings: dict[str, float] = field(default_factory=dict)


def _snapshot_names(res: Results, versions: Sequence[model.Policy]) -> list[str]:
    cfg = versions[-1].spec.tilted
    return [*res.plans.pools, cfg.pool if cfg is not None else "tilted", BASIC_PAID,
            CI_BASE, CI_PAID]


class _PoolText:
    """A snapshot row as the JSON text `pools.encode` and json.dumps give for it (names
    sorted, zeros left out, the tilted pool a fraction "n/d" unless whole), built without
    Fractions for the integer pools: the fast side of comparisons with stored pools."""

    def __init__(self, names: Sequence[str], scale: int) -> None:
        self.order = sorted(range(len(names)), key=lambda j: names[j])
        self.keys = [json.dumps(n) for n in names]
        self.tilt = len(names) - kernel.SNAPSHOT_EXTRA
        self.scale = scale

    def __call__(self, row: Any) -> str:
        values = row.tolist()
        parts = []
        for j in self.order:
            v = values[j]
            if v:
                if j == self.tilt and self.scale != 1:
                    f = Fraction(v, self.scale)
                    text_v = str(f.numerator) if f.denominator == 1 else \
                        f'"{f.numerator}/{f.denominator}"'
                else:
                    text_v = str(v)
                parts.append(f"{self.keys[j]}: {text_v}")
        return "{" + ", ".join(parts) + "}"


def _pool_dict(names: Sequence[str], row: Any, scale: int) -> dict[str, Num]:
    out: dict[str, Num] = {}
    k = len(names) - kernel.SNAPSHOT_EXTRA
    for j, v in enumerate(row.tolist()):
        if v:
            if j == k:
                f = Fraction(v, scale)
                out[names[j]] = int(f) if f.denominator == 1 else f
            else:
                out[names[j]] = v
    return out


def _stored_differs(stored: str, rules_text: str, rules: Callable[[], dict[str, Num]]
                    ) -> bool:
    """Whether stored pools (JSON text) are not the rules' (`rules_text`, `rules()`): the
    same text is the same pools; other text is compared by value (zeros left out)."""
    if rules_text == stored:
        return False
    return resettle._exact(pools.decode(json.loads(stored) or {})) != resettle._exact(rules())


def plan(uow: UnitOfWork, jurisdiction: str, year: int,
         person_ids: Sequence[int] | None = None) -> BulkPlan:
    """Steps 1–3: read, settle with the batch kernel, compare; writes nothing."""
    t0 = time.perf_counter()
    conn = uow.session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    y = read_year(conn, jurisdiction, year)
    out = BulkPlan(jurisdiction, year, len(y), len(y.years))
    out.timings["read"] = time.perf_counter() - t0
    versions = model.versions(jurisdiction)
    local = {name: parse_json(v) for name, v in
             parameters.stored(uow, jurisdiction, year).items()}
    n = len(y)
    live = ~y.cancelled
    live_idx = np.flatnonzero(live)
    lv = VisitColumns(**{f: getattr(y.visits, f)[live_idx]
                         for f in VisitColumns.__dataclass_fields__})
    t1 = time.perf_counter()
    try:
        res = settle_population(versions, local, lv, y.persons, snapshots=True)
    except MedaidError:
        # a person-year the rules cannot settle again: the engine plans each one, and
        # names the reason of those that fail
        out.engine_only = sorted((int(p), year) for p in np.unique(y.person))
        for pid in np.unique(y.person).tolist():
            out.versions[(pid, year)] = y.years.get(pid, (0, -1, ""))[1]
            p = resettle.plan_year(uow, pid, year)
            if not p.clean:
                out.plans.append(p)
        out.timings["settle"] = time.perf_counter() - t1
        return out
    out.timings["settle"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    # the rules per entry: a live visit as settled again, a cancelled one nothing
    rules = {t: np.zeros(n, np.int64) for t in TIERS}
    for t in TIERS:
        if hasattr(res, t):  # a kernel without stages pays no re-assistance: zeros
            rules[t][live_idx] = getattr(res, t)
    bad = np.zeros(n, bool)
    for t in TIERS:
        bad |= rules[t] != y.net[t]
    # person-years (groups of consecutive entries of one person)
    starts = np.flatnonzero(np.r_[True, y.person[1:] != y.person[:-1]]) if n else \
        np.zeros(0, np.int64)
    group = np.cumsum(np.r_[True, y.person[1:] != y.person[:-1]]) - 1 if n else \
        np.zeros(0, np.int64)
    out.person_years = len(starts)
    differs = np.zeros(len(starts), bool)
    np.logical_or.at(differs, group[bad], True)
    # stored pools against the pools the rules leave (the batch's person-years are the
    # groups of live visits, in the same person order)
    names = _snapshot_names(res, versions)
    scale = res.plans.scale
    assert res.years.end is not None and res.before is not None
    end_of = {int(k): res.years.end[g] for g, k in enumerate(res.years.person.tolist())}
    group_person = y.person[starts] if n else np.zeros(0, np.int64)
    as_text = _PoolText(names, scale)
    for g, pid in enumerate(group_person.tolist()):
        if differs[g]:
            continue
        row = end_of.get(pid)
        stored = y.years.get(pid, (0, 0, "{}"))[2]
        def exact(row: Any = row) -> dict[str, Num]:
            return {} if row is None else _pool_dict(names, row, scale)

        if _stored_differs(stored, "{}" if row is None else as_text(row), exact):
            differs[g] = True
    out.timings["compare"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    changed = np.flatnonzero(differs)
    if person_ids is not None:
        wanted = set(person_ids)
        changed = np.array([g for g in changed.tolist() if int(group_person[g]) in wanted],
                           np.int64)
    if len(changed):
        _explain(uow, out, y, res, names, changed, starts, live_idx, rules, bad, versions)
    for g in changed.tolist():
        pid = int(group_person[g])
        out.versions[(pid, year)] = y.years.get(pid, (0, -1, ""))[1]
    out.timings["explain"] = time.perf_counter() - t3
    return out


def _explain(uow: UnitOfWork, out: BulkPlan, y: Year, res: Results, names: list[str],
             changed: I64, starts: I64, live_idx: I64, rules: dict[str, I64],
             bad: npt.NDArray[np.bool_], versions: Sequence[model.Policy]) -> None:
    """Step 3 for the person-years that differ: each visit's ledger pool additions against
    the rules' (the batch's snapshots), then the engine's settlement of each changed
    visit on the batch's pools before it (its trace, and a check of the kernel)."""
    conn = uow.session.connection()
    n = len(y)
    ends = np.r_[starts[1:], n]
    pos_of = np.full(n, -1, np.int64)  # entry → its row in the batch's results
    pos_of[live_idx] = np.arange(len(live_idx))
    assert res.before is not None and res.years.end is not None
    scale = res.plans.scale
    end_of = {int(k): g for g, k in enumerate(res.years.person.tolist())}
    sel = np.concatenate([np.arange(starts[g], ends[g]) for g in changed.tolist()])
    ledger_deltas = _ledger_deltas(conn, y.entry[sel].tolist())
    # the rules' pool additions of every live visit of these years: the snapshot after it
    # (the next visit's before, or the year's end) less the one before
    after_rows = np.empty((len(sel), res.before.shape[1]), np.int64)
    before_rows = np.zeros_like(after_rows)
    at_lo = 0
    for g in changed.tolist():
        lo, hi = int(starts[g]), int(ends[g])
        at = np.arange(at_lo, at_lo + hi - lo)  # sel holds the years' entries in turn
        at_lo += hi - lo
        k = pos_of[lo:hi]
        live_k = k[k >= 0]
        if not len(live_k):
            continue
        eg = end_of[int(y.person[lo])]
        nxt = np.r_[res.before[live_k[1:]], res.years.end[eg][None, :]]
        live_at = at[k >= 0]
        before_rows[live_at] = res.before[live_k]
        after_rows[live_at] = nxt
    delta_rows = after_rows - before_rows
    explain: list[int] = []  # positions in sel with a difference
    rule_deltas: dict[int, dict[str, Num]] = {}
    as_text = _PoolText(names, scale)
    entries = y.entry[sel].tolist()
    live = (pos_of[sel] >= 0).tolist()
    differ = bad[sel].tolist()
    for j, i in enumerate(sel.tolist()):
        # as stored, the same text: equal; else compared by value below
        if not differ[j] and (as_text(delta_rows[j]) if live[j] else "{}") == \
                ledger_deltas.get(entries[j], "{}"):
            continue
        rule_deltas[i] = _pool_dict(names, delta_rows[j], scale) if live[j] else {}
        explain.append(i)
    detail = _entry_details(conn, [int(y.entry[i]) for i in explain])
    pids = sorted({int(y.person[starts[g]]) for g in changed.tolist()})
    who = _persons(conn, pids)
    params: dict[int, Any] = {}
    group_of = np.searchsorted(starts, np.asarray(explain, np.int64), side="right") - 1
    todo: dict[int, list[int]] = {}
    for i, g in zip(explain, group_of.tolist(), strict=True):
        todo.setdefault(int(g), []).append(i)
    for g in changed.tolist():
        pid = int(y.person[starts[g]])
        psn_no, name, person = who[pid]
        stored = y.years.get(pid, (0, 0, "{}"))[2]
        plan = YearPlan(pid, psn_no, name, y.jurisdiction, y.year,
                        stored=pools.decode(json.loads(stored) or {}))
        end_g = end_of.get(pid)
        plan.pools = {} if end_g is None else _pool_dict(names, res.years.end[end_g], scale)
        ok = True
        for i in todo.get(int(g), []):
            eid = int(y.entry[i])
            d = detail[eid]
            ledger = {t: int(y.net[t][i]) for t in TIERS}
            want = {t: int(rules[t][i]) for t in TIERS}
            k_at = int(pos_of[i])
            change_deltas = pools.deltas(pools.decode(json.loads(ledger_deltas.get(eid, "{}"))),
                                         rule_deltas[i])
            if want == ledger and not change_deltas:
                continue
            if k_at >= 0:
                before = _pool_dict(names, res.before[k_at], scale)
                visit = visits.of_entry(d, d.level)
                policy = model.in_force(list(versions), visit.end)
                assert policy is not None
                if id(policy) not in params:
                    params[id(policy)] = params_for(uow, policy, y.year)
                s, engine_after = settle_visit(policy, params[id(policy)], person, before,
                                               visit, ROOT)
                if {t: int(getattr(s, t)) for t in TIERS} != want or \
                        pools.deltas(before, engine_after) != pools.deltas({}, rule_deltas[i]):
                    ok = False  # the kernel and the engine differ: the engine decides
                    break
                category, rule_ids, trace = s.category, s.rules, trace_rows(s.trace)
            else:
                category, rule_ids, trace = d.category, [], []
            plan.changes.append(Change(d.ref, d.route, k_at >= 0, ledger, want, change_deltas,
                                       category, rule_ids, trace))
        if not ok:
            out.engine_only.append((pid, y.year))
            plan = resettle.plan_year(uow, pid, y.year)
        if not plan.clean:
            out.plans.append(plan)


@dataclass
class _Detail:
    ref: EntryRef
    route: str
    level: int | None
    category: str | None
    visit: dict[str, Any] | None
    mdtrt_id: str
    visit_kind: str
    start: date
    end: date
    medfee_sumamt: int
    fulamt_ownpay_amt: int
    overlmt_selfpay: int
    preselfpay_amt: int
    hifp_pay: int
    hifmi_pay: int
    oth_pay: int


_BATCH = 5_000


def _member(col: Any, conn: Connection) -> Any:
    """`col` among the list bound as "ids": an array on PostgreSQL (one parameter, not
    thousands), an expanding IN elsewhere."""
    from sqlalchemy import BigInteger, any_, bindparam
    from sqlalchemy.dialects.postgresql import ARRAY

    if conn.dialect.name == "postgresql":
        return col == any_(bindparam("ids", type_=ARRAY(BigInteger)))
    return col.in_(bindparam("ids", expanding=True))


def _ledger_deltas(conn: Connection, ids: list[int]) -> dict[int, str]:
    """Each entry's net pool additions (its own, its cancellation's, its adjustments') as
    JSON text: as stored when the entry has nothing else (`pools.encode`, written by
    json.dumps), else their exact sum so written. Text that differs from the rules' is
    compared by value, so a different spelling of the same pools is no difference."""
    from sqlalchemy import bindparam

    out: dict[int, str] = {}
    more: dict[int, dict[str, Num]] = {}
    queries = (
        "SELECT id, pool_deltas{cast} FROM settlements WHERE id {member}",
        "SELECT reverses_id, pool_deltas{cast} FROM settlements WHERE reverses_id {member}",
        "SELECT settlement_id, pool_deltas{cast} FROM adjustments "
        "WHERE settlement_id {member}")
    pg = conn.dialect.name == "postgresql"
    for lo in range(0, len(ids), _BATCH * 4):
        part = ids[lo:lo + _BATCH * 4]
        for n, sql in enumerate(queries):
            stmt = text(sql.format(cast="::text", member="= ANY(:ids)")) if pg else \
                text(sql.format(cast="", member="IN :ids")).bindparams(
                    bindparam("ids", expanding=True))
            for sid, raw in conn.execute(stmt, {"ids": part}):
                sid = int(sid)
                if n == 0:
                    out[sid] = raw if isinstance(raw, str) else json.dumps(raw)
                else:
                    d = pools.decode(_json(raw) or {})
                    more[sid] = pools.add(more.get(sid, {}), d)
    for sid, d in more.items():
        own = pools.decode(json.loads(out.get(sid, "{}")) or {})
        out[sid] = json.dumps(pools.encode(pools.add(own, d)))
    return out


def _entry_details(conn: Connection, ids: list[int]) -> dict[int, _Detail]:
    """What a Change names of each entry, its route and its visit as stored."""
    from sqlalchemy import select

    from medaid.store.application_models import ApplicationVisit
    from medaid.store.models import Institution, Settlement

    out: dict[int, _Detail] = {}
    for lo in range(0, len(ids), _BATCH):
        part = ids[lo:lo + _BATCH]
        rows = conn.execute(select(
            Settlement.id, Settlement.setl_id, Settlement.medins_setl_id, Settlement.mdtrt_id,
            Settlement.institution_id, Settlement.category, Settlement.visit,
            Settlement.visit_kind, Settlement.start, Settlement.end,
            Settlement.medfee_sumamt, Settlement.fulamt_ownpay_amt, Settlement.overlmt_selfpay,
            Settlement.preselfpay_amt, Settlement.hifp_pay, Settlement.hifmi_pay,
            Settlement.oth_pay, Institution.level, Institution.kind,
        ).join(Institution, Institution.id == Settlement.institution_id).where(
            _member(Settlement.id, conn)), {"ids": part}).all()
        paper = set(conn.execute(select(ApplicationVisit.setl_id).where(
            ApplicationVisit.setl_id.in_([r.setl_id for r in rows]))).scalars())
        for r in rows:
            route = "person" if r.setl_id in paper or r.kind == "office" else "batch"
            out[int(r.id)] = _Detail(
                EntryRef(int(r.id), r.setl_id, r.medins_setl_id, r.mdtrt_id,
                         int(r.institution_id)), route, r.level, r.category,
                _json(r.visit) or None, r.mdtrt_id, r.visit_kind, r.start, r.end,
                r.medfee_sumamt, r.fulamt_ownpay_amt, r.overlmt_selfpay, r.preselfpay_amt,
                r.hifp_pay, r.hifmi_pay, r.oth_pay)
    return out


def _persons(conn: Connection, ids: list[int]) -> dict[int, tuple[str, str, engine.Person]]:
    """psn_no, name and the engine's person (identities and statuses in their order) of
    each id."""
    from sqlalchemy import select

    from medaid.store.models import Identity, Person, PersonStatus

    out: dict[int, tuple[str, str, engine.Person]] = {}
    for lo in range(0, len(ids), _BATCH):
        part = ids[lo:lo + _BATCH]
        found: dict[int, list[engine.Identity]] = {}
        held: dict[int, list[engine.Held]] = {}
        for s in conn.execute(select(PersonStatus.person_id, PersonStatus.status,
                                     PersonStatus.from_date, PersonStatus.to_date).where(
                _member(PersonStatus.person_id, conn)).order_by(
                PersonStatus.person_id, PersonStatus.id), {"ids": part}):
            held.setdefault(int(s.person_id), []).append(engine.Held(
                s.status, s.from_date, s.to_date))
        for r in conn.execute(select(Identity.person_id, Identity.category, Identity.from_date,
                                     Identity.to_date, Identity.application_date).where(
                _member(Identity.person_id, conn)).order_by(
                Identity.person_id, Identity.id), {"ids": part}):
            found.setdefault(int(r.person_id), []).append(engine.Identity(
                r.category, r.from_date, r.to_date, r.application_date))
        for pid, psn_no, name, grade, tilted in conn.execute(select(
                Person.id, Person.psn_no, Person.name, Person.disability_grade,
                Person.tilted_application).where(_member(Person.id, conn)), {"ids": part}):
            out[int(pid)] = (psn_no, name, engine.Person(
                psn_no, tuple(found.get(int(pid), ())), grade, tilted,
                tuple(held.get(int(pid), ()))))
    return out


# -- post -----------------------------------------------------------------------------------
@dataclass
class Posted:
    plans: list[YearPlan]  # what was posted (or found to be unsettleable), per person-year
    replanned: int  # person-years planned again by the engine under their lock
    adjustments: int
    timings: dict[str, float]


_ADJ_COLUMNS = ("adj_id", "settlement_id", "run_id", "institution_id", "person_id", "psn_no",
                "year", "cause", "cause_ref", "reason", "route", *TIERS, "pool_deltas",
                "category", "rules", "trace", "created_at")


def post(sessions: Any, subject: str, bulk: BulkPlan, cause: Cause,
         progress: Callable[[int], None] | None = None) -> Posted:
    """Step 4: post the plan's person-years, CHUNK at a time, each chunk in a transaction
    under the locks of its person-years (module docstring)."""
    t0 = time.perf_counter()
    run_id = resettle._new_id()
    done: list[YearPlan] = []
    replanned = written = 0
    by_key = {(p.person_id, p.year): p for p in bulk.plans}
    keys = sorted(by_key)
    for lo in range(0, len(keys), CHUNK):
        part = keys[lo:lo + CHUNK]
        with UnitOfWork(sessions) as uow:
            conn = uow.session.connection()
            locked = _lock(conn, part)
            ready: list[YearPlan] = []
            for key in part:
                p = by_key[key]
                row = locked.get(key)
                fresh = row is not None and row[1] == bulk.versions.get(key)
                if fresh and key not in bulk.engine_only and p.error is None:
                    ready.append(p)
                    continue
                # changed since the plan (or planned by the engine): plan it again under
                # the lock now held, as every per-event re-settlement does
                replanned += 1
                again = resettle.post_year(uow, subject, key[0], key[1], cause, run_id)
                written += len(again.changes) if again.error is None else 0
                if not again.clean:
                    done.append(again)
            written += _write(uow, ready, locked, cause, run_id)
            if ready:
                audit.append(conn, subject, "resettle.bulk",
                             f"jurisdiction_year:{bulk.jurisdiction}/{bulk.year}", {
                                 "cause": cause.kind, "cause_ref": cause.ref, "run_id": run_id,
                                 "person_years": len(ready),
                                 "adjustments": sum(len(p.changes) for p in ready),
                                 "maf_pay": sum(c.maf_pay for p in ready for c in p.changes)})
            uow.commit()
            done.extend(ready)
        if progress is not None:
            progress(len(part))
    return Posted(done, replanned, written, {"post": time.perf_counter() - t0})


def _lock(conn: Connection, keys: list[tuple[int, int]]) -> dict[tuple[int, int],
                                                                  tuple[int, int]]:
    """Lock the person-years `keys` in person and year order (PostgreSQL FOR UPDATE; SQLite's
    transaction already holds the one write lock): (person, year) → (row id, version)."""
    if not keys:
        return {}
    years = {y for _, y in keys}
    out: dict[tuple[int, int], tuple[int, int]] = {}
    for year in sorted(years):
        pids = sorted(p for p, y in keys if y == year)
        if conn.dialect.name == "postgresql":
            rows = conn.exec_driver_sql(
                "SELECT id, person_id, version FROM person_years WHERE year = %(y)s "
                "AND person_id = ANY(%(p)s) ORDER BY person_id FOR UPDATE",
                {"y": year, "p": pids}).all()
        else:
            from sqlalchemy import bindparam, select
            rows = []
            for lo in range(0, len(pids), _BATCH):
                rows += conn.execute(select(PersonYear.id, PersonYear.person_id,
                                            PersonYear.version).where(
                    PersonYear.year == year,
                    PersonYear.person_id.in_(bindparam("p", expanding=True))),
                    {"p": pids[lo:lo + _BATCH]}).all()
        for r in rows:
            out[(int(r[1]), year)] = (int(r[0]), int(r[2]))
    return out


def _write(uow: UnitOfWork, ready: list[YearPlan], locked: dict[tuple[int, int],
                                                                 tuple[int, int]],
           cause: Cause, run_id: str) -> int:
    """The adjustments of `ready` in bulk, their pools, a version bump each."""
    if not ready:
        return 0
    conn = uow.session.connection()
    now = clock.now()
    rows: list[tuple[Any, ...]] = []
    for p in ready:
        for c in p.changes:
            e = c.entry
            diff = c.diff
            rows.append((resettle._new_id(), e.id, run_id, e.institution_id, p.person_id,
                         p.psn_no, p.year, cause.kind, cause.ref[:200], cause.reason, c.route,
                         *(diff[t] for t in TIERS), pools.encode(c.pool_deltas), c.category,
                         c.rule_ids, c.trace, now))
    if conn.dialect.name == "postgresql":
        _copy_adjustments(conn, rows)
    else:
        table = Base.metadata.tables["adjustments"]
        conn.execute(insert(table), [dict(zip(_ADJ_COLUMNS, r, strict=True)) for r in rows])
    ids = [locked[(p.person_id, p.year)][0] for p in ready]
    saved = [{"year_id": locked[(p.person_id, p.year)][0], "new_pools": pools.encode(p.pools)}
             for p in ready if p.pools_differ]
    from medaid.store import queries
    if saved:
        conn.execute(queries.SAVE_YEAR, saved)  # version + 1 with the pools
    rest = sorted(set(ids) - {s["year_id"] for s in saved})
    from sqlalchemy import bindparam, update
    for lo in range(0, len(rest), _BATCH):
        conn.execute(update(PersonYear).where(PersonYear.id.in_(
            bindparam("ids", expanding=True))).values(version=PersonYear.version + 1),
            {"ids": rest[lo:lo + _BATCH]})
    return len(rows)


def _copy_adjustments(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    import psycopg

    raw = conn.connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    json_at = {_ADJ_COLUMNS.index(c) for c in ("pool_deltas", "rules", "trace")}
    cols = ", ".join(f'"{c}"' for c in _ADJ_COLUMNS)
    with raw.cursor() as cur, cur.copy(f"COPY adjustments ({cols}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row(tuple(json.dumps(v, ensure_ascii=False) if k in json_at else v
                                 for k, v in enumerate(r)))


def day(d: int) -> date:
    return EPOCH + timedelta(days=int(d))
