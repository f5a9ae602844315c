"""What a policy file says that runs, but likely not as its author meant: `medaid policy
validate` warns of each at its YAML line and still accepts the file."""

from __future__ import annotations

from medaid.core import labels
from medaid.policy import model
from medaid.policy import schema as s
from medaid.policy.schema_errors import Step, dotted
from medaid.policy.yaml_lines import parse_path


def advisories(policy: model.Policy) -> list[tuple[list[Step], str]]:
    """(YAML path, message) of each construct whose effect is probably not the intended."""
    out: list[tuple[list[Step], str]] = []
    for i, stage in enumerate(policy.spec.stages):
        if stage.grant is not None and not stage.deductible \
                and not any(e.deductible for e in stage.by_category):
            steps: list[Step] = ["stages", i, "grant"]
            out.append((steps, f"{dotted(steps)}: 一次性补助未写 deductible（须超过的金额），"
                               "凡有个人负担即全额发放 / a grant without a deductible is paid "
                               "in full once anything is borne"))
    for i, lb in enumerate(policy.spec.windows.lookback):
        if lb.until == "from" and lb.before == "from":
            steps = ["windows", "lookback", i, "until"]
            out.append((steps, f"{dotted(steps)}: until: from 只在 before: application 时起作用"
                               "（申请至认定期间），此处与默认相同 / until: from only matters "
                               "with before: application"))
    for where, cap in model.caps_of(policy.spec):
        if cap.amount == 0:
            steps = [*parse_path(where), "amount"]
            out.append((steps, f"{dotted(steps)}: 限额为 0，使用该限额的救助永不支付 / a cap of "
                               "0 lets nothing be paid"))
    for name, param in policy.spec.parameters.items():
        years = {v.year for v in param.values if v.year is not None}
        for k, v in enumerate(param.values):
            if v.since is not None and v.since.year in years:
                steps = ["parameters", name, "values", k, "from"]
                out.append((steps, f"{dotted(steps)}: {v.since.year} 年另有按年度（year）给出的"
                                   f"取值，该年的就诊都取年度值，{v.since} 起的取值在该年不适用 / "
                                   "the year's own value hides this one in its year"))
    for where, said in model.inert(policy.spec):
        steps = parse_path(where)
        out.append((steps, f"{where}: {said}"))
    for kind, setting in policy.spec.kind_fallback.items():
        named = [ln.rule for ln in policy.spec.lines  # exclusive and alternative lines
                 if ln.kinds != "*" and kind in ln.kinds  # match the visit's own kind
                 and not (ln.exclusive or ln.alternative)]
        if named:
            steps = ["kind_fallback", kind]
            out.append((steps, f"{dotted(steps)}: 救助标准 {'、'.join(dict.fromkeys(named))} "
                               f"单列了{labels.label(labels.KINDS, kind)}，但此项把所有"
                               f"{labels.label(labels.KINDS, kind)}按"
                               f"{labels.label(labels.KINDS, setting)}结算，这些标准永不支付；"
                               "只对部分身份按其他标准执行的，请把该就诊类别加到那些身份的"
                               "标准中 / lines name this kind, but the fallback settles all "
                               "its visits as another: they never pay"))
    out += _shadowed_tilts(policy)
    chosen = model.selection_conditions(policy.spec)
    if len(chosen) > model.MAX_SELECTION_CONDITIONS:
        steps = ["lines"]
        out.append((steps, f"lines: 排他或替代救助标准上的条件有 {len(chosen)} 种，超过批量结算"
                           f"（medaid simulate）能编译的 {model.MAX_SELECTION_CONDITIONS} 种；"
                           "逐人结算不受影响 / more distinct conditions on exclusive or "
                           "alternative lines than the batch path compiles"))
    for i in range(len(policy.spec.refusals)):
        out += _inert_refusal(policy, i)
    used = {pool for _, pool in model.pools_used(policy.spec)} | {  # a year-end stage's may
        st.rule for st in policy.spec.stages}  # be listed, as a visit stage's must
    for name in policy.spec.pools or {}:
        if name not in used:
            steps = ["pools", name]
            out.append((steps, f"{dotted(steps)}: 累计池「{name}」已定义但没有救助标准、阶段或限额"
                               "使用它（是否拼错了使用处的名称？） / the pool is defined but "
                               "never used"))
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
