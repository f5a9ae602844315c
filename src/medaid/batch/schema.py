"""The Parquet files of a population: visits, persons, results (docs/BATCH.md).

Two files make a population: `NAME.parquet`, one row per visit with the case contract's
fields (amounts int64 fen, dates date32, kinds/locations/referrals dictionary-encoded
strings), and `NAME.persons.parquet`, one row per person with the identities as a list
column. The visits file's key-value metadata `medaid` (JSON) names the persons file and
carries the local parameters per jurisdiction, written exactly as a case's `local`.

Reading turns columns into numpy arrays the batch path works on: codes for the strings,
days since 1970-01-01 for dates, −1 for an absent `hifp_pay`/`hifmi_pay` (computed from
local parameters, as the engine does), 0 for an absent hospital level.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from medaid.core.errors import InputError
from medaid.engine.case import LOCATIONS, REFERRALS, dumps, parse_json
from medaid.engine.types import Person, Visit
from medaid.policy import fields
from medaid.policy.schema import KINDS

I8 = npt.NDArray[np.int8]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

FORMAT = "medaid.population"
VERSION = 1
META_KEY = b"medaid"
EPOCH = date(1970, 1, 1)
FLAG_HEROIC, FLAG_RARE = 1, 2  # visit flags as bits (heroic_injury, rare_disease)
FLAGS = ("heroic_injury", "rare_disease")
NULL = -1  # hifp_pay / hifmi_pay not given: computed from local parameters

CODE = pa.dictionary(pa.int8(), pa.string())
SELF_PAY = ("preselfpay_amt", "overlmt_selfpay", "fulamt_ownpay_amt")  # VisitColumns.selfpay
AMOUNTS = tuple(f.name for f in fields.AMOUNTS if f.stored)
_ARROW = {"amount": pa.int64(), "date": pa.date32(), "choice": CODE, "level": pa.int8(),
          "flag": pa.bool_()}

# The case contract's visit fields (medaid.policy.fields) as columns: amounts in fen, null only
# where the engine computes an absent value or for an absent hospital level.
VISITS = pa.schema([
    pa.field("person_key", pa.int64(), nullable=False),
    pa.field("visit_id", pa.dictionary(pa.int32(), pa.string()), nullable=False),
    *(pa.field(f.name, _ARROW[f.type], nullable=f.computed or f.type == "level")
      for f in fields.VISIT if f.stored and f.name != "id"),
])

IDENTITY = pa.struct([
    pa.field("category", pa.string(), nullable=False),
    pa.field("from", pa.date32(), nullable=False),
    pa.field("to", pa.date32()),
    pa.field("application", pa.date32()),
])

# A person-level status a policy declares (`statuses:`), held from `from` to `to` (either
# open: null), as `medaid settle` reads `person.statuses`.
STATUS = pa.struct([
    pa.field("status", pa.string(), nullable=False),
    pa.field("from", pa.date32()),
    pa.field("to", pa.date32()),
])

PERSONS = pa.schema([
    pa.field("person_key", pa.int64(), nullable=False),
    pa.field("person_id", pa.string(), nullable=False),
    pa.field("disability_grade", pa.int8()),
    pa.field("tilted_application", pa.date32()),
    pa.field("identities", pa.list_(pa.field("item", IDENTITY, nullable=False)),
             nullable=False),
    pa.field("statuses", pa.list_(pa.field("item", STATUS, nullable=False))),
])

RESULTS = pa.schema([
    pa.field("person_key", pa.int64(), nullable=False),
    pa.field("visit_id", pa.dictionary(pa.int32(), pa.string()), nullable=False),
    pa.field("year", pa.int16(), nullable=False),
    pa.field("kind", CODE, nullable=False),
    pa.field("settled_as", CODE, nullable=False),
    pa.field("category", pa.dictionary(pa.int16(), pa.string())),  # null: none in force
    pa.field("rules", pa.dictionary(pa.int32(), pa.string()), nullable=False),  # "NJ-A2+NJ-T"
    *(pa.field(name, pa.int64(), nullable=False) for name in (
        "medfee_sumamt", "inscp_scp_amt", "hifp_pay", "hifmi_pay", "oth_pay", "base",
        "assistance", "tilted", "special", "reassistance", "maf_pay", "psn_part_amt")),
])


def persons_path(visits: str | Path) -> Path:
    """`year.parquet` → `year.persons.parquet`, beside it."""
    p = Path(visits)
    return p.with_name(p.name.removesuffix(".parquet") + ".persons.parquet")


@dataclass(frozen=True)
class Meta:
    """The visits file's `medaid` metadata."""

    persons: str  # the persons file, relative to the visits file
    local: dict[str, dict[str, object]]  # jurisdiction → a case's `local`
    extra: dict[str, Any]  # what wrote it (e.g. synth's seed), informational

    def encode(self) -> dict[bytes, bytes]:
        body = {"format": FORMAT, "version": VERSION, "persons": self.persons,
                "local": self.local, **self.extra}
        return {META_KEY: dumps(body).encode()}

    @staticmethod
    def decode(raw: Mapping[bytes, bytes] | None, path: str) -> Meta:
        if not raw or META_KEY not in raw:
            raise InputError(path, "not a medaid visits file (no 'medaid' metadata)")
        body = parse_json(raw[META_KEY].decode())
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise InputError(path, f"metadata 'medaid' is not a {FORMAT} record")
        if body.get("version") != VERSION:
            raise InputError(path, f"format version {body.get('version')} (this medaid reads "
                             f"{VERSION})")
        local = body.pop("local", {}) or {}
        persons = str(body.pop("persons"))
        for k in ("format", "version"):
            body.pop(k)
        return Meta(persons, {str(j): dict(v) for j, v in local.items()}, body)


