"""Where in a YAML file a path of keys and indices lies, so that an error names its line.

A policy error names a path (`lines[3].caps[0].pool`, or pydantic's location tuple); the
line is that of the deepest node the path reaches (for a key the file lacks, the mapping
that should hold it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import yaml

Path = Sequence[str | int]

_STEP = re.compile(r"\[(\d+)\]|([^.\[\]\s]+)")


def parse_path(where: str) -> list[str | int]:
    """`lines[3] (NJ-A1).caps[0]` → ['lines', 3, 'caps', 0] (a parenthesised note dropped)."""
    where = re.sub(r"\s*\([^)]*\)", "", where)
    return [int(m.group(1)) if m.group(1) is not None else m.group(2)
            for m in _STEP.finditer(where)]


def line_of(text: str, path: Path) -> int | None:
    """The 1-based line of the deepest node `path` reaches in the YAML `text`; steps that
    match nothing (pydantic's union tags) are skipped."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line = node.start_mark.line + 1
    for step in path:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                    # an unknown key is reported at the key itself
                    node, line = value, key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) \
                and 0 <= step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
    return line
