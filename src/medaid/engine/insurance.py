"""Tiers 1 and 2 when the platform did not give them (RULES §2 steps 1–2).

Basic insurance: per-admission deductible and ratio by hospital level, annual cap.
Critical illness: on `inscp_scp_amt − hifp_pay`, an annual deductible and segments over
the year's amount above it, an optional cap, and the jurisdiction's tilt for a person
with an identity in force (NJ-C, CZ-C). Both keep their annual pools under names that
start with `_`, which policy pools may not use.
"""

from __future__ import annotations

from collections.abc import Collection, MutableMapping
from typing import Any

from medaid.core.errors import InputError
from medaid.core.money import BP
from medaid.engine.types import TraceLine, Visit
from medaid.policy import schema as s
from medaid.policy.model import Policy
from medaid.policy.params import Num, Params, When
from medaid.policy.references import ci_tilts

BASIC_PAID = "_hifp_paid"
CI_BASE = "_hifmi_base"
CI_PAID = "_hifmi_paid"
SOURCE = "local parameter"
LEVEL_REQUIRED = ("须给出医院等级：未给出 hifp_pay 时，基本医保按医院等级计算 / "
                  "required to compute hifp_pay: basic_insurance is set by hospital level")


def basic_insurance(params: Params, visit: Visit, pools: MutableMapping[str, Num],
                    path: str) -> tuple[int, TraceLine]:
    bi = params.basic_insurance(visit.end, f"{path}.hifp_pay")
    level = visit.hospital_level or 0  # 0: 未定级, a level of its own where the file gives one
    if (level not in bi.deductible and None not in bi.deductible) or \
            (level not in bi.ratio and None not in bi.ratio):
        raise InputError(f"{path}.hospital_level", LEVEL_REQUIRED)
    deductible = bi.deductible.get(level, bi.deductible.get(None, 0))
    ratio = bi.ratio.get(level, bi.ratio.get(None, 0))
    inscp = visit.inscp_scp_amt
    pay = (2 * max(0, inscp - deductible) * ratio + BP) // (2 * BP)
    args: dict[str, Any] = {"ratio": ratio, "inscp": inscp, "deductible": deductible}
    used = int(pools.get(BASIC_PAID, 0))
    if bi.cap is not None and pay > bi.cap - used:
        pay = max(0, bi.cap - used)
        args.update(cap=bi.cap, paid=used)
    pools[BASIC_PAID] = used + pay
    return pay, TraceLine("hifp", "§2.1", f"{SOURCE} basic_insurance", "basic_insurance", args,
                          pay, _citation(params, "basic_insurance", visit.end))


def tilted(policy: Policy, categories: Collection[str]) -> s.CriticalIllnessTilt | None:
    """The critical-illness tilt for a person with these categories in force: the first
    whose categories the person holds (NJ-C, CZ-C: one, for any; a city's own may name
    some, or give one per group)."""
    if not categories:
        return None
    return next((t for t in ci_tilts(policy.spec)
                 if t.categories == "*" or any(c in t.categories for c in categories)), None)


def given(visit: Visit, hifp: int, hifmi: int, pools: MutableMapping[str, Num]) -> None:
    """A visit whose insurance the platform gave still counts into the year's insurance
    pools, so that a later visit computed from local parameters continues the year: its
    basic insurance within the annual cap, its critical-illness amount on the year's total."""
    if visit.hifp_pay is not None:
        pools[BASIC_PAID] = int(pools.get(BASIC_PAID, 0)) + hifp
    if visit.hifmi_pay is not None:
        pools[CI_BASE] = int(pools.get(CI_BASE, 0)) + visit.inscp_scp_amt - hifp
        pools[CI_PAID] = int(pools.get(CI_PAID, 0)) + hifmi


def critical_illness(policy: Policy, params: Params, amount: int, when: When,
                     tilt: s.CriticalIllnessTilt | None, pools: MutableMapping[str, Num],
                     path: str) -> tuple[int, list[TraceLine]]:
    curve = params.critical_illness(when, f"{path}.hifmi_pay")
    points = 0
    trace: list[TraceLine] = []
    if tilt is not None:
        share = params.ratio_of(tilt.deductible_share, when, tilt.rule)
        curve = curve.with_deductible((2 * curve.deductible * share + BP) // (2 * BP),
                                      None if tilt.no_cap else curve.cap)
        points = tilt.ratio_points * 100
        trace.append(TraceLine.of(policy, "hifmi", tilt, "ci_tilt",
                                  {"share": share, "points": tilt.ratio_points,
                                   "no_cap": tilt.no_cap}))
    before = int(pools.get(CI_BASE, 0))
    after = before + amount
    # the cap is a payout limit on what the year has paid (given or computed), never part
    # of F: a year whose earlier visits the platform settled continues from what they paid
    pay = curve.value(after, points) - curve.value(before, points)
    args: dict[str, Any] = {"before": before, "after": after, "deductible": curve.deductible,
                            "segments": curve.segments, "points": points}
    paid = int(pools.get(CI_PAID, 0))
    if curve.cap is not None and pay > curve.cap - paid:
        pay = max(0, curve.cap - paid)
        args["cap"] = curve.cap
    pools[CI_BASE] = after
    pools[CI_PAID] = paid + pay
    trace.append(TraceLine("hifmi", "§2.2", f"{SOURCE} critical_illness", "critical_illness",
                           args, pay, _citation(params, "critical_illness", when)))
    return pay, trace


def _citation(params: Params, name: str, when: When) -> str:
    """The local parameter a computed tier comes from, by the label its policy gives it and
    where its value comes from (本地参数「大病保险」：…第二条)."""
    p = params.policy.parameter(name)
    if p is None:
        return f"本地参数 {name}"
    source = params.source_of(name, when)
    return f"本地参数「{p.label}」" + (f"：{source}" if source else "")


