"""Every person-year of an export settled again, net of cancellations, and compared.

1. Each record is a settlement or a cancellation (a reversing record). A cancellation is
   matched to its settlement by `init_setl_id` when the export has it, else to the latest
   earlier settlement of the same person and `mdtrt_id` not yet cancelled. A visit
   settled again without a cancellation between is a duplicate: only its first live
   settlement counts.
2. The live settlements are settled again by the batch path (`batch.settle`), per person
   and calendar year of the visit's end, in `setl_time` order (ties: file order), with
   the identities of the roster and the policy's rounding or the one chosen.
3. Each settlement's `maf_pay` is compared with medaid's to the fen; a cancelled
   settlement should net to zero with its cancellation, a duplicate should have paid
   nothing. Person-years with a difference, and a sample of the others, are settled
   again by the engine itself (`engine.settle.settle_year`): its trace explains each
   finding, and its equality with the batch path on the sample is checked — if they
   ever differ, every person-year is settled by the engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from dataclasses import fields as dc_fields
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from medaid.audit.export import BadCell, BadExport, Records
from medaid.audit.roster import NO_DATE, Identities
from medaid.batch.schema import FLAG_HEROIC, FLAG_RARE, PersonColumns, VisitColumns
from medaid.batch.settle import settle_population
from medaid.core.errors import InputError, MissingParameter
from medaid.engine.case import LOCATIONS, REFERRALS
from medaid.engine.settle import settle_year
from medaid.engine.types import Identity, Person, Settlement, Visit
from medaid.policy.model import Policy, compile_policy
from medaid.policy.schema import KINDS

I8 = npt.NDArray[np.int8]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

EPOCH = date(1970, 1, 1)
LIVE, CANCELLED, REVERSAL, DUPLICATE = 0, 1, 2, 3
SAMPLE = 200  # person-years settled by both paths as a check on every run
EXPLAIN = 200  # findings explained by the engine's trace (the largest differences first)
YEAR_TABLE_DAYS = 100_000  # the years of a range of days up to this wide by a table


def with_rounding(versions: Sequence[Policy], rounding: str | None) -> list[Policy]:
    """The versions with `rounding` (cumulative | per_visit) instead of their own."""
    if rounding is None:
        return list(versions)
    return [p if p.spec.rounding == rounding else
            compile_policy(p.spec.model_copy(update={"rounding": rounding}), p.path)
            for p in versions]


@dataclass
class Outcome:
    """The audit of an export: per record, what it is and what medaid pays."""

    records: Records
    person: I64  # per record: index into `keys`
    keys: list[str]  # the persons (roster keys)
    roster_of: I64  # per person: index into the roster's persons, −1: not in the roster
    status: I8  # LIVE, CANCELLED, REVERSAL, DUPLICATE
    partner: I64  # CANCELLED: its reversal; REVERSAL: its settlement; DUPLICATE: the first
    year: I32
    medaid: I64  # medaid's maf_pay (fen): LIVE as settled, CANCELLED/DUPLICATE 0
    platform: I64  # the platform's net maf_pay: CANCELLED with its reversal; REVERSAL 0
    category_code: npt.NDArray[np.int16]  # per record: index into category_names, −1: none
    category_names: list[str]
    rule_code: I32  # per record: index into rule_names ("NJ-A2+NJ-T"; "" for none)
    rule_names: list[str]
    engine: dict[int, Settlement]  # record → the engine's settlement (explained records)
    members: dict[int, list[int]]  # explained record → its person-year's live records
    checked: int  # person-years settled by both paths
    fallback: bool  # True: the batch path differed from the engine; the engine decided all
    versions: list[Policy]
    local: Mapping[str, object]
    identities: Identities
    # the batch path's input, kept to settle person-years again with one thing changed
    visits: VisitColumns | None = None  # the live settlements in settlement order
    persons: PersonColumns | None = None
    scan: I64 | None = None  # visits' records
    group_off: I64 | None = None  # person-years: [group_off[g], group_off[g+1]) of scan
    group: I64 | None = None  # per scan position: its person-year
    pos: I64 | None = None  # per record: its scan position, −1: not settled
    # the batch path's parts of every live record with a difference: base, assistance,
    # tilted, special (fen)
    parts: dict[int, tuple[int, int, int, int]] | None = None

    def category(self, i: int) -> str | None:
        c = int(self.category_code[i])
        return self.category_names[c] if c >= 0 else None

    def rules(self, i: int) -> str:
        return self.rule_names[int(self.rule_code[i])]

    def _set(self, i: int, s: Settlement) -> None:
        """Record the engine's result for record i."""
        if s.category is None:
            self.category_code[i] = -1
        else:
            if s.category not in self.category_names:
                self.category_names.append(s.category)
            self.category_code[i] = self.category_names.index(s.category)
        name = "+".join(s.rules)
        if name not in self.rule_names:
            self.rule_names.append(name)
        self.rule_code[i] = self.rule_names.index(name)
        self.medaid[i] = s.maf_pay

    @property
    def diff(self) -> I64:
        return self.platform - self.medaid

    def person_of(self, i: int) -> Person:
        return person_from_roster(self.keys[int(self.person[i])], self.identities,
                                  int(self.roster_of[self.person[i]]))


