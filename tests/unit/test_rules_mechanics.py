"""RULES.md §1–§3: the errors (a visit before the policy is in force, missing parameters)
and rounding per visit; the hand-computed settlements are the case tables of
tests/cases/*/mechanics.yaml."""

from __future__ import annotations

import json

import pytest
from rules_helpers import (
    NJ_LOCAL,
    base_visit,
    case,
    ident,
    visit,
)

from medaid.core.errors import InputError
from medaid.engine.case import parse_case, parse_json, result_json, settle_case


def input_error(c) -> InputError:
    with pytest.raises(InputError) as e:
        result_json(settle_case(parse_case(parse_json(json.dumps(c)))))
    return e.value


# -- §3 policy in force ----------------------------------------------------------------------
@pytest.mark.parametrize(("jur", "day"), [
    ("nanjing", "2022-12-31"), ("changzhou", "2022-12-31"), ("yichun", "2022-09-30"),
    ("ningbo", "2019-09-29"), ("jiangsu", "2015-12-20")])
def test_visit_before_policy_in_force_is_an_error(jur, day):
    e = input_error(case(jur, [ident("tekun", "2015-01-01")],
                         [base_visit("V1", "inpatient", day, base=1000)],
                         {"income_per_capita_prev_year": 40000, "basic_cap": 100000}))
    assert e.path == "visits[0].end"
    assert "no policy in force" in str(e)


# -- §2 missing parameters -------------------------------------------------------------------
def test_missing_basic_insurance_parameters_is_an_error_naming_them():
    e = input_error(case("nanjing", [ident("dibao")],
                         [visit("V1", "inpatient", "2023-03-01", "2023-03-05", total=1000,
                                hifp=None)], NJ_LOCAL))
    assert "basic_insurance" in str(e)
    assert "basic_insurance" in e.path


def test_missing_critical_illness_parameters_is_an_error_naming_them():
    e = input_error(case("changzhou", [ident("dibao")],
                         [visit("V1", "inpatient", "2023-03-01", "2023-03-05", total=1000,
                                hifmi=None)], {}))
    assert "critical_illness" in str(e)
    assert "critical_illness" in e.path


def test_ratio_by_level_without_hospital_level_is_an_error():
    e = input_error(case("nanjing", [ident("dibao")],
                         [visit("V1", "inpatient", "2023-03-01", "2023-03-05", total=1000,
                                hifp=None)],
                         {**NJ_LOCAL, "basic_insurance": {"deductible": 0,
                                                   "ratio": {"1": 0.9, "2": 0.85, "3": 0.8},
                                                   "cap": 100000}}))
    assert "hospital_level" in str(e)


# -- §3 rounding: cumulative (default) or per visit -----------------------------------------
def _nanjing_rounded(mode: str):
    from medaid.policy.model import compile_policy, versions

    nanjing = versions("nanjing")[-1]
    return compile_policy(nanjing.spec.model_copy(update={"rounding": mode}), "per-visit")


@pytest.mark.parametrize(("mode", "paid"), [("cumulative", [3, 2, 3]), ("per_visit", [3, 3, 3])])
def test_rounding_cumulative_or_per_visit(mode, paid):
    # NJ-A3 85% of three 0.03 bases: cumulative R(2.55)=3, R(5.10)=5, R(7.65)=8 → 3, 2, 3;
    # per visit R(2.55) each → 3, 3, 3 (fen)
    from datetime import date

    from medaid.engine.settle import settle_year
    from medaid.engine.types import Identity, Person, Visit

    person = Person("P", (Identity("dibao", date(2023, 1, 1)),))
    visits = [Visit(f"V{i}", "general_outpatient", date(2023, 2, i), date(2023, 2, i), 3,
                    hifp_pay=0, hifmi_pay=0) for i in (1, 2, 3)]
    result = settle_year([_nanjing_rounded(mode)], {"income_per_capita_prev_year": 80000},
                         person, visits)
    assert [x.assistance for x in result.settlements] == paid
    if mode == "per_visit":  # the trace shows the figure it rounds: 0.0255 yuan
        line = next(t for t in result.settlements[1].trace if t.rule == "NJ-A3")
        assert "（计算值0.0255元，逐次四舍五入）" in line.text
