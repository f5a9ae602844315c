"""Money as integer fen; ratios as integer basis points (1/10,000).

No float ever carries money. Amounts enter as decimal text (JSON numbers parsed as
Decimal) and leave as Decimal with two places. A payout computed from a ratio is kept
scaled by 10,000 until the one rounding step, half-up to the fen (RULES.md §3).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

BP = 10_000  # basis points in 1.0: every ratio in a policy is an exact multiple of 1/BP
MAX_DIGITS = 30  # digits before the point of any amount or ratio read (a 64-bit fen: 17)


class MoneyError(ValueError):
    """An amount or ratio that cannot be represented exactly."""


def to_fen(value: Decimal | int | str) -> int:
    """Yuan → fen, exactly; more than two decimals is an error, never rounded away."""
    try:
        d = Decimal(value)
    except (InvalidOperation, TypeError) as e:
        raise MoneyError(f"not an amount: {value!r}") from e
    if not d.is_finite() or d.adjusted() > MAX_DIGITS:  # 1e999999999 overflows d * 100
        raise MoneyError(f"not an amount: {str(value)[:40]!r}")
    fen = d * 100
    if fen != fen.to_integral_value():
        raise MoneyError("at most two decimals (fen)")
    return int(fen)


def to_yuan(fen: int) -> Decimal:
    """Fen → yuan as a Decimal with exactly two places."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def fmt(fen: int) -> str:
    """Fen as yuan text, e.g. 1440000 → '14400.00' (integer arithmetic: it is on the hot path)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def fmt_yuan(fen: int) -> str:
    """Fen as people read yuan, e.g. 8880980 → '¥88,809.80'."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def to_bp(value: Decimal | int | str) -> int:
    """A ratio (0.85) → basis points (8500), exactly; finer than 1/10,000 is an error."""
    try:
        d = Decimal(value)
    except (InvalidOperation, TypeError) as e:
        raise MoneyError(f"not a ratio: {value!r}") from e
    if not d.is_finite() or d.adjusted() > MAX_DIGITS:
        raise MoneyError(f"not a ratio: {str(value)[:40]!r}")
    scaled = d * BP
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"ratio {value} is finer than 1/{BP}")
    return int(scaled)


def fmt_ratio(bp: int) -> str:
    """Basis points as a percentage, e.g. 8500 → '85%', 8250 → '82.5%'."""
    pct = Decimal(bp) / 100
    return f"{pct.normalize():f}%"


def round_scaled(scaled: int, scale: int = BP) -> int:
    """Round `scaled / scale` (fen, non-negative) half-up to the fen."""
    return (2 * scaled + scale) // (2 * scale)


def apply_ratio(fen: int, bp: int) -> int:
    """`fen × bp / BP` rounded half-up to the fen."""
    return round_scaled(fen * bp)
