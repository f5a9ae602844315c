"""What a policy file says that runs, but likely not as its author meant: `medaid policy
validate` warns of each at its YAML line and still accepts the file."""

from __future__ import annotations

from medaid.policy import model
from medaid.policy.schema_errors import Step, dotted


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
    used = {pool for _, pool in model.pools_used(policy.spec)}
    for name in policy.spec.pools or {}:
        if name not in used:
            steps = ["pools", name]
            out.append((steps, f"{dotted(steps)}: 累计池「{name}」已定义但没有救助标准、阶段或限额"
                               "使用它（是否拼错了使用处的名称？） / the pool is defined but "
                               "never used"))
    return out
