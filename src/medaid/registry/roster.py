"""Monthly rosters as departments send them: parse every row, report every bad one.

`parse_roster(path, jurisdiction, today)` reads a CSV or XLSX file; `parse_records` does
the same for rows already split into fields (an API body). Either returns a `Roster`:
the good rows, and each bad row with its row number, column and reason. `plan_import`
(in `registry.plan`, re-exported here) turns a roster without errors into the diff
against the registry; with any error it plans nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

from medaid.core.errors import InputError
from medaid.policy import explain
from medaid.policy.model import Policy
from medaid.registry import cells, departments, files, idcard
from medaid.registry.categories import Categories
from medaid.registry.columns import HEADER_SEARCH_ROWS, LABELS, REQUIRED, header
from medaid.registry.plan import plan_import
from medaid.registry.types import Problem, Roster, RosterRow, RowError

__all__ = ["parse_records", "parse_roster", "plan_import"]


def policy_of(jurisdiction: str | Policy) -> Policy:
    """A jurisdiction's latest policy version: its categories decide the spellings."""
    return jurisdiction if isinstance(jurisdiction, Policy) else explain.find_policy(jurisdiction)


class _Row:
    """Checks one record's fields, collecting every problem rather than the first."""

    def __init__(self, number: int, record: Mapping[str, object],
                 labels: Mapping[str, str]) -> None:
        self.number = number
        self.record = record
        self.labels = labels
        self.errors: list[RowError] = []
        self.failed: set[str] = set()

    def fail(self, field: str, problem: Problem, shown: str | None = None) -> None:
        self.failed.add(field)
        value = shown if shown is not None else cells.text(self.record.get(field))
        self.errors.append(RowError(self.number, self.labels.get(field, field), value,
                                    str(problem)))

    def date(self, field: str) -> date | None:
        try:
            return cells.parse_date(self.record.get(field))
        except Problem as p:
            self.fail(field, p)
            return None


def _row(number: int, record: Mapping[str, object], labels: Mapping[str, str],
         categories: Categories, default_department: str | None,
         today: date) -> tuple[RosterRow | None, list[RowError]]:
    r = _Row(number, record, labels)
    name = cells.text(record.get("name"))
    if not name:
        r.fail("name", Problem("姓名为空", "name is empty"))
    rid: idcard.ResidentId | None = None
    raw_id = cells.text(record.get("certno"))
    try:
        rid = idcard.validate(raw_id, today)
    except idcard.IdCardError as e:
        r.fail("certno", e, idcard.mask(raw_id))
    category = None
    try:
        category = categories.resolve(cells.text(record.get("category")))
    except Problem as p:
        r.fail("category", p)
    department = None
    raw_department = record.get("department") or default_department
    if not cells.text(raw_department):
        r.fail("department", Problem("认定部门为空（可在导入时指定）",
                                     "department is empty (give one for the whole file)"))
    else:
        try:
            department = departments.normalize(raw_department)
        except Problem as p:
            r.fail("department", p, cells.text(raw_department))
    start, end, application = r.date("start"), r.date("end"), r.date("application")
    if start is None and "start" not in r.failed:
        r.fail("start", Problem("认定日期为空", "recognition date is empty"))
    if start is not None and start > today:
        r.fail("start", Problem("认定日期晚于今天", f"recognition date {start} is in the future"))
    if start is not None and rid is not None and start < rid.birth:
        r.fail("start", Problem("认定日期早于出生日期",
                                f"recognition date {start} is before birth {rid.birth}"))
    if application is not None and application > today:
        r.fail("application", Problem("申请日期晚于今天",
                                      f"application date {application} is in the future"))
    if end is not None and start is not None and end < start:
        r.fail("end", Problem("退出日期早于认定日期",
                              f"exit date {end} is before the recognition date {start}"))
    grade = None
    try:
        grade = cells.parse_grade(record.get("disability_grade"))
    except Problem as p:
        r.fail("disability_grade", p)
    district = cells.text(record.get("district")) or None
    if r.errors:
        return None, r.errors
    assert rid is not None and category is not None and department is not None
    assert start is not None
    return RosterRow(number, rid.number, name, category, department, start, end, application,
                     district, grade), []


def parse_records(records: Iterable[tuple[int, Mapping[str, object]]],
                  jurisdiction: str | Policy, today: date, *, department: str | None = None,
                  labels: Mapping[str, str] = LABELS, source: str = "<rows>") -> Roster:
    """Rows already split into fields (keys of columns.FIELDS), numbered as shown to users.

    `department` applies to rows that do not name one. A person listed twice is an error
    on every row after the first.
    """
    policy = policy_of(jurisdiction)
    categories = Categories(policy)
    good: list[RosterRow] = []
    errors: list[RowError] = []
    first_row: dict[str, int] = {}
    read = 0
    for number, record in records:
        read += 1
        row, problems = _row(number, record, labels, categories, department, today)
        errors += problems
        if row is None:
            continue
        if row.certno in first_row:
            errors.append(RowError(number, labels.get("certno", "certno"),
                                   idcard.mask(row.certno),
                                   str(Problem(f"身份证号与第{first_row[row.certno]}行重复",
                                               f"duplicate of row {first_row[row.certno]}"))))
            continue
        first_row[row.certno] = number
        good.append(row)
    return Roster(source, policy.jurisdiction, tuple(good), tuple(errors), read)


def parse_roster(path: str | Path, jurisdiction: str | Policy, today: date, *,
                 department: str | None = None) -> Roster:
    """A roster file, CSV or XLSX (first sheet), its header row found by its labels.

    File-level problems (unreadable, no header, a required column missing) raise
    InputError; problems of single rows are collected in the Roster.
    """
    p = Path(path)
    rows = files.read_rows(p)
    columns: dict[str, int] | None = None
    header_cells: list[object] = []
    for number, cells_ in rows:
        columns = header(cells_, p.name)
        if columns is not None:
            header_cells = cells_
            break
        if number >= HEADER_SEARCH_ROWS:
            break
    if columns is None:
        raise InputError(p.name, f"找不到表头：应有{'、'.join(LABELS[f] for f in REQUIRED)}等列 / "
                                 f"no header row with the columns {', '.join(REQUIRED)}")
    labels = {f: cells.text(header_cells[i]) for f, i in columns.items()}

    def records() -> Iterable[tuple[int, dict[str, object]]]:
        for number, row in rows:
            if all(not cells.text(v) for v in row):
                continue  # blank lines and rows Excel keeps formatted
            yield number, {f: row[i] if i < len(row) else None for f, i in columns.items()}

    return parse_records(records(), jurisdiction, today, department=department,
                         labels=labels, source=p.name)
