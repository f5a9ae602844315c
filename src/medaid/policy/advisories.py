"""What a policy file says that runs, but likely not as its author meant: `medaid policy
validate` warns of each at its YAML line and still accepts the file."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from medaid.core import labels
from medaid.policy import model, references
from medaid.policy import schema as s
from medaid.policy.schema_errors import Step, dotted
from medaid.policy.yaml_lines import parse_path

Found = list[tuple[list[Step], str]]  # (YAML path, message) of each


def advisories(policy: model.Policy) -> Found:
    """(YAML path, message) of each construct whose effect is probably not the intended."""
    checks = (_grants_without_deductible, _needless_until, _zero_caps, _hidden_dated_values,
              _by_category, _inert_stages, _low_raised_caps, _void_fallbacks,
              _shadowed_tilts, _too_many_conditions, _inert_refusals, _unused_pools,
              _shadowed_pool_amounts, _lookback_fallback_kinds)
    return [found for check in checks for found in check(policy)]


def _said(steps: list[Step], message: str) -> tuple[list[Step], str]:
    return steps, f"{dotted(steps)}: {message}"


def _grants_without_deductible(policy: model.Policy) -> Found:
    return [_said(["stages", i, "grant"], "一次性补助未写 deductible（须超过的金额），凡有个人"
                  "负担即全额发放 / a grant without a deductible is paid in full once anything "
                  "is borne")
            for i, stage in enumerate(policy.spec.stages)
            if stage.grant is not None and not stage.deductible
            and not any(e.deductible for e in stage.by_category)]


def _needless_until(policy: model.Policy) -> Found:
    return [_said(["windows", "lookback", i, "until"], "until: from 只在 before: application "
                  "时起作用（申请至认定期间），此处与默认相同 / until: from only matters with "
                  "before: application")
            for i, lb in enumerate(policy.spec.windows.lookback)
            if lb.until == "from" and lb.before == "from"]


def _zero_caps(policy: model.Policy) -> Found:
    return [_said([*parse_path(where), "amount"], "限额为 0，使用该限额的救助永不支付 / a cap "
                  "of 0 lets nothing be paid")
            for where, cap in references.caps_of(policy.spec) if cap.amount == 0]


def _low_raised_caps(policy: model.Policy) -> Found:
    return [_said([*parse_path(where), "raised", "amount"], f"提高后的限额 {cap.raised.amount} "
                  f"不高于原限额 {cap.amount} / the raised cap is not above the cap")
            for where, cap in references.caps_of(policy.spec)
            if cap.raised and isinstance(cap.raised.amount, Decimal)
            and isinstance(cap.amount, Decimal) and cap.raised.amount <= cap.amount]


def _hidden_dated_values(policy: model.Policy) -> Found:
    out: Found = []
    for name, param in policy.spec.parameters.items():
        years = {v.year for v in param.values if v.year is not None}
        out += [_said(["parameters", name, "values", k, "from"], f"{v.since.year} 年另有按年度"
                      f"（year）给出的取值，该年的就诊都取年度值，{v.since} 起的取值在该年不适用"
                      " / the year's own value hides this one in its year")
                for k, v in enumerate(param.values)
                if v.since is not None and v.since.year in years]
    return out


def _by_category(policy: model.Policy) -> Found:
    """A by_category entry for a category its construct never takes, or one an earlier
    entry already gives (the first listing a category gives its values)."""
    spec = policy.spec
    owners: list[tuple[list[Step], list[str] | Literal["*"], list[Any]]] = [
        (["stages", i], st.categories, st.by_category) for i, st in enumerate(spec.stages)]
    if spec.tilted is not None:
        owners.append((["tilted"], spec.tilted.categories, spec.tilted.by_category))
    out: Found = []
    for where, covered, entries in owners:
        earlier: list[str] = []
        for j, entry in enumerate(entries):
            for k, cat in enumerate(entry.categories):
                steps = [*where, "by_category", j, "categories", k]
                if cat in earlier:
                    out.append(_said(steps, f"「{cat}」已列于前面的 by_category 条目，此处的取值"
                                            "对它不适用 / an earlier entry already gives its "
                                            "values"))
                elif covered != "*" and cat not in covered:
                    out.append(_said(steps, f"「{cat}」不在所属条目的 categories"
                                            f"（{', '.join(covered)}）中，这组取值对它不适用 / "
                                            f"{cat!r} is not among the categories it belongs to"))
            earlier += entry.categories
    return out


def _inert_stages(policy: model.Policy) -> Found:
    """A deductible on a ceiling, a grant of 0, a year-end stage's per-visit pool."""
    out: Found = []
    for i, stage in enumerate(policy.spec.stages):
        if stage.ceiling is not None and stage.deductible:
            out.append(_said(["stages", i, "deductible"], "个人负担封顶（ceiling）不用起付标准，"
                             "超过封顶线的部分即支付；此 deductible 不起作用 / a ceiling stage "
                             "reads no deductible"))
        grants: list[tuple[list[Step], object]] = [(["stages", i], stage.grant)]
        grants += [(["stages", i, "by_category", j], e.grant)
                   for j, e in enumerate(stage.by_category)]
        out += [_said([*at, "grant"], "一次性补助金额为 0，不会支付 / a grant of 0 pays nothing")
                for at, grant in grants if isinstance(grant, Decimal) and not grant]
        name = stage.pool or stage.rule
        pool = (policy.spec.pools or {}).get(name)
        if stage.when == "year_end" and pool is not None and pool.period == "visit":
            out.append(_said(["stages", i, "pool"], f"年终阶段每人每年结算一次，不读其累计池"
                             f"「{name}」的按次累计（period: visit） / a year-end stage pays once "
                             "a year: its pool's period does not apply"))
    return out