# -- writing ---------------------------------------------------------------------------------
def _days(d: date | None) -> int | None:
    return None if d is None else (d - EPOCH).days


def _codes(values: Sequence[str], choices: Sequence[str]) -> pa.DictionaryArray:
    index = {c: i for i, c in enumerate(choices)}
    return pa.DictionaryArray.from_arrays(
        pa.array([index[v] for v in values], pa.int8()), pa.array(list(choices), pa.string()))


def visits_table(rows: Iterable[tuple[int, Visit]]) -> pa.Table:
    """(person_key, visit) pairs, in settlement order, as a visits table."""
    cols: dict[str, list[Any]] = {f.name: [] for f in VISITS}
    for key, v in rows:
        cols["person_key"].append(key)
        cols["visit_id"].append(v.id)
        cols["kind"].append(v.kind)
        cols["start"].append(_days(v.start))
        cols["end"].append(_days(v.end))
        for name in AMOUNTS:
            cols[name].append(getattr(v, name))
        cols["location"].append(v.location)
        cols["referral"].append(v.referral)
        cols["hospital_level"].append(v.hospital_level)
        cols["heroic_injury"].append(v.heroic_injury)
        cols["rare_disease"].append(v.rare_disease)
    arrays: list[pa.Array] = []
    for f in VISITS:
        data = cols[f.name]
        if f.name == "kind":
            arrays.append(_codes(data, KINDS))
        elif f.name == "location":
            arrays.append(_codes(data, LOCATIONS))
        elif f.name == "referral":
            arrays.append(_codes(data, REFERRALS))
        elif f.name == "visit_id":
            arrays.append(pa.array(data, pa.string()).dictionary_encode())
        elif f.type == pa.date32():
            arrays.append(pa.array(data, pa.int32()).view(pa.date32()))
        else:
            arrays.append(pa.array(data, f.type))
    return pa.Table.from_arrays(arrays, schema=VISITS)


