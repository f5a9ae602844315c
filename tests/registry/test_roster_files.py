"""Rosters as offices send them: CSV in UTF-8 (with BOM) and GBK, XLSX with date cells."""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from registry_helpers import IDS, TODAY, make_id, with_wrong_check, write_csv, write_xlsx

from medaid.core.errors import InputError
from medaid.registry import cells, departments, files
from medaid.registry.categories import Categories
from medaid.registry.idcard import mask
from medaid.registry.roster import parse_records, parse_roster
from medaid.registry.types import Problem, RosterRow


def errors_by_row(roster_errors: tuple[object, ...]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for e in roster_errors:
        out.setdefault(e.row, []).append(f"{e.column}: {e.reason}")  # type: ignore[attr-defined]
    return out


GOOD = [
    ["1", "张三", IDS[0], "dibao", "2023-01-05", "", "秦淮区", "秦淮区民政局"],
    ["2", "李四", IDS[1], "最低生活保障对象", "2023/1/5", "", "玄武区", "民政"],
    ["3", "王五", IDS[2], "特困", "20230105", "2024-02-29", "秦淮区", "南京市民政局"],
    ["4", "赵六", IDS[3], "2305", "2022.12.31", "", "", "民政局"],  # 2305 → dibao_edge
]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk", "gb18030"])
def test_csv_in_each_encoding(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "roster.csv", GOOD, encoding)
    r = parse_roster(path, "nanjing", TODAY)
    assert r.errors == ()
    assert r.read == 4
    assert [x.category for x in r.rows] == ["dibao", "dibao", "tekun", "dibao_edge"]
    assert [x.row for x in r.rows] == [2, 3, 4, 5]  # the header is row 1
    assert {x.start for x in r.rows[:3]} == {date(2023, 1, 5)}
    assert r.rows[2].end == date(2024, 2, 29)
    assert r.rows[0] == RosterRow(2, IDS[0], "张三", "dibao", "民政", date(2023, 1, 5),
                                  district="秦淮区")
    assert r.rows[3].district is None


def test_gbk_csv_with_bad_rows_reports_each_with_its_row_number(tmp_path: Path) -> None:
    rows = [
        GOOD[0],                                                              # row 2
        ["2", "李四", with_wrong_check(IDS[1]), "低保", "2023-01-05", "", "", "民政"],  # 3
        ["3", "王五", IDS[2], "低保", "2023-02-30", "", "", "民政"],            # row 4
        ["4", "赵六", IDS[3], "五好家庭", "2023-01-05", "", "", "民政"],        # row 5
        ["5", "张三", IDS[0], "低保", "2023-01-05", "", "", "民政"],            # row 6: dup
        ["6", "", IDS[4], "低保", "", "", "", "民政"],                          # row 7
        ["7", "孙七", IDS[5], "低保", "2024-04-01", "", "", "民政"],            # row 8
        ["8", "周八", IDS[6], "低保", "2023-05-01", "2023-04-30", "", "民政"],  # row 9
        ["9", "吴九", IDS[7], "低保", "2023-05-01", "", "", "街道办"],          # row 10
    ]
    path = write_csv(tmp_path / "roster.csv", rows, "gbk")
    r = parse_roster(path, "nanjing", TODAY)
    bad = errors_by_row(r.errors)
    assert r.bad_rows == (3, 4, 5, 6, 7, 8, 9, 10)
    assert bad[3] == [f"身份证号: 校验位错误 / check digit should be {IDS[1][-1]}"]
    assert bad[4] == ["认定日期: 日期不存在：2023-02-30 / no such date: '2023-02-30'"]
    assert len(bad[5]) == 1 and bad[5][0].startswith("人员类别: 南京市无此人员类别：五好家庭")
    assert bad[6] == ["身份证号: 身份证号与第2行重复 / duplicate of row 2"]
    assert bad[7] == ["姓名: 姓名为空 / name is empty",
                      "认定日期: 认定日期为空 / recognition date is empty"]
    assert bad[8] == ["认定日期: 认定日期晚于今天 / recognition date 2024-04-01 is in the future"]
    assert bad[9][0].startswith("退出日期: 退出日期早于认定日期")
    assert bad[10][0].startswith("认定部门: 无法识别的认定部门：街道办")
    assert [x.row for x in r.rows] == [2]  # only the good row; the plan refuses anyway
    # The bad ID is reported masked: the row number finds it, logs never hold it.
    wrong = next(e for e in r.errors if e.row == 3)
    assert wrong.value == mask(with_wrong_check(IDS[1]))
    assert wrong.value.count("*") == 8


def test_xlsx_with_title_rows_date_cells_and_a_number_id(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        [1, "张三", IDS[0], "低保", datetime(2023, 1, 5), None, "秦淮区", "民政"],   # row 4
        [2, "李四", IDS[1], 2304, datetime(2023, 3, 1), datetime(2024, 1, 31), None, "民政"],
        [None, None, None, None, None, None, None, None],                         # row 6: blank
        [3, "王五", float(IDS[2][:17] + "0"), "低保", datetime(2023, 1, 5), None, None, "民政"],
        [4, "赵六", IDS[3], "低保", "2023-13-01", None, None, "民政"],             # row 8
        [5, "孙七", IDS[4], "低保", 20230105, None, None, "民政"],                 # row 9
    ]
    path = write_xlsx(tmp_path / "roster.xlsx", rows, title="2024年3月秦淮区低保花名册")
    r = parse_roster(path, "nanjing", TODAY)
    assert r.read == 5
    assert [(x.row, x.category, x.start, x.end) for x in r.rows] == [
        (4, "dibao", date(2023, 1, 5), None),
        (5, "tekun", date(2023, 3, 1), date(2024, 1, 31)),
        (9, "dibao", date(2023, 1, 5), None),
    ]
    bad = errors_by_row(r.errors)
    assert list(bad) == [7, 8]
    assert "stored as a number (digits lost)" in bad[7][0]
    assert "no such date" in bad[8][0]


def test_xlsx_header_in_row_one_and_english_headers(tmp_path: Path) -> None:
    header = ["name", "certno", "category", "from", "to", "department", "disability_grade",
              "application_date"]
    rows: list[list[object]] = [
        ["Zhang", IDS[0], "disabled_allowance", datetime(2023, 2, 1), None,
         "disabled_persons_federation", "二级", datetime(2023, 1, 20)],
    ]
    r = parse_roster(write_xlsx(tmp_path / "r.xlsx", rows, header=header), "ningbo", TODAY)
    assert r.errors == ()
    row = r.rows[0]
    assert (row.row, row.category, row.department, row.disability_grade, row.application) == (
        2, "disabled_allowance", "残联", 2, date(2023, 1, 20))


def test_department_for_the_whole_file(tmp_path: Path) -> None:
    header = ["姓名", "公民身份号码", "救助类别", "认定日期"]
    path = write_csv(tmp_path / "r.csv", [["张三", IDS[0], "优抚对象", "2023-01-05"]],
                     "utf-8-sig", header=header)
    missing = parse_roster(path, "nanjing", TODAY)
    assert "department is empty" in missing.errors[0].reason
    r = parse_roster(path, "nanjing", TODAY, department="秦淮区退役军人事务局")
    assert r.rows[0].department == "退役军人"
    assert r.rows[0].category == "youfu"


def test_title_line_above_a_csv_header_counts_as_a_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [GOOD[0], ["2", "李四", "123", "低保", "2023-01-05",
                                                     "", "", "民政"]],
                     "utf-8-sig", preamble=[["秦淮区低保花名册"], []])
    r = parse_roster(path, "nanjing", TODAY)
    assert [x.row for x in r.rows] == [4]
    assert r.bad_rows == (5,)


