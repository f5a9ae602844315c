"""Values the registry functions take and return (frozen: a plan is never edited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


class Problem(ValueError):
    """What is wrong with one value, in Chinese for the office and English for integrators."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


@dataclass(frozen=True, slots=True)
class RegisteredIdentity:
    """One identity as the registry holds it, with its person's fields (a joined row)."""

    certno: str
    name: str
    category: str
    department: str | None
    start: date  # 认定日期
    end: date | None = None  # 退出日期
    application: date | None = None
    district: str | None = None
    disability_grade: int | None = None
    id: int | None = None  # the store's key, carried back in a plan


@dataclass(frozen=True, slots=True)
class RosterRow:
    """A good row of a roster, every value checked and normalised."""

    row: int  # as the office sees it: the header is row 1 (or wherever it stands)
    certno: str
    name: str
    category: str  # a category id of the jurisdiction's policy
    department: str  # one of departments.DEPARTMENTS
    start: date
    end: date | None = None
    application: date | None = None
    district: str | None = None
    disability_grade: int | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str | None  # the column's header as the file has it; None: the whole row
    value: str  # as read (an ID number masked)
    reason: str  # "中文 / English"


@dataclass(frozen=True, slots=True)
class Roster:
    """A parsed roster: the good rows and every bad one; rows read = len(rows) + bad rows."""

    source: str
    jurisdiction: str
    rows: tuple[RosterRow, ...]
    errors: tuple[RowError, ...]
    read: int  # data rows read (blank rows not counted)

    @property
    def bad_rows(self) -> tuple[int, ...]:
        return tuple(sorted({e.row for e in self.errors}))
