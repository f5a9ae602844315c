"""Yichun (RULES.md §4.3): the local parameter it requires (its settlements are the case
tables of tests/cases/yichun/)."""

from __future__ import annotations

import json

import pytest
from rules_helpers import case, ident, stay

from medaid.core.errors import InputError
from medaid.engine.case import parse_case, parse_json, result_json, settle_case


# -- YC-A5 -----------------------------------------------------------------------------------
def test_yc_income_is_required_for_class3():
    c = case("yichun", [ident("dibao_edge")], [stay("V1", "2023-02-01", "2023-02-05", 1000)])
    with pytest.raises(InputError) as e:
        result_json(settle_case(parse_case(parse_json(json.dumps(c)))))
    assert "income_per_capita_prev_year" in str(e.value)
    assert e.value.path == "local.income_per_capita_prev_year"
