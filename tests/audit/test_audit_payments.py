"""`medaid audit-payments`: a year of the platform's settlements settled again and compared,
from CSV (UTF-8, GBK), XLSX and Parquet exports."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from audit_helpers import (
    GULOU,
    A,
    chinese_header,
    nanjing_year,
    stay,
    write_csv,
    write_parquet,
    write_roster,
    write_xlsx,
)
from openpyxl import load_workbook
from typer.testing import CliRunner

from medaid.cli.main import app

runner = CliRunner()


def audit(tmp_path: Path, export: Path, *extra: str) -> tuple[int, str, str, Path]:
    out = tmp_path / "findings.xlsx"
    r = runner.invoke(app, ["audit-payments", str(export), "--roster",
                            str(write_roster(tmp_path / "roster.csv")), "--policy", "nanjing",
                            "--out", str(out), *extra])
    return r.exit_code, r.stdout, r.stderr, out


def sheet(path: Path, name: str) -> list[dict[str, object]]:
    ws = load_workbook(path)[name]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def by_setl(path: Path) -> dict[str, dict[str, object]]:
    return {str(r["结算ID"]): r for r in sheet(path, "差异明细")}


def check_year(path: Path) -> None:
    found = by_setl(path)
    assert set(found) == {"S2", "S3", "S4", "S7"}
    # overpaid: NJ-A2 pays 90% of the base 16,000 = 14,400; the platform paid 15,000
    s2 = found["S2"]
    assert (s2["平台医疗救助（元）"], s2["核定医疗救助（元）"], s2["差额（平台−核定，元）"]) == \
        (15000, 14400, 600)
    assert s2["多付/少付"] == "多付" and s2["规则"] == "NJ-A2"
    computed = str(s2["核定计算过程（规则、条款、算式）"])
    assert "NJ-A2（南京市《宁政办发〔2023〕1号》（四））" in computed
    # underpaid by 400
    s3 = found["S3"]
    assert (s3["平台医疗救助（元）"], s3["核定医疗救助（元）"], s3["差额（平台−核定，元）"]) == \
        (14000, 14400, -400)
    assert s3["多付/少付"] == "少付"
    # paid after the identity's exit
    s4 = found["S4"]
    assert s4["差异类型"] == "身份退出后结算" and s4["核定医疗救助（元）"] == 0
    assert s4["规则"] == "NJ-W" and s4["条款"] == "南京市《宁政办发〔2023〕1号》（七）"
    assert "2023-05-31退出" in str(s4["原因说明"])
    # the April stay settled twice: the second pays nothing
    s7 = found["S7"]
    assert s7["差异类型"] == "重复结算" and s7["差额（平台−核定，元）"] == 14400
    summary = {r["项目"]: r["数值"] for r in sheet(path, "汇总")}
    assert summary["撤销笔数"] == 1 and summary["重复结算笔数"] == 1
    assert summary["多付（元）"] == 600 + 8000 + 14400 and summary["少付（元）"] == 400
    causes = {r["差异类型"]: r for r in sheet(path, "按差异类型")}
    assert causes["重复结算"]["多付（元）"] == 14400
    inst = {r["定点医药机构编号"]: r for r in sheet(path, "按机构")}
    assert inst[GULOU[0]]["多付（元）"] == 600 + 14400
    assert inst[GULOU[0]]["名称"] == GULOU[1]


def test_csv_utf8_hand_computed(tmp_path: Path) -> None:
    code, out, err, book = audit(tmp_path, write_csv(tmp_path / "x.csv", nanjing_year()))
    assert (code, err) == (0, ""), err
    check_year(book)
    assert "findings: 4" in out and "overpaid 23,000.00, underpaid 400.00" in out
    every = {str(r["结算ID"]): r for r in sheet(book, "逐笔核对")}
    assert every["S5"]["结算状态"] == "已撤销（第7行）"  # the cancellation pair nets to zero
    assert every["S1"]["差额（平台−核定，元）"] == 0


def test_csv_gbk_with_chinese_headers(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", nanjing_year(), "gbk", chinese_header())
    assert path.read_bytes().decode("gb18030")
    code, _, err, book = audit(tmp_path, path)
    assert (code, err) == (0, ""), err
    check_year(book)


def test_xlsx(tmp_path: Path) -> None:
    rows: list[list[object]] = [list(r) for r in nanjing_year()]
    code, _, err, book = audit(tmp_path, write_xlsx(tmp_path / "x.xlsx", rows))
    assert (code, err) == (0, ""), err
    check_year(book)
    assert {r["行号"] for r in sheet(book, "差异明细")} == {4, 5, 6, 9}  # title, header


def test_parquet(tmp_path: Path) -> None:
    code, _, err, book = audit(tmp_path, write_parquet(tmp_path / "x.parquet", nanjing_year()))
    assert (code, err) == (0, ""), err
    check_year(book)


def test_formula_like_text_stays_text(tmp_path: Path) -> None:
    evil = '=HYPERLINK("http://evil.example","点此")'
    rows: list[list[object]] = [list(r) for r in nanjing_year()]
    rows[1][2] = evil  # psn_name of S2 (a finding)
    rows[1][8] = "+cmd|' /C calc'!A0"  # fixmedins_name
    code, _, err, book = audit(tmp_path, write_xlsx(tmp_path / "x.xlsx", rows))
    assert code == 0, err
    ws = load_workbook(book)["差异明细"]
    cells = {c.value: c for row in ws.iter_rows() for c in row}
    assert cells[evil].data_type == "s"
    assert not any(c.data_type == "f" for wsx in load_workbook(book)
                   for row in wsx.iter_rows() for c in row)


def test_cancellation_that_does_not_take_back_the_assistance(tmp_path: Path) -> None:
    rows = [stay("P001", A, "张三", "S1", "M1", "2023-03-10 10:00:00", GULOU, "60000", "35000",
                 "14400", ownpay="5000", preself="1000", hifmi="3000"),
            stay("P001", A, "张三", "S2", "M1", "2023-03-12 10:00:00", GULOU, "60000", "35000",
                 "14400", ownpay="5000", preself="1000", hifmi="3000", sign=-1)]
    rows[1][17] = "-14000.00"  # the reversal takes back 14,000 of 14,400
    code, _, err, book = audit(tmp_path, write_csv(tmp_path / "x.csv", rows))
    assert code == 0, err
    found = by_setl(book)
    assert found["S1"]["差异类型"] == "撤销未足额冲回"
    assert found["S1"]["差额（平台−核定，元）"] == 400


def test_bad_rows_by_row_and_column(tmp_path: Path) -> None:
    rows = nanjing_year()
    rows[1][17] = "15000.005"  # row 3: maf_pay with three decimals
    rows[2][3] = ""  # row 4: no setl_id
    rows[3][6] = "2023-13-40"  # row 5: no such date
    code, out, err, book = audit(tmp_path, write_csv(tmp_path / "x.csv", rows))
    assert code == 2 and out == "" and not book.exists()
    assert "第3行 row 3, maf_pay '15000.005': 金额最多两位小数" in err
    assert "第4行 row 4, setl_id '': 必填项为空 / required" in err
    assert "第5行 row 5, setl_time '2023-13-40'" in err
    assert err.splitlines()[-1].startswith("error: x.csv: 3 bad value(s) in 3 row(s)")


def test_unmatched_cancellation_is_bad_input(tmp_path: Path) -> None:
    rows = [stay("P001", A, "张三", "S9", "M9", "2023-03-12 10:00:00", GULOU, "60000",
                 "35000", "14400", ownpay="5000", preself="1000", hifmi="3000", sign=-1)]
    code, _, err, _ = audit(tmp_path, write_csv(tmp_path / "x.csv", rows))
    assert code == 2
    assert "第2行 row 2, mdtrt_id 'M9': 找不到被撤销的结算" in err


def test_missing_column_and_unknown_med_type(tmp_path: Path) -> None:
    rows = nanjing_year()
    header = [h for h in chinese_header()]
    code, _, err, _ = audit(tmp_path, write_csv(tmp_path / "x.csv", [r[:-2] + r[-1:]
                                                                    for r in rows],
                                                header=header[:-2] + header[-1:]))
    assert code == 2 and "missing required columns: maf_pay" in err
    rows[0][5] = "13"
    code, _, err, _ = audit(tmp_path, write_csv(tmp_path / "y.csv", rows))
    assert code == 2 and "第2行 row 2, med_type '13'" in err
    code, _, err, _ = audit(tmp_path, write_csv(tmp_path / "z.csv", rows),
                            "--med-type", "13=inpatient")
    assert code == 0, err


def test_fail_on_findings_and_rounding_option(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", nanjing_year())
    code, _, _, _ = audit(tmp_path, path, "--fail-on-findings")
    assert code == 1
    code, out, err, _ = audit(tmp_path, path, "--rounding", "per_visit")
    assert code == 0 and "rounding per_visit" in out, err
    code, _, err, _ = audit(tmp_path, path, "--rounding", "sometimes")
    assert code == 2 and err.startswith("error: --rounding")


@pytest.mark.parametrize("paid,cause", [("6400", "超过年度救助限额"), ("3000", "少付（原因待查）")])
def test_cap_exceeded(tmp_path: Path, paid: str, cause: str) -> None:
    """Changzhou 低保 general outpatient: 80% of the base, at most 10,000 a year (CZ caps):
    6,400 then 3,600. A platform that pays 6,400 again has exceeded the cap."""
    rows = [stay("P001", A, "张三", "S1", "M1", "2023-02-01 10:00:00", GULOU, "10000", "2000",
                 "6400", med_type="11"),
            stay("P001", A, "张三", "S2", "M2", "2023-03-01 10:00:00", GULOU, "10000", "2000",
                 paid, med_type="11")]
    roster = write_roster(tmp_path / "r.csv", [["姓名", "身份证号", "人员类别", "认定日期"],
                                               ["张三", A, "dibao", "2023-01-01"]])
    out = tmp_path / "f.xlsx"
    r = runner.invoke(app, ["audit-payments", str(write_csv(tmp_path / "x.csv", rows)),
                            "--roster", str(roster), "--policy", "changzhou", "--out", str(out)])
    assert r.exit_code == 0, r.stderr
    found = by_setl(out)
    assert set(found) == {"S2"}
    assert found["S2"]["核定医疗救助（元）"] == 3600
    assert found["S2"]["差异类型"] == cause
    assert Decimal(str(found["S2"]["差额（平台−核定，元）"])) == Decimal(paid) - 3600
