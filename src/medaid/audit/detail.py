"""The findings as one table: a row per finding, the columns the workbook's 差异明细, the
HTML report's list and the findings CSV show.

A partition's findings become such a table as soon as they are found, so a streamed audit
keeps only these rows (not the partition's records) and the tables of all partitions,
concatenated and put in row order, are exactly what a single pass would have found.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from medaid.audit import fields
from medaid.audit.causes import CAUSES, Finding
from medaid.audit.resettle import CANCELLED, DUPLICATE, Outcome
from medaid.policy.schema import KINDS

# (column, Arrow type): amounts in fen
COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("row", pa.int64()), ("setl_id", pa.string()), ("mdtrt_id", pa.string()),
    ("psn_no", pa.string()), ("psn_name", pa.string()), ("fixmedins_code", pa.string()),
    ("fixmedins_name", pa.string()), ("med_type", pa.string()), ("setl_time", pa.string()),
    ("status", pa.string()), ("medfee", pa.int64()), ("platform", pa.int64()),
    ("medaid", pa.int64()), ("diff", pa.int64()), ("cause", pa.string()),
    ("psn_idet_type", pa.string()), ("category", pa.string()), ("rule", pa.string()),
    ("article", pa.string()), ("reason", pa.string()), ("explanation", pa.string()))
SCHEMA = pa.schema(COLUMNS)


def _text(a: pa.Array | None, idx: pa.Array) -> pa.Array:
    if a is None:
        return pa.array([""] * len(idx), pa.string())
    return pc.fill_null(a.take(idx).cast(pa.string()), "")


def status_text(out: Outcome, i: int) -> str:
    st = int(out.status[i])
    if st == CANCELLED:
        return f"已撤销（第{int(out.records.row[out.partner[i]])}行）"
    if st == DUPLICATE:
        return f"重复（首次第{int(out.records.row[out.partner[i]])}行）"
    return "有效"


def category_text(out: Outcome, i: int) -> str:
    c = out.category(i)
    if c is None:
        return "无有效身份" if int(out.status[i]) not in (CANCELLED, DUPLICATE) else ""
    return f"{out.versions[-1].label(c)}（{c}）"


def med_type_text(code: str, kind: int) -> str:
    return f"{code} {fields.MED_TYPE_LABELS.get(code, fields.KIND_LABELS[KINDS[kind]])}"


def time_text(seconds: np.ndarray) -> list[str]:
    return [str(t).replace("T", " ") for t in np.asarray(seconds, "datetime64[s]")]


def table(out: Outcome, found: Sequence[Finding], records: np.ndarray | None = None
          ) -> pa.Table:
    """The findings (in the order given) as rows; with `records` instead of findings:
    those records as rows without a cause (the workbook's 逐笔核对)."""
    rec = out.records
    at = np.asarray([f.record for f in found] if records is None else records, np.int64)
    idx = pa.array(at)
    med = rec.med_type.take(idx).to_pylist()
    kinds = rec.kind[at].tolist()
    empty = [""] * len(at)
    cols: dict[str, object] = {
        "row": rec.row[at], "setl_id": _text(rec.setl_id, idx),
        "mdtrt_id": _text(rec.mdtrt_id, idx), "psn_no": _text(rec.psn_no, idx),
        "psn_name": _text(rec.psn_name, idx), "fixmedins_code": _text(rec.fixmedins_code, idx),
        "fixmedins_name": _text(rec.fixmedins_name, idx),
        "med_type": [med_type_text(str(m), k) for m, k in zip(med, kinds, strict=True)],
        "setl_time": time_text(rec.time[at]),
        "status": [status_text(out, i) for i in at.tolist()], "medfee": rec.medfee[at],
        "platform": out.platform[at], "medaid": out.medaid[at], "diff": out.diff[at],
        "cause": [f.cause for f in found] if records is None else empty,
        "psn_idet_type": _text(rec.psn_idet_type, idx),
        "category": [category_text(out, i) for i in at.tolist()],
        "rule": [f.rule or out.rules(f.record) for f in found] if records is None
        else [out.rules(i) for i in at.tolist()],
        "article": [f.article for f in found] if records is None else empty,
        "reason": [f.reason for f in found] if records is None else empty,
        "explanation": [f.explanation for f in found] if records is None else empty,
    }
    return pa.table({name: pa.array(cols[name], t) if not isinstance(cols[name], pa.Array)
                     else cols[name] for name, t in COLUMNS}, schema=SCHEMA)


def merge(tables: Sequence[pa.Table]) -> pa.Table:
    """Partitions' findings in row order: what one pass over the export finds."""
    if not tables:
        return SCHEMA.empty_table()
    t = pa.concat_tables(tables)
    return t.take(pc.sort_indices(t, [("row", "ascending")]))


def largest(t: pa.Table, limit: int) -> pa.Table:
    """The `limit` largest differences (ties: row order), in row order."""
    if t.num_rows <= limit:
        return t
    size = np.abs(t.column("diff").to_numpy())
    keep = np.lexsort((t.column("row").to_numpy(), -size))[:limit]
    return t.take(pa.array(np.sort(keep)))


def cause_label(key: str) -> str:
    return CAUSES[key]
