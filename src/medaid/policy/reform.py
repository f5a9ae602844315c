"""Reform files: a proposed change to a policy, as operations on the policy file's data.

A reform (docs/REFORMS.md) names a jurisdiction and lists operations; each one edits the
policy's YAML data by rule id, and the result is validated again by the policy schema and
its cross-references after every operation, so a reform never yields a policy the engine
would refuse. An error names the reform file and the operation's path
(`operations[0].set.segments[0].ratio: …`).

Operations, each a mapping with an optional `note`:

* `{rule: ID, set: {FIELD: VALUE, …}}` — replace fields of every line with that rule id
  (`kind: K` restricts to the lines that settle visits of kind K);
* `{rule: ID, caps: {POOL: AMOUNT, …}}` — the amount of a cap the lines already have;
* `{rule: ID, add_categories: [CATEGORY, …]}` — more categories covered by the lines;
* `{add_category: {id, label, …}, after: CATEGORY}` — a new category (tie order: after
  `after`, default last);
* `{add_line: {rule, article, …}, after: ID}` — a new line (after the last line `ID`,
  default last);
* `{parameters: {NAME: {FIELD: VALUE, …}}}` — change a parameter's declaration (its
  `default`, `values`, bounds), or declare a new one;
* `{section: tilted | critical_illness_tilt | referral | windows, set: {…}}` — replace
  fields of a section (a section the policy lacks is created from them);
* `{local: {NAME: VALUE}}` — a local parameter for the reform's run, over the population's
  own (for parameters a city sets, such as Jiangsu's ratios).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from medaid.core.errors import InputError, PolicyError
from medaid.policy import model
from medaid.policy import schema as s
from medaid.policy.model import Policy, compile_policy
from medaid.policy.structured import PARSERS, parse_money, parse_ratio

SECTIONS = ("tilted", "critical_illness_tilt", "referral", "windows")
RULE_EDITS = ("set", "caps", "add_categories")
KINDS_OF_OPERATION = ("rule", "add_category", "add_line", "parameters", "section", "local")
_TAG = re.compile(r"^[a-z_][a-z0-9_]*$")  # a field name; pydantic's union tags are not
_UNION_TAGS = frozenset({"decimal", "int", "float", "str", "bool", "none", "date"})


class ReformError(PolicyError):
    """A reform file that does not parse, or an operation that cannot apply."""


@dataclass(frozen=True)
class Change:
    """What one operation did to one version, for the report: where, before, after."""

    operation: int
    what: str  # "NJ-A2 segments", "parameters.key_ratio", "local.key_ratio"
    before: str
    after: str
    note: str | None


@dataclass(frozen=True)
class Reform:
    path: str
    title: str
    jurisdiction: str
    question: str
    operations: list[dict[str, Any]]
    text: str

    def apply(self, versions: Sequence[Policy]) -> Reformed:
        """The reformed versions (every version of the jurisdiction gets the operations)."""
        out: list[Policy] = []
        changes: list[Change] = []
        for v in versions:
            if v.jurisdiction != self.jurisdiction:
                raise ReformError(f"{self.path}: policy: a reform of {self.jurisdiction}, "
                                  f"not {v.jurisdiction}")
            policy, found = _apply_all(self, v)
            out.append(policy)
            if not changes:
                changes = found  # the same operations: the first version's suffice to show
        local: dict[str, object] = {}
        for op in self.operations:
            local.update(op.get("local") or {})
        return Reformed(self, list(versions), out, local, changes)


@dataclass(frozen=True)
class Reformed:
    reform: Reform
    baseline: list[Policy]
    versions: list[Policy]
    local: dict[str, object]  # over the population's own, for the reform's run
    changes: list[Change]

    def local_for(self, base: Mapping[str, object]) -> dict[str, object]:
        return {**base, **self.local}

    def overridden(self, base: Mapping[str, object]) -> list[tuple[str, str]]:
        """(operation path, parameter) of `parameters` edits that a local value in `base`
        would hide: the engine takes a local value before the policy file's."""
        hidden = []
        for i, op in enumerate(self.reform.operations):
            for name in op.get("parameters") or {}:
                if name in base and name not in self.local:
                    hidden.append((f"operations[{i}].parameters.{name}", name))
        return hidden


