"""Articles of the seed policy documents, by the references policy rules cite."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from medaid.policy.articles import ArticleNotFound, article_text, seed_text

NANJING = "000_a8d7d8e3c7e8d865.txt"
JIANGSU = "001_d3c6a34c97c545f3.txt"
YICHUN = "002_6a683430150b9286.txt"
NINGBO = "003_7a5b22609c886ac1.txt"
CHANGZHOU = "004_ce34ab08bb0ffba6.txt"
SUQIAN = "006_275884ea8ebb1b52.txt"
ZICHUAN = "007_6601bf0c5d0b1b43.txt"

CITED: dict[str, list[str]] = {
    NANJING: [
        "（二）",
        "（三）",
        "（四）",
        "（五）",
        "（六）",
        "（七）",
        "（十一）",
        "（十五）",
        "（十六）",
    ],
    JIANGSU: ["二（三）", "三（一）", "三（二）", "三（二）2", "四（二）"],
    YICHUN: [
        "第五条",
        "第七条",
        "第十条",
        "第十条 1",
        "第十条 2、3",
        "第十条 4",
        "第十一条",
        "第十八条",
        "第二十条",
    ],
    NINGBO: [
        "三（一）",
        "三（二）",
        "三（二）1",
        "三（二）2",
        "三（二）1、2",
        "三（二）3(1)",
        "3(2)",
        "三（二）3(2)",
        "三（二）3(4)",
        "五（二）",
    ],
    CHANGZHOU: ["（二）", "（三）", "（六）", "（七）", "（八）"],
    SUQIAN: ["(一)", "(二)", "(三)", "第1段", "第5段"],
    ZICHUAN: ["第1段", "第2段"],
}


def cited() -> list[tuple[str, str]]:
    return [(doc, ref) for doc, refs in CITED.items() for ref in refs]


# --- seed_text ----------------------------------------------------------------------------


def test_seed_text_is_the_file_verbatim_and_cached() -> None:
    raw = resources.files("medaid.seeds").joinpath(NANJING).read_bytes().decode("utf-8")
    assert seed_text(NANJING) == raw
    assert seed_text(NANJING) is seed_text(NANJING)
    assert "宁政办发〔2023〕1号" in seed_text(NANJING)


@pytest.mark.parametrize("name", ["nope.txt", "../articles.py", ""])
def test_seed_text_unknown_document(name: str) -> None:
    with pytest.raises(FileNotFoundError):
        seed_text(name)


# --- every cited reference ----------------------------------------------------------------


@pytest.mark.parametrize(("doc", "ref"), cited())
def test_every_cited_reference_resolves_to_clean_text(doc: str, ref: str) -> None:
    text = article_text(doc, ref)
    assert len(text) > 20
    assert "#" not in text
    assert "**" not in text
    assert "  " not in text
    assert "\n\n" not in text
    assert not any(line.startswith("- ") or line != line.strip() for line in text.split("\n"))


# --- Nanjing: numbered paragraphs, half-width parens, page breaks ----------------------------


def test_nanjing_4_spans_paragraphs_up_to_5() -> None:
    text = article_text(NANJING, "（四）")
    assert text.startswith("(四) 分类设定救助标准。")
    assert "100% 救助" in text
    assert "年度累计不超过 1" in text
    assert "年度累计不超过 20 万元" in text
    assert "起付标准为本市上年居民人均可支配收入的 10%" in text  # after the page break
    assert "（五）" not in text
    assert "(五)" not in text
    assert "倾斜政策" not in text


def test_nanjing_lines_broken_mid_sentence_are_joined() -> None:
    four = article_text(NANJING, "（四）")
    assert "之外的困境儿童、享受民政部门" in four
    assert "困境\n" not in four
    seven = article_text(NANJING, "（七）")
    assert "医疗救助对象具有多重身份的" in seven
    assert "\n" not in seven


def test_nanjing_half_and_full_width_references_agree() -> None:
    assert article_text(NANJING, "(二)") == article_text(NANJING, "（二）")
    assert article_text(NANJING, "（二）").startswith("(二) 确保困难群众应保尽保。")
    assert "80% 给予定额资助参保" in article_text(NANJING, "（二）")


def test_nanjing_paragraphs_are_numbered_across_sections() -> None:
    assert article_text(NANJING, "（五）").startswith("（五）落实大病保险和医疗救助倾斜政策。")
    assert "2 万元以上部分按 60%的比例救助" in article_text(NANJING, "（五）")
    assert "10%以内" in article_text(NANJING, "（六）")
    assert "救助比例降低20个百分点" in article_text(NANJING, "（十一）")
    assert "五、强化组织保障" not in article_text(NANJING, "（十一）")
    assert "清算资金超支部分由各区于当年 6 月底前补足" in article_text(NANJING, "（十五）")
    assert "双预警机制" in article_text(NANJING, "（十六）")
    assert "（十七）" not in article_text(NANJING, "（十六）")
    assert article_text(NANJING, "三（四）") == article_text(NANJING, "（四）")


# --- Jiangsu: section → paragraph → item ------------------------------------------------------


def test_jiangsu_item_runs_to_the_next_section() -> None:
    text = article_text(JIANGSU, "三（二）2")
    assert text.startswith("2．合理确定医疗费用补助标准。")
    assert "70%以上" in text
    assert "封顶线的50%以上" in text
    assert "四、规范救助资金结算程序" not in text
    assert "1．明确医疗费用补助范围" not in text
    assert article_text(JIANGSU, "三(二)2.") == text
    assert article_text(JIANGSU, "三、（二）2") == text


def test_jiangsu_paragraphs_are_numbered_per_section() -> None:
    subsidy = article_text(JIANGSU, "三（二）")
    assert subsidy.startswith("（二）规范医疗费用补助。")
    assert "1．明确医疗费用补助范围" in subsidy
    assert "70%以上" in subsidy
    assert "全面资助参保参合" in article_text(JIANGSU, "三（一）")
    special = article_text(JIANGSU, "二（三）")
    assert special.startswith("（三）特殊情形。")
    assert "原则上次月起不再享受医疗救助待遇" in special
    assert "县级以上地方人民政府确定" in special
    assert "三、科学确定救助方式和标准" not in special
    settle = article_text(JIANGSU, "四（二）")
    assert "由医疗机构直接扣减医疗救助费用" in settle
    assert "事后救助费用结算" not in settle  # the next paragraph starts on the very next line


def test_jiangsu_bare_paragraph_is_ambiguous() -> None:
    with pytest.raises(ArticleNotFound, match="ambiguous"):
        article_text(JIANGSU, "（二）")


# --- Yichun: chapters, articles, items ----------------------------------------------------------


def test_yichun_articles() -> None:
    assert article_text(YICHUN, "第五条").startswith("第五条 确保困难群众应保尽保。")
    assert "对低保对象给予定额资助" in article_text(YICHUN, "第五条")
    assert "倾斜支付政策" in article_text(YICHUN, "第七条")
    assert "第八条" not in article_text(YICHUN, "第七条")
    assert "双预警机制" in article_text(YICHUN, "第十一条")
    assert "就诊率不低于90%" in article_text(YICHUN, "第十八条")
    assert "7个工作日内" in article_text(YICHUN, "第二十条")
    assert "第二十一条" not in article_text(YICHUN, "第二十条")


def test_yichun_article_10_and_its_items() -> None:
    whole = article_text(YICHUN, "第十条")
    assert whole.startswith("第十条 合理确定基本救助水平。")
    assert "按75%予以救助，年度最高支付限额5万元" in whole
    assert "第五章" not in whole
    assert "第十一条" not in whole

    one = article_text(YICHUN, "第十条 1")
    assert one.startswith("1. 普通门诊救助。")
    assert "按100%予以救助" in one
    assert "门诊特殊慢性病" not in one

    four = article_text(YICHUN, "第十条 4")
    assert four.startswith("4 .倾斜救助。")
    assert "倾斜救助起付标准为1万元" in four
    assert "救助比例为60%，年度救助限额1万元" in four
    assert "第五章" not in four
    assert article_text(YICHUN, "第十条4") == four


def test_yichun_composite_reference_joins_the_items() -> None:
    text = article_text(YICHUN, "第十条 2、3")
    two, three = article_text(YICHUN, "第十条 2"), article_text(YICHUN, "第十条 3")
    assert text == two + "\n" + three
    assert text.startswith("2. 门诊特殊慢性病救助及重特大疾病门诊医疗救助。")
    assert "年度救助限额2万元" in text
    assert "倾斜救助" not in text
    assert "普通门诊救助" not in text


# --- Ningbo: bullets, half-width parens, sub-items ------------------------------------------------


def test_ningbo_paragraphs_with_titles() -> None:
    insured = article_text(NINGBO, "三（一）")
    assert insured.startswith("(一) 资助参保\n")
    assert "第3类对象的个人缴费部分按不低于50%比例补助" in insured
    assert "医疗费用救助" not in insured
    costs = article_text(NINGBO, "三（二）")
    assert "其他补充医疗保险补偿后的个人自负" in costs  # joined across the page break
    assert "80000 元" in costs
    assert "900 元" in costs
    assert "四、健全医疗救助机制" not in costs
    work = article_text(NINGBO, "五（二）")
    assert work.startswith("（二）抓好工作落实\n")
    assert "医疗救助政策落实率达到 100%" in work
    assert "强化队伍建设" not in work


def test_ningbo_items_and_sub_items() -> None:
    one = article_text(NINGBO, "三（二）1")
    assert one.startswith("1. 住院救助标准\n")
    assert "年度救助封顶线为 80000 元" in one
    assert "门诊救助标准" not in one
    two = article_text(NINGBO, "三（二）2")
    assert "全年累计救助不超过 500 元" in two
    assert "I 型糖尿病" in two  # joined across the page break
    assert "其他对象救助标准" not in two
    assert article_text(NINGBO, "三（二）1、2") == one + "\n" + two

    birth = article_text(NINGBO, "三（二）3(1)")
    assert birth.startswith("(1) 享受最低生活保障待遇")
    assert "900" in birth
    assert "3000" not in birth
    rehab = article_text(NINGBO, "三（二）3(2)")
    assert "全年累计救助不超过 3000 元" in rehab
    assert article_text(NINGBO, "3(2)") == rehab
    assert article_text(NINGBO, "三（二）3（2）") == rehab
    rare = article_text(NINGBO, "三（二）3(4)")
    assert "罕见病特殊药品费用" in rare
    assert "全额解决" in rare
    assert "四、健全医疗救助机制" not in rare


def test_ningbo_bulleted_paragraphs() -> None:
    assert article_text(NINGBO, "二（一）") == "（一）特困供养人员（含散居孤儿）；"
    assert article_text(NINGBO, "二（十一）") == "(十一) 县级以上人民政府确认的其他特殊困难人员。"


# --- Changzhou: hard line breaks, paragraphs numbered across sections ----------------------------


def test_changzhou_paragraphs_are_joined_and_bounded() -> None:
    six = article_text(CHANGZHOU, "（六）")
    assert six.startswith("（六）稳步提高医疗救助水平。对救助对象不设年度救助起付标准，")
    assert "20万元" in six
    assert "普通门诊救助限额提高至1万元" in six
    assert "提高至100%比例救助，对其他救助对象给予80%比例救助" in six
    assert "\n" not in six
    assert "另行制定" not in six
    assert "（七）" not in six
    seven = article_text(CHANGZHOU, "（七）")
    assert "另行制定" in seven
    assert "10%以内" in seven
    assert "五、健全" not in seven
    assert "全额承担" in article_text(CHANGZHOU, "（二）")
    assert "提高10个百分点" in article_text(CHANGZHOU, "（三）")
    assert "双预警机制" in article_text(CHANGZHOU, "（八）")
    assert article_text(CHANGZHOU, "四（六）") == six


# --- not found ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "ref"),
    [
        (NANJING, "（十九）"),
        (NANJING, "三（八）"),
        (JIANGSU, "三（二）3"),
        (YICHUN, "第二十五条"),
        (YICHUN, "第十条 5"),
        (YICHUN, "第十条 4、5"),
        (NINGBO, "三（二）3(5)"),
        (CHANGZHOU, "（十八）"),
        (CHANGZHOU, "no such article"),
        (CHANGZHOU, ""),
        (ZICHUAN, "第3段"),
        (ZICHUAN, "第0段"),
    ],
)
def test_unknown_article_raises(doc: str, ref: str) -> None:
    with pytest.raises(ArticleNotFound) as info:
        article_text(doc, ref)
    assert doc in str(info.value)
    assert repr(ref) in str(info.value)


def test_unnumbered_paragraphs_are_cited_by_position_after_the_header() -> None:
    # the header above the first `---` rule (title, source, note) is not counted
    assert article_text(ZICHUAN, "第1段").startswith("对特困人员、低保对象及返贫致贫人口")
    assert article_text(ZICHUAN, "第二段").startswith("对经认定符合刚性支出困难家庭大病患者")
    assert article_text(ZICHUAN, "第2段").endswith("年度救助限额为2万元。")
    # numbered paragraphs and positions name the same text in a numbered page
    assert article_text(SUQIAN, "第2段") == article_text(SUQIAN, "（一）")
    assert article_text(SUQIAN, "第5段").startswith("以上医疗救助对象")


def test_unknown_document_raises_article_not_found() -> None:
    with pytest.raises(ArticleNotFound, match=r"nope\.txt"):
        article_text("nope.txt", "（二）")
    assert issubclass(ArticleNotFound, LookupError)


def test_a_section_title_may_start_with_a_numeral(tmp_path: Path) -> None:
    """一、一般规定 and 二、二次救助 are sections; 一、二级残疾人… starting a sentence is not."""
    (tmp_path / "city.txt").write_text(
        "某县医疗救助办法\n---\n一、一般规定\n（一）特困人员按100%救助。\n二、二次救助\n"
        "对救助后个人负担仍较重的按50%再救助。\n一、二级残疾人按60%再救助。\n",
        encoding="utf-8")
    assert article_text("city.txt", "一（一）", [tmp_path]) == "（一）特困人员按100%救助。"
    assert article_text("city.txt", "二", [tmp_path]).splitlines() == [
        "二、二次救助", "对救助后个人负担仍较重的按50%再救助。", "一、二级残疾人按60%再救助。"]
