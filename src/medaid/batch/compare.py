"""Baseline against reform on the same visits: who gains, who loses, what persons still pay.

`person_changes` compares one partition's two settlements person by person (a partition
holds whole persons); `PersonChanges.merge` adds partitions up. `burden` reads the
distribution of what persons still pay per person-year, and how many pay more than a
share of the per-capita income of the previous year — the policy's
`income_per_capita_prev_year`, resolved as the engine resolves any local parameter; when
nobody sets it the shares are reported as not computable, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from medaid.batch.schema import Meta
from medaid.batch.settle import Results
from medaid.batch.summary import Totals
from medaid.core.errors import MedaidError
from medaid.core.money import BP
from medaid.policy.model import Policy, in_force
from medaid.policy.params import Params
from medaid.policy.reform import Change, Reform, Reformed

I64 = npt.NDArray[np.int64]

INCOME = "income_per_capita_prev_year"
# Lower edges of the bands of a person's change in assistance (fen: 0, 100, 500, 1,000,
# 5,000, 10,000 yuan), for the winners' and losers' histograms.
BANDS = (1, 100_00, 500_00, 1_000_00, 5_000_00, 10_000_00)
PERCENTILES = (50, 75, 90, 95, 99)
BURDEN_SHARES = (1000, 2500, 5000)  # bp of per-capita income: 10%, 25%, 50%


@dataclass(frozen=True)
class PersonChanges:
    """Persons whose assistance (maf_pay over their visits) rises or falls."""

    persons: int
    gainers: int
    gained: int  # fen, the sum of the rises
    losers: int
    lost: int  # fen, the sum of the falls (positive)
    largest_gain: int
    largest_loss: int
    gain_bands: I64  # persons per band of BANDS
    loss_bands: I64

    @staticmethod
    def merge(parts: Sequence[PersonChanges]) -> PersonChanges:
        return PersonChanges(
            persons=sum(p.persons for p in parts), gainers=sum(p.gainers for p in parts),
            gained=sum(p.gained for p in parts), losers=sum(p.losers for p in parts),
            lost=sum(p.lost for p in parts),
            largest_gain=max([p.largest_gain for p in parts], default=0),
            largest_loss=max([p.largest_loss for p in parts], default=0),
            gain_bands=np.sum([p.gain_bands for p in parts], axis=0, dtype=np.int64),
            loss_bands=np.sum([p.loss_bands for p in parts], axis=0, dtype=np.int64))


def _per_person(res: Results) -> tuple[I64, I64]:
    """Person keys and each person's maf_pay over all their years, with the year-end
    stages' payouts (person-years of one person are adjacent in the scan)."""
    years = res.years
    maf = years.total(res.maf_pay) + res.year_end_paid()
    if not len(maf):
        return np.zeros(0, np.int64), maf
    starts = np.flatnonzero(np.r_[True, years.person[1:] != years.person[:-1]])
    return years.person[starts], np.add.reduceat(maf, starts).astype(np.int64)


def _bands(amounts: I64) -> I64:
    edges = np.asarray(BANDS, np.int64)
    at = np.searchsorted(edges, amounts, side="right") - 1
    return np.bincount(at[at >= 0], minlength=len(BANDS)).astype(np.int64)


def person_changes(base: Results, reform: Results) -> PersonChanges:
    keys, before = _per_person(base)
    keys_after, after = _per_person(reform)
    assert np.array_equal(keys, keys_after), "both settlements scan the same persons"
    delta = after - before
    up, down = delta[delta > 0], -delta[delta < 0]
    return PersonChanges(
        persons=len(keys), gainers=len(up), gained=int(up.sum()), losers=len(down),
        lost=int(down.sum()), largest_gain=int(up.max()) if len(up) else 0,
        largest_loss=int(down.max()) if len(down) else 0, gain_bands=_bands(up),
        loss_bands=_bands(down))


# -- what persons still pay ------------------------------------------------------------------
@dataclass(frozen=True)
class Income:
    """Per-capita income of the previous year by year (fen), or why it is unknown."""

    by_year: dict[int, int]
    source: str  # where it comes from, or why it cannot be computed

    @property
    def known(self) -> bool:
        return bool(self.by_year)


