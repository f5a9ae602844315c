"""An amendment that names its notice (`notice: {file, title}`): the entries it gives cite
the notice's articles — in the trace, in `policy show`, in validate's check of the text —
while what it leaves unchanged goes on citing the base document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_policy_validate import CITY, TEXT, run

from medaid.core.errors import PolicyError
from medaid.policy import amend, model, references
from small_city import HEAD

NOTICE = """\
嘉医保发〔2026〕3号 关于提高医疗救助限额的通知
---
一、自2026年1月1日起，特困人员住院救助年度限额由3万元提高至4万元。
二、其他事项仍按原办法执行。
"""
AMENDMENT = """\
amends: jiashi-2025
version: "2026"
in_force: 2026-01-01
notice: {file: jiashi-notice-2026.txt, title: 嘉医保发〔2026〕3号 关于提高医疗救助限额的通知}
lines:
  - rule: JX-A1
    article: 一
    caps: [{pool: cap, amount: 40000}]
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.delenv(model.POLICY_DIR_ENV, raising=False)
    model.shipped.cache_clear()
    (tmp_path / "jiashi-2025.yaml").write_text(
        CITY.replace("    segments: [{ratio: 1.00}]\n",
                     "    segments: [{ratio: 1.00}]\n    caps: [{pool: cap, amount: 30000}]\n"),
        encoding="utf-8")
    (tmp_path / "jiashi-seed.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "jiashi-notice-2026.txt").write_text(NOTICE, encoding="utf-8")
    (tmp_path / "jiashi-2026.yaml").write_text(AMENDMENT, encoding="utf-8")
    yield tmp_path
    model.shipped.cache_clear()


def test_the_lines_a_notice_changes_cite_the_notice(folder: Path) -> None:
    """A stay of 50,000 in 2026 is paid within the notice's 40,000, and its trace cites
    《嘉医保发〔2026〕3号》一; the window, unchanged, still cites the 办法's 第三条."""
    policy = amend.load(folder / "jiashi-2026.yaml")
    (line,) = policy.lines
    assert line.citation == "嘉市《嘉医保发〔2026〕3号》一"
    assert line.source == "jiashi-notice-2026.txt 一"
    assert policy.reference_of(line.source) == line.citation
    case = folder / "case.json"
    case.write_text(json.dumps({
        "jurisdiction": "jiashi", "local": {"income": 50000},
        "person": {"id": "P", "identities": [{"category": "tekun", "from": "2025-01-01"}]},
        "visits": [{"id": "V1", "kind": "inpatient", "start": "2026-03-01", "end": "2026-03-05",
                    "medfee_sumamt": 50000, "fulamt_ownpay_amt": 0, "overlmt_selfpay": 0,
                    "preselfpay_amt": 0, "hifp_pay": 0, "hifmi_pay": 0}]}), encoding="utf-8")
    code, out, err = run("settle", str(case), "--policy-file", str(folder / "jiashi-2026.yaml"),
                         "--json")
    assert code == 0, err
    (visit,) = json.loads(out)["visits"]
    assert visit["maf_pay"] == 40000.0
    citations = {t["rule"]: t["citation"] for t in visit["trace"]}
    assert citations["JX-A1"] == "嘉市《嘉医保发〔2026〕3号》一"
    assert citations["JX-W"] == "嘉市《嘉市医疗救助实施办法》第三条"


def test_policy_show_quotes_the_notice_and_validate_checks_its_articles(folder: Path) -> None:
    code, out, err = run("policy", "show", str(folder / "jiashi-2026.yaml"), "--rule", "JX-A1")
    assert code == 0, err
    assert "嘉市《嘉医保发〔2026〕3号》一" in out and "由3万元提高至4万元" in out
    code, out, err = run("policy", "validate", str(folder / "jiashi-2026.yaml"))
    assert code == 0 and out.startswith("ok: ") and err == "", err
    (folder / "jiashi-2026.yaml").write_text(AMENDMENT.replace("article: 一", "article: 五"),
                                             encoding="utf-8")
    code, _, err = run("policy", "validate", str(folder / "jiashi-2026.yaml"))
    assert code == 2 and "lines[0].article" in err and "五" in err
    (folder / "jiashi-notice-2026.txt").unlink()
    code, _, err = run("policy", "validate", str(folder / "jiashi-2026.yaml"))
    assert code == 0 and err.startswith(f"warning: {folder / 'jiashi-2026.yaml'}:4: notices[0]."
                                        "file: jiashi-notice-2026.txt：找不到政策文件的文本")


def test_an_entry_the_notice_changes_names_the_notices_article(folder: Path) -> None:
    """Without its article it would go on citing the base's 第二条 for the notice's cap."""
    with pytest.raises(PolicyError, match="依修订通知修改的条目须写明其在通知中的条款"):
        amend.parse(AMENDMENT.replace("    article: 一\n", ""), str(folder / "a.yaml"), folder)
    with pytest.raises(PolicyError, match=r"notice: 应为修订通知的文本文件和标题"):
        amend.parse(AMENDMENT.replace("notice: {file: jiashi-notice-2026.txt, ",
                                      "notice: {"), str(folder / "a.yaml"), folder)
    with pytest.raises(PolicyError, match="不是本文件所列的修订通知"):
        model.parse_policy(CITY.replace("    article: 第二条\n",
                                        "    article: 第二条\n    document: other.txt\n"),
                           "jiashi-2025.yaml")


def test_a_pool_limit_the_notice_raises_cites_the_notice(folder: Path) -> None:
    """The base sets the pool's limit in its 第二条; the notice raises it in its 一: the
    pool's label names the notice's article, checked in the notice's text; a raise that
    gives no article would go on citing 第二条 for the new amount, and is refused."""
    base = folder / "jiashi-2025.yaml"
    base.write_text(base.read_text(encoding="utf-8").replace(
        "caps: [{pool: cap, amount: 30000}]", "caps: [{pool: cap}]")
        + "pools:\n  JX-A1: {}\n  cap: {label: 年度救助限额, article: 第二条, amount: 30000}\n",
        encoding="utf-8")
    amendment = folder / "jiashi-2026.yaml"
    amendment.write_text(AMENDMENT.split("lines:\n")[0] + "pools:\n  cap: {article: 一, "
                         "amount: 40000}\n", encoding="utf-8")
    policy = amend.load(amendment)
    assert policy.pool_labels["cap"] == "年度救助限额（嘉市《嘉医保发〔2026〕3号》一）"
    assert (["pools", "cap", "article"], "一", "jiashi-notice-2026.txt") in references.cited(
        policy.spec)
    assert run("policy", "validate", str(amendment))[0] == 0
    amendment.write_text(AMENDMENT.split("lines:\n")[0] + "pools:\n  cap: {amount: 40000}\n",
                         encoding="utf-8")
    with pytest.raises(PolicyError, match=r"pools\.cap\.article: 依修订通知修改的限额须写明"):
        amend.load(amendment)


GRACE_NOTICE = """\
嘉医保发〔2026〕5号 关于医疗救助渐退期和倾斜救助的通知
---
一、特困人员退出后给予6个月渐退期。
二、住院费用经救助后个人负担仍超过5000元的部分，按60%给予倾斜救助。
"""
GRACE_AMENDMENT = """\
amends: jiashi-2025
version: "2026b"
in_force: 2026-03-01
notice:
  file: jiashi-notice-2026b.txt
  title: 嘉医保发〔2026〕5号 关于医疗救助渐退期和倾斜救助的通知
windows:
  grace: [{rule: JX-W, article: 一, categories: [tekun], months: 6}]
tilted:
  rule: JX-T
  article: 二
  base: remainder
  kinds: [inpatient]
  pool: tilted
  deductible: 5000
  segments: [{ratio: 0.60}]
"""


def test_a_grace_period_and_tilted_assistance_a_notice_adds_cite_the_notice(folder: Path
                                                                           ) -> None:
    """The notice adds a 渐退期 to the base's window and tilted assistance the base lacks:
    both cite the notice's articles (validate finds them in its text), while the window's
    own 第三条 still cites the base."""
    (folder / "jiashi-notice-2026b.txt").write_text(GRACE_NOTICE, encoding="utf-8")
    (folder / "jiashi-2026b.yaml").write_text(GRACE_AMENDMENT, encoding="utf-8")
    policy = amend.load(folder / "jiashi-2026b.yaml")
    cited = {tuple(steps): (article, document)
             for steps, article, document in references.cited(policy.spec)}
    notice = "jiashi-notice-2026b.txt"
    assert cited[("windows", "grace", 0, "article")] == ("一", notice)
    assert cited[("tilted", "article")] == ("二", notice)
    assert cited[("windows", "article")] == ("第三条", None)
    code, out, err = run("policy", "validate", str(folder / "jiashi-2026b.yaml"))
    assert code == 0 and out.startswith("ok: ") and err == "", err



def test_an_amendment_in_force_before_the_version_it_amends_is_refused(folder: Path) -> None:
    """自2024年12月1日起 amending the version of 1 January 2025: it would be replaced the
    day that version begins, its changes never applied."""
    early = AMENDMENT.replace("in_force: 2026-01-01", "in_force: 2024-12-01")
    with pytest.raises(PolicyError, match=r"in_force: 2024-12-01 早于所修订的版本（jiashi-2025，"
                                          r"2025-01-01 起施行）"):
        amend.parse(early, str(folder / "jiashi-2026.yaml"), folder)


TILTED_BASE = """\
tilted:
  rule: JX-T
  article: 第二条
  base: remainder
  pool: tilted
  deductible: 5000
  segments: [{ratio: 0.50}]
  by_category:
    - {categories: [tekun], article: 第四条, segments: [{ratio: 0.70}]}
"""
TILTED_NOTICE = "嘉医保发〔2026〕5号 通知\n---\n一、倾斜救助起付线降为3000元。\n二、其他不变。\n"


@pytest.mark.parametrize(("change", "tilted_at", "values_at"), [
    ("tilted: {article: 一, deductible: 3000}\n",
     ("一", "notice.txt"), ("第四条", "jiashi-seed.txt")),
    ("tilted:\n  by_category:\n    - {categories: [tekun], article: 一, "
     "segments: [{ratio: 0.80}]}\n", ("第二条", None), ("一", "notice.txt")),
])
def test_a_notice_changing_tilted_assistance_or_a_categorys_values_cites_each_in_its_text(
        folder: Path, change: str, tilted_at: tuple[str, str | None],
        values_at: tuple[str, str | None]) -> None:
    """The notice lowers tilted assistance's deductible (its 一): the 特困 values the base
    states in its 第四条 still cite the base; or it changes only the 特困 values: those cite
    the notice, tilted assistance the base's 第二条. Validate finds each in its text."""
    (folder / "jiashi-2025.yaml").write_text(CITY + TILTED_BASE, encoding="utf-8")
    (folder / "notice.txt").write_text(TILTED_NOTICE, encoding="utf-8")
    (folder / "jiashi-2026.yaml").write_text(
        "amends: jiashi-2025\nversion: \"2026\"\nin_force: 2026-01-01\n"
        "notice: {file: notice.txt, title: 嘉医保发〔2026〕5号 通知}\n" + change,
        encoding="utf-8")
    policy = amend.load(folder / "jiashi-2026.yaml")
    cited = {tuple(steps): (article, document)
             for steps, article, document in references.cited(policy.spec)}
    assert cited[("tilted", "article")] == tilted_at
    assert cited[("tilted", "by_category", 0, "article")] == values_at
    code, out, err = run("policy", "validate", str(folder / "jiashi-2026.yaml"))
    assert code == 0 and out.startswith("ok: "), err


STAGE_CITY = HEAD + """\
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*", segments: [{ratio: 0.5}]}
stages:
  - rule: S1
    article: 第九条
    label: 一次性补助
    grant: 300
    deductible: 1000
    by_category:
      - {categories: [tekun], grant: 800}
      - {categories: [other], article: 第十条, grant: 400}
"""
STAGE_TEXTS = {
    "city.txt": "第三条 窗。\n第五条 救助。\n第九条 补助300元，特困人员800元。\n"
                "第十条 其他400元。\n",
    "notice.txt": "某医保发〔2025〕1号 通知\n---\n一、一次性补助提高到500元。\n",
    "notice2.txt": "某医保发〔2026〕1号 通知\n---\n一、x\n二、起付2000元。\n",
    "city2027.txt": "第三条 窗。\n第五条 救助。\n第九条 补助。\n"}
STAGE_CHAIN = {
    "city-2025.yaml": "amends: city-2024\nversion: \"2025\"\nin_force: 2025-01-01\n"
                      "notice: {file: notice.txt, title: 某医保发〔2025〕1号 通知}\n"
                      "stages:\n  - {rule: S1, article: 一, grant: 500}\n",
    "city-2026.yaml": "amends: city-2025\nversion: \"2026\"\nin_force: 2026-01-01\n"
                      "notice: {file: notice2.txt, title: 某医保发〔2026〕1号 通知}\n"
                      "stages:\n  - {rule: S1, article: 二, deductible: 2000}\n",
    "city-2027.yaml": "amends: city-2026\nversion: \"2027\"\nin_force: 2027-01-01\n"
                      "document: {file: city2027.txt, title: 某市医疗救助办法（2027年修订）}\n"}


def test_a_chain_of_notices_and_a_new_text_keep_each_values_article_where_it_is(
        folder: Path) -> None:
    """Notices change a stage twice, then a new 办法 replaces the old: the 其他 value's
    第十条 stays the old 办法's (it is not in the new one), each version validates, and
    `policy diff` does not call the unchanged values a change."""
    (folder / "city-2024.yaml").write_text(STAGE_CITY, encoding="utf-8")
    for name, text in {**STAGE_TEXTS, **STAGE_CHAIN}.items():
        (folder / name).write_text(text, encoding="utf-8")
    for name in STAGE_CHAIN:
        code, out, err = run("policy", "validate", str(folder / name))
        assert code == 0 and out.startswith("ok: "), (name, err)
    latest = amend.load(folder / "city-2027.yaml")
    cited = {tuple(steps): (article, document)
             for steps, article, document in references.cited(latest.spec)}
    assert cited[("stages", 0, "by_category", 1, "article")] == ("第十条", "city.txt")
    code, out, _ = run("policy", "diff", str(folder / "city-2024.yaml"),
                       str(folder / "city-2025.yaml"))
    assert code == 0 and "分身份取值" not in out, out


def test_a_notice_changing_only_a_categorys_values_keeps_the_stages_article(
        folder: Path) -> None:
    (folder / "city-2024.yaml").write_text(STAGE_CITY, encoding="utf-8")
    for name, text in STAGE_TEXTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "city-2025.yaml").write_text(
        "amends: city-2024\nversion: \"2025\"\nin_force: 2025-01-01\n"
        "notice: {file: notice.txt, title: 某医保发〔2025〕1号 通知}\n"
        "stages:\n  - rule: S1\n    by_category: [{categories: [tekun], article: 一, grant: 500},"
        " {categories: [other], article: 第十条, document: city.txt, grant: 400}]\n",
        encoding="utf-8")
    policy = amend.load(folder / "city-2025.yaml")
    cited = {tuple(steps): (article, document)
             for steps, article, document in references.cited(policy.spec)}
    assert cited[("stages", 0, "article")] == ("第九条", None)
    assert cited[("stages", 0, "by_category", 0, "article")] == ("一", "notice.txt")
    assert cited[("stages", 0, "by_category", 1, "article")] == ("第十条", "city.txt")
    code, out, err = run("policy", "validate", str(folder / "city-2025.yaml"))
    assert code == 0 and out.startswith("ok: "), err


def test_a_categorys_values_name_their_text_only_with_their_article() -> None:
    with pytest.raises(PolicyError, match="document 是其条款所在的文本，须与 article 一起写"):
        model.parse_policy(STAGE_CITY.replace("{categories: [tekun], grant: 800}",
                                              "{categories: [tekun], document: x.txt, "
                                              "grant: 800}"), "city.yaml")
    with pytest.raises(PolicyError, match="kinds"):
        model.parse_policy(STAGE_CITY.replace(
            "stay_rule: true}", "stay_rule: true, lookback: [{rule: W, article: 第三条, "
            "categories: [tekun], months: 3, kinds: []}]}"), "city.yaml")
