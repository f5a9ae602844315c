"""Exports and rosters for the audit's tests, written as the platform and offices write them."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook

from medaid.audit.fields import LABELS
from medaid.registry import idcard

A = idcard.make("320102", date(1960, 5, 1), 11)  # 张三, 低保 from 2023-01-15
B = idcard.make("320104", date(1972, 3, 9), 22)  # 李四, 特困 2023-01-01 – 2023-05-31
C = idcard.make("320105", date(1980, 1, 2), 33)  # 王五, not in the roster
D = idcard.make("320106", date(1955, 7, 7), 44)  # 赵六, 低保 from 2023-01-01

HEADER = ["psn_no", "certno", "psn_name", "setl_id", "mdtrt_id", "med_type", "setl_time",
          "fixmedins_code", "fixmedins_name", "medfee_sumamt", "fulamt_ownpay_amt",
          "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "hifp_pay", "hifmi_pay",
          "oth_pay", "maf_pay", "psn_idet_type"]
GULOU = ("H32010000001", "南京市鼓楼医院")
SRM = ("H32010000002", "江苏省人民医院")


def stay(psn: str, cert: str, name: str, setl: str, mdtrt: str, when: str,
         hospital: tuple[str, str], medfee: str, hifp: str, maf: str, *, ownpay: str = "0",
         preself: str = "0", hifmi: str = "0", idet: str = "2303", med_type: str = "21",
         sign: int = 1) -> list[str]:
    """One record; `sign=-1` writes the cancellation of the same amounts."""
    def a(v: str) -> str:
        return str(Decimal(v) * sign) if sign < 0 and Decimal(v) != 0 else v

    inscp = str(Decimal(medfee) - Decimal(ownpay) - Decimal(preself))
    return [psn, cert, name, setl, mdtrt, med_type, when, hospital[0], hospital[1], a(medfee),
            a(ownpay), "0", a(preself), a(inscp), a(hifp), a(hifmi), "0", a(maf), idet]


# A year of Nanjing settlements (宁政办发〔2023〕1号): a 低保 stay of 60,000 yuan with 6,000
# outside the policy range, 35,000 basic and 3,000 critical-illness insurance leaves a base of
# 16,000, of which NJ-A2 pays 90% = 14,400.
def nanjing_year() -> list[list[str]]:
    return [
        # 张三: right, then overpaid by 600 (15,000 instead of 14,400)
        stay("P001", A, "张三", "S1", "M1", "2023-03-10 10:00:00", GULOU, "60000", "35000",
             "14400.00", ownpay="5000", preself="1000", hifmi="3000"),
        stay("P001", A, "张三", "S2", "M2", "2023-04-10 10:00:00", GULOU, "60000", "35000",
             "15000.00", ownpay="5000", preself="1000", hifmi="3000"),
        # 赵六: underpaid by 400 (14,000 instead of 14,400)
        stay("P004", D, "赵六", "S3", "M3", "2023-05-02 09:30:00", SRM, "60000", "35000",
             "14000", ownpay="5000", preself="1000", hifmi="3000"),
        # 李四 特困 exited on 31 May: a July stay paid 8,000
        stay("P002", B, "李四", "S4", "M4", "2023-07-10 10:00:00", SRM, "20000", "12000",
             "8000", idet="2304"),
        # 王五 (not in the roster): settled and cancelled
        stay("P003", C, "王五", "S5", "M5", "2023-07-10 10:00:00", SRM, "1000", "500", "200",
             med_type="11"),
        stay("P003", C, "王五", "S6", "M5", "2023-07-11 08:00:00", SRM, "1000", "500", "200",
             med_type="11", sign=-1),
        # 张三's April stay settled a second time without a cancellation
        stay("P001", A, "张三", "S7", "M2", "2023-04-11 10:00:00", GULOU, "60000", "35000",
             "14400", ownpay="5000", preself="1000", hifmi="3000"),
    ]


ROSTER = [["姓名", "身份证号", "人员类别", "认定日期", "退出日期"],
          ["张三", A, "低保", "2023-01-15", ""],
          ["李四", B, "特困", "2023-01-01", "2023-05-31"],
          ["赵六", D, "2303", "2023-01-01", ""]]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8",
              header: list[str] | None = None) -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header or HEADER)
        w.writerows(rows)
    return path


def chinese_header() -> list[str]:
    return [LABELS[h] for h in HEADER]


def write_xlsx(path: Path, rows: list[list[object]], header: list[str] | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["医保结算清单导出"])  # a title line above the header
    ws.append(header or HEADER)
    for r in rows:
        ws.append(r)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # as the platform writes it: text, not a formula
    wb.save(path)
    return path


def write_parquet(path: Path, rows: list[list[str]]) -> Path:
    cols: dict[str, list[object]] = {h: [r[k] for r in rows] for k, h in enumerate(HEADER)}
    arrays = {}
    for h, v in cols.items():
        if h in ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                 "inscp_scp_amt", "hifp_pay", "hifmi_pay", "oth_pay", "maf_pay"):
            arrays[h] = pa.array([Decimal(str(x)) for x in v], pa.decimal128(14, 2))
        elif h == "setl_time":
            arrays[h] = pa.array(v, pa.string()).cast(pa.timestamp("s"))
        else:
            arrays[h] = pa.array(v, pa.string())
    pq.write_table(pa.table(arrays), path)
    return path


def write_roster(path: Path, rows: list[list[str]] | None = None) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows or ROSTER)
    return path
