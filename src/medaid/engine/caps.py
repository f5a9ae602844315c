"""Cap pools: a payout within what each of its caps has left (RULES §3: caps are payout
limits, never part of the cumulative function), a raised cap where its condition holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from medaid.policy.params import Num, Raised

RAISED = "_raised:"  # a pool's flag: its cap is raised for the rest of the period
# a `when: visit` ceiling's running totals beside its measure pool: the period's total of
# its `of` field, and what the stage has paid in the period
OF_TOTAL = "_of:"
PAID = "_paid:"
BESIDE = (RAISED, OF_TOTAL, PAID)


def pool_of(name: str) -> str:
    """The pool an entry belongs to: itself, or the pool of a raised flag or a running
    total (which last that pool's period)."""
    for prefix in BESIDE:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def within_caps(pay: int, own: int, kind: str | None, caps: Sequence[tuple[str, int]],
                raised: Raised, pools: Mapping[str, Num], used: dict[str, Num],
                names: Mapping[str, str] | None = None
                ) -> tuple[int, list[dict[str, int | str]]]:
    """`pay` within each cap pool's rest; the pools' new amounts go into `used`. A cap of
    `raised` is the raised amount from the visit (of the kinds it names; `kind` None: a
    year's measure, of no one kind) whose own base `own` exceeds `over` (one stay's
    self-pay above a threshold), for the rest of the pool's period. `names`: the labels
    the policy file gives its pools, for the trace (年度救助限额 rather than main_cap); the
    visit that raises a cap is told so (`raised_here`), whether or not the cap then limits
    it."""
    capped: list[dict[str, int | str]] = []
    spent_of: dict[str, int] = {}
    for pool, cap in caps:
        if pool in raised:
            flag = RAISED + pool
            amount, over, kinds = raised[pool]
            may_raise = kinds is None or kind in kinds
            already = used.get(flag, pools.get(flag, 0))
            if already or (may_raise and own > over):
                if not already:
                    capped.append({"pool": pool, "raised_here": 1, "cap": cap, "raised_to": amount,
                                   "over": over, "own": own})
                    if names and pool in names:
                        capped[-1]["label"] = names[pool]
                used[flag] = 1
                cap = amount
        spent = int(used.get(pool, pools.get(pool, 0)))
        if pay > cap - spent:
            pay = max(0, cap - spent)
            capped.append({"pool": pool, "cap": cap, "paid": spent})
            if names and pool in names:
                capped[-1]["label"] = names[pool]
        spent_of[pool] = spent
    for pool, spent in spent_of.items():  # each pool advances by what is paid after all caps
        used[pool] = spent + pay
    return pay, capped
