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
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from medaid.core.errors import PolicyError
from medaid.policy import model, schema_errors
from medaid.policy import schema as s
from medaid.policy.schema_errors import Step
from medaid.policy.yaml_lines import line_of, parse_path

AMENDS = "amends"
NOTICE = "notice"  # the amending notice, whose articles the entries it gives cite
CITED_ENTRIES = ("lines", "refusals", "stages")  # keyed sections whose entries cite articles
# the sections that are one cited mapping (or a list of them), and their lists of entries
# that cite their own articles (a `by_category` value without one cites in its owner's)
CITED_MAPPINGS = ("highest", "windows", "referral", "critical_illness_tilt", "tilted",
                  "premium_subsidy")
CITED_LISTS = ("grace", "lookback", "by_category")
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
    (None: shipped policies only) or a shipped policy. An error names the amendment's line
    where the amendment gives the entry at fault."""
    data = model.yaml_mapping(text, path, "policy")
    if AMENDS not in data:
        return model.parse_policy(text, path)
    base = resolved_base(data, path, folder, (path,))
    try:
        merged: dict[str, Any] = _merged(base, data)
    except PolicyError as e:
        where = str(e).partition(": ")[0].removeprefix(AMENDS + ".")
        raise PolicyError(model.located(path, text, parse_path(where), str(e))) from None
    try:
        spec = s.PolicyFile.model_validate(merged)
    except ValidationError as e:
        steps, message = schema_errors.describe(e.errors(), merged)
        missing = [str(x["loc"][-1]) for x in e.errors() if x["type"] == "missing"
                   and tuple(x["loc"][:2]) == tuple(steps[:2])]
        added = _added(base, merged, steps, missing)
        if added is not None:
            message = added
        raise PolicyError(_at(text, path, data, merged, steps, message)) from None
    since = base.get("in_force")
    if isinstance(since, date) and spec.in_force < since:  # it would be replaced at once
        raise PolicyError(_at(text, path, data, merged, ["in_force"], (
            f"in_force: {spec.in_force} 早于所修订的版本（{data[AMENDS]}，{since} 起施行），"
            "该版本施行后它即被取代，其修改从不适用；追溯施行的修订应修订更早的版本，再由后一版"
            f"修订它 / in force before the version it amends ({since}): it would never apply; "
            "amend the earlier version, and the later one amends it")))
    try:
        return model.compile_policy(spec, str(path))
    except PolicyError as e:
        where = str(e).partition(": ")[0]
        raise PolicyError(_at(text, path, data, merged, parse_path(where), str(e))) from None


def _merged(base: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The base with the amendment's changes. Where the amendment replaces the policy's own
    text while values pinned to the old one (`_pinned`) still cite it, the old text is
    listed among the texts the policy cites (`notices`), its articles still read there."""
    merged: dict[str, Any] = merge(base, _change(data, base), AMENDS)
    old = base.get("document")
    if not isinstance(old, dict) or merged.get("document") == old:
        return merged
    owners = [merged.get("tilted"), *(merged.get("stages") or [])]
    pinned = any(isinstance(v, dict) and v.get("document") == old.get("file")
                 for owner in owners if isinstance(owner, dict)
                 for v in owner.get("by_category") or [])
    if pinned and old not in (merged.get("notices") or []):
        merged["notices"] = [old, *(merged.get("notices") or [])]
    return merged