def _void_fallbacks(policy: model.Policy) -> Found:
    """A written kind_fallback entry for a kind a regular line names (exclusive and
    alternative lines match the visit's own kind): that line never pays."""
    out: Found = []
    for kind, setting in policy.spec.kind_fallback.items():
        named = [ln.rule for ln in policy.spec.lines if ln.kinds != "*" and kind in ln.kinds
                 and not (ln.exclusive or ln.alternative)]
        if named:
            own, other = labels.label(labels.KINDS, kind), labels.label(labels.KINDS, setting)
            out.append(_said(["kind_fallback", kind], f"救助标准 {'、'.join(dict.fromkeys(named))}"
                             f" 单列了{own}，但此项把所有{own}按{other}结算，这些标准永不支付；只对"
                             "部分身份按其他标准执行的，请把该就诊类别加到那些身份的标准中 / lines "
                             "name this kind, but the fallback settles all its visits as "
                             "another: they never pay"))
    return out


def _lookback_fallback_kinds(policy: model.Policy) -> Found:
    """A look-back's kind that `kind_fallback` settles as another: a look-back reads the
    setting, so it never meets the kind (except on an exclusive line's visits)."""
    fallback = policy.spec.kind_fallback
    out: Found = []
    for i, lb in enumerate(policy.spec.windows.lookback):
        for k, kind in enumerate([] if lb.kinds == "*" else lb.kinds):
            if kind in fallback:
                own = labels.label(labels.KINDS, kind)
                other = labels.label(labels.KINDS, fallback[kind])
                out.append(_said(["windows", "lookback", i, "kinds", k], (
                    f"{own}按{other}结算（kind_fallback），回溯期按结算类别匹配，此项不会覆盖"
                    f"任何就诊；请写{other} / the fallback settles this kind as another, which "
                    "is what a look-back matches")))
    return out


def _too_many_conditions(policy: model.Policy) -> Found:
    n = len(model.selection_conditions(policy.spec))
    if n <= model.MAX_SELECTION_CONDITIONS:
        return []
    return [_said(["lines"], f"排他或替代救助标准上的条件有 {n} 种，超过批量结算（medaid simulate）"
                  f"能编译的 {model.MAX_SELECTION_CONDITIONS} 种；逐人结算不受影响 / more "
                  "distinct conditions on exclusive or alternative lines than the batch path "
                  "compiles")]


