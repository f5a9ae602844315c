"""What officials read, as they asked for it: a schema error says how to write the value
(a list, a quoted word, a decimal ratio, yuan); an article says how the text writes it or
which articles the text has; a case's misspelt field gets its likely meaning and the city
its name; `policy show` and `policy diff` read in Chinese with 元, the parameter's label,
the stage's own name and the notice an article is of; the settle table is Chinese."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rules_helpers import case, ident, visit
from test_policy_validate import TEXT as VALIDATE_TEXT
from typer.testing import CliRunner

from jiashi_city import head
from medaid.cli.main import app
from medaid.policy import model

runner = CliRunner()

TEXT = VALIDATE_TEXT + "第五条 年度个人负担超过1万元的部分再予救助，2万元以内按50%，以上按60%。\n"
NOTICE = """\
嘉医保发〔2026〕3号 关于调整医疗救助标准的通知
---
一、特困人员住院救助年度限额由3万元提高至4万元。
二、再救助起付标准改由本地参数确定。
"""
CITY = head("jiashi.txt", ["tekun", "dibao"]) + """\
parameters:
  reassist_line:
    type: money
    label: 再救助起付标准
    default: 10000
    source: 第五条
    used_by: [JX-S]
pools:
  cap: {label: 住院救助年度限额}
  JX-A1: {}
  JX-S: {}
  s_cap: {}
lines:
  - rule: JX-A1
    article: 第二条
    categories: [tekun]
    kinds: [inpatient]
    deductible: 1000
    segments: [{upto: 20000, ratio: 0.9}, {ratio: 0.8}]
    caps: [{pool: cap, amount: 30000}]
stages:
  - rule: JX-S
    article: 第五条
    label: 再救助
    deductible: 10000
    segments: [{upto: 20000, ratio: 0.5}, {ratio: 0.6}]
    caps: [{pool: s_cap, amount: 20000}]
  - rule: JX-F
    article: 第五条
    label: 年终封顶
    when: year_end
    ceiling: {share: 0.1, of: inscp_scp_amt}
"""
AMENDMENT = """\
amends: jiashi-2025
version: "2026"
in_force: 2026-01-01
notice: {file: jiashi-notice.txt, title: 嘉医保发〔2026〕3号 关于调整医疗救助标准的通知}
lines:
  - rule: JX-A1
    article: 一
    caps: [{pool: cap, amount: 40000}]
stages:
  - rule: JX-S
    article: 二
    deductible: {param: reassist_line}
  - rule: JX-F
    article: 二
    ceiling: {share: 0.15, of: medfee_sumamt}
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.delenv(model.POLICY_DIR_ENV, raising=False)
    model.shipped.cache_clear()
    (tmp_path / "jiashi.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "jiashi-notice.txt").write_text(NOTICE, encoding="utf-8")
    (tmp_path / "jiashi-2025.yaml").write_text(CITY, encoding="utf-8")
    (tmp_path / "jiashi-2026.yaml").write_text(AMENDMENT, encoding="utf-8")
    yield tmp_path
    model.shipped.cache_clear()


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args), input=input)
    return r.exit_code, r.stdout, r.stderr


def validate(folder: Path, text: str) -> str:
    f = folder / "jiashi-2025.yaml"
    f.write_text(text, encoding="utf-8")
    code, _, err = run("policy", "validate", str(f))
    assert code == 2, err
    prefix = f"error: {f}:"
    assert err.startswith(prefix) and err.count("\n") == 1, err
    return err.removeprefix(prefix).rstrip("\n")


