"""Totals of an audit: overall, and by institution, cause, month, category and rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow as pa

from medaid.audit.causes import CAUSE_ORDER, CAUSES, Finding
from medaid.audit.resettle import CANCELLED, DUPLICATE, LIVE, REVERSAL, Outcome


@dataclass
class Group:
    """One line of a summary table (amounts in fen)."""

    key: str
    label: str
    settlements: int = 0
    platform: int = 0
    medaid: int = 0
    findings: int = 0
    overpaid: int = 0
    underpaid: int = 0  # positive: what the platform paid too little


@dataclass
class Summary:
    records: int
    settlements: int  # settlement records (cancelled ones included)
    cancellations: int
    duplicates: int
    person_years: int
    persons: int
    not_in_roster: int  # persons
    platform: int  # the platform's net maf_pay, fen
    medaid: int
    overpaid: int
    underpaid: int
    findings: int
    checked: int
    fallback: bool
    rounding: str
    by_institution: list[Group] = field(default_factory=list)
    by_cause: list[Group] = field(default_factory=list)
    by_month: list[Group] = field(default_factory=list)
    by_category: list[Group] = field(default_factory=list)
    by_rule: list[Group] = field(default_factory=list)


def _month(seconds: int) -> str:
    return str(np.datetime64(int(seconds), "s").astype("datetime64[M]"))


def _groups(out: Outcome, found: list[Finding], key_of: Callable[[int], tuple[str, str]],
            all_settlements: bool, order: list[str] | None = None) -> list[Group]:
    """Groups by `key_of(record)`: every settlement counted when `all_settlements`, else
    only the findings."""
    groups: dict[str, Group] = {}
    if all_settlements:
        s = np.flatnonzero(out.status != REVERSAL)
        keys = [key_of(i) for i in s.tolist()]
        for i, (k, label) in zip(s.tolist(), keys, strict=True):
            g = groups.get(k) or groups.setdefault(k, Group(k, label))
            g.settlements += 1
            g.platform += int(out.platform[i])
            g.medaid += int(out.medaid[i])
    diff = out.diff
    for f in found:
        k, label = key_of(f.record)
        g = groups.get(k) or groups.setdefault(k, Group(k, label))
        if not all_settlements:
            g.settlements += 1
            g.platform += int(out.platform[f.record])
            g.medaid += int(out.medaid[f.record])
        g.findings += 1
        d = int(diff[f.record])
        if d > 0:
            g.overpaid += d
        else:
            g.underpaid += -d
    if order is not None:
        return [groups[k] for k in order if k in groups]
    return sorted(groups.values(), key=lambda g: (-(g.overpaid + g.underpaid), g.key))


def summarise(out: Outcome, found: list[Finding], rounding: str) -> Summary:
    rec = out.records
    diff = out.diff
    st = out.status
    if out.group_off is not None:  # the live settlements' person-years, as settled
        py = len(out.group_off) - 1
    else:
        live = np.flatnonzero(st == LIVE)
        py = len(np.unique(out.person[live].astype(np.int64) * 4096 + out.year[live])) \
            if len(live) else 0
    s = Summary(
        records=len(rec), settlements=int((st != REVERSAL).sum()),
        cancellations=int((st == CANCELLED).sum()), duplicates=int((st == DUPLICATE).sum()),
        person_years=py, persons=len(out.keys), not_in_roster=int((out.roster_of < 0).sum()),
        platform=int(out.platform.sum()), medaid=int(out.medaid.sum()),
        overpaid=int(diff[diff > 0].sum()), underpaid=int(-diff[diff < 0].sum()),
        findings=len(found), checked=out.checked, fallback=out.fallback, rounding=rounding)
    codes = rec.fixmedins_code

    # by institution over every settlement, vectorised
    enc = codes.dictionary_encode()
    inst = np.asarray(enc.indices.to_numpy(), np.int64)
    m = len(enc.dictionary)
    keep = st != REVERSAL
    count = np.bincount(inst[keep], minlength=m)
    plat = np.bincount(inst[keep], weights=out.platform[keep], minlength=m)
    med = np.bincount(inst[keep], weights=out.medaid[keep], minlength=m)
    label: dict[int, str] = {}
    if rec.fixmedins_name is not None:  # the first name given for each institution
        named = np.flatnonzero(rec.fixmedins_name.is_valid().to_numpy(zero_copy_only=False))
        kinds, first = np.unique(inst[named], return_index=True)
        words = rec.fixmedins_name.take(pa.array(named[first])).to_pylist()
        label = dict(zip(kinds.tolist(), words, strict=True))
    groups = [Group(str(c), label.get(k, ""), int(count[k]), round(plat[k]),
                    round(med[k])) for k, c in enumerate(enc.dictionary.to_pylist())]
    for f in found:
        g = groups[int(inst[f.record])]
        g.findings += 1
        d = int(diff[f.record])
        g.overpaid += max(d, 0)
        g.underpaid += max(-d, 0)
    s.by_institution = sorted([g for g in groups if g.settlements],
                              key=lambda g: (-(g.overpaid + g.underpaid), g.key))
    cause = {f.record: f for f in found}
    s.by_cause = _groups(out, found, lambda i: (cause[i].cause, CAUSES[cause[i].cause]), False,
                         CAUSE_ORDER)
    s.by_month = sorted(_groups(out, found, lambda i: (_month(int(rec.time[i])),) * 2, False),
                        key=lambda g: g.key)
    policy = out.versions[-1]
    s.by_category = _groups(
        out, found, lambda i: (out.category(i) or "", policy.label(out.category(i) or "")
                               if out.category(i) else "无有效身份"), False)
    s.by_rule = _groups(out, found, lambda i: (cause[i].rule or "—", cause[i].rule or "—"),
                        False)
    return s


def _merge_groups(lists: list[list[Group]]) -> dict[str, Group]:
    merged: dict[str, Group] = {}
    for groups in lists:
        for g in groups:
            m = merged.get(g.key)
            if m is None:
                merged[g.key] = replace(g)
                continue
            m.label = m.label or g.label
            m.settlements += g.settlements
            m.platform += g.platform
            m.medaid += g.medaid
            m.findings += g.findings
            m.overpaid += g.overpaid
            m.underpaid += g.underpaid
    return merged


def _by_size(groups: dict[str, Group]) -> list[Group]:
    return sorted(groups.values(), key=lambda g: (-(g.overpaid + g.underpaid), g.key))


def merge(parts: list[Summary], rounding: str) -> Summary:
    """The totals of partitions that hold whole persons each: added up, the groups merged
    by key and ordered as `summarise` orders them."""
    s = Summary(**{f: sum(getattr(p, f) for p in parts) for f in (
        "records", "settlements", "cancellations", "duplicates", "person_years", "persons",
        "not_in_roster", "platform", "medaid", "overpaid", "underpaid", "findings",
        "checked")}, fallback=any(p.fallback for p in parts), rounding=rounding)
    s.by_institution = _by_size(_merge_groups([p.by_institution for p in parts]))
    causes = _merge_groups([p.by_cause for p in parts])
    s.by_cause = [causes[k] for k in CAUSE_ORDER if k in causes]
    s.by_month = sorted(_merge_groups([p.by_month for p in parts]).values(),
                        key=lambda g: g.key)
    s.by_category = _by_size(_merge_groups([p.by_category for p in parts]))
    s.by_rule = _by_size(_merge_groups([p.by_rule for p in parts]))
    return s
