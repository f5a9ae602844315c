"""双预警 arithmetic and the monitoring sections of the shipped policies."""

from __future__ import annotations

import pytest

from medaid.casework.warnings import kind_of
from medaid.policy import model
from medaid.policy import monitoring as m


def test_burdens_after_insurance_and_after_assistance() -> None:
    # 8,851.95 still paid, 25,667.55 paid by assistance: 34,519.50 before assistance.
    assert m.burden("after_insurance", 885195, 2566755) == 3451950
    assert m.burden("after_assistance", 885195, 2566755) == 885195


def test_the_threshold_is_a_share_of_income_rounded_half_up() -> None:
    assert m.threshold(6903900, 5000) == 3451950  # 50% × 69,039.00
    assert m.threshold(6903901, 5000) == 3451951  # 34,519.505 → .51 (half up)
    assert m.threshold(3333333, 3333) == 1111000  # 1,110,999.8889 fen → 1,111,000


@pytest.mark.parametrize(("amount", "crossed", "level"), [
    (3451949, False, 0),  # one fen below
    (3451950, True, 1),  # exactly the threshold: 达到 counts
    (6903899, True, 1),
    (6903900, True, 2),  # twice the threshold: the next level
    (0, False, 0),
])
def test_crossing_and_levels(amount: int, crossed: bool, level: int) -> None:
    assert m.crosses(amount, 3451950) is crossed
    assert m.level(amount, 3451950) == level


def test_a_zero_threshold_warns_nobody() -> None:
    assert not m.crosses(100, 0) and m.level(100, 0) == 0


def test_every_shipped_monitoring_section_is_consistent() -> None:
    found = {p.jurisdiction: p.spec.monitoring for p in model.shipped()}
    assert found["jiangsu"] is None  # the 2015 framework has no monitoring article
    for p in model.shipped():
        assert m.problems(p.spec) == [], p.jurisdiction
        if p.spec.monitoring is not None:
            share = p.spec.parameters["warning_threshold_share"]
            assert share.default is not None and share.source
    nj, yc, cz, nb = (found[j] for j in ("nanjing", "yichun", "changzhou", "ningbo"))
    assert nj is not None and (nj.rule, nj.article, nj.measure, nj.relapse) == (
        "NJ-M", "（十六）", "after_insurance", ["dibao_edge", "zhichu_illness"])
    assert yc is not None and (yc.rule, yc.article, yc.measure, yc.relapse) == (
        "YC-M", "第十一条", "after_assistance", ["dibao_edge", "jiance"])
    assert cz is not None and (cz.rule, cz.article, cz.relapse) == (
        "CZ-M", "（八）", ["dibao", "dibao_edge", "zhichu_illness"])
    assert nb is not None and nb.poverty and nb.relapse == []


def test_which_list_a_person_year_belongs_to() -> None:
    nanjing = model.versions("nanjing")[-1]
    spec = nanjing.spec.monitoring
    assert spec is not None
    assert kind_of(spec, nanjing, []) == ("poverty", None)
    assert kind_of(spec, nanjing, ["dibao"]) is None  # a beneficiary NJ-M does not watch
    assert kind_of(spec, nanjing, ["zhichu_illness", "dibao_edge"]) == (
        "relapse", "dibao_edge")  # the first in tie order
    ningbo = model.versions("ningbo")[-1]
    assert ningbo.spec.monitoring is not None
    assert kind_of(ningbo.spec.monitoring, ningbo, ["dibao_edge"]) is None


def test_problems_name_unknown_categories_and_parameters() -> None:
    nanjing = model.versions("nanjing")[-1].spec
    assert nanjing.monitoring is not None
    broken = nanjing.model_copy(update={"monitoring": nanjing.monitoring.model_copy(
        update={"relapse": ["jiance"], "threshold_share": "income_per_capita_prev_year"})})
    assert m.problems(broken) == [
        "monitoring.relapse: unknown category 'jiance'",
        "monitoring.threshold_share: 'income_per_capita_prev_year' is not a declared ratio "
        "parameter"]
