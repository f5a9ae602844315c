"""Local parameters: the numbers a document leaves to local decision, resolved for a visit.

A value comes from, in order: the case's `local` override; the policy file's value for
the visit — the one for its year (`year:`), or the latest in force on its date (`from:`);
the policy file's default. None of these → `MissingParameter`, an error naming the
parameter, never a guess. Money resolves to fen, ratios to basis points.

A visit is named by its date, or by its year where a calculation works a whole year at
once; a year is refused for a parameter whose value changes inside it. Resolved numbers
are cached per period: a year, cut at the dates the policy's values change.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import BaseModel

from medaid.core.errors import InputError, MissingParameter, PolicyError
from medaid.core.money import BP, to_bp, to_fen
from medaid.policy import schema as s
from medaid.policy.model import Line, Policy
from medaid.policy.structured import (
    BasicInsurance,
    Curve,
    Num,
    parse_basic_insurance,
    parse_critical_illness,
    parse_money,
    parse_ratio,
)

__all__ = ["Curve", "Num", "Params", "Raised", "ResolvedLine", "When"]

When = int | date  # a visit's date, or a whole year
Period = tuple[int, int]  # (year, how many of the year's change dates have passed; −1: all year)


# cap pool → (raised amount, own base to exceed (fen), the visit kinds whose base may raise it)
Raised = dict[str, tuple[int, int, tuple[str, ...] | None]]


@dataclass(frozen=True, slots=True)
class ResolvedLine:
    line: Line | None  # None: the tilted-assistance stage
    curve: Curve | None  # None for a grant
    caps: tuple[tuple[str, int], ...]  # (pool, amount in fen)
    grant: int | None
    raised: Raised | None = None  # the caps that a condition raises (s.RaisedCap)


class Params:
    """The local parameters of one case under one policy version."""

    def __init__(self, policy: Policy, local: Mapping[str, object], bounds: bool = True
                 ) -> None:
        self.policy = policy
        self.local = local
        self.bounds = bounds  # False: read values as given (conformance judges them itself)
        self._cache: dict[tuple[str, Period], object] = {}
        self._lines: dict[tuple[int, Period], ResolvedLine] = {}
        # the dates inside a year (not 1 January) at which some value of the policy changes
        self.changes = sorted({v.since for p in policy.spec.parameters.values()
                                for v in p.values if v.since is not None
                                and (v.since.month, v.since.day) != (1, 1)})

    def period(self, when: When) -> Period:
        """The cache key of a visit: its year, and how many of the year's changes apply
        (−1: the year has none, or a whole year is asked for)."""
        if isinstance(when, int):
            return when, -1
        start = bisect_right(self.changes, date(when.year, 1, 1))
        if start == bisect_right(self.changes, date(when.year, 12, 31)):
            return when.year, -1
        return when.year, bisect_right(self.changes, when) - start

    # -- raw values -----------------------------------------------------------------
    def _declared(self, name: str, needed_by: str) -> s.Parameter:
        p = self.policy.parameter(name)
        if p is None:
            raise PolicyError(f"{self.policy.path}：政策文件未在 parameters 中声明参数 {name}"
                              f"（{needed_by} 需要） / {needed_by} uses undeclared parameter "
                              f"{name}")
        return p

    def source_of(self, name: str, when: When) -> str | None:
        """Where a parameter's value for `when` comes from: the source the policy gives its
        value or default; None when the case sets it (`local`) or none is given."""
        p = self.policy.parameter(name)
        if p is None or name in self.local:
            return None
        found = _value(p, name, when)
        return found.source if found is not None else p.source

    def dated(self, entry: object, when: When) -> list[dict[str, str]]:
        """The parameters `entry` (a line, a stage…) takes a dated value of for `when` (a
        year's figure, a value from a date: often another document's), each with its label
        and that value's source, for the trace to cite beside the entry's own article."""
        out = []
        for name in dict.fromkeys(ref.param for ref in param_refs(entry)):
            p = self.policy.parameter(name)
            found = None if p is None or name in self.local else _value(p, name, when)
            if p is not None and found is not None and found.source:
                out.append({"label": p.label or name, "source": found.source})
        return out

    def _raw(self, name: str, when: When, needed_by: str) -> tuple[object, str]:
        """The raw value and the path to report errors against."""
        p = self._declared(name, needed_by)
        if name in self.local:
            return self.local[name], f"local.{name}"
        found = _value(p, name, when)
        if found is not None:
            return found.value, f"{self.policy.path}: parameters.{name} ({found.when})"
        if p.default is not None:
            return p.default, f"{self.policy.path}: parameters.{name}"
        raise MissingParameter(self.policy.jurisdiction, name, needed_by, p.label)

    def money(self, name: str, when: When, needed_by: str) -> int:
        key = (name, self.period(when))
        if key not in self._cache:
            raw, path = self._raw(name, when, needed_by)
            fen = self.amount(raw, when, needed_by) if isinstance(raw, s.ParamRef) \
                else parse_money(raw, path)
            self._bounds(name, Decimal(fen) / 100, path, when)
            self._cache[key] = fen
        value = self._cache[key]
        assert isinstance(value, int)
        return value

    def ratio(self, name: str, when: When, needed_by: str) -> int:
        key = (name, self.period(when))
        if key not in self._cache:
            raw, path = self._raw(name, when, needed_by)
            if isinstance(raw, s.ParamRef):
                raise PolicyError(f"parameters.{name}：比例不能引用其他参数 / "
                                  f"a ratio cannot refer to a parameter")
            bp = parse_ratio(raw, path)
            self._bounds(name, Decimal(bp) / BP, path, when)
            self._cache[key] = bp
        value = self._cache[key]
        assert isinstance(value, int)
        return value

    def _bounds(self, name: str, value: Decimal, path: str, when: When) -> None:
        """The parameter's floor, ceiling and `below` (JS floors: key_cap ≥ 50% of basic_cap,
        low_income_ratio < key_ratio); a bound on a parameter nobody set is not checked."""
        p = self.policy.spec.parameters[name]
        if not self.bounds:
            return
        why = ", ".join(p.used_by) or name
        floor: Decimal | None = None
        text = ""
        if isinstance(p.min, s.ParamRef):
            try:
                floor = Decimal(self.amount(p.min, when, name)) / 100
            except MissingParameter:
                floor = None
            text = f"{floor} ({p.min.times:%} of {p.min.param})" if floor is not None else ""
        elif p.min is not None:
            floor, text = p.min, str(p.min)
        if floor is not None and value < floor:
            raise InputError(path, f"{p.label}不得低于 {text}（{why}） / must be ≥ {text} ({why})")
        if p.max is not None and value > p.max:
            raise InputError(path, f"{p.label}不得高于 {p.max}（{why}） / "
                                   f"must be ≤ {p.max} ({why})")
        if p.below is not None:
            try:
                limit = Decimal(self.ratio(p.below, when, name)) / BP
            except MissingParameter:
                return
            if value >= limit:
                other = self.policy.parameter(p.below)
                raise InputError(path, f"{p.label}须低于{other.label if other else p.below} "
                                       f"{limit}（{why}） / must be < {p.below} {limit} ({why})")

    def critical_illness(self, when: When, needed_by: str) -> Curve:
        key = ("critical_illness", self.period(when))
        if key not in self._cache:
            raw, path = self._raw("critical_illness", when, needed_by)
            self._cache[key] = parse_critical_illness(raw, path)
        value = self._cache[key]
        assert isinstance(value, Curve)
        return value

    def basic_insurance(self, when: When, needed_by: str) -> BasicInsurance:
        key = ("basic_insurance", self.period(when))
        if key not in self._cache:
            raw, path = self._raw("basic_insurance", when, needed_by)
            self._cache[key] = parse_basic_insurance(raw, path)
        value = self._cache[key]
        assert isinstance(value, BasicInsurance)
        return value

    # -- policy numbers -------------------------------------------------------------
    def amount(self, a: s.Amount, when: When, needed_by: str) -> int:
        if isinstance(a, s.ParamRef):
            base = self.money(a.param, when, needed_by)
            return (2 * base * to_bp(a.times) + BP) // (2 * BP)
        return to_fen(a)

    def ratio_of(self, r: s.Ratio, when: When, needed_by: str) -> int:
        if isinstance(r, s.ParamRef):
            return self.ratio(r.param, when, needed_by) * to_bp(r.times) // BP
        return to_bp(r)

    def curve(self, deductible: s.Amount, segments: list[s.Segment], caps: list[s.Cap],
              when: When, needed_by: str, bounds: s.Bounds = "above_deductible"
              ) -> tuple[Curve, tuple[tuple[str, int], ...]]:
        """F's deductible and segment widths; `bounds: absolute` bounds are amounts from zero,
        so a segment wholly below the deductible is empty (其他 with a 1万 deductible under
        1万元（含）以下50%、以上60% is paid 60% from the first yuan above it)."""
        resolved_caps, _ = self.caps(caps, when, needed_by)
        floor = self.amount(deductible, when, needed_by)
        segs: list[tuple[int | None, int]] = []
        prev = floor if bounds == "absolute" else 0
        for seg in segments:
            bp = self.ratio_of(seg.ratio, when, needed_by)
            if seg.upto is None:
                segs.append((None, bp))
                break
            top = to_fen(seg.upto)
            if top > prev:
                segs.append((top - prev, bp))
                prev = top
        # caps are payout limits, never part of F (RULES §3): they stay beside the curve
        return Curve(floor, tuple(segs), None), resolved_caps

    def caps(self, caps: list[s.Cap], when: When, needed_by: str
             ) -> tuple[tuple[tuple[str, int], ...], Raised]:
        """The cap pools' amounts, and those a condition raises (`Raised`)."""
        found = tuple((c.pool, amount) for c in caps
                      if (amount := self._cap(c, when, needed_by)) is not None)
        raised = {c.pool: (self.amount(c.raised.amount, when, needed_by),
                           self.amount(c.raised.over, when, needed_by),
                           None if c.raised.kinds == "*" else tuple(map(str, c.raised.kinds)))
                  for c in caps if c.raised is not None}
        return found, raised

    def _cap(self, cap: s.Cap, when: When, needed_by: str) -> int | None:
        try:
            return self.amount(cap.amount, when, needed_by)
        except MissingParameter:
            if cap.optional:
                return None
            raise

    def tilted(self, when: When) -> tuple[Curve, tuple[tuple[str, int], ...]]:
        """The tilted-assistance curve and caps of a visit (the policy must define it)."""
        key = (-1, self.period(when))
        found = self._lines.get(key)
        if found is None:
            cfg = self.policy.spec.tilted
            assert cfg is not None
            curve, caps = self.curve(cfg.deductible, cfg.segments, cfg.caps, when, cfg.rule,
                                     cfg.bounds)
            found = self._lines[key] = ResolvedLine(None, curve, caps, None)
        assert found.curve is not None
        return found.curve, found.caps

    def line(self, line: Line, when: When) -> ResolvedLine:
        key = (line.index, self.period(when))
        found = self._lines.get(key)
        if found is None:
            spec = line.spec
            if spec.grant is not None:
                found = ResolvedLine(line, None, (), self.amount(spec.grant, when, line.rule))
            else:
                curve, caps = self.curve(spec.deductible, spec.segments, spec.caps, when,
                                         line.rule, spec.bounds)
                raised = self.caps(spec.caps, when, line.rule)[1] or None
                found = ResolvedLine(line, curve, caps, None, raised)
            self._lines[key] = found
        return found


