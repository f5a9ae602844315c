"""Properties of the settlement engine over synthetic person-years (`medaid.batch.synth`).

Each example is a seed and a jurisdiction; the person-year is derived from them, and a
failure notes it as a CASE.md input (run it with `medaid settle - --json`). Caps, ratios
and deductibles come from the policy files, read here independently of the engine's own
parameter resolution; the windows are re-derived from RULES §3–§4.
"""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from medaid.batch import synth
from medaid.core.dates import add_months, month_end
from medaid.engine.case import dumps
from medaid.engine.settle import settle_year
from medaid.engine.types import INPATIENT_SETTINGS, Identity, Person, Settlement, Visit
from medaid.policy import model
from medaid.policy import schema as s
from medaid.policy.model import Line, Policy
from runs import drawn

JURISDICTIONS = synth.JURISDICTIONS
SEEDS = st.integers(0, 2**32 - 1)
TIERS = ("assistance", "tilted", "special")
SCALE = drawn(3, "MEDAID_PROPERTY_SCALE")  # CI ~15 s; 100 for a long hunt
PROPS = settings(max_examples=round(150 * SCALE), deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])


def policy(j: str) -> Policy:
    return model.versions(j)[-1]


def settle(py: synth.PersonYear) -> list[Settlement]:
    if currently_in_test_context():  # a failing example is reported as a CASE.md input
        note(dumps(synth.case_dict(py)))
    return settle_year(model.versions(py.jurisdiction), py.local, py.person,
                       py.visits).settlements


# -- policy numbers, read from the files (not through the engine's Params) ------------------
def fen(value: object) -> int:
    return int(Decimal(str(value)) * 100)


def resolve(p: Policy, local: Mapping[str, object], year: int, a: object) -> Fraction:
    """An Amount or Ratio of the policy file in yuan (Fraction), parameters resolved."""
    if not isinstance(a, s.ParamRef):
        return Fraction(Decimal(str(a)))
    if a.param in local:
        raw: object = local[a.param]
    else:
        decl = p.spec.parameters[a.param]
        raw = next((v.value for v in decl.values if v.year == year), decl.default)
        assert raw is not None, f"{a.param} unset for {year}: synth must supply it"
    return resolve(p, local, year, raw) * Fraction(Decimal(str(a.times)))


def resolve_fen(p: Policy, local: Mapping[str, object], year: int, a: object) -> int:
    """A money amount in fen, half-up like every amount the documents fix."""
    return int(resolve(p, local, year, a) * 100 + Fraction(1, 2))


def caps_of(p: Policy, local: Mapping[str, object], year: int,
            caps: Sequence[s.Cap]) -> list[tuple[str, int]]:
    return [(c.pool, resolve_fen(p, local, year, c.amount)) for c in caps
            if not (c.optional and isinstance(c.amount, s.ParamRef)
                    and c.amount.param not in local)]


def oracle(p: Policy, line: Line, local: Mapping[str, object], year: int, total: int) -> int:
    """R(F(total)) of one line over a year's cumulative base `total` (fen), within its caps."""
    rest = Fraction(total - resolve_fen(p, local, year, line.spec.deductible))
    f, prev = Fraction(0), Fraction(0)
    for seg in line.spec.segments:
        ratio = resolve(p, local, year, seg.ratio)
        width = None if seg.upto is None else Fraction(seg.upto) * 100 - prev
        part = max(Fraction(0), rest if width is None else min(rest, width))
        f += part * ratio
        rest -= part
        if width is not None:
            prev += width
    rounded = int(f + Fraction(1, 2))
    return min([rounded] + [c for _, c in caps_of(p, local, year, line.spec.caps)])


# -- windows, re-derived from RULES §3–§4 -------------------------------------------------
def _covers(first: date, last: date | None, v: Visit, stay: bool) -> bool:
    if stay:
        return v.end >= first and (last is None or v.start <= last)
    return first <= v.end and (last is None or v.end <= last)


