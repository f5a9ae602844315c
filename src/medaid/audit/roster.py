"""The identity roster the audit settles against: who held which category, when.

A CSV or XLSX roster is read as `medaid roster check` reads one (`registry.files`,
`registry.columns`, `registry.cells`, `registry.categories`: the same headers, encodings,
dates and category spellings, `psn_idet_type` codes included), with one difference: a
person may have several rows, one per identity (a 低保 exit and a 特困 entry in the
same year). A Parquet roster (a province's list) has the same columns by their English
names (`certno`, `category`, `start`, `end`, `application`, `disability_grade`) and is
read column by column.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from medaid.audit.export import BadCell
from medaid.core import clock
from medaid.core.errors import InputError
from medaid.policy.model import Policy
from medaid.registry import cells, files, idcard
from medaid.registry.categories import Categories
from medaid.registry.columns import HEADER_SEARCH_ROWS, LABELS, field_of, header
from medaid.registry.types import Problem

EPOCH = date(1970, 1, 1)
NO_DATE = np.iinfo(np.int32).min
# the column of a tilted-assistance application (倾斜救助, YC-T's 依申请): a person's date
TILTED = ("倾斜救助申请日期", "倾斜救助申请时间", "tilted_application")


@dataclass
class Identities:
    """Each person's identities (CSR by person), keyed by ID number. Columns, not Python
    objects: a province's roster of millions is read, cut into pieces and looked up
    without a Python object per person."""

    keys: pa.Array  # string: the persons, in roster order
    grade: npt.NDArray[np.int8]  # disability grade, 0: none
    offsets: npt.NDArray[np.int64]
    category_code: npt.NDArray[np.int32]  # per identity: an index into `categories`
    categories: list[str]  # category ids of the policy (sorted, distinct)
    start: npt.NDArray[np.int32]  # days since 1970-01-01
    end: npt.NDArray[np.int32]  # NO_DATE: open
    application: npt.NDArray[np.int32]
    rows: npt.NDArray[np.int64] = field(  # per identity: its roster row
        default_factory=lambda: np.zeros(0, np.int64))
    # per person: the date of a tilted-assistance application (YC-T), NO_DATE: none
    tilted: npt.NDArray[np.int32] | None = None

    def category(self, k: int) -> str:
        """Identity k's category id."""
        return self.categories[int(self.category_code[k])]

    def tilted_of(self, r: int) -> int:
        return NO_DATE if self.tilted is None else int(self.tilted[r])

    def __len__(self) -> int:
        return len(self.keys)


def _codes(ids: list[str]) -> tuple[npt.NDArray[np.int32], list[str]]:
    """Category ids as codes into their sorted distinct list."""
    names = sorted(set(ids))
    at = {c: k for k, c in enumerate(names)}
    return np.fromiter((at[c] for c in ids), np.int32, len(ids)), names


class BadRoster(InputError):
    def __init__(self, source: str, bad: list[BadCell]) -> None:
        bad = sorted(bad, key=lambda b: (b.row, b.column))
        super().__init__(source, f"{len(bad)} bad value(s) in the roster; first: "
                         f"{bad[0].line()}")
        self.bad = bad


def _days(d: date | None) -> int:
    return NO_DATE if d is None else (d - EPOCH).days


Row = tuple[int, str, str, int, int, int, int, int]


def _build(source: str, rows: list[Row]) -> Identities:
    """(row, key, category, start, end, application, grade, tilted) → Identities."""
    by_key: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_key[r[1]].append(r)
    keys = list(by_key)
    offsets = [0]
    cat: list[str] = []
    start: list[int] = []
    end: list[int] = []
    app: list[int] = []
    grade: list[int] = []
    tilted: list[int] = []
    numbers: list[int] = []
    for k in keys:
        items = sorted(by_key[k], key=lambda r: (r[3], r[0]))  # by recognition date
        for r in items:
            numbers.append(r[0])
            cat.append(r[2])
            start.append(r[3])
            end.append(r[4])
            app.append(r[5])
        grade.append(max(r[6] for r in items))
        given = [r[7] for r in items if r[7] != NO_DATE]
        tilted.append(min(given) if given else NO_DATE)
        offsets.append(len(cat))
    code, names = _codes(cat)
    return Identities(pa.array(keys, pa.string()), np.asarray(grade, np.int8),
                      np.asarray(offsets, np.int64), code, names, np.asarray(start, np.int32),
                      np.asarray(end, np.int32), np.asarray(app, np.int32),
                      np.asarray(numbers, np.int64), np.asarray(tilted, np.int32))