def persons_table(rows: Iterable[tuple[int, Person]]) -> pa.Table:
    keys: list[int] = []
    ids: list[str] = []
    grades: list[int | None] = []
    tilted: list[int | None] = []
    idents: list[list[dict[str, object]]] = []
    statuses: list[list[dict[str, object]]] = []
    for key, p in rows:
        keys.append(key)
        ids.append(p.id)
        grades.append(p.disability_grade)
        tilted.append(_days(p.tilted_application))
        idents.append([{"category": i.category, "from": i.start, "to": i.end,
                        "application": i.application} for i in p.identities])
        statuses.append([{"status": h.status, "from": h.start, "to": h.end}
                         for h in p.statuses])
    return pa.Table.from_arrays([
        pa.array(keys, pa.int64()), pa.array(ids, pa.string()), pa.array(grades, pa.int8()),
        pa.array(tilted, pa.int32()).view(pa.date32()),
        pa.array(idents, PERSONS.field("identities").type),
        pa.array(statuses, PERSONS.field("statuses").type)], schema=PERSONS)


COMPRESSION = "lz4"  # fast to decode: the batch path reads at millions of rows a second


class PopulationWriter:
    """Streams visits and persons, chunk by chunk, into the two files."""

    def __init__(self, path: str | Path, meta: Meta) -> None:
        self.path = Path(path)
        schema = VISITS.with_metadata(meta.encode())
        self._visits = pq.ParquetWriter(self.path, schema, compression=COMPRESSION)
        self._persons = pq.ParquetWriter(self.path.parent / meta.persons, PERSONS,
                                         compression=COMPRESSION)

    def write(self, visits: pa.Table, persons: pa.Table) -> None:
        self._visits.write_table(visits.replace_schema_metadata(None).cast(VISITS))
        self._persons.write_table(persons.cast(PERSONS))

    def close(self) -> None:
        self._visits.close()
        self._persons.close()

    def __enter__(self) -> PopulationWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- reading ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class VisitColumns:
    """The visits as numpy arrays, in file order."""

    person: I64  # person_key
    kind: I8  # index into KINDS
    start: I32  # days since 1970-01-01
    end: I32
    medfee: I64
    inscp: I64  # medfee − fulamt_ownpay − overlmt_selfpay − preselfpay
    hifp: I64  # NULL: computed
    hifmi: I64
    oth: I64
    location: I8
    referral: I8
    level: I8  # 0: absent
    flags: I8  # FLAG_HEROIC | FLAG_RARE
    # [visit, (preselfpay_amt, overlmt_selfpay, fulamt_ownpay_amt)]: what a line's base may
    # include; −1 where the reader did not give them (an error only for such a line)
    selfpay: I64 | None = None

    def __post_init__(self) -> None:
        if self.selfpay is None:
            object.__setattr__(self, "selfpay", np.full((len(self.person), 3), -1, np.int64))

    def __len__(self) -> int:
        return len(self.person)


@dataclass(frozen=True)
class PersonColumns:
    """The persons as numpy arrays; identities in CSR form (`ident_offsets`)."""

    key: I64
    grade: I8  # 0: none
    tilted_application: I32  # days; NO_DATE: none
    ident_offsets: I64  # identities of person i: [offsets[i], offsets[i+1])
    ident_category: list[str]  # the category dictionary
    ident_cat: I32  # index into ident_category
    ident_from: I32
    ident_to: I32  # NO_DATE: open
    ident_application: I32  # NO_DATE: none
    # statuses in CSR form (`status_offsets`, empty: nobody holds one), dates NO_DATE: open
    status_offsets: I64 = field(default_factory=lambda: np.zeros(1, np.int64))
    status_names: list[str] = field(default_factory=list)
    status_id: I32 = field(default_factory=lambda: np.zeros(0, np.int32))
    status_from: I32 = field(default_factory=lambda: np.zeros(0, np.int32))
    status_to: I32 = field(default_factory=lambda: np.zeros(0, np.int32))


NO_DATE = np.iinfo(np.int32).min  # an absent date


def _field_error(table: str, row: int, name: str, message: str) -> InputError:
    return InputError(f"{table}[{row}].{name}", message)


