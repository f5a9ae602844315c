"""Policies compiled for the engine: categories in tie order, lines with their match sets.

`load_policy` validates a YAML file against the schema and then across references
(`policy.references`: every category, pool and parameter a line names exists). Numbers
stay in the schema's exact Decimal form here; `policy.params` turns them into fen and
basis points for a year.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import ValidationError

from medaid.core.errors import PolicyError
from medaid.policy import articles, references, schema_errors
from medaid.policy import schema as s
from medaid.policy.yaml_lines import line_of, parse_path


@dataclass(frozen=True, slots=True)
class Line:
    """A rule line ready for matching; `spec` keeps its numbers (resolved per year)."""

    index: int
    rule: str
    source: str
    citation: str  # 南京市《宁政办发〔2023〕1号》（四）
    tier: str
    categories: frozenset[str] | None  # None: every category
    kinds: frozenset[str] | None  # None: every kind
    flags: frozenset[str]
    grades: frozenset[int] | None
    exclusive: bool
    alternative: bool
    pool: str
    base: s.Base  # its composition from the national amount fields
    spec: s.Line
    conditional: bool = False  # it names statuses or visit facts (s.Conditions)

    def matches_visit(self, kind: str, flags: frozenset[str], grade: int | None) -> bool:
        if self.kinds is not None and kind not in self.kinds:
            return False
        if not self.flags <= flags:
            return False
        return self.grades is None or grade in self.grades

    def covers(self, category: str) -> bool:
        return self.categories is None or category in self.categories


@dataclass(frozen=True, slots=True)
class Refusal:
    rule: str
    source: str
    citation: str
    categories: frozenset[str] | None
    kinds: frozenset[str] | None
    reason: str


@dataclass(frozen=True)
class Policy:
    spec: s.PolicyFile
    path: str
    categories: tuple[str, ...]  # tie order
    lines: tuple[Line, ...]
    exclusive_lines: tuple[Line, ...]
    alternative_lines: tuple[Line, ...]
    regular_lines: tuple[Line, ...]
    refusals: tuple[Refusal, ...]
    order: dict[str, int]  # category → tie order
    visit_pools: frozenset[str] = frozenset()  # pools that start from 0 at each visit

    @property
    def jurisdiction(self) -> str:
        return self.spec.jurisdiction

    @property
    def in_force(self) -> date:
        return self.spec.in_force

    def cite(self, article: str, document: str | None = None) -> str:
        return source(self.spec, article, document)

    def reference(self, article: str, document: str | None = None) -> str:
        return reference(self.spec, article, document)

    def cites(self, entry: CitedEntry) -> tuple[str, str]:
        """A rule of the file's article as a trace line's `source` and as people cite it."""
        return source(self.spec, entry.article, entry.document), \
            reference(self.spec, entry.article, entry.document)

    def reference_of(self, source: str) -> str:
        """A trace line's `source` ('file article') as people cite it."""
        for doc in (*self.spec.notices, self.spec.document):
            if source.startswith(doc.file):
                return reference(self.spec, source[len(doc.file):].strip(), doc.file)
        return reference(self.spec, source)

    @cached_property
    def pool_labels(self) -> dict[str, str]:
        """The labels the file gives its pools (`pools: {main_cap: {label: 年度救助限额}}`),
        each with the article that sets it where the pool names one (年度救助限额（第八条）)."""
        def cited(p: s.Pool) -> str:
            if p.article is None:
                return ""
            # a notice's article names the notice: the base document's is the line's
            return f"（{reference(self.spec, p.article, p.document) if p.document else p.article}）"
        return {name: (p.label or name) + cited(p)
                for name, p in (self.spec.pools or {}).items() if p.label or p.article}

    def refused(self, category: str, kind: str) -> bool:
        """Whether a refusal names the category and this kind of visit explicitly: such a
        visit is refused even where it would fall back to another setting's lines."""
        return any((r.categories is None or category in r.categories)
                   and r.kinds is not None and kind in r.kinds for r in self.refusals)

    def closes(self, category: str, kind: str, setting: str) -> bool:
        """Whether a refusal names the category for visits of this kind or of the setting it
        is settled as: where no line covers such a visit, no stage after assistance takes
        it either (a 再救助, a grant or a ceiling is medical assistance too)."""
        return self.closes_kind(category, kind) or self.closes_kind(category, setting)

    def closes_kind(self, category: str, kind: str) -> bool:
        """Whether a refusal names the category for this kind of visit (or for every kind)."""
        return any((r.categories is None or category in r.categories)
                   and (r.kinds is None or kind in r.kinds) for r in self.refusals)

    def label(self, category: str) -> str:
        for c in self.spec.categories:
            if c.id == category:
                return c.label
        return category

    def parameter(self, name: str) -> s.Parameter | None:
        return self.spec.parameters.get(name)

    def article_text(self, article: str, document: str | None = None) -> str:
        """An article of the policy's document (or of the notice `document`), found beside
        the policy file, in a deployment's folder or among the shipped seeds
        (articles.ArticleNotFound if not)."""
        return articles.article_text(document or self.spec.document.file, article,
                                     document_folders(self.path))


