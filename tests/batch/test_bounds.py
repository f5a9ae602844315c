"""A population file's visits meet the bounds a request meets (medaid.policy.fields): an amount
past 100,000,000.00 yuan, which a 64-bit sum of several would overflow, or a date outside
1900–2100 is refused naming the row and the field, with the parser's words."""

from __future__ import annotations

import random
from datetime import date

import pyarrow as pa
import pytest

from medaid.batch import schema, synth
from medaid.core.errors import InputError
from medaid.policy import fields


def _visits() -> pa.Table:
    py = synth.generate(random.Random(5), "nanjing", year=2024, n_visits=3)
    return schema.visits_table((0, v) for v in py.visits)


def _with(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)


def test_the_columns_are_the_parsers_fields() -> None:
    stored = [f.name for f in fields.VISIT if f.stored and f.name != "id"]
    assert schema.VISITS.names == ["person_key", "visit_id", *stored]
    assert {schema.VISITS.field(n).nullable for n in ("hifp_pay", "hifmi_pay")} == {True}
    assert not schema.VISITS.field("medfee_sumamt").nullable


@pytest.mark.parametrize("name", schema.AMOUNTS)
def test_an_amount_beyond_any_bill(name: str) -> None:
    t = _visits()
    big = [2**62] * t.num_rows  # fits int64; medfee − the three would not, nor their sums
    with pytest.raises(InputError, match=rf"visits\[0\]\.{name}: \S+不得超过 100000000.00 元"):
        schema.visit_columns(_with(t, name, pa.array(big, pa.int64())))
    at_most = _with(t, "medfee_sumamt", pa.array([fields.MAX_VISIT_FEN] * t.num_rows,
                                                 pa.int64()))
    assert len(schema.visit_columns(at_most)) == t.num_rows  # the bound itself is a bill


@pytest.mark.parametrize("day", [date(1899, 12, 31), date(2101, 1, 1), date(9999, 12, 31)])
def test_a_date_out_of_range(day: date) -> None:
    t = _visits()
    days = pa.array([day] * t.num_rows, pa.date32())
    with pytest.raises(InputError, match=r"visits\[0\]\.end: .*1900-01-01 至 2100-12-31"):
        schema.visit_columns(_with(t, "end", days))
    with pytest.raises(InputError, match=r"visits\[0\]\.start: .*1900-01-01 至 2100-12-31"):
        schema.visit_columns(_with(_with(t, "end", days), "start", days))
