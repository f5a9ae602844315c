"""Tiers 1 and 2 when the platform did not give them (RULES §2 steps 1–2).

Basic insurance: per-admission deductible and ratio by hospital level, annual cap.
Critical illness: on `inscp_scp_amt − hifp_pay`, an annual deductible and segments over
the year's amount above it, an optional cap, and the jurisdiction's tilt for a person
with an identity in force (NJ-C, CZ-C). Both keep their annual pools under names that
start with `_`, which policy pools may not use.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from medaid.engine.types import TraceLine, Visit
from medaid.errors import InputError
from medaid.money import BP, fmt, fmt_ratio
from medaid.policy.model import Policy
from medaid.policy.params import Curve, Num, Params

BASIC_PAID = "_hifp_paid"
CI_BASE = "_hifmi_base"
CI_PAID = "_hifmi_paid"
SOURCE = "local parameter"


def basic_insurance(params: Params, visit: Visit, year: int, pools: MutableMapping[str, Num],
                    path: str) -> tuple[int, TraceLine]:
    bi = params.basic_insurance(year, f"{path}.hifp_pay not given")
    level = visit.hospital_level
    if (level not in bi.deductible and None not in bi.deductible) or \
            (level not in bi.ratio and None not in bi.ratio):
        raise InputError(f"{path}.hospital_level",
                         "required to compute hifp_pay: basic_insurance is set by hospital level")
    deductible = bi.deductible.get(level, bi.deductible.get(None, 0))
    ratio = bi.ratio.get(level, bi.ratio.get(None, 0))
    inscp = visit.inscp_scp_amt
    pay = (2 * max(0, inscp - deductible) * ratio + BP) // (2 * BP)
    detail = f"{fmt_ratio(ratio)} × ({fmt(inscp)} − deductible {fmt(deductible)})"
    used = int(pools.get(BASIC_PAID, 0))
    if bi.cap is not None and pay > bi.cap - used:
        pay = max(0, bi.cap - used)
        detail += f", annual cap {fmt(bi.cap)} (used {fmt(used)})"
    pools[BASIC_PAID] = used + pay
    return pay, TraceLine("hifp", "§2.1", f"{SOURCE} basic_insurance", detail, pay)


def critical_illness(policy: Policy, params: Params, amount: int, year: int, tilted: bool,
                     pools: MutableMapping[str, Num], path: str) -> tuple[int, list[TraceLine]]:
    curve = params.critical_illness(year, f"{path}.hifmi_pay not given")
    tilt = policy.spec.critical_illness_tilt
    points = 0
    trace: list[TraceLine] = []
    if tilted and tilt is not None:
        share = params.ratio_of(tilt.deductible_share, year, tilt.rule)
        curve = Curve((2 * curve.deductible * share + BP) // (2 * BP), curve.segments, curve.cap)
        points = tilt.ratio_points * 100
        trace.append(TraceLine(
            "hifmi", tilt.rule, policy.cite(tilt.article),
            f"beneficiary: deductible {fmt_ratio(share)} of the standard, every ratio "
            f"{tilt.ratio_points:+d} points"))
    before = int(pools.get(CI_BASE, 0))
    after = before + amount
    pay = curve.value(after, points) - curve.value(before, points)
    detail = (f"year's amount {fmt(before)} → {fmt(after)}: deductible {fmt(curve.deductible)}, "
              f"{describe_segments(curve, points)}")
    paid = int(pools.get(CI_PAID, 0))
    if curve.cap is not None and pay > curve.cap - paid:
        pay = max(0, curve.cap - paid)
        detail += f", cap {fmt(curve.cap)}"
    pools[CI_BASE] = after
    pools[CI_PAID] = paid + pay
    trace.append(TraceLine("hifmi", "§2.2", f"{SOURCE} critical_illness", detail, pay))
    return pay, trace


def describe_segments(curve: Curve, points: int = 0, ratio: int | None = None) -> str:
    """'85% to 2000.00, then 80%' — the segments as a reader checks them."""
    parts: list[str] = []
    top = 0
    for width, bp in curve.segments:
        r = ratio if ratio is not None else min(BP, max(0, bp + points))
        if width is None:
            parts.append(f"{fmt_ratio(r)}" + (" above" if parts else ""))
        else:
            top += width
            parts.append(f"{fmt_ratio(r)} to {fmt(top)}")
    return ", then ".join(parts)