def _int_column(t: pa.Table, name: str, table: str, nullable: bool = False,
                fill: int = NULL) -> I64:
    col = t.column(name)
    if col.null_count:
        if not nullable:
            row = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise _field_error(table, row, name, "required")
        col = col.fill_null(fill)
    return np.asarray(col.to_numpy(), dtype=np.int64)


def _date_column(t: pa.Table, name: str, table: str, nullable: bool = False) -> I32:
    col = t.column(name)
    if not nullable and col.null_count:
        row = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
        raise _field_error(table, row, name, "required")
    if col.type != pa.date32():
        col = col.cast(pa.date32())
    if col.null_count:
        col = col.cast(pa.int32()).fill_null(NO_DATE)
        return np.asarray(col.to_numpy(), dtype=np.int32)
    return np.asarray(col.cast(pa.int32()).to_numpy(), dtype=np.int32)


def _code_column(t: pa.Table, name: str, choices: Sequence[str], table: str,
                 what: str) -> I8:
    """A string column (dictionary-encoded or not) as indices into `choices`."""
    col = t.column(name)
    if col.null_count:
        row = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
        raise _field_error(table, row, name, "required")
    if not pa.types.is_dictionary(col.type):
        col = col.dictionary_encode()
    index = {c: i for i, c in enumerate(choices)}
    out = np.empty(len(col), dtype=np.int8)
    at = 0
    for chunk in col.chunks:
        names = chunk.dictionary.to_pylist()
        lookup = np.array([index.get(n, -1) for n in names], dtype=np.int8)
        idx = np.asarray(chunk.indices.to_numpy(), dtype=np.int64)
        codes = lookup[idx] if len(lookup) else np.empty(0, np.int8)
        if len(codes) and codes.min() < 0:
            bad = int(np.flatnonzero(codes < 0)[0])
            raise _field_error(table, at + bad, name, f"unknown {what} {names[idx[bad]]!r} "
                               f"(one of: {', '.join(choices)})")
        out[at:at + len(chunk)] = codes
        at += len(chunk)
    return out


def visit_columns(t: pa.Table) -> VisitColumns:
    """Validate a visits table as the case contract does, and turn it into arrays."""
    from medaid.batch.checks import PROBLEMS, first_problem  # compiled: loaded when needed

    n = t.num_rows
    tb = "visits"
    amounts = {name: _int_column(t, name, tb, nullable=name in ("hifp_pay", "hifmi_pay"))
               for name in AMOUNTS}
    start = _date_column(t, "start", tb)
    end = _date_column(t, "end", tb)
    level = _int_column(t, "hospital_level", tb, nullable=True, fill=0)
    inscp = np.empty(n, np.int64)
    a = amounts
    row, problem = first_problem(a["medfee_sumamt"], a["fulamt_ownpay_amt"], a["overlmt_selfpay"],
                                 a["preselfpay_amt"], a["hifp_pay"], a["hifmi_pay"], a["oth_pay"],
                                 start, end, level, inscp)
    if row >= 0:
        name, message = PROBLEMS[problem]
        raise _field_error(tb, int(row), name, message)
    flags = np.zeros(n, dtype=np.int8)
    for bit, name in ((FLAG_HEROIC, "heroic_injury"), (FLAG_RARE, "rare_disease")):
        col = t.column(name)
        if col.null_count:
            col = col.fill_null(False)
        flags |= np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.int8) * np.int8(bit)
    return VisitColumns(
        person=_int_column(t, "person_key", tb),
        kind=_code_column(t, "kind", KINDS, tb, "visit kind"),
        start=start, end=end, medfee=amounts["medfee_sumamt"], inscp=inscp,
        hifp=amounts["hifp_pay"], hifmi=amounts["hifmi_pay"], oth=amounts["oth_pay"],
        location=_code_column(t, "location", LOCATIONS, tb, "location"),
        referral=_code_column(t, "referral", REFERRALS, tb, "referral"),
        level=level.astype(np.int8), flags=flags,
        selfpay=np.stack([amounts[name] for name in SELF_PAY], axis=1) if n
        else np.zeros((0, 3), np.int64))


