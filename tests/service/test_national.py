"""The national platform's envelope (medaid.api.national): each transaction, its fund
lines, its errors, retries, and the same numbers as the REST API, on the same ledger."""

from __future__ import annotations

import importlib.util
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from api_helpers import World, pool, visit

NATIONAL = "/api/v1/national"
SETTLE = "/api/v1/settlements"
HOSPITAL, OTHER = "H32010200001", "H32010200002"
ROOT = Path(__file__).resolve().parents[2]
AMOUNTS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
           "inscp_scp_amt", "hifp_pay", "hifmi_pay", "oth_pay", "maf_pay", "psn_part_amt")
CLINIC = {"med_type": "14", "start": "2023-04-01", "end": "2023-04-01",
          "medfee_sumamt": 3000, "fulamt_ownpay_amt": 200, "overlmt_selfpay": 0,
          "preselfpay_amt": 100, "hifp_pay": 1500, "hifmi_pay": 0}


@pytest.fixture
def hospital(world: World) -> dict[str, str]:
    h = world.institution(HOSPITAL)
    world.person()
    return h


def data(**fields: Any) -> dict[str, Any]:
    """input.data of a settlement: the REST request without fixmedins_code."""
    body = visit(**fields)
    del body["medins_setl_id"]  # the msgid by default
    return body


def envelope(infno: str, data: dict[str, Any], msgid: str = "M-0001",
             code: str = HOSPITAL, **fields: Any) -> dict[str, Any]:
    return {"infno": infno, "msgid": msgid, "mdtrtarea_admvs": "320102",
            "insuplc_admdvs": "320102", "recer_sys_code": "MEDAID", "infver": "V1.0",
            "opter_type": "1", "opter": "001", "opter_name": "收费员",
            "inf_time": "2023-03-10 12:00:00", "fixmedins_code": code,
            "fixmedins_name": "医院", "sign_no": "S1", "input": {"data": data}} | fields


def call(world: World, headers: dict[str, str], env: dict[str, Any], status: int = 200
         ) -> dict[str, Any]:
    r = world.client.post(NATIONAL, headers=headers, json=env)
    assert r.status_code == status, r.text
    answer = dict(r.json())
    assert set(answer) >= {"infcode", "inf_refmsgid", "refmsg_time", "respond_time",
                           "err_msg", "output"}
    assert len(answer["refmsg_time"]) == len(answer["respond_time"]) == 17
    assert answer["infcode"] == (0 if status == 200 else -1), answer
    return answer


def failed(world: World, headers: dict[str, str], env: dict[str, Any], status: int) -> str:
    answer = call(world, headers, env, status)
    assert answer["output"] is None
    return str(answer["err_msg"])


def funds_add_up(output: dict[str, Any]) -> None:
    info, lines = output["setlinfo"], output["setldetail"]
    assert sum(Decimal(str(d["fund_payamt"])) for d in lines) == Decimal(
        str(info["fund_pay_sumamt"]))
    assert Decimal(str(info["fund_pay_sumamt"])) + Decimal(str(info["psn_part_amt"])) \
        == Decimal(str(info["medfee_sumamt"]))
    by_type = {d["fund_pay_type"]: Decimal(str(d["fund_payamt"])) for d in lines}
    assert by_type["610100"] + by_type.get("610102", 0) == Decimal(str(info["maf_pay"]))
    assert len(by_type) == len(lines)  # one line per fund
    assert info["psn_cash_pay"] == info["psn_part_amt"]


