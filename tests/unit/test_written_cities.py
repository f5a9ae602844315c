"""Cities medaid does not ship, written as policy files from their documents alone, each
with worked cases computed by hand (tests/cases/written/<city>/: the document's text, its
policy files, and `cases/<policy file>/*.json`, each settled under that file as
`medaid settle --policy-file` settles it). A case's `expected` gives, to the fen, fields of
its visits, `year_end` amounts by rule (summed over the years unless a year is given) and
`totals`; its `note` gives the arithmetic."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from medaid.cli.main import app
from medaid.engine.case import parse_case, result_json, settle_case
from medaid.policy import amend

WRITTEN = Path(__file__).parents[1] / "cases" / "written"


def _cases() -> list[Any]:
    return [pytest.param(path, id=f"{path.parents[2].name}/{path.stem}")
            for path in sorted(WRITTEN.glob("*/cases/*/*.json"))]


def _near(got: object, want: object) -> bool:
    if isinstance(want, int | float | Decimal) and not isinstance(want, bool):
        return isinstance(got, int | float | Decimal) \
            and abs(Decimal(str(got)) - Decimal(str(want))) < Decimal("0.005")
    return got == want


def test_every_city_has_cases() -> None:
    cities = {p.parents[2].name for p in WRITTEN.glob("*/cases/*/*.json")}
    assert cities == {p.name for p in WRITTEN.iterdir() if p.is_dir()}
    assert len(_cases()) >= 40


@pytest.mark.parametrize("policy", sorted(WRITTEN.glob("*/*.yaml")), ids=lambda p: p.stem)
def test_each_policy_file_validates_without_a_warning(policy: Path) -> None:
    """Every article it cites is in its text, and nothing it says is inert."""
    done = CliRunner().invoke(app, ["policy", "validate", str(policy)])
    assert (done.exit_code, done.stderr) == (0, ""), done.stderr


@pytest.mark.parametrize("path", _cases())
def test_written_case(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    policy = path.parents[2] / f"{path.parent.name}.yaml"
    result = result_json(settle_case(parse_case(raw, amend.load_all([policy]))))
    want = raw["expected"]
    visits = {v["id"]: v for v in result["visits"]}
    wrong = [f"{w['id']}.{k}: expected {v}, settled {visits[w['id']][k]}"
             for w in want.get("visits", []) for k, v in w.items()
             if k != "id" and not _near(visits[w["id"]][k], v)]
    for w in want.get("year_end", []):
        got = sum(Decimal(str(y["amount"])) for y in result.get("year_end") or []
                  if y["rule"] == w["rule"] and w.get("year") in (None, y["year"]))
        if not _near(got, w["amount"]):
            wrong.append(f"year_end {w['rule']} {w.get('year', '')}: expected {w['amount']}, "
                         f"settled {got}")
    wrong += [f"totals.{k}: expected {v}, settled {result['totals'][k]}"
              for k, v in want.get("totals", {}).items() if not _near(result["totals"][k], v)]
    assert not wrong, "\n".join([*wrong, f"note: {raw.get('note')}"])