def test_tab_separated_text(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    path.write_text("姓名\t身份证号\t人员类别\t认定日期\t认定部门\n"
                    f"张三\t{IDS[0]}\t低保\t2023-01-05\t民政\n", encoding="utf-8")
    assert parse_roster(path, "nanjing", TODAY).rows[0].category == "dibao"


# -- file-level problems: one clear error, no rows -------------------------------------------


def test_missing_required_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [["张三", IDS[0], "低保"]], "utf-8",
                     header=["姓名", "身份证号", "人员类别"])
    with pytest.raises(InputError, match="缺少必需列：认定日期 / missing required columns: start"):
        parse_roster(path, "nanjing", TODAY)


def test_no_header_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [["a", "b"]], "utf-8", header=["x", "y"])
    with pytest.raises(InputError, match="找不到表头"):
        parse_roster(path, "nanjing", TODAY)


def test_two_columns_for_one_field(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [], "utf-8",
                     header=["姓名", "身份证号", "公民身份号码", "人员类别", "认定日期"])
    with pytest.raises(InputError, match="two columns mean certno"):
        parse_roster(path, "nanjing", TODAY)


def test_legacy_xls_and_broken_xlsx(tmp_path: Path) -> None:
    xls = tmp_path / "r.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(InputError, match=r"legacy \.xls"):
        parse_roster(xls, "nanjing", TODAY)
    broken = tmp_path / "r.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match="cannot read the workbook"):
        parse_roster(broken, "nanjing", TODAY)