def param_refs(node: object) -> list[s.ParamRef]:
    """Every parameter reference inside a model of the policy file, in field order."""
    if isinstance(node, s.ParamRef):
        return [node]
    if isinstance(node, BaseModel):  # by_category: the visit's values come merged already
        return [r for key in type(node).model_fields if key != "by_category"
                for r in param_refs(getattr(node, key))]
    if isinstance(node, list | tuple):
        return [r for item in node for r in param_refs(item)]
    return []


def _value(p: s.Parameter, name: str, when: When) -> s.ParamValue | None:
    """The policy file's value for a visit: the one for its year (a year's value wins in
    its year), else the latest in force on its date; None when none applies. A whole year
    cannot take a value that changes inside it."""
    year = when if isinstance(when, int) else when.year
    for v in p.values:
        if v.year == year:
            return v
    dated = sorted((v for v in p.values if v.since is not None), key=lambda v: v.since or date.min)
    if isinstance(when, int):
        inside = [v.since for v in dated if v.since and v.since.year == when
                  and (v.since.month, v.since.day) != (1, 1)]
        if inside:
            raise PolicyError(f"parameters.{name}: 取值于{inside[0]}变更，须按就诊日期取值，"
                              f"不能按{when}年全年取值")
        when = date(when, 1, 1)
    found = None
    for v in dated:
        if v.since is not None and v.since <= when:
            found = v
    return found
