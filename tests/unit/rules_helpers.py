"""Shared helpers for the rule tests written from spec/RULES.md and contract/CASE.md: the
checks every case table's settlement passes (tests/unit/test_case_tables.py), and cases
built as plain dicts exactly as CASE.md describes, for the tests that are not tables
(errors, the command line), sent through the JSON parser (so every number becomes a
Decimal, as from the command line) and settled.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from medaid.engine.case import parse_case, parse_json, result_json, settle_case
from medaid_command import medaid

CHANGZHOU = "004_ce34ab08bb0ffba6.txt"


def ident(category: str, start: str = "2023-01-01", to: str | None = None,
          application: str | None = None) -> dict[str, Any]:
    return {"category": category, "from": start, "to": to, "application": application}


def visit(vid: str, kind: str, start: str, end: str | None = None, *,
          total: float | str = 0, hifp: float | str | None = 0,
          hifmi: float | str | None = 0, fulamt: float | str = 0,
          overlmt: float | str = 0, preself: float | str = 0, oth: float | str = 0,
          **extra: Any) -> dict[str, Any]:
    """A visit; hifp/hifmi=None leaves the field out (computed from local parameters)."""
    v: dict[str, Any] = {
        "id": vid, "kind": kind, "start": start, "end": end or start,
        "medfee_sumamt": total, "fulamt_ownpay_amt": fulamt, "overlmt_selfpay": overlmt,
        "preselfpay_amt": preself, "oth_pay": oth,
    }
    if hifp is not None:
        v["hifp_pay"] = hifp
    if hifmi is not None:
        v["hifmi_pay"] = hifmi
    v.update(extra)
    return v


def base_visit(vid: str, kind: str, start: str, end: str | None = None, *,
               base: float | str, **extra: Any) -> dict[str, Any]:
    """A visit whose assistance base is exactly `base`: total = base, no insurance paid."""
    return visit(vid, kind, start, end, total=base, hifp=0, hifmi=0, **extra)


def stay(vid: str, start: str, end: str, base: float | str, **extra: Any) -> dict[str, Any]:
    """An inpatient stay whose assistance base is exactly `base`."""
    return base_visit(vid, "inpatient", start, end, base=base, **extra)


def case(jurisdiction: str, identities: list[dict[str, Any]], visits: list[dict[str, Any]],
         local: dict[str, Any] | None = None, **person: Any) -> dict[str, Any]:
    p: dict[str, Any] = {"id": "P", "identities": identities,
                         "disability_grade": None, "tilted_application": None}
    p.update(person)
    return {"jurisdiction": jurisdiction, "local": local or {}, "person": p,
            "visits": visits}


def _dumps(c: dict[str, Any]) -> str:
    return json.dumps(c, ensure_ascii=False)


def settle_full(c: dict[str, Any]) -> dict[str, Any]:
    return result_json(settle_case(parse_case(parse_json(_dumps(c)))))


def settle(c: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Settle a case; the visits' results by visit id (amounts are Decimal yuan)."""
    return {v["id"]: v for v in settle_full(c)["visits"]}


def run_cli(c: dict[str, Any] | str, tmp_path: Path, *, stdin: bool = False
            ) -> subprocess.CompletedProcess[str]:
    """`medaid settle --json` on the case, from stdin or from a file."""
    text = c if isinstance(c, str) else _dumps(c)
    if stdin:
        return medaid("settle", "-", "--json", stdin=text)
    path = tmp_path / "case.json"
    path.write_text(text, encoding="utf-8")
    return medaid("settle", str(path), "--json")


def assert_traced(v: dict[str, Any], tier: str, rule: str, seed: str, article: str) -> None:
    """The non-zero amount `v[tier]` is explained by trace lines of `rule` citing the
    seed file and article, and the rule is reported among the rules that paid."""
    amount = v[tier]
    assert amount != 0, f"{v['id']}.{tier} is zero; nothing to trace"
    lines = [t for t in v["trace"] if t["rule"] == rule and t["amount"] != 0]
    assert lines, f"{v['id']}: no non-zero trace line for {rule}: {v['trace']}"
    assert sum(t["amount"] for t in lines) == amount, (
        f"{v['id']}.{tier} {amount} vs trace of {rule}: {lines}")
    for t in lines:
        assert seed in t["source"], t
        assert article in t["source"], t
    assert rule in v["rules"], v["rules"]


def assert_all_amounts_traced(v: dict[str, Any]) -> None:
    """Every non-zero tier-3 amount has non-zero trace lines with a rule id and a seed source."""
    for tier in ("assistance", "tilted", "special", "reassistance"):
        if v[tier] == 0:
            continue
        lines = [t for t in v["trace"] if t["amount"] != 0 and t["rule"] in v["rules"]]
        assert lines, f"{v['id']}.{tier} {v[tier]} has no trace line"
        for t in lines:
            assert t["rule"], t
            assert ".txt" in t["source"], t


def assert_chain(v: dict[str, Any]) -> None:
    """§2: maf = assistance + tilted + special + the stages' re-assistance; psn = total −
    hifp − hifmi − oth − maf."""
    assert v["maf_pay"] == v["assistance"] + v["tilted"] + v["special"] + v["reassistance"]
    assert v["psn_part_amt"] == (v["medfee_sumamt"] - v["hifp_pay"] - v["hifmi_pay"]
                                 - v["oth_pay"] - v["maf_pay"])
    for name in ("base", "assistance", "tilted", "special", "reassistance", "maf_pay",
                 "psn_part_amt"):
        assert v[name] >= 0, (name, v[name])


# Nanjing's local parameters: income 80,000 (NJ-A5's deductible 8,000).
NJ_LOCAL = {"income_per_capita_prev_year": 80000}
