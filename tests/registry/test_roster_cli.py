"""`medaid roster check FILE --jurisdiction J`: bad rows by number, exit 2 when any."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from registry_helpers import IDS, with_wrong_check, write_csv, write_xlsx
from typer.testing import CliRunner

from medaid.cli.main import app

runner = CliRunner()


def check(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, ["roster", "check", *args, "--today", "2024-03-15"])
    return r.exit_code, r.stdout, r.stderr


def test_a_good_roster(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        [1, "张三", IDS[0], "低保", datetime(2023, 1, 5), None, "秦淮区", "秦淮区民政局"],
        [2, "李四", IDS[1], "特困", datetime(2023, 1, 5), None, "秦淮区", "秦淮区民政局"],
        [3, "王五", IDS[2], "低保", datetime(2023, 1, 5), None, "秦淮区", "秦淮区民政局"],
    ]
    code, out, err = check(str(write_xlsx(tmp_path / "r.xlsx", rows)), "--jurisdiction",
                           "nanjing")
    assert (code, err) == (0, "")
    assert "r.xlsx（南京市）: 读取 3 行 rows read, 3 行正确 good, 0 行有误 bad" in out
    assert "类别 categories: 最低生活保障对象 2, 特困人员 1" in out
    assert "部门 departments: 民政 3" in out


def test_bad_rows_are_listed_and_exit_2(tmp_path: Path) -> None:
    rows = [["1", "张三", IDS[0], "低保", "2023-01-05", "", "", ""],
            ["2", "李四", with_wrong_check(IDS[1]), "低保", "2023-01-05", "", "", ""],
            ["3", "王五", IDS[2], "低保", "2023-01-32", "", "", ""]]
    path = write_csv(tmp_path / "r.csv", rows, "gbk")
    code, out, _ = check(str(path), "-j", "nanjing", "--department", "民政")
    assert code == 2
    assert "有问题的行 2 / bad rows:" in out
    assert f"第3行 row 3 [身份证号] '{IDS[1][:6]}********" in out
    assert f"校验位错误 / check digit should be {IDS[1][-1]}" in out
    assert "第4行 row 4 [认定日期] '2023-01-32': 日期不存在" in out
    assert "读取 3 行 rows read, 1 行正确 good, 2 行有误 bad" in out
    assert IDS[1][6:14] not in out  # the bad number never printed whole


def test_file_level_errors_are_one_line(tmp_path: Path) -> None:
    code, out, err = check(str(tmp_path / "missing.csv"), "-j", "nanjing")
    assert code == 2 and out == ""
    assert err.startswith("error: missing.csv: 无法读取文件 / cannot read")
    code, _, err = check(str(tmp_path / "missing.csv"), "-j", "atlantis")
    assert code == 2 and "error:" in err
    r = runner.invoke(app, ["roster", "check", "x.csv", "-j", "nanjing", "--today", "2024-13-01"])
    assert r.exit_code == 2 and "expected YYYY-MM-DD" in r.stderr
