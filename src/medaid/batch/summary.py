"""Totals of a settled population: by tier, category, visit kind and cap pool (integer fen).

`totals` summarises one partition's results; `merge` adds partitions up. Partitions hold
whole persons, so counts of persons add up too. Sums run in polars or numpy over int64
columns, so they are exact; nothing here is a float.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from medaid.batch.plan import L_NCAPS, SV_NCAPS, V_NCAPS, Plans
from medaid.batch.schema import NULL, VisitColumns
from medaid.batch.settle import Results
from medaid.core import labels
from medaid.policy.schema import KINDS

TIERS = ("medfee_sumamt", "inscp_scp_amt", "hifp_pay", "hifmi_pay", "oth_pay", "base",
         "assistance", "tilted", "special", "reassistance", "maf_pay", "psn_part_amt",
         "year_end")
YEAR_END = "year_end"  # the year-end stages' payouts, per person-year (not in a visit's maf_pay)
LABELS = {
    "medfee_sumamt": "total cost 医疗费总额", "inscp_scp_amt": "policy range 政策范围内",
    "hifp_pay": "basic insurance 基本医保", "hifmi_pay": "critical illness 大病保险",
    "oth_pay": "other funds 其他", "base": "assistance base 救助基数",
    "assistance": "assistance 医疗救助", "tilted": "tilted 倾斜救助",
    "special": "special grants 专项救助",
    "reassistance": f"re-assistance {labels.TIERS['reassistance'][0]}",
    "maf_pay": "assistance fund 救助基金合计（含年终救助）",
    YEAR_END: "year-end stages 年终救助",
    "psn_part_amt": "person pays 个人负担",
}
GROUP_AMOUNTS = ("medfee_sumamt", "base", "assistance", "tilted", "special", "reassistance",
                 "maf_pay", "psn_part_amt")
NONE = "(no category in force)"
_CAP_SCHEMA = {"pool": pl.String, "rules": pl.String, "cap_min": pl.Int64, "cap_max": pl.Int64,
               "reached": pl.Int64}


@dataclass(frozen=True)
class Totals:
    visits: int
    persons: int
    tiers: dict[str, int]
    by_category: pl.DataFrame  # category, visits, persons, GROUP_AMOUNTS
    by_kind: pl.DataFrame  # kind, visits, GROUP_AMOUNTS
    person_years: int
    computed: dict[str, int]  # hifp_pay / hifmi_pay: visits where the batch path computed it
    caps: pl.DataFrame  # pool, rules, cap_min, cap_max (fen), reached (person-years at cap)
    year: npt.NDArray[np.int32]  # per person-year: its year and what the person still pays
    psn_part: npt.NDArray[np.int64]


def _amounts(res: Results) -> dict[str, npt.NDArray[np.int64]]:
    """Every tier's amount per visit (the derived ones computed once)."""
    found = {name: getattr(res, name) for name in TIERS if name not in (
        "maf_pay", "psn_part_amt", YEAR_END)}
    found["maf_pay"] = found["assistance"] + found["tilted"] + found["special"] \
        + found["reassistance"]
    found["psn_part_amt"] = found["medfee_sumamt"] - found["hifp_pay"] - found["hifmi_pay"] \
        - found["oth_pay"] - found["maf_pay"]
    return found


def frame(res: Results, person: np.ndarray,
          amounts: dict[str, npt.NDArray[np.int64]] | None = None) -> pl.DataFrame:
    """One row per visit: person, category and kind as codes (names come after grouping,
    on a few rows), the amounts of GROUP_AMOUNTS."""
    amounts = amounts or _amounts(res)
    n_cats = len(res.plans.categories)
    return pl.DataFrame({
        "person": person,
        "category": np.where(res.category < 0, n_cats, res.category).astype(np.int16),
        "kind": res.kind,
        **{name: amounts[name] for name in GROUP_AMOUNTS},
    })


def _named(df: pl.DataFrame, column: str, names: Sequence[str]) -> pl.DataFrame:
    """Codes → names, in the order of `names` (the policy's tie order, KINDS)."""
    return df.sort(column).with_columns(pl.col(column).replace_strict(
        dict(enumerate(names)), return_dtype=pl.String))


def _ordered(df: pl.DataFrame, column: str, order: Sequence[str]) -> pl.DataFrame:
    rank = {c: i for i, c in enumerate(order)}
    return df.with_columns(pl.col(column).replace_strict(rank, return_dtype=pl.Int64)
                           .alias("_order")).sort("_order").drop("_order")


def _counts(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.col(c).cast(pl.Int64) for c in ("visits", "persons")
                           if c in df.columns)


