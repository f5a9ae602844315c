"""`medaid ledger verify`: the settlement ledger agrees with itself, with the pools and
with the audit log.

The ledger is the record of what was paid; the pools (person_years) are a running sum
kept beside it for speed. After a crash, a restore or a suspected tampering this check
recomputes everything the ledger implies and compares:

- every hospital settlement (institution, medins_setl_id) is settled at most once and
  cancelled at most once, and every ledger id (setl_id) is unique;
- every cancellation reverses exactly one settlement — an existing `settle` entry of the
  same institution, hospital id, person and year — with what the visit stands at negated:
  the original's amounts and pool deltas plus its adjustments' (a cancellation reverses
  the adjustments made before it; one written before it did so is followed by an
  adjustment that reverses them, and the original's adjustments then sum to nothing);
- every entry's amounts add up: hifp_pay + hifmi_pay + oth_pay + maf_pay + psn_part_amt
  = medfee_sumamt, and its assistance fund's tiers: assistance + tilted + special +
  reassistance = maf_pay;
- every adjustment (re-settlement's 补差) adjusts a `settle` entry of its person-year and
  its differences add up: hifp_pay + hifmi_pay + maf_pay + psn_part_amt = 0, and its
  tiers' differences make maf_pay's;
- the year-end ledger (年终救助): each stage's entries of a person-year are numbered 1, 2,
  … and each entry's total is the sum of its amounts so far, never below zero; what they
  pay a person-year is what the fund journal's year-end entries of it expense (and, with
  the audit log, what its `year_end` audit entries say);
- every person-year's stored pools equal the sum of the pool deltas of its settlements,
  its cancellations and its adjustments (exact: fractions stay fractions);
- every `settle` and `cancel` entry of the audit log names a ledger entry, and every
  ledger entry is named by one (a removed ledger row whose pool deltas were all zero
  shows here).

It reads only, in one transaction (a consistent snapshot on PostgreSQL), streaming the
ledger; memory grows with the number of person-years and ledger entries' keys, not with
their traces.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from medaid.store import db, pools
from medaid.store.fund_models import JournalEntry, JournalLine
from medaid.store.models import (
    TIERS,
    Adjustment,
    AuditEntry,
    Institution,
    PersonYear,
    Settlement,
    YearEndPayout,
)

MAX_PROBLEMS = 1000  # kept in the report; the count goes on beyond
PAID = ("hifp_pay", "hifmi_pay", "oth_pay", "maf_pay", "psn_part_amt")
MAF_TIERS = ("assistance", "tilted", "special", "reassistance")  # their sum is maf_pay
AMOUNT_COLUMNS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                  "inscp_scp_amt", "hifp_pay", "hifmi_pay", "oth_pay", "base", "assistance",
                  "tilted", "special", "reassistance", "maf_pay", "psn_part_amt")
_LEDGER = select(Settlement.id, Settlement.setl_id, Settlement.kind, Settlement.reverses_id,
                 Settlement.institution_id, Settlement.medins_setl_id, Settlement.person_id,
                 Settlement.psn_no, Settlement.year, Settlement.pool_deltas,
                 *(getattr(Settlement, name) for name in AMOUNT_COLUMNS)
                 ).order_by(Settlement.id)

Pools = dict[str, Fraction]


@dataclass
class LedgerReport:
    settlements: int = 0  # entries of kind settle
    cancellations: int = 0
    person_years: int = 0  # person-years with a pools row or a ledger entry
    problem_count: int = 0
    problems: list[str] = field(default_factory=list)  # the first MAX_PROBLEMS

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)


@dataclass(frozen=True, slots=True)
class _Entry:
    id: int
    setl_id: str
    kind: str
    institution_id: int
    medins_setl_id: str
    person_id: int
    year: int
    amounts: tuple[int, ...]
    deltas: Pools | None  # None: unreadable


def _exact(stored: object) -> Pools | None:
    if not isinstance(stored, Mapping):
        return None
    try:
        return {k: Fraction(v) for k, v in pools.decode(stored).items() if v}
    except (ValueError, ZeroDivisionError):
        return None


def _add(into: Pools, change: Mapping[str, Fraction], sign: int = 1) -> None:
    for name, d in change.items():
        value = into.get(name, Fraction(0)) + sign * d
        if value:
            into[name] = value
        else:
            into.pop(name, None)


def _show(p: Mapping[str, Fraction]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(p.items())) + "}"


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see one moment: a read-only REPEATABLE READ
    transaction on PostgreSQL, a deferred (read) transaction on SQLite (WAL mode)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(**{db.DEFERRED: True})
        else:
            conn = conn.execution_options(isolation_level="REPEATABLE READ",
                                          postgresql_readonly=True)
        with conn.begin():
            yield conn


def verify(conn: Connection, audit: bool = True) -> LedgerReport:
    """Check the ledger against itself, the pools and (unless `audit` is False) the audit
    log; every problem found, in a report. Give it a connection inside one transaction
    (`snapshot`), so that settlements committed meanwhile are not half seen."""
    report = LedgerReport()
    codes = {i: c for i, c in conn.execute(select(Institution.id, Institution.code))}

    def key(e: _Entry) -> str:
        return f"{codes.get(e.institution_id, f'institution#{e.institution_id}')}/" \
               f"{e.medins_setl_id}"

    settled: dict[int, _Entry] = {}  # id → settle entry
    reversed_by: dict[int, list[str]] = defaultdict(list)  # settle id → cancelling setl_ids
    cancels: list[tuple[_Entry, int | None]] = []
    per_key: Counter[tuple[int, str, str]] = Counter()
    setl_ids: Counter[str] = Counter()
    years: set[tuple[int, int]] = set()
    psn: dict[int, str] = {}  # person id → psn_no, as the ledger names them

    def who(person_id: int, year: int) -> str:
        return f"person {psn.get(person_id, f'#{person_id}')} year {year}"

    for row in conn.execution_options(yield_per=2000).execute(_LEDGER):
        amounts = tuple(int(getattr(row, name)) for name in AMOUNT_COLUMNS)
        e = _Entry(int(row.id), row.setl_id, row.kind, row.institution_id, row.medins_setl_id,
                   row.person_id, row.year, amounts, _exact(row.pool_deltas))
        setl_ids[e.setl_id] += 1
        per_key[(e.institution_id, e.medins_setl_id, e.kind)] += 1
        years.add((e.person_id, e.year))
        psn[e.person_id] = row.psn_no
        a = dict(zip(AMOUNT_COLUMNS, amounts, strict=True))
        if sum(a[n] for n in PAID) != a["medfee_sumamt"]:
            report.problem(f"{e.kind} {e.setl_id} ({key(e)}): amounts do not add up: "
                           f"{' + '.join(f'{n} {a[n]}' for n in PAID)} = "
                           f"{sum(a[n] for n in PAID)}, not medfee_sumamt "
                           f"{a['medfee_sumamt']}")
        if sum(a[n] for n in MAF_TIERS) != a["maf_pay"]:
            report.problem(f"{e.kind} {e.setl_id} ({key(e)}): tiers do not add up: "
                           f"{' + '.join(f'{n} {a[n]}' for n in MAF_TIERS)} = "
                           f"{sum(a[n] for n in MAF_TIERS)}, not maf_pay {a['maf_pay']}")
        if e.deltas is None:
            report.problem(f"{e.kind} {e.setl_id} ({key(e)}): pool deltas unreadable: "
                           f"{row.pool_deltas!r}")
        if e.kind == "settle":
            report.settlements += 1
            settled[e.id] = e
            if row.reverses_id is not None:
                report.problem(f"settle {e.setl_id} ({key(e)}) reverses entry "
                               f"{row.reverses_id}: only a cancellation reverses one")
        elif e.kind == "cancel":
            report.cancellations += 1
            cancels.append((e, row.reverses_id))
        else:
            report.problem(f"entry {e.setl_id} ({key(e)}): unknown kind {e.kind!r}")

    for sid, n in sorted(setl_ids.items()):
        if n > 1:
            report.problem(f"setl_id {sid} appears {n} times in the ledger")
    for (inst, medins, kind), n in sorted(per_key.items()):
        if n > 1:
            what = "settled" if kind == "settle" else "cancelled" if kind == "cancel" else kind
            report.problem(f"{codes.get(inst, inst)}/{medins} {what} {n} times (once at most)")

    expected: dict[tuple[int, int], Pools] = defaultdict(dict)
    adjusted: dict[int, tuple[Counter[str], Pools]] = {}
    years |= _adjustments(conn, report, settled, expected, adjusted)
    for c, target in cancels:
        original = settled.get(target) if target is not None else None
        if original is None:
            report.problem(f"cancel {c.setl_id} ({key(c)}) reverses "
                           f"{'nothing' if target is None else f'entry {target}'}, "
                           f"not a settlement in the ledger")
            continue
        reversed_by[original.id].append(c.setl_id)
        same = (c.institution_id, c.medins_setl_id, c.person_id, c.year)
        if same != (original.institution_id, original.medins_setl_id, original.person_id,
                    original.year):
            report.problem(f"cancel {c.setl_id} ({key(c)}) is not of the institution, "
                           f"hospital id, person and year of {original.setl_id} "
                           f"({key(original)})")
        tiers, adj_deltas = adjusted.get(original.id, (Counter(), {}))
        if c.amounts != tuple(-(x + tiers[n]) for n, x in zip(AMOUNT_COLUMNS, original.amounts,
                                                             strict=True)):
            report.problem(f"cancel {c.setl_id} ({key(c)}): its amounts are not those of "
                           f"{original.setl_id} and its adjustments negated")
        if c.deltas is not None and original.deltas is not None:
            stood: Pools = dict(original.deltas)
            _add(stood, adj_deltas)
            if c.deltas != {k: -v for k, v in stood.items()}:
                report.problem(f"cancel {c.setl_id} ({key(c)}): its pool deltas "
                               f"{_show(c.deltas)} are not those of {original.setl_id} and "
                               "its adjustments negated")
    for original_id, by in sorted(reversed_by.items()):
        if len(by) > 1:
            twice = settled[original_id]
            report.problem(f"settlement {twice.setl_id} ({key(twice)}) is cancelled "
                           f"{len(by)} times: {', '.join(sorted(by))}")

    # What the pools must be: the deltas of every entry, settlement or cancellation, and
    # of the adjustments (added above)
    for e in [*settled.values(), *(c for c, _ in cancels)]:
        if e.deltas is not None:
            _add(expected[(e.person_id, e.year)], e.deltas)
    stored_rows = conn.execute(select(PersonYear.person_id, PersonYear.year, PersonYear.pools)
                               .order_by(PersonYear.person_id, PersonYear.year))
    stored_years: set[tuple[int, int]] = set()
    for person_id, year, stored in stored_rows:
        stored_years.add((person_id, year))
        have = _exact(stored)
        want = expected.get((person_id, year), {})
        if have is None:
            report.problem(f"{who(person_id, year)}: pools unreadable: {stored!r}")
        elif have != want:
            report.problem(f"{who(person_id, year)}: pools {_show(have)} stored, "
                           f"the ledger gives {_show(want)}")
    for person_id, year in sorted(set(expected) - stored_years):
        if expected[(person_id, year)]:
            report.problem(f"{who(person_id, year)}: no pools stored, the ledger "
                           f"gives {_show(expected[(person_id, year)])}")
    report.person_years = len(stored_years | years)

    _year_end(conn, report, audit)
    if audit:
        _against_audit(conn, report, settled, cancels)
    return report


def _adjustments(conn: Connection, report: LedgerReport, settled: dict[int, _Entry],
                 expected: dict[tuple[int, int], Pools],
                 adjusted: dict[int, tuple[Counter[str], Pools]]) -> set[tuple[int, int]]:
    """Each adjustment adjusts a settlement of its person-year, adds up, and its pool
    deltas count in its year's pools; each settlement's adjustments summed into
    `adjusted` (tiers, pool deltas); the person-years adjusted."""
    rows = conn.execution_options(yield_per=2000).execute(
        select(Adjustment.adj_id, Adjustment.settlement_id, Adjustment.person_id,
               Adjustment.year, Adjustment.pool_deltas,
               *(getattr(Adjustment, n) for n in TIERS))
        .order_by(Adjustment.id))
    years = set()
    for row in rows:
        tiers, adj_deltas = adjusted.setdefault(row.settlement_id, (Counter(), {}))
        tiers.update({n: getattr(row, n) for n in TIERS})
        years.add((row.person_id, row.year))
        target = settled.get(row.settlement_id)
        if target is None or (target.person_id, target.year) != (row.person_id, row.year):
            report.problem(f"adjustment {row.adj_id} adjusts entry {row.settlement_id}, not a "
                           f"settlement of its person and year")
        total = row.hifp_pay + row.hifmi_pay + row.maf_pay + row.psn_part_amt
        if total:
            report.problem(f"adjustment {row.adj_id}: differences do not add up: hifp_pay "
                           f"{row.hifp_pay} + hifmi_pay {row.hifmi_pay} + maf_pay "
                           f"{row.maf_pay} + psn_part_amt {row.psn_part_amt} = {total}, not 0")
        tiers = sum(getattr(row, n) for n in MAF_TIERS)
        if tiers != row.maf_pay:
            report.problem(f"adjustment {row.adj_id}: tiers do not add up: "
                           f"{' + '.join(f'{n} {getattr(row, n)}' for n in MAF_TIERS)} = "
                           f"{tiers}, not maf_pay {row.maf_pay}")
        deltas = _exact(row.pool_deltas)
        if deltas is None:
            report.problem(f"adjustment {row.adj_id}: pool deltas unreadable: "
                           f"{row.pool_deltas!r}")
        else:
            _add(expected[(row.person_id, row.year)], deltas)
            _add(adj_deltas, deltas)
    return years


def _year_end(conn: Connection, report: LedgerReport, audit: bool) -> None:
    """The year-end ledger adds up, stage by stage, and agrees with the fund journal (and
    the audit log) person-year by person-year."""
    paid: Counter[tuple[str, str, int, str]] = Counter()  # fund-year and reference → fen
    by_ref: Counter[str] = Counter()
    last: dict[tuple[int, int, str], tuple[int, int]] = {}  # stage → (seq, total)
    for row in conn.execution_options(yield_per=2000).execute(
            select(YearEndPayout.payout_id, YearEndPayout.person_id, YearEndPayout.psn_no,
                   YearEndPayout.jurisdiction, YearEndPayout.district, YearEndPayout.year,
                   YearEndPayout.rule, YearEndPayout.seq, YearEndPayout.amount,
                   YearEndPayout.total)
            .order_by(YearEndPayout.person_id, YearEndPayout.year, YearEndPayout.rule,
                      YearEndPayout.seq, YearEndPayout.id)):
        stage = (row.person_id, row.year, row.rule)
        seq, total = last.get(stage, (0, 0))
        what = f"year-end payout {row.payout_id} (person {row.psn_no} year {row.year} " \
               f"{row.rule} #{row.seq})"
        if row.seq != seq + 1:
            report.problem(f"{what}: follows entry #{seq} of its stage")
        if total + row.amount != row.total:
            report.problem(f"{what}: total {row.total}, but its entries sum to "
                           f"{total + row.amount}")
        if row.total < 0:
            report.problem(f"{what}: total {row.total} below zero")
        last[stage] = (row.seq, total + row.amount)
        ref = f"person_year:{row.psn_no}/{row.year}"
        paid[(row.jurisdiction, row.district, row.year, ref[:80])] += row.amount
        by_ref[ref] += row.amount
    journal: Counter[tuple[str, str, int, str]] = Counter()
    for j, d, y, ref, amount in conn.execute(
            select(JournalEntry.jurisdiction, JournalEntry.district, JournalEntry.year,
                   JournalEntry.ref, func.sum(JournalLine.debit - JournalLine.credit))
            .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
            .where(JournalEntry.kind == "year_end",
                   JournalLine.account == "assistance_expense")
            .group_by(JournalEntry.jurisdiction, JournalEntry.district, JournalEntry.year,
                      JournalEntry.ref)):
        journal[(j, d, int(y), ref)] = int(amount)
    for k in sorted(set(paid) | set(journal)):
        if paid[k] != journal[k]:
            report.problem(f"year-end {k[3]} of fund {k[0]}/{k[1]} {k[2]}: the year-end "
                           f"ledger pays {paid[k]}, the fund journal expenses {journal[k]}")
    if not audit:
        return
    logged: Counter[str] = Counter()
    for obj, detail in conn.execute(select(AuditEntry.object, AuditEntry.detail)
                                    .where(AuditEntry.action == "year_end")):
        said = detail.get("amount") if isinstance(detail, Mapping) else None
        logged[str(obj)] += said if isinstance(said, int) else 0
    for ref in sorted(set(by_ref) | set(logged)):
        if by_ref[ref] != logged[ref]:
            report.problem(f"year-end {ref}: the year-end ledger pays {by_ref[ref]}, its "
                           f"audit entries say {logged[ref]}")


def _against_audit(conn: Connection, report: LedgerReport, settled: dict[int, _Entry],
                   cancels: list[tuple[_Entry, int | None]]) -> None:
    """Every settle/cancel of the audit log is in the ledger, and the other way round."""
    logged_settles: Counter[str] = Counter()
    logged_cancels: Counter[str] = Counter()
    rows = conn.execution_options(yield_per=2000).execute(
        select(AuditEntry.seq, AuditEntry.action, AuditEntry.object, AuditEntry.detail)
        .where(AuditEntry.action.in_(("settle", "cancel"))).order_by(AuditEntry.seq))
    for seq, action, obj, detail in rows:
        prefix, _, sid = str(obj).partition(":")
        if prefix != "settlement" or not sid:
            report.problem(f"audit entry {seq} ({action}) names no settlement: {obj!r}")
            continue
        if action == "settle":
            logged_settles[sid] += 1
        else:
            by = _text(detail, "cancelled_by")
            logged_cancels[by or f"? (of {sid})"] += 1
    ledger_settles = Counter(e.setl_id for e in settled.values())
    ledger_cancels = Counter(c.setl_id for c, _ in cancels)
    for what, logged, ledger in (("settlement", logged_settles, ledger_settles),
                                 ("cancellation", logged_cancels, ledger_cancels)):
        for sid in sorted(set(logged) | set(ledger)):
            if logged[sid] and not ledger[sid]:
                report.problem(f"{what} {sid} is in the audit log but not in the ledger "
                               f"(a lost ledger row)")
            elif ledger[sid] and not logged[sid]:
                report.problem(f"{what} {sid} is in the ledger but not in the audit log")
            elif logged[sid] > 1:
                report.problem(f"{what} {sid} is logged {logged[sid]} times in the audit log")


def _text(detail: Any, name: str) -> str | None:
    value = detail.get(name) if isinstance(detail, Mapping) else None
    return value if isinstance(value, str) else None