def read_roster(path: str | Path, policy: Policy, today: date | None = None) -> Identities:
    p = Path(path)
    try:
        with p.open("rb") as f:
            head = f.read(4)
    except OSError as e:
        raise InputError(p.name, f"无法读取文件 / cannot read: {e.strerror}") from None
    if head == b"PAR1":
        return _read_parquet(p, policy)
    return _read_rows(p, policy, today or clock.today())


def _read_rows(p: Path, policy: Policy, today: date) -> Identities:
    rows = files.read_rows(p)
    columns: dict[str, int] | None = None
    heads: list[object] = []
    for number, cells_ in rows:
        columns = header(cells_, p.name)
        if columns is not None:
            heads = cells_
            break
        if number >= HEADER_SEARCH_ROWS:
            break
    if columns is None:
        raise InputError(p.name, "找不到表头：应有身份证号、人员类别、认定日期等列 / no header row "
                                 "with the columns certno, category, start")
    labels = {f: cells.text(heads[i]) for f, i in columns.items()}
    tilted_keys = {_fold(t) for t in TILTED}
    tilt_at = next((i for i, c in enumerate(heads) if _fold(cells.text(c)) in tilted_keys),
                   None)
    if tilt_at is not None:
        columns = {**columns, "tilted_application": tilt_at}
        labels["tilted_application"] = cells.text(heads[tilt_at])
    categories = Categories(policy)
    bad: list[BadCell] = []
    good: list[Row] = []
    for number, row in rows:
        if all(not cells.text(v) for v in row):
            continue
        rec = {f: row[i] if i < len(row) else None for f, i in columns.items()}
        problems: list[BadCell] = []

        def fail(f: str, problem: Problem, shown: str | None = None,
                 _number: int = number, _rec: dict[str, object] = rec,
                 _problems: list[BadCell] = problems) -> None:
            _problems.append(BadCell(_number, labels.get(f, LABELS.get(f, f)),
                                     shown if shown is not None else cells.text(_rec.get(f)),
                                     str(problem)))

        raw_id = cells.text(rec.get("certno"))
        key = ""
        try:
            key = idcard.validate(raw_id, today).number
        except idcard.IdCardError as e:
            fail("certno", e, idcard.mask(raw_id))
        category = ""
        try:
            category = categories.resolve(cells.text(rec.get("category")))
        except Problem as e:
            fail("category", e)
        dates: dict[str, date | None] = {}
        for f in ("start", "end", "application", "tilted_application"):
            try:
                dates[f] = cells.parse_date(rec.get(f))
            except Problem as e:
                fail(f, e)
                dates[f] = None
        if dates["start"] is None and not any(b.column == labels.get("start") for b in problems):
            fail("start", Problem("认定日期为空", "recognition date is empty"))
        s, e_ = dates["start"], dates["end"]
        if s is not None and e_ is not None and e_ < s:
            fail("end", Problem("退出日期早于认定日期", f"exit date {e_} is before {s}"))
        grade = 0
        try:
            grade = cells.parse_grade(rec.get("disability_grade")) or 0
        except Problem as e:
            fail("disability_grade", e)
        if problems:
            bad += problems
            continue
        good.append((number, key, category, _days(s), _days(e_), _days(dates["application"]),
                     grade, _days(dates["tilted_application"])))
    if bad:
        raise BadRoster(p.name, bad)
    return _build(p.name, good)


def _fold(label: str) -> str:
    return "".join(label.split()).lower()


