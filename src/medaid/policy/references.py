"""What a policy file names, checked across the file: every category, status, pool,
parameter, rule and notice it refers to exists, and each is used as it may be — what the
schema alone cannot see. `compile_policy` runs `check` before it compiles a file; the
warnings of what settles as written but does nothing are `policy.advisories`."""

from __future__ import annotations

import difflib

from pydantic import BaseModel

from medaid.core import labels
from medaid.core.errors import InputError, PolicyError
from medaid.policy import schema as s
from medaid.policy import schema_errors
from medaid.policy.schema_errors import Step
from medaid.policy.structured import PARSERS

# the engine's own running figures (`_hifp_paid`…) beside a file's pools
INTERNAL_POOL_PREFIX = "_"


def cited(spec: s.PolicyFile) -> list[tuple[list[Step], str, str | None]]:
    """Every article the file cites, with the YAML path of its `article` key and the text
    it is in (None: the document; else a notice's file), in the file's order (a
    framework's floors cite theirs under `framework.article`)."""
    out: list[tuple[list[Step], str, str | None]] = []

    def walk(node: object, steps: list[Step], document: str | None) -> None:
        if isinstance(node, BaseModel):  # an entry's `by_category` values cite in its text
            fields = type(node).model_fields
            if isinstance(node, s.Cited | s.Pool):
                document = node.document
            elif isinstance(node, s.TiltedValues | s.StageValues):  # its owner's unless named
                document = node.document or document
            for key, f in fields.items():
                value = getattr(node, key)
                if key == "article" and isinstance(value, str):
                    out.append(([*steps, key], value, document))
                else:
                    walk(value, [*steps, f.alias or key], document)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, [*steps, i], document)
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*steps, str(key)], document)

    walk(spec, [], None)
    if spec.framework.get("article"):
        out.append((["framework", "article"], spec.framework["article"], None))
    return out


def ci_tilts(spec: s.PolicyFile) -> list[s.CriticalIllnessTilt]:
    """The critical-illness tilts, in the order they are tried (none, one, or a list)."""
    tilt = spec.critical_illness_tilt
    return [] if tilt is None else tilt if isinstance(tilt, list) else [tilt]