def _days(d: int) -> date:
    return EPOCH + timedelta(days=int(d))


def person_from_roster(key: str, ids: Identities, r: int) -> Person:
    if r < 0:
        return Person(key)
    lo, hi = int(ids.offsets[r]), int(ids.offsets[r + 1])
    return Person(key, tuple(
        Identity(ids.category(k), _days(ids.start[k]),
                 None if ids.end[k] == NO_DATE else _days(ids.end[k]),
                 None if ids.application[k] == NO_DATE else _days(ids.application[k]))
        for k in range(lo, hi)), disability_grade=int(ids.grade[r]) or None,
        tilted_application=None if ids.tilted_of(r) == NO_DATE else _days(ids.tilted_of(r)))


def visit_of(rec: Records, i: int) -> Visit:
    return Visit(
        id=str(rec.setl_id[i].as_py()), kind=KINDS[int(rec.kind[i])],
        start=_days(rec.start[i]), end=_days(rec.end[i]), medfee_sumamt=int(rec.medfee[i]),
        fulamt_ownpay_amt=int(rec.fulamt[i]), overlmt_selfpay=int(rec.overlmt[i]),
        preselfpay_amt=int(rec.preself[i]), hifp_pay=int(rec.hifp[i]),
        hifmi_pay=int(rec.hifmi[i]), oth_pay=int(rec.oth[i]),
        location=LOCATIONS[int(rec.location[i])], referral=REFERRALS[int(rec.referral[i])],
        hospital_level=int(rec.level[i]) or None,
        heroic_injury=bool(rec.flags[i] & FLAG_HEROIC), rare_disease=bool(rec.flags[i] & FLAG_RARE))


def _codes(a: pa.Array) -> tuple[I64, pa.Array]:
    enc = a.dictionary_encode()
    return np.asarray(enc.indices.to_numpy(), np.int64), enc.dictionary