def _inert_refusals(policy: model.Policy) -> Found:
    return [found for i in range(len(policy.spec.refusals))
            for found in _inert_refusal(policy, i)]


def _unused_pools(policy: model.Policy) -> Found:
    used = {pool for _, pool in references.pools_used(policy.spec)} | {  # a year-end stage's may
        st.rule for st in policy.spec.stages}  # be listed, as a visit stage's must
    return [_said(["pools", name], f"累计池「{name}」已定义但没有救助标准、阶段或限额使用它"
                  "（是否拼错了使用处的名称？） / the pool is defined but never used")
            for name in policy.spec.pools or {} if name not in used]


def _shadowed_pool_amounts(policy: model.Policy) -> Found:
    """A pool's limit that every cap on it replaces with its own: a notice raising the
    pool's amount while the lines keep theirs raises nothing."""
    caps = references.caps_of(policy.spec)
    out = []
    for name, pool in (policy.spec.pools or {}).items():
        on = [(where, c) for where, c in caps if c.pool == name]
        if pool.amount is not None and on and all(c.amount != pool.amount for _, c in on):
            out.append(_said(["pools", name, "amount"], (
                f"各处限额（{'、'.join(where for where, _ in on)}）都写了自己的 amount，"
                "累计池的限额不起作用（caps 中的 amount 优先）；要改限额，请改各处 caps 的 "
                "amount，或删去它们、只在此处写一次 / every cap on the pool gives its own "
                "amount: this one applies nowhere")))
    return out


def _inert_refusal(policy: model.Policy, i: int) -> list[tuple[list[Step], str]]:
    """A refusal of a kind it names (not `*`, the fallback for what no line covers) whose
    every category a line covers for every visit of that kind never applies: the lines
    pay."""
    r = policy.spec.refusals[i]
    if r.kinds == "*":
        return []
    named = list(policy.categories) if r.categories == "*" else r.categories
    plain = [ln for ln in policy.spec.lines if not (
        ln.flags or ln.disability_grades is not None or ln.exclusive or ln.alternative
        or s.conditional(ln))]
    out: list[tuple[list[Step], str]] = []
    for k, kind in enumerate(r.kinds):
        paying = {c: ln.rule for ln in plain if ln.kinds == "*" or kind in ln.kinds
                  for c in named if ln.categories == "*" or c in ln.categories}
        if len(paying) == len(named):
            steps: list[Step] = ["refusals", i, "kinds", k]
            rules = "、".join(dict.fromkeys(paying.values()))
            cats = "、".join(policy.label(c) for c in named)
            out.append((steps, f"{dotted(steps)}: 救助标准 {rules} 已对{cats}的"
                               f"{labels.label(labels.KINDS, kind)}费用予以救助，此不予救助的"
                               "规定不会适用（请从该标准的 kinds 或 categories 中去掉它） / "
                               "a line assists what the refusal refuses: it never applies"))
    return out


def _shadowed_tilts(policy: model.Policy) -> list[tuple[list[Step], str]]:
    """A critical-illness tilt entry for a category an earlier entry already takes: the
    first listing a person's category applies, so it never does."""
    tilts = policy.spec.critical_illness_tilt
    if not isinstance(tilts, list):
        return []
    out: list[tuple[list[Step], str]] = []
    seen: set[str] = set()
    for i, t in enumerate(tilts):
        named = list(policy.categories) if t.categories == "*" else t.categories
        for k, c in enumerate(named):
            if c in seen:
                steps: list[Step] = ["critical_illness_tilt", i]
                if t.categories != "*":
                    steps += ["categories", k]
                out.append((steps, f"{dotted(steps)}: {policy.label(c)}已由前面的大病保险倾斜"
                                   "条目适用，此条对其不适用 / an earlier entry already takes "
                                   "this category"))
                break
        seen.update(named)
    return out
