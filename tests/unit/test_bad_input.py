"""Bad input (contract/CASE.md): an InputError naming the JSON path; through the CLI, exit 2,
one stderr line `error: <path>…`, nothing on stdout, never a traceback."""

from __future__ import annotations

import copy
import json

import pytest
from rules_helpers import base_visit, case, ident, run_cli, visit

from medaid.core.errors import InputError
from medaid.engine.case import parse_case, parse_json, result_json, settle_case
from medaid_command import medaid

AMOUNTS = ["medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
           "hifp_pay", "hifmi_pay", "oth_pay"]


_DROP = object()


def good() -> dict:
    return case("nanjing", [ident("dibao", "2023-01-15")],
                [visit("V1", "inpatient", "2023-03-01", "2023-03-10", total=60000,
                       fulamt=5000, preself=1000, hifp=35000, hifmi=3000)],
                {"income_per_capita_prev_year": 80000})


def error_of(c: dict | str) -> InputError:
    text = c if isinstance(c, str) else json.dumps(c)
    with pytest.raises(InputError) as e:
        result_json(settle_case(parse_case(parse_json(text))))
    return e.value


def with_visit(**changes) -> dict:
    c = good()
    for k, v in changes.items():
        if v is _DROP:
            c["visits"][0].pop(k, None)
        else:
            c["visits"][0][k] = v
    return c



def test_good_case_settles():
    v = result_json(settle_case(parse_case(parse_json(json.dumps(good())))))["visits"][0]
    assert v["assistance"] == 14400


# -- unknown names ---------------------------------------------------------------------------
def test_unknown_jurisdiction():
    c = good()
    c["jurisdiction"] = "shanghai"
    assert error_of(c).path == "jurisdiction"


@pytest.mark.parametrize("cat", ["nobody", "fanpin", "low_income", "yinbing"])
def test_unknown_category_for_the_jurisdiction(cat):
    # fanpin is Yichun's, low_income Jiangsu's, yinbing Ningbo's: none is Nanjing's
    c = good()
    c["person"]["identities"][0]["category"] = cat
    assert error_of(c).path == "person.identities[0].category"


def test_unknown_category_in_second_identity():
    c = good()
    c["person"]["identities"].append(ident("martian"))
    assert error_of(c).path == "person.identities[1].category"


@pytest.mark.parametrize(("field", "value"), [
    ("kind", "dental"), ("location", "abroad"), ("referral", "maybe")])
def test_unknown_visit_enum(field, value):
    assert error_of(with_visit(**{field: value})).path == f"visits[0].{field}"


def test_error_names_the_right_visit_index():
    c = good()
    c["visits"].append(base_visit("V2", "inpatient", "2023-04-01", base=100))
    c["visits"].append(base_visit("V3", "teleport", "2023-05-01", base=100))
    assert error_of(c).path == "visits[2].kind"


# -- amounts ---------------------------------------------------------------------------------
@pytest.mark.parametrize("field", AMOUNTS)
def test_negative_amount(field):
    assert error_of(with_visit(**{field: -5})).path == f"visits[0].{field}"


@pytest.mark.parametrize("value", [100.001, 0.005, 60000.123])
def test_more_than_two_decimals(value):
    assert error_of(with_visit(medfee_sumamt=value)).path == "visits[0].medfee_sumamt"


@pytest.mark.parametrize("value", ["60000", True, None, [60000]])
def test_amount_not_a_number(value):
    assert error_of(with_visit(medfee_sumamt=value)).path == "visits[0].medfee_sumamt"


def test_missing_total():
    assert error_of(with_visit(medfee_sumamt=_DROP)).path == "visits[0].medfee_sumamt"


def test_inscp_inconsistent():
    # 60000 − 5000 − 0 − 1000 = 54000 ≠ 50000
    assert error_of(with_visit(inscp_scp_amt=50000)).path == "visits[0].inscp_scp_amt"


def test_inscp_consistent_is_accepted():
    v = result_json(settle_case(parse_case(parse_json(json.dumps(
        with_visit(inscp_scp_amt=54000))))))["visits"][0]
    assert v["base"] == 16000


def test_hifp_exceeding_policy_range():
    # inscp 54000 < hifp 55000
    assert error_of(with_visit(hifp_pay=55000)).path == "visits[0].hifp_pay"


def test_hifp_plus_hifmi_exceeding_policy_range():
    # 35000 + 20000 > 54000
    assert error_of(with_visit(hifmi_pay=20000)).path.startswith("visits[0].")


def test_exclusions_exceeding_total():
    # 5000 + 1000 + 60000 > 60000: policy-range amount would be negative
    assert error_of(with_visit(overlmt_selfpay=60000)).path.startswith("visits[0].")


# -- dates -----------------------------------------------------------------------------------
def test_end_before_start():
    assert error_of(with_visit(end="2023-02-28")).path == "visits[0].end"


def test_visit_before_policy_in_force():
    assert error_of(with_visit(start="2022-12-01", end="2022-12-05")).path == "visits[0].end"


@pytest.mark.parametrize("value", ["2023-02-30", "2023/03/01", "20230301", "March 1", 20230301,
                                   "2023-3-1x"])
def test_malformed_visit_date(value):
    assert error_of(with_visit(start=value)).path == "visits[0].start"