def text_hashes(a: pa.Array) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of each string (fixed seed: the same in every process)."""
    import polars as pl

    h = pl.from_arrow(a.cast(pa.string()) if pa.types.is_dictionary(a.type) else a)
    return np.asarray(h.hash(seed=0x5EED).to_numpy(), np.uint64)  # type: ignore[union-attr]


def repeated(h: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    """Whether each hash occurs more than once (a sort: 4× faster than a hash table here,
    and the usual answer, none, needs nothing more)."""
    s = np.sort(h)
    twice = s[1:][s[1:] == s[:-1]]
    if not len(twice):
        return np.zeros(len(h), bool)
    return np.isin(h, twice)


def _years(days: I32) -> I32:
    """The calendar year of each day: numpy's calendar once per day of the range, then a
    lookup (40× the conversion of a million days, which costs a piece 40 ms)."""
    lo = int(days.min()) if len(days) else 0
    hi = int(days.max()) if len(days) else -1
    if hi - lo > YEAR_TABLE_DAYS:
        return _calendar_years(days)
    return _calendar_years(np.arange(lo, hi + 1, dtype=np.int64))[days.astype(np.int64) - lo]


def _calendar_years(days: npt.NDArray[np.integer[Any]]) -> I32:
    return (days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)
            + 1970).astype(np.int32)


def settlement_order(person: I64, year: I32, time: I64) -> I64:
    """The order of records (given in file order) by person, year and `setl_time`, ties
    in file order: one stable sort of the three packed in 63 bits (5× a lexsort), or
    the lexsort where they do not fit."""
    if not len(person):
        return np.zeros(0, np.int64)
    y0, t0 = int(year.min()), int(time.min())
    ybits = (int(year.max()) - y0).bit_length()
    tbits = (int(time.max()) - t0).bit_length()
    if int(person.max()).bit_length() + ybits + tbits > 63:
        return np.lexsort((np.arange(len(person)), time, year, person))
    key = (((person.astype(np.int64) << ybits) | (year - y0)) << tbits) | (time - t0)
    return np.argsort(key, kind="stable")


def _pairs(rec: Records, person: I64) -> tuple[I8, I64]:
    """Cancellations matched to settlements, duplicates found (module docstring, 1)."""
    n = len(rec)
    status = np.where(rec.reversal, REVERSAL, LIVE).astype(np.int8)
    partner = np.full(n, -1, np.int64)
    bad: list[BadCell] = []
    # Unique ids are the rule: hashes find the few records that may share one, and only
    # those are compared as text (a collision costs a comparison, never a finding).
    twice = repeated(text_hashes(rec.setl_id))
    if twice.any():
        seen: dict[str, int] = {}
        for i in np.flatnonzero(twice).tolist():
            s = str(rec.setl_id[i].as_py())
            if s in seen:
                bad.append(BadCell(int(rec.row[i]), "setl_id", s,
                                   f"结算ID与第{seen[s]}行重复 / duplicate of row {seen[s]}"))
            else:
                seen[s] = int(rec.row[i])
    visit = text_hashes(rec.mdtrt_id) * np.uint64(0x9E3779B97F4A7C15) + person.astype(np.uint64)
    involved = repeated(visit) | rec.reversal
    if involved.any():
        idx = np.flatnonzero(involved)
        order = idx[np.lexsort((rec.row[idx], rec.time[idx]))]  # settlement order
        by_setl: dict[str, int] = {}
        if rec.init_setl_id is not None:
            for i in order.tolist():
                if not rec.reversal[i]:
                    by_setl[str(rec.setl_id[i].as_py())] = i
        groups: dict[tuple[int, str], list[int]] = {}
        mdtrt = rec.mdtrt_id.take(pa.array(order)).to_pylist()
        for i, m in zip(order.tolist(), mdtrt, strict=True):
            groups.setdefault((int(person[i]), m), []).append(i)
        amounts = (rec.medfee, rec.fulamt, rec.overlmt, rec.preself, rec.hifp, rec.hifmi,
                   rec.oth)
        for members in groups.values():
            open_: list[int] = []  # settlements not cancelled, in order
            for i in members:
                if not rec.reversal[i]:
                    open_.append(i)
                    continue
                init = rec.init_setl_id[i].as_py() if rec.init_setl_id is not None else None
                target = -1
                if init is not None:
                    target = by_setl.get(str(init), -1)
                    if target >= 0 and (target not in open_):
                        target = -2 if status[target] == CANCELLED else -1
                elif open_:
                    target = open_[-1]
                if target < 0:
                    column = "init_setl_id" if init is not None else "mdtrt_id"
                    value = str(init) if init is not None else str(rec.mdtrt_id[i].as_py())
                    why = ("原结算已被撤销 / its settlement is already cancelled" if target == -2
                           else "找不到被撤销的结算（同一人员、就诊ID、更早的结算） / no earlier "
                                "settlement of this person and mdtrt_id to cancel")
                    bad.append(BadCell(int(rec.row[i]), column, value, why))
                    continue
                if any(int(a[i]) != -int(a[target]) for a in amounts):
                    bad.append(BadCell(int(rec.row[i]), "medfee_sumamt", str(rec.medfee[i]),
                                       f"撤销金额与第{int(rec.row[target])}行结算不符"
                                       "（不支持部分退费） / "
                                       f"amounts do not reverse row {int(rec.row[target])}"))
                    continue
                open_.remove(target)
                status[target] = CANCELLED
                partner[target], partner[i] = i, target
            live = [i for i in members if status[i] == LIVE]
            for i in live[1:]:
                status[i] = DUPLICATE
                partner[i] = live[0]
    if bad:
        raise BadExport(rec.source, bad)
    return status, partner


def _persons(keys: pa.Array, ids: Identities) -> tuple[I64, PersonColumns, list[str]]:
    """Each person's row in the roster, and the batch path's persons (key = index)."""
    at = pc.index_in(keys, value_set=ids.keys)
    roster_of = np.asarray(at.fill_null(-1).to_numpy(), np.int64)
    n = len(keys)
    has = roster_of >= 0
    r = np.where(has, roster_of, 0)
    counts = np.where(has, ids.offsets[r + 1] - ids.offsets[r], 0) if len(ids) else \
        np.zeros(n, np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    total = int(offsets[-1])
    starts = np.repeat(ids.offsets[r] if len(ids) else np.zeros(n, np.int64), counts)
    within = np.arange(total, dtype=np.int64) - np.repeat(offsets[:-1], counts)
    items = starts + within
    names = ids.categories or [""]
    cat_all = ids.category_code
    grade = np.where(has, ids.grade[r] if len(ids) else 0, 0).astype(np.int8)
    persons = PersonColumns(
        key=np.arange(n, dtype=np.int64), grade=grade,
        tilted_application=np.where(has, ids.tilted[r], NO_DATE).astype(np.int32)
        if ids.tilted is not None and len(ids) else np.full(n, NO_DATE, np.int32),
        ident_offsets=offsets,
        ident_category=names, ident_cat=cat_all[items], ident_from=ids.start[items],
        ident_to=ids.end[items], ident_application=ids.application[items])
    return roster_of, persons, keys.to_pylist()


_VISIT = re.compile(r"visits\[(\d+)\]")


def run(rec: Records, ids: Identities, versions: Sequence[Policy],
        local: Mapping[str, object], sample: int = SAMPLE, explain: bool = True,
        explain_limit: int | None = EXPLAIN) -> Outcome:
    """Settle and compare; `explain=False` skips the engine (the batch path's numbers only:
    what a generator of test data needs). The engine settles the person-years of the
    `explain_limit` largest differences (None: all) and `sample` others."""
    versions = sorted(versions, key=lambda p: p.in_force)
    n = len(rec)
    person, key_dict = _codes(rec.key)
    roster_of, persons, keys = _persons(key_dict, ids)
    status, partner = _pairs(rec, person)
    year = _years(rec.end)

    live = np.flatnonzero(status == LIVE)
    scan = live[settlement_order(person[live], year[live], rec.time[live])]
    visits = VisitColumns(
        person=person[scan], kind=rec.kind[scan], start=rec.start[scan], end=rec.end[scan],
        medfee=rec.medfee[scan], inscp=(rec.medfee - rec.fulamt - rec.overlmt - rec.preself)[scan],
        hifp=rec.hifp[scan], hifmi=rec.hifmi[scan], oth=rec.oth[scan],
        location=rec.location[scan], referral=rec.referral[scan], level=rec.level[scan],
        flags=rec.flags[scan],
        selfpay=np.stack([rec.preself, rec.overlmt, rec.fulamt], axis=1)[scan])
    try:
        res = settle_population(versions, local, visits, persons)
    except MissingParameter as e:
        raise InputError(e.path, e.message) from None
    except InputError as e:
        m = _VISIT.search(e.path)
        if m is None:
            raise
        row = int(rec.row[scan[int(m[1])]])
        raise InputError(f"第{row}行 row {row}", e.message) from None

    medaid = np.zeros(n, np.int64)
    medaid[scan] = res.maf_pay
    platform = rec.maf.copy()
    canc = np.flatnonzero(status == CANCELLED)
    platform[canc] += rec.maf[partner[canc]]
    platform[status == REVERSAL] = 0
    category = np.full(n, -1, np.int16)
    category[scan] = res.category
    rule_ids, rule_names = res.rules()
    rule_names = list(rule_names)
    if "" not in rule_names:
        rule_names.append("")
    rules = np.full(n, rule_names.index(""), np.int32)
    rules[scan] = rule_ids
    out = Outcome(rec, person, keys, roster_of, status, partner, year, medaid, platform,
                  category, list(res.plans.categories), rules, rule_names, {}, {}, 0, False,
                  versions, local, ids)
    differs = np.flatnonzero(out.diff[scan] != 0)
    out.parts = dict(zip(scan[differs].tolist(), zip(
        res.base[differs].tolist(), res.assistance[differs].tolist(),
        res.tilted[differs].tolist(), res.special[differs].tolist(), strict=True),
        strict=True))
    group, off = _group_bounds(out, scan)
    pos = np.full(n, -1, np.int64)
    pos[scan] = np.arange(len(scan))
    out.visits, out.persons, out.scan, out.group_off, out.group, out.pos = \
        visits, persons, scan, off, group, pos
    if explain:
        _explain(out, scan, sample, explain_limit)
    return out


def _ranges(off: I64, groups: I64) -> I64:
    """The scan positions of `groups`, concatenated."""
    counts = off[groups + 1] - off[groups]
    starts = np.repeat(off[groups], counts)
    within = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(counts) - counts, counts)
    return np.asarray(starts + within, np.int64)


def settle_again(out: Outcome, records: I64, versions: Sequence[Policy] | None = None,
                 category: str | None = None) -> tuple[I64, npt.NDArray[np.int64], Any]:
    """The person-years of `records` (live settlements) settled again by the batch path,
    with `versions` instead of the audit's, or with the person holding `category` alone
    from the year's first day (no tilted application): (records settled, their maf_pay,
    the Results). Each person-year is a person of its own."""
    assert out.visits is not None and out.persons is not None and out.scan is not None
    assert out.group_off is not None and out.group is not None and out.pos is not None
    groups = np.unique(out.group[out.pos[records]])
    sel = _ranges(out.group_off, groups)
    local_person = np.repeat(np.arange(len(groups), dtype=np.int64),
                             out.group_off[groups + 1] - out.group_off[groups])
    v = out.visits
    visits = VisitColumns(**{f.name: getattr(v, f.name)[sel] for f in dc_fields(v)})
    visits = replace(visits, person=local_person)
    first = out.group_off[groups]
    person = v.person[first]
    p = out.persons
    g = len(groups)
    if category is not None:
        year = out.year[out.scan[first]].astype(np.int64)
        jan1 = ((year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
                .astype(np.int64)).astype(np.int32)
        persons = PersonColumns(
            key=np.arange(g, dtype=np.int64), grade=p.grade[person],
            tilted_application=np.full(g, NO_DATE, np.int32),
            ident_offsets=np.arange(g + 1, dtype=np.int64), ident_category=[category],
            ident_cat=np.zeros(g, np.int32), ident_from=jan1,
            ident_to=np.full(g, NO_DATE, np.int32),
            ident_application=np.full(g, NO_DATE, np.int32))
    else:
        counts = p.ident_offsets[person + 1] - p.ident_offsets[person]
        items = _ranges(p.ident_offsets, person)
        persons = PersonColumns(
            key=np.arange(g, dtype=np.int64), grade=p.grade[person],
            tilted_application=p.tilted_application[person],
            ident_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            ident_category=p.ident_category, ident_cat=p.ident_cat[items],
            ident_from=p.ident_from[items], ident_to=p.ident_to[items],
            ident_application=p.ident_application[items])
    try:
        res = settle_population(versions or out.versions, out.local, visits, persons)
    except MissingParameter as e:
        raise InputError(e.path, e.message) from None
    return out.scan[sel], res.maf_pay, res


def _group_bounds(out: Outcome, scan: I64) -> tuple[I64, I64]:
    """Person-year of each scanned visit, and the offsets of person-years in the scan."""
    p, y = out.person[scan], out.year[scan]
    if not len(scan):
        return np.zeros(0, np.int64), np.zeros(1, np.int64)
    change = np.flatnonzero((p[1:] != p[:-1]) | (y[1:] != y[:-1])) + 1
    off = np.concatenate([[0], change, [len(scan)]]).astype(np.int64)
    group = np.repeat(np.arange(len(off) - 1), np.diff(off))
    return group, off


def settle_group(out: Outcome, members: list[int], versions: Sequence[Policy] | None = None,
                 person: Person | None = None) -> list[Settlement]:
    """The engine's settlements of one person-year's records (in settlement order)."""
    rec = out.records
    who = person if person is not None else out.person_of(members[0])
    try:
        result = settle_year(versions or out.versions, out.local, who,
                             [visit_of(rec, i) for i in members])
    except MissingParameter as e:
        raise InputError(e.path, e.message) from None
    return result.settlements


def _explain(out: Outcome, scan: I64, sample: int, limit: int | None) -> None:
    """Engine settlements for the person-years of the largest differences (`limit`) and a
    sample of the rest; every person-year by the engine if the two paths ever differ."""
    group, off = _group_bounds(out, scan)
    n_groups = len(off) - 1
    diff = out.diff
    flagged_groups: set[int] = set()
    if len(scan):
        d = np.abs(diff[scan])
        at = np.flatnonzero(d)
        if limit is not None and len(at) > limit:
            at = at[np.argsort(-d[at], kind="stable")[:limit]]
        flagged_groups = set(group[at].tolist())
    rng = np.random.default_rng(0)
    others = [g for g in rng.permutation(n_groups)[: sample + len(flagged_groups)].tolist()
              if g not in flagged_groups][:sample]
    todo = sorted(flagged_groups) + others

    def check(gs: list[int]) -> bool:
        same = True
        for g in gs:
            members = scan[off[g]:off[g + 1]].tolist()
            for i, s in zip(members, settle_group(out, members), strict=True):
                if s.maf_pay != int(out.medaid[i]) or s.category != out.category(i):
                    same = False
                out.engine[i] = s
                out.members[i] = members
        return same

    agree = check(todo)
    out.checked = len(todo)
    if not agree:  # the batch path differs from the engine: the engine decides every visit
        out.fallback = True
        done = set(todo)
        check([g for g in range(n_groups) if g not in done])
        out.checked = n_groups
        for i, s in out.engine.items():
            out._set(i, s)