def standing_categories(p: Policy, person: Person, v: Visit, setting: str
                        ) -> tuple[set[str], set[str]]:
    """(categories in force or in a look-back period, categories only counted: a
    `counts_only` look-back, YC-T)."""
    w = p.spec.windows
    stay = w.stay_rule and setting in INPATIENT_SETTINGS
    year = v.end.year
    covered: set[str] = set()
    counted: set[str] = set()
    for ident in person.identities:
        first = ident.start.replace(day=1) if w.start == "month_start" else ident.start
        month_end_exit = w.end == "month_end" and (
            w.month_end_categories is None or ident.category in w.month_end_categories)
        last = month_end(ident.end) if ident.end and month_end_exit else ident.end
        if _covers(first, last, v, stay):
            covered.add(ident.category)
            continue
        app = person.tilted_application
        for lb in w.lookback:
            if ident.category not in lb.categories \
                    or (lb.new_this_year and ident.start.year != year) \
                    or (lb.with_tilted_application and not (app and app.year == year)):
                continue
            anchor = ident.application if lb.before == "application" and \
                ident.application else ident.start
            if _covers(add_months(anchor, -lb.months), anchor - timedelta(days=1), v, stay):
                (counted if lb.counts_only else covered).add(ident.category)
    return covered, counted - covered


def paying_line(p: Policy, person: Person, v: Visit, sett: Settlement, rule: str,
                source: str, tier: str) -> Line:
    assert sett.category is not None
    found = [ln for ln in p.lines
             if ln.rule == rule and ln.source == source and ln.tier == tier
             and ln.covers(sett.category)
             and ln.matches_visit(v.kind if ln.alternative else sett.settled_as, v.flags,
                                  person.disability_grade)]
    assert len(found) == 1, f"{v.id}: {rule} ({source}) matches {len(found)} policy lines"
    return found[0]


# -- the synthetic data itself ------------------------------------------------------------
@PROPS
@given(seed=SEEDS, j=st.sampled_from(JURISDICTIONS))
def test_synth_is_deterministic_and_well_formed(seed: int, j: str) -> None:
    py = synth.from_seed(seed, j)
    assert py == synth.from_seed(seed, j)
    p = policy(j)
    assert [v.end for v in py.visits] == sorted(v.end for v in py.visits)
    assert len({v.id for v in py.visits}) == len(py.visits)
    for ident in py.person.identities:
        assert ident.category in p.categories
        assert ident.end is None or ident.end >= ident.start
    for v in py.visits:
        assert p.in_force <= v.start <= v.end and v.end.year == py.year
        assert min(v.medfee_sumamt, v.fulamt_ownpay_amt, v.overlmt_selfpay,
                   v.preselfpay_amt, v.inscp_scp_amt, v.oth_pay) >= 0
        assert v.hifp_pay is not None and v.hifmi_pay is not None
        assert min(v.hifp_pay, v.hifmi_pay) >= 0
        assert v.hifp_pay + v.hifmi_pay + v.oth_pay <= v.inscp_scp_amt


# -- every visit ----------------------------------------------------------------------------
def edgy(seed: int, j: str) -> synth.PersonYear:
    """The seed's person-year with rare combinations made common: flags on, births, grades
    1–2, an extra identity of the first categories (their exclusive and grant lines) and
    costs up to 30 times dearer."""
    py = synth.from_seed(seed, j)
    rng = random.Random(~seed)
    k = rng.choice((1, 1, 10, 30))  # dear years: caps reached, YC-T beyond the cap
    visits = []
    for v in py.visits:
        kind = "childbirth" if rng.random() < 0.2 else v.kind
        visits.append(dataclasses.replace(
            v, kind=kind, rare_disease=rng.random() < 0.3, heroic_injury=rng.random() < 0.3,
            medfee_sumamt=k * v.medfee_sumamt, fulamt_ownpay_amt=k * v.fulamt_ownpay_amt,
            overlmt_selfpay=k * v.overlmt_selfpay, preselfpay_amt=k * v.preselfpay_amt,
            hifp_pay=k * (v.hifp_pay or 0), hifmi_pay=k * (v.hifmi_pay or 0),
            oth_pay=k * v.oth_pay))
    cats = policy(j).categories
    extra = synth.generate_person(rng, j, py.year, category=rng.choice(cats[:3]))
    person = dataclasses.replace(py.person, disability_grade=rng.choice((1, 2, None)),
                                 identities=py.person.identities + extra.identities)
    return dataclasses.replace(py, person=person, visits=visits)