def _read_parquet(p: Path, policy: Policy) -> Identities:
    try:
        schema = pq.read_schema(p)
        names = {field_of(n) or ("tilted_application" if _fold(n) in {
            _fold(t) for t in TILTED} else None): n for n in schema.names}
        names.pop(None, None)
        t = pq.read_table(p, columns=list(names.values()))
    except (OSError, pa.ArrowInvalid) as e:
        raise InputError(p.name, f"无法读取Parquet文件 / cannot read: {e}") from None
    field_by_name = {n: f for f, n in names.items()}
    t = t.rename_columns([str(field_by_name[n]) for n in t.column_names])
    missing = [f for f in ("certno", "category", "start") if f not in t.column_names]
    if missing:
        raise InputError(p.name, f"缺少必需列 / missing required columns: {', '.join(missing)}")
    n = t.num_rows
    bad: list[BadCell] = []

    def col(name: str) -> pa.Array:
        c = t.column(name).combine_chunks()
        return c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c

    def fail_mask(mask: npt.NDArray[np.bool_], name: str, values: pa.Array | None,
                  reason: str) -> None:
        for at in np.flatnonzero(mask).tolist():
            bad.append(BadCell(at + 1, names[name], "" if values is None else
                               str(values[at].as_py()), reason))

    keys = col("certno").cast(pa.string())
    if keys.null_count:
        fail_mask(keys.is_null().to_numpy(zero_copy_only=False), "certno", None,
                  "必填项为空 / required")
    cats = col("category").cast(pa.string()).dictionary_encode()
    resolver = Categories(policy)
    resolved: list[str] = []
    problems: dict[int, str] = {}
    for i, v in enumerate(cats.dictionary.to_pylist()):
        try:
            resolved.append(resolver.resolve(str(v)))
        except Problem as e:
            resolved.append("")
            problems[i] = str(e)
    idx = np.asarray(cats.indices.fill_null(-1).to_numpy(), np.int64)
    for i, reason in problems.items():
        fail_mask(idx == i, "category", cats.dictionary.take(
            pa.array(np.full(n, i), pa.int64())), reason)
    if (idx < 0).any():
        fail_mask(idx < 0, "category", None, "必填项为空 / required")

    def days(name: str, required: bool) -> npt.NDArray[np.int32]:
        if name not in t.column_names:
            return np.full(n, NO_DATE, np.int32)
        c = col(name)
        if not pa.types.is_date(c.type) and not pa.types.is_timestamp(c.type):
            c = pc.strptime(c.cast(pa.string()), format="%Y-%m-%d", unit="s",
                            error_is_null=True)
            bad_ = pc.and_kleene(pc.is_null(c), pc.is_valid(col(name))).to_numpy(
                zero_copy_only=False)
            if bad_.any():
                fail_mask(bad_, name, col(name), "日期格式无法识别 / not a date (2023-01-05)")
        d = c.cast(pa.date32()).cast(pa.int32())
        if required and d.null_count:
            fail_mask(d.is_null().to_numpy(zero_copy_only=False), name, None,
                      "必填项为空 / required")
        return np.asarray(d.fill_null(NO_DATE).to_numpy(), np.int32)

    start, end, app = days("start", True), days("end", False), days("application", False)
    tilt = days("tilted_application", False)
    back = (end != NO_DATE) & (end < start)
    if back.any():
        fail_mask(back, "end", None, "退出日期早于认定日期 / exit date before the recognition date")
    grade = np.zeros(n, np.int64)
    if "disability_grade" in t.column_names:
        grade = np.asarray(col("disability_grade").cast(pa.int64()).fill_null(0).to_numpy(),
                           np.int64)
        wrong = (grade < 0) | (grade > 4)
        if wrong.any():
            fail_mask(wrong, "disability_grade", None, "残疾等级应为1–4 / must be 1–4")
    if bad:
        raise BadRoster(p.name, bad)
    # group rows by person, identities ordered by recognition date
    enc = keys.dictionary_encode()
    person = np.asarray(enc.indices.to_numpy(), np.int64)
    order = np.lexsort((np.arange(n), start, person))
    counts = np.bincount(person, minlength=len(enc.dictionary))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    ids_of = sorted(set(resolved))  # the dictionary's spellings → category ids
    spelled = np.asarray([ids_of.index(c) for c in resolved] or [0], np.int32)
    cat_codes = spelled[idx[order]]
    g = np.zeros(len(enc.dictionary), np.int64)
    np.maximum.at(g, person, grade)
    tilted = np.full(len(enc.dictionary), np.iinfo(np.int32).max, np.int64)
    np.minimum.at(tilted, person, np.where(tilt == NO_DATE, np.iinfo(np.int32).max, tilt))
    tilted = np.where(tilted == np.iinfo(np.int32).max, NO_DATE, tilted)
    return Identities(enc.dictionary.cast(pa.string()), g.astype(np.int8), offsets,
                      cat_codes, ids_of, start[order], end[order], app[order],
                      (order + 1).astype(np.int64), tilted.astype(np.int32))