def _change(data: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """What the amendment changes; with a `notice` (the amending notice, {file, title}),
    the entries it gives cite that notice's articles, and the notice joins the policy's
    `notices`."""
    change = {k: v for k, v in data.items() if k not in (AMENDS, NOTICE)}
    notice = data.get(NOTICE)
    if notice is None:
        return change
    if not isinstance(notice, dict) or not all(isinstance(notice.get(k), str) and notice[k]
                                               for k in ("file", "title")):
        raise PolicyError(f"{AMENDS}.{NOTICE}: 应为修订通知的文本文件和标题 {{file, title}} / "
                          "the amending notice's text file and title {file, title}")
    own = (base.get("document") or {}).get("file")  # the base policy's own text
    for key, value in change.items():
        if key in KEYED and key in CITED_ENTRIES and isinstance(value, list):
            befores = {b.get(KEYED[key]): b for b in base.get(key) or [] if isinstance(b, dict)}
            change[key] = [_pinned(_noticed(e, notice["file"], f"{AMENDS}.{key}[{j}]"),
                                   befores.get(e.get(KEYED[key])) if isinstance(e, dict)
                                   else None, own)
                           for j, e in enumerate(value)]
        elif key in CITED_MAPPINGS:
            change[key] = _pinned(_cites_notice(value, notice["file"]), base.get(key), own)
        elif key == "pools" and isinstance(value, dict):  # a limit the notice sets
            change[key] = {name: _noticed_pool(p, (base.get(key) or {}).get(name),
                                               notice["file"], f"{key}.{name}")
                           for name, p in value.items()}
    change["notices"] = [*(base.get("notices") or []), notice]
    return change


def _pinned(entry: Any, before: Any, own: str | None) -> Any:
    """An entry the notice now cites, keeping the `by_category` values of the base's
    entry: their articles stay in the text the base's entry cited (its `document`, or the
    base policy's own)."""
    if not isinstance(entry, dict) or not isinstance(before, dict) or "by_category" in entry \
            or not isinstance(before.get("by_category"), list) \
            or entry.get("document") == before.get("document"):
        return entry
    text = before.get("document") or own
    return {**entry, "by_category": [
        {**v, "document": v.get("document", text)}
        if isinstance(v, dict) and v.get("article") else v for v in before["by_category"]]}


def _cites_notice(value: Any, file: str) -> Any:
    """A cited mapping or entry as the amendment writes it (or a list of them), and the
    entries of its own lists that cite articles (a 渐退期, a look-back, a category's values):
    each that gives an `article` cites the notice's; what the amendment leaves out keeps
    the base's."""
    if isinstance(value, list):
        return [_cites_notice(v, file) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _cites_notice(v, file) if k in CITED_LISTS and isinstance(v, list) else v
           for k, v in value.items()}
    return {**out, "document": out.get("document", file)} if "article" in out else out


def _noticed_pool(pool: Any, before: Any, file: str, where: str) -> Any:
    """A pool the notice changes cites the notice's article where it gives one; a limit
    the base cites an article for must be given the notice's (else it would go on citing
    the base's article for the new amount)."""
    if not isinstance(pool, dict):
        return pool
    if "article" not in pool:
        if isinstance(before, dict) and before.get("article") and "amount" in pool:
            raise PolicyError(f"{where}.article: 依修订通知修改的限额须写明其在通知中的条款"
                              "（article），否则仍引用原文件的条款 / a limit the notice changes "
                              "gives the notice's article")
        return pool
    return {**pool, "document": pool.get("document", file)}


def _noticed(entry: Any, file: str, where: str) -> Any:
    """An entry the amending notice gives, citing the notice: its `article` is the
    notice's, and must be given (else it would go on citing the base's article) — unless
    it changes only some categories' values, each giving the notice's article."""
    if not isinstance(entry, dict) or entry.get("removed"):
        return entry
    values = entry.get("by_category")
    if "article" not in entry and isinstance(values, list) and values and set(entry) <= {
            KEYED["stages"], "by_category"} and all(
            isinstance(v, dict) and v.get("article") for v in values):
        return _cites_notice(entry, file)  # the stage keeps its own article and text
    if "article" not in entry:
        raise PolicyError(f"{where}: 依修订通知修改的条目须写明其在通知中的条款（article），否则仍"
                          "引用原文件的条款 / an entry the notice changes gives the notice's "
                          "article")
    return _cites_notice(entry, file)  # its by_category values that give an article too


def resolve(data: dict[str, Any], path: str, folder: Path | None,
            seen: tuple[str, ...]) -> dict[str, Any]:
    """The whole policy mapping an amendment stands for (its base may itself amend)."""
    base = resolved_base(data, path, folder, seen)
    merged: dict[str, Any] = _merged(base, data)
    return merged


def resolved_base(data: dict[str, Any], path: str, folder: Path | None,
                  seen: tuple[str, ...]) -> dict[str, Any]:
    """The whole policy mapping an amendment's base stands for."""
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
    return base


# what an entry of each keyed section is, for an entry the base lacks
ENTRY_WORDS = {"lines": ("救助标准", "line"), "refusals": ("不予救助条目", "refusal"),
               "stages": ("阶段", "stage"), "categories": ("救助对象身份", "category"),
               "statuses": ("人员状态", "status"), "indicators": ("指标", "indicator")}


def _added(base: dict[str, Any], merged: dict[str, Any], steps: Sequence[Step],
           missing: Sequence[str]) -> str | None:
    """For required keys `missing` in an entry the amendment adds (its rule id or id is not
    the base's: most often a misspelt one), what to say of it; else None."""
    entry = _entry(merged, steps)
    if entry is None or not missing:
        return None
    section = str(steps[0])
    key = entry.get(KEYED[section])
    known = [str(b.get(KEYED[section])) for b in base.get(section) or [] if isinstance(b, dict)]
    if key in known:
        return None
    zh, en = ENTRY_WORDS[section]
    ids = list(dict.fromkeys(known))
    keys = "、".join(f"「{k}」" for k in dict.fromkeys(missing))
    return (f"{schema_errors.dotted(steps[:2])}: {key} 不是所修订版本的{zh}（已有："
            f"{'、'.join(ids) or '无'}）；若是新增的{zh}，还缺少必填的键{keys} / {key} is not a "
            f"{en} of the base version (known: {', '.join(ids) or 'none'})")


def _entry(merged: dict[str, Any], steps: Sequence[Step]) -> dict[str, Any] | None:
    """The entry of a keyed section (`lines`, `categories`…) that `steps` lead into."""
    if len(steps) < 2 or steps[0] not in KEYED or not isinstance(steps[1], int):
        return None
    entries = merged.get(str(steps[0]))
    if not isinstance(entries, list) or not 0 <= steps[1] < len(entries):
        return None
    entry = entries[steps[1]]
    return entry if isinstance(entry, dict) else None


def change_steps(data: dict[str, Any], merged: dict[str, Any], steps: Sequence[Step]
                 ) -> list[Step] | None:
    """Where in the amendment `data` the path `steps` of the merged policy lies: an entry
    of a keyed section by its rule id or id, a key the amendment gives as it is; None where
    the amendment does not give it (the base does)."""
    notices = merged.get("notices") or []
    if len(steps) > 1 and steps[0] == "notices" and NOTICE in data \
            and steps[1] == len(notices) - 1:  # the amendment's own notice
        return [NOTICE, *steps[2:]]
    if not steps or steps[0] not in data:
        return None
    entry = _entry(merged, steps)
    if entry is None:
        return list(steps)
    section = str(steps[0])
    by = KEYED[section]
    given = data.get(section)
    for j, e in enumerate(given if isinstance(given, list) else []):
        if isinstance(e, dict) and e.get(by) == entry.get(by):
            return [section, j, *steps[2:]]
    return None


def _at(text: str, path: str, data: dict[str, Any], merged: dict[str, Any],
        steps: Sequence[Step], message: str) -> str:
    """`path:line: message` at the amendment's line for `steps`, or, where the base gives
    what is at fault, `path (amending BASE): message`."""
    mine = change_steps(data, merged, steps)
    line = line_of(text, mine) if mine is not None else None
    if line is None:
        return f"{path}（修订 {data[AMENDS]}）: {message}"
    return f"{path}:{line}: {message}"


def located(path: str | Path, steps: Sequence[Step], message: str) -> str:
    """`file:line: message` for a problem at `steps` of the policy the file `path` stands
    for (a policy file, or an amendment: the line of what it gives)."""
    text = model.read_file(path)
    data = model.yaml_mapping(text, str(path), "policy")
    if AMENDS not in data:
        return model.located(str(path), text, list(steps), message)
    merged = resolve(data, str(path), Path(path).parent, (str(path),))
    return _at(text, str(path), data, merged, steps, message)


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
    for j, entry in enumerate(change):
        here = f"{where}[{j}]"
        if not isinstance(entry, dict) or by not in entry:
            raise PolicyError(f"{here}: 每一项须写明 {by} / each entry names its {by}")
        key = (by, entry[by])
        match = entry.get("match") or {}
        if not isinstance(match, dict):
            raise PolicyError(f"{here}: match: 应为该项字段的映射 / "
                              f"a mapping of the entry's fields")
        found = [i for i, b in enumerate(out) if isinstance(b, dict) and b.get(by) == key[1]
                 and all(b.get(f) == v for f, v in match.items())]
        body = {k: v for k, v in entry.items() if k not in ("match", "removed")}
        if len(found) > 1:
            raise PolicyError(f"{here}: {key[0]} {key[1]} 在原文件中对应{len(found)}项，"
                              "请用 match 指明哪一项（如 match: {kinds: [inpatient]}） / "
                              f"{len(found)} entries have {key[0]} {key[1]}: say which with match")
        if entry.get("removed"):
            if not found:
                raise PolicyError(f"{here}: {key[0]} {key[1]}: 原文件中没有此项，无从删除 / "
                                  "the base has no such entry to remove")
            del out[found[0]]
        elif found:
            out[found[0]] = merge(out[found[0]], body, f"{where}[{key[1]}]")
        elif match:
            raise PolicyError(f"{here}: {key[0]} {key[1]}: 原文件中没有符合 match 的项 / "
                              "no entry of the base matches")
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
