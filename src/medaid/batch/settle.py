"""Settle a population: columns in, one result per visit out, equal to the engine's.

`settle_population` takes the visits and persons as arrays (`batch.schema`), compiles the
(version, year) plans they need, computes the standings, runs the kernel and returns the
results in the visits' order. `settle_file` does the same from a Parquet population.
Visits are settled per person and calendar year of their end date, in the order given
(the file's order within a person-year); a file not grouped that way is reordered for
the scan, stably, and the results put back in its order.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from medaid.batch import kernel, standings
from medaid.batch.plan import (
    L_INCLUDE,
    POOL_LIMIT,
    S_INCLUDE,
    S_WHEN,
    S_YEAR_END_HELD,
    S_YEAR_END_HELD_ONLY,
    T_APP,
    Plans,
    compile_plans,
)
from medaid.batch.schema import (
    EPOCH,
    NO_DATE,
    RESULTS,
    VISIT_INPUT,
    PersonColumns,
    VisitColumns,
    person_columns,
    read_population,
    visit_columns,
)
from medaid.core.errors import InputError, MissingParameter, PolicyError
from medaid.engine import insurance
from medaid.engine.case import LOCATIONS, REFERRALS
from medaid.engine.types import INPATIENT_SETTINGS
from medaid.policy.model import ConditionKey, Policy
from medaid.policy.schema import KINDS

I8 = npt.NDArray[np.int8]
I16 = npt.NDArray[np.int16]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

PARALLEL_FROM = 50_000  # visits: below this one thread is faster than several


@dataclass(frozen=True)
class PersonYears:
    """The person-years settled, in scan order: visits `off[g]..off[g+1]` of the scan
    (`order[k]` is the row of the k-th visit scanned; None: the visits' own order)."""

    off: I64
    order: I64 | None
    person: I64  # person_key
    year: I32
    plan: I32  # the person-year's closing plan: of the version in force on its 31 December
    pools: I64  # [person-year, pool slot]: each pool at the end of the year (fen; base pools
    # hold the cumulative base, cap pools what they have paid)
    end: I64 | None = None  # with snapshots: [person-year, slot + kernel.SNAPSHOT_EXTRA]
    # [person-year, stage]: what each `when: year_end` stage of the closing plan paid
    # (`engine.stages.at_year_end`), −1: not run (no visit qualified, or a visit stage)
    year_end: I64 = field(default_factory=lambda: np.zeros((0, 1), np.int64))

    def __len__(self) -> int:
        return len(self.person)

    def total(self, per_visit: I64) -> I64:
        """The sum of a per-visit amount over each person-year (exact, int64)."""
        if not len(self.person):
            return np.zeros(0, np.int64)
        scanned = per_visit if self.order is None else per_visit[self.order]
        return np.add.reduceat(scanned, self.off[:-1]).astype(np.int64)


@dataclass(frozen=True)
class Results:
    """One settlement per visit (arrays in the visits' order); amounts in fen."""

    plans: Plans
    year: I32
    kind: I8
    settled_as: I8  # index into KINDS
    category: I16  # index into plans.categories, −1: none in force
    plan: I32
    line_mask: I64  # bit i: line i of the plan's policy paid
    medfee_sumamt: I64
    inscp_scp_amt: I64
    hifp_pay: I64
    hifmi_pay: I64
    oth_pay: I64
    base: I64
    assistance: I64
    tilted: I64
    special: I64
    years: PersonYears
    reassistance: I64  # what the `when: visit` stages paid (再救助, within maf_pay)
    stage_mask: I64  # bit k: the plan's stage k paid the visit
    # with snapshots: [visit, slot + kernel.SNAPSHOT_EXTRA], every pool before the visit
    before: I64 | None = None

    @property
    def maf_pay(self) -> I64:
        return self.assistance + self.tilted + self.special + self.reassistance

    def year_end_paid(self) -> I64:
        """What the year-end stages paid each person-year (`PersonYears`), in all."""
        return np.asarray(np.maximum(self.years.year_end, 0).sum(axis=1), np.int64)

    @property
    def psn_part_amt(self) -> I64:
        return self.medfee_sumamt - self.hifp_pay - self.hifmi_pay - self.oth_pay \
            - self.maf_pay

    def __len__(self) -> int:
        return len(self.year)

    def rules(self) -> tuple[I32, list[str]]:
        """Each visit's rules (`NJ-A2+NJ-T`, '' for none) as dictionary codes and names."""
        paid, paid_codes = _factorize((self.line_mask << 1) | (self.tilted > 0))
        stage_codes = np.zeros(len(paid_codes), np.int64)
        if bool(self.stage_mask.any()):  # then the stages that paid, in their order
            span = int(self.stage_mask.max()) + 1
            paid, both = _factorize(paid.astype(np.int64) * span + self.stage_mask)
            paid_codes, stage_codes = paid_codes[both // span], both % span
        n = self.plans.n
        ids, codes = _factorize(paid.astype(np.int64) * n + self.plan) if n > 1 else \
            (paid, np.arange(len(paid_codes), dtype=np.int64))
        names = []
        for c in codes.tolist():
            p, k = (c % n, c // n) if n > 1 else (0, c)
            mask, tilted = int(paid_codes[k]) >> 1, int(paid_codes[k]) & 1
            found = [r for i, r in enumerate(self.plans.rules[p]) if mask >> i & 1]
            tilted_rule = self.plans.tilted_rule[p]
            if tilted and tilted_rule:
                found.append(tilted_rule)
            stages = int(stage_codes[k])
            found += [r for i, r in enumerate(self.plans.stage_rules[p]) if stages >> i & 1]
            names.append("+".join(found))
        return ids, names

    def table(self, person_key: I64, visit_id: pa.ChunkedArray | pa.Array) -> pa.Table:
        """The results as an Arrow table (`schema.RESULTS`)."""
        rule_ids, rule_names = self.rules()
        kinds = pa.array(list(KINDS), pa.string())
        cats = pa.array(self.plans.categories, pa.string())
        cat = pa.array(self.category, pa.int16(), mask=self.category < 0)
        if isinstance(visit_id, pa.ChunkedArray):
            visit_id = visit_id.combine_chunks()
        if not pa.types.is_dictionary(visit_id.type):
            visit_id = visit_id.dictionary_encode()
        columns: list[pa.Array] = [
            pa.array(person_key, pa.int64()), visit_id.cast(RESULTS.field("visit_id").type),
            pa.array(self.year.astype(np.int16), pa.int16()),
            pa.DictionaryArray.from_arrays(pa.array(self.kind, pa.int8()), kinds),
            pa.DictionaryArray.from_arrays(pa.array(self.settled_as, pa.int8()), kinds),
            pa.DictionaryArray.from_arrays(cat, cats),
            pa.DictionaryArray.from_arrays(pa.array(rule_ids, pa.int32()),
                                           pa.array(rule_names, pa.string())),
        ]
        for name in ("medfee_sumamt", "inscp_scp_amt", "hifp_pay", "hifmi_pay", "oth_pay",
                     "base", "assistance", "tilted", "special", "reassistance", "maf_pay",
                     "psn_part_amt"):
            columns.append(pa.array(getattr(self, name), pa.int64()))
        return pa.Table.from_arrays(columns, schema=RESULTS)


def _factorize(codes: I64) -> tuple[I32, I64]:
    """Dense ids of `codes` and the code of each id (few distinct codes: a hash table)."""
    ids, uniques, ok = kernel.factorize(codes, 4096)
    if not ok:
        uniques, ids = np.unique(codes, return_inverse=True)
    return np.asarray(ids, np.int32), np.asarray(uniques, np.int64)


def _person_rows(visits: VisitColumns, persons: PersonColumns) -> I64:
    """Each visit's row in the persons table (by `person_key`)."""
    keys = persons.key
    n = len(keys)
    # Keys in sequence (a whole file, or a partition of one): a row is the key's offset.
    if n and keys[-1] - keys[0] == n - 1 and bool(np.all(np.diff(keys) == 1)):
        rows = visits.person - keys[0]
        bad = (rows < 0) | (rows >= n)
    else:
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        if n > 1 and bool(np.any(sorted_keys[1:] == sorted_keys[:-1])):
            dup = int(order[1:][sorted_keys[1:] == sorted_keys[:-1]][0])
            raise InputError(f"persons[{dup}].person_key", "duplicate person_key")
        at = np.minimum(np.searchsorted(sorted_keys, visits.person), max(0, n - 1))
        rows = order[at] if n else np.zeros(len(visits), np.int64)
        bad = (sorted_keys[at] != visits.person) if n else np.ones(len(visits), bool)
    if len(visits) and bool(bad.any()):
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"visits[{row}].person_key",
                         f"no person with person_key {int(visits.person[row])}")
    return np.asarray(rows, np.int64)


def _day(days: int) -> str:
    return str(EPOCH + timedelta(days=int(days)))


def _plans_of(versions: Sequence[Policy], visits: VisitColumns, year: I32
              ) -> tuple[list[tuple[int, int]], I32, I32]:
    """The (version, year) plans the visits need, each visit's plan, and each year's
    closing plan (by year − the first year): that of the version in force on its 31
    December, whose year-end stages pay, whatever order its visits come in."""
    if not len(visits):
        return [], np.zeros(0, np.int32), np.zeros(0, np.int32)
    starts = np.array([(v.in_force - EPOCH).days for v in versions], np.int64)
    early = int(visits.end.min()) < starts[0]
    if early:
        row = int(np.flatnonzero(visits.end < starts[0])[0])
        first = versions[0]
        raise InputError(f"visits[{row}].end", f"no policy in force for {first.jurisdiction} on "
                         f"{_day(visits.end[row])} (visits[{row}].start "
                         f"{_day(visits.start[row])}); in force from {first.in_force}")
    y0, y1 = int(year.min()), int(year.max())
    if len(versions) == 1 and y0 == y1:  # the usual file: one version, one year
        return [(0, y0)], np.zeros(len(visits), np.int32), np.zeros(1, np.int32)
    version = np.searchsorted(starts, visits.end, side="right") - 1
    span = y1 - y0 + 1
    code = version * span + (year - y0)
    years = np.arange(y0, y1 + 1)
    closing = np.searchsorted(starts, _year_days(years)[1], side="right") * span - span \
        + (years - y0)
    counts = np.bincount(code, minlength=len(versions) * span)
    counts[closing[np.isin(years, year)]] += 1  # a year's closing plan, visits under it or not
    present = np.flatnonzero(counts)
    table = np.full(len(versions) * span, -1, np.int32)
    table[present] = np.arange(len(present), dtype=np.int32)
    keys = [(int(c) // span, int(c) % span + y0) for c in present]
    return keys, table[code], table[closing]


def _year_days(years: npt.NDArray[np.int64]) -> tuple[I64, I64]:
    """The first and last day (days since 1970) of each year."""
    first = (years - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    after = (years - 1969).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    return first, after - 1


def _held_at_year_end(versions: Sequence[Policy], version_of: I32, plans: Plans,
                      persons: PersonColumns, ident_cat: I32, group_off: I64, person: I64,
                      year: I32, group_plan: I32, last_held: bool) -> I64:
    """Per person-year, the category held at the year's end, for the year-end stages that
    go by it (`category_at: year_end`), else (`last_held`) the one held last before it;
    −1 for all where no plan has such a stage. An identity is held through its 渐退期, by
    each version's `windows.grace`."""
    n_groups = len(group_off) - 1
    timing = S_YEAR_END_HELD if last_held else S_YEAR_END_HELD_ONLY
    if not bool((plans.stages[..., S_WHEN] == timing).any()) or not n_groups:
        return np.full(n_groups, -1, np.int64)
    _, last = _year_days(year[group_off[:-1]].astype(np.int64))
    held_to = np.stack([standings.held_until(v.spec.windows, plans.categories, ident_cat,
                                             persons.ident_to) for v in versions])
    out: I64 = kernel.held_at_year_end(group_off, person, last, group_plan, version_of,
                                       persons.ident_offsets, persons.ident_from,
                                       held_to, ident_cat, plans.cat_order, last_held)
    return out


def _identity_categories(persons: PersonColumns, plans: Plans) -> I32:
    index = {c: i for i, c in enumerate(plans.categories)}
    known = plans.versions[-1].categories
    lookup = np.array([index.get(c, -1) if c in known else -1
                       for c in persons.ident_category] or [0], np.int32)
    codes = lookup[persons.ident_cat] if len(persons.ident_cat) else persons.ident_cat
    if len(codes) and bool((codes < 0).any()):
        i = int(np.flatnonzero(codes < 0)[0])
        person = int(np.searchsorted(persons.ident_offsets, i, side="right") - 1)
        name = persons.ident_category[persons.ident_cat[i]]
        raise InputError(f"persons[{person}].identities[{i - persons.ident_offsets[person]}]"
                         f".category", f"unknown category {name!r} for "
                         f"{plans.versions[-1].jurisdiction} (one of: {', '.join(known)})")
    return np.asarray(codes, np.int32)


def _selections(plans: Plans, plan: I32, kind: I8, flags: I8, grade: I8, vmask: I64) -> I32:
    """Each visit's selection of alternative line sets, by plan, kind, flags, grade and
    which conditions of exclusive or alternative lines hold (`Plans.sel_conditions`)."""
    shape = plans.sel_of.shape
    held = np.zeros(len(plan), np.int64)
    for j, c in enumerate(plans.sel_conditions.tolist()):
        held |= ((vmask >> c) & 1) << j
    flat = (((plan * shape[1] + kind) * shape[2] + flags) * shape[3] + grade) * shape[4] + held
    return np.asarray(plans.sel_of.reshape(-1)[flat], np.int32)


def condition_bits(conditions: Sequence[ConditionKey], visits: VisitColumns,
                   persons: PersonColumns, person: I64) -> I64:
    """Bit c of a visit: whether `conditions[c]` holds for it (`engine.conditions.meets`):
    every status held on its end date and none of the barred, its location, hospital level
    and referral listed."""
    n = len(visits)
    out = np.zeros(n, np.int64)
    held: dict[str, npt.NDArray[np.bool_]] = {}
    for c, (statuses, barred, locations, levels, referrals) in enumerate(conditions):
        ok = np.ones(n, bool)
        for name in (*statuses, *barred):
            if name not in held:
                held[name] = _holds(persons, person, visits.end, name)
        for name in statuses:
            ok &= held[name]
        for name in barred:
            ok &= ~held[name]
        if locations is not None:
            ok &= np.isin(visits.location, [LOCATIONS.index(x) for x in locations])
        if levels is not None:
            ok &= np.isin(visits.level, list(levels))
        if referrals is not None:
            ok &= np.isin(visits.referral, [REFERRALS.index(x) for x in referrals])
        out |= ok.astype(np.int64) << c
    return out


def _holds(persons: PersonColumns, person: I64, day: I32, name: str) -> npt.NDArray[np.bool_]:
    """Whether each visit's person holds status `name` on `day` (`Person.holds`)."""
    out = np.zeros(len(person), bool)
    if name not in persons.status_names:
        return out
    entries = np.flatnonzero(persons.status_id == persons.status_names.index(name))
    owner = np.searchsorted(persons.status_offsets, entries, side="right") - 1
    n_persons = len(persons.status_offsets) - 1
    rank = np.zeros(len(entries), np.int64)  # the entry's place among its person's
    for k in range(1, len(entries)):
        if owner[k] == owner[k - 1]:
            rank[k] = rank[k - 1] + 1
    for r in range(int(rank.max()) + 1 if len(entries) else 0):
        table = np.full(n_persons, -1, np.int64)
        table[owner[rank == r]] = entries[rank == r]
        j = table[person]
        has = j >= 0
        lo = persons.status_from[np.where(has, j, 0)]
        hi = persons.status_to[np.where(has, j, 0)]
        out |= has & ((lo == NO_DATE) | (lo <= day)) & ((hi == NO_DATE) | (day <= hi))
    return out


def settle_population(versions: Sequence[Policy], local: Mapping[str, object],
                      visits: VisitColumns, persons: PersonColumns,
                      threads: int | None = None, snapshots: bool = False) -> Results:
    """Settle every visit with the rules of the engine (`engine.settle.settle_year`).
    `snapshots`: keep every pool before each visit and at each person-year's end
    (`Results.before`, `PersonYears.end`), as re-settlement needs."""
    versions = sorted(versions, key=lambda p: p.in_force)
    n = len(visits)
    year = standings.year_of(visits.end)
    person = _person_rows(visits, persons)
    keys, plan, closing = _plans_of(versions, visits, year)
    plans = compile_plans(versions, local, keys)
    ident_cat = _identity_categories(persons, plans)
    selfpay = visits.selfpay
    assert selfpay is not None  # VisitColumns fills it
    if n and (bool((plans.lines[..., L_INCLUDE] != 0).any())
              or bool((plans.stages[..., S_INCLUDE] != 0).any())) and bool((selfpay < 0).any()):
        raise PolicyError(f"{versions[0].jurisdiction}: a line's or stage's base includes "
                          "self-pay parts "
                          "(preselfpay_amt, overlmt_selfpay, fulamt_ownpay_amt) that these "
                          "visits do not carry")

    # The scan runs per person and calendar year, in the file's order within them: a file
    # grouped so (the usual case) is scanned as it is, any other through a stable sort.
    group_off, ordered = kernel.group_starts(person, year) if n else (np.zeros(1, np.int64),
                                                                      True)
    perm = None
    if not ordered:
        y0 = int(year.min())
        perm = np.argsort(person * 4096 + (year - y0), kind="stable")
        visits = VisitColumns(**{f.name: getattr(visits, f.name)[perm] for f in fields(visits)})
        person, year, plan = person[perm], year[perm], plan[perm]
        group_off, _ = kernel.group_starts(person, year)
    vmask = condition_bits(plans.conditions, visits, persons, person) if plans.conditions \
        else np.zeros(n, np.int64)
    rule_referral = np.empty(n, np.int8)

    grade = persons.grade
    sel = np.empty(n, np.int32)
    setting = np.empty(n, np.int8)
    applied = np.zeros(n, np.int8)
    refused = np.zeros(n, np.int64)  # bits of the categories refusing the visit by its kind
    closed = np.zeros(n, np.int64)  # bits of the categories a refusal closes the visit to
    tapp_year = None
    if bool(plans.tilt[:, T_APP].any()):  # YC-T: an application in the visit's year
        tapp = persons.tilted_application
        tapp_year = np.where(tapp != NO_DATE, standings.year_of(np.where(tapp == NO_DATE, 0,
                                                                          tapp)), -1)
    counts = np.diff(persons.ident_offsets)
    slots = max(1, int(counts.max()) if len(counts) else 1)
    st = standings.Standings.empty(slots, n)
    out = {name: np.empty(n, np.int64) for name in (
        "hifp", "hifmi", "base", "assistance", "tilted", "special", "mask", "reassistance",
        "stage_mask")}
    year_end = np.full((len(group_off) - 1, plans.stages.shape[1]), -1, np.int64)
    version_of = np.array([vi for vi, _ in keys], np.int32)
    # each person-year's closing plan: its year-end stages and the identity held at its end
    group_plan = closing[year[group_off[:-1]] - int(year.min())] if n else \
        np.zeros(0, np.int32)
    held, held_only = (_held_at_year_end(versions, version_of, plans, persons, ident_cat,
                                         group_off, person, year, group_plan, last_held)
                       for last_held in (True, False))
    n_slots = max(1, len(plans.pools))
    pools_o = np.zeros((len(group_off) - 1, n_slots), np.int64)
    width = n_slots + kernel.SNAPSHOT_EXTRA
    before_o = np.zeros((n if snapshots else 0, width), np.int64)
    end_o = np.zeros((len(group_off) - 1 if snapshots else 0, width), np.int64)
    cat_o = np.empty(n, np.int16)
    err_o = np.empty(n, np.int32)
    stays = np.zeros(len(KINDS), bool)
    stays[[KINDS.index(k) for k in INPATIENT_SETTINGS]] = True
    used = sorted({vi for vi, _ in keys})

    def scan(g_lo: int, g_hi: int) -> None:
        """Standings, then the kernel, for person-years g_lo..g_hi−1 (one thread)."""
        lo, hi = int(group_off[g_lo]), int(group_off[g_hi])
        part_visits = slice(lo, hi)
        sel[part_visits] = _selections(plans, plan[part_visits], visits.kind[part_visits],
                                       visits.flags[part_visits], grade[person[part_visits]],
                                       vmask[part_visits])
        setting[part_visits] = plans.sel_setting[sel[part_visits]]
        # the referral rule reads only the visits it names by the kind they are settled as
        # and their location: the others as referred
        scope = plans.referral_scope[plan[part_visits]]
        rule_referral[part_visits] = np.where(
            ((scope[:, 0] >> setting[part_visits]) & (scope[:, 1] >> visits.location[part_visits])
             & 1).astype(bool), visits.referral[part_visits], REFERRALS.index("ok"))
        kind = visits.kind[part_visits]
        refused[part_visits] = np.where(setting[part_visits] != kind,
                                        plans.refused[plan[part_visits], kind], 0)
        closed[part_visits] = plans.closed[plan[part_visits], kind] \
            | plans.closed[plan[part_visits], setting[part_visits]]
        if tapp_year is not None:
            applied[part_visits] = tapp_year[person[part_visits]] == year[part_visits]
        for vi in used:
            policy = versions[vi]
            if len(used) == 1:
                rows: slice | npt.NDArray[np.int64] = slice(lo, hi)
                part = st.part(lo, hi)
            else:
                rows = np.flatnonzero(version_of[plan[lo:hi]] == vi) + lo
                part = None
            stay = stays[setting[rows]]
            end = visits.end[rows]
            if policy.spec.windows.stay_rule == "admission":  # a stay by its admission date
                end = np.where(stay, visits.start[rows], end)
            stay &= bool(policy.spec.windows.stay_rule)
            got = standings.compute(
                policy, persons, ident_cat, plans.categories, person[rows], visits.start[rows],
                end, year[rows], stay, setting[rows], plan[rows], plans.lookback_ratio,
                plans.problems.lookback, slots, part)
            if part is None:
                st.cat[:, rows], st.mode[:, rows], st.ratio[:, rows], st.lookback[:, rows] = \
                    got.cat, got.mode, got.ratio, got.lookback
                st.problem[rows] = got.problem
        kernel.settle_range(
            g_lo, g_hi, group_off, plan, sel, visits.medfee, visits.inscp, visits.hifp,
            visits.hifmi, visits.oth, visits.location, visits.referral, rule_referral,
            visits.level, applied,
            st.cat, st.mode, st.ratio, st.lookback, st.problem, plans.lookback_rules,
            plans.per_visit, plans.by_order, plans.visit_slots, visits.selfpay,
            plans.cat_order, plans.lines, plans.segs, plans.caps,
            plans.covers, plans.sel_setting, plans.sel_alt, plans.alt_line, plans.alt_lines,
            plans.referral, plans.tilt, plans.tilt_entry, plans.tilt_vals, plans.tilt_segs,
            plans.tilt_caps, plans.tilt_referral,
            plans.tilt_location, plans.tilt_setting, plans.ci, plans.ci_segs, plans.bi,
            plans.bi_level, plans.scale, n_slots, vmask, refused, closed, held, held_only,
            plans.stages,
            plans.n_stages, group_plan,
            plans.stage_entry, plans.stage_vals, plans.stage_segs, plans.stage_caps,
                out["hifp"], out["hifmi"], out["base"], out["assistance"], out["tilted"],
            out["special"], cat_o, out["mask"], err_o, pools_o, before_o, end_o,
            out["reassistance"], out["stage_mask"], year_end)

    # Person-years are independent: ranges of them run on threads (numpy and the kernel
    # release the GIL), each of about the same number of visits.
    n_groups = len(group_off) - 1
    workers = 1 if n < PARALLEL_FROM else max(1, min(threads or os.cpu_count() or 1, n_groups))
    cuts = np.searchsorted(group_off, np.linspace(0, n, workers + 1)[1:-1].astype(np.int64))
    bounds = [0, *(int(c) for c in cuts), n_groups]
    ranges = [(a, b) for a, b in pairwise(bounds) if b > a]
    if len(ranges) == 1:
        scan(*ranges[0])
    elif ranges:
        with ThreadPoolExecutor(len(ranges)) as pool:
            list(pool.map(lambda r: scan(*r), ranges))

    starts = group_off[:-1]
    years = PersonYears(group_off, perm, visits.person[starts] if n else np.zeros(0, np.int64),
                        year[starts] if n else np.zeros(0, np.int32),
                        group_plan, pools_o,
                        end_o if snapshots else None, year_end)
    if perm is not None:  # back to the file's order
        inverse = np.empty(n, np.int64)
        inverse[perm] = np.arange(n)
        out = {k: v[inverse] for k, v in out.items()}
        cat_o, err_o, setting = cat_o[inverse], err_o[inverse], setting[inverse]
        if snapshots:
            before_o = before_o[inverse]
        visits = VisitColumns(**{f.name: getattr(visits, f.name)[inverse]
                                 for f in fields(visits)})
        year, plan = year[inverse], plan[inverse]
    if n and bool(err_o.any()):
        _raise(plans, plan, visits, int(np.flatnonzero(err_o)[0]), err_o)
    return Results(
        plans=plans, year=year, kind=visits.kind, settled_as=setting, category=cat_o,
        plan=plan, line_mask=out["mask"], medfee_sumamt=visits.medfee,
        inscp_scp_amt=visits.inscp, hifp_pay=out["hifp"], hifmi_pay=out["hifmi"],
        oth_pay=visits.oth, base=out["base"], assistance=out["assistance"],
        tilted=out["tilted"], special=out["special"], years=years,
        reassistance=out["reassistance"], stage_mask=out["stage_mask"],
        before=before_o if snapshots else None)


def _raise(plans: Plans, plan: I32, visits: VisitColumns, row: int, err: I32) -> None:
    """The engine's error for the first visit that has one."""
    code, line = divmod(int(err[row]), kernel.ERR_SHIFT)
    p = int(plan[row])
    j = plans.versions[plans.keys[p][0]].jurisdiction
    path = f"visits[{row}]"
    if code == kernel.ERR_LINE:
        raise plans.problems.lines[(p, line)]
    if code == kernel.ERR_TILTED:
        raise plans.problems.tilted[(p, line)]
    if code == kernel.ERR_LOOKBACK:
        raise plans.problems.lookback[(p, line)]
    if code == kernel.ERR_STAGE:
        raise plans.problems.stages[(p, *divmod(line, plans.stage_vals.shape[2]))]
    if code == kernel.ERR_BASIC:
        e = plans.problems.basic_insurance[p]
        raise MissingParameter(j, "basic_insurance", f"{path}.hifp_pay not given") \
            if isinstance(e, MissingParameter) else e
    if code == kernel.ERR_LEVEL:
        raise InputError(f"{path}.hospital_level", insurance.LEVEL_REQUIRED)
    if code == kernel.ERR_CRITICAL:
        e = plans.problems.critical_illness[p]
        raise MissingParameter(j, "critical_illness", f"{path}.hifmi_pay not given") \
            if isinstance(e, MissingParameter) else e
    raise InputError(path, f"a person-year's cost exceeds {POOL_LIMIT // 100} yuan: "
                     "beyond the range the batch path computes exactly")


def settle_file(path: str | Path, versions: Sequence[Policy],
                local: Mapping[str, object] | None = None) -> tuple[Results, pa.Table]:
    """Settle a Parquet population; `local` defaults to the file's own for the
    jurisdiction. Returns the results and the visits table read (ids for the output)."""
    table, persons, meta = read_population(path, VISIT_INPUT)
    if local is None:
        local = meta.local.get(versions[0].jurisdiction, {})
    return settle_population(versions, local, visit_columns(table),
                             person_columns(persons)), table
