"""Roster columns: the headers offices use, in Chinese, with English aliases.

A header matches after width-folding, removing spaces, a trailing `*` and any note in
parentheses (`认定日期（yyyy-mm-dd）`). Columns not listed (序号, 性别, 备注 …) are ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from medaid.core.errors import InputError
from medaid.registry.cells import text

FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "name", "psn_name"),
    "certno": ("身份证号", "身份证号码", "公民身份号码", "证件号码", "身份证", "certno",
               "id_number", "id_no"),
    "category": ("人员类别", "救助类别", "人员身份类别", "身份类别", "category",
                 "psn_idet_type"),
    "start": ("认定日期", "认定时间", "from", "start", "begntime", "recognition_date"),
    "end": ("退出日期", "退出时间", "to", "end", "endtime", "exit_date"),
    "application": ("申请日期", "申请时间", "application", "application_date"),
    "district": ("所属区", "区县", "所属区县", "district", "admdvs"),
    "disability_grade": ("残疾等级", "disability_grade"),
    "department": ("认定部门", "报送部门", "department"),
}
REQUIRED = ("name", "certno", "category", "start")
LABELS = {f: names[0] for f, names in FIELDS.items()}  # the Chinese label of each field
HEADER_SEARCH_ROWS = 20  # title lines above the header are common; tables never start lower

_NOTE = re.compile(r"\([^)]*\)")


def _key(label: str) -> str:
    k = "".join(unicodedata.normalize("NFKC", label).split()).strip("*").lower()
    return _NOTE.sub("", k)


_BY_KEY = {_key(alias): field for field, aliases in FIELDS.items() for alias in aliases}


def field_of(label: object) -> str | None:
    return _BY_KEY.get(_key(text(label)))


def header(cells: Sequence[object], where: str) -> dict[str, int] | None:
    """field → column index when `cells` is the header row; None when it is not one.

    A header has the ID-number column and at least one other known column.
    """
    found: dict[str, int] = {}
    for i, cell in enumerate(cells):
        field = field_of(cell)
        if field is None:
            continue
        if field in found:
            raise InputError(where, f"两列都表示{LABELS[field]}（第{found[field] + 1}列和第"
                                    f"{i + 1}列） / two columns mean {field}")
        found[field] = i
    if "certno" not in found or len(found) < 2:
        return None
    missing = [LABELS[f] for f in REQUIRED if f not in found]
    if missing:
        raise InputError(where, f"缺少必需列：{'、'.join(missing)} / missing required "
                                f"columns: {', '.join(f for f in REQUIRED if f not in found)}")
    return found