def document_folders(path: str) -> tuple[Path, ...]:
    """Where the document of the policy file at `path` is looked for before the shipped
    seeds: the policy file's own folder, then the folders of `MEDAID_POLICY_DIR`."""
    here = [Path(path).parent] if Path(path).is_file() else []
    local = [Path(d) for d in os.environ.get(POLICY_DIR_ENV, "").split(os.pathsep) if d]
    return tuple(dict.fromkeys([*here, *local]))


class CitedEntry(Protocol):
    """A rule of a policy file: its id, its article, the notice it is in (None: the
    policy's own document)."""

    @property
    def rule(self) -> str: ...
    @property
    def article(self) -> str: ...
    @property
    def document(self) -> str | None: ...


def source(spec: s.PolicyFile, article: str, document: str | None = None) -> str:
    """An article as a trace line's `source` gives it: the text's file, then the article
    (`document`: a notice's file; none: the policy's own document)."""
    return f"{document or spec.document.file} {article}"


def reference(spec: s.PolicyFile, article: str, document: str | None = None) -> str:
    """An article as people cite it: 南京市《宁政办发〔2023〕1号》（十六） (the document's
    number when its title starts with one, else the whole title); `document`: the file of
    one of the notices that amended it."""
    title = next((n.title for n in spec.notices if n.file == document), spec.document.title)
    number, _, rest = title.partition(" ")
    short = number if rest and number.endswith("号") else title
    return f"{spec.name}《{short}》{article}"


def _set(values: list[str] | list[s.Kind] | str) -> frozenset[str] | None:
    return None if values == "*" else frozenset(values)


# statuses held, statuses not held, locations, hospital levels, referrals
ConditionKey = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...] | None,
                     tuple[int, ...] | None, tuple[str, ...] | None]
# distinct conditions on exclusive or alternative lines: the batch path compiles the lines
# that settle a visit for each combination of them holding (2^n)
MAX_SELECTION_CONDITIONS = 6


def condition_key(c: s.Conditions) -> ConditionKey | None:
    """The conditions of a line or stage as a key (None: none set)."""
    if not s.conditional(c):
        return None
    return (tuple(c.statuses), tuple(c.not_statuses),
            None if c.locations is None else tuple(c.locations),
            None if c.hospital_levels is None else tuple(c.hospital_levels),
            None if c.referrals is None else tuple(c.referrals))


def selection_conditions(spec: s.PolicyFile) -> list[ConditionKey]:
    """The distinct conditions of the exclusive and alternative lines."""
    keys = (condition_key(ln) for ln in spec.lines if ln.exclusive or ln.alternative)
    return list(dict.fromkeys(k for k in keys if k is not None))


def tilted_entry(cfg: s.Tilted, category: str) -> int | None:
    """Which values of tilted assistance a category gets: 0 its own, k + 1 those of
    `by_category[k]` (the first listing the category), None: it assists not this category."""
    if cfg.categories != "*" and category not in cfg.categories:
        return None
    for k, entry in enumerate(cfg.by_category):
        if category in entry.categories:
            return k + 1
    return 0


def tilted_values(cfg: s.Tilted, entry: int
                  ) -> tuple[s.Amount, list[s.Segment], list[s.Cap]]:
    """The deductible, segments and caps of `tilted_entry`'s entry."""
    if entry == 0:
        return cfg.deductible, cfg.segments, cfg.caps
    v = cfg.by_category[entry - 1]
    return (cfg.deductible if v.deductible is None else v.deductible,
            cfg.segments if v.segments is None else v.segments,
            cfg.caps if v.caps is None else v.caps)


def stage_values(stage: s.Stage, entry: s.StageValues) -> s.Stage:
    """The stage with the values a `by_category` entry gives in place of its own."""
    given = entry.model_dump(exclude={"categories"}, exclude_none=True)
    return stage.model_copy(update={k: getattr(entry, k) for k in given})


def _base(ln: s.Line) -> s.Base:
    return s.BASES[ln.base] if isinstance(ln.base, str) else ln.base


