"""The import plan: a monthly roster against the registry (new, changed, unchanged, exited)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from registry_helpers import IDS, TODAY, held, make_id, with_wrong_check, write_csv

from medaid.core.errors import InputError
from medaid.registry.plan import Change, Exit
from medaid.registry.roster import parse_records, parse_roster, plan_import
from medaid.registry.summary import plan_lines
from medaid.registry.types import Roster

MARCH = date(2024, 3, 1)
FEB_END = date(2024, 2, 29)


def roster(*rows: dict[str, object], jurisdiction: str = "nanjing") -> Roster:
    base = {"name": "张三", "department": "民政"}
    return parse_records([(i, {**base, **r}) for i, r in enumerate(rows, start=2)],
                         jurisdiction, TODAY)


def test_the_four_outcomes() -> None:
    current = [
        held(IDS[0], "dibao", date(2023, 1, 5), key=1),                       # unchanged
        held(IDS[1], "dibao", date(2023, 1, 5), key=2),                       # → tekun
        held(IDS[2], "dibao_edge", date(2023, 6, 1), key=3),                  # absent → exit
        held(IDS[3], "youfu", date(2020, 1, 1), department="退役军人", key=4),  # other dept
        held(IDS[4], "youfu", date(2020, 1, 1), department="退役军人", key=5),  # new 民政 identity
        held(IDS[6], "dibao", date(2022, 1, 1), date(2023, 12, 31), key=6),    # closed: stays
    ]
    r = roster(
        {"certno": IDS[0], "category": "低保", "start": "2023-01-05"},
        {"certno": IDS[1], "category": "特困", "start": "2023-01-05"},
        {"certno": IDS[4], "category": "低保", "start": "2024-03-01"},
        {"certno": IDS[5], "category": "低保", "start": "2024-03-01", "district": "秦淮区"},
    )
    plan = plan_import(r, current, "nanjing", TODAY)
    assert plan.ok and plan.month == MARCH and plan.departments == ("民政",)
    assert [x.certno for x in plan.new_persons] == [IDS[5]]
    assert [x.certno for x in plan.new_identities] == [IDS[4]]
    assert [(u.row.certno, u.identity.id) for u in plan.unchanged] == [(IDS[0], 1)]
    assert plan.changed == (Change(r.rows[1], current[1], ("category",)),)
    # Absent from March's roster: not in force in March, so exited on the last day of February.
    assert plan.exited == (Exit(current[2], FEB_END),)
    assert plan.counts() == {"new_persons": 1, "new_identities": 1, "changed": 1,
                             "unchanged": 1, "exited": 1, "errors": 0}
    assert plan_lines(plan) == ["2024-03 民政: 新增人员 new persons 1, 新增身份 new identities 1, "
                                "变更 changed 1, 未变 unchanged 1, 退出 exited 1"]


def test_dates_and_person_fields_are_compared() -> None:
    current = [held(IDS[0], "dibao", date(2023, 1, 5), district="秦淮区", grade=None),
               held(IDS[1], "dibao", date(2023, 1, 5), date(2024, 6, 30)),
               held(IDS[2], "dibao", date(2023, 1, 5), district="秦淮区")]
    r = roster(
        {"certno": IDS[0], "category": "dibao", "start": "2023-01-06", "district": "玄武区",
         "disability_grade": "二级", "name": "张叁"},
        {"certno": IDS[1], "category": "dibao", "start": "2023-01-05"},  # exit date cleared
        {"certno": IDS[2], "category": "dibao", "start": "2023-01-05", "end": "2024-03-31"},
    )
    plan = plan_import(r, current, "nanjing", TODAY)
    assert [c.fields for c in plan.changed] == [
        ("start", "name", "district", "disability_grade"), ("end",), ("end",)]
    assert plan.exited == ()


def test_blank_optional_values_are_not_changes() -> None:
    current = [held(IDS[0], "dibao", date(2023, 1, 5), district="秦淮区", grade=2,
                    application=date(2022, 12, 1))]
    plan = plan_import(roster({"certno": IDS[0], "category": "dibao", "start": "2023-01-05"}),
                       current, "nanjing", TODAY)
    assert len(plan.unchanged) == 1


def test_recognised_again_after_an_exit_is_a_new_identity() -> None:
    current = [held(IDS[0], "dibao", date(2022, 1, 5), date(2023, 5, 31))]
    plan = plan_import(roster({"certno": IDS[0], "category": "dibao", "start": "2024-02-01"}),
                       current, "nanjing", TODAY)
    assert [x.certno for x in plan.new_identities] == [IDS[0]]
    assert plan.new_persons == ()


def test_exit_for_an_earlier_month_and_never_before_recognition() -> None:
    current = [held(IDS[0], "dibao", date(2023, 1, 5)),
               held(IDS[1], "dibao", date(2024, 2, 10)),
               held(IDS[2], "dibao", date(2024, 3, 5)),   # recognised within the month
               held(IDS[3], "dibao", date(2023, 1, 5), date(2024, 1, 31))]  # already out
    only = roster({"certno": IDS[4], "category": "dibao", "start": "2023-01-05"})
    plan = plan_import(only, current, "nanjing", TODAY, month=date(2024, 2, 17))
    assert plan.month == date(2024, 2, 1)
    assert [(e.identity.certno, e.end) for e in plan.exited] == sorted([
        (IDS[0], date(2024, 1, 31)), (IDS[1], date(2024, 2, 10)), (IDS[2], date(2024, 3, 5))])


def test_ids_in_the_registry_are_matched_whatever_their_case() -> None:
    certno = next(n for n in (make_id(seq=f"{s:03d}") for s in range(100)) if n.endswith("X"))
    current = [held(certno.lower(), "dibao", date(2023, 1, 5))]
    plan = plan_import(roster({"certno": certno, "category": "dibao", "start": "2023-01-05"}),
                       current, "nanjing", TODAY)
    assert len(plan.unchanged) == 1 and plan.exited == ()


def test_a_bad_row_refuses_the_whole_import(tmp_path: Path) -> None:
    rows = [["1", "张三", IDS[0], "低保", "2023-01-05", "", "", "民政"],
            ["2", "李四", with_wrong_check(IDS[1]), "低保", "2023-01-05", "", "", "民政"]]
    r = parse_roster(write_csv(tmp_path / "r.csv", rows, "utf-8-sig"), "nanjing", TODAY)
    current = [held(IDS[2], "dibao", date(2023, 1, 5))]
    plan = plan_import(r, current, "nanjing", TODAY)
    assert not plan.ok
    assert [e.row for e in plan.errors] == [3]
    assert (plan.new_persons, plan.new_identities, plan.changed, plan.unchanged,
            plan.exited) == ((), (), (), (), ())
    assert plan_lines(plan)[0].startswith("导入被拒绝")


def test_roster_month_in_the_future_and_wrong_jurisdiction() -> None:
    r = roster({"certno": IDS[0], "category": "dibao", "start": "2023-01-05"})
    with pytest.raises(InputError, match="is in the future"):
        plan_import(r, [], "nanjing", TODAY, month=date(2024, 4, 1))
    with pytest.raises(InputError, match="read for nanjing, not changzhou"):
        plan_import(r, [], "changzhou", TODAY)
