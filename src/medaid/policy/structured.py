"""Cumulative payout curves, and the structured local parameters built from them.

`Curve` is the F of RULES §3 (deductible, segments, cap) shared by assistance lines,
tilted assistance and critical-illness insurance. `critical_illness` and
`basic_insurance` are local parameters with structure: parsed here from a case's
`local` or a policy file, with errors located by path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from medaid.core.errors import InputError
from medaid.core.money import BP, MoneyError, to_bp, to_fen

LEVELS = (1, 2, 3)
Num = int | Fraction  # pool amounts in fen; Fraction only where YC-T makes them fractional


@dataclass(frozen=True, slots=True)
class Curve:
    """A cumulative payout function F over a pool: deductible and segments (RULES §3),
    with the limit on what it pays in a year (`cap`: critical-illness insurance's; a
    line's caps are cap pools). The cap is a payout limit, never part of F.

    `segments` are (width in fen or None for open, ratio in bp) above the deductible.
    """

    deductible: int
    segments: tuple[tuple[int | None, int], ...]
    cap: int | None
    # the segments' bounds are amounts of cost from zero (1.5万元至10万元部分60%), not above
    # the deductible: a lower deductible widens the first segment (`with_deductible`)
    absolute: bool = False

    def with_deductible(self, deductible: int, cap: int | None) -> Curve:
        """The curve with another deductible (and cap): the same segments above it, or,
        with absolute bounds, the first segment starting at the new deductible."""
        segments = self.segments
        if self.absolute and segments and segments[0][0] is not None:
            first, bp = segments[0]
            assert first is not None
            segments = ((first + self.deductible - deductible, bp), *segments[1:])
        return Curve(deductible, segments, cap, self.absolute)

    def scaled(self, c: Num, points: int = 0, ratio: int | None = None) -> Num:
        """F(c) × BP before the cap, with ratios moved by `points` bp or replaced."""
        rest = c - self.deductible
        total: Num = 0
        for width, bp in self.segments:
            if rest <= 0:
                break
            r = ratio if ratio is not None else min(BP, max(0, bp + points))
            part = rest if width is None or rest < width else width
            total += part * r
            rest -= part
        return total

    def value(self, c: Num, points: int = 0, ratio: int | None = None) -> int:
        """R(F(c)) in fen: rounded half-up."""
        return int((2 * self.scaled(c, points, ratio) + BP) // (2 * BP))

    def delta(self, before: Num, after: Num, points: int = 0, ratio: int | None = None,
              per_visit: bool = False) -> int:
        """What the curve pays as the pool goes from `before` to `after`, in fen:
        R(F(after)) − R(F(before)) (cumulative rounding, RULES §3), or R(F(after) − F(before))
        when each visit is rounded on its own (`rounding: per_visit`)."""
        if per_visit:
            diff = self.scaled(after, points, ratio) - self.scaled(before, points, ratio)
            return int((2 * diff + BP) // (2 * BP))
        return self.value(after, points, ratio) - self.value(before, points, ratio)

    def reach(self, amount: int) -> Fraction | None:
        """The least cumulative base at which F (uncapped, nominal ratios) reaches
        `amount` fen exactly, or None if it never does (YC-T: where the cap is reached)."""
        need = Fraction(amount * BP)
        c = Fraction(self.deductible)
        for width, bp in self.segments:
            if width is None:
                return c + need / bp if bp else None
            if bp and width * bp >= need:
                return c + need / bp
            need -= width * bp
            c += width
        return None


@dataclass(frozen=True, slots=True)
class BasicInsurance:
    """Basic insurance (tier 1) when the platform did not give hifp_pay."""

    deductible: Mapping[int | None, int]  # per admission, by hospital level (None: any)
    ratio: Mapping[int | None, int]
    cap: int | None


def _segments(raw: object, path: str) -> tuple[tuple[int | None, int], ...]:
    if not isinstance(raw, list) or not raw:
        raise InputError(path, "应为非空的分段列表 {upto, ratio} / "
                               "a non-empty list of {upto, ratio}")
    out: list[tuple[int | None, int]] = []
    prev = 0
    for i, seg in enumerate(raw):
        p = f"{path}[{i}]"
        if not isinstance(seg, Mapping) or "ratio" not in seg:
            raise InputError(p, "须有 ratio（及 upto，最后一段可为 null） / "
                                "needs ratio (and upto, null for the open segment)")
        ratio = parse_ratio(seg["ratio"], f"{p}.ratio")
        upto = seg.get("upto")
        if upto is None:
            if i != len(raw) - 1:
                raise InputError(f"{p}.upto", "只有最后一段可以不设上限 / "
                                              "only the last segment may be open")
            out.append((None, ratio))
            continue
        top = parse_money(upto, f"{p}.upto")
        if top <= prev:
            raise InputError(f"{p}.upto", "分段上限须逐段升高 / segments must rise")
        out.append((top - prev, ratio))
        prev = top
    return tuple(out)


def parse_money(raw: object, path: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal | float):
        raise InputError(path, "应为金额（元），如 1234.56 / must be an amount in yuan")
    try:
        fen = to_fen(str(raw))
    except MoneyError as e:
        raise InputError(path, str(e)) from None
    if fen < 0:
        raise InputError(path, "不能为负数 / must be ≥ 0")
    return fen


def parse_ratio(raw: object, path: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal | float):
        raise InputError(path, "应为比例，如 0.7 / must be a ratio such as 0.7")
    try:
        bp = to_bp(str(raw))
    except MoneyError as e:
        raise InputError(path, str(e)) from None
    if not 0 <= bp <= BP:
        raise InputError(path, "比例应在 0 至 1 之间（如 70% 写作 0.7） / must be between 0 and 1")
    return bp


def _by_level(raw: object, path: str, money: bool) -> dict[int | None, int]:
    """A number for every hospital level, or one per level ({1: …, 2: …, 3: …}; 0: a
    visit without a level, 未定级)."""
    conv = parse_money if money else parse_ratio
    wrong = "医院等级应为 0（未定级）、1、2 或 3 / hospital level 0 (none), 1, 2 or 3"
    if isinstance(raw, Mapping):
        out: dict[int | None, int] = {}
        for k, v in raw.items():
            try:
                level = int(str(k))
            except ValueError:
                raise InputError(f"{path}.{k}", wrong) from None
            if level not in (0, *LEVELS):
                raise InputError(f"{path}.{k}", wrong)
            out[level] = conv(v, f"{path}.{k}")
        return out
    return {None: conv(raw, path)}


def parse_critical_illness(raw: object, path: str) -> Curve:
    if not isinstance(raw, Mapping):
        raise InputError(path, "须为含 deductible、segments、cap 的键值映射 / "
                               "needs deductible, segments and cap")
    for key in raw:
        if key not in ("deductible", "segments", "cap", "bounds"):
            raise InputError(f"{path}.{key}", "未知的键（可用：deductible、segments、cap、"
                                              "bounds） / unknown key")
    if "segments" not in raw:
        raise InputError(f"{path}.segments", "必填 / required")
    bounds = raw.get("bounds", "above_deductible")
    if bounds not in ("above_deductible", "absolute"):
        raise InputError(f"{path}.bounds", "应为 above_deductible（分段上限从起付线起算）或 "
                                           "absolute（分段上限为费用金额，如“1.5万元至10万元部分”）"
                                           " / above_deductible or absolute")
    cap = raw.get("cap")
    deductible = parse_money(raw.get("deductible", 0), f"{path}.deductible")
    segments = _segments(raw["segments"], f"{path}.segments")
    if bounds == "absolute" and segments[0][0] is not None:
        first, bp = segments[0]
        assert first is not None
        if first <= deductible:
            raise InputError(f"{path}.segments[0].upto", "分段上限为费用金额时，第一段上限须高于"
                                                         "起付线 / with absolute bounds the first "
                                                         "bound must exceed the deductible")
        segments = ((first - deductible, bp), *segments[1:])
    return Curve(deductible, segments, None if cap is None else parse_money(cap, f"{path}.cap"),
                 bounds == "absolute")


def parse_basic_insurance(raw: object, path: str) -> BasicInsurance:
    if not isinstance(raw, Mapping):
        raise InputError(path, "须为含 deductible、ratio、cap 的键值映射 / "
                               "needs deductible, ratio and cap")
    for key in raw:
        if key not in ("deductible", "ratio", "cap"):
            raise InputError(f"{path}.{key}",
                             "未知的键（可用：deductible、ratio、cap） / unknown key")
    if "ratio" not in raw:
        raise InputError(f"{path}.ratio", "必填 / required")
    cap = raw.get("cap")
    return BasicInsurance(
        deductible=_by_level(raw.get("deductible", 0), f"{path}.deductible", money=True),
        ratio=_by_level(raw["ratio"], f"{path}.ratio", money=False),
        cap=None if cap is None else parse_money(cap, f"{path}.cap"),
    )


PARSERS = {"critical_illness": parse_critical_illness, "basic_insurance": parse_basic_insurance}