# -- each transaction -----------------------------------------------------------------------
def test_inpatient_presettle_settle_cancel(world: World, hospital: dict[str, str]) -> None:
    pre = call(world, hospital, envelope("2303", data(psn_idet_type="2303")))["output"]
    info = pre["setlinfo"]
    assert (info["setl_id"], info["setl_time"], info["psn_idet_type"]) == (None, None, "2303")
    assert (info["medfee_sumamt"], info["inscp_scp_amt"], info["hifp_pay"],
            info["hifmi_pay"], info["maf_pay"], info["psn_part_amt"]) == (
        60000, 54000, 35000, 3000, 14400, 7600)
    funds_add_up(pre)
    assert [(d["fund_pay_type"], d["fund_payamt"]) for d in pre["setldetail"]] == [
        ("390100", 35000), ("390200", 3000), ("610100", 14400)]
    assert "NJ-A2" in pre["setldetail"][-1]["setl_proc_info"]
    assert pre["medaid"]["rules"] == ["NJ-A2"] and pre["medaid"]["trace"]
    assert world.year(world.admin)["settlements"] == []  # 预结算 stores nothing

    answer = call(world, hospital, envelope("2304", data(), msgid="M-0002"))
    settled = answer["output"]
    assert answer["warn_msg"] is None
    info = settled["setlinfo"]
    assert info["setl_id"] and info["medins_setl_id"] == "M-0002"
    assert len(info["setl_time"]) == 19  # yyyy-MM-dd HH:mm:ss
    assert {k: info[k] for k in AMOUNTS} == {k: pre["setlinfo"][k] for k in AMOUNTS}
    funds_add_up(settled)
    assert pool(world.year(world.admin), "NJ-A2")["used"] == 16000

    cancel = {k: info[k] for k in ("setl_id", "mdtrt_id", "psn_no")}
    undone = call(world, hospital, envelope("2305", cancel, msgid="M-0003"))["output"]
    back = undone["setlinfo"]
    assert back["setl_id"] != info["setl_id"] and undone["medaid"]["reverses"] == info["setl_id"]
    assert {k: back[k] for k in AMOUNTS} == {k: -info[k] for k in AMOUNTS}
    funds_add_up(undone)
    assert pool(world.year(world.admin), "NJ-A2")["used"] == 0
    rest = world.client.get(f"{SETTLE}/{info['setl_id']}", headers=hospital).json()
    assert rest["cancelled_by"] == back["setl_id"]


def test_outpatient_presettle_settle_cancel(world: World, hospital: dict[str, str]) -> None:
    visit_data = data(mdtrt_id="MZ-1", **CLINIC)
    pre = call(world, hospital, envelope("2206", visit_data))["output"]
    settled = call(world, hospital, envelope("2207", visit_data, msgid="MZ-0001"))["output"]
    info = settled["setlinfo"]
    assert (info["med_type"], info["begndate"], info["enddate"]) == ("14", "2023-04-01",
                                                                     "2023-04-01")
    assert {k: info[k] for k in AMOUNTS} == {k: pre["setlinfo"][k] for k in AMOUNTS}
    for output in (pre, settled):
        funds_add_up(output)
    undone = call(world, hospital, envelope("2208", {
        "setl_id": info["setl_id"], "mdtrt_id": "MZ-1", "psn_no": "P-001"}, msgid="MZ-0002"))
    assert undone["output"]["setlinfo"]["maf_pay"] == -info["maf_pay"]
    funds_add_up(undone["output"])


def test_the_platforms_own_path_and_infno_as_a_number(world: World, hospital: dict[str, str]
                                                     ) -> None:
    r = world.client.post("/fsi/api/rsfComIfsService/callService", headers=hospital,
                          json=envelope(2303, data()))  # type: ignore[arg-type]
    assert r.status_code == 200 and r.json()["infcode"] == 0, r.text
    assert r.json()["output"]["setlinfo"]["maf_pay"] == 14400


def test_employees_funds_and_an_identity_the_registry_does_not_hold(
        world: World, hospital: dict[str, str]) -> None:
    answer = call(world, hospital, envelope("2303", data(insutype="310",
                                                         psn_idet_type="2304")))
    assert [d["fund_pay_type"] for d in answer["output"]["setldetail"]] == [
        "310100", "330100", "610100"]
    assert answer["output"]["setlinfo"]["insutype"] == "310"
    assert answer["output"]["setlinfo"]["psn_idet_type"] == "2303"  # the registry's
    assert "2304" in answer["warn_msg"] and "按登记身份结算" in answer["warn_msg"]


def test_no_identity_in_force_pays_no_assistance_and_keeps_the_line(
        world: World, hospital: dict[str, str]) -> None:
    world.person("P-002", identities=[])
    output = call(world, hospital, envelope("2303", data(psn_no="P-002")))["output"]
    assert output["setlinfo"]["psn_idet_type"] is None
    assert output["setlinfo"]["maf_pay"] == 0
    assert output["setldetail"][-1]["fund_pay_type"] == "610100"
    funds_add_up(output)


