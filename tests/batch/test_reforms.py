"""Reform files: every kind of operation, refused reforms named by their path, and the
settlements they give — an empty reform is the baseline, a higher ratio never pays less."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from medaid.batch import schema, synth
from medaid.batch.compare import income, person_changes
from medaid.batch.settle import Results, settle_population
from medaid.core.errors import MissingParameter
from medaid.policy import model
from medaid.policy.model import Policy
from medaid.policy.params import Params
from medaid.policy.reform import ReformError, parse_reform, reformed_yaml

REFORMS = Path(__file__).resolve().parents[2] / "reforms"
HEAD = "title: t\npolicy: {j}\nquestion: q\noperations:\n"


def reform(ops: str, j: str = "nanjing") -> tuple[list[Policy], dict[str, object]]:
    r = parse_reform(HEAD.format(j=j) + ops, "r.yaml").apply(model.versions(j))
    return r.versions, r.local


def line(p: Policy, rule: str, k: int = 0) -> model.Line:
    return [ln for ln in p.lines if ln.rule == rule][k]


def test_rule_set_caps_and_categories() -> None:
    (p,), _ = reform("  - {rule: NJ-A2, set: {segments: [{ratio: 0.95}]}}\n"
                     "  - {rule: NJ-A3, caps: {outpatient_cap: 12000}}\n"
                     "  - {rule: NJ-A1, add_categories: [dibao]}\n")
    assert line(p, "NJ-A2").spec.segments[0].ratio == Decimal("0.95")
    assert line(p, "NJ-A3").spec.caps[0].amount == Decimal(12000)
    assert line(p, "NJ-A4").spec.caps[0].amount == Decimal(10000)  # only NJ-A3's
    assert line(p, "NJ-A1").categories == {"tekun", "orphan", "dibao"}
    assert p.spec.version == "2023+reform"


def test_a_rule_names_every_line_of_it_unless_a_kind_narrows() -> None:
    (p,), _ = reform("  - {rule: CZ-A2, set: {segments: [{ratio: 0.85}]}}\n", "changzhou")
    assert [ln.spec.segments[0].ratio for ln in p.lines if ln.rule == "CZ-A2"] == \
        [Decimal("0.85")] * 2
    (p,), _ = reform("  - {rule: CZ-A2, kind: inpatient, set: {segments: [{ratio: 0.85}]}}\n",
                     "changzhou")
    assert [ln.spec.segments[0].ratio for ln in p.lines if ln.rule == "CZ-A2"] == \
        [Decimal("0.80"), Decimal("0.85")]


def test_new_category_with_its_line_parameters_section_and_local() -> None:
    (p,), local = reform(
        "  - {add_category: {id: hardship, label: 困难职工}, after: dibao}\n"
        "  - add_line: {rule: NJ-X, article: proposal, categories: [hardship],\n"
        "               kinds: [inpatient], deductible: 1000, segments: [{ratio: 0.6}]}\n"
        "    after: NJ-A2\n"
        "  - {parameters: {youfu_outpatient_allowance: {default: 300}}}\n"
        "  - {section: tilted, set: {deductible: 15000}}\n"
        "  - {local: {income_per_capita_prev_year: 76643}}\n")
    assert p.categories[3] == "hardship" and p.order["hardship"] == 3
    assert [ln.rule for ln in p.lines][:3] == ["NJ-A1", "NJ-A2", "NJ-X"]
    assert p.spec.parameters["youfu_outpatient_allowance"].default == Decimal(300)
    assert p.spec.tilted is not None and p.spec.tilted.deductible == Decimal(15000)
    assert local == {"income_per_capita_prev_year": 76643}


def test_a_section_the_policy_lacks_is_created() -> None:
    (p,), _ = reform("  - section: tilted\n    set: {rule: NB-T, article: proposal, "
                     "base: remainder, deductible: 20000, segments: [{ratio: 0.5}]}\n", "ningbo")
    assert p.spec.tilted is not None and p.spec.tilted.rule == "NB-T"


@pytest.mark.parametrize(("ops", "where"), [
    ("  - {rule: NJ-A2, set: {segments: [{ratio: 1.5}]}}", "operations[0].set.segments[0].ratio"),
    ("  - {rule: NJ-A9, set: {deductible: 1}}", "operations[0].rule: no line NJ-A9"),
    ("  - {rule: NJ-A3, caps: {main_cap: 1}}", "operations[0].caps.main_cap: NJ-A3 has no cap"),
    ("  - {rule: NJ-A3, caps: {outpatient_cap: -1}}", "operations[0].caps.outpatient_cap"),
    ("  - {rule: NJ-A2, set: {ratio: 0.9}}", "operations[0].set.ratio: not a field"),
    ("  - {rule: NJ-A2, set: {deductible: 1}}\n  - {local: {key_ratio: 0.8}}",
     "operations[1].local.key_ratio: not a parameter"),
    ("  - {add_line: {rule: X, article: a, categories: [nope], kinds: '*', "
     "segments: [{ratio: 0.5}]}}", "operations[0]: the policy would not validate"),
    ("  - {parameters: {new_money: {type: money, label: x, default: 5}}}",
     "operations[0].parameters.new_money"),
    ("  - {section: tilted, set: {deductible: abc}}", "operations[0].set.deductible"),
    ("  - {rule: NJ-A2, set: {deductible: 1}, caps: {x: 1}}", "operations[0]: a rule operation"),
    ("  - {drop: NJ-A2}", "operations[0]: exactly one of"),
])
def test_an_invalid_reform_is_refused_by_its_path(ops: str, where: str) -> None:
    with pytest.raises(ReformError) as e:
        reform(ops + "\n")
    assert str(e.value).startswith("r.yaml: ") and where in str(e.value), str(e.value)


def test_a_reform_of_another_jurisdiction_is_refused() -> None:
    r = parse_reform(HEAD.format(j="ningbo"), "r.yaml")
    with pytest.raises(ReformError, match="a reform of ningbo, not nanjing"):
        r.apply(model.versions("nanjing"))


@pytest.mark.parametrize("path", sorted(REFORMS.glob("*.yaml")), ids=lambda p: p.stem)
def test_the_shipped_reforms_apply(path: Path) -> None:
    r = parse_reform(path.read_text("utf-8"), path.name)
    done = r.apply(model.versions(r.jurisdiction))
    assert done.changes and all(c.before != c.after for c in done.changes)


def test_a_parameter_the_population_sets_would_hide_the_change() -> None:
    r = parse_reform((REFORMS / "jiangsu-key-ratio-75.yaml").read_text("utf-8"), "js.yaml")
    done = r.apply(model.versions("jiangsu"))
    assert done.overridden({"key_ratio": Decimal("0.8")}) == [
        ("operations[0].parameters.key_ratio", "key_ratio")]
    assert done.overridden({"basic_cap": 300000}) == []


# -- settlements under a reform --------------------------------------------------------------
def _settle(versions: list[Policy], people: list[synth.PersonYear],
            local: dict[str, object]) -> Results:
    visits = schema.visits_table((i, v) for i, py in enumerate(people) for v in py.visits)
    persons = schema.persons_table((i, py.person) for i, py in enumerate(people))
    return settle_population(versions, local, schema.visit_columns(visits),
                             schema.person_columns(persons))


def test_an_empty_reform_is_the_baseline() -> None:
    rng = random.Random(3)
    people = [synth.generate(rng, "yichun", 2024, pid=f"P{i}") for i in range(150)]
    local = synth.generate_local(random.Random(3), "yichun", 2024)
    versions, extra = reform("", "yichun")
    assert extra == {}
    base = _settle(model.versions("yichun"), people, local)
    same = _settle(versions, people, local)
    for name in ("hifp_pay", "hifmi_pay", "base", "assistance", "tilted", "special"):
        assert np.array_equal(getattr(base, name), getattr(same, name)), name
    changes = person_changes(base, same)
    assert (changes.gainers, changes.losers, changes.persons) == (0, 0, 150)


def test_a_higher_ratio_never_lowers_a_visits_assistance_on_one_line() -> None:
    """dibao persons in force all year, plain inpatient visits: NJ-A2 alone pays them."""
    rng = random.Random(11)
    people = []
    for i in range(200):
        person = synth.generate_person(rng, "nanjing", 2024, f"P{i}", category="dibao",
                                       whole_year=True)
        visits = synth.generate_year(rng, "nanjing", 2024, rng.randint(1, 20), person,
                                     kind="inpatient", plain=True)
        people.append(synth.PersonYear("nanjing", 2024, person, visits, {}))
    local = {"income_per_capita_prev_year": 76643}
    versions, _ = reform("  - {rule: NJ-A2, set: {segments: [{ratio: 0.95}]}}\n")
    base = _settle(model.versions("nanjing"), people, local)
    new = _settle(versions, people, local)
    assert (new.assistance >= base.assistance).all()
    assert int(new.assistance.sum()) > int(base.assistance.sum())
    changes = person_changes(base, new)
    assert changes.losers == 0 and changes.gainers > 0
    assert changes.gained - changes.lost == int(new.maf_pay.sum()) - int(base.maf_pay.sum())


def test_income_comes_from_local_or_the_policy_or_is_not_computable() -> None:
    nj = model.versions("nanjing")
    assert income(nj, {}, [2023]).by_year == {2023: 6_903_900}
    assert income(nj, {"income_per_capita_prev_year": 70000}, [2024]).by_year == {
        2024: 7_000_000}
    missing = income(model.versions("changzhou"), {}, [2024])
    assert not missing.known and "income_per_capita_prev_year" in missing.source
    with pytest.raises(MissingParameter):  # the engine's own error, which income() reports
        Params(model.versions("changzhou")[0], {}).money("income_per_capita_prev_year", 2024,
                                                         "x")


@pytest.mark.parametrize("path", sorted(REFORMS.glob("*.yaml")), ids=lambda p: p.stem)
def test_a_reformed_policy_reads_back_as_a_policy_file(path: Path) -> None:
    """`medaid policy reform` prints the reformed policy; it is a policy file like any."""
    r = parse_reform(path.read_text("utf-8"), path.name)
    (policy,) = r.apply(model.versions(r.jurisdiction)).versions
    again = model.parse_policy(reformed_yaml(policy), "reformed.yaml")
    assert again.spec == policy.spec
