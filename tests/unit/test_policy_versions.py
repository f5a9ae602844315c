"""Dated parameter values, amendments on a base policy, and `medaid policy diff`."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from medaid.cli.main import app
from medaid.core.errors import MissingParameter, PolicyError
from medaid.policy import amend, model
from medaid.policy import diff as policy_diff
from medaid.policy.params import Params

runner = CliRunner()
NANJING = model.shipped()[[Path(p.path).stem for p in model.shipped()].index("nanjing-2023")]


def nanjing_with(parameters: dict[str, object]) -> model.Policy:
    """Nanjing's file with some parameters replaced (kept in memory)."""
    data = NANJING.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["parameters"].update(parameters)
    return model.parse_policy(yaml.safe_dump(data, allow_unicode=True), "test.yaml")


ALLOWANCE = {
    "type": "money", "label": "优抚对象定额门诊补助",
    "values": [{"from": "2023-01-01", "value": 300, "source": "test: 2023 notice"},
               {"from": "2024-07-01", "value": 500, "source": "test: raised from July"}],
}


# -- dated values ---------------------------------------------------------------------


def test_a_from_value_holds_until_the_next() -> None:
    p = Params(nanjing_with({"youfu_outpatient_allowance": ALLOWANCE}), {})
    got = [p.money("youfu_outpatient_allowance", d, "NJ-A4")
           for d in (date(2023, 5, 1), date(2024, 6, 30), date(2024, 7, 1), date(2026, 1, 1))]
    assert got == [30000, 30000, 50000, 50000]


def test_before_the_first_date_the_parameter_is_missing() -> None:
    p = Params(nanjing_with({"youfu_outpatient_allowance": ALLOWANCE}), {})
    with pytest.raises(MissingParameter, match="youfu_outpatient_allowance"):
        p.money("youfu_outpatient_allowance", date(2022, 12, 31), "NJ-A4")


def test_a_whole_year_is_refused_where_the_value_changes_inside_it() -> None:
    p = Params(nanjing_with({"youfu_outpatient_allowance": ALLOWANCE}), {})
    assert p.money("youfu_outpatient_allowance", 2023, "NJ-A4") == 30000
    assert p.money("youfu_outpatient_allowance", 2025, "NJ-A4") == 50000
    with pytest.raises(PolicyError, match=r"2024-07-01变更.*按就诊日期取值"):
        p.money("youfu_outpatient_allowance", 2024, "NJ-A4")


def test_a_line_resolves_by_the_visit_date_around_a_change() -> None:
    policy = nanjing_with({"youfu_outpatient_allowance": ALLOWANCE})
    nj_a4 = next(ln for ln in policy.lines if ln.rule == "NJ-A4")
    p = Params(policy, {})
    assert p.line(nj_a4, date(2024, 6, 30)).curve.deductible == 30000  # type: ignore[union-attr]
    assert p.line(nj_a4, date(2024, 7, 1)).curve.deductible == 50000  # type: ignore[union-attr]
    # a case's own value still wins over the file's
    assert Params(policy, {"youfu_outpatient_allowance": 100}).line(
        nj_a4, date(2024, 7, 1)).curve.deductible == 10000  # type: ignore[union-attr]


def test_a_year_value_wins_in_its_year_over_a_from_value() -> None:
    allowance = {**ALLOWANCE, "values": [*ALLOWANCE["values"],
                                         {"year": 2024, "value": 400, "source": "test: 2024"}]}
    p = Params(nanjing_with({"youfu_outpatient_allowance": allowance}), {})
    got = [p.money("youfu_outpatient_allowance", d, "NJ-A4")
           for d in (date(2023, 12, 31), date(2024, 8, 1), date(2025, 1, 1))]
    assert got == [30000, 40000, 50000]
    assert p.money("youfu_outpatient_allowance", 2024, "NJ-A4") == 40000


def test_year_values_still_resolve_by_the_visit_year() -> None:
    p = Params(NANJING, {})
    assert p.money("income_per_capita_prev_year", 2023, "NJ-A5") == 6903900
    assert p.money("income_per_capita_prev_year", date(2023, 8, 1), "NJ-A5") == 6903900
    with pytest.raises(MissingParameter):
        p.money("income_per_capita_prev_year", date(2024, 8, 1), "NJ-A5")


