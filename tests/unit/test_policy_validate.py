"""`medaid policy validate` refuses what would otherwise settle wrongly or cite nothing:
a referral penalty out of range, a parameter used by a rule that is not there, a document
or an article that cannot be found, and an amendment's misspelt rule id, each in Chinese
first at its YAML line; and a city's own document text is quoted by `policy show`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jiashi_city import head
from medaid.cli.main import app
from medaid.policy import model

runner = CliRunner()

CITY = head("jiashi-seed.txt", ["tekun"]) + """\
parameters:
  income:
    type: money
    label: 上年居民人均可支配收入
    used_by: [JX-A1]
lines:
  - rule: JX-A1
    article: 第二条
    categories: [tekun]
    kinds: [inpatient]
    segments: [{ratio: 1.00}]
"""
TEXT = """\
嘉市医疗救助实施办法
---
第一条 为做好医疗救助工作，制定本办法。
第二条 特困人员住院费用个人自付部分按100%救助。
第三条 救助对象认定当日起享受待遇。
第四条 未按规定转诊的，救助比例降低10个百分点。
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.delenv(model.POLICY_DIR_ENV, raising=False)
    model.shipped.cache_clear()
    yield tmp_path
    model.shipped.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def validate(folder: Path, text: str, name: str = "jiashi-2025.yaml") -> tuple[int, str, str]:
    f = folder / name
    f.write_text(text, encoding="utf-8")
    return run("policy", "validate", str(f))