# -- retries --------------------------------------------------------------------------------
def test_a_retry_under_the_same_msgid_is_the_same_settlement(
        world: World, hospital: dict[str, str]) -> None:
    first = call(world, hospital, envelope("2304", data(), msgid="M-0009"))
    again = call(world, hospital, envelope("2304", data(medfee_sumamt=60000.0),
                                           msgid="M-0009", inf_time="2023-03-10 12:00:30"))
    assert again["output"] == first["output"]
    assert "重复交易" in again["warn_msg"]
    assert len(world.year(world.admin)["settlements"]) == 1
    assert pool(world.year(world.admin), "NJ-A2")["used"] == 16000  # counted once
    # the same msgid for another visit is the REST API's 409 for a reused medins_setl_id
    err = failed(world, hospital, envelope("2304", data(hifp_pay=34000), msgid="M-0009"), 409)
    assert err.startswith("与已有结算冲突") and "M-0009" in err
    # an explicit medins_setl_id is the REST API's: a retry there returns the same entry
    rest = world.client.post(SETTLE, headers=hospital, json=visit(medins_setl_id="M-0009"))
    assert rest.status_code == 200 and rest.json()["setl_id"] == \
        first["output"]["setlinfo"]["setl_id"]


def test_a_cancellation_sent_again_answers_the_same_cancellation(
        world: World, hospital: dict[str, str]) -> None:
    info = call(world, hospital, envelope("2304", data()))["output"]["setlinfo"]
    cancel = envelope("2305", {k: info[k] for k in ("setl_id", "mdtrt_id", "psn_no")},
                      msgid="M-0010")
    first = call(world, hospital, cancel)
    again = call(world, hospital, cancel)
    assert again["output"] == first["output"]
    assert "重复撤销" in again["warn_msg"]
    assert pool(world.year(world.admin), "NJ-A2")["used"] == 0  # taken back once


def test_a_cancellation_with_the_confirmed_assistance(world: World,
                                                     hospital: dict[str, str]) -> None:
    """`maf_pay` in 2305's input: the assistance the clerk confirmed it takes back; another
    amount is refused (409) and nothing is cancelled."""
    info = call(world, hospital, envelope("2304", data()))["output"]["setlinfo"]
    ids = {k: info[k] for k in ("setl_id", "mdtrt_id", "psn_no")}
    err = failed(world, hospital, envelope("2305", ids | {"maf_pay": 1.00}, msgid="M-0011"), 409)
    assert err.startswith(f"与已有结算冲突：结算 {info['setl_id']} 的医疗救助已变化：确认时为 "
                          "¥1.00，现为 ¥14,400.00；未撤销")
    assert pool(world.year(world.admin), "NJ-A2")["used"] > 0  # nothing taken back
    err = failed(world, hospital, envelope("2305", ids | {"maf_pay": "x"}, msgid="M-0012"), 422)
    assert err.startswith("input.data.maf_pay（医疗救助基金支出）：")
    done = call(world, hospital, envelope("2305", ids | {"maf_pay": info["maf_pay"]},
                                          msgid="M-0013"))
    assert done["output"]["setlinfo"]["maf_pay"] == -14400
    assert pool(world.year(world.admin), "NJ-A2")["used"] == 0


# -- the same numbers as the REST API -------------------------------------------------------
@pytest.mark.parametrize("fields", [{}, CLINIC, {"hifp_pay": None, "hifmi_pay": None}],
                         ids=["inpatient", "outpatient", "insurance-computed"])
def test_envelope_and_rest_give_the_same_numbers(world: World, hospital: dict[str, str],
                                                 fields: dict[str, Any]) -> None:
    for name, value in (("basic_insurance", {"deductible": {"1": 300, "2": 600, "3": 1000},
                                             "ratio": {"1": 0.9, "2": 0.8, "3": 0.7},
                                             "cap": 300000}),
                        ("critical_illness", {"deductible": 15000, "segments": [
                            {"upto": None, "ratio": 0.6}], "cap": None})):
        world.parameter("nanjing", name, value)
    world.person("P-002")
    sent = {k: v for k, v in (visit() | fields).items() if v is not None}
    infno = {"pre": "2206", "settle": "2207"} if fields is CLINIC else {"pre": "2303",
                                                                         "settle": "2304"}
    rest_pre = world.client.post(f"{SETTLE}/preview", headers=hospital, json=sent).json()
    rest = world.client.post(SETTLE, headers=hospital, json=sent).json()
    body = {k: v for k, v in sent.items() if k != "medins_setl_id"} | {"psn_no": "P-002"}
    pre = call(world, hospital, envelope(infno["pre"], body))["output"]
    env = call(world, hospital, envelope(infno["settle"], body, msgid="E-1"))["output"]
    for rest_answer, output in ((rest_pre, pre), (rest, env)):
        assert {k: output["setlinfo"][k] for k in AMOUNTS} == {k: rest_answer[k]
                                                              for k in AMOUNTS}
        for k in ("base", "assistance", "tilted", "special", "rules", "category", "policy"):
            assert output["medaid"][k] == rest_answer[k]
        funds_add_up(output)
    # and both on one ledger: the person's year lists the envelope's settlement
    year = world.year(world.admin, "P-002")
    assert [s["setl_id"] for s in year["settlements"]] == [env["setlinfo"]["setl_id"]]


