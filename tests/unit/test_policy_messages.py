"""What an official writing a policy file reads: YAML and schema errors Chinese first, and
the wording of one year-end stage over one visit."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_policy_constructs import PERSON, stay
from typer.testing import CliRunner

from medaid.cli.main import app
from medaid.engine.settle import settle_year
from medaid.policy.model import Policy
from small_city import HEAD, city

runner = CliRunner()


def validate(tmp_path: Path, text: str) -> str:
    f = tmp_path / "city.yaml"
    f.write_text(text, encoding="utf-8")
    r = runner.invoke(app, ["policy", "validate", str(f)])
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr.startswith(f"error: {f}")
    return r.stderr.removeprefix(f"error: {f}")


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    assert validate(tmp_path, "- a\n- b\n") == (": 政策文件应为键值映射（jurisdiction: …、"
                                                 "lines: … 等） / a policy file is a mapping\n")


def test_a_tab_in_the_indentation(tmp_path: Path) -> None:
    assert validate(tmp_path, "jurisdiction: x\n\tname: y\n") == (
        ":2: 不是有效的 YAML：缩进含有制表符（Tab），YAML 只能用空格缩进 / not valid YAML: found "
        "character '\\t' that cannot start any token\n")


def test_a_null_among_choices_is_said_as_such(tmp_path: Path) -> None:
    body = HEAD + """\
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*", hospital_levels: [~],
     segments: [{ratio: 0.5}]}
"""
    message = validate(tmp_path, body)
    assert "hospital_levels[0]: 取值「空值（null）」无效，应为：" in message
    assert "1、2、3 / " in message  # pydantic's "1, 2 or 3" as a Chinese list
    assert "None" not in message.partition(" / ")[0]


def test_a_first_segment_bound_must_be_above_0(tmp_path: Path) -> None:
    body = HEAD + """\
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*",
     segments: [{upto: 0, ratio: 0.5}, {ratio: 0.4}]}
"""
    message = validate(tmp_path, body)
    assert "lines[0].segments: 第一段的上限（upto）须大于 0，不能是 0 / " in message
    rising = body.replace("upto: 0", "upto: 500").replace("{ratio: 0.4}",
                                                           "{upto: 400, ratio: 0.4}, {ratio: 0.3}")
    assert "分段上限须逐段升高：400 不高于前一段的 500" in validate(tmp_path, rising)


def year_end_grant(deductible: int) -> Policy:
    """A line at 50% and a grant of 2,000 once the year's out-of-pocket passes `deductible`."""
    return city(f"""\
lines:
  - {{rule: A1, article: 第五条, categories: "*", kinds: "*", segments: [{{ratio: 0.5}}]}}
stages:
  - {{rule: G1, article: 第十条, label: 年度一次性补助, when: year_end, base: out_of_pocket,
     deductible: {deductible}, grant: 2000}}
""")


@pytest.mark.parametrize(("days", "zh", "en"), [((1,), "1次就诊", "1 visit"),
                                               ((1, 5), "2次就诊", "2 visits")])
def test_a_year_end_stage_counts_its_visits(days: tuple[int, ...], zh: str, en: str) -> None:
    stays = [stay(f"V{d}", d, 1_000_000) for d in days]
    (grant,) = settle_year([year_end_grant(1000)], {}, PERSON, stays).year_end
    assert f"（年终，{zh}，" in grant.trace[0].text
    assert f"(year end, {en}, as " in grant.trace[0].detail


def test_a_grant_not_reached_says_so() -> None:
    """超过20,000元给予一次性补助 reads 未超过…，不予一次性补助 where the year stays at it."""
    policy = year_end_grant(5000)
    (grant,) = settle_year([policy], {}, PERSON, [stay("V1", 1, 1_000_000)]).year_end
    assert grant.amount == 0
    assert "个人负担5,000.00元，未超过5,000.00元，不予一次性补助" in grant.trace[0].text