@pytest.mark.parametrize(("values", "message"), [
    ([{"from": "2024-01-01", "value": 1, "source": "x"},
      {"from": "2024-01-01", "value": 2, "source": "y"}], "same year or from date"),
    ([{"value": 1, "source": "x"}], "either a year or a from date"),
    ([{"year": 2023, "from": "2023-01-01", "value": 1, "source": "x"}],
     "either a year or a from date"),
])
def test_bad_dated_values_are_refused(values: list[dict[str, object]], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        nanjing_with({"youfu_outpatient_allowance": {**ALLOWANCE, "values": values}})


# -- amendments -----------------------------------------------------------------------

AMENDMENT = """\
amends: nanjing-2023
version: "2024"
in_force: 2024-01-01
parameters:
  income_per_capita_prev_year:
    values:
      - {year: 2024, value: 73000, source: "test figure for 2024"}
lines:
  - rule: NJ-A2
    segments: [{ratio: 0.95}]
  - rule: NJ-A3
    caps: [{pool: outpatient_cap, amount: 12000}]
tilted:
  deductible: 18000
"""


def write(tmp_path: Path, text: str, name: str = "amend.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_an_amendment_changes_only_what_it_names(tmp_path: Path) -> None:
    p = amend.load(write(tmp_path, AMENDMENT))
    assert (p.jurisdiction, p.spec.version, p.in_force) == ("nanjing", "2024", date(2024, 1, 1))
    lines = {ln.rule: ln.spec for ln in p.lines}
    base = {ln.rule: ln.spec for ln in NANJING.lines}
    assert [str(g.ratio) for g in lines["NJ-A2"].segments] == ["0.95"]
    assert lines["NJ-A2"].categories == base["NJ-A2"].categories  # untouched fields stay
    assert lines["NJ-A3"].caps[0].amount == 12000
    assert lines["NJ-A3"].segments == base["NJ-A3"].segments
    assert lines["NJ-A5"] == base["NJ-A5"]
    assert p.spec.tilted is not None and p.spec.tilted.deductible == 18000
    assert p.spec.tilted.segments == NANJING.spec.tilted.segments  # type: ignore[union-attr]
    income = Params(p, {})
    assert income.money("income_per_capita_prev_year", 2023, "NJ-A5") == 6903900
    assert income.money("income_per_capita_prev_year", 2024, "NJ-A5") == 7300000


def test_an_amendment_may_add_and_remove_entries(tmp_path: Path) -> None:
    text = AMENDMENT + """\
refusals:
  - {rule: NJ-A, removed: true}
categories:
  - {id: new_group, label: 新增对象}
"""
    p = amend.load(write(tmp_path, text))
    assert [r.rule for r in p.refusals] == ["NJ-A4"]
    assert p.categories[-1] == "new_group" and len(p.categories) == len(NANJING.categories) + 1


def test_an_amendment_may_amend_an_amendment(tmp_path: Path) -> None:
    write(tmp_path, AMENDMENT, "nanjing-2024.yaml")
    p = amend.load(write(tmp_path, "amends: nanjing-2024\nversion: '2025'\n"
                                   "in_force: 2025-01-01\n", "b.yaml"))
    assert p.spec.version == "2025"
    nj_a2 = next(ln for ln in p.lines if ln.rule == "NJ-A2")
    assert nj_a2.spec.segments[0].ratio == Decimal("0.95")


def test_an_amendment_of_a_file_beside_it_brings_that_file_as_the_version_before(
        tmp_path: Path) -> None:
    """Given alone, `b.yaml` (2025, amending the file nanjing-2024.yaml beside it) brings
    nanjing-2024.yaml too; given twice, or with its base, each file is one version."""
    base = write(tmp_path, AMENDMENT, "nanjing-2024.yaml")
    b = write(tmp_path, "amends: nanjing-2024\nversion: '2025'\nin_force: 2025-01-01\n",
              "b.yaml")
    assert [p.spec.version for p in amend.load_all([b])] == ["2024", "2025"]
    assert [p.spec.version for p in amend.load_all([base, b, b])] == ["2024", "2025"]
    assert [p.spec.version for p in amend.load_all([base])] == ["2024"]  # a shipped base


@pytest.mark.parametrize(("text", "message"), [
    ("amends: shanghai-2030\n", "no policy 'shanghai-2030'"),
    ("amends: amend.yaml\n", "amends itself"),
    ("amends: nanjing-2023\nlines:\n  - {rule: NJ-A9, removed: true}\n", "没有此项"),
    ("amends: nanjing-2023\nlines:\n  - {rule: NJ-A2, ratio: 0.9}\n",
     r"lines\[1\].ratio: 此处不能用键「ratio」"),
    ("amends: nanjing-2023\nlines:\n  - {rule: NJ-A2, categories: [nobody]}\n",
     "未列于 categories 的身份「nobody」"),
])
def test_amendment_errors_name_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        amend.load(write(tmp_path, text))


def test_a_rule_with_several_lines_needs_match() -> None:
    base = [{"rule": "CZ-A1", "kinds": ["inpatient"], "segments": [{"ratio": 0.7}]},
            {"rule": "CZ-A1", "kinds": ["general_outpatient"], "segments": [{"ratio": 0.5}]}]
    with pytest.raises(PolicyError, match=r"对应2项.*match"):
        amend.merge({"lines": base}, {"lines": [{"rule": "CZ-A1", "caps": []}]}, amend.AMENDS)
    out = amend.merge({"lines": base}, {"lines": [
        {"rule": "CZ-A1", "match": {"kinds": ["general_outpatient"]},
         "segments": [{"ratio": 0.6}]}]}, amend.AMENDS)
    assert out["lines"] == [base[0], {**base[1], "segments": [{"ratio": 0.6}]}]


def test_a_visit_after_the_amendment_is_settled_under_it(tmp_path: Path) -> None:
    """`medaid settle --policy-file` takes an amendment as a version of its jurisdiction."""
    case = json.loads(Path("examples/nj-dibao-inpatient.json").read_text(encoding="utf-8"))
    del case["expected"]
    second = {**case["visits"][0], "id": "V2", "start": "2024-03-01", "end": "2024-03-10"}
    case["visits"].append(second)
    case_path = write(tmp_path, json.dumps(case), "case.json")
    r = runner.invoke(app, ["settle", str(case_path), "--json", "--policy-file",
                            str(write(tmp_path, AMENDMENT))])
    assert r.exit_code == 0, r.stderr
    visits = {v["id"]: v for v in json.loads(r.stdout)["visits"]}
    assert visits["V1"]["assistance"] == 14400  # 2023: NJ-A2 90% × 16,000
    assert visits["V2"]["assistance"] == 15200  # 2024: the amendment's 95% × 16,000


def test_validate_takes_an_amendment(tmp_path: Path) -> None:
    r = runner.invoke(app, ["policy", "validate", str(write(tmp_path, AMENDMENT))])
    assert r.exit_code == 0, r.stderr
    assert "南京市 (nanjing) 2024，2024-01-01 起施行，11 个救助对象身份，" in r.stdout
    english = runner.invoke(app, ["policy", "validate", str(write(tmp_path, AMENDMENT)),
                                  "--lang", "en"])
    assert "nanjing 2024, in force from 2024-01-01" in english.stdout


# -- diff -----------------------------------------------------------------------------


def test_diff_of_a_policy_and_its_amendment_rule_by_rule(tmp_path: Path) -> None:
    path = write(tmp_path, AMENDMENT)
    r = runner.invoke(app, ["policy", "diff", "nanjing-2023", str(path)])
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert "甲：南京市 2023（policies/nanjing-2023.yaml，自2023-01-01起施行）" in out
    assert "规则 NJ-A2（四） 修改\n  分段比例：90% → 95%" in out
    assert "规则 NJ-A3（四） 修改\n  限额：门诊救助年度限额 10000.00元 → 门诊救助年度限额 " \
           "12000.00元" in out
    assert "规则 NJ-T（五） 倾斜救助 修改" in out
    assert "参数 income_per_capita_prev_year（本市上年居民人均可支配收入） 修改\n" \
           "  取值 2024：— → " in out
    assert "NJ-A5" not in out  # an unchanged line is not listed
    assert "共6处变更。" in out


def test_diff_json_carries_both_values(tmp_path: Path) -> None:
    r = runner.invoke(app, ["policy", "diff", "nanjing", str(write(tmp_path, AMENDMENT)),
                            "--json"])
    assert r.exit_code == 0, r.stderr
    found = json.loads(r.stdout)
    assert found["a"]["version"] == "2023" and found["b"]["version"] == "2024"
    line = next(c for c in found["changes"] if c["rule"] == "NJ-A2")
    assert (line["section"], line["change"], line["article"]) == ("lines", "changed", "（四）")
    assert line["fields"] == [{"field": "segments", "label": "分段比例",
                               "a": [{"upto": None, "ratio": "0.9"}],
                               "b": [{"upto": None, "ratio": "0.95"}],
                               "a_text": "90%", "b_text": "95%"}]


def test_diff_names_added_and_removed_entries(tmp_path: Path) -> None:
    text = AMENDMENT + "refusals:\n  - {rule: NJ-A, removed: true}\n"
    d = policy_diff.diff(NANJING, amend.load(write(tmp_path, text)))
    removed = next(c for c in d.changes if c.section == "refusals")
    assert (removed.change, removed.rule) == ("removed", "NJ-A")
    assert "规则 NJ-A（一） 不予救助 删除" in policy_diff.render(d)


def test_diff_of_two_shipped_jurisdictions_and_of_a_policy_with_itself() -> None:
    same = runner.invoke(app, ["policy", "diff", "nanjing", "nanjing-2023"])
    assert same.exit_code == 0 and "两个版本相同。" in same.stdout
    other = runner.invoke(app, ["policy", "diff", "nanjing", "changzhou"])
    assert other.exit_code == 0 and "规则 CZ-A1" in other.stdout and "删除" in other.stdout


def test_diff_of_an_unknown_policy_is_an_error() -> None:
    r = runner.invoke(app, ["policy", "diff", "nanjing", "atlantis"])
    assert r.exit_code == 2 and "unknown jurisdiction 'atlantis'" in r.stderr


def test_settlement_takes_the_value_in_force_on_the_visit_date(tmp_path: Path) -> None:
    """A mid-year change applies from its date: NJ-A4's 定额门诊补助 (its deductible) 300 → 500."""
    text = """\
amends: nanjing-2023
version: "2024"
in_force: 2024-01-01
parameters:
  youfu_outpatient_allowance:
    values:
      - {from: 2024-01-01, value: 300, source: "test: 2024 figure"}
      - {from: 2024-07-01, value: 500, source: "test: raised from July"}
"""
    outpatient = {"kind": "general_outpatient", "medfee_sumamt": 1000, "fulamt_ownpay_amt": 0,
                  "overlmt_selfpay": 0, "preselfpay_amt": 0, "hifp_pay": 0, "hifmi_pay": 0}
    case = {"jurisdiction": "nanjing", "local": {},
            "person": {"id": "P", "identities": [
                {"category": "youfu", "from": "2024-01-01", "to": None, "application": None}]},
            "visits": [{**outpatient, "id": "V1", "start": "2024-06-30", "end": "2024-06-30"},
                       {**outpatient, "id": "V2", "start": "2024-07-01", "end": "2024-07-01"}]}
    r = runner.invoke(app, ["settle", str(write(tmp_path, json.dumps(case), "case.json")),
                            "--json", "--policy-file", str(write(tmp_path, text))])
    assert r.exit_code == 0, r.stderr
    visits = {v["id"]: v for v in json.loads(r.stdout)["visits"]}
    assert visits["V1"]["assistance"] == 560   # 80% × (1,000 − 300)
    assert visits["V2"]["assistance"] == 800   # 80% × (2,000 − 500) − 560 paid: the July curve


def test_a_reader_sees_each_value_with_its_date() -> None:
    from medaid.policy import explain

    policy = nanjing_with({"youfu_outpatient_allowance": ALLOWANCE})
    row = next(r for r in explain.parameters(policy) if r.name == "youfu_outpatient_allowance")
    assert row.value == "自2023-01-01起: 300.00元; 自2024-07-01起: 500.00元"
    assert "自2024-07-01起: test: raised from July" in row.source


def test_diff_reads_each_section_in_its_own_terms() -> None:
    out = policy_diff.render(policy_diff.diff(policy_diff.find("beijing"),
                                              policy_diff.find("nanjing")))
    assert "规则 NJ-K（六） 控费指标 新增\n  名称：救助对象在市域内定点医疗机构住院" in out
    assert "  上限：0.1\n" in out                  # a share, not yuan
    assert "救助对象类别 yinbing（因病致贫家庭重病患者） 删除" in out
    # a rule's lines, each by its article and which of its entries, in Chinese
    for n, (article, kind) in enumerate([("六（一）1", "普通门诊"), ("六（二）1", "住院"),
                                         ("七", "门诊特殊病种")], 1):
        assert f"规则 BJ-A1（{article}） 第{n}项（{kind}） 删除\n  层级：医疗救助\n" \
               "  救助对象：特困人员、民政部门管理的因公（病）致残返城知青\n" \
               f"  就诊类型：{kind}\n  救助基数：经基本医保、大病保险和其他基金支付后\n" in out


def test_a_shipped_version_may_be_an_amendment() -> None:
    """What `shipped()` reads for a file of src/medaid/policies/: its base is shipped too."""
    p = amend.parse(AMENDMENT, "policies/nanjing-2024.yaml")
    assert (p.path, p.spec.version, p.jurisdiction) == ("policies/nanjing-2024.yaml", "2024",
                                                        "nanjing")
    assert model.in_force([NANJING, p], date(2024, 3, 1)) is p
    assert model.in_force([NANJING, p], date(2023, 12, 31)) is NANJING
    with pytest.raises(PolicyError, match="no policy 'nanjing-2024'"):
        amend.parse("amends: nanjing-2024\n", "policies/nanjing-2025.yaml")
