"""A case's bad input is told Chinese first, then the English after ` / `, behind the JSON
path CASE.md fixes (`error: visits[2].medfee_sumamt: 不能为负数 / must be ≥ 0`)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rules_helpers import case, ident, visit
from typer.testing import CliRunner

from medaid.cli.main import app

runner = CliRunner()


def good() -> dict[str, Any]:
    return case("nanjing", [ident("dibao", "2023-01-15")],
                [visit("V1", "inpatient", "2023-03-01", "2023-03-10", total=60000,
                       fulamt=5000, preself=1000, hifp=35000, hifmi=3000)],
                {"income_per_capita_prev_year": 80000})


def settle(c: dict[str, Any]) -> str:
    r = runner.invoke(app, ["settle", "-", "--json"], input=json.dumps(c))
    assert (r.exit_code, r.stdout) == (2, ""), r.stdout
    assert r.stderr.count("\n") == 1
    return r.stderr


@pytest.mark.parametrize(("change", "expected"), [
    ({"medfee_sumamt": -1}, "error: visits[0].medfee_sumamt: 不能为负数 / must be ≥ 0\n"),
    ({"hospital_level": 4},
     "error: visits[0].hospital_level: 医院等级应为 1、2、3 或不填 / must be 1, 2, 3 or absent\n"),
    ({"referral": "未备案"},
     "error: visits[0].referral: 转诊备案「未备案」无效，可选：ok（已按规定转诊或备案）、"
     "unreferred（未按规定转诊）、unreferred_hardship（未转诊但确有困难） / unknown referral "
     "'未备案' (one of: ok, unreferred, unreferred_hardship)\n"),
    ({"start": "2019-03-01", "end": "2019-03-05"},
     "error: visits[0].end: 2019-03-05 南京市尚无施行的医疗救助政策（最早的版本 2023-01-01 起施行）"
     " / no policy in force for nanjing on 2019-03-05 (visits[0].start 2019-03-01); in force "
     "from 2023-01-01\n"),
])
def test_a_visits_errors_read_chinese_first(change: dict[str, Any], expected: str) -> None:
    c = good()
    c["visits"][0].update(change)
    assert settle(c) == expected


def test_an_amount_finer_than_a_fen() -> None:
    text = json.dumps(good()).replace('"medfee_sumamt": 60000', '"medfee_sumamt": 60000.001')
    r = runner.invoke(app, ["settle", "-", "--json"], input=text)
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr == ("error: visits[0].medfee_sumamt: 金额至多保留两位小数 / at most two "
                        "decimals (fen)\n")


def test_an_unknown_category_offers_the_citys_with_their_labels() -> None:
    c = good()
    c["person"]["identities"][0]["category"] = "低保"
    err = settle(c)
    assert err.startswith("error: person.identities[0].category: 南京市没有救助对象身份「低保」，"
                          "可选：tekun（特困人员）、")
    assert "dibao（最低生活保障对象）" in err
    assert err.rstrip().endswith("/ unknown category '低保' for nanjing (one of: tekun, orphan, "
                                 "dibao, kunjing_child, jingjian, tekun_worker, dibao_edge, youfu, "
                                 "zhichu_illness, linshi_illness, other_special)")


def test_insurance_computed_from_a_parameter_nobody_set_names_the_field() -> None:
    c = good()
    del c["visits"][0]["hifp_pay"]
    err = settle(c)
    assert err.startswith("error: local.basic_insurance: nanjing：本地参数「基本医保起付线、"
                          "支付比例（按医院等级）、封顶线」（basic_insurance）尚未设定"
                          "（visits[0].hifp_pay 需要）")
    assert "not given" not in err


@pytest.mark.parametrize(("where", "label"), [("person", "人员编号"), ("visit", "就诊ID")])
def test_a_too_long_id_is_named_by_its_own_record(where: str, label: str) -> None:
    c = good()
    (c["person"] if where == "person" else c["visits"][0])["id"] = "x" * 200
    path = "person.id" if where == "person" else "visits[0].id"
    assert settle(c).startswith(f"error: {path}: {label}至多 ")