# -- errors ---------------------------------------------------------------------------------
def test_unknown_infno(world: World, hospital: dict[str, str]) -> None:
    err = failed(world, hospital, envelope("2401", data()), 422)
    assert err.startswith("infno（交易编号）") and "2401" in err and "2304" in err


def test_a_bad_field_is_named_in_chinese_first(world: World, hospital: dict[str, str]
                                               ) -> None:
    err = failed(world, hospital, envelope("2304", data(medfee_sumamt=-1)), 422)
    assert err == "input.data.medfee_sumamt（医疗费总额）：不能为负数 / must be ≥ 0"
    err = failed(world, hospital, envelope("2303", data(start="2023-13-01")), 422)
    assert err.startswith("input.data.start（就诊/入院日期）：应为日期，如 2026-03-01")
    err = failed(world, hospital, envelope("2304", data(psn_no="P-404")), 404)
    assert err == ("input.data.psn_no（人员编号）：未找到人员编号「P-404」 / "
                   "no person with psn_no 'P-404'")
    err = failed(world, hospital, envelope("2304", data(psn_idet_type="23")), 422)
    assert err.startswith("input.data.psn_idet_type（人员身份类别）")
    env = envelope("2304", data())
    del env["msgid"]
    assert failed(world, hospital, env, 422).startswith("msgid（发送方报文ID）：必填")
    err = failed(world, hospital, envelope("2304", data(), mdtrtarea_admvs="32"), 422)
    assert err.startswith("mdtrtarea_admvs（就医地医保区划）")


def test_an_unknown_field_is_an_error_never_ignored(world: World, hospital: dict[str, str]
                                                   ) -> None:
    err = failed(world, hospital, envelope("2304", data(othpay=3000)), 422)
    assert err.startswith("input.data.othpay：未知字段") and "oth_pay" in err
    err = failed(world, hospital, envelope("2304", data(), infnoo="x"), 422)
    assert err.startswith("infnoo：未知字段")
    env = envelope("2304", data())
    env["input"]["date"] = {}
    assert failed(world, hospital, env, 422).startswith("input.date：未知字段")
    err = failed(world, hospital, envelope("2304", data(fixmedins_code=HOSPITAL)), 422)
    assert err.startswith("input.data.fixmedins_code（定点医药机构编号）：未知字段")
    assert "报文的 fixmedins_code" in err  # the envelope names the institution
    err = failed(world, hospital, envelope("2305", {"setl_id": "x", "mdtrt_id": "M-1",
                                                     "psn_no": "P-001", "reason": "x"}), 422)
    assert err.startswith("input.data.reason：未知字段")
    assert world.year(world.admin)["settlements"] == []


def test_a_visit_of_the_other_flow(world: World, hospital: dict[str, str]) -> None:
    err = failed(world, hospital, envelope("2207", data()), 422)  # 21: a stay
    assert "2304" in err and err.startswith("input.data.med_type（医疗类别）")
    info = call(world, hospital, envelope("2304", data()))["output"]["setlinfo"]
    cancel = {k: info[k] for k in ("setl_id", "mdtrt_id", "psn_no")}
    assert "2305" in failed(world, hospital, envelope("2208", cancel), 422)


def test_tokens_and_scopes_are_the_rest_apis(world: World, hospital: dict[str, str]) -> None:
    other = world.institution(OTHER)
    assert failed(world, {}, envelope("2304", data()), 401).startswith("令牌")
    assert failed(world, {"Authorization": "Bearer nope"}, envelope("2304", data()),
                  401).startswith("令牌")
    # a hospital's token settles for its own institution only
    err = failed(world, other, envelope("2304", data()), 403)
    assert err.startswith("无权办理") and HOSPITAL in err
    for role in ("finance", "auditor"):
        failed(world, world.token(role), envelope("2304", data()), 403)
    caseworker = world.token("caseworker", district="320102")
    failed(world, caseworker, envelope("2304", data()), 403)
    assert call(world, caseworker, envelope("2303", data()))["output"]  # may pre-settle
    # an admin names the institution in the envelope
    settled = call(world, world.admin, envelope("2304", data(), msgid="A-1"))["output"]
    assert settled["setlinfo"]["fixmedins_code"] == HOSPITAL
    assert world.year(world.admin)["settlements"][0]["setl_id"] == \
        settled["setlinfo"]["setl_id"]