def load_reform(path: str | Path) -> Reform:
    return parse_reform(model.read_file(path, ReformError), str(path))


def parse_reform(text: str, path: str) -> Reform:
    data = model.yaml_mapping(text, path, "reform", ReformError)
    for key in data:
        if key not in ("title", "policy", "question", "operations"):
            raise ReformError(f"{path}: {key}: unknown key (title, policy, question, "
                              "operations)")
    for key in ("title", "policy", "question"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise ReformError(f"{path}: {key}: required (text)")
    ops = data.get("operations")
    if ops is None:
        ops = []
    if not isinstance(ops, list):
        raise ReformError(f"{path}: operations: a list")
    for i, op in enumerate(ops):
        _check_shape(path, i, op)
    return Reform(path, data["title"].strip(), data["policy"], data["question"].strip(), ops,
                  text)


def _fail(reform: str, where: str, message: str) -> ReformError:
    return ReformError(f"{reform}: {where}: {message}")


def _check_shape(path: str, i: int, op: object) -> None:
    where = f"operations[{i}]"
    if not isinstance(op, dict):
        raise _fail(path, where, "an operation is a mapping")
    kinds = [k for k in KINDS_OF_OPERATION if k in op]
    if len(kinds) != 1:
        raise _fail(path, where, f"exactly one of {', '.join(KINDS_OF_OPERATION)}")
    kind = kinds[0]
    allowed = {"rule": {"rule", "kind", *RULE_EDITS}, "add_category": {"add_category", "after"},
               "add_line": {"add_line", "after"}, "parameters": {"parameters"},
               "section": {"section", "set"}, "local": {"local"}}[kind] | {"note"}
    for key in op:
        if key not in allowed:
            raise _fail(path, f"{where}.{key}", f"unknown key for a {kind} operation "
                        f"(one of: {', '.join(sorted(allowed))})")
    if kind == "rule":
        edits = [k for k in RULE_EDITS if k in op]
        if len(edits) != 1:
            raise _fail(path, where, f"a rule operation has exactly one of "
                        f"{', '.join(RULE_EDITS)}")
        if "kind" in op and op["kind"] not in s.KINDS:
            raise _fail(path, f"{where}.kind", f"one of {', '.join(s.KINDS)}")
        expect: type = list if edits[0] == "add_categories" else dict
        if not isinstance(op[edits[0]], expect) or not op[edits[0]]:
            raise _fail(path, f"{where}.{edits[0]}", f"a non-empty {expect.__name__}")
    elif kind == "section":
        if op["section"] not in SECTIONS:
            raise _fail(path, f"{where}.section", f"one of {', '.join(SECTIONS)}")
        if not isinstance(op.get("set"), dict) or not op["set"]:
            raise _fail(path, f"{where}.set", "a non-empty mapping")
    elif not isinstance(op[kind], dict) or not op[kind]:
        raise _fail(path, f"{where}.{kind}", "a non-empty mapping")


# -- applying --------------------------------------------------------------------------------
class _Dumper(yaml.SafeDumper):
    """YAML with Decimals written as the exact numbers they are."""


_Dumper.add_representer(Decimal, lambda d, v: d.represent_scalar(
    "tag:yaml.org,2002:float" if v != v.to_integral_value() else "tag:yaml.org,2002:int",
    f"{v.normalize():f}" if v != v.to_integral_value() else str(int(v))))


def _dump(value: object, flow: bool) -> str:
    return yaml.dump(value, Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                     default_flow_style=flow, width=1000 if flow else 100)


def _show(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, list | dict):
        return _dump(value, flow=True).strip()
    return str(value)


def _loc(parts: Sequence[int | str]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _TAG.match(part) and part not in _UNION_TAGS:
            out += f".{part}" if out else part
    return out


@dataclass
class _Target:
    """Where in the policy data an operation wrote, to name errors by the operation."""

    prefix: tuple[int | str, ...]
    path: str


def _apply_all(reform: Reform, policy: Policy) -> tuple[Policy, list[Change]]:
    data = policy.spec.model_dump(mode="python", exclude_unset=True)
    changes: list[Change] = []
    result = policy
    for i, op in enumerate(reform.operations):
        targets = _apply_one(reform.path, i, op, data, changes)
        result = _validate(reform.path, i, data, targets, policy.path)
    if reform.operations:
        data["version"] = f"{policy.spec.version}+reform"
        result = _validate(reform.path, len(reform.operations) - 1, data, [],
                           f"{policy.path} + {reform.path}")
    _check_local(reform, result)
    return result, changes


def _validate(reform: str, i: int, data: dict[str, Any], targets: list[_Target],
              source: str) -> Policy:
    try:
        spec = s.PolicyFile.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = tuple(first["loc"])
        for t in targets:
            if loc[:len(t.prefix)] == t.prefix:
                rest = _loc(loc[len(t.prefix):])
                where = t.path + ("" if not rest else rest if rest.startswith("[")
                                  else f".{rest}")
                raise _fail(reform, where, first["msg"]) from None
        raise _fail(reform, f"operations[{i}]", f"the policy would not validate "
                    f"({source}: {_loc(loc)}: {first['msg']})") from None
    try:
        return compile_policy(spec, source)
    except PolicyError as e:
        raise _fail(reform, f"operations[{i}]", f"the policy would not validate ({source}: "
                    f"{e})") from None


def _lines_of(reform: str, where: str, data: dict[str, Any], rule: str,
              kind: str | None, version: str) -> list[int]:
    found = [k for k, ln in enumerate(data["lines"]) if ln.get("rule") == rule
             and (kind is None or ln.get("kinds") == "*" or kind in ln.get("kinds", []))]
    if not found:
        rules = ", ".join(dict.fromkeys(ln.get("rule", "?") for ln in data["lines"]))
        which = f"{rule} for kind {kind}" if kind else rule
        raise _fail(reform, f"{where}.rule", f"no line {which} in {data['jurisdiction']} "
                    f"{version} (lines: {rules})")
    return found


def _apply_one(reform: str, i: int, op: dict[str, Any], data: dict[str, Any],
               changes: list[Change]) -> list[_Target]:
    where = f"operations[{i}]"
    note = op.get("note")
    version = str(data.get("version"))

    def changed(what: str, before: object, after: object) -> None:
        changes.append(Change(i, what, _show(before), _show(after), note))

    if "rule" in op:
        rule = str(op["rule"])
        lines = _lines_of(reform, where, data, rule, op.get("kind"), version)
        targets = []
        for k in lines:
            line = data["lines"][k]
            label = f"{rule} ({', '.join(line['kinds'])})" if len(lines) > 1 \
                and line.get("kinds") != "*" else rule
            if "set" in op:
                for field, value in op["set"].items():
                    if field not in s.Line.model_fields:
                        raise _fail(reform, f"{where}.set.{field}", "not a field of a line "
                                    f"(one of: {', '.join(s.Line.model_fields)})")
                    changed(f"{label} {field}", line.get(field), value)
                    line[field] = copy.deepcopy(value)
                    targets.append(_Target(("lines", k, field), f"{where}.set.{field}"))
            elif "caps" in op:
                caps = line.get("caps", [])
                for pool, amount in op["caps"].items():
                    hits = [n for n, c in enumerate(caps) if c.get("pool") == pool]
                    if not hits:
                        have = ", ".join(c.get("pool", "?") for c in caps) or "none"
                        raise _fail(reform, f"{where}.caps.{pool}", f"{rule} has no cap on "
                                    f"pool {pool} (its caps: {have})")
                    for n in hits:
                        changed(f"{label} cap {pool}", caps[n].get("amount"), amount)
                        caps[n]["amount"] = copy.deepcopy(amount)
                        targets.append(_Target(("lines", k, "caps", n, "amount"),
                                               f"{where}.caps.{pool}"))
            else:
                cats = line.get("categories")
                if cats == "*":
                    raise _fail(reform, f"{where}.add_categories", f"{rule} already covers "
                                "every category")
                added = [c for c in op["add_categories"] if c not in cats]
                changed(f"{label} categories", cats, [*cats, *added])
                line["categories"] = [*cats, *added]
                targets.append(_Target(("lines", k, "categories"), f"{where}.add_categories"))
        return targets

    if "add_category" in op:
        categories: list[dict[str, Any]] = data["categories"]
        new = copy.deepcopy(op["add_category"])
        at = len(categories)
        if op.get("after") is not None:
            ids = [c.get("id") for c in categories]
            if op["after"] not in ids:
                raise _fail(reform, f"{where}.after", f"no category {op['after']!r}")
            at = ids.index(op["after"]) + 1
        categories.insert(at, new)
        changed("categories", None, f"{new.get('id')} {new.get('label', '')}".strip())
        return [_Target(("categories", at), f"{where}.add_category")]

    if "add_line" in op:
        all_lines: list[dict[str, Any]] = data["lines"]
        new = copy.deepcopy(op["add_line"])
        at = len(all_lines)
        if op.get("after") is not None:
            at = _lines_of(reform, f"{where}.after", data, str(op["after"]), None,
                           version)[-1] + 1
        all_lines.insert(at, new)
        changed(f"lines: {new.get('rule', '?')}", None, new)
        return [_Target(("lines", at), f"{where}.add_line")]

    if "parameters" in op:
        params = data.setdefault("parameters", {})
        targets = []
        for name, fields in op["parameters"].items():
            if not isinstance(fields, dict):
                raise _fail(reform, f"{where}.parameters.{name}", "a mapping of the "
                            "declaration's fields (default, values, source, …)")
            old = params.get(name, {})
            for field, value in fields.items():
                changed(f"parameters.{name}.{field}", old.get(field), value)
            params[name] = {**old, **copy.deepcopy(fields)}
            targets.append(_Target(("parameters", name), f"{where}.parameters.{name}"))
        return targets

    if "section" in op:
        name = op["section"]
        section = data.get(name) or {}
        if not isinstance(section, dict):  # critical_illness_tilt given as a list
            raise PolicyError(f"{where}.section: {name} 为按身份分列的多项，无法整体设定；请修改"
                              f"政策文件 / {name} is a list: amend the policy file instead")
        for field, value in op["set"].items():
            changed(f"{name}.{field}", section.get(field), value)
        data[name] = {**section, **copy.deepcopy(op["set"])}
        return [_Target((name,), f"{where}.set")]

    for name, value in op["local"].items():
        changed(f"local.{name}", None, value)
    return []


def _check_local(reform: Reform, policy: Policy) -> None:
    """A `local` value must be a declared parameter of the right type within its bounds."""
    for i, op in enumerate(reform.operations):
        for name, value in (op.get("local") or {}).items():
            where = f"operations[{i}].local.{name}"
            p = policy.parameter(name)
            if p is None:
                raise _fail(reform.path, where, f"not a parameter of {policy.jurisdiction} "
                            f"(one of: {', '.join(policy.spec.parameters)})")
            try:
                if p.type == "money":
                    number = Decimal(parse_money(value, where)) / 100
                elif p.type == "ratio":
                    number = Decimal(parse_ratio(value, where)) / 10_000
                else:
                    PARSERS[p.type](value, where)
                    continue
            except InputError as e:
                raise _fail(reform.path, where, e.message) from None
            if isinstance(p.min, Decimal) and number < p.min:
                raise _fail(reform.path, where, f"must be ≥ {p.min}")
            if p.max is not None and number > p.max:
                raise _fail(reform.path, where, f"must be ≤ {p.max}")


def reformed_yaml(policy: Policy) -> str:
    """A reformed policy as a policy file, to read or to settle cases with."""
    return _dump(policy.spec.model_dump(mode="python", exclude_unset=True), flow=False)
