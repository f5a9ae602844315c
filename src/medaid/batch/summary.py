"""Totals of a settled population: by tier, by category, by visit kind (integer fen).

Sums run in polars over int64 columns, so they are exact; nothing here is a float.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from medaid.batch.settle import Results
from medaid.policy.schema import KINDS

TIERS = ("medfee_sumamt", "inscp_scp_amt", "hifp_pay", "hifmi_pay", "oth_pay", "base",
         "assistance", "tilted", "special", "maf_pay", "psn_part_amt")
LABELS = {
    "medfee_sumamt": "total cost 医疗费总额", "inscp_scp_amt": "policy range 政策范围内",
    "hifp_pay": "basic insurance 基本医保", "hifmi_pay": "critical illness 大病保险",
    "oth_pay": "other funds 其他", "base": "assistance base 救助基数",
    "assistance": "assistance 医疗救助", "tilted": "tilted 倾斜救助",
    "special": "special grants 专项救助", "maf_pay": "assistance fund 救助基金合计",
    "psn_part_amt": "person pays 个人负担",
}
GROUP_AMOUNTS = ("medfee_sumamt", "base", "assistance", "tilted", "special", "maf_pay",
                 "psn_part_amt")
NONE = "(no category in force)"


@dataclass(frozen=True)
class Totals:
    visits: int
    persons: int
    tiers: dict[str, int]
    by_category: pl.DataFrame  # category, visits, persons, GROUP_AMOUNTS
    by_kind: pl.DataFrame  # kind, visits, GROUP_AMOUNTS


def frame(res: Results, person: np.ndarray) -> pl.DataFrame:
    cats = [*res.plans.categories, NONE]
    cat = np.where(res.category < 0, len(cats) - 1, res.category)
    return pl.DataFrame({
        "person": person,
        "category": pl.Series(np.asarray(cats, dtype=object)[cat], dtype=pl.String),
        "kind": pl.Series(np.asarray(KINDS, dtype=object)[res.kind], dtype=pl.String),
        **{name: getattr(res, name) for name in TIERS},
    })


def totals(res: Results, person: np.ndarray) -> Totals:
    df = frame(res, person)
    sums = df.select([pl.col(n).sum() for n in TIERS]).row(0) if len(df) else [0] * len(TIERS)
    agg = [pl.len().alias("visits"), *(pl.col(n).sum() for n in GROUP_AMOUNTS)]
    order = {c: i for i, c in enumerate([*res.plans.categories, NONE])}
    by_cat = df.group_by("category").agg(pl.col("person").n_unique().alias("persons"), *agg)
    by_cat = by_cat.with_columns(pl.col("category").replace_strict(
        order, return_dtype=pl.Int64).alias("_order")).sort("_order").drop("_order")
    by_kind = df.group_by("kind").agg(*agg).with_columns(pl.col("kind").replace_strict(
        {k: i for i, k in enumerate(KINDS)}, return_dtype=pl.Int64).alias("_order")
    ).sort("_order").drop("_order")
    return Totals(len(df), int(df["person"].n_unique()) if len(df) else 0,
                  {n: int(v or 0) for n, v in zip(TIERS, sums, strict=True)}, by_cat, by_kind)
