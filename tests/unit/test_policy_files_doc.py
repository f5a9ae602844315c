"""docs/POLICY-FILES.md says what the code accepts: every YAML block validates (a complete
file as it stands, an amendment on its base, a `# onto NAME` excerpt merged onto the
shipped file NAME), the constructs it promises are all shown, and its sample diff is what
`medaid policy diff` prints."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from medaid.policy import amend, model
from medaid.policy import diff as policy_diff

DOC = Path(__file__).resolve().parents[2] / "docs" / "POLICY-FILES.md"
TEXT = DOC.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```yaml\n(.*?)```", TEXT, flags=re.S)
ONTO = re.compile(r"# onto ([\w-]+)\n")
SHIPPED = Path(__file__).resolve().parents[2] / "src" / "medaid" / "policies"
# the top-level keys of a policy file the page shows, one example at least each
DOCUMENTED = {
    "jurisdiction", "name", "version", "in_force", "document", "categories",
    "kind_fallback", "windows", "referral", "lines", "refusals", "tilted",
    "critical_illness_tilt", "parameters", "premium_subsidy", "monitoring", "funds",
    "indicators", "rounding", "pools", "amends", "stages", "statuses",
}


def test_the_page_has_its_examples() -> None:
    assert len(BLOCKS) >= 20
    shown = {key for block in BLOCKS for key in yaml.safe_load(block)}
    assert shown >= DOCUMENTED, sorted(DOCUMENTED - shown)


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_every_yaml_block_validates(block: str, tmp_path: Path) -> None:
    data: dict[str, Any] = yaml.safe_load(block)
    onto = ONTO.match(block)
    if onto:
        base = yaml.safe_load((SHIPPED / f"{onto.group(1)}.yaml").read_text(encoding="utf-8"))
        merged = amend.merge(base, data, amend.AMENDS)
        model.parse_policy(yaml.safe_dump(merged, allow_unicode=True), f"doc onto {onto[1]}")
    elif "amends" in data:
        path = tmp_path / "amendment.yaml"
        path.write_text(block, encoding="utf-8")
        amend.load(path)
    else:
        model.parse_policy(block, "doc")


def test_the_sample_diff_is_what_the_command_prints(tmp_path: Path) -> None:
    amendment = next(b for b in BLOCKS if b.startswith("amends: nanjing-2023"))
    path = tmp_path / "nanjing-2024.yaml"
    path.write_text(amendment, encoding="utf-8")
    shown = re.search(r"\$ medaid policy diff nanjing-2023 nanjing-2024.yaml\n(.*?共\d+处变更。)",
                      TEXT, flags=re.S)
    assert shown is not None
    printed = policy_diff.render(policy_diff.diff(policy_diff.find("nanjing-2023"),
                                                  amend.load(path)))
    assert printed.replace(str(path), "nanjing-2024.yaml") == shown.group(1)