def check(spec: s.PolicyFile) -> None:
    """Refuse a file whose references the schema alone cannot see are wrong."""
    known = {c.id for c in spec.categories}
    if len(known) != len(spec.categories):
        raise PolicyError("categories: 救助对象身份 id 重复 / duplicate category id")
    params = spec.parameters
    notices = [n.file for n in spec.notices]
    for steps, _, document in cited(spec):
        if document is not None and document not in notices \
                and document != spec.document.file:  # an amendment names the base's too
            where = schema_errors.dotted([*steps[:-1], "document"])
            raise PolicyError(f"{where}: 「{document}」不是本文件所列的修订通知（notices："
                              f"{'、'.join(notices) or '无'}） / not one of the notices")

    def cats(where: str, values: list[str] | str, key: str = "categories") -> None:
        if values != "*":
            for k, c in enumerate(values):
                if c not in known:
                    ids = ", ".join(c.id for c in spec.categories)
                    raise PolicyError(f"{where}.{key}[{k}]: 未列于 categories 的身份「{c}」"
                                      f"（已列：{ids}） / unknown category {c!r}")

    def refs(where: str, node: object) -> None:
        if isinstance(node, s.ParamRef):
            if node.param not in params:
                raise PolicyError(f"{where}: 参数「{node.param}」未在 parameters 中声明 / "
                                  f"parameter {node.param!r} is not declared")
            key = where.rsplit(".", 1)[-1]
            wanted = "ratio" if key in _RATIO_KEYS else "money" if key in _MONEY_KEYS else None
            given = params[node.param].type
            if wanted and given in _PARAM_TYPES and given != wanted:
                raise PolicyError(f"{where}: 参数「{node.param}」是{_PARAM_TYPES[given]}，此处须为"
                                  f"{_PARAM_TYPES[wanted]} / parameter {node.param!r} is a "
                                  f"{given}, not a {wanted}")
        elif isinstance(node, s.Strict):
            for key in type(node).model_fields:
                refs(f"{where}.{key}", getattr(node, key))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                refs(f"{where}[{i}]", item)

    for i, line in enumerate(spec.lines):
        where = f"lines[{i}] ({line.rule})"
        cats(where, line.categories)
        refs(where, line)
        for pool in [line.pool or ""] + [c.pool for c in line.caps]:
            if pool.startswith(INTERNAL_POOL_PREFIX):
                raise PolicyError(f"{where}: 累计池名称不得以「_」开头 / "
                                  "pool names may not start with '_'")
    for i, grace in enumerate(spec.windows.grace):  # 渐退期
        cats(f"windows.grace[{i}]", grace.categories)
        refs(f"windows.grace[{i}]", grace)
    for i, r in enumerate(spec.refusals):
        cats(f"refusals[{i}]", r.categories)
    rule_ids = {ln.rule for ln in spec.lines}
    for i, lb in enumerate(spec.windows.lookback):
        cats(f"windows.lookback[{i}]", lb.categories)
        for rule in lb.rules or []:
            if rule not in rule_ids:
                raise PolicyError(f"windows.lookback[{i}].rules: 没有规则编号为「{rule}」的救助标准"
                                  f" / no line has rule {rule!r}")
        refs(f"windows.lookback[{i}]", lb)
    for i, tilt in enumerate(ci_tilts(spec)):
        where = "critical_illness_tilt" + (f"[{i}]" if isinstance(spec.critical_illness_tilt,
                                                                  list) else "")
        cats(where, tilt.categories)
    if spec.tilted:
        refs("tilted", spec.tilted)
        cats("tilted", spec.tilted.categories)
        for j, entry in enumerate(spec.tilted.by_category):
            cats(f"tilted.by_category[{j}]", entry.categories)
        _check_tilted_kinds(spec)
    statuses = [st.id for st in spec.statuses]
    if len(set(statuses)) != len(statuses):
        raise PolicyError("statuses: 人员状态 id 重复 / duplicate status id")

    def conds(where: str, c: s.Conditions) -> None:
        for key in ("statuses", "not_statuses"):
            for k, st in enumerate(getattr(c, key)):
                if st not in statuses:
                    raise PolicyError(f"{where}.{key}[{k}]: 未在 statuses 中声明的人员状态「{st}」"
                                      f"（已声明：{', '.join(statuses) or '无'}） / "
                                      f"unknown status {st!r}")

    for i, line in enumerate(spec.lines):
        conds(f"lines[{i}]", line)
    for i, stage in enumerate(spec.stages):
        where = f"stages[{i}]"
        cats(where, stage.categories)
        for j, values in enumerate(stage.by_category):
            cats(f"{where}.by_category[{j}]", values.categories)
        refs(where, stage)
        conds(where, stage)
        _check_stage(spec, i)
        for pool in [stage.pool or ""] + [c.pool for c in stage.caps]:
            if pool.startswith(INTERNAL_POOL_PREFIX):
                raise PolicyError(f"{where}: 累计池名称不得以「_」开头 / "
                                  "pool names may not start with '_'")
    ids = used_by_ids(spec)
    for name, p in params.items():
        refs(f"parameters.{name}", p)
        for j, used in enumerate(p.used_by):
            if used not in ids:
                known_ids = "、".join(ids)
                raise PolicyError(f"parameters.{name}.used_by[{j}]: 没有规则编号或用途「{used}」"
                                  f"（可用：{known_ids}） / no rule or use {used!r}")
        if p.below is not None and p.below not in params:
            raise PolicyError(f"parameters.{name}.below: 参数「{p.below}」未在 parameters 中声明"
                              f" / parameter {p.below!r} is not declared")
    if spec.windows.month_end_categories is not None:
        cats("windows", spec.windows.month_end_categories, "month_end_categories")
    base_pools = {ln.pool or ln.rule for ln in spec.lines if ln.grant is None} | {
        st.pool or st.rule for st in spec.stages}
    for where, caps in [(f"lines[{i}] ({ln.rule})", ln.caps) for i, ln in enumerate(spec.lines)
                        ] + [(f"stages[{i}]", st.caps) for i, st in enumerate(spec.stages)]:
        for c in caps:
            if c.pool in base_pools:
                raise PolicyError(f"{where}: 累计池「{c.pool}」不能既是封顶池又是起付线/分段累计池"
                                  f" / pool {c.pool!r} is both a cap pool and a "
                                  "deductible/segment pool")
    for name, p in params.items():  # structured defaults are checked when the file loads
        for raw in [p.default, *(v.value for v in p.values)]:
            if isinstance(raw, dict):
                parse = PARSERS.get(p.type)
                if parse is None:
                    raise PolicyError(f"parameters.{name}: {p.type} 类参数不能写成键值映射 / "
                                      f"a {p.type} is not a mapping")
                try:
                    parse(raw, f"parameters.{name}")
                except InputError as e:
                    raise PolicyError(str(e)) from None
    for k, v in spec.kind_fallback.items():
        if k == v:
            raise PolicyError(f"kind_fallback.{k}: 不能回退到自身 / maps to itself")
    owners: dict[str, set[str]] = {}
    for where, cap in caps_of(spec):
        owner = where.rsplit(".caps[", 1)[0]
        if cap.pool in owners.setdefault(owner, set()):
            raise PolicyError(f"{where}.pool: 累计池「{cap.pool}」在同一 caps 中重复 / "
                              "the pool repeats within one caps list")
        owners[owner].add(cap.pool)
    if spec.pools is not None:
        for where, pool in pools_used(spec):
            if pool not in spec.pools:
                unnamed = "（未写 pool，以规则编号为累计池）" if where.endswith(".rule") else ""
                close = difflib.get_close_matches(pool, list(spec.pools), n=1, cutoff=0.75)
                if close and not unnamed:  # a misspelt name, not a rule id standing for one
                    unnamed = f"（是否应为「{close[0]}」？）"
                raise PolicyError(f"{where}: 累计池「{pool}」{unnamed}被使用但未在 pools 中定义"
                                  f"（已定义：{', '.join(spec.pools) or '无'}） / "
                                  f"pool {pool!r} is used but never defined under pools")
        for name in spec.pools:
            if name.startswith(INTERNAL_POOL_PREFIX):
                raise PolicyError(f"pools.{name}: 累计池名称不得以「_」开头 / "
                                  "pool names may not start with '_'")


