"""The request and answer of each national-platform transaction, from a real run: writes
them into docs/INTERFACE.md between its `<!-- transcript -->` markers.

    .venv/bin/python examples/interface_transcript.py           # rewrite docs/INTERFACE.md
    .venv/bin/python examples/interface_transcript.py --print   # print them instead

The run is on a new SQLite database in a temporary folder, through the app in-process:
an institution and a 低保 person of Nanjing, then 2303, 2304, 2304 again (a retry), 2305,
2206, 2207, 2208 and two refused envelopes. tests/service/test_national.py sends the
document's requests again and checks its answers, so the document stays true.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "INTERFACE.md"
PATH = "/api/v1/national"
HOSPITAL = "H32010200001"
PSN_NO = "3201020000000001"
BEGIN, END = "<!-- transcript -->", "<!-- /transcript -->"
Step = tuple[str, str, Callable[[list[dict[str, Any]]], dict[str, Any]]]


def setup(client: Any, admin: dict[str, str]) -> None:
    """The institution and the person the transcript settles for (through the REST API)."""
    from medaid.registry import idcard

    for url, body in (
            ("/api/v1/institutions", {"fixmedins_code": HOSPITAL, "name": "南京市第一医院",
                                      "jurisdiction": "nanjing", "district": "320102",
                                      "level": 3}),
            ("/api/v1/persons", {"psn_no": PSN_NO, "name": "张三",
                                 "certno": idcard.make("320102", date(1960, 1, 1), 3),
                                 "jurisdiction": "nanjing",
                                 "district": "320102", "identities": [
                                     {"category": "dibao", "department": "民政",
                                      "from": "2023-01-15"}]})):
        r = client.post(url, headers=admin, json=body)
        assert r.status_code == 201, r.text


def envelope(infno: str, msgid: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"infno": infno, "msgid": msgid, "mdtrtarea_admvs": "320102",
            "insuplc_admdvs": "320102", "recer_sys_code": "MEDAID", "infver": "V1.0",
            "opter_type": "1", "opter": "0001", "opter_name": "收费员",
            "inf_time": "2023-03-10 10:30:00", "fixmedins_code": HOSPITAL,
            "fixmedins_name": "南京市第一医院", "sign_no": "20230310000001",
            "input": {"data": data}}


STAY = {"psn_no": PSN_NO, "mdtrt_id": "ZY2023030100017", "med_type": "21",
        "insutype": "390", "psn_idet_type": "2303", "start": "2023-03-01",
        "end": "2023-03-10", "medfee_sumamt": 60000, "fulamt_ownpay_amt": 5000,
        "overlmt_selfpay": 0, "preselfpay_amt": 1000, "hifp_pay": 35000, "hifmi_pay": 3000}
CLINIC = {"psn_no": PSN_NO, "mdtrt_id": "MZ2023040100321", "med_type": "14",
          "insutype": "390", "start": "2023-04-01", "end": "2023-04-01",
          "medfee_sumamt": 3000, "fulamt_ownpay_amt": 200, "overlmt_selfpay": 0,
          "preselfpay_amt": 100, "hifp_pay": 1500, "hifmi_pay": 0}


def _cancel(answers: list[dict[str, Any]], index: int) -> dict[str, Any]:
    info = answers[index]["output"]["setlinfo"]
    return {k: info[k] for k in ("setl_id", "mdtrt_id", "psn_no")}


STEPS: list[Step] = [  # (title, what, the envelope given the answers before it)
    ("2303 住院预结算", "pre-settlement of a stay: nothing is stored",
     lambda a: envelope("2303", f"{HOSPITAL}202303101030000001", STAY)),
    ("2304 住院结算", "settlement: the ledger entry and the person's pools, in one "
     "transaction; `medins_setl_id` is the msgid", lambda a: envelope(
         "2304", f"{HOSPITAL}202303101031000002", STAY)),
    ("2304 again: a retry", "the same msgid after a lost answer: the stored settlement, "
     "counted once", lambda a: envelope("2304", f"{HOSPITAL}202303101031000002", STAY)),
    ("2305 住院结算撤销", "cancellation: the reversing entry, what the visit stood at negated", lambda a:
     envelope("2305", f"{HOSPITAL}202303101040000003", _cancel(a, 1))),
    ("2206 门诊预结算", "an outpatient visit (门诊慢特病, med_type 14)",
     lambda a: envelope("2206", f"{HOSPITAL}202304010900000004", CLINIC)),
    ("2207 门诊结算", "", lambda a: envelope("2207", f"{HOSPITAL}202304010901000005", CLINIC)),
    ("2208 门诊结算撤销", "", lambda a: envelope("2208", f"{HOSPITAL}202304010910000006",
                                             _cancel(a, 5))),
    ("An unknown field", "a misspelt `oth_pay` is refused, never ignored (HTTP 422)",
     lambda a: envelope("2207", f"{HOSPITAL}202304010911000007", CLINIC | {"othpay": 300})),
    ("Another institution's settlement", "a token acts for its own institution only "
     "(HTTP 403; here the envelope names another)", lambda a: envelope(
         "2208", f"{HOSPITAL}202304010912000008", _cancel(a, 5)) | {
             "fixmedins_code": "H32010200002"}),
]


def run() -> list[tuple[str, str, dict[str, Any], int, dict[str, Any]]]:
    """Each step's title, note, request, HTTP status and answer, from a fresh database."""
    from fastapi.testclient import TestClient

    from medaid.api.app import create_app
    from medaid.app import auth
    from medaid.app.uow import UnitOfWork
    from medaid.store.models import Institution

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(f"sqlite:///{folder}/interface.sqlite")
        with UnitOfWork(app.state.sessions) as uow:
            admin = {"Authorization": f"Bearer {auth.issue(uow, 'admin')}"}
            uow.commit()
        out = []
        with TestClient(app) as client:
            setup(client, admin)
            with UnitOfWork(app.state.sessions) as uow:
                inst = uow.session.query(Institution).filter_by(code=HOSPITAL).one()
                hospital = {"Authorization": f"Bearer {auth.issue(uow, 'hospital', inst.id)}"}
                uow.commit()
            answers: list[dict[str, Any]] = []
            for title, note, make in STEPS:
                request = make(answers)
                r = client.post(PATH, headers=hospital, json=request)
                answers.append(r.json())
                out.append((title, note, request, r.status_code, r.json()))
        app.state.engine.dispose()
    return out


def markdown(steps: list[tuple[str, str, dict[str, Any], int, dict[str, Any]]]) -> str:
    parts = []
    for title, note, request, status, answer in steps:
        parts.append(f"### {title}\n")
        if note:
            parts.append(f"{note[0].upper()}{note[1:]}.\n")
        parts.append(f"```json request\n{json.dumps(request, ensure_ascii=False, indent=2)}"
                     f"\n```\n")
        parts.append(f"HTTP {status}:\n")
        parts.append(f"```json answer\n{_dumps(answer)}\n```\n")
    return "\n".join(parts)


def _dumps(answer: dict[str, Any]) -> str:
    """The answer as the service writes it: money with two decimals."""
    from medaid.core.money import to_yuan
    from medaid.engine.case import dumps

    def money(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: money(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [money(v, key) for v in value]
        if isinstance(value, float) and key not in ("year",):
            return to_yuan(round(value * 100))
        return value

    return dumps(money(answer))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--print", action="store_true", help="print instead of writing the doc")
    args = ap.parse_args(argv)
    text = markdown(run())
    if args.print:
        print(text)
        return 0
    doc = DOC.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    DOC.write_text(pattern.sub(lambda _: f"{BEGIN}\n\n{text}\n{END}", doc), encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
