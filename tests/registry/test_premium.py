"""Premium-subsidy lists: NJ-P, YC-P, NB-P (with its timing), CZ-P, and the Excel export."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from registry_helpers import IDS, held

from medaid.core.errors import MissingParameter, PolicyError
from medaid.registry.premium import (
    SubsidyList,
    in_year,
    policy_for,
    subsidised_from,
    subsidy_list,
)
from medaid.registry.premium_xlsx import HEADER_ROW, HEADERS, write_subsidy_list


def amounts(lst: SubsidyList) -> dict[str, tuple[str, int]]:
    return {x.certno: (x.category, x.amount) for x in lst.subsidies}


# -- Nanjing NJ-P: 100% / 80% / tekun_worker none -------------------------------------------


def test_nanjing_shares_and_the_premium_by_year() -> None:
    reg = [held(IDS[0], "tekun", date(2023, 1, 1)),
           held(IDS[1], "dibao_edge", date(2023, 1, 1)),
           held(IDS[2], "dibao_edge", date(2023, 1, 1)),
           held(IDS[2], "dibao", date(2024, 5, 1), department="民政"),  # the higher one wins
           held(IDS[3], "tekun_worker", date(2023, 1, 1), department="总工会")]
    p = policy_for("nanjing", 2024)
    lst = subsidy_list(p, 2024, reg)
    assert lst.premium == 40000
    assert amounts(lst) == {IDS[0]: ("tekun", 40000), IDS[1]: ("dibao_edge", 32000),
                            IDS[2]: ("dibao", 40000)}
    assert lst.total == 112000
    assert [(n.certno, n.reason) for n in lst.not_subsidised] == [
        (IDS[3], "总工会核定的特困职工不在资助范围 / tekun_worker is not subsidised (NJ-P)")]
    assert (lst.rule, lst.source) == ("NJ-P", "000_a8d7d8e3c7e8d865.txt （二）")
    x = next(s for s in lst.subsidies if s.certno == IDS[2])
    assert (x.share_bp, x.fixed, x.idet_type, x.subsidised_from) == (
        10000, None, "2303", date(2024, 5, 1))
    assert amounts(subsidy_list(p, 2023, reg[:2]))[IDS[1]] == ("dibao_edge", 30400)  # 380 × 80%


def test_ties_go_to_the_category_first_in_the_policy() -> None:
    reg = [held(IDS[0], "dibao", date(2023, 1, 1)), held(IDS[0], "tekun", date(2023, 6, 1))]
    assert amounts(subsidy_list(policy_for("nanjing", 2024), 2024, reg)) == {
        IDS[0]: ("tekun", 40000)}


def test_identities_outside_the_year_are_not_considered() -> None:
    reg = [held(IDS[0], "dibao", date(2020, 1, 1), date(2023, 12, 31)),
           held(IDS[1], "dibao", date(2025, 1, 1)),
           held(IDS[2], "dibao", date(2020, 1, 1), date(2024, 1, 1))]  # one day is enough
    lst = subsidy_list(policy_for("nanjing", 2024), 2024, reg)
    assert amounts(lst) == {IDS[2]: ("dibao", 40000)}
    assert lst.not_subsidised == ()


def test_a_year_without_a_premium_names_the_parameter() -> None:
    p = policy_for("nanjing", 2025)
    with pytest.raises(MissingParameter, match=r"individual_premium is required \(NJ-P\)"):
        subsidy_list(p, 2025, [held(IDS[0], "tekun", date(2023, 1, 1))])
    lst = subsidy_list(p, 2025, [held(IDS[0], "dibao_edge", date(2023, 1, 1))],
                       local={"individual_premium": Decimal("420.50")})
    assert amounts(lst) == {IDS[0]: ("dibao_edge", 33640)}


# -- Changzhou CZ-P: everyone in full ---------------------------------------------------------


def test_changzhou_every_category_in_full() -> None:
    p = policy_for("changzhou", 2024)
    reg = [held(IDS[i], c, date(2023, 1, 1)) for i, c in enumerate(p.categories[:10])]
    lst = subsidy_list(p, 2024, reg)
    assert {a for _, a in amounts(lst).values()} == {40000}
    assert len(lst.subsidies) == 10


# -- Yichun YC-P: 100% for class 1, fixed amounts (required local parameters) ------------------


def test_yichun_fixed_amounts_are_required() -> None:
    p = policy_for("yichun", 2024)
    reg = [held(IDS[0], "tekun", date(2023, 1, 1)), held(IDS[1], "dibao", date(2023, 1, 1))]
    with pytest.raises(MissingParameter, match=r"premium_dibao is required \(YC-P\)"):
        subsidy_list(p, 2024, reg)
    # Nobody needs premium_dibao: the list is made without it.
    assert amounts(subsidy_list(p, 2024, reg[:1])) == {IDS[0]: ("tekun", 40000)}


def test_yichun_fixed_amounts() -> None:
    p = policy_for("yichun", 2024)
    reg = [held(IDS[0], "orphan", date(2023, 1, 1)),
           held(IDS[1], "dibao", date(2023, 1, 1)),
           held(IDS[2], "fanpin", date(2023, 1, 1)),
           held(IDS[3], "jiance", date(2023, 1, 1)),
           held(IDS[4], "dibao_edge", date(2023, 1, 1)),
           held(IDS[5], "jiance", date(2023, 1, 1)), held(IDS[5], "dibao", date(2023, 1, 1))]
    local = {"premium_dibao": 300, "premium_fanpin": Decimal("200.50"), "premium_jiance": 500}
    lst = subsidy_list(p, 2024, reg, local=local)
    assert amounts(lst) == {IDS[0]: ("orphan", 40000), IDS[1]: ("dibao", 30000),
                            IDS[2]: ("fanpin", 20050),
                            IDS[3]: ("jiance", 40000),  # 500 > the premium: capped at 400
                            IDS[5]: ("jiance", 40000)}  # higher than dibao's 300
    jiance = next(x for x in lst.subsidies if x.certno == IDS[3])
    assert (jiance.share_bp, jiance.fixed) == (None, 50000)
    assert [n.certno for n in lst.not_subsidised] == [IDS[4]]


def test_yichun_has_no_policy_before_it_came_into_force() -> None:
    with pytest.raises(PolicyError, match="no policy in force in 2021"):
        policy_for("yichun", 2021)


# -- Ningbo NB-P: shares, disability grades, timing -----------------------------------------------


@pytest.mark.parametrize(("approved", "exited", "paid_on", "year", "expected"), [
    (date(2023, 6, 10), None, None, 2024, date(2024, 1, 1)),         # approved before the year
    (date(2024, 3, 10), None, None, 2024, date(2024, 4, 1)),         # the month after approval
    (date(2024, 3, 31), None, None, 2024, date(2024, 4, 1)),
    (date(2024, 1, 1), None, None, 2024, date(2024, 2, 1)),
    (date(2024, 3, 10), None, date(2024, 1, 15), 2024, None),        # already paid: next year
    (date(2024, 3, 10), None, date(2024, 3, 10), 2024, None),
    (date(2024, 3, 10), None, date(2024, 3, 11), 2024, date(2024, 4, 1)),  # paid after approval
    (date(2024, 3, 10), None, date(2023, 11, 20), 2024, None),       # paid the autumn before
    (date(2023, 3, 10), None, date(2024, 1, 15), 2024, date(2024, 1, 1)),  # continuing
    (date(2024, 12, 5), None, None, 2024, None),                     # next month is next year
    (date(2024, 12, 5), None, None, 2025, date(2025, 1, 1)),
    (date(2023, 6, 10), date(2024, 5, 31), None, 2024, date(2024, 1, 1)),  # exit: year stays
    (date(2023, 6, 10), date(2023, 8, 31), None, 2024, None),        # exited the year before
    (date(2025, 2, 1), None, None, 2024, None),
])
def test_ningbo_timing(approved: date, exited: date | None, paid_on: date | None, year: int,
                       expected: date | None) -> None:
    assert subsidised_from(approved, exited, year, paid_on) == expected


def test_in_year_timing() -> None:
    assert in_year(date(2023, 6, 1), None, 2024) == date(2024, 1, 1)
    assert in_year(date(2024, 6, 1), None, 2024) == date(2024, 6, 1)
    assert in_year(date(2023, 6, 1), date(2023, 12, 31), 2024) is None


def test_ningbo_list() -> None:
    p = policy_for("ningbo", 2024)
    reg = [held(IDS[0], "tekun", date(2022, 1, 1)),
           held(IDS[1], "dibao_edge", date(2022, 1, 1)),
           held(IDS[2], "dibao_edge", date(2022, 1, 1), grade=2),         # grade: in full
           held(IDS[3], "yinbing", date(2022, 1, 1), grade=1, department="残联"),
           held(IDS[4], "yinbing", date(2022, 1, 1)),                      # no share
           held(IDS[5], "dibao", date(2024, 3, 10)),                       # new this year
           held(IDS[6], "dibao", date(2024, 3, 10)),                       # … but had paid
           held(IDS[7], "youfu", date(2024, 12, 5)),                       # approved in Dec
           held(IDS[8], "dibao", date(2021, 1, 1), date(2024, 4, 30))]     # exited this year
    lst = subsidy_list(p, 2024, reg, paid={IDS[6].lower(): date(2024, 1, 20)})
    got = {x.certno: (x.category, x.by_grade, x.amount, x.subsidised_from) for x in lst.subsidies}
    assert got == {
        IDS[0]: ("tekun", False, 40000, date(2024, 1, 1)),
        IDS[1]: ("dibao_edge", False, 20000, date(2024, 1, 1)),
        IDS[2]: ("dibao_edge", True, 40000, date(2024, 1, 1)),
        IDS[3]: ("yinbing", True, 40000, date(2024, 1, 1)),
        IDS[5]: ("dibao", False, 40000, date(2024, 4, 1)),
        IDS[8]: ("dibao", False, 40000, date(2024, 1, 1)),
    }
    reasons = {n.certno: n.reason for n in lst.not_subsidised}
    assert reasons == {
        IDS[4]: "4 因病致贫对象不在资助范围 / yinbing is not subsidised (NB-P)",
        IDS[6]: "认定前已缴纳当年保费，次年起资助 / paid this year before approval: from next year",
        IDS[7]: "审批次月已是下一年，次年起资助 / approved in December: from next year",
    }
    nxt = subsidy_list(p, 2025, reg, local={"individual_premium": 400})
    assert {IDS[6], IDS[7]} <= set(amounts(nxt))
    assert IDS[8] not in amounts(nxt)


# -- the workbook for the civil-affairs office ---------------------------------------------------


def test_export_reads_back(tmp_path: Path) -> None:
    p = policy_for("nanjing", 2024)
    reg = [held(IDS[0], "tekun", date(2023, 1, 1), name="张三", district="320102"),
           held(IDS[1], "dibao_edge", date(2024, 2, 1), name="李四", district="320104"),
           held(IDS[2], "tekun_worker", date(2023, 1, 1), name="王五")]
    lst = subsidy_list(p, 2024, reg)
    path = tmp_path / "资助名单.xlsx"
    write_subsidy_list(lst, path)

    wb = load_workbook(path)
    ws = wb["资助名单"]
    assert ws.cell(1, 1).value == "南京市2024年度城乡居民基本医疗保险参保资助名单"
    assert "个人缴费标准400.00元" in str(ws.cell(2, 1).value)
    assert tuple(c.value for c in ws[HEADER_ROW]) == HEADERS
    rows = [tuple(c.value for c in r) for r in ws.iter_rows(min_row=HEADER_ROW + 1)]
    assert [r[:7] for r in rows[:2]] == [
        (1, "张三", IDS[0], "320102", "特困人员", "2304", "100%"),
        (2, "李四", IDS[1], "320104", "低保边缘家庭成员", "2305", "80%"),
    ]
    # Amounts are numbers in yuan, two decimals, exactly.
    money = [[Decimal(str(v)) for v in r[7:10]] for r in rows[:2]]
    assert money == [[Decimal(400), Decimal(400), Decimal(0)],
                     [Decimal(400), Decimal(320), Decimal(80)]]
    assert ws.cell(HEADER_ROW + 2, 9).number_format == "#,##0.00"
    assert ws.cell(HEADER_ROW + 2, 3).data_type == "s"  # the ID number stays text
    assert rows[1][10] == datetime(2024, 2, 1)
    assert rows[2][0] == "合计" and rows[2][1] == "2人" and Decimal(str(rows[2][8])) == 720
    other = wb["未资助"]
    assert [c.value for c in other[2]] == ["王五", IDS[2],
                                           "总工会核定的特困职工不在资助范围 / "
                                           "tekun_worker is not subsidised (NJ-P)"]


def test_export_masked_and_fixed_amounts(tmp_path: Path) -> None:
    lst = subsidy_list(policy_for("yichun", 2024), 2024,
                       [held(IDS[0], "dibao", date(2023, 1, 1))],
                       local={"premium_dibao": Decimal("150.5")})
    path = tmp_path / "yc.xlsx"
    write_subsidy_list(lst, path, mask_ids=True)
    ws = load_workbook(path).active
    assert ws is not None
    row = [c.value for c in ws[HEADER_ROW + 1]]
    assert row[2] == IDS[0][:6] + "********" + IDS[0][-4:]
    assert row[6] == "定额150.50元"
    assert Decimal(str(row[8])) == Decimal("150.50")


def test_export_writes_a_formula_like_name_as_text(tmp_path: Path) -> None:
    """A name typed as a formula stays the text it is, in the workbook and read back."""
    name = '=HYPERLINK("http://evil.example","点我")'
    lst = subsidy_list(policy_for("nanjing", 2024), 2024,
                       [held(IDS[0], "tekun", date(2023, 1, 1), name=name),
                        held(IDS[1], "tekun_worker", date(2023, 1, 1), name="=1+1")])
    path = tmp_path / "名单.xlsx"
    write_subsidy_list(lst, path)
    wb = load_workbook(path)
    cell = wb["资助名单"].cell(HEADER_ROW + 1, 2)
    assert (cell.value, cell.data_type) == (name, "s")
    other = wb["未资助"].cell(2, 1)
    assert (other.value, other.data_type) == ("=1+1", "s")
    with zipfile.ZipFile(path) as z:  # no <f> element anywhere: nothing Excel would evaluate
        assert not any(b"<f>" in z.read(n) or b"<f " in z.read(n)
                       for n in z.namelist() if n.startswith("xl/worksheets/"))