# a stage's forms of payout, and the values by_category may give for each
_FORM_KEYS = {"segments": ("deductible", "segments"), "grant": ("deductible", "grant"),
              "ceiling": ("ceiling",)}
_FORM_NAMES = {"segments": "分段救助（segments）", "grant": "一次性补助（grant）",
               "ceiling": "个人负担封顶（ceiling）"}


def _check_stage(spec: s.PolicyFile, i: int) -> None:
    """What a stage may not say although each key is valid: a rule id another stage or a
    line has, a pool of a line or of tilted assistance, values its form of payout does not
    use."""
    stage, where = spec.stages[i], f"stages[{i}]"
    for j, other in enumerate(spec.stages[:i]):
        if other.rule == stage.rule:
            raise PolicyError(f"{where}.rule: 规则编号「{stage.rule}」与 stages[{j}] 重复；每个"
                              "阶段须有自己的编号（未写 pool 时编号即其累计池） / "
                              f"rule {stage.rule!r} repeats stages[{j}]")
    for j, line in enumerate(spec.lines):
        if line.rule == stage.rule:
            raise PolicyError(f"{where}.rule: 规则编号「{stage.rule}」已是 lines[{j}] 的编号；"
                              "阶段须有自己的编号 / a stage's rule id may not be a line's")
        # a visit stage's pool is its rule id unless it names one; a year-end one reads none
        own = stage.pool or (stage.rule if stage.when == "visit" else None)
        if own is not None and line.grant is None and (line.pool or line.rule) == own:
            key = "pool" if stage.pool else "rule"
            raise PolicyError(f"{where}.{key}: 累计池「{own}」是 lines[{j}]（{line.rule}）的"
                              "起付线/分段累计池；阶段累计其自身的基数，须用自己的池 / a stage "
                              "measures its own base: it may not share a line's pool")
    if spec.tilted is not None and (stage.pool or stage.rule) == spec.tilted.pool:
        key = "pool" if stage.pool else "rule"
        raise PolicyError(f"{where}.{key}: 累计池「{spec.tilted.pool}」是倾斜救助的累计池；"
                          "阶段须用自己的池 / a stage may not share "
                          "tilted assistance's pool")
    form = _form(stage)
    for j, entry in enumerate(stage.by_category):
        for key in ("deductible", "segments", "grant", "ceiling"):
            if getattr(entry, key) is not None and key not in _FORM_KEYS[form]:
                raise PolicyError(f"{where}.by_category[{j}].{key}: 该阶段为{_FORM_NAMES[form]}，"
                                  f"分身份取值不能给出「{key}」；可给："
                                  f"{'、'.join(_FORM_KEYS[form])}、caps / the stage pays by "
                                  f"{form}: {key} does not apply")