def tilted_lookback(spec: s.PolicyFile) -> s.PolicyFile:
    """The file with `tilted.lookback_months` written out as the look-back it stands for:
    every category, that many months before recognition, for a person recognised in the
    visit's year who applied for tilted assistance in it, counted into the pools and not
    paid (YC-T, RULES §4.3)."""
    t = spec.tilted
    if t is None or not t.lookback_months:
        return spec
    lb = s.Lookback(rule=t.rule, article=t.article, categories=[c.id for c in spec.categories],
                    months=t.lookback_months, new_this_year=True, counts_only=True,
                    with_tilted_application=True)
    return spec.model_copy(update={
        "windows": spec.windows.model_copy(update={"lookback": [*spec.windows.lookback, lb]}),
        "tilted": t.model_copy(update={"lookback_months": 0})})


def compile_policy(spec: s.PolicyFile, path: str = "<memory>") -> Policy:
    references.check(spec)
    spec = tilted_lookback(spec)
    lines = tuple(
        Line(
            index=i,
            rule=ln.rule,
            source=source(spec, ln.article, ln.document),
            citation=reference(spec, ln.article, ln.document),
            tier=ln.tier,
            categories=_set(ln.categories),
            kinds=_set(ln.kinds),
            flags=frozenset(ln.flags),
            grades=frozenset(ln.disability_grades) if ln.disability_grades is not None else None,
            exclusive=ln.exclusive,
            alternative=ln.alternative,
            pool=ln.pool or ln.rule,
            base=_base(ln),
            spec=ln,
            conditional=s.conditional(ln),
        )
        for i, ln in enumerate(spec.lines)
    )
    refusals = tuple(
        Refusal(r.rule, source(spec, r.article, r.document),
                reference(spec, r.article, r.document),
                _set(r.categories), _set(r.kinds), r.reason)
        for r in spec.refusals
    )
    return Policy(
        spec=spec,
        path=path,
        categories=tuple(c.id for c in spec.categories),
        lines=lines,
        exclusive_lines=tuple(ln for ln in lines if ln.exclusive),
        alternative_lines=tuple(ln for ln in lines if ln.alternative),
        regular_lines=tuple(ln for ln in lines if not (ln.exclusive or ln.alternative)),
        refusals=refusals,
        order={c.id: i for i, c in enumerate(spec.categories)},
        visit_pools=frozenset(name for name, p in (spec.pools or {}).items()
                              if p.period == "visit"),
    )


def located(path: str, text: str, steps: list[str | int], message: str) -> str:
    """`file:line: message`, the line being where `steps` lead in the file."""
    line = line_of(text, steps)
    return f"{path}:{line}: {message}" if line is not None else f"{path}: {message}"


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, with an impossible date (2024-02-30) an error at its line
    rather than Python's ValueError, and a key written twice in one mapping an error at
    the second (YAML would keep the later value without a word)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False
                          ) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            # by value, as the mapping keeps them: 1, 1.0 and true are one key to Python
            same = key if isinstance(key, str | int | float | bool | date) or key is None \
                else object()
            if same in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"键「{key_node.value}」在同一层重复，后写的值会覆盖前一个 / "
                    f"the key {key_node.value!r} repeats in one mapping", key_node.start_mark)
            seen.add(same)
        return super().construct_mapping(node, deep)


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, f"「{node.value}」不是有效的日期 / not a valid date",
            node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


# what YAML's own words for the commonest slips of a hand-written file mean
YAML_PROBLEMS = (
    ("'\\t'", "缩进含有制表符（Tab），YAML 只能用空格缩进"),
    ("mapping values are not allowed",
     "此处不能写「键: 值」：多半是缩进不齐，或值里的冒号未加引号"),
    ("could not find expected ':'", "缺少「:」：键与值之间须有冒号和空格"),
    ("found duplicate anchor", "锚点重复"),
    ("expected <block end>", "缩进不齐：同一层的键须左对齐"),
)
# the Chinese of the kinds of file that must be a mapping
MAPPING_FILES = {"policy": ("政策文件", "jurisdiction: …、lines: … 等"),
                 "reform": ("政策调整方案文件", "title: …、policy: …、operations: … 等")}


def yaml_mapping(text: str, path: str, what: str,
                 error: type[PolicyError] = PolicyError) -> dict[str, Any]:
    """YAML text that must be a mapping (a policy or reform file), or `error` saying why."""
    try:
        data = yaml.load(text, Loader=_Loader)  # a safe loader
    except yaml.MarkedYAMLError as e:
        at = f"{path}:{e.problem_mark.line + 1}" if e.problem_mark else path
        meant = next((f"：{zh}" for words, zh in YAML_PROBLEMS if words in str(e.problem)), "")
        raise error(f"{at}: 不是有效的 YAML{meant} / not valid YAML: {e.problem}") from None
    except yaml.YAMLError as e:
        raise error(f"{path}: 不是有效的 YAML / not valid YAML: {e}") from None
    if not isinstance(data, dict):
        zh, keys = MAPPING_FILES.get(what, (what, "…"))
        raise error(f"{path}: {zh}应为键值映射（{keys}） / a {what} file is a mapping")
    return data


