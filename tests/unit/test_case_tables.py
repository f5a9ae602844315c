"""The rule cases of tests/cases/<jurisdiction>/*.yaml, hand-computed from spec/RULES.md:
each is a case as contract/CASE.md gives it, settled as `medaid settle` settles it, and
what the settlement must say (the format: tests/cases/README.md). One test per case."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from rules_helpers import assert_all_amounts_traced, assert_chain, assert_traced

from medaid.engine.case import TOTAL_FIELDS, parse_case, result_json, settle_case

CASES = Path(__file__).parents[1] / "cases"
KEYS = {"id", "rule", "why", "case", "expect", "totals", "trace", "traced"}
EXPECTATIONS = ("expect", "totals", "trace", "traced")


class _Loader(yaml.SafeLoader):
    """Numbers as Decimal, as `medaid settle` reads JSON; dates stay text, as in JSON."""


def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    return Decimal(str(loader.construct_scalar(node)))  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:int", _decimal)
_Loader.add_constructor("tag:yaml.org,2002:float", _decimal)
_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in _Loader.yaml_implicit_resolvers.items()}


def _tables() -> list[Any]:
    params, seen = [], set()
    for path in sorted(CASES.glob("*/*.yaml")):
        for entry in yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader):
            name = f"{path.parent.name}/{path.stem}/{entry['id']}"
            if name in seen:
                raise ValueError(f"{path}: case id {entry['id']} appears twice")
            seen.add(name)
            params.append(pytest.param(entry, id=name))
    return params


def _has_line(trace: list[dict[str, Any]], want: dict[str, Any]) -> bool:
    """A line whose fields equal `want`'s, or contain each text where `want` lists texts."""
    return any(all(all(text in line[k] for text in v) if isinstance(v, list) else line[k] == v
                   for k, v in want.items()) for line in trace)


@pytest.mark.parametrize("entry", _tables())
def test_case(entry: dict[str, Any]) -> None:
    assert set(entry) <= KEYS, f"unknown keys {sorted(set(entry) - KEYS)}"
    assert any(k in entry for k in EXPECTATIONS), "a case must expect something"
    result = result_json(settle_case(parse_case(entry["case"])))
    visits = {v["id"]: v for v in result["visits"]}
    wrong = []
    for vid, fields in entry.get("expect", {}).items():
        for name, want in fields.items():
            if visits[vid][name] != want:
                wrong.append(f"{vid}.{name}: expected {want}, settled {visits[vid][name]}")
    for name, want in entry.get("totals", {}).items():
        got = sum(v[name] for v in visits.values())
        if got != want:
            wrong.append(f"sum of {name}: expected {want}, settled {got}")
    for vid, lines in entry.get("trace", {}).items():
        wrong += [f"{vid}: no trace line {want}: {visits[vid]['trace']}"
                  for want in lines if not _has_line(visits[vid]["trace"], want)]
    assert not wrong, "\n".join([*wrong, f"why: {entry.get('why')}"])
    for vid, explained in entry.get("traced", {}).items():
        for t in explained:
            assert_traced(visits[vid], t["tier"], t["rule"], t["seed"], t["article"])
    # what holds for every settlement: the chain of §2, every amount traced, the totals
    for v in visits.values():
        assert_chain(v)
        assert_all_amounts_traced(v)
    for name in TOTAL_FIELDS:
        assert result["totals"][name] == sum(v[name] for v in visits.values()), name
