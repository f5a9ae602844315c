"""What a caseworker reads after checking a roster or planning an import: plain lines."""

from __future__ import annotations

from collections import Counter

from medaid.policy import model
from medaid.registry.plan import ImportPlan
from medaid.registry.types import Roster


def check_lines(roster: Roster) -> list[str]:
    """Every bad row (row, column, value, reason), then the counts."""
    out: list[str] = []
    if roster.errors:
        out.append(f"{roster.source}: 有问题的行 {len(roster.bad_rows)} / bad rows:")
        for e in sorted(roster.errors, key=lambda e: e.row):
            where = f"第{e.row}行 row {e.row}"
            column = f" [{e.column}]" if e.column else ""
            value = f" {e.value!r}" if e.value else ""
            out.append(f"  {where}{column}{value}: {e.reason}")
    good = len(roster.rows)
    city = model.jurisdiction_name(roster.jurisdiction)
    out.append(f"{roster.source}（{city}）: 读取 {roster.read} 行 rows read, "
               f"{good} 行正确 good, {len(roster.bad_rows)} 行有误 bad")
    if roster.rows:
        cats = Counter(r.category for r in roster.rows)
        depts = Counter(r.department for r in roster.rows)
        out.append("  类别 categories: " + ", ".join(
            f"{model.category_label(roster.jurisdiction, c)} {n}" for c, n in cats.most_common()))
        out.append("  部门 departments: " + ", ".join(f"{d} {n}" for d, n in depts.most_common()))
    return out


def plan_lines(plan: ImportPlan) -> list[str]:
    """The diff an import would make, as counts (the plan lists the persons)."""
    if not plan.ok:
        return [f"导入被拒绝：{len(plan.errors)}处错误，未导入任何数据 / "
                f"import refused: {len(plan.errors)} errors, nothing imported"]
    c = plan.counts()
    return [f"{plan.month:%Y-%m} {'、'.join(plan.departments)}: "
            f"新增人员 new persons {c['new_persons']}, 新增身份 new identities "
            f"{c['new_identities']}, 变更 changed {c['changed']}, 未变 unchanged "
            f"{c['unchanged']}, 退出 exited {c['exited']}"]
