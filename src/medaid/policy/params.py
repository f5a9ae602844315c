"""Local parameters: the numbers a document leaves to local decision, resolved for a year.

A value comes from, in order: the case's `local` override; the policy file's value for
the visit's year; the policy file's default. None of these → `MissingParameter`, an
error naming the parameter, never a guess. Money resolves to fen, ratios to basis points.
Resolved lines are cached per year: a year's numbers never change within a case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from medaid.errors import InputError, MissingParameter, PolicyError
from medaid.money import BP, MoneyError, to_bp, to_fen
from medaid.policy import schema as s
from medaid.policy.model import Line, Policy

LEVELS = (1, 2, 3)
Num = int | Fraction  # pool amounts in fen; Fraction only where YC-T makes them fractional


@dataclass(frozen=True, slots=True)
class Curve:
    """A cumulative payout function F over a pool: deductible, segments, cap (RULES §3).

    `segments` are (width in fen or None for open, ratio in bp) above the deductible.
    """

    deductible: int
    segments: tuple[tuple[int | None, int], ...]
    cap: int | None

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
        """R(F(c)) in fen: rounded half-up, then capped (the cap is whole fen)."""
        v = int((2 * self.scaled(c, points, ratio) + BP) // (2 * BP))
        return v if self.cap is None or v < self.cap else self.cap

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
class ResolvedLine:
    line: Line | None  # None: the tilted-assistance stage
    curve: Curve | None  # None for a grant
    caps: tuple[tuple[str, int], ...]  # (pool, amount in fen)
    grant: int | None


@dataclass(frozen=True, slots=True)
class BasicInsurance:
    """Basic insurance (tier 1) when the platform did not give hifp_pay."""

    deductible: Mapping[int | None, int]  # per admission, by hospital level (None: any)
    ratio: Mapping[int | None, int]
    cap: int | None


def _segments(raw: object, path: str) -> tuple[tuple[int | None, int], ...]:
    if not isinstance(raw, list) or not raw:
        raise InputError(path, "a non-empty list of {upto, ratio}")
    out: list[tuple[int | None, int]] = []
    prev = 0
    for i, seg in enumerate(raw):
        p = f"{path}[{i}]"
        if not isinstance(seg, Mapping) or "ratio" not in seg:
            raise InputError(p, "needs ratio (and upto, null for the open segment)")
        ratio = _ratio(seg["ratio"], f"{p}.ratio")
        upto = seg.get("upto")
        if upto is None:
            if i != len(raw) - 1:
                raise InputError(f"{p}.upto", "only the last segment may be open")
            out.append((None, ratio))
            continue
        top = _money(upto, f"{p}.upto")
        if top <= prev:
            raise InputError(f"{p}.upto", "segments must rise")
        out.append((top - prev, ratio))
        prev = top
    return tuple(out)


def _money(raw: object, path: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal | float):
        raise InputError(path, "must be an amount in yuan")
    try:
        fen = to_fen(str(raw))
    except MoneyError as e:
        raise InputError(path, str(e)) from None
    if fen < 0:
        raise InputError(path, "must be ≥ 0")
    return fen


def _ratio(raw: object, path: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal | float):
        raise InputError(path, "must be a ratio such as 0.7")
    try:
        bp = to_bp(str(raw))
    except MoneyError as e:
        raise InputError(path, str(e)) from None
    if not 0 <= bp <= BP:
        raise InputError(path, "must be between 0 and 1")
    return bp


def _by_level(raw: object, path: str, money: bool) -> dict[int | None, int]:
    """A number for every hospital level, or one per level ({1: …, 2: …, 3: …})."""
    conv = _money if money else _ratio
    if isinstance(raw, Mapping):
        out: dict[int | None, int] = {}
        for k, v in raw.items():
            try:
                level = int(str(k))
            except ValueError:
                raise InputError(f"{path}.{k}", "hospital level 1, 2 or 3") from None
            if level not in LEVELS:
                raise InputError(f"{path}.{k}", "hospital level 1, 2 or 3")
            out[level] = conv(v, f"{path}.{k}")
        return out
    return {None: conv(raw, path)}


def parse_critical_illness(raw: object, path: str) -> Curve:
    if not isinstance(raw, Mapping):
        raise InputError(path, "needs deductible, segments and cap")
    for key in raw:
        if key not in ("deductible", "segments", "cap"):
            raise InputError(f"{path}.{key}", "unknown key (deductible, segments, cap)")
    if "segments" not in raw:
        raise InputError(f"{path}.segments", "required")
    cap = raw.get("cap")
    return Curve(
        deductible=_money(raw.get("deductible", 0), f"{path}.deductible"),
        segments=_segments(raw["segments"], f"{path}.segments"),
        cap=None if cap is None else _money(cap, f"{path}.cap"),
    )


def parse_basic_insurance(raw: object, path: str) -> BasicInsurance:
    if not isinstance(raw, Mapping):
        raise InputError(path, "needs deductible, ratio and cap")
    for key in raw:
        if key not in ("deductible", "ratio", "cap"):
            raise InputError(f"{path}.{key}", "unknown key (deductible, ratio, cap)")
    if "ratio" not in raw:
        raise InputError(f"{path}.ratio", "required")
    cap = raw.get("cap")
    return BasicInsurance(
        deductible=_by_level(raw.get("deductible", 0), f"{path}.deductible", money=True),
        ratio=_by_level(raw["ratio"], f"{path}.ratio", money=False),
        cap=None if cap is None else _money(cap, f"{path}.cap"),
    )


def check_structured_defaults(policy: Policy) -> None:
    """Structured parameter defaults in a policy file are validated when it loads."""
    for name, p in policy.spec.parameters.items():
        for raw in [p.default, *(v.value for v in p.values)]:
            if isinstance(raw, dict):
                parse = {"critical_illness": parse_critical_illness,
                         "basic_insurance": parse_basic_insurance}.get(p.type)
                if parse is None:
                    raise PolicyError(f"parameters.{name}: a {p.type} is not a mapping")
                try:
                    parse(raw, f"parameters.{name}")
                except InputError as e:
                    raise PolicyError(str(e)) from None


class Params:
    """The local parameters of one case under one policy version."""

    def __init__(self, policy: Policy, local: Mapping[str, object]) -> None:
        self.policy = policy
        self.local = local
        self._cache: dict[tuple[str, int], object] = {}
        self._lines: dict[tuple[int, int], ResolvedLine] = {}

    # -- raw values -----------------------------------------------------------------
    def _declared(self, name: str, needed_by: str) -> s.Parameter:
        p = self.policy.parameter(name)
        if p is None:
            raise PolicyError(f"{self.policy.path}: {needed_by} uses undeclared parameter {name}")
        return p

    def _raw(self, name: str, year: int, needed_by: str) -> tuple[object, str]:
        """The raw value and the path to report errors against."""
        p = self._declared(name, needed_by)
        if name in self.local:
            return self.local[name], f"local.{name}"
        for v in p.values:
            if v.year == year:
                return v.value, f"{self.policy.path}: parameters.{name}"
        if p.default is not None:
            return p.default, f"{self.policy.path}: parameters.{name}"
        raise MissingParameter(self.policy.jurisdiction, name, needed_by)

    def money(self, name: str, year: int, needed_by: str) -> int:
        key = (name, year)
        if key not in self._cache:
            raw, path = self._raw(name, year, needed_by)
            fen = self.amount(raw, year, needed_by) if isinstance(raw, s.ParamRef) \
                else _money(raw, path)
            self._bounds(name, Decimal(fen) / 100, path)
            self._cache[key] = fen
        value = self._cache[key]
        assert isinstance(value, int)
        return value

    def ratio(self, name: str, year: int, needed_by: str) -> int:
        key = (name, year)
        if key not in self._cache:
            raw, path = self._raw(name, year, needed_by)
            if isinstance(raw, s.ParamRef):
                raise PolicyError(f"parameters.{name}: a ratio cannot refer to a parameter")
            bp = _ratio(raw, path)
            self._bounds(name, Decimal(bp) / BP, path)
            self._cache[key] = bp
        value = self._cache[key]
        assert isinstance(value, int)
        return value

    def _bounds(self, name: str, value: Decimal, path: str) -> None:
        p = self.policy.spec.parameters[name]
        if p.min is not None and value < p.min:
            raise InputError(path, f"must be ≥ {p.min} ({', '.join(p.used_by) or name})")
        if p.max is not None and value > p.max:
            raise InputError(path, f"must be ≤ {p.max} ({', '.join(p.used_by) or name})")

    def critical_illness(self, year: int, needed_by: str) -> Curve:
        key = ("critical_illness", year)
        if key not in self._cache:
            raw, path = self._raw("critical_illness", year, needed_by)
            self._cache[key] = parse_critical_illness(raw, path)
        value = self._cache[key]
        assert isinstance(value, Curve)
        return value

    def basic_insurance(self, year: int, needed_by: str) -> BasicInsurance:
        key = ("basic_insurance", year)
        if key not in self._cache:
            raw, path = self._raw("basic_insurance", year, needed_by)
            self._cache[key] = parse_basic_insurance(raw, path)
        value = self._cache[key]
        assert isinstance(value, BasicInsurance)
        return value

    # -- policy numbers -------------------------------------------------------------
    def amount(self, a: s.Amount, year: int, needed_by: str) -> int:
        if isinstance(a, s.ParamRef):
            base = self.money(a.param, year, needed_by)
            return (2 * base * to_bp(a.times) + BP) // (2 * BP)
        return to_fen(a)

    def ratio_of(self, r: s.Ratio, year: int, needed_by: str) -> int:
        if isinstance(r, s.ParamRef):
            return self.ratio(r.param, year, needed_by) * to_bp(r.times) // BP
        return to_bp(r)

    def curve(self, deductible: s.Amount, segments: list[s.Segment], caps: list[s.Cap],
              year: int, needed_by: str) -> tuple[Curve, tuple[tuple[str, int], ...]]:
        resolved_caps = tuple((c.pool, self.amount(c.amount, year, needed_by)) for c in caps)
        segs: list[tuple[int | None, int]] = []
        prev = 0
        for seg in segments:
            bp = self.ratio_of(seg.ratio, year, needed_by)
            if seg.upto is None:
                segs.append((None, bp))
                break
            top = to_fen(seg.upto)
            segs.append((top - prev, bp))
            prev = top
        cap = min((a for _, a in resolved_caps), default=None)
        return Curve(self.amount(deductible, year, needed_by), tuple(segs), cap), resolved_caps

    def tilted(self, year: int) -> tuple[Curve, tuple[tuple[str, int], ...]]:
        """The tilted-assistance curve and caps of a year (the policy must define it)."""
        key = (-1, year)
        found = self._lines.get(key)
        if found is None:
            cfg = self.policy.spec.tilted
            assert cfg is not None
            curve, caps = self.curve(cfg.deductible, cfg.segments, cfg.caps, year, cfg.rule)
            found = self._lines[key] = ResolvedLine(None, curve, caps, None)
        assert found.curve is not None
        return found.curve, found.caps

    def line(self, line: Line, year: int) -> ResolvedLine:
        key = (line.index, year)
        found = self._lines.get(key)
        if found is None:
            spec = line.spec
            if spec.grant is not None:
                found = ResolvedLine(line, None, (), self.amount(spec.grant, year, line.rule))
            else:
                curve, caps = self.curve(spec.deductible, spec.segments, spec.caps, year,
                                         line.rule)
                found = ResolvedLine(line, curve, caps, None)
            self._lines[key] = found
        return found