def check_visits(py: synth.PersonYear) -> None:
    """Per visit: amounts ≥ 0 that add up, tier 3 within the base (a grant within what is
    left to pay), the category in force or null, every amount paid traced to the document."""
    p = policy(py.jurisdiction)
    doc = p.spec.document.file
    for v, sett in zip(py.visits, settle(py), strict=True):
        amounts = {name: getattr(sett, name) for name in (
            "medfee_sumamt", "inscp_scp_amt", "hifp_pay", "hifmi_pay", "oth_pay", "base",
            "assistance", "tilted", "special", "maf_pay", "psn_part_amt")}
        assert all(a >= 0 for a in amounts.values()), (v.id, amounts)
        assert sett.hifp_pay + sett.hifmi_pay + sett.oth_pay + sett.maf_pay \
            + sett.psn_part_amt == sett.medfee_sumamt
        assert sett.base == max(0, v.inscp_scp_amt - sett.hifp_pay - sett.hifmi_pay
                                - sett.oth_pay)
        if "NB-S1" in sett.rules:  # a grant: may exceed the base, never what is left to pay
            assert sett.maf_pay <= sett.medfee_sumamt - sett.hifp_pay - sett.hifmi_pay \
                - sett.oth_pay, (v.id, amounts)
        else:
            assert sett.maf_pay <= sett.base, (v.id, amounts)

        # category: one in force (or in a look-back period) for this visit, or null
        covered, counted = standing_categories(p, py.person, v, sett.settled_as)
        if sett.category is None:
            assert not covered and not counted, (v.id, covered | counted)
            assert sett.maf_pay == 0, (v.id, amounts)
        elif sett.category in counted:  # YC-T look-back: counted, never assisted
            assert sett.assistance == 0 and sett.special == 0, (v.id, amounts)
        else:
            assert sett.category in covered, (v.id, sett.category, covered)

        # every amount paid is explained by rule lines citing the seed document
        for tier in TIERS:
            amount = getattr(sett, tier)
            lines = [t for t in sett.trace if t.tier == tier and t.amount > 0]
            if amount:
                assert lines, (v.id, tier, amount)
            for t in lines:
                assert t.rule and t.source.startswith(doc + " "), (v.id, t)
            assert sum(t.amount for t in lines) == amount, (v.id, tier, amount, lines)


def check_caps(py: synth.PersonYear) -> None:
    """Over the year, no cap pool pays past the cap of a line that drew on it."""
    p = policy(py.jurisdiction)
    used: dict[str, int] = defaultdict(int)
    tilted_caps = caps_of(p, py.local, py.year, p.spec.tilted.caps) if p.spec.tilted else []
    for v, sett in zip(py.visits, settle(py), strict=True):
        for t in sett.trace:
            if t.tier not in ("assistance", "special") or t.amount <= 0:
                continue
            line = paying_line(p, py.person, v, sett, t.rule, t.source, t.tier)
            for pool, cap in caps_of(p, py.local, py.year, line.spec.caps):
                used[pool] += t.amount
                assert used[pool] <= cap, (v.id, line.rule, pool, used[pool], cap)
        if sett.tilted:
            for pool, cap in tilted_caps:
                used[pool] += sett.tilted
                assert used[pool] <= cap, (v.id, "tilted", pool, used[pool], cap)


@settings(PROPS, max_examples=round(600 * SCALE))
@given(seed=SEEDS, j=st.sampled_from(JURISDICTIONS))
def test_every_visit_adds_up_and_is_explained(seed: int, j: str) -> None:
    check_visits(synth.from_seed(seed, j))


@settings(PROPS, max_examples=round(300 * SCALE))
@given(seed=SEEDS, j=st.sampled_from(JURISDICTIONS))
def test_every_visit_adds_up_with_rare_combinations(seed: int, j: str) -> None:
    check_visits(edgy(seed, j))


@settings(PROPS, max_examples=round(600 * SCALE))
@given(seed=SEEDS, j=st.sampled_from(JURISDICTIONS))
def test_no_cap_pool_is_exceeded_over_the_year(seed: int, j: str) -> None:
    check_caps(synth.from_seed(seed, j))


@settings(PROPS, max_examples=round(300 * SCALE))
@given(seed=SEEDS, j=st.sampled_from(JURISDICTIONS))
def test_no_cap_pool_is_exceeded_with_rare_combinations(seed: int, j: str) -> None:
    check_caps(edgy(seed, j))


CAPS_IN_RULES = {  # RULES §4, in yuan: the policy files must carry these
    ("nanjing", "NJ-A3"): {"outpatient_cap": 10_000},
    ("nanjing", "NJ-A4"): {"outpatient_cap": 10_000},
    ("nanjing", "NJ-A6"): {"outpatient_cap": 10_000},
    ("nanjing", "NJ-A5"): {"main_cap": 200_000},
    ("ningbo", "NB-A2"): {"annual_cap": 80_000},
    ("ningbo", "NB-A3"): {"annual_cap": 80_000},
    ("ningbo", "NB-S2"): {"rehab_cap": 3_000},
    ("changzhou", "CZ-A3"): {"main_cap": 200_000},
    ("yichun", "YC-A3"): {"main_cap": 50_000},
    ("yichun", "YC-A4"): {"main_cap": 30_000},
    ("yichun", "YC-A5"): {"main_cap": 20_000},
}