def cap_pools(plans: Plans) -> list[tuple[int, str, npt.NDArray[np.int64]]]:
    """Each cap pool: its slot, the rules drawing on it, its amount per plan (the least of
    its lines' caps; −1: no cap in that plan)."""
    found: dict[int, tuple[list[str], npt.NDArray[np.int64]]] = {}

    def add(p: int, slot: int, amount: int, rule: str) -> None:
        rules, amounts = found.setdefault(int(slot), ([], np.full(plans.n, -1, np.int64)))
        if rule not in rules:
            rules.append(rule)
        if amounts[p] < 0 or amount < amounts[p]:
            amounts[p] = amount

    for p in range(plans.n):
        for li, rule in enumerate(plans.rules[p]):
            for k in range(int(plans.lines[p, li, L_NCAPS])):
                add(p, int(plans.caps[p, li, k, 0]), int(plans.caps[p, li, k, 1]), rule)
        for e in range(plans.tilt_vals.shape[1]):
            for k in range(int(plans.tilt_vals[p, e, V_NCAPS])):
                add(p, int(plans.tilt_caps[p, e, k, 0]), int(plans.tilt_caps[p, e, k, 1]),
                    plans.tilted_rule[p] or "tilted")
        for k, rule in enumerate(plans.stage_rules[p]):
            for e in range(plans.stage_vals.shape[2]):
                for j in range(int(plans.stage_vals[p, k, e, SV_NCAPS])):
                    add(p, int(plans.stage_caps[p, k, e, j, 0]),
                        int(plans.stage_caps[p, k, e, j, 1]), rule)
    return [(slot, ", ".join(rules), amounts) for slot, (rules, amounts) in found.items()]


def _caps(res: Results) -> pl.DataFrame:
    rows = []
    years = res.years
    for slot, rules, amounts in cap_pools(res.plans):
        cap = amounts[years.plan]
        reached = int(((cap >= 0) & (years.pools[:, slot] >= cap)).sum()) if len(years) else 0
        present = amounts[amounts >= 0]
        rows.append({"pool": res.plans.pools[slot], "rules": rules,
                     "cap_min": int(present.min()), "cap_max": int(present.max()),
                     "reached": reached})
    return pl.DataFrame(rows, schema=_CAP_SCHEMA)


def totals(res: Results, visits: VisitColumns) -> Totals:
    person = visits.person
    amounts = _amounts(res)
    df = frame(res, person, amounts)
    agg = [pl.len().alias("visits"), *(pl.col(n).sum() for n in GROUP_AMOUNTS)]
    by_cat = df.group_by("category").agg(pl.col("person").n_unique().alias("persons"), *agg)
    by_cat = _counts(_named(by_cat, "category", [*res.plans.categories, NONE]))
    by_kind = _counts(_named(df.group_by("kind").agg(*agg), "kind", KINDS))
    year_end = res.year_end_paid()
    tiers = {n: int(amounts[n].sum()) for n in TIERS if n != YEAR_END}  # int64: exact
    # the fund's total and what persons bear count the year-end stages, as `medaid settle`'s
    # totals do; the visits' rows (by category, by kind) are the visits' own
    tiers[YEAR_END] = int(year_end.sum())
    tiers["maf_pay"] += tiers[YEAR_END]
    tiers["psn_part_amt"] -= tiers[YEAR_END]
    return Totals(
        visits=len(df), persons=int(df["person"].n_unique()) if len(df) else 0,
        tiers=tiers,
        by_category=by_cat, by_kind=by_kind, person_years=len(res.years),
        computed={"hifp_pay": int((visits.hifp == NULL).sum()),
                  "hifmi_pay": int((visits.hifmi == NULL).sum())},
        caps=_caps(res), year=np.asarray(res.years.year, np.int32),
        psn_part=res.years.total(amounts["psn_part_amt"]) - year_end)


def _sum_frames(frames: Sequence[pl.DataFrame], keys: list[str]) -> pl.DataFrame:
    """Frames added up by `keys`, in the order the keys first appear."""
    stacked = pl.concat(frames, how="vertical")
    order = stacked.select(keys).unique(maintain_order=True).with_row_index("_order")
    return stacked.group_by(keys).agg(pl.all().sum()).join(order, on=keys) \
        .sort("_order").drop("_order")


def merge(parts: Sequence[Totals]) -> Totals:
    """Totals of partitions that hold disjoint sets of persons, added up."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    by_cat = _sum_frames([t.by_category for t in parts], ["category"])
    none_last = by_cat.filter(pl.col("category") != NONE).vstack(
        by_cat.filter(pl.col("category") == NONE))
    caps = _sum_frames([t.caps for t in parts], ["pool", "rules", "cap_min", "cap_max"])
    return Totals(
        visits=sum(t.visits for t in parts), persons=sum(t.persons for t in parts),
        tiers={n: sum(t.tiers[n] for t in parts) for n in first.tiers},
        by_category=none_last,
        by_kind=_ordered(_sum_frames([t.by_kind for t in parts], ["kind"]), "kind", KINDS),
        person_years=sum(t.person_years for t in parts),
        computed={n: sum(t.computed[n] for t in parts) for n in first.computed},
        caps=caps.select(list(_CAP_SCHEMA)),
        year=np.concatenate([t.year for t in parts]),
        psn_part=np.concatenate([t.psn_part for t in parts]))