def test_a_hospital_cannot_cancel_another_hospitals_settlement(
        world: World, hospital: dict[str, str]) -> None:
    other = world.institution(OTHER)
    info = call(world, hospital, envelope("2304", data()))["output"]["setlinfo"]
    cancel = {k: info[k] for k in ("setl_id", "mdtrt_id", "psn_no")}
    assert failed(world, other, envelope("2305", cancel, code=OTHER), 403).startswith("无权办理")
    assert failed(world, other, envelope("2305", cancel), 403).startswith("无权办理")
    # nor an admin naming the other institution
    err = failed(world, world.admin, envelope("2305", cancel, code=OTHER), 403)
    assert info["setl_id"] in err
    assert failed(world, hospital, envelope("2305", cancel | {"psn_no": "P-002"}),
                  422).startswith("input.data.psn_no（人员编号）")
    assert failed(world, hospital, envelope("2305", cancel | {"setl_id": "nope"}),
                  404).startswith("input.data.setl_id（结算ID）：未找到结算「")
    assert pool(world.year(world.admin), "NJ-A2")["used"] == 16000  # still settled
    call(world, hospital, envelope("2305", cancel))


def test_not_json_and_not_an_object(world: World, hospital: dict[str, str]) -> None:
    for content in (b"{", b"[]", "收费".encode("gbk")):
        r = world.client.post(NATIONAL, headers=hospital | {"Content-Type": "application/json"},
                              content=content)
        assert r.status_code == 422 and r.json()["infcode"] == -1, r.text
        assert r.json()["err_msg"].startswith("报文")


# -- the HIS-side example -------------------------------------------------------------------
def _example(name: str) -> Any:
    """A module of examples/ (not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_his_client_example(world: World, hospital: dict[str, str]) -> None:
    his_client = _example("his_client")
    token = hospital["Authorization"].split()[1]
    his = his_client.HisClient(token, HOSPITAL, client=world.client)
    steps = his_client.demo(his, "P-001", "ZY-1")
    assert steps["presettle"]["setlinfo"]["maf_pay"] == 14400
    assert steps["retry"] == steps["settle"] and "重复交易" in steps["retry_warn_msg"]
    assert steps["cancel"]["setlinfo"]["maf_pay"] == -14400
    year = world.year(world.admin)
    assert len(year["settlements"]) == 2  # the settlement and its cancellation, once each
    assert pool(year, "NJ-A2")["used"] == 0
    with pytest.raises(his_client.PlatformError, match=r"input\.data\.othpay"):
        his.presettle({"psn_no": "P-001", "othpay": 1})


# -- docs/INTERFACE.md ----------------------------------------------------------------------
_HEX_ID = re.compile(r"\b[0-9a-f]{32}\b")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
VOLATILE = ("inf_refmsgid", "refmsg_time", "respond_time")


class Ids:
    """setl_ids by order of first appearance: the document's and a new run's line up."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def ordinal(self, text: str) -> str:
        return _HEX_ID.sub(lambda m: f"ID{self.seen.setdefault(m.group(), len(self.seen))}",
                           text)


def _canonical(answer: dict[str, Any], ids: Ids) -> str:
    kept = {k: v for k, v in answer.items() if k not in VOLATILE}
    return _TIME.sub("TIME", ids.ordinal(json.dumps(kept, ensure_ascii=False, sort_keys=True)))


def test_the_interface_documents_answers_are_true(world: World) -> None:
    transcript = _example("interface_transcript")
    doc = (ROOT / "docs" / "INTERFACE.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json (request|answer)\n(.*?)\n```", doc, re.DOTALL)
    pairs = list(zip(blocks[::2], blocks[1::2], strict=True))
    assert len(pairs) == len(transcript.STEPS) >= 7
    transcript.setup(world.client, world.admin)
    hospital = world.token("hospital", transcript.HOSPITAL)
    doc_ids, new_ids = Ids(), Ids()
    for (kind, request), (kind2, answer) in pairs:
        assert (kind, kind2) == ("request", "answer")
        fresh = {v: k for k, v in new_ids.seen.items()}  # an ordinal's id in this run

        def swap(m: re.Match[str], fresh: dict[int, str] = fresh) -> str:
            return fresh[doc_ids.seen[m.group()]]

        sent = _HEX_ID.sub(swap, request)
        r = world.client.post(NATIONAL, headers=hospital | {
            "Content-Type": "application/json"}, content=sent.encode())
        assert _canonical(r.json(), new_ids) == _canonical(json.loads(answer), doc_ids), \
            "docs/INTERFACE.md is out of date: .venv/bin/python examples/interface_transcript.py"