def line_no(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_city_with_its_text_beside_it_is_valid_and_quoted(folder: Path) -> None:
    (folder / "jiashi-seed.txt").write_text(TEXT, encoding="utf-8")
    code, out, err = validate(folder, CITY)
    assert code == 0, err
    code, out, err = run("policy", "show", str(folder / "jiashi-2025.yaml"), "--rule", "JX-A1")
    assert code == 0, err
    assert "> 第二条 特困人员住院费用个人自付部分按100%救助。" in out


def test_the_text_may_be_in_a_deployments_folder(folder: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    texts = folder / "texts"
    texts.mkdir()
    (texts / "jiashi-seed.txt").write_text(TEXT, encoding="utf-8")
    monkeypatch.setenv(model.POLICY_DIR_ENV, str(texts))
    assert validate(folder, CITY)[0] == 0
    code, out, err = run("policy", "show", str(folder / "jiashi-2025.yaml"), "--rule", "JX-R")
    assert code == 0, err
    assert "救助比例降低10个百分点" in out


@pytest.mark.parametrize("points", [-110, 20, 1])
def test_a_referral_penalty_lies_from_minus_100_to_0(folder: Path, points: int) -> None:
    (folder / "jiashi-seed.txt").write_text(TEXT, encoding="utf-8")
    text = CITY.replace("ratio_points: -10", f"ratio_points: {points}")
    code, out, err = validate(folder, text)
    assert (code, out) == (2, "")
    at = f"{folder / 'jiashi-2025.yaml'}:{line_no(text, 'unreferred:')}"
    assert err.startswith(f"error: {at}: referral.unreferred.ratio_points: 未转诊的救助比例只能"
                          "降低：ratio_points 应在 -100 到 0 之间（降低20个百分点写 -20），"
                          f"不能是 {points} / ")
    for edge in (-100, 0):
        assert validate(folder, CITY.replace("ratio_points: -10",
                                             f"ratio_points: {edge}"))[0] == 0


def test_used_by_names_a_rule_of_the_file(folder: Path) -> None:
    (folder / "jiashi-seed.txt").write_text(TEXT, encoding="utf-8")
    text = CITY.replace("used_by: [JX-A1]", "used_by: [JX-A1, JX-A9]")
    code, _, err = validate(folder, text)
    assert code == 2
    assert err == (f"error: {folder / 'jiashi-2025.yaml'}:{line_no(text, 'used_by')}: "
                   "parameters.income.used_by[1]: 没有规则编号或用途「JX-A9」（可用：JX-W、JX-R、"
                   "JX-A1、hifp_pay、hifmi_pay、monitoring） / no rule or use 'JX-A9'\n")


def test_a_document_that_cannot_be_found_is_a_warning_at_its_line(folder: Path) -> None:
    """The file settles without its text; validate says its articles went unchecked."""
    code, out, err = validate(folder, CITY)
    assert code == 0 and out.startswith("ok: ")
    assert err.startswith(f"warning: {folder / 'jiashi-2025.yaml'}:5: document.file: "
                          "jiashi-seed.txt：找不到政策文件的文本（已查找：")
    assert "）；条文未核对 / no such document" in err
    assert err.endswith("; articles not checked\n") and err.count("\n") == 1
    code, _, err = run("policy", "show", str(folder / "jiashi-2025.yaml"), "--rule", "JX-A1")
    assert code == 2 and err.startswith("error: jiashi-seed.txt：找不到政策文件的文本")


def test_each_article_not_in_the_text_is_an_error_at_its_line(folder: Path) -> None:
    (folder / "jiashi-seed.txt").write_text(TEXT, encoding="utf-8")
    text = CITY.replace("article: 第二条", "article: 第九条").replace("article: 第四条",
                                                                  "article: 第八条")
    code, _, err = validate(folder, text)
    f = folder / "jiashi-2025.yaml"
    assert code == 2
    assert err.splitlines() == [
        f"error: {f}:{line_no(text, '第八条')}: referral.article: jiashi-seed.txt：条款「第八条」"
        "在文本中未找到；文本中有：第一条、第二条、第三条、第四条 / article '第八条' not found "
        "(the text has: 第一条, 第二条, 第三条, 第四条)",
        f"error: {f}:{line_no(text, '第九条')}: lines[0].article: jiashi-seed.txt：条款「第九条」"
        "在文本中未找到；文本中有：第一条、第二条、第三条、第四条 / article '第九条' not found "
        "(the text has: 第一条, 第二条, 第三条, 第四条)"]


@pytest.mark.parametrize("name", sorted(p.name for p in (
    Path(__file__).resolve().parents[2] / "src" / "medaid" / "policies").glob("*.yaml")))
def test_every_shipped_file_is_valid_with_its_citations(name: str) -> None:
    path = Path(__file__).resolve().parents[2] / "src" / "medaid" / "policies" / name
    code, out, err = run("policy", "validate", str(path))
    assert code == 0, err
    assert out.startswith("ok: ")


def test_an_amendments_misspelt_rule_is_named_at_its_line(folder: Path) -> None:
    text = ('amends: suqian-2024\nversion: "2025"\nin_force: 2025-01-01\nlines:\n'
            '  - rule: SQ-A9\n    segments: [{ratio: 0.95}]\n')
    code, _, err = validate(folder, text, "suqian-2025.yaml")
    assert code == 2
    assert err == (f"error: {folder / 'suqian-2025.yaml'}:5: lines[6]: SQ-A9 不是所修订版本的"
                   "救助标准（已有：SQ-A1、SQ-A2、SQ-A3）；若是新增的救助标准，还缺少必填的键「article」、"
                   "「categories」、「kinds」 / SQ-A9 is not a line of the base version (known: "
                   "SQ-A1, SQ-A2, SQ-A3)\n")


def test_an_amendments_errors_name_its_own_lines(folder: Path) -> None:
    text = ('amends: suqian-2024\nversion: "2025"\nin_force: 2025-01-01\nlines:\n'
            '  - rule: SQ-A1\n    match: {kinds: [general_outpatient]}\n'
            '    segments: [{ratio: 1.5}]\n')
    code, _, err = validate(folder, text, "suqian-2025.yaml")
    assert code == 2
    assert err.startswith(f"error: {folder / 'suqian-2025.yaml'}:7: lines[0].segments[0].ratio: "
                          "1.5 不得大于 1")
    text = text.replace("1.5", "0.9") + "  - rule: SQ-A2\n    caps: []\n"
    code, _, err = validate(folder, text, "suqian-2025.yaml")
    assert err == (f"error: {folder / 'suqian-2025.yaml'}:8: amends.lines[1]: rule SQ-A2 "
                   "在原文件中对应2项，请用 match 指明哪一项（如 match: {kinds: [inpatient]}） / 2 "
                   "entries have rule SQ-A2: say which with match\n")


def test_an_amendment_merges_stages_by_rule_as_lines() -> None:
    from medaid.policy import amend

    base = {"stages": [{"rule": "R1", "label": "再救助", "deductible": 2000},
                       {"rule": "G1", "label": "补助", "grant": 2000}]}
    out = amend.merge(base, {"stages": [{"rule": "R1", "deductible": 3000},
                                        {"rule": "G1", "removed": True},
                                        {"rule": "F1", "label": "封顶"}]}, amend.AMENDS)
    assert out["stages"] == [{"rule": "R1", "label": "再救助", "deductible": 3000},
                             {"rule": "F1", "label": "封顶"}]


def test_a_grant_without_a_deductible_and_a_needless_until_are_warnings(folder: Path) -> None:
    """Both settle, so the file is valid; validate says, at each line, what they will do."""
    (folder / "jiashi-seed.txt").write_text(TEXT, encoding="utf-8")
    text = CITY.replace("stay_rule: true", (
        "stay_rule: true, lookback: [{rule: JX-W, article: 第三条, categories: [tekun], "
        "months: 3, until: from}]")) + """\
stages:
  - rule: JX-G
    article: 第二条
    label: 一次性补助
    when: year_end
    grant: 2000
"""
    code, out, err = validate(folder, text)
    assert code == 0 and out.startswith("ok: ")
    f = folder / "jiashi-2025.yaml"
    assert err.splitlines() == [
        f"warning: {f}:{line_no(text, 'grant: 2000')}: stages[0].grant: 一次性补助未写 "
        "deductible（须超过的金额），凡有个人负担即全额发放 / a grant without a deductible is "
        "paid in full once anything is borne",
        f"warning: {f}:{line_no(text, 'until: from')}: windows.lookback[0].until: until: from "
        "只在 before: application 时起作用（申请至认定期间），此处与默认相同 / until: from only "
        "matters with before: application"]
    assert validate(folder, text.replace("grant: 2000", "grant: 2000\n    deductible: 9800")
                    .replace("until: from", "before: application, until: from"))[2] == ""


STAGES = """\
pools:
  JX-A1: {label: 住院救助}
  JX-R: {label: 再救助}
  r_cap: {label: 再救助限额}
  JX-G: {label: 年度补助}
  JX-F: {label: 年度封顶}
stages:
  - rule: JX-R
    article: 第二条
    label: 再救助
    categories: [tekun, dibao]
    deductible: 5000
    segments: [{ratio: 0.5}]
    caps: [{pool: r_cap, amount: 20000}]
    by_category: [{categories: [dibao], deductible: 8000}]
  - rule: JX-G
    article: 第二条
    label: 年度补助
    when: year_end
    deductible: 9800
    grant: 2000
  - rule: JX-F
    article: 第二条
    label: 年度封顶
    when: year_end
    ceiling: {share: 0.1}
"""


RATIO_PARAM = """\
parameters:
  income: {type: ratio, label: 比例, default: 0.5, source: 第二条}
"""


@pytest.mark.parametrize(("told", "old", "new", "at", "says"), [
    ("warning", "categories: [tekun, dibao]\n    deductible: 5000",
     "categories: [tekun]\n    deductible: 5000", "by_category",
     "stages[0].by_category[0].categories[0]: 「dibao」不在所属条目的 categories"),
    ("error", "by_category: [{categories: [dibao],",
     "by_category: [{categories: [dibao, yinbing],", "by_category",
     "stages[0].by_category[0].categories[1]: 未列于 categories 的身份「yinbing」"),
    ("error", "label: 再救助\n", "label: 再救助\n    deductible: 100\n", "deductible: 5000",
     "不是有效的 YAML / not valid YAML: 键「deductible」在同一层重复，后写的值会覆盖前一个"),
    ("error", "- rule: JX-F", "- rule: JX-G",
     "- rule: JX-G\n    article: 第二条\n    label: 年度封顶",
     "stages[2].rule: 规则编号「JX-G」与 stages[1] 重复"),
    ("warning", "ceiling: {share: 0.1}", "ceiling: {share: 0.1}\n    deductible: 100",
     "deductible: 100", "stages[2].deductible: 个人负担封顶（ceiling）不用起付标准"),
    ("error", "ceiling: {share: 0.1}", "ceiling: {share: 0.1}\n    by_category: [{categories: "
     "[dibao], grant: 500}]", "grant: 500", "stages[2].by_category[0].grant: 该阶段为个人负担"
     "封顶（ceiling），分身份取值不能给出「grant」；可给：ceiling、caps"),
    ("warning", "grant: 2000", "grant: 0", "grant: 0",
     "stages[1].grant: 一次性补助金额为 0，不会支付"),
    ("error", "{pool: r_cap,", "{pool: r_cp,", "pool: r_cp",
     "stages[0].caps[0].pool: 累计池「r_cp」（是否应为「r_cap」？）被使用但未在 pools 中定义"),
    ("warning", "deductible: 8000}]", "deductible: 8000}, {categories: [dibao], deductible: "
     "9000}]", "deductible: 8000}, {", "stages[0].by_category[1].categories[0]: 「dibao」已列于"
     "前面的 by_category 条目，此处的取值对它不适用"),
    ("error", "grant: 2000", "grant: {param: income}", "grant: {param",
     "stages[1].grant: 参数「income」是比例（ratio），此处须为金额（money）"),
    ("error", "- rule: JX-R\n", "- rule: JX-A1\n",
     "- rule: JX-A1\n    article: 第二条\n    label: 再",
     "stages[0].rule: 规则编号「JX-A1」已是 lines[0] 的编号"),
    ("error", "label: 再救助\n", "label: 再救助\n    pool: JX-A1\n", "pool: JX-A1",
     "stages[0].pool: 累计池「JX-A1」是 lines[0]（JX-A1）的起付线/分段累计池"),
    ("warning", "JX-G: {label: 年度补助}", "JX-G: {label: 年度补助, period: visit}",
     "- rule: JX-G", "stages[1].pool: 年终阶段每人每年结算一次，不读其累计池「JX-G」的按次累计"),
    ("error", "  JX-R: {label: 再救助}\n", "", "- rule: JX-R",
     "stages[0].rule: 累计池「JX-R」（未写 pool，以规则编号为累计池）被使用但未在 pools 中定义"),
    ("warning", "amount: 20000}", "amount: 20000, raised: {amount: 15000, over: 3000}}", "raised",
     "stages[0].caps[0].raised.amount: 提高后的限额 15000 不高于原限额 20000"),
    ("error", "ratio: 0.5}", "ratio: 50}", "ratio: 50",
     "stages[0].segments[0].ratio: 50 不得大于 1；比例写作小数：50% 应写作 0.5"),
])
def test_a_stage_that_cannot_mean_what_it_says_is_told_at_its_line(
        folder: Path, told: str, old: str, new: str, at: str, says: str) -> None:
    """An error where it would settle wrongly or not at all; a warning where it settles
    as written but does nothing."""
    (folder / "jiashi-seed.txt").write_text(TEXT, encoding="utf-8")
    text = head("jiashi-seed.txt", ["tekun", "dibao"]) + CITY.split("parameters:\n")[0][
        len(head("jiashi-seed.txt", ["tekun"])):] + RATIO_PARAM + "lines:\n" \
        + CITY.split("lines:\n")[1] + STAGES
    assert validate(folder, text)[0] == 0
    broken = text.replace(old, new, 1)
    assert broken != text
    code, _, err = validate(folder, broken)
    assert (code == 0) == (told == "warning")
    line = broken[:broken.index(at)].count("\n") + 1
    assert f"{told}: {folder / 'jiashi-2025.yaml'}:{line}: {says}" in err, err


def test_a_pool_nothing_uses_is_a_warning(folder: Path) -> None:
    (folder / "jiashi-seed.txt").write_text(TEXT, encoding="utf-8")
    text = CITY + "pools:\n  JX-A1: {label: 住院救助}\n  tilt_cap: {label: 倾斜限额}\n"
    code, out, err = validate(folder, text)
    assert code == 0 and out.startswith("ok: ")
    assert err == (f"warning: {folder / 'jiashi-2025.yaml'}:{line_no(text, 'tilt_cap')}: "
                   "pools.tilt_cap: 累计池「tilt_cap」已定义但没有救助标准、阶段或限额使用它"
                   "（是否拼错了使用处的名称？） / the pool is defined but never used\n")


def test_what_never_applies_is_a_warning_at_its_line(folder: Path) -> None:
    """A cap of 0, a refusal of what a line assists, a `from:` value in a year that has its
    own `year:` value: each settles, and validate says at its line that it never applies."""
    (folder / "jiashi-seed.txt").write_text(TEXT, encoding="utf-8")
    text = CITY.replace("""    segments: [{ratio: 1.00}]
""", """    segments: [{ratio: 1.00}]
    caps: [{pool: cap, amount: 0}]
refusals:
  - {rule: JX-X, article: 第四条, categories: [tekun], kinds: [inpatient], reason: 不予救助}
""").replace("    used_by: [JX-A1]\n", """    used_by: [JX-A1]
    values:
      - {from: 2025-07-01, value: 5, source: 第二条}
      - {year: 2025, value: 4, source: 第二条}
""")
    code, out, err = validate(folder, text)
    assert code == 0 and out.startswith("ok: ")
    f = folder / "jiashi-2025.yaml"
    assert err.splitlines() == [
        f"warning: {f}:{line_no(text, 'amount: 0')}: lines[0].caps[0].amount: 限额为 0，使用该"
        "限额的救助永不支付 / a cap of 0 lets nothing be paid",
        f"warning: {f}:{line_no(text, 'from: 2025-07-01')}: parameters.income.values[0].from: "
        "2025 年另有按年度（year）给出的取值，该年的就诊都取年度值，2025-07-01 起的取值在该年"
        "不适用 / the year's own value hides this one in its year",
        f"warning: {f}:{line_no(text, 'JX-X')}: refusals[0].kinds[0]: 救助标准 JX-A1 已对特困"
        "人员的住院费用予以救助，此不予救助的规定不会适用（请从该标准的 kinds 或 categories 中"
        "去掉它） / a line assists what the refusal refuses: it never applies"]


def test_a_year_end_stage_needs_no_pool(folder: Path) -> None:
    """It measures the year at once: `pools:` need not list it, and may."""
    (folder / "jiashi-seed.txt").write_text(TEXT, encoding="utf-8")
    text = head("jiashi-seed.txt", ["tekun", "dibao"]) + CITY.split("parameters:\n")[0][
        len(head("jiashi-seed.txt", ["tekun"])):] + "lines:\n" + CITY.split("lines:\n")[1] \
        + STAGES
    unlisted = text.replace("  JX-G: {label: 年度补助}\n  JX-F: {label: 年度封顶}\n", "")
    assert unlisted != text
    for listed in (text, unlisted):
        assert validate(folder, listed)[::2] == (0, "")
