"""Reading the platform's settlement export: CSV (UTF-8 or GBK), XLSX or Parquet.

Every column is converted as a whole (Arrow compute, numpy) and only a column that does
not convert is read again value by value to find the rows at fault, so a Parquet export
of millions of records is read at the speed of the format while a bad cell is still
reported by its row and column. Nothing is dropped: a record is either read or reported.

Row numbers are the ones a person sees: the spreadsheet's row for XLSX, the CSV record
number (the header is row 1, or wherever it stands), and for Parquet the record's
position counted from 1.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from medaid.audit import fields
from medaid.batch.schema import FLAG_HEROIC, FLAG_RARE
from medaid.core.errors import InputError
from medaid.policy.schema import KINDS
from medaid.registry.files import decode

I8 = npt.NDArray[np.int8]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

HEADER_SEARCH_ROWS = 20
DAY = 86_400
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S",
                 "%Y%m%d%H%M%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d",
                 "%Y%m%d")


@dataclass(frozen=True, slots=True)
class BadCell:
    """A value that cannot be read: its row as the user sees it, its column, why."""

    row: int
    column: str  # the header as the file has it
    value: str
    reason: str  # "中文 / English"

    def line(self) -> str:
        return f"第{self.row}行 row {self.row}, {self.column} {self.value!r}: {self.reason}"


class BadExport(InputError):
    """An export with bad rows: all of them, in row order."""

    def __init__(self, source: str, bad: list[BadCell]) -> None:
        bad = sorted(bad, key=lambda b: (b.row, b.column))
        first = bad[0]
        super().__init__(source, f"{len(bad)} bad value(s) in {len({b.row for b in bad})} "
                         f"row(s); first: {first.line()}")
        self.bad = bad


@dataclass(frozen=True)
class Records:
    """The export's records as columns, in file order; amounts in fen."""

    source: str
    row: I64  # the row number a person sees
    psn_no: pa.Array  # string
    key: pa.Array  # string: the roster key (certno when the export has it, else psn_no)
    setl_id: pa.Array
    mdtrt_id: pa.Array
    med_type: pa.Array
    kind: I8  # index into KINDS
    fixmedins_code: pa.Array
    fixmedins_name: pa.Array | None
    psn_name: pa.Array | None
    psn_idet_type: pa.Array | None  # string, nullable
    init_setl_id: pa.Array | None  # string, nullable
    time: I64  # setl_time, seconds since 1970-01-01 (local time as written)
    start: I32  # days since 1970-01-01: begndate, else the settlement's date
    end: I32  # enddate, else the settlement's date
    location: I8  # index into case.LOCATIONS
    medfee: I64
    fulamt: I64
    overlmt: I64
    preself: I64
    hifp: I64
    hifmi: I64
    oth: I64
    maf: I64
    reversal: B  # a cancellation: a reversing record
    referral: I8  # index into case.REFERRALS (`ok` when the export does not say)
    level: I8  # hospital level 1–3, 0: not given
    flags: I8  # batch.schema FLAG_HEROIC | FLAG_RARE

    def __len__(self) -> int:
        return len(self.row)