def person_columns(t: pa.Table) -> PersonColumns:
    tb = "persons"
    grade = _int_column(t, "disability_grade", tb, nullable=True, fill=0)
    if len(grade) and ((grade < 0) | (grade > 4)).any():
        raise _field_error(tb, int(np.flatnonzero((grade < 0) | (grade > 4))[0]),
                           "disability_grade", "must be 1, 2, 3, 4 or null")
    lists = t.column("identities").combine_chunks()
    if lists.null_count:
        lists = lists.fill_null([])
    offsets = np.asarray(lists.offsets.to_numpy(), dtype=np.int64)
    offsets = offsets - offsets[0]
    items = pa.Table.from_struct_array(lists.flatten())
    cats = items.column("category").combine_chunks()
    if cats.null_count:
        raise InputError("persons.identities.category", "required")
    enc = cats.dictionary_encode()
    ident_from = _date_column(items, "from", "persons.identities")
    ident_to = _date_column(items, "to", "persons.identities", nullable=True)
    bad = (ident_to != NO_DATE) & (ident_to < ident_from)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        person = int(np.searchsorted(offsets, i, side="right") - 1)
        raise InputError(f"persons[{person}].identities[{i - offsets[person]}].to",
                         "exit date before from")
    return PersonColumns(
        key=_int_column(t, "person_key", tb), grade=grade.astype(np.int8),
        tilted_application=_date_column(t, "tilted_application", tb, nullable=True),
        ident_offsets=offsets,
        ident_category=[str(c) for c in enc.dictionary.to_pylist()],
        ident_cat=np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int32),
        ident_from=ident_from, ident_to=ident_to,
        ident_application=_date_column(items, "application", "persons.identities",
                                       nullable=True),
        **_statuses(t))


def _statuses(t: pa.Table) -> dict[str, Any]:
    """The persons' statuses in CSR form (`PersonColumns.status_*`); a file without the
    column holds none."""
    if "statuses" not in t.column_names:
        return {}
    lists = t.column("statuses").combine_chunks()
    if lists.null_count:
        lists = lists.fill_null([])
    offsets = np.asarray(lists.offsets.to_numpy(), dtype=np.int64)
    items = pa.Table.from_struct_array(lists.flatten())
    names = items.column("status").combine_chunks()
    if names.null_count:
        raise InputError("persons.statuses.status", "required")
    enc = names.dictionary_encode()
    return {"status_offsets": offsets - offsets[0],
            "status_names": [str(c) for c in enc.dictionary.to_pylist()],
            "status_id": np.asarray(enc.indices.to_numpy(zero_copy_only=False), np.int32),
            "status_from": _date_column(items, "from", "persons.statuses", nullable=True),
            "status_to": _date_column(items, "to", "persons.statuses", nullable=True)}


VISIT_INPUT = [f.name for f in VISITS if f.name != "visit_id"]  # what settling reads


def read_meta(path: str | Path) -> Meta:
    try:
        raw = pq.read_schema(path).metadata
    except FileNotFoundError:
        raise InputError(str(path), "no such file") from None
    except (OSError, pa.ArrowInvalid) as e:
        raise InputError(str(path), f"not a Parquet file ({e})") from None
    return Meta.decode(raw, str(path))


def read_population(path: str | Path, columns: Sequence[str] | None = None
                    ) -> tuple[pa.Table, pa.Table, Meta]:
    """The visits table (only `columns`, default all), the persons table, the metadata."""
    p = Path(path)
    try:
        meta = read_meta(p)
        visits = pq.read_table(p, columns=list(columns) if columns else None)
        persons = pq.read_table(p.parent / meta.persons)
    except (OSError, pa.ArrowInvalid) as e:
        raise InputError(str(p), f"cannot read: {e}") from None
    return visits, persons, meta


def local_json(local: Mapping[str, object]) -> dict[str, object]:
    """A case's `local` as it round-trips through the metadata (numbers as Decimal)."""
    value = parse_json(dumps(dict(local)))
    assert isinstance(value, dict)
    return value