def at(text: str, needle: str) -> int:
    """The line number of the first line holding `needle`."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


# -- 1, 2: schema errors say how to write the value -----------------------------------------


@pytest.mark.parametrize(("written", "code"), [("kinds: [inpatient]", "inpatient"),
                                               ("categories: [tekun]", "tekun")])
def test_a_single_value_not_in_a_list_says_to_write_a_list_or_star(
        folder: Path, written: str, code: str) -> None:
    key = written.split(":")[0]
    text = CITY.replace(written, f"{key}: {code}")
    assert validate(folder, text) == (
        f"{at(text, f'{key}: {code}')}: lines[0].{key}: 「{code}」应为列表或 \"*\"："
        f"写作 [{code}]（只有一项也须写成列表），或写 \"*\" 表示全部 / must be a list, e.g. "
        f"[{code}], or \"*\" for all")


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("kinds: [inpatient]", "kinds: 全部",
     "lines[0].kinds: 「全部」无效：全部写作 \"*\" / for all, write \"*\""),
    ('version: "2025"', "version: 2025",
     "version: 应为文字；请加引号，写作 \"2025\" / Input should be a valid string"),
    ("{ratio: 0.8}", "{ratio: 90%}", "lines[0].segments[1].ratio: 应为数字；比例写作小数：90% "
                                     "应写作 0.9 / Input should be a valid decimal"),
    ("{ratio: 0.8}", "{ratio: 八成}", "lines[0].segments[1].ratio: 应为数字；比例写作小数，如 "
                                      "75% 写作 0.75 / Input should be a valid decimal"),
    *(("amount: 30000}", f"amount: {written}}}", f"lines[0].caps[0].amount: 应为数字；{told} / "
       "Input should be a valid decimal") for written, told in (
        ("4万", "金额以元为单位写数字：4万 应写作 40000"),
        ("3.5万元", "金额以元为单位写数字：3.5万元 应写作 35000"),
        ("三万", "金额以元为单位写数字，如 4万元 写作 40000"))),
    # articles: as the text writes them, or those the text has
    ("article: 第二条", "article: 第2条",
     "lines[0].article: jiashi.txt：无法识别条款「第2条」；应照原文写作「第二条」 / article "
     "'第2条': cannot read '第2条'; write it as the text does: 第二条"),
    ("article: 第二条", "article: 条款二",
     "lines[0].article: jiashi.txt：无法识别条款「条款二」；条款须照原文的编号写，如 第十条、"
     "二（三）、第十条 4 / article '条款二': cannot read '条款二'; write it as the text numbers "
     "it, e.g. 第十条, 二（三）, 第十条 4"),
    ("article: 第二条", "article: 第九条",
     "lines[0].article: jiashi.txt：条款「第九条」在文本中未找到；文本中有：第一条、第二条、"
     "第三条、第四条、第五条 / article '第九条' not found (the text has: 第一条, 第二条, 第三条, "
     "第四条, 第五条)"),
])
def test_a_written_value_is_told_how_to_write_it(folder: Path, old: str, new: str,
                                                 expected: str) -> None:
    text = CITY.replace(old, new, 1)
    assert validate(folder, text) == f"{at(text, new)}: {expected}"


def test_a_base_not_named_says_it_may_be_composed(folder: Path) -> None:
    text = CITY.replace("    label: 再救助\n", "    label: 再救助\n    base: 自付部分\n", 1)
    assert validate(folder, text) == (
        f"{at(text, 'base: 自付部分')}: stages[0].base: 取值「自付部分」无效，应为：remainder、"
        "out_of_pocket，或以 {include: […]} 列出其组成（见 docs/POLICY-FILES.md 第5、12节） / "
        "Input should be 'remainder' or 'out_of_pocket', or its composition {include: […]}")


def test_a_notices_article_not_in_it_lists_the_notices(folder: Path) -> None:
    f = folder / "jiashi-2026.yaml"
    f.write_text(AMENDMENT.replace("article: 一", "article: 四"), encoding="utf-8")
    code, _, err = run("policy", "validate", str(f))
    assert code == 2
    assert err.endswith(": lines[0].article: jiashi-notice.txt：条款「四」在文本中未找到；文本中"
                        "有：一、二 / article '四' not found (the text has: 一, 二)\n")


# -- 4: a case's errors -----------------------------------------------------------------


def good() -> dict[str, Any]:
    return case("jiashi", [ident("tekun", "2025-01-01")],
                [visit("V1", "inpatient", "2025-03-01", "2025-03-10", total=30000,
                       hifp=15000, hifmi=0)])


def settle(folder: Path, c: dict[str, Any]) -> tuple[int, str, str]:
    return run("settle", "-", "--policy-file", str(folder / "jiashi-2025.yaml"),
               input=json.dumps(c, ensure_ascii=False))


def refused(folder: Path, c: dict[str, Any]) -> str:
    code, out, err = settle(folder, c)
    assert (code, out) == (2, ""), err
    return err


def test_an_abbreviated_visit_field_is_named_with_the_field_it_abbreviates(folder: Path) -> None:
    c = good()
    c["visits"][0]["medfee"] = c["visits"][0].pop("medfee_sumamt")
    assert refused(folder, c) == ("error: visits[0].medfee: 未知字段（是否应为 medfee_sumamt？） / "
                                  "unknown field (did you mean medfee_sumamt?)\n")


def test_an_identitys_start_is_named_as_its_from(folder: Path) -> None:
    c = good()
    c["person"]["identities"][0]["start"] = c["person"]["identities"][0].pop("from")
    assert refused(folder, c) == ("error: person.identities[0].start: 未知字段（是否应为 "
                                  "from？） / unknown field (did you mean from?)\n")


def test_an_unknown_local_parameter_names_the_city_and_the_likely_one(folder: Path) -> None:
    c = good()
    c["local"] = {"reassist_lines": 8000}
    assert refused(folder, c) == (
        "error: local.reassist_lines: 嘉市没有本地参数「reassist_lines」（已知：reassist_line；是否"
        "应为 reassist_line？） / unknown local parameter (known for jiashi: reassist_line; did "
        "you mean reassist_line?)\n")


def test_an_undeclared_status_names_the_city_in_chinese_then_english(folder: Path) -> None:
    c = good()
    c["person"]["statuses"] = [{"status": "mts", "from": "2025-01-01"}]
    assert refused(folder, c) == (
        "error: person.statuses[0].status: 嘉市的政策文件未定义人员状态「mts」（已定义：无） / "
        "status 'mts' is not declared by jiashi's policy (declared: none)\n")


# -- 5: policy show and policy diff --------------------------------------------------------


def test_show_says_yuan_and_that_bounds_count_above_the_deductible(folder: Path) -> None:
    code, out, err = run("policy", "show", str(folder / "jiashi-2025.yaml"))
    assert code == 0, err
    line = out[out.index("  JX-A1 第二条\n"):out.index("\n救助后续阶段")]
    assert line.splitlines()[-3:] == ["    起付线: 1000.00元",
                                      "    救助比例: 起付线以上20000.00元以内 90%，以上 80%",
                                      "    年度封顶: 住院救助年度限额 30000.00元"]
    assert "    救助比例: 起付线以上20000.00元以内 50%，以上 60%\n" in out
    assert "    封顶线: 当年累计符合政策范围金额的 10%\n" in out


def test_show_names_the_notice_whose_article_an_entry_cites(folder: Path) -> None:
    code, out, err = run("policy", "show", str(folder / "jiashi-2026.yaml"))
    assert code == 0, err
    assert "  JX-A1 一\n    条款: 嘉市《嘉医保发〔2026〕3号》一\n" in out
    assert "  JX-S 二\n    条款: 嘉市《嘉医保发〔2026〕3号》二\n    名称: 再救助\n" in out
    assert "    起付线: 再救助起付标准（2026年 = 10000.00元）\n" in out
    assert "  JX-W 第三条\n    在保期起" in out  # the document's own article: as before


def test_diff_reads_the_notice_the_parameter_and_the_stage_by_name(folder: Path) -> None:
    code, out, err = run("policy", "diff", str(folder / "jiashi-2025.yaml"),
                         str(folder / "jiashi-2026.yaml"))
    assert code == 0, err
    assert ("修订通知 修改\n  修订通知：无 → 《嘉医保发〔2026〕3号 关于调整医疗救助标准的通知》"
            "（jiashi-notice.txt）\n") in out
    assert out.split("\n\n")[1].splitlines()[6:] == [
        "规则 JX-A1（《嘉医保发〔2026〕3号》一） 修改",
        "  条款：《嘉市医疗救助实施办法》第二条 → 《嘉医保发〔2026〕3号》一",
        "  文件：《嘉市医疗救助实施办法》 → 《嘉医保发〔2026〕3号》",
        "  限额：住院救助年度限额 30000.00元 → 住院救助年度限额 40000.00元",
        "规则 JX-S（《嘉医保发〔2026〕3号》二） 再救助 修改",
        "  条款：《嘉市医疗救助实施办法》第五条 → 《嘉医保发〔2026〕3号》二",
        "  文件：《嘉市医疗救助实施办法》 → 《嘉医保发〔2026〕3号》",
        "  起付标准：10000.00元 → 参数「再救助起付标准」",
        "规则 JX-F（《嘉医保发〔2026〕3号》二） 年终封顶 修改",
        "  条款：《嘉市医疗救助实施办法》第五条 → 《嘉医保发〔2026〕3号》二",
        "  文件：《嘉市医疗救助实施办法》 → 《嘉医保发〔2026〕3号》",
        "  封顶：符合政策范围金额的 10% → 医疗费总额的 15%"]


def test_diff_says_a_parameters_type_and_a_stages_bounds_in_chinese(folder: Path) -> None:
    (folder / "jiashi-2026.yaml").write_text(CITY.replace('version: "2025"', 'version: "2026"')
                                             .replace("in_force: 2025-01-01",
                                                      "in_force: 2026-01-01")
                                             .replace("  reassist_line:", "  other_line:")
                                             .replace("[JX-S]", "[]")
                                             .replace("{upto: 20000, ratio: 0.5}",
                                                      "{upto: 15000, ratio: 0.5}"),
                                             encoding="utf-8")
    code, out, err = run("policy", "diff", str(folder / "jiashi-2025.yaml"),
                         str(folder / "jiashi-2026.yaml"))
    assert code == 0, err
    assert "参数 other_line（再救助起付标准） 新增\n  类型：金额\n" in out
    assert ("规则 JX-S（第五条） 再救助 修改\n  分段比例：起付线以上20000.00元以内50%，以上60% → "
            "起付线以上15000.00元以内50%，以上60%\n") in out


def test_bounds_counted_from_zero_read_from_the_deductible(folder: Path) -> None:
    """`bounds: absolute` (起付线至2万元（含）的部分): the bound is an amount from zero."""
    f = folder / "jiashi-2025.yaml"
    f.write_text(CITY.replace("    segments: [{upto: 20000, ratio: 0.5}, {ratio: 0.6}]\n",
                              "    segments: [{upto: 20000, ratio: 0.5}, {ratio: 0.6}]\n"
                              "    bounds: absolute\n"), encoding="utf-8")
    code, out, err = run("policy", "show", str(f), "--rule", "JX-S")
    assert code == 0, err
    assert "    救助比例: 起付线至20000.00元 50%，以上 60%\n" in out
    (folder / "jiashi-2024.yaml").write_text(CITY, encoding="utf-8")
    code, out, err = run("policy", "diff", str(folder / "jiashi-2024.yaml"), str(f))
    assert code == 0, err
    assert ("规则 JX-S（第五条） 再救助 修改\n"
            "  分段比例：起付线以上20000.00元以内50%，以上60% → 起付线至20000.00元50%，以上60%\n"
            "  分段上限：起付线以上累计金额 → 费用金额（自零起算）\n") in out


# -- 6: the settle table ------------------------------------------------------------------


def test_the_settle_table_is_chinese(folder: Path) -> None:
    c = good()
    c["visits"].append(visit("V2", "childbirth", "2025-04-01", "2025-04-03", total=5000,
                             hifp=2000, hifmi=0))
    c["visits"].append(visit("V3", "general_outpatient", "2025-05-01", total=500, hifp=200,
                             hifmi=0))
    code, out, err = settle(folder, c)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "嘉市 · P"
    assert [ln for ln in lines if ln.startswith("V")] == [
        "V1  就诊类别：住院  2025年度（嘉市 2025版）  身份：特困人员  规则：JX-A1",
        "V2  就诊类别：生育（按住院结算）  2025年度（嘉市 2025版）  身份：特困人员  规则：JX-A1",
        "V3  就诊类别：普通门诊  2025年度（嘉市 2025版）  身份：特困人员  规则：无"]
    fallback = next(ln for ln in lines if "没有单列标准" in ln)
    assert fallback.split()[:2] == ["结算", "—"] and "§" not in out
    uncovered = next(ln for ln in lines if "普通门诊救助" in ln)
    assert uncovered.split()[:2] == ["医疗救助", "无"] and "none" not in out
    assert "合计" in lines and "category:" not in out and "rules:" not in out
