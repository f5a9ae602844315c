"""`policy show` and `policy diff` as an official reads them: whole lines, the file's own
pool labels, no tilt where the city has none, Chinese for every key and code, and which
entry of a rule id changed."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from jiashi_city import head
from medaid.cli.main import app

runner = CliRunner()

CITY = head("jiashi.txt", ["tekun", "dibao"]) + """\
pools:
  inpatient_cap: {label: 住院救助年度限额}
  JX-A1: {}
lines:
  - {rule: JX-A1, article: 第二条, categories: [tekun], kinds: [inpatient],
     segments: [{ratio: 1.00}], caps: [{pool: inpatient_cap, amount: 30000}]}
  - {rule: JX-A1, article: 第二条, categories: [tekun], kinds: [special_outpatient],
     segments: [{ratio: 0.90}], caps: [{pool: inpatient_cap, amount: 30000}]}
"""
AMENDMENT = """\
amends: jiashi-2025
version: "2026"
in_force: 2026-01-01
referral:
  unreferred: {ratio_points: -20}
lines:
  - rule: JX-A1
    match: {kinds: [special_outpatient]}
    kinds: [special_outpatient, rare_disease_drug]
    categories: [tekun, dibao]
    caps: [{pool: inpatient_cap, amount: 40000}]
"""


def run(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, r.stderr
    return r.stdout


def files(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "jiashi-2025.yaml").write_text(CITY, encoding="utf-8")
    (tmp_path / "jiashi-2026.yaml").write_text(AMENDMENT, encoding="utf-8")
    return str(tmp_path / "jiashi-2025.yaml"), str(tmp_path / "jiashi-2026.yaml")


def test_show_uses_the_files_pool_labels_and_says_no_tilt_without_tilted(
        tmp_path: Path) -> None:
    base, _ = files(tmp_path)
    out = run("policy", "show", base)
    assert out.endswith("\n本地参数\n  无\n")
    assert "年度封顶: 住院救助年度限额 30000.00" in out and "inpatient_cap" not in out
    assert "未转诊: 各段比例 -10 个百分点\n" in out
    assert "未转诊（困难）: 按已转诊救助\n" in out
    assert "倾斜救助" not in out  # the city has none


def test_show_with_tilted_assistance_says_whether_a_referral_keeps_it() -> None:
    out = run("policy", "show", "nanjing")
    assert "未转诊（困难）: 各段比例 -20 个百分点，不予倾斜救助" in out


def test_diff_in_chinese_with_labels_and_the_entry_that_changed(tmp_path: Path) -> None:
    base, amendment = files(tmp_path)
    out = run("policy", "diff", base, amendment)
    assert ("规则 JX-R（第四条） 转诊 修改\n  未转诊：予以救助 是，比例增减（百分点） -10，"
            "可予倾斜救助 是，计入救助后续阶段 是 → 予以救助 是，比例增减（百分点） -20，"
            "可予倾斜救助 是，计入救助后续阶段 是\n") in out
    assert ("规则 JX-A1（第二条） 第2项（门诊特殊病种） 修改\n"
            "  救助对象：特困人员 → 特困人员、低保对象\n"
            "  就诊类型：门诊特殊病种 → 门诊特殊病种、罕见病用药\n"
            "  限额：住院救助年度限额 30000.00元 → 住院救助年度限额 40000.00元\n") in out
    for code in ("unreferred", "assistance", "tilt", "special_outpatient", "inpatient_cap",
                 "dibao"):
        assert code not in out, code
    assert "第1项" not in out  # the first entry did not change


def test_show_says_the_rounding_and_the_pools_of_one_visit(tmp_path: Path) -> None:
    base, _ = files(tmp_path)
    assert "舍入：按年度累计额四舍五入到分（各次之和等于全年）\n" in run("policy", "show", base)
    per_visit = tmp_path / "jiashi-2025.yaml"
    one_visit = "  JX-A1: {period: visit, label: 单次住院起付}"
    per_visit.write_text(CITY.replace("  JX-A1: {}", one_visit) + "rounding: per_visit\n",
                         encoding="utf-8")
    out = run("policy", "show", str(per_visit))
    assert "舍入：每次就诊的救助额各自四舍五入到分\n" in out
    assert "单次（每次就诊从零起算）的额度池：单次住院起付\n" in out
    yearly = tmp_path / "yearly.yaml"
    yearly.write_text(CITY.replace("  JX-A1: {}", "  JX-A1: {label: 单次住院起付}"),
                      encoding="utf-8")
    changed = run("policy", "diff", str(yearly), str(per_visit))
    assert "累计期间 每年，名称 单次住院起付 → 累计期间 每次就诊" in changed, changed
    assert "舍入：按年度累计额四舍五入到分 → 每次就诊各自四舍五入到分" in changed, changed
    assert "year" not in changed.split("\n", 2)[2] and "visit" not in changed, changed


def test_diff_shows_a_raised_cap_and_a_ceiling_without_a_field_it_does_not_read(
        tmp_path: Path) -> None:
    """A raise from 80,000 to 90,000 is a change an official must see; a fixed ceiling
    names no amount field (its `of` reads only a share)."""
    raised = CITY.replace("caps: [{pool: inpatient_cap, amount: 30000}]}\n  - {rule: JX-A1",
                          "caps: [{pool: inpatient_cap, amount: 30000, raised: {amount: 80000, "
                          "over: 20000, kinds: [inpatient]}}]}\n  - {rule: JX-A1", 1)
    (tmp_path / "jiashi-2025.yaml").write_text(raised.replace("  JX-A1: {}\n",
                                                              "  JX-A1: {}\n  JX-F: {}\n") + """\
stages:
  - {rule: JX-F, article: 第二条, label: 个人负担封顶, when: year_end, ceiling: {amount: 3000}}
""", encoding="utf-8")
    (tmp_path / "jiashi-2026.yaml").write_text("""\
amends: jiashi-2025
version: "2026"
in_force: 2026-01-01
lines:
  - rule: JX-A1
    match: {kinds: [inpatient]}
    caps: [{pool: inpatient_cap, amount: 30000, raised: {amount: 90000, over: 20000,
            kinds: [inpatient]}}]
stages:
  - {rule: JX-F, ceiling: {amount: 4000}}
""", encoding="utf-8")
    out = run("policy", "diff", str(tmp_path / "jiashi-2025.yaml"),
              str(tmp_path / "jiashi-2026.yaml"))
    assert ("限额：住院救助年度限额 30000.00元（单次就诊（住院）基数超过 20000.00元 后提高至 "
            "80000.00元） → 住院救助年度限额 30000.00元（单次就诊（住院）基数超过 20000.00元 后"
            "提高至 90000.00元）") in out
    assert "封顶：3000.00元 → 4000.00元" in out and "inscp_scp_amt" not in out