@pytest.mark.parametrize(("key", "expected"), list(CAPS_IN_RULES.items()))
def test_cap_pools_read_from_the_policy_files(key: tuple[str, str],
                                              expected: dict[str, int]) -> None:
    j, rule = key
    p = policy(j)
    for line in (ln for ln in p.lines if ln.rule == rule):
        assert dict(caps_of(p, {}, 2023, line.spec.caps)) == {
            k: fen(v) for k, v in expected.items()}


def test_shared_cap_pools_read_from_the_policy_files() -> None:
    def pools(j: str) -> set[tuple[str, str, int]]:
        p = policy(j)
        return {(ln.rule, pool, cap) for ln in p.lines
                for pool, cap in caps_of(p, {}, 2023, ln.spec.caps)}

    assert {("NB-A4", "outpatient_cap", 50_000), ("NB-A4", "annual_cap", 8_000_000)} \
        <= pools("ningbo")
    assert {("CZ-A1", "outpatient_cap", 1_000_000), ("CZ-A2", "outpatient_cap", 1_000_000),
            ("CZ-A1", "main_cap", 20_000_000), ("CZ-A2", "main_cap", 20_000_000)} \
        <= pools("changzhou")
    yc = policy("yichun")
    assert yc.spec.tilted is not None
    assert caps_of(yc, {}, 2023, yc.spec.tilted.caps) == [("tilted_cap", 1_000_000)]


# -- single-line years: one whole-year identity, one kind, city, referral ok, no flags ----
def _single_lines() -> list[tuple[str, str, str]]:
    out = []
    for j in JURISDICTIONS:
        p = policy(j)
        for cat in p.categories:
            for kind in synth.KINDS:
                if any(ln.matches_visit(kind, frozenset(), None) for ln in p.exclusive_lines) \
                        or any(ln.matches_visit(kind, frozenset(), None) and ln.covers(cat)
                               for ln in p.alternative_lines):
                    continue
                setting = p.spec.kind_fallback.get(kind, kind)  # type: ignore[call-overload]
                lines = [ln for ln in p.regular_lines
                         if ln.matches_visit(setting, frozenset(), None) and ln.covers(cat)]
                if len(lines) == 1 and lines[0].spec.grant is None:
                    out.append((j, cat, kind))
    return out


SINGLE_LINES = _single_lines()


def single_line_year(seed: int, j: str, cat: str, kind: str) -> synth.PersonYear:
    rng = random.Random(seed)
    year = synth.pick_year(rng, j)
    person = synth.generate_person(rng, j, year, "P", category=cat, whole_year=True)
    visits = synth.generate_year(rng, j, year, rng.randint(1, 30), person, kind=kind,
                                 plain=True)
    py = synth.PersonYear(j, year, person, visits, synth.generate_local(rng, j, year))
    if the_line(py).spec.base == "after_basic":
        # NJ-A3/A4/A6 run their pool on inscp − hifp but pay at most the visit's base: with
        # nothing after basic insurance the two agree and the year is one function of C
        py = dataclasses.replace(py, visits=[dataclasses.replace(v, hifmi_pay=0, oth_pay=0)
                                             for v in visits])
    return py


def the_line(py: synth.PersonYear) -> Line:
    p = policy(py.jurisdiction)
    kind = py.visits[0].kind
    setting = p.spec.kind_fallback.get(kind, kind)  # type: ignore[call-overload]
    (line,) = [ln for ln in p.regular_lines if ln.matches_visit(setting, frozenset(), None)
               and ln.covers(py.person.identities[0].category)]
    return line


def paid(settlements: Sequence[Settlement]) -> int:
    return sum(x.assistance + x.special for x in settlements)


def test_single_lines_cover_every_jurisdiction() -> None:
    assert {j for j, _, _ in SINGLE_LINES} == set(JURISDICTIONS)
    assert len(SINGLE_LINES) > 100


@settings(PROPS, max_examples=round(500 * SCALE))
@given(seed=SEEDS, case=st.sampled_from(SINGLE_LINES))
def test_single_line_year_sums_to_the_rounded_yearly_function(
        seed: int, case: tuple[str, str, str]) -> None:
    py = single_line_year(seed, *case)
    result = settle(py)
    line = the_line(py)
    total = sum(x.base for x in result)
    assert total == sum(max(0, v.inscp_scp_amt - (v.hifp_pay or 0) - (v.hifmi_pay or 0)
                            - v.oth_pay) for v in py.visits)
    assert all(x.category == case[1] for x in result)
    assert paid(result) == oracle(policy(py.jurisdiction), line, py.local, py.year, total)


