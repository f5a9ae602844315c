"""Stages, conditions and raised caps: the batch kernel equals the engine to the fen.

Hypothesis draws a small city's policy file with stages after tilted assistance (再救助 by
segments, a grant once the measure passes its threshold, a ceiling on what the person
bears; `when: visit` or `year_end`; values by category; caps, some raised), lines and
stages with conditions (a status held on the visit's date, location, hospital level,
referral), pools per year or per visit and either rounding; then persons with statuses
and a year of visits. Every visit's amounts and rules, and every year-end payout, must be
the engine's (`engine.settle.settle_year`).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medaid.batch import schema, sql
from medaid.batch.schema import Meta, PopulationWriter
from medaid.batch.settle import Results, settle_population
from medaid.batch.verify import check
from medaid.core.errors import MedaidError
from medaid.engine.settle import settle_year
from medaid.engine.types import Held, Identity, Person, Visit
from medaid.policy.model import Policy, parse_policy
from runs import examples
from small_city import HEAD, INSURED, city

TIERS = ("hifp_pay", "hifmi_pay", "base", "assistance", "tilted", "special", "reassistance",
         "maf_pay", "psn_part_amt")
KINDS = ["inpatient", "general_outpatient", "special_outpatient"]
CATEGORIES = ["tekun", "other"]


def _flow(values: Sequence[object]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


@st.composite
def conditions(draw: st.DrawFn) -> str:
    """A line's or stage's conditions as YAML flow keys ('' for none)."""
    out = []
    held = draw(st.sampled_from(["", "statuses", "not_statuses"]))
    if held:
        out.append(f"{held}: [mts]")
    if draw(st.integers(0, 3)) == 0:
        out.append("locations: " + _flow(draw(st.lists(
            st.sampled_from(["city", "province", "out_of_province"]), min_size=1,
            unique=True))))
    if draw(st.integers(0, 3)) == 0:
        out.append("hospital_levels: " + _flow(draw(st.lists(st.integers(0, 3), min_size=1,
                                                              unique=True))))
    if draw(st.integers(0, 4)) == 0:
        out.append("referrals: " + _flow(draw(st.lists(
            st.sampled_from(["ok", "unreferred"]), min_size=1, unique=True))))
    return ", ".join(out)


@st.composite
def caps(draw: st.DrawFn, pools: list[str]) -> str:
    found = []
    for pool in draw(st.lists(st.sampled_from(pools), max_size=2, unique=True)):
        amount = draw(st.integers(0, 8000))
        cap = f"pool: {pool}, amount: {amount}"
        if draw(st.booleans()):  # a raised cap is above the cap
            kinds = draw(st.sampled_from(['"*"', "[inpatient]"]))
            cap += (f", raised: {{amount: {amount + draw(st.integers(1, 4000))}, "
                    f"over: {draw(st.integers(0, 9000))}, kinds: {kinds}}}")
        found.append("{" + cap + "}")
    return _flow(found)


def _segments(draw: st.DrawFn, most: int = 3, at: int = 0) -> str:
    """Segments whose `upto` rise from `at` (0: above the deductible; the deductible: the
    amounts of cost of `bounds: absolute`)."""
    n = draw(st.integers(1, most))
    rows = []
    for i in range(n):
        ratio = draw(st.sampled_from(["0.3", "0.45", "0.5", "0.6", "0.85", "1"]))
        at += draw(st.integers(100, 20000))
        upto = "" if i == n - 1 else f"upto: {at}, "
        rows.append(f"{{{upto}ratio: {ratio}}}")
    return _flow(rows)


@st.composite
def payout(draw: st.DrawFn, form: str, most: int = 3, absolute: bool = False,
           entry: bool = False) -> str:
    """A stage's payout; `absolute`: its segments' bounds are amounts of cost (said by the
    stage, read for its by_category `entry` too)."""
    if form == "segments":
        deductible = draw(st.integers(0, 5000))
        said = "bounds: absolute, " if absolute and not entry else ""
        return (f"deductible: {deductible}, {said}"
                f"segments: {_segments(draw, most, deductible if absolute else 0)}")
    if form == "grant":
        return f"deductible: {draw(st.integers(0, 8000))}, grant: {draw(st.integers(1, 3000))}"
    parts = []
    if draw(st.booleans()):
        of = draw(st.sampled_from(["inscp_scp_amt", "medfee_sumamt"]))
        parts.append(f"share: {draw(st.sampled_from(['0.05', '0.1', '0.2']))}, of: {of}")
    if not parts or draw(st.booleans()):
        parts.append(f"amount: {draw(st.integers(0, 6000))}")
    return "ceiling: {" + ", ".join(parts) + "}"


def a1_kinds() -> st.SearchStrategy[str]:
    """The first line's kinds: all, or all but general outpatient (which a refusal may then
    close to the stages)."""
    return st.sampled_from(['"*"', "[inpatient, special_outpatient]"])


@st.composite
def closures(draw: st.DrawFn, for_duckdb: bool = False) -> str:
    """Maybe a refusal of general outpatient visits for `other`, maybe a referral rule
    leaving unreferred visits unassisted, or assisted at a lower ratio and kept from the
    stages (not `for_duckdb`, which leaves that to the kernel): visits closed to the
    stages."""
    text = ""
    if draw(st.booleans()):
        text += ("refusals:\n  - {rule: B1, article: 第六条, categories: [other], "
                 "kinds: [general_outpatient], reason: 不予救助}\n")
    if draw(st.booleans()):
        effect = draw(st.sampled_from(["assistance: false, tilt: false", *(
            [] if for_duckdb else ["ratio_points: -20, stages: false"])]))
        text += f"referral: {{rule: RF, article: 第七条, unreferred: {{{effect}}}}}\n"
    return text


@st.composite
def policies(draw: st.DrawFn) -> str:
    """A policy file's text: lines (some conditional, some capped and raised), tilted
    assistance maybe, and one to four stages."""
    cap_pools = ["c1", "c2", "c3"]
    lines = [f"  - {{rule: A1, article: 第五条, categories: \"*\", kinds: {draw(a1_kinds())}, "
             f"segments: {_segments(draw)}, caps: {draw(caps(cap_pools))}}}"]
    for i in range(draw(st.integers(0, 2))):
        cond = draw(conditions())
        cats = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, unique=True))
        kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, unique=True))
        choice = draw(st.sampled_from(["", "", "alternative: true, ", "exclusive: true, "]))
        # a line of its own pool, or one sharing A1's (a pool advances once per visit)
        choice += draw(st.sampled_from(["", "pool: A1, "]))
        lines.append(f"  - {{rule: A{i + 2}, article: 第六条, {choice}categories: {_flow(cats)}, "
                     f"kinds: {_flow(kinds)}, "
                     f"deductible: {draw(st.integers(0, 3000))}, segments: {_segments(draw)}"
                     f"{', ' + cond if cond else ''}, caps: {draw(caps(cap_pools))}}}")
    text = "statuses:\n  - {id: mts, label: 门诊特殊病种}\nlines:\n" + "\n".join(lines) + "\n"
    if draw(st.booleans()):
        base = draw(st.sampled_from(["remainder", "{include: [preselfpay_amt]}"]))
        text += (f"tilted: {{rule: T, article: 第八条, base: {base}, "
                 f"deductible: {draw(st.integers(0, 20000))}, segments: [{{ratio: 0.5}}], "
                 f"caps: [{{pool: c3, amount: {draw(st.integers(0, 5000))}}}]}}\n")
    stages = []
    pools = {"A1": "year", "c1": "year", "c2": "year", "c3": "year"}
    for i in range(len(lines) - 1):
        pools[f"A{i + 2}"] = "year"
    for k in range(draw(st.integers(1, 4))):
        form = draw(st.sampled_from(["segments", "grant", "ceiling"]))
        when = draw(st.sampled_from(["visit", "year_end"]))
        base = draw(st.sampled_from(["remainder", "out_of_pocket"]))
        absolute = draw(st.booleans())  # bounds as amounts of cost
        keys = [f"rule: R{k}", "article: 第九条", f"label: 阶段{k}", f"when: {when}",
                f"base: {base}", draw(payout(form, absolute=absolute)),
                f"caps: {draw(caps(['s1', 's2']))}"]
        if when == "year_end" and draw(st.booleans()):
            keys.append("category_at: year_end")
            if draw(st.booleans()):
                keys.append("unheld_at_year_end: none")
        cats = draw(st.none() | st.lists(st.sampled_from(CATEGORIES), min_size=1, unique=True))
        if cats is not None:
            keys.append("categories: " + _flow(cats))
        if draw(st.booleans()):
            keys.append("kinds: " + _flow(draw(st.lists(st.sampled_from(KINDS), min_size=1,
                                                        unique=True))))
        cond = draw(conditions())
        if cond:
            keys.append(cond)
        if (cats is None or "other" in cats) and draw(st.booleans()):
            keys.append(f"by_category: [{{categories: [other], "
                        f"{draw(payout(form, absolute=absolute, entry=True))}, "
                        f"caps: {draw(caps(['s1', 's2']))}}}]")
        pools[f"R{k}"] = draw(st.sampled_from(["year", "visit"])) if when == "visit" \
            else "year"
        stages.append("  - {" + ", ".join(keys) + "}")
    pools.update(s1="year", s2=draw(st.sampled_from(["year", "visit"])))
    if "tilted" in text:
        pools["tilted"] = "year"
    text += "stages:\n" + "\n".join(stages) + "\n" + draw(closures())
    text += "pools: {" + ", ".join(f"{k}: {{period: {v}}}" for k, v in pools.items()) + "}\n"
    if draw(st.booleans()):
        text += "rounding: per_visit\n"
    return text


@st.composite
def people(draw: st.DrawFn) -> list[tuple[Person, list[Visit]]]:
    out = []
    for n in range(draw(st.integers(1, 6))):
        held = tuple(Held("mts", date(2024, draw(st.integers(1, 12)), 1),
                          draw(st.sampled_from([None, date(2024, 9, 30)])))
                     for _ in range(draw(st.integers(0, 2))))
        first = Identity(draw(st.sampled_from(CATEGORIES)), date(2024, draw(st.integers(1, 6)), 1))
        # maybe an exit, and maybe another identity after it: the identity held at the
        # year's end is not always the visits' first-listed one
        exit_ = draw(st.sampled_from([None, date(2024, 7, 31), date(2024, 10, 15)]))
        identities = (first,) if exit_ is None else (replace(first, end=exit_),)
        if exit_ is not None and draw(st.booleans()):
            identities += (Identity(draw(st.sampled_from(CATEGORIES)), exit_ + timedelta(1)),)
        person = Person(f"P{n}", identities, statuses=held)
        visits = []
        for i in range(draw(st.integers(1, 7))):
            d = date(2024, 1 + i, draw(st.integers(1, 28)))
            total = draw(st.integers(0, 3_000_000))
            own, over, pre = (total * draw(st.integers(0, 30)) // 100 for _ in range(3))
            inscp = total - own - over - pre
            visits.append(Visit(
                f"V{n}-{i}", draw(st.sampled_from(KINDS)), d, d, total, own, over, pre,
                hifp_pay=inscp * draw(st.integers(0, 90)) // 100, hifmi_pay=0,
                location=draw(st.sampled_from(["city", "province", "out_of_province"])),
                referral=draw(st.sampled_from(["ok", "unreferred"])),
                hospital_level=draw(st.sampled_from([None, 1, 2, 3]))))
        out.append((person, visits))
    return out


@st.composite
def sql_policies(draw: st.DrawFn) -> str:
    """A policy file whose every stage DuckDB's query says: a line of one or two segments,
    `when: visit` stages of at most two segments and one cap pool of their own each, no
    conditions and no raised caps."""
    text = (f"{draw(closures(for_duckdb=True))}lines:\n"
            "  - {rule: A1, article: 第五条, categories: \"*\", "
            f"kinds: {draw(a1_kinds())}, "
            f"deductible: {draw(st.integers(0, 3000))}, segments: [{{ratio: 0.5}}], "
            f"caps: [{{pool: c1, amount: {draw(st.integers(0, 20000))}}}]}}\nstages:\n")
    pools = ["A1: {}", "c1: {}"]
    for k in range(draw(st.integers(1, 3))):
        form = draw(st.sampled_from(["segments", "grant", "ceiling"]))
        keys = [f"rule: R{k}", "article: 第九条", f"label: 阶段{k}",
                f"base: {draw(st.sampled_from(['remainder', 'out_of_pocket']))}",
                draw(payout(form, 2)),
                f"caps: [{{pool: s{k}, amount: {draw(st.integers(0, 8000))}}}]"]
        # a ceiling over one visit (单次): over the year what it paid before enters each
        # visit, which the query cannot say (the kernel settles it)
        pools += [f"R{k}: {{period: visit}}" if form == "ceiling" else f"R{k}: {{}}",
                  f"s{k}: {{}}", f"e{k}: {{}}"]
        if draw(st.booleans()):
            keys.append("categories: [other]")
        if draw(st.booleans()):
            keys.append("kinds: [inpatient, special_outpatient]")
        if draw(st.booleans()):
            keys.append(f"by_category: [{{categories: [other], {draw(payout(form, 2))}, "
                        f"caps: [{{pool: e{k}, amount: {draw(st.integers(0, 8000))}}}]}}]")
        text += "  - {" + ", ".join(keys) + "}\n"
    return text + "pools:\n" + "".join(f"  {p}\n" for p in pools)


@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(sql_policies(), people())
def test_duckdb_says_a_visit_stage_as_the_kernel_pays_it(
        body: str, pop: list[tuple[Person, list[Visit]]]) -> None:
    """Where DuckDB's query says the stages, each visit it settles equals the kernel's (and
    so the engine's) re-assistance and tiers."""
    policy = city(body)
    # the query settles persons of one identity (others are the kernel's)
    people_ = [(replace(p, statuses=(), identities=p.identities[:1]), vs) for p, vs in pop]
    res = _settle(policy, people_)
    assert not differences(policy, people_, res)
    with tempfile.TemporaryDirectory() as tmp:
        q_rows = _duckdb(policy, people_, res, Path(tmp))
    assert q_rows > 0, body


def _settle(policy: Policy, pop: list[tuple[Person, list[Visit]]]) -> Results:
    visits = schema.visits_table((i, v) for i, (_, vs) in enumerate(pop) for v in vs)
    persons = schema.persons_table((i, p) for i, (p, _) in enumerate(pop))
    return settle_population([policy], {}, schema.visit_columns(visits),
                             schema.person_columns(persons))


def differences(policy: Policy, pop: list[tuple[Person, list[Visit]]], res: Results
                ) -> list[str]:
    rule_ids, rule_names = res.rules()
    out = []
    row = 0
    for g, (person, visits) in enumerate(pop):
        engine = settle_year([policy], {}, person, visits)
        for s in engine.settlements:
            got = {t: int(getattr(res, t)[row]) for t in TIERS}
            got["rules"] = rule_names[rule_ids[row]]
            want: dict[str, object] = {t: getattr(s, t) for t in TIERS}
            want["rules"] = "+".join(s.rules)
            if got != want:
                out.append(f"{person.id} {s.id}: batch {got}, engine {want}")
            row += 1
        got_ye = [(res.plans.stage_rules[0][k], int(a))
                  for k, a in enumerate(res.years.year_end[g].tolist()) if a >= 0]
        want_ye = [(y.rule, y.amount) for y in engine.year_end]
        if got_ye != want_ye:
            out.append(f"{person.id} year end: batch {got_ye}, engine {want_ye}")
    return out


@settings(max_examples=examples(150), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(policies(), people())
def test_stages_conditions_and_raised_caps_batch_equals_engine(
        body: str, pop: list[tuple[Person, list[Visit]]]) -> None:
    policy = city(body)
    try:
        for person, visits in pop:
            settle_year([policy], {}, person, visits)
    except MedaidError as e:  # the batch path refuses what the engine refuses, alike
        with pytest.raises(type(e), match=re.escape(str(e))):
            _settle(policy, pop)
        return
    res = _settle(policy, pop)
    found = differences(policy, pop, res)
    assert not found, f"{len(found)} differ:\n" + "\n".join(found[:3]) + "\n" + body
    with tempfile.TemporaryDirectory() as tmp:  # where its query says the file: DuckDB too
        _duckdb(policy, pop, res, Path(tmp))


def test_a_status_file_round_trip_and_the_engine_check_read_statuses(tmp_path: Path) -> None:
    """A persons file carries statuses with their dates; the batch path reads them through
    Parquet, pays the conditional line from the status's date, and `verify.check` (which
    rebuilds the persons from the columns) finds the engine's amounts and year-end."""
    body = """\
statuses:
  - {id: mts, label: 门诊特殊病种}
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*", segments: [{ratio: 0.5}]}
  - {rule: A2, article: 第六条, categories: "*", kinds: [inpatient], statuses: [mts],
     segments: [{ratio: 0.3}]}
stages:
  - {rule: G1, article: 第十条, label: 年度一次性补助, when: year_end, base: out_of_pocket,
     deductible: 1000, grant: 500}
"""
    policy = city(body)
    person = Person("P", (Identity("tekun", date(2024, 1, 1)),),
                    statuses=(Held("mts", date(2024, 3, 5)),))
    day1, day2 = date(2024, 3, 1), date(2024, 3, 9)
    visits = [Visit("V1", "inpatient", day1, day1, 400_000, 50_000, hifp_pay=0, hifmi_pay=0),
              Visit("V2", "inpatient", day2, day2, 400_000, 50_000, hifp_pay=0, hifmi_pay=0)]
    path = tmp_path / "year.parquet"
    with PopulationWriter(path, Meta(schema.persons_path(path).name, {}, {})) as w:
        w.write(schema.visits_table((0, v) for v in visits),
                schema.persons_table([(0, person)]))
    table, persons_t, _ = schema.read_population(path, schema.VISIT_INPUT)
    vc, pc = schema.visit_columns(table), schema.person_columns(persons_t)
    res = settle_population([policy], {}, vc, pc)
    # 50% of 3,500 before the status; from its date 50% + 30%: 1,750 then 2,800; what the
    # person paid in the year, 2,250 + 1,200, passes 1,000: the grant of 500
    assert res.assistance.tolist() == [175_000, 280_000]
    assert res.year_end_paid().tolist() == [50_000]
    assert check([policy], {}, vc, pc, res, 1, np.random.default_rng(0)) == 1


def test_duckdb_names_a_year_end_stage_and_leaves_the_file_to_the_kernel(
        tmp_path: Path) -> None:
    body = """\
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*", segments: [{ratio: 0.5}]}
stages:
  - {rule: G1, article: 第十条, label: 年度一次性补助, when: year_end, deductible: 2000,
     grant: 500}
"""
    policy = city(body)
    d = date(2024, 3, 1)
    person = Person("P", (Identity("tekun", date(2024, 1, 1)),))
    path = tmp_path / "year.parquet"
    with PopulationWriter(path, Meta(schema.persons_path(path).name, {}, {})) as w:
        w.write(schema.visits_table([(0, Visit("V", "inpatient", d, d, 900_000, hifp_pay=0,
                                               hifmi_pay=0))]),
                schema.persons_table([(0, person)]))
    q = sql.Formulation([policy], {})
    assert len(q.run(path)) == 0
    assert not q.supported and "年终 stages" in q.reason


def _duckdb(policy: Policy, pop: list[tuple[Person, list[Visit]]], res: Results,
            tmp: Path) -> int:
    """Visits DuckDB settled, each asserted equal to the batch path (so to the engine)."""
    path = tmp / "year.parquet"
    with PopulationWriter(path, Meta(schema.persons_path(path).name, {}, {})) as w:
        w.write(schema.visits_table((i, v) for i, (_, vs) in enumerate(pop) for v in vs),
                schema.persons_table((i, p) for i, (p, _) in enumerate(pop)))
    q = sql.Formulation([policy], {})
    got = q.run(path)
    person = np.asarray(pq.read_table(path, columns=["person_key"]).column(0).to_numpy())
    assert sql.differences(got, res, person) == 0, q.reason
    return len(got)


def test_a_synthetic_year_of_a_city_written_with_stages() -> None:
    """淄博市淄川区 writes its 再救助 as a stage: a generated year settles in the kernel as in
    the engine, visit by visit, and the stage pays on many of them."""
    from test_differential import check, population, settle

    pop = population("zichuan", 16, 300, "edgy", 2025)
    res = settle(pop)
    check(pop, res)
    assert res.plans.stage_rules[0] == ["ZC-T"]
    assert int((res.reassistance > 0).sum()) >= 10
    assert bool((res.maf_pay == res.assistance + res.tilted + res.special
                 + res.reassistance).all())


def test_simulate_sums_re_assistance_and_the_year_end(tmp_path: Path) -> None:
    """`medaid simulate` over a generated zichuan year, with its 再救助 and a year-end grant
    added by an amendment: the tiers 医疗再救助 and 年终救助 are the engine's sums, and the
    engine check (which compares both) holds."""
    from test_files_and_sql import run

    from medaid.batch import synthfile
    from medaid.core.money import fmt
    from medaid.policy.amend import parse as parse_amendment

    path = tmp_path / "zichuan.parquet"
    assert run("synth", "--jurisdiction", "zichuan", "--persons", "120", "--year", "2025",
               "--out", str(path), "--seed", "5", "--workers", "1").returncode == 0
    amendment = tmp_path / "zichuan-ye.yaml"
    amendment.write_text("""\
amends: zichuan-2025
version: "2025-ye"
in_force: 2025-11-11
stages:
  - {rule: ZC-T, article: 第1段, label: 再救助,
     categories: [tekun, dibao, fanpin, dibao_edge, jiance],
     deductible: 5000, segments: [{ratio: 0.70}],
     caps: [{pool: key_reassistance_cap, amount: 20000}],
     by_category: [{categories: [dibao_edge, jiance], deductible: 10000,
                    caps: [{pool: edge_reassistance_cap, amount: 20000}]}]}
  - {rule: ZC-G, article: 第1段, label: 年度一次性补助, when: year_end, base: out_of_pocket,
     deductible: 3000, grant: 1000}
""", encoding="utf-8")
    done = run("simulate", str(path), "--policy", "zichuan", "--policy-file", str(amendment))
    assert done.returncode == 0, done.stderr
    assert "equal to the fen" in done.stdout
    policy = parse_amendment(amendment.read_text(encoding="utf-8"), str(amendment))
    local = schema.read_meta(path).local["zichuan"]
    reassistance = year_end = fund = 0
    for k in range(120):
        py = synthfile.person_year("zichuan", 2025, 5, k)
        got = settle_year([policy], local, py.person, py.visits)
        reassistance += sum(s.reassistance for s in got.settlements)
        year_end += sum(y.amount for y in got.year_end)
        fund += sum(s.maf_pay for s in got.settlements)
    assert reassistance > 0 and year_end > 0
    lines = done.stdout.splitlines()
    assert any("re-assistance 医疗再救助" in ln and fmt(reassistance) in ln for ln in lines)
    assert any("year-end stages 年终救助" in ln and fmt(year_end) in ln for ln in lines)
    # the fund's total counts the year-end payouts, as `medaid settle`'s totals do
    assert any("救助基金合计（含年终救助）" in ln and fmt(fund + year_end) in ln for ln in lines)


FIRST_HALF = """\
statuses:
  - {id: mts, label: 门诊特殊病种}
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*", segments: [{ratio: 0.5}]}
stages:
  - {rule: R1, article: 第九条, label: 再救助, deductible: 2000, segments: [{ratio: 0.6}],
     caps: [{pool: r_cap, amount: 3000, raised: {amount: 6000, over: 9000}}]}
"""
YEAR_END_STAGES = """\
  - {rule: G1, article: 第十条, label: 年度一次性补助, when: year_end, base: out_of_pocket,
     categories: [other], statuses: [mts], deductible: 4000, grant: 1500}
  - {rule: F1, article: 第十一条, label: 年终封顶, when: year_end, kinds: [inpatient],
     ceiling: {share: 0.1, of: inscp_scp_amt, amount: 8000}}
"""


HELD_BODY = """\
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*", segments: [{ratio: 0.5}]}
stages:
  - {rule: F2, article: 第十二条, label: 个人负担封顶, when: year_end, category_at: year_end,
     ceiling: {amount: 3000}, by_category: [{categories: [other], ceiling: {amount: 7000}}]}
"""


def test_the_kernel_takes_the_identity_held_at_the_years_end() -> None:
    """A year-end ceiling by the identity held at the year's end (3,000; 7,000 for 其他),
    assistance 50%, stays of 10,000 and 6,000 leaving 8,000 borne: 特困 then 其他 pays
    8,000 − 7,000 = 1,000; 其他 until May then 特困 until October (the one held last) pays
    5,000; the kernel as the engine. 特困 exiting 2024-09-01 as 其他 begins: 1,000; with a
    6-month 渐退期 for 特困 both are held on 31 December and 特困 comes first: 5,000."""
    policy = city(HELD_BODY)
    def stays(*days: date) -> list[Visit]:
        return [Visit(f"V{k}", "inpatient", d, d, total, hifp_pay=0, hifmi_pay=0)
                for k, (d, total) in enumerate(zip(days, (1_000_000, 600_000), strict=True))]
    changed = Person("P1", (Identity("tekun", date(2024, 1, 1), date(2024, 6, 30)),
                            Identity("other", date(2024, 7, 1))))
    exited = Person("P2", (Identity("other", date(2024, 1, 1), date(2024, 5, 31)),
                           Identity("tekun", date(2024, 6, 1), date(2024, 10, 31))))
    graced = Person("P3", (Identity("tekun", date(2024, 1, 1), date(2024, 9, 1)),
                           Identity("other", date(2024, 9, 1))))
    pop = [(changed, stays(date(2024, 3, 1), date(2024, 9, 1))),
           (exited, stays(date(2024, 6, 5), date(2024, 6, 9))),
           (graced, stays(date(2024, 3, 1), date(2024, 10, 1)))]
    res = _settle(policy, pop)
    assert not differences(policy, pop, res)
    assert res.years.year_end[:, 0].tolist() == [100_000, 500_000, 100_000]
    graced_policy = parse_policy(HEAD.replace("stay_rule: true}", (
        "stay_rule: true, grace: [{rule: W2, article: 第六条, categories: [tekun], "
        "months: 6}]}")) + HELD_BODY, "city.yaml")
    res = _settle(graced_policy, pop)
    assert not differences(graced_policy, pop, res)
    assert res.years.year_end[:, 0].tolist() == [100_000, 500_000, 500_000]
    # the trace says which: held on 31 December, or (none then) the one held last
    texts = [settle_year([policy], {}, p, vs).year_end[0].trace[0].text for p, vs in pop]
    assert "按年末救助身份其他" in texts[0] and "按退出前最后所具有的救助身份特困人员" in texts[1]
    # 年末已不具有救助身份的，不享受: the person who left 特困 in October gets nothing
    strict = city(HELD_BODY.replace("category_at: year_end,",
                                    "category_at: year_end, unheld_at_year_end: none,"))
    res = _settle(strict, pop)
    assert not differences(strict, pop, res)
    assert res.years.year_end[:, 0].tolist() == [100_000, 0, 100_000]
    (nothing,) = settle_year([strict], {}, exited, pop[1][1]).year_end
    assert (nothing.amount, nothing.category, nothing.visits) == (0, None, ["V0", "V1"])
    assert nothing.trace[0].text == "个人负担封顶（年终）：年末已不具有救助身份，不予支付"


def test_a_stay_over_new_year_goes_by_the_identity_held_before_its_exit() -> None:
    """特困 until 31 December 2023; a stay of 10,000 from 20 December to 10 January is
    2024's (by its discharge) and assisted as 特困 (50%, the stay rule): the person bears
    5,000 and, holding none in 2024, goes by the one held last before the exit
    (年末已退出救助范围的，按退出前最后所具有的身份): the 3,000 ceiling pays 2,000, the kernel
    as the engine; with `unheld_at_year_end: none`, nothing."""
    policy = city(HELD_BODY)
    person = Person("P1", (Identity("tekun", date(2023, 1, 1), date(2023, 12, 31)),))
    stay = Visit("V1", "inpatient", date(2023, 12, 20), date(2024, 1, 10), 1_000_000,
                 hifp_pay=0, hifmi_pay=0)
    pop = [(person, [stay])]
    res = _settle(policy, pop)
    assert not differences(policy, pop, res)
    (ceiling,) = settle_year([policy], {}, person, [stay]).year_end
    assert (ceiling.year, ceiling.category, ceiling.amount) == (2024, "tekun", 200_000)
    assert "按退出前最后所具有的救助身份特困人员" in ceiling.trace[0].text
    assert res.years.year_end[:, 0].tolist() == [200_000]
    strict = city(HELD_BODY.replace("category_at: year_end,",
                                    "category_at: year_end, unheld_at_year_end: none,"))
    res = _settle(strict, pop)
    assert not differences(strict, pop, res)
    assert res.years.year_end[:, 0].tolist() == [0]


@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(people())
def test_a_year_under_two_versions_takes_the_last_ones_year_end_stages(
        pop: list[tuple[Person, list[Visit]]]) -> None:
    """A version from 1 July adds year-end stages: being in force on 31 December, it runs
    them over every qualifying visit of the year (those of the first version too), whether
    or not a visit falls under it, as the engine does."""
    first = parse_policy(HEAD + FIRST_HALF, "city.yaml")
    second = parse_policy(HEAD.replace("in_force: 2024-01-01", "in_force: 2024-07-01")
                          .replace('version: "2024"', 'version: "2024-07"')
                          + FIRST_HALF + YEAR_END_STAGES, "city-2.yaml")
    versions = [first, second]
    visits = schema.visits_table((i, v) for i, (_, vs) in enumerate(pop) for v in vs)
    persons = schema.persons_table((i, p) for i, (p, _) in enumerate(pop))
    res = settle_population(versions, {}, schema.visit_columns(visits),
                            schema.person_columns(persons))
    row = 0
    for g, (person, vs) in enumerate(pop):
        engine = settle_year(versions, {}, person, vs)
        for s in engine.settlements:
            assert (int(res.reassistance[row]), int(res.maf_pay[row])) == (s.reassistance,
                                                                            s.maf_pay)
            row += 1
        plan = int(res.years.plan[g])
        got = [(res.plans.stage_rules[plan][k], int(a))
               for k, a in enumerate(res.years.year_end[g].tolist()) if a >= 0]
        assert got == [(y.rule, y.amount) for y in engine.year_end]


def test_a_persons_file_written_before_statuses_is_read_and_split(tmp_path: Path) -> None:
    """A persons file without the `statuses` column (as written before it) holds no status:
    it is read, and split into pieces with its own columns."""
    from medaid.batch import partition

    d = date(2024, 3, 1)
    person = Person("P", (Identity("tekun", date(2024, 1, 1)),))
    visits = schema.visits_table([(0, Visit("V", "inpatient", d, d, 900_000, hifp_pay=0,
                                            hifmi_pay=0))])
    path = tmp_path / "year.parquet"
    with PopulationWriter(path, Meta(schema.persons_path(path).name, {}, {})) as w:
        w.write(visits, schema.persons_table([(0, person)]))
    old = schema.persons_table([(0, person)]).drop_columns(["statuses"])
    pq.write_table(old, schema.persons_path(path))
    _, persons_t, _ = schema.read_population(path, schema.VISIT_INPUT)
    assert schema.person_columns(persons_t).status_names == []
    parts = partition.split(path, schema.persons_path(path), 2, tmp_path / "pieces")
    assert sum(p.rows for p in parts) == 1
    assert sum(pq.read_table(p.persons).num_rows for p in parts) == 1


@pytest.mark.parametrize("fallback", ["", "kind_fallback: {childbirth: inpatient}\n"])
def test_a_refusal_by_kind_wins_over_the_fallback_for_its_categories_alone(
        fallback: str) -> None:
    """RULES §1: childbirth, which no line names, is settled as a stay; a refusal of
    childbirth for `other` refuses it for them alone, whether the fallback is written or
    not, in the engine, the kernel and DuckDB alike."""
    policy = city(fallback + """\
lines:
  - {rule: A1, article: 第五条, categories: [tekun], kinds: [inpatient], segments: [{ratio: 1}]}
  - {rule: A2, article: 第五条, categories: [other], kinds: [inpatient],
     segments: [{ratio: 0.7}]}
refusals:
  - {rule: X, article: 第七条, categories: [other], kinds: [childbirth], reason: 生育不予救助}
""")
    d = date(2024, 3, 1)
    pop = [(Person(f"P-{c}", (Identity(c, date(2024, 1, 1)),)),
            [Visit(f"V-{c}-{k}", k, d, d, 800_000, hifp_pay=600_000, hifmi_pay=0)
             for k in ("childbirth", "inpatient")]) for c in ("tekun", "other")]
    engine = [[s.assistance for s in settle_year([policy], {}, p, vs).settlements]
              for p, vs in pop]
    assert engine == [[200_000, 200_000], [0, 140_000]]
    refused = settle_year([policy], {}, *pop[1]).settlements[0].trace
    assert [t.rule for t in refused if t.code == "refusal"] == ["X"]
    res = _settle(policy, pop)
    assert not differences(policy, pop, res)
    with tempfile.TemporaryDirectory() as tmp:
        _duckdb(policy, pop, res, Path(tmp))


def test_insurance_computed_with_the_tilt_for_some_categories_and_given_visits() -> None:
    """Tiers 1 and 2 computed in the kernel as in the engine: the critical-illness tilt for
    tekun alone and without its cap, and a visit whose insurance was given counting into
    the year's insurance pools before one computed."""
    policy = city(INSURED)
    d1, d2 = date(2024, 3, 1), date(2024, 4, 1)
    pop = [(Person(f"P-{c}", (Identity(c, date(2024, 1, 1)),)), [
        Visit(f"V-{c}-1", "inpatient", d1, d1, 30_000_000, hifp_pay=29_000_000, hifmi_pay=0),
        Visit(f"V-{c}-2", "inpatient", d2, d2, 5_000_000, hospital_level=3),
        Visit(f"V-{c}-3", "inpatient", d2, d2, 100_000_000, hifp_pay=30_000_000)])
        for c in ("tekun", "other")]
    res = _settle(policy, pop)
    assert not differences(policy, pop, res)
    # V2: basic insurance within what V1 left of the 300,000 cap; the year's amount 10,000
    # → 50,000: tekun (7,500, 65%) 27,625 − 1,625, other (15,000, 60%) 21,000
    assert res.hifp_pay.tolist()[1::3] == [1_000_000, 1_000_000]
    assert res.hifmi_pay.tolist()[1::3] == [2_600_000, 2_100_000]
    # V3 (700,000 more): tekun without a cap 548,375 − 27,625; other to its 400,000 cap
    assert res.hifmi_pay.tolist()[2::3] == [52_075_000, 37_900_000]


def test_the_critical_illness_tilt_is_for_an_identity_in_force_not_a_look_back() -> None:
    """特困 recognised on 10 May with a 3-month look-back: a stay of 1 April is assisted
    (纳入救助) but its critical-illness insurance is the standard one (NJ-C: an identity in
    force); a stay of 1 June has the tilt. Base 50,000 − basic 10,000 = 40,000 above the
    line: standard (15,000, 60%) 15,000; tilted (7,500, 65%) 21,125, in the kernel too."""
    policy = parse_policy(HEAD.replace("stay_rule: true}", (
        "stay_rule: true, lookback: [{rule: W, article: 第三条, categories: [tekun], "
        "months: 3}]}")) + INSURED, "city.yaml")
    person = Person("P", (Identity("tekun", date(2024, 5, 10)),))
    pop = [(person, [Visit(f"V{m}", "inpatient", date(2024, m, 1), date(2024, m, 1),
                           5_000_000, hifp_pay=1_000_000) for m in (4,)]),
           (replace(person, id="Q"), [Visit("V6", "inpatient", date(2024, 6, 1),
                                            date(2024, 6, 1), 5_000_000, hifp_pay=1_000_000)])]
    res = _settle(policy, pop)
    assert not differences(policy, pop, res)
    assert res.hifmi_pay.tolist() == [1_500_000, 2_112_500]
    assert res.assistance.tolist()[0] > 0  # the look-back stay is assisted


def test_the_critical_illness_cap_limits_what_the_year_paid_given_or_computed() -> None:
    """The cap is a payout limit, never inside F: after a stay the platform settled with
    300,000 of critical-illness insurance, a computed one pays its own F (70% of 100,000)
    within what is left of the 400,000 cap, not F's capped difference (0)."""
    policy = city(INSURED)
    d1, d2 = date(2024, 3, 1), date(2024, 4, 1)
    pop = [(Person("P", (Identity("other", date(2024, 1, 1)),)), [
        Visit("V1", "inpatient", d1, d1, 100_000_000, hifp_pay=30_000_000,
              hifmi_pay=30_000_000),
        Visit("V2", "inpatient", d2, d2, 10_000_000, hifp_pay=0)])]
    res = _settle(policy, pop)
    assert not differences(policy, pop, res)
    assert int(res.hifmi_pay[1]) == 7_000_000


def test_the_year_end_stages_are_those_in_force_on_31_december_in_any_order() -> None:
    """A notice from 1 July lowers the year-end ceiling from 3,000 to 2,000 (2024年度个人负担
    封顶按调整后的标准于年末统一结算). Stays of March (the person bears 5,000) and September
    (4,000): 9,000 − 2,000 = 7,000 at year end, whether March is settled first or last,
    and with the March stay alone, under the first version, 5,000 − 2,000 = 3,000."""
    body = """\
lines:
  - {rule: A1, article: 第五条, categories: "*", kinds: "*", segments: [{ratio: 0.5}]}
stages:
  - {rule: F1, article: 第十一条, label: 个人负担封顶, when: year_end, ceiling: {amount: 3000}}
"""
    first = parse_policy(HEAD + body, "city.yaml")
    second = parse_policy(HEAD.replace("in_force: 2024-01-01", "in_force: 2024-07-01")
                          .replace('version: "2024"', 'version: "2024-07"')
                          + body.replace("amount: 3000", "amount: 2000"), "city-2.yaml")
    person = Person("P", (Identity("tekun", date(2024, 1, 1)),))

    def stay(vid: str, day: date, total: int) -> Visit:
        return Visit(vid, "inpatient", day, day, total, hifp_pay=0, hifmi_pay=0)

    march, september = stay("V1", date(2024, 3, 1), 1_000_000), \
        stay("V2", date(2024, 9, 1), 800_000)
    for visits, want in (([march, september], 700_000), ([september, march], 700_000),
                         ([march], 300_000)):
        engine = settle_year([first, second], {}, person, visits)
        assert [(y.rule, y.amount) for y in engine.year_end] == [("F1", want)]
        res = settle_population([first, second], {}, schema.visit_columns(
            schema.visits_table((0, v) for v in visits)), schema.person_columns(
            schema.persons_table([(0, person)])))
        assert res.years.year_end[:, 0].tolist() == [want]
        assert res.plans.versions[res.plans.keys[int(res.years.plan[0])][0]] is second