def _form(stage: s.Stage) -> str:
    return "segments" if stage.segments else "grant" if stage.grant is not None else "ceiling"


# what a parameter reference may stand for, by the key it is written at
_RATIO_KEYS = {"ratio", "share", "deductible_share"}
_MONEY_KEYS = {"amount", "over", "deductible", "grant"}
_PARAM_TYPES = {"money": "金额（money）", "ratio": "比例（ratio）"}


def _check_tilted_kinds(spec: s.PolicyFile) -> None:
    """Tilted assistance follows assistance (RULES §2): a visit no line covers gets none, so
    a kind `tilted.kinds` names that no line names would be silently never paid."""
    tilted = spec.tilted
    assert tilted is not None
    if tilted.kinds == "*" or any(ln.kinds == "*" for ln in spec.lines):
        return
    named = {k for ln in spec.lines if ln.kinds != "*" for k in ln.kinds}
    for k, kind in enumerate(tilted.kinds):
        if kind not in named:
            name = labels.label(labels.KINDS, kind)
            raise PolicyError(
                f"tilted.kinds[{k}]: 没有救助标准（lines）覆盖「{name}」，倾斜救助在医疗救助"
                f"之后，对这类就诊永不支付；如该类费用应计入，请为其写一条"
                f"救助标准（比例可为 0） / no line covers {kind!r}: tilted assistance follows "
                "assistance and would never pay for it")


# what a parameter is used by besides rules: the insurance a case leaves out and medaid
# computes (`basic_insurance`, `critical_illness`), and the early warnings (双预警)
USES = ("hifp_pay", "hifmi_pay", "monitoring")


def used_by_ids(spec: s.PolicyFile) -> list[str]:
    """What a parameter's `used_by` may name: every rule id the file carries (lines,
    windows, referral, tilts, stages, funds…) and the uses of `USES`."""
    found: list[str] = []

    def walk(node: object) -> None:
        rule = getattr(node, "rule", None)
        if isinstance(rule, str):
            found.append(rule)
        if isinstance(node, BaseModel):
            for key in type(node).model_fields:
                walk(getattr(node, key))
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(spec)
    return list(dict.fromkeys([*found, *USES]))


def caps_of(spec: s.PolicyFile) -> list[tuple[str, s.Cap]]:
    """Every cap the file writes, with where: (path, cap)."""
    owners: list[tuple[str, list[s.Cap] | None]] = [
        (f"lines[{i}]", ln.caps) for i, ln in enumerate(spec.lines)]
    for i, stage in enumerate(spec.stages):
        owners += [(f"stages[{i}]", stage.caps), *(
            (f"stages[{i}].by_category[{e}]", v.caps) for e, v in enumerate(stage.by_category))]
    if spec.tilted is not None:
        owners += [("tilted", spec.tilted.caps), *(
            (f"tilted.by_category[{e}]", v.caps) for e, v in enumerate(spec.tilted.by_category))]
    return [(f"{at}.caps[{k}]", c) for at, caps in owners for k, c in enumerate(caps or [])]


def pools_used(spec: s.PolicyFile) -> list[tuple[str, str]]:
    """Every pool the file names, with where: (path, pool); a line or a visit stage without
    `pool` uses its rule id."""
    out = [(f"lines[{i}].{'pool' if ln.pool else 'rule'}", ln.pool or ln.rule)
           for i, ln in enumerate(spec.lines) if ln.grant is None]
    out += [(f"stages[{i}].{'pool' if st.pool else 'rule'}", st.pool or st.rule)
            for i, st in enumerate(spec.stages)
            if st.when == "visit" or st.pool]  # a year-end stage measures the year at once
    if spec.tilted is not None:
        out.append(("tilted.pool", spec.tilted.pool))
    return out + [(f"{at}.pool", c.pool) for at, c in caps_of(spec)]