def income(versions: Sequence[Policy], local: Mapping[str, object], years: Sequence[int]
           ) -> Income:
    """The income of each year, as the engine resolves it: the population's local
    parameters, then the policy file's value for the year, then its default."""
    found: dict[int, int] = {}
    sources = []
    for year in sorted(set(years)):
        policy = in_force(list(versions), date(year, 12, 31))
        if policy is None:
            return Income({}, f"no policy in force in {year}")
        if policy.parameter(INCOME) is None:
            return Income({}, f"{policy.jurisdiction} {policy.spec.version} declares no "
                          f"{INCOME}: not computable")
        try:
            found[year] = Params(policy, local).money(INCOME, year, "burden shares")
        except MedaidError as e:
            return Income({}, f"not computable: {e}")
        where = "the population's local parameters" if INCOME in local else \
            f"{policy.path} parameters.{INCOME}"
        sources.append(f"{year}: {where}")
    return Income(found, "; ".join(sources))


@dataclass(frozen=True)
class Burden:
    person_years: int
    percentiles: list[tuple[int, int]]  # (percentile, fen): nearest rank
    mean: int  # fen, rounded half up
    maximum: int
    above: list[tuple[int, int]] | None  # (share in bp, person-years paying more), or None


def _nearest_rank(ordered: I64, q: int) -> int:
    k = max(0, -(-q * len(ordered) // 100) - 1)
    return int(ordered[k])


def burden(t: Totals, inc: Income) -> Burden:
    n = len(t.psn_part)
    ordered = np.sort(t.psn_part)
    above = None
    if inc.known and n:
        lookup = np.zeros(int(t.year.max()) - int(t.year.min()) + 1, np.int64)
        for y, fen in inc.by_year.items():
            if t.year.min() <= y <= t.year.max():
                lookup[y - int(t.year.min())] = fen
        yearly = lookup[t.year - int(t.year.min())]
        above = [(share, int((t.psn_part * BP > yearly * share).sum()))
                 for share in BURDEN_SHARES]
    elif inc.known:
        above = [(share, 0) for share in BURDEN_SHARES]
    total = int(t.psn_part.sum())
    return Burden(
        person_years=n,
        percentiles=[(q, _nearest_rank(ordered, q) if n else 0) for q in PERCENTILES],
        mean=(2 * total + n) // (2 * n) if n else 0, maximum=int(ordered[-1]) if n else 0,
        above=above)


@dataclass(frozen=True)
class Comparison:
    """Everything a reform report shows (every amount integer fen)."""

    reform: Reform
    changes: list[Change]
    population: str  # the visits file
    data: str  # what the visits are (synthetic: how they were drawn)
    jurisdiction: str
    name: str  # 南京市
    baseline: str  # the baseline versions, as the report names them
    reformed: str
    base: Totals
    new: Totals
    people: PersonChanges
    income: Income
    labels: dict[str, str]  # category id → label (baseline and new categories)
    local: dict[str, object]  # the population's local parameters (baseline)

    @property
    def base_burden(self) -> Burden:
        return burden(self.base, self.income)

    @property
    def new_burden(self) -> Burden:
        return burden(self.new, self.income)


def comparison(population: str, meta: Meta, reformed: Reformed, local: Mapping[str, object],
               totals: Sequence[Totals], people: PersonChanges) -> Comparison:
    """The comparison of a population settled under its policy (`local`: the population's
    local parameters) and under a reform."""
    base, new = totals
    before, after = reformed.baseline, reformed.versions
    labels = {c.id: c.label for v in [*before, *after] for c in v.spec.categories}
    synth = meta.extra.get("synth")
    data = "就诊数据由使用者提供 visits as given" if not synth else (
        f"合成数据，不代表任何真实城市 synthetic, not a statement about any real city: medaid "
        f"synth --jurisdiction {synth.get('jurisdiction')} --persons {synth.get('persons')} "
        f"--year {synth.get('year')} --seed {synth.get('seed')} (docs/SYNTH.md)")

    def named(versions: Sequence[Policy]) -> str:
        return "; ".join(f"{v.spec.name} {v.spec.version}（{v.path}）" for v in versions)

    years = sorted({int(y) for y in set(base.year.tolist())})
    return Comparison(
        reform=reformed.reform, changes=reformed.changes, population=population, data=data,
        jurisdiction=before[0].jurisdiction, name=before[-1].spec.name, baseline=named(before),
        reformed=named(after), base=base, new=new, people=people,
        income=income(before, local, years), labels=labels, local=dict(local))