def test_unknown_jurisdiction(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", GOOD, "utf-8")
    with pytest.raises(Exception, match="unknown jurisdiction"):
        parse_roster(path, "atlantis", TODAY)


# -- categories per jurisdiction, from the policy file -------------------------------------------


@pytest.mark.parametrize(("jurisdiction", "spelling", "category"), [
    ("nanjing", "dibao", "dibao"),
    ("nanjing", "DIBAO", "dibao"),
    ("nanjing", "最低生活保障对象", "dibao"),
    ("nanjing", "低保", "dibao"),
    ("nanjing", "低边", "dibao_edge"),
    ("nanjing", "低保边缘", "dibao_edge"),
    ("nanjing", "支出型", "zhichu_illness"),
    ("nanjing", "孤儿", "orphan"),
    ("nanjing", "2303", "dibao"),
    ("nanjing", "2304", "tekun"),
    ("ningbo", "孤儿", "tekun"),  # 特困供养人员（含散居孤儿）
    ("ningbo", "2 最低生活保障家庭成员（含困境儿童）", "dibao"),
    ("ningbo", "最低生活保障家庭成员", "dibao"),
    ("ningbo", "因病致贫", "yinbing"),
    ("ningbo", "2306", "yinbing"),
    ("yichun", "低保对象", "dibao"),
    ("yichun", "低保对象（二类）", "dibao"),
    ("yichun", "特困人员(一类)", "tekun"),
    ("changzhou", "特困职工", "tekun_worker_family"),
    ("nanjing", "特困职工", "tekun_worker"),
])
def test_category_spellings(jurisdiction: str, spelling: str, category: str) -> None:
    from medaid.policy.explain import find_policy
    assert Categories(find_policy(jurisdiction)).resolve(spelling) == category


@pytest.mark.parametrize(("jurisdiction", "spelling", "en"), [
    ("nanjing", "2306", "code 2306 names several categories here (zhichu_illness, linshi_illness)"),
    ("nanjing", "2360", "code 2360 names several categories"),
    ("nanjing", "2301", "no category of nanjing has psn_idet_type 2301"),
    ("nanjing", "返贫致贫", "unknown category '返贫致贫' for nanjing"),
    ("yichun", "优抚", "unknown category '优抚' for yichun"),
    ("yichun", "2305", "names several categories here (jiance, dibao_edge)"),
])
def test_category_refusals(jurisdiction: str, spelling: str, en: str) -> None:
    from medaid.policy.explain import find_policy
    with pytest.raises(Problem) as e:
        Categories(find_policy(jurisdiction)).resolve(spelling)
    assert en in e.value.en


# -- cells -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["2023-01-05", "2023/1/5", "20230105", "2023.1.5",
                                   "2023年1月5日", "2023-01-05 00:00:00", 20230105,
                                   datetime(2023, 1, 5), date(2023, 1, 5)])