def read_file(path: str | Path, error: type[PolicyError] = PolicyError) -> str:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except OSError as e:
        raise error(f"{p}: 无法读取文件 / cannot read: {e.strerror}") from None


def parse_policy(text: str, path: str) -> Policy:
    """YAML text → a validated, compiled policy; PolicyError names what is wrong."""
    data = yaml_mapping(text, path, "policy")
    try:
        spec = s.PolicyFile.model_validate(data)
    except ValidationError as e:
        steps, message = schema_errors.describe(e.errors(), data)
        raise PolicyError(located(path, text, steps, message)) from None
    try:
        return compile_policy(spec, path)
    except PolicyError as e:
        where = str(e).partition(": ")[0]
        raise PolicyError(located(path, text, parse_path(where), str(e))) from None


def load_policy(path: str | Path) -> Policy:
    return parse_policy(read_file(path), str(path))


POLICY_DIR_ENV = "MEDAID_POLICY_DIR"  # a deployment's own policy files, beside the shipped


@cache
def shipped() -> tuple[Policy, ...]:
    """Every policy medaid knows, all jurisdictions and versions: the files that ship with
    it, then the `.yaml` files of the folders `MEDAID_POLICY_DIR` names (os.pathsep
    between them): a city's own file, settled by the service and every command as a
    shipped one is. A version may be an amendment of another (`policy.amend`); a local
    file may not repeat a version medaid already has."""
    from medaid.policy import amend  # it builds on this module

    root = resources.files("medaid") / "policies"
    found = [
        amend.parse(f.read_text(encoding="utf-8"), f"policies/{f.name}")
        for f in sorted(root.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".yaml")
    ]
    folders = [Path(d) for d in os.environ.get(POLICY_DIR_ENV, "").split(os.pathsep) if d]
    for folder in folders:
        if not folder.is_dir():
            raise PolicyError(f"{POLICY_DIR_ENV}={folder}: 不是目录 / not a folder")
    local = amend.load_all([f for d in folders for f in sorted(d.glob("*.yaml"))])
    seen = {(p.jurisdiction, p.spec.version): p.path for p in found}
    for p in local:
        other = seen.setdefault((p.jurisdiction, p.spec.version), p.path)
        if other != p.path:
            raise PolicyError(f"{p.path}: {p.jurisdiction} {p.spec.version} 已由 {other} 定义 "
                              f"/ {p.jurisdiction} {p.spec.version} is already {other}")
    return (*found, *local)


def versions(jurisdiction: str, extra: Iterable[Policy] = ()) -> list[Policy]:
    """The versions of one jurisdiction, oldest first."""
    found = [p for p in (*shipped(), *extra) if p.jurisdiction == jurisdiction]
    return sorted(found, key=lambda p: p.in_force)


def category_label(jurisdiction: str, category: str) -> str:
    """A category's Chinese label in the jurisdiction's latest version (its id where none
    says it)."""
    found = versions(jurisdiction)
    return found[-1].label(category) if found else category


def jurisdiction_name(jurisdiction: str) -> str:
    """A jurisdiction's Chinese name (南京市) in its latest version (its id where none)."""
    found = versions(jurisdiction)
    return found[-1].spec.name if found else jurisdiction


def jurisdictions() -> list[str]:
    return sorted({p.jurisdiction for p in shipped()})


def unknown_jurisdiction(name: object, extra: Iterable[Policy] = ()) -> str:
    """What a name with no policy is told: the ones there are, in Chinese first."""
    names = {p.jurisdiction: p.spec.name for p in (*shipped(), *extra)}
    known = sorted(names)
    offered = "、".join(f"{names[j]}（{j}）" for j in known)
    return (f"没有统筹区「{name}」的政策，可选：{offered} / unknown jurisdiction {name!r} "
            f"(one of: {', '.join(known)})")


def in_force(candidates: list[Policy], day: date) -> Policy | None:
    """The latest version in force on `day`, or None before the first."""
    chosen = None
    for p in candidates:
        if p.in_force <= day:
            chosen = p
    return chosen


def closing(candidates: list[Policy], year: int) -> Policy | None:
    """The version whose year-end stages settle `year`: the one in force on its 31
    December (年末按调整后的标准统一结算), whichever versions its visits fell under."""
    return in_force(candidates, date(year, 12, 31))
