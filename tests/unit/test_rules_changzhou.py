"""Changzhou (RULES.md §4.5): the trace lines of a rare-disease drug (its settlements are
the case tables of tests/cases/changzhou/)."""

from __future__ import annotations

import pytest
from rules_helpers import (
    CHANGZHOU,
    assert_chain,
    case,
    ident,
    settle,
    visit,
)


def cz(identities, visits, local=None):
    return settle(case("changzhou", identities, visits, local or {}))


# -- CZ-A3 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cat", ["tekun", "dibao", "zhongcan"])
def test_cz_a3_rare_disease_drug_half_after_provincial_fund(cat):
    # base = 100000 − 50000 − 10000 − 20000 = 20000 → 50% = 10000; psn = 100000 − 90000 = 10000
    v = cz([ident(cat)], [visit("V1", "rare_disease_drug", "2023-02-01", total=100000,
                                hifp=50000, hifmi=10000, oth=20000)])["V1"]
    assert v["base"] == 20000
    assert v["assistance"] + v["special"] == 10000
    assert (v["maf_pay"], v["psn_part_amt"]) == (10000, 10000)
    assert_chain(v)
    lines = [t for t in v["trace"] if t["rule"] == "CZ-A3" and t["amount"] != 0]
    assert sum(t["amount"] for t in lines) == 10000
    assert all(CHANGZHOU in t["source"] and "（六）" in t["source"] for t in lines)
