"""Which identities are in force for a visit (RULES §3 身份, the windows of §4).

A window runs from recognition (`from`, or the first of its month) to exit (`to`, or the
last of its month). A stay is covered when any day of it is in the window where the
jurisdiction has the stay rule, otherwise by its discharge date. Look-back periods extend
a category's cover before `from` (or the application date), possibly at another ratio.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from medaid.core.dates import add_months, month_end, month_start
from medaid.engine.types import INPATIENT_SETTINGS, Identity, Person, Visit
from medaid.policy.model import Policy
from medaid.policy.params import Params
from medaid.policy.schema import Grace, Ratio

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Standing:
    """An identity's claim on a visit."""

    category: str
    order: int  # tie order of the category in the policy
    mode: str  # in_force | lookback | counted (a look-back counted, not paid)
    rule: str  # the window rule that grants it
    source: str
    ratio: int | None = None  # a look-back ratio replacing the ratios of `ratio_rules`' lines
    ratio_rules: frozenset[str] = frozenset()
    citation: str = ""  # the document's number and article
    period: str = ""  # the days the period covers, as a trace reads them
    grace: bool = False  # in force in the 渐退期 after exit (windows.grace)
    partly: bool = False  # a stay with only some of its days in the period (the stay rule)
    unanchored: bool = False  # counted back from `from`: the application date not given


@dataclass(frozen=True, slots=True)
class Period:
    """A stretch of days an identity covers: its window in force, or a look-back period."""

    mode: str  # in_force | lookback | counted (a look-back counted, not paid)
    first: date
    last: date | None  # None: open
    rule: str
    article: str
    ratio: Ratio | None = None  # a look-back's ratio, unresolved (a parameter reference)
    ratio_rules: frozenset[str] = frozenset()  # the rules whose lines it applies to
    document: str | None = None  # the notice that gave it (None: the policy's document)
    grace: bool = False  # in force in the 渐退期 after exit
    unanchored: bool = False  # `before: application` counted from `from`: no application
    kinds: frozenset[str] | None = None  # the settings it covers (None: every one)

    @property
    def days(self) -> str:
        """`first–last`, or `first–` when open (the trace's wording says 起 / from)."""
        return f"{self.first}–{self.last or ''}"


def periods(policy: Policy, person: Person, ident: Identity, year: int) -> list[Period]:
    """The periods `ident` covers for visits of `year`, in the order they are tried: the
    look-backs with a ratio of their own, its window in force, then the other look-backs
    of its category (a `counts_only` one as `counted`). A 渐退期 (`windows.grace`) follows
    the window in force, in force too."""
    w = policy.spec.windows
    first = month_start(ident.start) if w.start == "month_start" \
        else month_end(ident.start) + DAY if w.start == "next_month" else ident.start
    month_end_exit = w.end == "month_end" and (
        w.month_end_categories is None or ident.category in w.month_end_categories)
    last = month_end(ident.end) if ident.end is not None and month_end_exit else ident.end
    if last is not None and w.end == "day_before":
        last -= DAY
    in_force = [Period("in_force", first, last, w.rule, w.article, document=w.document)]
    grace = _grace(policy, ident)
    if grace is not None and ident.end is not None and last is not None:
        grace_last = held_until(policy, ident)
        assert grace_last is not None
        if grace_last > last:
            # never before the window's start (an exit before 次月起享受 began)
            in_force.append(Period("in_force", max(last + DAY, first), grace_last, grace.rule,
                                   grace.article, document=grace.document, grace=True))
    lookbacks = []
    applied = person.tilted_application is not None and person.tilted_application.year == year
    for lb in w.lookback:
        if lb.new_this_year and ident.start.year != year:  # 当年新认定 only
            continue
        if lb.recognised_since is not None and ident.start < lb.recognised_since:
            continue
        if lb.with_tilted_application and not applied:  # 依申请
            continue
        if ident.category in lb.categories:
            anchor = ident.application if lb.before == "application" and ident.application \
                else ident.start
            until = ident.start if lb.until == "from" else anchor
            mode = "counted" if lb.counts_only else "lookback"
            lookbacks.append(Period(mode, add_months(anchor, -lb.months), until - DAY,
                                    lb.rule, lb.article, lb.ratio,
                                    frozenset(lb.rules or [lb.rule]), lb.document,
                                    unanchored=lb.before == "application"
                                    and ident.application is None,
                                    kinds=None if lb.kinds == "*" else frozenset(lb.kinds)))
    # a look-back with a ratio of its own wins over the window where the two overlap (NB-A3:
    # an application after recognition); one without only extends the window
    found = [p for p in lookbacks if p.ratio is not None] + in_force \
        + [p for p in lookbacks if p.ratio is None]
    return found


def _grace(policy: Policy, ident: Identity) -> Grace | None:
    """The first 渐退期 entry listing the identity's category whose exit date it meets."""
    return next((g for g in policy.spec.windows.grace if ident.category in g.categories
                 and (g.exited_since is None
                      or (ident.end is not None and ident.end >= g.exited_since))), None)


def held_until(policy: Policy, ident: Identity) -> date | None:
    """The identity's last day held: its exit `to`, or the end of its 渐退期 (`to` + months,
    the same category: 渐退期内按原身份继续享受); None: open."""
    grace = _grace(policy, ident)
    if ident.end is None or grace is None:
        return ident.end
    return max(ident.end, add_months(ident.end, grace.months))


def _covers(first: date, last: date | None, visit: Visit, stay: bool | str) -> bool:
    """Whether [first, last] covers the visit: any day of a stay under the stay rule, its
    admission date under `stay_rule: admission`, otherwise its end date."""
    if stay is True:
        return visit.end >= first and (last is None or visit.start <= last)
    day = visit.start if stay == "admission" else visit.end
    return first <= day and (last is None or day <= last)


def standings(policy: Policy, params: Params, person: Person, visit: Visit, setting: str,
              year: int) -> list[Standing]:
    """Every identity's standing for the visit, in tie order (the category listed first,
    whether in force or in a look-back period, RULES §3): the first of its periods that
    covers the visit."""
    stay = setting in INPATIENT_SETTINGS and policy.spec.windows.stay_rule
    order = policy.order
    found: list[Standing] = []
    for ident in person.identities:
        n = order[ident.category]
        for p in periods(policy, person, ident, year):
            if (p.kinds is None or setting in p.kinds) and _covers(p.first, p.last, visit,
                                                                   stay):
                ratio = None if p.ratio is None else params.ratio_of(p.ratio, year, p.rule)
                source, citation = policy.cites(p)
                partly = stay is True and (visit.start < p.first
                                           or (p.last is not None and visit.end > p.last))
                found.append(Standing(ident.category, n, p.mode, p.rule, source, ratio,
                                      p.ratio_rules, citation, p.days, p.grace, partly,
                                      p.unanchored))
                break
    # an identity recognised again in its old one's 渐退期 is held by the new recognition
    found.sort(key=lambda st: (st.order, st.grace))
    unique: dict[tuple[str, str, int | None], Standing] = {}  # one per category, mode, ratio
    for st in found:
        unique.setdefault((st.category, st.mode, st.ratio), st)
    return list(unique.values())
