"""JS-X: city rules against the Jiangsu framework's floors (RULES.md §4.2)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from medaid.cli.main import app
from medaid.core.errors import PolicyError
from medaid.policy import conformance
from medaid.policy.explain import find_policy

runner = CliRunner()
JIANGSU = find_policy("jiangsu")


def check(city: str, **local: str) -> conformance.Conformance:
    """The report in English (`--lang en`), whose reasons these tests read."""
    return conformance.check(find_policy(city), JIANGSU,
                             {k: Decimal(v) for k, v in local.items()}, "en")


def rows(r: conformance.Conformance, floor: str, rule: str) -> list[conformance.Row]:
    return [x for x in r.rows if x.floor == floor and rule in (c[0] for c in x.cites)]


def one(r: conformance.Conformance, floor: str, rule: str) -> conformance.Row:
    found = rows(r, floor, rule)
    assert len(found) == 1, found
    return found[0]


def cli_json(*args: str) -> dict[str, Any]:
    res = runner.invoke(app, ["policy", "check", *args, "--against", "jiangsu", "--json"])
    assert res.exit_code == 0, res.stderr
    data: dict[str, Any] = json.loads(res.stdout)
    return data


def test_nanjing_outpatient_ratio_falls_breaks_js_x5() -> None:
    row = one(check("nanjing"), "JS-X5", "NJ-A3")
    assert row.verdict == "break"
    assert row.cites == (("NJ-A3", "（四）"),)
    assert "85% to 2000.00, then 80%" in row.reason


def test_nanjing_key_deductible_breaks_js_x2() -> None:
    r = check("nanjing")
    row = one(r, "JS-X2", "NJ-A5")
    assert row.verdict == "break"
    assert row.subject.startswith("linshi_illness ×")  # the key category it covers
    assert "6903.90" in row.reason and "income_per_capita_prev_year" in row.reason
    assert one(r, "JS-X2", "NJ-A2").verdict == "meet"
    # A deductible by a parameter defaulting to 0 meets.
    assert one(r, "JS-X2", "NJ-A4").verdict == "meet"


def test_nanjing_cap_needs_basic_cap() -> None:
    row = one(check("nanjing"), "JS-X3", "NJ-A5")
    assert row.verdict == "undetermined"
    assert "basic_cap" in row.reason and "200000.00" in row.reason
    met = one(check("nanjing", basic_cap="300000"), "JS-X3", "NJ-A5")
    assert met.verdict == "meet"
    assert "200000.00 ≥ 150000.00" in met.reason
    broken = one(check("nanjing", basic_cap="400000.02"), "JS-X3", "NJ-A5")
    assert broken.verdict == "break" and "< 200000.01" in broken.reason  # floor rounded up
    # Lines for key categories without a cap meet whatever basic_cap is.
    assert one(check("nanjing"), "JS-X3", "NJ-A2").verdict == "meet"
    # Outpatient limits are set separately: no JS-X3 row for NJ-A3.
    assert rows(check("nanjing"), "JS-X3", "NJ-A3") == []


def test_nanjing_youfu_refusal_breaks_js_x1() -> None:
    line, gap = rows(check("nanjing"), "JS-X1", "NJ-A4")  # the line, then the refusal
    assert line.verdict == "meet" and line.subject == "youfu × general_outpatient"
    assert gap.verdict == "break"
    gaps = [x for x in check("nanjing").rows if x.floor == "JS-X1" and x.verdict == "break"]
    assert len(gaps) == 1
    assert gaps[0].subject.startswith("youfu × special_outpatient")
    assert "inpatient" in gaps[0].subject
    assert "宁政规字〔2016〕2号" in gaps[0].reason


def test_nanjing_class_order_js_x4() -> None:
    r = check("nanjing")
    x4 = [x for x in r.rows if x.floor == "JS-X4"]
    outpatient = [x for x in x4 if x.subject.startswith("general_outpatient")]
    key_low = next(x for x in outpatient if "key > low_income" in x.subject)
    assert key_low.verdict == "break"
    assert "key lowest 70% (NJ-A6" in key_low.reason
    assert "low_income highest 85% (NJ-A3" in key_low.reason
    low_other = next(x for x in outpatient if "low_income > other" in x.subject)
    assert low_other.verdict == "undetermined"  # other_special has no line
    assert "no other line" in low_other.reason


def test_changzhou_meets_key_ratio_and_deductible() -> None:
    r = check("changzhou")
    for floor in ("JS-X1", "JS-X2"):
        for rule in ("CZ-A1", "CZ-A2"):
            found = rows(r, floor, rule)
            assert len(found) == 2  # outpatient and main lines
            assert all(x.verdict == "meet" for x in found), found
    # Equal ratios for key and low-income objects (CZ-A2: 80% for both) break JS-X4.
    x4 = [x for x in r.rows if x.floor == "JS-X4" and "key > low_income" in x.subject]
    assert x4 and all(x.verdict == "break" for x in x4)


def test_unclassified_categories_are_reported() -> None:
    r = check("yichun")
    assert r.unclassified == ("fanpin", "jiance", "dibao_edge", "zhichu_illness")
    assert dict(r.classes)["key"] == ("tekun", "orphan", "dibao")
    assert any("fanpin" in n for n in r.notes)
    # dibao (key by the framework's ids) gets no general-outpatient assistance in Yichun.
    line, gap = rows(r, "JS-X1", "YC-A1")
    assert line.verdict == "meet" and line.subject == "tekun, orphan × general_outpatient"
    assert gap.verdict == "break" and gap.subject.startswith("dibao × general_outpatient")


def test_framework_parameters_resolve_or_stay_undetermined() -> None:
    r = check("jiangsu")
    # each class has a general-outpatient line and one for the other settings
    assert {x.verdict for x in rows(r, "JS-X1", "JS-A1")} == {"meet"}  # key_ratio 70%
    x5 = rows(r, "JS-X5", "JS-A2")
    assert x5 and all(x.verdict == "undetermined" and "low_income_ratio" in x.reason
                      for x in x5)
    # Equal ratios are a break: strictly greater is required.
    eq = check("jiangsu", low_income_ratio="0.7", other_ratio="0.6",
               low_income_deductible="0", other_deductible="0", basic_cap="300000")
    x4 = [x for x in eq.rows if x.floor == "JS-X4"]
    assert {x.verdict for x in x4 if "key > low_income" in x.subject} == {"break"}
    assert {x.verdict for x in x4 if "low_income > other" in x.subject} == {"meet"}
    assert {x.verdict for x in rows(eq, "JS-X3", "JS-A1")} == {"meet"}  # key_cap = 50%


def test_cli_json_and_summary() -> None:
    data = cli_json("nanjing", "--set", "basic_cap=300000")
    assert data["basic_cap"] == "300000.00"
    njx3 = [x for x in data["rows"]
            if x["floor"] == "JS-X3" and x["cites"][0]["rule"] == "NJ-A5"]
    assert [x["verdict"] for x in njx3] == ["meet"]
    summary = data["summary"]
    assert summary["break"] > 0
    assert sum(summary.values()) == len(data["rows"])
    text = runner.invoke(app, ["policy", "check", "nanjing", "--against", "jiangsu",
                               "--set", "basic_cap=300000"])
    assert text.exit_code == 0  # a report, even with floors broken
    last = text.stdout.strip().splitlines()[-1]
    assert last == f"符合 {summary['meet']}，不符合 {summary['break']}，" \
                   f"待定 {summary['undetermined']}"
    assert "比例随自付累计下降：85% 至 2000.00，其后 80%" in text.stdout
    # The frame in Chinese, codes by their labels, the city's own labels first.
    assert text.stdout.startswith(
        "南京市 2023 对照 江苏省 2015（三（二）2）的省级底线，按 2023 年参数")
    assert "基本医保年度封顶线（basic_cap）：300000.00" in text.stdout
    assert "\n其他救助对象: 市政府研究确定的其他特殊困难人员\n" in text.stdout
    assert ("  不符合       NJ-A5 （四）  本市户籍临时救助对象中的大重病患者 × "
            "门诊特殊病种, 住院: 起付线 6903.90") in text.stdout
    for english in ("meet", "break", "undetermined", "conformance", "note:", "linshi_illness"):
        assert english not in text.stdout, english
    english = runner.invoke(app, ["policy", "check", "nanjing", "--against", "jiangsu",
                                  "--lang", "en"])
    assert "ratios fall as self-pay grows: 85% to 2000.00, then 80%" in english.stdout
    last = english.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ meet, \d+ break, \d+ undetermined", last)
    assert english.stdout.startswith("JS-X conformance of nanjing 2023 against jiangsu 2015")


def test_reasons_in_chinese_by_default() -> None:
    r = conformance.check(find_policy("nanjing"), JIANGSU, {"basic_cap": Decimal("300000")})
    assert dict(r.floors)["JS-X1"] == "重点救助对象各类就诊的救助比例 ≥ 70%"
    x2 = next(x for x in r.rows if x.floor == "JS-X2" and x.cites[0][0] == "NJ-A5")
    assert x2.verdict == "break"
    assert x2.reason == "起付线 6903.90（2023年 10% × 本市上年居民人均可支配收入） > 0.00"
    x3 = next(x for x in r.rows if x.floor == "JS-X3" and x.cites[0][0] == "NJ-A5")
    assert x3.reason == ("封顶 main_cap 200000.00 ≥ 150000.00"
                         "（基本医保年度封顶线 300000.00 的 50%）")
    x4 = next(x for x in r.rows if x.floor == "JS-X4"
              and x.subject == "general_outpatient, rehabilitation: 重点救助对象 > 低收入救助对象")
    assert x4.reason == ("重点救助对象最低 70% (NJ-A6: linshi_illness) ≤ "
                         "低收入救助对象最高 85% (NJ-A3: kunjing_child, dibao_edge)")
    assert any(x.reason == "没有其他救助对象的救助标准可比较" for x in r.rows)
    gap = next(x for x in r.rows if x.floor == "JS-X1" and x.verdict == "break")
    assert gap.reason.startswith("重点救助对象无救助：优抚对象门诊特殊病种和住院待遇")
    assert r.notes[0].startswith("JS-X3 只判断含住院的救助标准的封顶线")
    assert not any(re.search(r"[A-Za-z]{4,} [a-z]{3,}", x.reason) for x in r.rows), \
        [x.reason for x in r.rows]


@pytest.mark.parametrize("args", [
    ["nanjing", "--against", "nanjing"],  # not a framework
    ["atlantis", "--against", "jiangsu"],
    ["nanjing", "--against", "jiangsu", "--set", "basic_cap"],
    ["nanjing", "--against", "jiangsu", "--set", "basic_cap=lots"],
    ["nanjing", "--against", "jiangsu", "--set", "basic_cap=1.001"],  # finer than the fen
    ["nanjing", "--against", "jiangsu", "--lang", "fr"],
])
def test_cli_errors(args: list[str]) -> None:
    res = runner.invoke(app, ["policy", "check", *args])
    assert res.exit_code == 2
    assert res.stderr.startswith("error:")


def test_check_requires_a_framework() -> None:
    with pytest.raises(PolicyError, match="not a framework"):
        conformance.check(find_policy("nanjing"), find_policy("changzhou"))
