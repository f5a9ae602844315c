"""`medaid policy show`: a policy for a reader, and one rule with its article quoted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medaid.cli.main import app
from medaid.policy import model
from medaid.policy.articles import article_text
from small_city import HEAD

runner = CliRunner()


def show(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, ["policy", "show", *args])
    return r.exit_code, r.stdout, r.stderr


def cited(policy: model.Policy) -> list[tuple[str, str]]:
    """(rule, article) of every element of the policy file, read from the schema directly."""
    spec = policy.spec
    out = [(spec.windows.rule, spec.windows.article)]
    out += [(lb.rule, lb.article) for lb in spec.windows.lookback]
    out += [(x.rule, x.article) for x in (spec.referral, spec.critical_illness_tilt,
                                          spec.tilted, spec.premium_subsidy) if x is not None]
    out += [(ln.rule, ln.article) for ln in spec.lines]
    out += [(r.rule, r.article) for r in spec.refusals]
    return out


RULES = sorted({(p.jurisdiction, rule) for p in model.shipped() for rule, _ in cited(p)})


def test_show_summarises_the_policy() -> None:
    code, out, _ = show("nanjing")
    assert code == 0
    assert "南京市 (nanjing) 版本 2023，2023-01-01 起施行" in out
    assert "政策文件：《宁政办发〔2023〕1号" in out
    # Categories in tie order with their Chinese labels.
    order = [out.index(f"{c}  ") for c in ("tekun ", "orphan", "dibao ", "other_special")]
    assert order == sorted(order)
    assert "特困人员" in out and "市政府研究确定的其他特殊困难人员" in out
    for text in ("在保期起: 认定当月第一日",
                 "未转诊（困难）: 各段比例 -20 个百分点，不予倾斜救助",
                 "救助比例: 2000.00元以内 85%，以上 80%", "年度封顶: 年度救助限额 200000.00元",
                 "10% × 本市上年居民人均可支配收入（2023年 = 6903.90元）",
                 "宁政规字〔2016〕2号", "起付线: 20000.00元", "分段比例: +5 个百分点",
                 "标准的 50%", "层次: 医疗救助", "就诊类别: 普通门诊, 门诊特殊病种, 住院",
                 "1. tekun           特困人员  [重点救助对象]",
                 "无单列标准的就诊类别：生育 → 住院"):
        assert text in out, text
    assert "first day of the month" not in out and "no tilt" not in out
    # The frame is Chinese too: no English heading, no internal file name.
    for english in ("version", "in force", "categories", "kinds", "windows", "lines",
                    "local parameters", "value:", "source:", "used by",
                    "000_a8d7d8e3c7e8d865.txt"):
        assert english not in out, english
    # Local parameters: value with source, or required.
    assert ("income_per_capita_prev_year — 本市上年居民人均可支配收入 "
            "(金额；用于 NJ-A5, NJ-A6)") in out
    assert "取值: 2023: 69039.00元" in out
    required = out[out.index("  critical_illness — 大病保险起付线"):].splitlines()[1]
    assert required == "    取值: 必须设定，尚未设定"


def test_show_in_english() -> None:
    code, out, _ = show("nanjing", "--lang", "en")
    assert code == 0
    assert "南京市 (nanjing) version 2023, in force from 2023-01-01" in out
    assert "document 000_a8d7d8e3c7e8d865.txt: 宁政办发〔2023〕1号" in out
    for text in ("categories, in tie order", "\nwindows\n", "\nlines\n", "local parameters",
                 "tier: assistance", "kinds without a rule of their own: childbirth → inpatient",
                 "1. tekun           特困人员  [key]",
                 "income_per_capita_prev_year — 本市上年居民人均可支配收入 (money; used by"):
        assert text in out, text
    for text in ("first day of the month of from", "every ratio -20 points, no tilt",
                 "segments: 85% to 2000.00, 80% above", "caps: main_cap 200000.00",
                 "10% × income_per_capita_prev_year (= 6903.90 for 2023)",
                 "宁政规字〔2016〕2号", "deductible: 20000.00", "segment ratios: +5 points",
                 "50% of the standard"):
        assert text in out, text
    required = out[out.index("  critical_illness — 大病保险起付线"):].splitlines()[1]
    assert required == "    value: required — not set"
    code, out, _ = show("ningbo", "--rule", "NB-A3", "--lang", "en")
    assert code == 0 and "covers: 12 months before application" in out


def test_show_framework_parameters_by_reference() -> None:
    code, out, _ = show("jiangsu")
    assert code == 0
    assert "取值: 默认 70% (≥ 70%)" in out
    assert "取值: 默认 50% × 当地城乡基本医疗保险封顶线 (≥ 50% × 当地城乡基本医疗保险封顶线)" in out
    assert "救助比例: 重点医疗救助对象救助比例（2015年 = 70%）" in out
    assert "key_ratio_floor: 70%" in out


def test_show_rule_nj_a3_numbers_and_article() -> None:
    code, out, _ = show("nanjing", "--rule", "NJ-A3")
    assert code == 0
    assert "南京市 (nanjing) 2023 · 规则 NJ-A3" in out
    assert "\n救助标准\n  NJ-A3 （四）" in out
    assert "2000" in out and "85%" in out and "80%" in out
    assert "年度封顶: 门诊救助年度限额 10000.00元" in out
    assert "\n身份\n  dibao: 最低生活保障对象" in out
    quoted = out[out.index("南京市《宁政办发〔2023〕1号》（四）"):]
    assert "2000 元内（含）按 85% 的比例" in quoted
    # Only NJ-A3's elements: not the lines of other rules.
    assert "NJ-A5" not in out


def test_show_rule_gathers_every_element_of_the_rule() -> None:
    # NB-A3 is a line and the look-back (60% in the 12 months before the application).
    code, out, _ = show("ningbo", "--rule", "NB-A3")
    assert code == 0
    assert "NB-A3 三（二）1（回溯）" in out
    assert "覆盖: 申请之日前 12 个月" in out
    assert "回溯期比例: 60%" in out
    assert "救助比例: 70%" in out
    assert out.count("《甬医保发〔2019〕27号》三（二）1") == 1  # one article, quoted once


@pytest.mark.parametrize(("jurisdiction", "rule"), RULES)
def test_show_every_rule_of_every_policy(jurisdiction: str, rule: str) -> None:
    policy = model.versions(jurisdiction)[-1]
    code, out, err = show(jurisdiction, "--rule", rule)
    assert code == 0, err
    for r, article in cited(policy):
        if r == rule:
            assert f"{rule} {article}" in out
            first = article_text(policy.spec.document.file, article).splitlines()[0]
            assert f"  > {first}" in out


def test_every_shipped_rule_is_covered() -> None:
    assert {j for j, _ in RULES} == set(model.jurisdictions())
    assert ("nanjing", "NJ-A3") in RULES and ("changzhou", "CZ-T") in RULES


def test_show_framework_floors_by_rule() -> None:
    code, out, _ = show("jiangsu", "--rule", "JS-X")
    assert code == 0
    assert "cap_share_of_basic_cap: 50%" in out
    assert "按70%以上的比例给予救助" in out


@pytest.mark.parametrize("args", [
    ("nanjing", "--rule", "NJ-Z9"),
    ("nanjing", "--rule", "YC-A1"),  # another jurisdiction's rule
    ("atlantis",),
    ("nanjing", "--version", "1999"),
    ("nanjing", "--lang", "fr"),
])
def test_show_errors(args: tuple[str, ...]) -> None:
    code, out, err = show(*args)
    assert code == 2
    assert err.startswith("error:")
    assert "Traceback" not in err and out == ""


def test_show_version() -> None:
    code, out, _ = show("yichun", "--version", "2022")
    assert code == 0 and "宜春市 (yichun) 版本 2022" in out


def _english_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z]{3,}", text) if w != "medaid"]


@pytest.mark.parametrize("policy", model.shipped(), ids=lambda p: p.jurisdiction)
def test_parameter_sources_read_in_chinese(policy: model.Policy) -> None:
    """An official reads a parameter's source on the rules page and in `policy show`: Chinese,
    citing the document by number and article, no internal file names."""
    for name, p in policy.spec.parameters.items():
        for text in (p.source or "", *(v.source or "" for v in p.values)):
            assert not _english_words(text), (name, text)
            assert ".md" not in text and "RULES" not in text, (name, text)
    code, out, _ = show(policy.jurisdiction)
    assert code == 0
    for line in (x for x in out.splitlines() if x.startswith("    依据: ")):
        assert not _english_words(line), line


def test_parameter_sources_cite_the_document_by_number_and_article() -> None:
    nanjing = model.versions("nanjing")[-1].spec.parameters
    assert "《宁政办发〔2023〕1号》（十六）" in (nanjing["warning_threshold_share"].source or "")
    assert "《宁政办发〔2023〕1号》（四）" in (nanjing["income_per_capita_prev_year"].source or "")
    key_cap = model.versions("jiangsu")[-1].spec.parameters["key_cap"].source or ""
    assert key_cap.startswith("《省政府办公厅关于进一步完善医疗救助制度的实施意见》三（二）2：")


def test_a_parameter_that_changes_inside_the_year_shows_each_value(tmp_path: Path) -> None:
    """A per-stay deductible of 1,000 lowered to 800 from 1 July: the line shows both, with
    their dates, rather than the parameter's name alone; a pool named like a kind still
    reads as the kind."""
    (tmp_path / "city.txt").write_text("某市医疗救助办法\n---\n第五条 住院每次起付标准1000元。\n",
                                       encoding="utf-8")
    (tmp_path / "city.yaml").write_text(HEAD + """\
pools:
  inpatient: {label: 住院救助基数, period: visit}
parameters:
  per_stay:
    type: money
    label: 住院每次起付标准
    default: 1000
    source: 第五条
    values:
      - {from: 2024-07-01, value: 800, source: 自2024年7月1日起调整为每次800元}
    used_by: [A1]
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: [inpatient], pool: inpatient,
     deductible: {param: per_stay}, segments: [{ratio: 0.7}]}
""", encoding="utf-8")
    code, out, err = show(str(tmp_path / "city.yaml"), "--rule", "A1")
    assert code == 0, err
    assert "起付线: 住院每次起付标准（2024-01-01起 1000.00元；2024-07-01起 800.00元）" in out
    assert "就诊类别: 住院" in out and "额度池: 住院救助基数" in out
