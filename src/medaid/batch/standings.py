"""Identity standings per visit, columnar (RULES §3 身份 and the windows of §4).

For each visit and each identity slot k of its person (slot k holds the person's k-th
identity), the standing is computed with numpy over all visits at once: in force, in a
look-back period (with its ratio and the entry it comes from, whose `rules` the ratio
applies to), YC-T tilt-only look-back, or none. The periods are tried in the engine's
order (`engine.windows.periods`): look-backs with a ratio of their own, the window in
force, look-backs without, the tilted look-back. Window bounds are per identity, computed
once; per visit there are only gathers and comparisons. The kernel then orders the
standings of a visit by tie order alone and drops duplicates exactly as
`engine.windows.standings` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from medaid.batch.schema import EPOCH, NO_DATE, PersonColumns
from medaid.core.errors import MedaidError
from medaid.policy.model import Policy
from medaid.policy.schema import KINDS, Grace, Windows

I8 = npt.NDArray[np.int8]
I16 = npt.NDArray[np.int16]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

# COUNTED: in a `counts_only` look-back (engine mode `counted`): into the pools, not paid
NONE, IN_FORCE, LOOKBACK, COUNTED = 0, 1, 2, 3
OPEN = np.iinfo(np.int32).max  # no exit date


@dataclass(frozen=True)
class Standings:
    """[slot, visit]: category (global code), mode (NONE: no standing), look-back ratio
    (bp, −1: the line's own) and look-back entry (−1: none); [visit]: 1 + the look-back
    entry whose ratio the visit needs and the year does not resolve (0: none), an error the
    kernel reports in the visit's turn, as the engine would."""

    cat: I16
    mode: I8
    ratio: I16
    lookback: I8
    problem: I16

    @staticmethod
    def empty(slots: int, n: int) -> Standings:
        return Standings(np.empty((slots, n), np.int16), np.empty((slots, n), np.int8),
                         np.empty((slots, n), np.int16), np.empty((slots, n), np.int8),
                         np.zeros(n, np.int16))

    def part(self, lo: int, hi: int) -> Standings:
        return Standings(self.cat[:, lo:hi], self.mode[:, lo:hi], self.ratio[:, lo:hi],
                         self.lookback[:, lo:hi], self.problem[lo:hi])


def add_months(days: I32, months: int) -> I32:
    """`dates.add_months` over arrays of days: the same calendar day, or the month's last."""
    d = days.astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    offset = d - m.astype("datetime64[D]")
    target = m + np.timedelta64(months, "M")
    last = (target + np.timedelta64(1, "M")).astype("datetime64[D]") - np.timedelta64(1, "D")
    out = np.minimum(target.astype("datetime64[D]") + offset, last)
    return np.asarray(out.astype(np.int64), np.int32)


def month_start(days: I32) -> I32:
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(
        "datetime64[D]").astype(np.int64).astype(np.int32)


def month_end(days: I32) -> I32:
    m = days.astype("datetime64[D]").astype("datetime64[M]") + np.timedelta64(1, "M")
    return (m.astype("datetime64[D]") - np.timedelta64(1, "D")).astype(np.int64).astype(
        np.int32)


def graced(grace: list[Grace], categories: Sequence[str], ident_cat: I32, to: I32
           ) -> list[tuple[int, npt.NDArray[np.bool_]]]:
    """Per `windows.grace` entry, its months and the exited identities it applies to: the
    first entry listing the identity's category whose exit date it meets
    (`engine.windows._grace`)."""
    closed = to != NO_DATE
    known = ident_cat >= 0
    left = closed & known  # exited identities no entry has taken yet
    out = []
    for g in grace:
        listed = np.array([c in g.categories for c in categories] or [False])
        mine = left & listed[np.where(known, ident_cat, 0)]
        if g.exited_since is not None:
            mine &= to >= (g.exited_since - EPOCH).days
        left &= ~mine
        out.append((g.months, mine))
    return out


def held_until(w: Windows, categories: Sequence[str], ident_cat: I32, to: I32) -> I32:
    """Each identity's last day held (`engine.windows.held_until`): its exit `to`, or the
    end of its 渐退期; NO_DATE where open."""
    out = to.copy()
    for months, mine in graced(w.grace, categories, ident_cat, to):
        out = np.where(mine, np.maximum(out, add_months(np.where(mine, to, 0), months)), out)
    return out


def year_of(days: I32) -> I32:
    """Calendar year of each day: a table over the days present, then one gather."""
    if not len(days):
        return np.zeros(0, np.int32)
    lo, hi = int(days.min()), int(days.max())
    first = np.datetime64(lo, "D").astype("datetime64[Y]")
    last = np.datetime64(hi, "D").astype("datetime64[Y]")
    if first == last:
        return np.full(len(days), first.astype(np.int64) + 1970, np.int32)
    starts = np.arange(first, last + np.timedelta64(2, "Y")).astype("datetime64[D]").astype(
        np.int64)
    table = np.repeat(np.arange(first.astype(np.int64), last.astype(np.int64) + 1) + 1970,
                      np.diff(starts))[lo - starts[0]: hi - starts[0] + 1].astype(np.int32)
    return table[days - lo]


def compute(policy: Policy, persons: PersonColumns, ident_cat: I32, categories: list[str],
            person: I64, start: I32, end: I32, year: I32, stay: npt.NDArray[np.bool_],
            setting: npt.NDArray[np.int8], plan: I32, lookback_ratio: I64,
            problems: dict[tuple[int, int], MedaidError], slots: int,
            out: Standings | None = None) -> Standings:
    """Standings of visits under one policy version (into `out` when given: views of a
    larger population's arrays).

    `person` is each visit's person row, `ident_cat` the identities' global category codes,
    `stay` whether the stay rule applies to the visit, `setting` its setting's code (in
    `schema.KINDS`: what a look-back's `kinds` reads), `plan` its plan and
    `lookback_ratio[plan, entry]` the ratio of each look-back entry in the plan's year.
    """
    w = policy.spec.windows
    n = len(person)
    off = persons.ident_offsets
    count = np.diff(off)
    # Per identity, plus one never-covering identity at the end for persons with none.
    never = np.array([OPEN], np.int32)
    frm, to, app = persons.ident_from, persons.ident_to, persons.ident_application
    first = np.concatenate((month_start(frm) if w.start == "month_start" else
                            month_end(frm) + 1 if w.start == "next_month" else frm, never))
    closed = to != NO_DATE
    if w.end == "exact":
        exit_day = to
    elif w.end == "day_before":
        exit_day = to - 1
    else:  # month-end exit, only for `month_end_categories` when listed (JS-W)
        listed = w.month_end_categories
        month_end_cat = np.array([listed is None or c in listed for c in categories] or [False])
        exit_day = np.where(month_end_cat[ident_cat] if len(ident_cat) else False,
                            month_end(np.where(closed, to, frm)), to)
    for months, mine in graced(w.grace, categories, ident_cat, to):  # 渐退期: to `to` + months
        exit_day = np.where(mine, np.maximum(exit_day, add_months(np.where(mine, to, frm),
                                                                  months)), exit_day)
    last = np.concatenate((np.where(closed, exit_day, OPEN).astype(np.int32), never - 1))
    cats = np.concatenate((ident_cat, [0])).astype(np.int16)
    lookbacks = []
    for j, lb in enumerate(w.lookback):
        member = np.array([c in lb.categories for c in categories])
        anchor = np.where(app != NO_DATE, app, frm) if lb.before == "application" else frm
        lookbacks.append((j, member, np.concatenate((add_months(anchor, -lb.months), never)),
                          np.concatenate(((frm if lb.until == "from" else anchor) - 1,
                                          never - 1))))
    # a look-back with a ratio of its own is tried before the window (NB-A3 after recognition)
    with_ratio = [lb for lb in lookbacks if w.lookback[lb[0]].ratio is not None]
    without = [lb for lb in lookbacks if w.lookback[lb[0]].ratio is None]
    from_year = np.concatenate((year_of(frm), [-2])).astype(np.int32)
    frm_all = np.concatenate((frm, never))  # `never`'s row: recognised on no day
    tapp = persons.tilted_application  # the year of a person's tilted application; −1: none
    applied_year = np.where(tapp != NO_DATE, year_of(np.where(tapp == NO_DATE, 0, tapp)),
                            -1).astype(np.int32) if any(
        lb.with_tilted_application for lb in w.lookback) else None

    probe = np.where(stay, start, end)  # a stay is covered when any of its days is
    if out is None:
        out = Standings.empty(slots, n)
    cat, mode, ratio, entry = out.cat, out.mode, out.ratio, out.lookback  # ratio: bp ≤ 10,000
    problem = out.problem
    problem[:] = 0
    mode[:] = NONE
    ratio[:] = -1
    entry[:] = -1
    first_ident = np.where(count > 0, off[:-1], len(frm)).astype(np.int32)
    for k in range(slots):
        # Slot 0 over every visit; later slots over the visits of persons with more than k
        # identities.
        rows = None if k == 0 else np.flatnonzero((count > k)[person])
        if rows is not None and not len(rows):
            cat[k:] = -1
            break
        idx = first_ident[person] if rows is None else first_ident[person[rows]] + k
        e = end if rows is None else end[rows]
        pr = probe if rows is None else probe[rows]
        c = cats[idx]
        m = np.zeros(len(idx), np.int8)
        pending = np.ones(len(idx), bool)

        for phase in ("with_ratio", "window", "without"):
            if phase == "window":
                inside = pending & (e >= first[idx]) & (pr <= last[idx])
                m[inside] = IN_FORCE
                pending &= ~inside
                continue
            for j, member, lo, hi in with_ratio if phase == "with_ratio" else without:
                candidates = np.flatnonzero(pending & member[c])
                if not len(candidates):
                    continue
                ci = idx[candidates]
                fits = (e[candidates] >= lo[ci]) & (pr[candidates] <= hi[ci])
                lb = w.lookback[j]
                rows_c = candidates if rows is None else rows[candidates]
                if lb.new_this_year:  # 当年新认定: recognised in the visit's year
                    fits &= from_year[ci] == year[rows_c]
                if lb.recognised_since is not None:  # …以后新认定的
                    fits &= frm_all[ci] >= (lb.recognised_since - EPOCH).days
                if lb.with_tilted_application:  # 依申请: applied in the visit's year
                    assert applied_year is not None
                    fits &= applied_year[person[rows_c]] == year[rows_c]
                if lb.kinds != "*":  # only the visits of its settings
                    fits &= np.isin(setting[rows_c], [KINDS.index(k) for k in lb.kinds])
                hit = candidates[fits]
                if len(hit):
                    rows_hit = hit if rows is None else rows[hit]
                    plans = plan[rows_hit]
                    for p in np.unique(plans):
                        if (int(p), j) in problems:
                            bad = rows_hit[plans == p]
                            problem[bad] = np.where(problem[bad] == 0, j + 1, problem[bad])
                    m[hit] = COUNTED if lb.counts_only else LOOKBACK
                    ratio[k, rows_hit] = lookback_ratio[plans, j]
                    entry[k, rows_hit] = j
                    pending[hit] = False
        if rows is None:
            cat[k] = c
            mode[k] = m
        else:
            cat[k] = -1
            cat[k, rows] = c
            mode[k, rows] = m
    return out