# -- the raw table -----------------------------------------------------------------------------
def _cell(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _header(cells: list[object]) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for i, c in enumerate(cells):
        name = fields.field_of(c)
        if name is not None and name not in found:
            found[name] = i
    return found if len(found) >= 3 and "psn_no" in found else None


def _table_from_rows(rows: Iterator[tuple[int, list[object]]], source: str
                     ) -> tuple[pa.Table, I64, dict[str, str]]:
    columns: dict[str, int] | None = None
    heads: list[object] = []
    for number, cells in rows:
        columns = _header(cells)
        if columns is not None:
            heads = cells
            break
        if number >= HEADER_SEARCH_ROWS:
            break
    if columns is None:
        raise InputError(source, "找不到表头：应有psn_no、setl_id、maf_pay等列 / no header row "
                                 "with the national field names (psn_no, setl_id, … maf_pay)")
    labels = {f: str(heads[i]).strip() for f, i in columns.items()}
    data: dict[str, list[str | None]] = {f: [] for f in columns}
    numbers: list[int] = []
    for number, cells in rows:
        if all(c is None or str(c).strip() == "" for c in cells):
            continue  # blank lines, rows a spreadsheet keeps formatted
        numbers.append(number)
        for f, i in columns.items():
            data[f].append(_cell(cells[i]) if i < len(cells) else None)
    table = pa.table({f: pa.array(v, pa.string()) for f, v in data.items()})
    return table, np.asarray(numbers, np.int64), labels


def _csv_rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    content = decode(path.read_bytes(), path.name)
    first = next((line for line in content.splitlines() if line.strip()), "")
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    try:
        for number, record in enumerate(reader, start=1):
            yield number, list(record)
    except csv.Error as e:
        raise InputError(path.name, f"CSV格式错误 / malformed CSV: {e}") from None


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
        ws = wb.worksheets[0]
        ws.reset_dimensions()
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            yield number, list(values)
    except InputError:
        raise
    except Exception as e:  # a damaged workbook: whatever its zip and XML readers raise
        raise InputError(path.name, f"无法读取Excel文件 / cannot read the workbook: {e}"
                         ) from None


def read_table(path: str | Path) -> tuple[pa.Table, I64, dict[str, str]]:
    """The export's known columns (by national field name), each record's row number as
    a person sees it, and each field's header as the file writes it."""
    p = Path(path)
    where = p.name
    try:
        with p.open("rb") as f:
            head = f.read(8)
    except OSError as e:
        raise InputError(where, f"无法读取文件 / cannot read: {e.strerror}") from None
    if head.startswith(b"PAR1"):
        try:
            schema = pq.read_schema(p)
            names = {fields.field_of(n): n for n in schema.names}
            names.pop(None, None)
            table = pq.read_table(p, columns=list(names.values()))
        except (OSError, pa.ArrowInvalid) as e:
            raise InputError(where, f"无法读取Parquet文件 / cannot read: {e}") from None
        table = table.rename_columns([str(fields.field_of(n)) for n in table.column_names])
        return table, np.arange(1, table.num_rows + 1, dtype=np.int64), \
            {str(f): n for f, n in names.items()}
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(where, "不支持旧版.xls文件，请另存为.xlsx或CSV / "
                                "legacy .xls is not supported: save as .xlsx or CSV")
    if head.startswith(b"PK"):
        return _table_from_rows(_xlsx_rows(p), where)
    return _table_from_rows(_csv_rows(p), where)


# -- columns -----------------------------------------------------------------------------------
class _Reader:
    """Converts the raw table column by column, collecting every bad cell."""

    def __init__(self, table: pa.Table, rows: I64, labels: dict[str, str], source: str) -> None:
        self.t = table
        self.rows = rows
        self.labels = labels
        self.source = source
        self.bad: list[BadCell] = []
        self.n = table.num_rows

    def has(self, name: str) -> bool:
        return name in self.t.column_names

    def fail(self, at: int, name: str, value: object, zh: str, en: str) -> None:
        self.bad.append(BadCell(int(self.rows[at]), self.labels.get(name, name),
                                "" if value is None else str(value), f"{zh} / {en}"))

    def fail_mask(self, mask: B, name: str, values: pa.Array | None, zh: str, en: str) -> None:
        for at in np.flatnonzero(mask).tolist():
            self.fail(at, name, values[at].as_py() if values is not None else None, zh, en)

    def text(self, name: str, required: bool) -> pa.Array | None:
        if not self.has(name):
            return None
        col = self.t.column(name).combine_chunks()
        if pa.types.is_dictionary(col.type):  # a Parquet column of repeated values
            words = col.dictionary
            if not pa.types.is_string(words.type):
                words = words.cast(pa.string())
            words = pc.utf8_trim_whitespace(words)  # once per distinct value
            col = pa.DictionaryArray.from_arrays(col.indices, words).cast(pa.string())
        else:
            if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
                col = col.cast(pa.string())
            col = pc.utf8_trim_whitespace(col)  # a copy: cheaper than looking for spaces
        empty = pc.or_kleene(pc.is_null(col), pc.equal(col, ""))
        if pc.any(empty).as_py():
            mask = empty.to_numpy(zero_copy_only=False)
            if required:
                self.fail_mask(mask, name, None, "必填项为空", "required")
            col = pc.if_else(empty, pa.scalar(None, pa.string()), col)
        return col

    def codes(self, name: str, values: Mapping[str, object]) -> I8 | None:
        """An optional coded column (medaid's words or the platform's Chinese) → int8 per
        record, −1 where blank; an unknown value is a bad cell."""
        col = self.text(name, False)
        if col is None:
            return None
        enc = col.dictionary_encode()
        lookup = []
        for v in enc.dictionary.to_pylist():
            k = fields.value_key(v)
            lookup.append(int(values[k]) if k in values else -2)  # type: ignore[call-overload]
        idx = np.asarray(enc.indices.fill_null(-1).to_numpy(), np.int64)
        out = np.where(idx >= 0, np.asarray(lookup or [0], np.int64)[np.maximum(idx, 0)], -1)
        if (out == -2).any():
            shown = sorted({k for k in values if not k.isascii()} | {
                k for k in values if k.isascii() and len(k) > 1})
            self.fail_mask(out == -2, name, col, "取值无法识别",
                           f"unknown value (one of: {', '.join(shown)})")
        return out.astype(np.int8)

    def fen(self, name: str, required: bool = True) -> I64 | None:
        """An amount column in yuan → int64 fen, exactly (at most two decimals)."""
        if not self.has(name):
            return None
        col = self.t.column(name).combine_chunks()
        t = col.type
        out: I64
        if pa.types.is_integer(t):
            out = np.asarray(col.fill_null(0).to_numpy(), np.int64) * 100
        elif pa.types.is_floating(t):
            v = np.asarray(col.fill_null(0).to_numpy(), np.float64) * 100
            out = np.rint(v).astype(np.int64)
            frac = np.abs(v - out) > 1e-6 * np.maximum(1.0, np.abs(v))
            if frac.any():
                self.fail_mask(frac, name, col, "金额最多两位小数", "at most two decimals")
        elif pa.types.is_decimal(t):
            try:
                out = self._unscaled(col.cast(pa.decimal128(18, 2)))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                out = self._fen_slow(name, col.cast(pa.string()))
        else:
            strings = col.cast(pa.string())
            try:
                out = self._unscaled(strings.cast(pa.decimal128(18, 2)))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                out = self._fen_slow(name, strings)
        if col.null_count:
            nulls = col.is_null().to_numpy(zero_copy_only=False)
            if required:
                self.fail_mask(nulls, name, None, "必填项为空", "required")
            out = np.where(nulls, 0, out)
        return out

    @staticmethod
    def _unscaled(dec: pa.Array) -> I64:
        """decimal128(18, 2) → its unscaled int64 (fen): the low half of each 16 bytes."""
        buf = dec.buffers()[1]
        raw = np.frombuffer(buf, np.int64, count=2 * (dec.offset + len(dec)))
        return np.array(raw[2 * dec.offset::2], np.int64)

    def _fen_slow(self, name: str, strings: pa.Array) -> I64:
        out = np.zeros(len(strings), np.int64)
        for at, value in enumerate(strings.to_pylist()):
            if value is None:
                continue
            text = value.strip().replace(",", "").removeprefix("¥")
            if text == "":
                continue  # reported as required by the null check of the caller
            try:
                d = Decimal(text)
                if not d.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                self.fail(at, name, value, "不是金额", "not an amount in yuan")
                continue
            f = d * 100
            if f != f.to_integral_value():
                self.fail(at, name, value, "金额最多两位小数", "at most two decimals")
                continue
            if abs(f) >= 10**15:
                self.fail(at, name, value, "金额过大", "amount out of range")
                continue
            out[at] = int(f)
        return out

    def seconds(self, name: str, required: bool, date_only: bool = False) -> I64 | None:
        """A date-time column → seconds since 1970-01-01 (as written, no time zone)."""
        if not self.has(name):
            return None
        col = self.t.column(name).combine_chunks()
        t = col.type
        if pa.types.is_timestamp(t):
            secs = col.cast(pa.timestamp("s", tz=t.tz) if t.tz else pa.timestamp("s"),
                            safe=False)
            if t.tz:
                secs = pc.local_timestamp(secs)
            got = secs.cast(pa.int64())
        elif pa.types.is_date(t):
            got = pc.multiply(col.cast(pa.date32()).cast(pa.int32()).cast(pa.int64()), DAY)
        else:
            strings = pc.utf8_trim_whitespace(col.cast(pa.string()))
            got = pa.nulls(len(strings), pa.int64())
            for fmt in _TIME_FORMATS:
                missing = pc.is_null(got)
                if not pc.any(pc.and_kleene(missing, pc.is_valid(strings))).as_py():
                    break
                parsed = pc.strptime(strings, format=fmt, unit="s", error_is_null=True)
                got = pc.coalesce(got, parsed.cast(pa.int64()))
            bad = pc.and_kleene(pc.is_null(got), pc.and_kleene(
                pc.is_valid(strings), pc.not_equal(strings, ""))).to_numpy(zero_copy_only=False)
            if bad.any():
                self.fail_mask(bad, name, strings, "日期时间格式无法识别",
                               "not a date-time (2023-03-10 14:22:01)")
            col = pc.if_else(pc.equal(strings, ""), pa.scalar(None, pa.string()), strings)
        values = np.asarray(got.fill_null(0).to_numpy(), np.int64)
        nulls = col.is_null().to_numpy(zero_copy_only=False) if col.null_count else None
        if nulls is not None and required:
            self.fail_mask(nulls, name, None, "必填项为空", "required")
        if date_only:
            values = values - values % DAY
        if nulls is not None:
            values = np.where(nulls, np.iinfo(np.int64).min, values)
        return values


def _or_zero(codes: I8 | None, n: int) -> I8:
    return np.zeros(n, np.int8) if codes is None else np.maximum(codes, 0).astype(np.int8)


def _location(insured: pa.Array | None, treated: pa.Array | None, n: int) -> I8:
    """city (same 4-digit prefix), province (same 2), out_of_province; city when unknown."""
    loc = np.zeros(n, np.int8)
    if insured is None or treated is None:
        return loc
    a = pc.utf8_slice_codeunits(insured, 0, 4)
    b = pc.utf8_slice_codeunits(treated, 0, 4)
    same_city = pc.fill_null(pc.equal(a, b), True).to_numpy(zero_copy_only=False)
    same_prov = pc.fill_null(pc.equal(pc.utf8_slice_codeunits(insured, 0, 2),
                                      pc.utf8_slice_codeunits(treated, 0, 2)), True
                             ).to_numpy(zero_copy_only=False)
    loc[~same_prov] = 2
    loc[same_prov & ~same_city] = 1
    return loc


def read_export(path: str | Path, med_types: dict[str, str] | None = None) -> Records:
    """Read and check an export; BadExport lists every bad value with row and column."""
    table, rows, labels = read_table(path)
    source = Path(path).name
    check_columns(table.column_names, source)
    return records_of(table, rows, labels, source, med_types or fields.MED_TYPES)


def check_columns(present: Collection[str], source: str) -> None:
    """InputError naming the required national fields the export lacks."""
    missing = [f for f in fields.REQUIRED if f not in present]
    if missing:
        raise InputError(source, f"缺少必需列：{'、'.join(fields.LABELS[f] for f in missing)} / "
                                 f"missing required columns: {', '.join(missing)}")


def records_of(table: pa.Table, rows: I64, labels: dict[str, str], source: str,
               med_types: dict[str, str]) -> Records:
    r = _Reader(table, rows, labels, source)
    n = r.n
    texts = {f: r.text(f, True) for f in fields.TEXT_REQUIRED}
    optional = {f: r.text(f, False) for f in ("psn_idet_type", "certno", "psn_name",
                                               "fixmedins_name", "init_setl_id",
                                               "insuplc_admdvs", "mdtrtarea_admvs")}
    visit_fields = {f: r.codes(f, table_) for f, table_ in (
        ("location", fields.LOCATION_VALUES), ("referral", fields.REFERRAL_VALUES),
        ("hospital_level", fields.LEVEL_VALUES), ("heroic_injury", fields.FLAG_VALUES),
        ("rare_disease", fields.FLAG_VALUES))}
    amounts = {f: r.fen(f) for f in fields.AMOUNTS_REQUIRED}
    inscp = r.fen("inscp_scp_amt", required=False)
    time = r.seconds("setl_time", True)
    begn = r.seconds("begndate", False, date_only=True)
    endd = r.seconds("enddate", False, date_only=True)
    assert time is not None
    day = time // DAY

    # med_type → kind
    med = texts["med_type"]
    assert med is not None
    enc = med.dictionary_encode()
    codes = enc.dictionary.to_pylist()
    lookup = np.array([KINDS.index(med_types[c]) if c in med_types else -1 for c in codes]
                      or [0], np.int8)
    idx = np.asarray(enc.indices.fill_null(0).to_numpy(), np.int64)
    kind = lookup[idx] if len(codes) else np.zeros(n, np.int8)
    unknown = (kind < 0) & np.asarray(enc.indices.is_valid().to_numpy(zero_copy_only=False))
    if unknown.any():
        r.fail_mask(unknown, "med_type", med,
                    "医疗类别不在医疗救助结算范围内（可用--med-type 代码=类型 指定）",
                    f"med_type not mapped to a visit kind (known: {', '.join(med_types)}; "
                    "add one with --med-type CODE=KIND)")
    kind = np.maximum(kind, 0).astype(np.int8)

    # dates of the visit: begndate/enddate when given, else the settlement's day
    none = np.iinfo(np.int64).min
    start = np.where(begn != none, begn // DAY, day) if begn is not None else day
    end = np.where(endd != none, endd // DAY, day) if endd is not None else day
    if begn is not None or endd is not None:
        back = end < start
        if back.any():
            r.fail_mask(back, "enddate" if endd is not None else "begndate", None,
                        "结束日期早于开始日期", "end date before start date")

    # signs: a record is a settlement (every amount ≥ 0) or a cancellation (≤ 0)
    a = amounts
    medfee, fulamt, overlmt, preself = (a["medfee_sumamt"], a["fulamt_ownpay_amt"],
                                        a["overlmt_selfpay"], a["preselfpay_amt"])
    hifp, hifmi, oth, maf = a["hifp_pay"], a["hifmi_pay"], a["oth_pay"], a["maf_pay"]
    assert medfee is not None and fulamt is not None and overlmt is not None
    assert preself is not None and hifp is not None and hifmi is not None
    assert oth is not None and maf is not None
    init = optional["init_setl_id"]
    reversal = medfee < 0
    if init is not None:
        reversal |= np.asarray(init.is_valid().to_numpy(zero_copy_only=False))
    sign = np.where(reversal, -1, 1)
    for name in fields.AMOUNTS_REQUIRED:
        v = a[name]
        assert v is not None
        wrong = v * sign < 0
        if wrong.any():
            r.fail_mask(wrong, name, None,
                        "撤销记录的金额应为负数或零，结算记录的应为正数或零",
                        "amounts are ≥ 0 on a settlement and ≤ 0 on its cancellation")
    # the contract's relations, on the settlement's own sign
    m, outside = medfee * sign, (fulamt + overlmt + preself) * sign
    bad = m < outside
    if bad.any():
        r.fail_mask(bad, "medfee_sumamt", None, "医疗费总额小于全自费、超限价、先行自付之和",
                    "less than fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt")
    scope = m - outside
    if inscp is not None:
        raw = table.column("inscp_scp_amt").cast(pa.string())
        given = ~pc.or_kleene(pc.is_null(raw), pc.equal(pc.utf8_trim_whitespace(raw), "")
                              ).to_numpy(zero_copy_only=False)
        wrong = given & (inscp * sign != scope) & ~bad
        if wrong.any():
            r.fail_mask(wrong, "inscp_scp_amt", None,
                        "应等于医疗费总额−全自费−超限价−先行自付",
                        "must equal medfee_sumamt − fulamt_ownpay_amt − overlmt_selfpay − "
                        "preselfpay_amt")
    paid = (hifp + hifmi + oth) * sign
    over = (paid > scope) & ~bad
    if over.any():
        r.fail_mask(over, "oth_pay", None, "统筹、大病、其他支出之和超过符合政策范围金额",
                    "hifp_pay + hifmi_pay + oth_pay exceed the policy-range amount")

    location = _location(optional["insuplc_admdvs"], optional["mdtrtarea_admvs"], n)
    given = visit_fields["location"]
    if given is not None:  # a location column says it outright; a blank cell: the codes
        location = np.where(given >= 0, given, location).astype(np.int8)
    if r.bad:
        raise BadExport(source, r.bad)
    key = optional["certno"] if optional["certno"] is not None else texts["psn_no"]
    if optional["certno"] is not None and optional["certno"].null_count:
        key = pc.coalesce(optional["certno"], texts["psn_no"])
    assert key is not None
    t = texts
    return Records(
        source=source, row=rows, psn_no=t["psn_no"], key=key, setl_id=t["setl_id"],
        mdtrt_id=t["mdtrt_id"], med_type=med, kind=kind, fixmedins_code=t["fixmedins_code"],
        fixmedins_name=optional["fixmedins_name"], psn_name=optional["psn_name"],
        psn_idet_type=optional["psn_idet_type"], init_setl_id=init, time=time,
        start=np.asarray(start, np.int32), end=np.asarray(end, np.int32),
        location=location, medfee=medfee, fulamt=fulamt, overlmt=overlmt, preself=preself,
        hifp=hifp, hifmi=hifmi, oth=oth, maf=maf, reversal=reversal,
        referral=_or_zero(visit_fields["referral"], n), level=_or_zero(
            visit_fields["hospital_level"], n),
        flags=(_or_zero(visit_fields["heroic_injury"], n) * FLAG_HEROIC
               + _or_zero(visit_fields["rare_disease"], n) * FLAG_RARE).astype(np.int8))
