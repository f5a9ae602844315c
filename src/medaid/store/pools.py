"""A person's annual pools as stored: JSON objects of name → fen.

Pools are integer fen except YC-T's tilted pool, which can be an exact fraction of a fen;
JSON has no fractions, so those are written as the text "n/d" and read back exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction

from medaid.policy.params import Num

Stored = dict[str, int | str]


def _num(value: Fraction) -> Num:
    return int(value) if value.denominator == 1 else value


def encode(pools: Mapping[str, Num]) -> Stored:
    out: Stored = {}
    for name, value in sorted(pools.items()):
        exact = _num(Fraction(value))
        out[name] = exact if isinstance(exact, int) else f"{exact.numerator}/{exact.denominator}"
    return out


def decode(stored: Mapping[str, object]) -> dict[str, Num]:
    out: dict[str, Num] = {}
    for name, value in stored.items():
        if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
            raise ValueError(f"pool {name}: not an amount: {value!r}")
        out[name] = _num(Fraction(value))
    return out


def deltas(before: Mapping[str, Num], after: Mapping[str, Num]) -> dict[str, Num]:
    """What a settlement added to each pool (only the pools it changed)."""
    out: dict[str, Num] = {}
    for name in sorted(set(before) | set(after)):
        d = _num(Fraction(after.get(name, 0)) - Fraction(before.get(name, 0)))
        if d:
            out[name] = d
    return out


def add(pools: Mapping[str, Num], change: Mapping[str, Num], sign: int = 1) -> dict[str, Num]:
    """`pools` + sign × `change`; pools that come back to zero are dropped."""
    out = dict(pools)
    for name, d in change.items():
        value = _num(Fraction(out.get(name, 0)) + sign * Fraction(d))
        if value:
            out[name] = value
        else:
            out.pop(name, None)
    return out