@pytest.mark.parametrize(("field", "path"), [
    ("from", "person.identities[0].from"), ("to", "person.identities[0].to"),
    ("application", "person.identities[0].application")])
def test_malformed_identity_date(field, path):
    c = good()
    c["person"]["identities"][0][field] = "2023-13-01"
    assert error_of(c).path == path


def test_malformed_tilted_application():
    c = good()
    c["person"]["tilted_application"] = "yesterday"
    assert error_of(c).path == "person.tilted_application"


@pytest.mark.parametrize("grade", [0, 5, "1"])
def test_bad_disability_grade(grade):
    c = good()
    c["person"]["disability_grade"] = grade
    assert error_of(c).path == "person.disability_grade"


def test_bad_flag():
    assert error_of(with_visit(heroic_injury="yes")).path == "visits[0].heroic_injury"


# -- local parameters ------------------------------------------------------------------------
def test_missing_jiangsu_low_income_ratio():
    c = case("jiangsu", [ident("low_income")],
             [base_visit("V1", "inpatient", "2023-03-01", base=1000)],
             {"basic_cap": 100000, "low_income_deductible": 1000, "other_ratio": 0.5,
              "other_deductible": 2000})
    e = error_of(c)
    assert e.path == "local.low_income_ratio"
    assert "jiangsu: local parameter low_income_ratio is required" in str(e)
    assert e.message.startswith("jiangsu：本地参数「低收入医疗救助对象救助比例」"
                                "（low_income_ratio）尚未设定（")


def test_missing_basic_insurance_when_hifp_absent():
    e = error_of(with_visit(hifp_pay=_DROP))
    assert e.path == "local.basic_insurance"


def test_missing_critical_illness_when_hifmi_absent():
    e = error_of(with_visit(hifmi_pay=_DROP))
    assert e.path == "local.critical_illness"


# -- malformed JSON --------------------------------------------------------------------------
@pytest.mark.parametrize("text", ['{"jurisdiction": "nanjing",', "not json", "", "[1, 2"])
def test_malformed_json(text):
    error_of(text)


def test_case_not_an_object():
    error_of("[]")


# -- through the command line ----------------------------------------------------------------
def _assert_cli_error(run, path: str) -> None:
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error:"), lines[0]
    assert path in lines[0], lines[0]
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(("mutate", "path"), [
    (lambda c: c["visits"][0].update(medfee_sumamt=-5), "visits[0].medfee_sumamt"),
    (lambda c: c.update(jurisdiction="atlantis"), "jurisdiction"),
    (lambda c: c["person"]["identities"][0].update(category="x"),
     "person.identities[0].category"),
    (lambda c: c["visits"][0].update(kind="x"), "visits[0].kind"),
    (lambda c: c["visits"][0].update(medfee_sumamt=1.234), "visits[0].medfee_sumamt"),
    (lambda c: c["visits"][0].update(inscp_scp_amt=1), "visits[0].inscp_scp_amt"),
    (lambda c: c["visits"][0].update(hifp_pay=55000), "visits[0].hifp_pay"),
    (lambda c: c["visits"][0].update(end="2023-02-01"), "visits[0].end"),
    (lambda c: c["visits"][0].update(start="2022-12-01", end="2022-12-02"), "visits[0].end"),
    (lambda c: c["visits"][0].update(start="2023-02-31"), "visits[0].start"),
    (lambda c: c["visits"][0].pop("hifp_pay"), "local.basic_insurance"),
])
def test_cli_bad_input(tmp_path, mutate, path):
    c = copy.deepcopy(good())
    mutate(c)
    _assert_cli_error(run_cli(c, tmp_path), path)


def test_cli_missing_jiangsu_parameter(tmp_path):
    c = case("jiangsu", [ident("low_income")],
             [base_visit("V1", "inpatient", "2023-03-01", base=1000)], {"basic_cap": 100000})
    run = run_cli(c, tmp_path)
    _assert_cli_error(run, "local.low_income")
    assert "is required" in run.stderr


def test_cli_malformed_json(tmp_path):
    run = run_cli('{"jurisdiction": "nanjing", ', tmp_path)
    assert run.returncode == 2
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), run.stderr


def test_cli_bad_input_from_stdin(tmp_path):
    c = good()
    c["visits"][0]["medfee_sumamt"] = -5
    _assert_cli_error(run_cli(c, tmp_path, stdin=True), "visits[0].medfee_sumamt")


def test_cli_good_case_exit_0_with_fen_amounts(tmp_path):
    run = run_cli(good(), tmp_path)
    assert run.returncode == 0, run.stderr
    assert '"assistance": 14400.00' in run.stdout
    out = json.loads(run.stdout)
    assert out["visits"][0]["psn_part_amt"] == 7600
    assert out["totals"]["maf_pay"] == 14400


def test_category_of_another_jurisdiction_for_jiangsu():
    c = case("jiangsu", [ident("fanpin")], [base_visit("V1", "inpatient", "2023-03-01",
                                                       base=100)], {"basic_cap": 100000})
    assert error_of(c).path == "person.identities[0].category"


def test_cli_table_output(tmp_path):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(good()), encoding="utf-8")
    run = medaid("settle", str(path))
    assert run.returncode == 0, run.stderr
    assert "NJ-A2" in run.stdout
