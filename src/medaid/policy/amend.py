"""Amendments: a city's yearly change as a few dated lines on top of a base policy, not a
copy of the file.

An amendment names its base (`amends: nanjing-2023`, a shipped policy's file name, or a
path relative to the amendment) and gives only what changes; the result is validated as a
whole policy file. How the two merge:

- a mapping merges key by key (`parameters`, `parameters.<name>`, `tilted`, `windows`…);
- the top-level lists `categories`, `statuses` and `indicators` (by `id`), `lines`,
  `refusals` and `stages` (by `rule`) merge entry by entry: an entry the base has takes
  the fields given, another is added at the end, and `removed: true` drops it. Where one
  rule id names several entries, `match:` picks one by its other fields
  (`match: {kinds: [inpatient]}`);
- a parameter's `values` merge by `year` or `from` date: a new dated value is added, one
  for a date the base has replaces it;
- anything else (a number, a list of segments or look-backs) replaces the base's.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from medaid.core.errors import PolicyError
from medaid.policy import model, schema_errors
from medaid.policy import schema as s

AMENDS = "amends"
KEYED = {"categories": "id", "indicators": "id", "lines": "rule", "refusals": "rule",
         "stages": "rule", "statuses": "id"}
SHIPPED_SUFFIX = ".yaml"


def load(path: str | Path) -> model.Policy:
    """A policy file or an amendment, validated and compiled."""
    return parse(model.read_file(path), str(path), Path(path).parent)


def load_all(paths: Sequence[str | Path]) -> list[model.Policy]:
    """Policy files given as versions of their jurisdiction (`--policy-file`): an amendment
    of a file beside it brings that file too, as the version before it, unless given
    itself; bases before the amendments on them."""
    found: dict[Path, model.Policy] = {}

    def add(path: Path) -> None:
        if path.resolve() in found:
            return
        text = model.read_file(path)
        name = model.yaml_mapping(text, str(path), "policy").get(AMENDS)
        base = _local_base(name, path.parent) if isinstance(name, str) else None
        if base is not None:
            add(base)
        found[path.resolve()] = parse(text, str(path), path.parent)

    for p in paths:
        add(Path(p))
    return list(found.values())


def _local_base(name: str, folder: Path) -> Path | None:
    local = folder / name
    return next((c for c in (local, local.with_name(local.name + SHIPPED_SUFFIX))
                 if c.is_file()), None)


def parse(text: str, path: str, folder: Path | None = None) -> model.Policy:
    """A policy or an amendment from its text; an amendment's base is a file in `folder`
    (None: shipped policies only) or a shipped policy."""
    data = model.yaml_mapping(text, path, "policy")
    if AMENDS not in data:
        return model.parse_policy(text, path)
    merged = resolve(data, path, folder, (path,))
    try:
        spec = s.PolicyFile.model_validate(merged)
    except ValidationError as e:
        _, message = schema_errors.describe(e.errors(), merged)
        raise PolicyError(f"{path}（修订 {data[AMENDS]}）: {message}") from None
    try:
        return model.compile_policy(spec, str(path))
    except PolicyError as e:
        raise PolicyError(f"{path} (amending {data[AMENDS]}): {e}") from None


def resolve(data: dict[str, Any], path: str, folder: Path | None,
            seen: tuple[str, ...]) -> dict[str, Any]:
    """The whole policy mapping an amendment stands for (its base may itself amend)."""
    name = data[AMENDS]
    if not isinstance(name, str) or not name:
        raise PolicyError(f"{path}: amends: 应为所修订政策的名称（如 nanjing-2023）或文件 / "
                          f"the base policy's name (nanjing-2023) or file")
    base_text, base_path, base_folder = _base_text(name, path, folder)
    if base_path in seen:
        raise PolicyError(f"{path}: amends: {name} 循环修订自身（{' → '.join(seen)}） / "
                          f"{name} amends itself")
    base = model.yaml_mapping(base_text, base_path, "policy")
    if AMENDS in base:
        base = resolve(base, base_path, base_folder, (*seen, base_path))
    change = {k: v for k, v in data.items() if k != AMENDS}
    merged: dict[str, Any] = merge(base, change, AMENDS)
    return merged


def _base_text(name: str, path: str, folder: Path | None) -> tuple[str, str, Path | None]:
    """The base's text, the path to name it by, and the folder of its own base."""
    local = None if folder is None else _local_base(name, folder)
    if local is not None:
        return model.read_file(local), str(local), local.parent
    shipped = resources.files("medaid") / "policies" / f"{name}{SHIPPED_SUFFIX}"
    if shipped.is_file():
        return shipped.read_text(encoding="utf-8"), f"policies/{name}{SHIPPED_SUFFIX}", None
    known = sorted(f.name.removesuffix(SHIPPED_SUFFIX)
                   for f in (resources.files("medaid") / "policies").iterdir()
                   if f.name.endswith(SHIPPED_SUFFIX))
    raise PolicyError(f"{path}: amends: 没有政策「{name}」（内置：{'、'.join(known)}；"
                      f"或修订文件旁的文件） / no policy {name!r}")


