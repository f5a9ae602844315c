"""宿迁市 and 淄博市淄川区, written from their bureaus' pages (seeds 006, 007): what the
pages leave open stops a case with an error naming it, never a guess. The amounts are in
the case tables (tests/cases/suqian/, tests/cases/zichuan/)."""

from __future__ import annotations

from pathlib import Path

from rules_helpers import case, ident, run_cli, stay


def test_zichuan_previous_year_income_is_required_for_gangxing(tmp_path: Path) -> None:
    # 第2段 本市上年居民人均可支配收入25%以上部分: 淄博市's figure is not on the page
    done = run_cli(case("zichuan", [ident("gangxing", "2025-01-01")],
                        [stay("V1", "2025-11-20", "2025-11-25", 30000)]), tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "income_per_capita_prev_year is required (ZC-A3)" in done.stderr
    assert "Traceback" not in done.stderr


def test_zichuan_other_categories_need_no_income(tmp_path: Path) -> None:
    done = run_cli(case("zichuan", [ident("dibao_edge", "2025-01-01")],
                        [stay("V1", "2025-11-20", "2025-11-25", 30000)]), tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"maf_pay": 18050.00' in done.stdout   # 13500 + (16500 − 10000) × 70%


def test_suqian_is_not_settled_before_the_pages_date(tmp_path: Path) -> None:
    # the answer of 2024-06-07 states the standard then; earlier visits are not read under it
    done = run_cli(case("suqian", [ident("dibao", "2024-01-01")],
                        [stay("V1", "2024-05-01", "2024-05-03", 1000)]), tmp_path)
    assert done.returncode == 2
    assert "no policy in force for suqian on 2024-05-03" in done.stderr
    assert "in force from 2024-06-07" in done.stderr
