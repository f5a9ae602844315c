"""Jiangsu framework (RULES.md §4.2): the local parameters it refuses (its settlements are
the case tables of tests/cases/jiangsu/).

Local parameters here: basic_cap 100,000 → key_cap defaults to 50,000; low-income 60% after
an annual 2,000 deductible; other 50% after 5,000."""

from __future__ import annotations

import json

import pytest
from rules_helpers import base_visit, case, ident

from medaid.core.errors import InputError
from medaid.engine.case import parse_case, parse_json, result_json, settle_case

JL = {"basic_cap": 100000, "low_income_ratio": 0.6, "low_income_deductible": 2000,
      "other_ratio": 0.5, "other_deductible": 5000}


def js_error(identities, visits, local) -> InputError:
    c = case("jiangsu", identities, visits, local)
    with pytest.raises(InputError) as e:
        result_json(settle_case(parse_case(parse_json(json.dumps(c)))))
    return e.value


# -- required parameters ---------------------------------------------------------------------
@pytest.mark.parametrize(("cat", "missing"), [
    ("low_income", "low_income_ratio"), ("low_income", "low_income_deductible"),
    ("other_special", "other_ratio"), ("other_special", "other_deductible")])
def test_js_required_parameter_missing_is_an_error_naming_it(cat, missing):
    local = {k: v for k, v in JL.items() if k != missing}
    e = js_error([ident(cat)], [base_visit("V1", "inpatient", "2023-02-01", base=1000)], local)
    assert e.path == f"local.{missing}"
    assert f"jiangsu: local parameter {missing} is required" in str(e)


def test_js_key_cap_without_basic_cap_is_an_error():
    local = {k: v for k, v in JL.items() if k != "basic_cap"}
    e = js_error([ident("dibao")], [base_visit("V1", "inpatient", "2023-02-01", base=1000)],
                 local)
    # key_cap defaults to 50% of basic_cap; neither given → an error naming the parameter
    assert "basic_cap" in str(e) or "key_cap" in str(e)
    assert e.path.startswith("local.")


# -- amended 2026-12-04 ---------------------------------------------------------------------
@pytest.mark.parametrize(("cat", "local", "path"), [
    ("low_income", {"low_income_ratio": 0.7}, "local.low_income_ratio"),  # not < key 0.70
    ("other_special", {"other_ratio": 0.6}, "local.other_ratio"),  # not < low-income 0.60
    ("dibao", {"key_cap": 40000}, "local.key_cap"),  # < 50% of basic_cap 100000
])
def test_js_floors_are_errors_naming_the_parameter(cat, local, path):
    e = js_error([ident(cat)], [base_visit("V1", "inpatient", "2023-02-01", base=10000)],
                 {**JL, **local})
    assert e.path == path


def test_a_ratio_below_the_frameworks_floor_is_refused_by_its_label() -> None:
    from decimal import Decimal

    from medaid.policy.explain import find_policy
    from medaid.policy.params import Params

    with pytest.raises(InputError) as refused:
        Params(find_policy("jiangsu"), local={"key_ratio": Decimal("0.5")}).ratio(
            "key_ratio", 2023, "JS-A1")
    assert refused.value.path == "local.key_ratio"
    assert refused.value.message.startswith("重点医疗救助对象救助比例不得低于 0.7（JS-A1） / ")