def merge(base: Any, change: Any, where: str) -> Any:
    """`change` applied on top of `base` (module docstring); `where` names the place,
    the top level being the amendment itself (`AMENDS`)."""
    if isinstance(base, dict) and isinstance(change, dict):
        out = dict(base)
        for key, value in change.items():
            here = f"{where}.{key}"
            old = base.get(key)
            if key == "values" and isinstance(value, list) and isinstance(old, list):
                out[key] = _merge_values(old, value, here)
            elif where == AMENDS and key in KEYED and isinstance(value, list) \
                    and isinstance(old, list):
                out[key] = _merge_entries(old, value, KEYED[key], here)
            elif key in out:
                out[key] = merge(old, value, here)
            else:
                out[key] = value
        return out
    return change


def _merge_entries(base: list[Any], change: list[Any], by: str, where: str) -> list[Any]:
    out = list(base)
    for entry in change:
        if not isinstance(entry, dict) or by not in entry:
            raise PolicyError(f"{where}: 每一项须写明 {by} / each entry names its {by}")
        key = (by, entry[by])
        match = entry.get("match") or {}
        if not isinstance(match, dict):
            raise PolicyError(f"{where}: match: 应为该项字段的映射 / "
                              f"a mapping of the entry's fields")
        found = [i for i, b in enumerate(out) if isinstance(b, dict) and b.get(by) == key[1]
                 and all(b.get(f) == v for f, v in match.items())]
        body = {k: v for k, v in entry.items() if k not in ("match", "removed")}
        if len(found) > 1:
            raise PolicyError(f"{where}: {key[0]} {key[1]} 在原文件中对应{len(found)}项，"
                              "请用 match 指明哪一项（如 match: {kinds: [inpatient]}）")
        if entry.get("removed"):
            if not found:
                raise PolicyError(f"{where}: {key[0]} {key[1]}: 原文件中没有此项，无从删除")
            del out[found[0]]
        elif found:
            out[found[0]] = merge(out[found[0]], body, f"{where}[{key[1]}]")
        elif match:
            raise PolicyError(f"{where}: {key[0]} {key[1]}: 原文件中没有符合 match 的项")
        else:
            out.append(body)
    return out


def _when(value: Any) -> Any:
    return (value.get("year"), value.get("from")) if isinstance(value, dict) else None


def _merge_values(base: list[Any], change: list[Any], where: str) -> list[Any]:
    """A parameter's dated values: by year or from date, the amendment's winning."""
    out = {_when(v): v for v in base}
    for v in change:
        if _when(v) is None or _when(v) == (None, None):
            raise PolicyError(f"{where}: 每个取值须写明 year 或 from 日期 / "
                              f"a value needs its year or from date")
        out[_when(v)] = v
    return list(out.values())
