"""The diff between a department's monthly roster and the registry: what an import does.

A roster is read in one of two modes, which the importer chooses (MODES):

- `complete`: the department's complete list for its month: everyone it lists is a
  beneficiary in that month, recognised by that department, and everyone it does not
  list is not;
- `incremental`: only the persons it lists: new, recognised again or changed. Nobody is
  ended by being absent from it.

So, per (person, department):

- listed, no identity of that department → new identity (and a new person when the ID
  number is nowhere in the registry);
- listed, the department's latest identity exited before the listed recognition date →
  new identity (recognised again);
- listed, otherwise → changed (the fields that differ are named) or unchanged; a value
  the roster leaves blank (district, grade, application date) is "not given", not a
  change; a blank exit date is one: the roster says the identity is open; another
  category from a later recognition date is a change of category from that date (the
  identity ends the day before it, the new one begins: `Change.succeeds`), never a
  rewrite of the months before; a row of another category dated before the latest
  identity corrects the department's identity of its category where there is one;
- not listed (complete lists only), an identity of that department still open on the
  roster month's first day → exited, dated the last day of the previous month: absence
  from month M's roster means the identity was not in force in M. (Never before its own
  recognition date.)

Identities of departments the roster does not speak for are left alone. A roster with
any bad row plans nothing: `errors` is set and every list is empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from medaid.core.dates import month_start
from medaid.core.errors import InputError
from medaid.policy.model import Policy
from medaid.registry.idcard import normalize
from medaid.registry.types import RegisteredIdentity, Roster, RosterRow, RowError


@dataclass(frozen=True, slots=True)
class Change:
    row: RosterRow
    identity: RegisteredIdentity
    fields: tuple[str, ...]  # names of RosterRow fields whose value differs

    @property
    def succeeds(self) -> bool:
        """Another category from a later recognition date (低保 → 特困 from June): the
        identity ends the day before and the new one begins, the months before keeping
        theirs; else the identity is corrected as listed."""
        return "category" in self.fields and self.row.start > self.identity.start


@dataclass(frozen=True, slots=True)
class Unchanged:
    row: RosterRow
    identity: RegisteredIdentity


@dataclass(frozen=True, slots=True)
class Exit:
    identity: RegisteredIdentity
    end: date  # the exit date to record


MODES = ("complete", "incremental")


@dataclass(frozen=True, slots=True)
class ImportPlan:
    jurisdiction: str
    month: date  # first day of the roster's month
    departments: tuple[str, ...]  # the departments the roster speaks for
    new_persons: tuple[RosterRow, ...] = ()  # person and identity both new
    new_identities: tuple[RosterRow, ...] = ()  # a known person, a new identity
    changed: tuple[Change, ...] = ()
    unchanged: tuple[Unchanged, ...] = ()
    exited: tuple[Exit, ...] = ()
    errors: tuple[RowError, ...] = ()
    mode: str = "complete"
    # identities of the roster's departments open in its month: what exits are a share of
    open_identities: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        return {"new_persons": len(self.new_persons),
                "new_identities": len(self.new_identities),
                "changed": len(self.changed), "unchanged": len(self.unchanged),
                "exited": len(self.exited), "errors": len(self.errors)}


_COMPARED = ("category", "start", "end", "application", "name", "district", "disability_grade")
_OPTIONAL = frozenset({"application", "district", "disability_grade"})  # blank: not given


def _changes(row: RosterRow, current: RegisteredIdentity) -> tuple[str, ...]:
    out = []
    for f in _COMPARED:
        new = getattr(row, f)
        if new is None and f in _OPTIONAL:
            continue
        if new != getattr(current, f):
            out.append(f)
    return tuple(out)


def plan_import(roster: Roster, current_identities: Iterable[RegisteredIdentity],
                jurisdiction: str | Policy, today: date, *,
                month: date | None = None, mode: str = "complete") -> ImportPlan:
    """The plan for importing `roster` (for `month`, default the month of `today`) read
    as a complete or an incremental list (`mode`)."""
    name = jurisdiction.jurisdiction if isinstance(jurisdiction, Policy) else jurisdiction
    if mode not in MODES:
        raise InputError("mode", f"名单类型须为 complete（完整名单）或 incremental（增量名单）"
                                 f" / mode must be one of {', '.join(MODES)}")
    if roster.jurisdiction != name:
        raise InputError("jurisdiction", f"the roster was read for {roster.jurisdiction}, "
                                         f"not {name}")
    first = month_start(month or today)
    if first > month_start(today):
        raise InputError("month", f"花名册月份{first:%Y-%m}晚于本月 / "
                                  f"roster month {first:%Y-%m} is in the future")
    departments = tuple(sorted({r.department for r in roster.rows}))
    if roster.errors:
        return ImportPlan(name, first, departments, errors=roster.errors, mode=mode)

    known: set[str] = set()
    latest: dict[tuple[str, str | None], RegisteredIdentity] = {}
    of_category: dict[tuple[str, str | None, str], RegisteredIdentity] = {}  # its latest
    open_ones: list[RegisteredIdentity] = []
    prev_end = first - timedelta(days=1)
    for c in current_identities:
        certno = normalize(c.certno)
        known.add(certno)
        key = (certno, c.department)
        if key not in latest or c.start > latest[key].start:
            latest[key] = c
        by_cat = (*key, c.category)
        if by_cat not in of_category or c.start > of_category[by_cat].start:
            of_category[by_cat] = c
        # an exit dated its own recognition date (see below) is an exit already made
        if c.department in departments and (c.end is None or c.end > max(prev_end, c.start)):
            open_ones.append(c)

    new_persons: list[RosterRow] = []
    new_identities: list[RosterRow] = []
    changed: list[Change] = []
    unchanged: list[Unchanged] = []
    listed: set[tuple[str, str | None]] = set()
    for row in roster.rows:
        listed.add((row.certno, row.department))
        cur = latest.get((row.certno, row.department))
        earlier = None if cur is None or row.category == cur.category or \
            row.start >= cur.start else of_category.get((row.certno, row.department,
                                                         row.category))
        if earlier is not None and (earlier.end is None or earlier.end >= row.start):
            # of a period before the latest identity's: a correction of the department's
            # identity of that category that held then (低保 then 特困 from July: a row of
            # 低保 from April corrects the 低保, not the 特困), which keeps, where the row
            # leaves it blank, the end its successor gave it
            cur = earlier
            if row.end is None:
                row = replace(row, end=earlier.end)
        if cur is None or (cur.end is not None and cur.end < row.start):
            (new_identities if row.certno in known else new_persons).append(row)
            continue
        fields = _changes(row, cur)
        if fields:
            changed.append(Change(row, cur, fields))
        else:
            unchanged.append(Unchanged(row, cur))

    exited = [Exit(c, max(prev_end, c.start)) for c in open_ones
              if mode == "complete" and (normalize(c.certno), c.department) not in listed]
    exited.sort(key=lambda e: (e.identity.certno, e.identity.start))
    return ImportPlan(name, first, departments, tuple(new_persons), tuple(new_identities),
                      tuple(changed), tuple(unchanged), tuple(exited), mode=mode,
                      open_identities=len(open_ones))