@PROPS
@given(seed=SEEDS, costs=st.lists(st.integers(0, 3_000_000), min_size=1, max_size=30))
def test_nanjing_dibao_general_outpatient_year_exactly(seed: int, costs: list[int]) -> None:
    """NJ-A3: min(10000, R(0.85 × min(C, 2000) + 0.80 × max(0, C − 2000))), C in fen."""
    rng = random.Random(seed)
    person = synth.generate_person(rng, "nanjing", 2023, "P", category="dibao",
                                   whole_year=True)
    visits = [Visit(f"V{i}", "general_outpatient", date(2023, 1, 1) + timedelta(days=i),
                    date(2023, 1, 1) + timedelta(days=i), medfee_sumamt=c, hifp_pay=0,
                    hifmi_pay=0) for i, c in enumerate(costs)]
    py = synth.PersonYear("nanjing", 2023, person, visits, {})
    c = sum(costs)
    exact = Fraction(85, 100) * min(c, 200_000) + Fraction(80, 100) * max(0, c - 200_000)
    assert paid(settle(py)) == min(1_000_000, int(exact + Fraction(1, 2)))


@PROPS
@given(seed=SEEDS, case=st.sampled_from(SINGLE_LINES), order=st.randoms(use_true_random=False))
def test_visit_order_does_not_change_a_single_line_year(
        seed: int, case: tuple[str, str, str], order: random.Random) -> None:
    py = single_line_year(seed, *case)
    shuffled = list(py.visits)
    order.shuffle(shuffled)
    assert paid(settle(py)) == paid(settle(dataclasses.replace(py, visits=shuffled)))


@PROPS
@given(seed=SEEDS, case=st.sampled_from(SINGLE_LINES), pick=st.integers(0, 10**6),
       extra=st.integers(1, 5_000_000))
def test_a_dearer_visit_never_gets_less(seed: int, case: tuple[str, str, str], pick: int,
                                        extra: int) -> None:
    py = single_line_year(seed, *case)
    i = pick % len(py.visits)
    v = py.visits[i]
    dearer = list(py.visits)
    dearer[i] = dataclasses.replace(v, medfee_sumamt=v.medfee_sumamt + extra)
    before = settle(py)[i]
    after = settle(dataclasses.replace(py, visits=dearer))[i]
    assert after.base == before.base + extra
    assert after.assistance + after.special >= before.assistance + before.special, (
        v.id, before.assistance + before.special, after.assistance + after.special)


# -- minimised counterexamples found by the properties above (RULES §2, §4.4) --------------
def _ningbo_dibao(visit: Visit, grade: int | None = None) -> synth.PersonYear:
    person = Person("P", (Identity("dibao", date(2016, 1, 25)),), grade)
    return synth.PersonYear("ningbo", visit.end.year, person, [visit], {})


def test_nb_s1_grant_above_the_base_pays_what_is_left_and_no_negative_tilt() -> None:
    """NB-S1: min(900, what the person still pays) = 100.00, of which 2.38 is pre-self-pay
    outside the base; nothing else pays (Ningbo has no tilted assistance)."""
    v = Visit("V1", "childbirth", date(2020, 4, 21), date(2020, 4, 21), medfee_sumamt=10_000,
              preselfpay_amt=238, hifp_pay=0, hifmi_pay=0)
    (sett,) = settle(_ningbo_dibao(v))
    assert (sett.base, sett.special, sett.tilted, sett.maf_pay, sett.psn_part_amt) == (
        9_762, 10_000, 0, 10_000, 0)
    check_visits(_ningbo_dibao(v))


@pytest.mark.parametrize(("kind", "grade"), [("rehabilitation", 2), ("childbirth", None)])
def test_two_exclusive_ningbo_lines_never_pay_past_the_base(kind: str, grade: int | None
                                                           ) -> None:
    """A rare-disease visit that NB-S2 (grade 1–2 rehabilitation) or NB-S1 (childbirth) also
    matches: tier 3 may not pay more than the base (the grant: what is left to pay)."""
    v = Visit("V1", kind, date(2024, 11, 3), date(2024, 11, 3), medfee_sumamt=200_000,
              hifp_pay=0, hifmi_pay=0, rare_disease=True)
    check_visits(_ningbo_dibao(v, grade))
