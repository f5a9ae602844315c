"""The departments that recognise beneficiaries and send rosters, under one name each.

Offices write the full bureau name with their city or district in front (秦淮区民政局,
宁波市残疾人联合会); the registry keeps the short name, matched by keyword.
"""

from __future__ import annotations

from medaid.registry.cells import text
from medaid.registry.types import Problem

DEPARTMENTS: tuple[str, ...] = ("民政", "退役军人", "总工会", "残联", "公安", "卫健", "乡村振兴")

# Keywords in the order they are tried: 退役军人 before anything shorter it might contain.
_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("退役军人", "退役军人"),
    ("民政", "民政"),
    ("工会", "总工会"),
    ("残联", "残联"),
    ("残疾人联合会", "残联"),
    ("公安", "公安"),
    ("卫健", "卫健"),
    ("卫生健康", "卫健"),
    ("乡村振兴", "乡村振兴"),
    ("扶贫", "乡村振兴"),  # 扶贫办 became the rural-revitalisation bureau in 2021
)

_ENGLISH: dict[str, str] = {
    "civil_affairs": "民政",
    "veterans": "退役军人",
    "veterans_affairs": "退役军人",
    "trade_union": "总工会",
    "union": "总工会",
    "disabled_persons_federation": "残联",
    "disability_federation": "残联",
    "public_security": "公安",
    "police": "公安",
    "health": "卫健",
    "health_commission": "卫健",
    "rural_revitalization": "乡村振兴",
}


def normalize(value: object) -> str:
    """One of DEPARTMENTS, or Problem naming the ones accepted."""
    raw = text(value)
    key = raw.lower().replace(" ", "_").replace("-", "_")
    if key in _ENGLISH:
        return _ENGLISH[key]
    for word, name in _KEYWORDS:
        if word in raw:
            return name
    raise Problem(f"无法识别的认定部门：{raw}",
                  f"unknown department {raw!r} (one of {'、'.join(DEPARTMENTS)})")