def test_date_spellings(value: object) -> None:
    assert cells.parse_date(value) == date(2023, 1, 5)


@pytest.mark.parametrize("value", ["2023-1", "5/1/2023", "yesterday", "1899-12-31"])
def test_not_dates(value: str) -> None:
    with pytest.raises(Problem):
        cells.parse_date(value)


@pytest.mark.parametrize(("value", "grade"), [("1", 1), ("一级", 1), ("二级", 2), ("肢体二级", 2),
                                              (3, 3), ("", None)])
def test_disability_grades(value: object, grade: int | None) -> None:
    assert cells.parse_grade(value) == grade


@pytest.mark.parametrize(("raw", "name"), [
    ("秦淮区民政局", "民政"), ("宁波市退役军人事务局", "退役军人"), ("市总工会", "总工会"),
    ("区残疾人联合会", "残联"), ("残联", "残联"), ("公安分局", "公安"), ("卫生健康委员会", "卫健"),
    ("卫健委", "卫健"), ("乡村振兴局", "乡村振兴"), ("扶贫办", "乡村振兴"),
    ("civil_affairs", "民政"), ("Veterans Affairs", "退役军人"),
])
def test_departments(raw: str, name: str) -> None:
    assert departments.normalize(raw) == name


def test_records_from_an_api_body() -> None:
    r = parse_records([(1, {"name": "张三", "certno": make_id().lower(), "category": "2303",
                            "start": "2023-01-05", "department": "民政"}),
                       (2, {"name": "李四", "certno": "x", "category": "低保",
                            "start": "2023-01-05", "department": "民政"})],
                      "nanjing", TODAY)
    assert r.rows[0].certno == make_id()
    assert r.errors[0].row == 2 and r.errors[0].column == "身份证号"


def _declare_dimension(path: Path, ref: str) -> Path:
    """Rewrite the sheet's <dimension ref=…> tag, as a hand-edited or generated file has it."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(),
                          parts[sheet])
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def test_xlsx_rows_past_the_declared_dimension_are_read(tmp_path: Path) -> None:
    """A sheet that declares A1:H2 but holds four people: all four are read, none is
    reported as exited by their absence."""
    rows: list[list[object]] = [[i + 1, f"人{i}", IDS[i], "低保", datetime(2023, 1, 5), None,
                                 "秦淮区", "民政"] for i in range(4)]
    path = _declare_dimension(write_xlsx(tmp_path / "r.xlsx", rows), "A1:H2")
    r = parse_roster(path, "nanjing", TODAY)
    assert r.errors == ()
    assert [x.certno for x in r.rows] == IDS[:4]


def test_a_file_past_the_row_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    monkeypatch.setattr(files, "MAX_ROWS", 3)
    rows: list[list[object]] = [[i + 1, f"人{i}", IDS[i], "低保", datetime(2023, 1, 5), None,
                                 None, "民政"] for i in range(3)]
    for path in (write_xlsx(tmp_path / "r.xlsx", rows),
                 write_csv(tmp_path / "r.csv", [[str(c or "") for c in r] for r in rows],
                           "utf-8")):
        with pytest.raises(InputError, match="超过3行"):
            parse_roster(path, "nanjing", TODAY)


def test_an_oversized_worksheet_is_refused_before_it_is_read(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setattr(files, "MAX_SHEET_BYTES", 100)
    path = write_xlsx(tmp_path / "r.xlsx", [[1, "张三", IDS[0], "低保", None, None, None, None]])
    with pytest.raises(InputError, match="工作表超过"):
        parse_roster(path, "nanjing", TODAY)
