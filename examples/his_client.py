"""A hospital billing system's (HIS) side of medaid's national-platform interface.

Pre-settles a stay (2303), settles it (2304), sends the settlement again under the same
msgid as a retry after a lost answer would (the same settlement comes back, counted once),
and cancels it (2305) — each as the platform's message envelope, with httpx:

    python examples/his_client.py --url http://127.0.0.1:8000 --token TOKEN \\
        --fixmedins-code H32010200001 --psn-no 3201020000000001

(`make run` prints a hospital's token and the demo's persons.) `HisClient` is the part to
reuse; docs/INTERFACE.md describes the envelope and each transaction.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from datetime import datetime
from typing import Any

import httpx

PATH = "/api/v1/national"  # or /fsi/api/rsfComIfsService/callService, the platform's path
INPATIENT = {"presettle": "2303", "settle": "2304", "cancel": "2305"}
OUTPATIENT = {"presettle": "2206", "settle": "2207", "cancel": "2208"}


class PlatformError(Exception):
    """An answer with infcode −1: err_msg says what, naming the field."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__(answer.get("err_msg"))
        self.answer = answer


class HisClient:
    """Sends envelopes for one institution. `client`: an httpx.Client to use (its base URL
    set); by default one for `url`."""

    def __init__(self, token: str, fixmedins_code: str, url: str = "http://127.0.0.1:8000",
                 client: httpx.Client | None = None, admvs: str = "320100",
                 retries: int = 3) -> None:
        self.http = client or httpx.Client(base_url=url, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.fixmedins_code = fixmedins_code
        self.admvs = admvs
        self.retries = retries
        self._seq = itertools.count(1)

    def msgid(self) -> str:
        """发送方报文ID as the platform has it: institution code, time, a sequence number."""
        return f"{self.fixmedins_code}{datetime.now():%Y%m%d%H%M%S}{next(self._seq) % 10000:04d}"

    def call(self, infno: str, data: dict[str, Any], msgid: str | None = None
             ) -> dict[str, Any]:
        """One transaction; the answer's `output`. A lost answer or a 503 is sent again
        under the same msgid (safe: a settlement's retry returns the stored one)."""
        envelope = {
            "infno": infno, "msgid": msgid or self.msgid(), "mdtrtarea_admvs": self.admvs,
            "insuplc_admdvs": self.admvs, "recer_sys_code": "MEDAID", "infver": "V1.0",
            "opter_type": "1", "opter": "001", "opter_name": "收费员",
            "inf_time": f"{datetime.now():%Y-%m-%d %H:%M:%S}",
            "fixmedins_code": self.fixmedins_code, "fixmedins_name": "",
            "sign_no": "", "input": {"data": data}}
        envelope = {k: v for k, v in envelope.items() if v != ""}
        for attempt in range(self.retries + 1):
            try:
                r = self.http.post(PATH, headers=self.headers, json=envelope)
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
            else:
                answer: dict[str, Any] = r.json()
                if r.status_code != 503 or attempt == self.retries:
                    if answer["infcode"] != 0:
                        raise PlatformError(answer)
                    self.last = answer
                    return dict(answer["output"])
            time.sleep(0.2 * 2 ** attempt)
        raise AssertionError("unreachable")

    def presettle(self, visit: dict[str, Any], flow: dict[str, str] = INPATIENT
                  ) -> dict[str, Any]:
        return self.call(flow["presettle"], visit)

    def settle(self, visit: dict[str, Any], msgid: str, flow: dict[str, str] = INPATIENT
               ) -> dict[str, Any]:
        """Settle under `msgid` (the settlement's medins_setl_id): keep it until the answer
        came, and send it again to retry."""
        return self.call(flow["settle"], visit, msgid)

    def cancel(self, setlinfo: dict[str, Any], flow: dict[str, str] = INPATIENT
               ) -> dict[str, Any]:
        return self.call(flow["cancel"], {k: setlinfo[k] for k in ("setl_id", "mdtrt_id",
                                                                  "psn_no")})


def demo(his: HisClient, psn_no: str, mdtrt_id: str | None = None) -> dict[str, Any]:
    """Pre-settle, settle, retry, cancel one stay; what each step answered."""
    mdtrt_id = mdtrt_id or f"ZY{datetime.now():%Y%m%d%H%M%S}"
    stay = {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "med_type": "21", "insutype": "390",
            "start": "2023-03-01", "end": "2023-03-10", "medfee_sumamt": 60000,
            "fulamt_ownpay_amt": 5000, "overlmt_selfpay": 0, "preselfpay_amt": 1000,
            "hifp_pay": 35000, "hifmi_pay": 3000}
    pre = his.presettle(stay)
    msgid = his.msgid()
    settled = his.settle(stay, msgid)
    again = his.settle(stay, msgid)  # as if the first answer had been lost
    assert again["setlinfo"] == settled["setlinfo"], "a retry returns the same settlement"
    retry_warning = his.last["warn_msg"]
    cancelled = his.cancel(settled["setlinfo"])
    return {"presettle": pre, "settle": settled, "retry": again,
            "retry_warn_msg": retry_warning, "cancel": cancelled}


def _funds(output: dict[str, Any]) -> str:
    return ", ".join(f"{d['fund_pay_type']} {d['fund_pay_type_name']} {d['fund_payamt']:.2f}"
                     for d in output["setldetail"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--token", required=True, help="a hospital's token (medaid token create)")
    ap.add_argument("--fixmedins-code", required=True)
    ap.add_argument("--psn-no", required=True)
    ap.add_argument("--json", action="store_true", help="print every answer's output")
    args = ap.parse_args(argv)
    his = HisClient(args.token, args.fixmedins_code, args.url)
    try:
        steps = demo(his, args.psn_no)
    except PlatformError as e:
        print(f"infcode -1: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(steps, ensure_ascii=False, indent=2))
        return 0
    for step in ("presettle", "settle", "retry", "cancel"):
        info = steps[step]["setlinfo"]
        print(f"{step:9} setl_id={info['setl_id']} maf_pay={info['maf_pay']:.2f} "
              f"psn_part_amt={info['psn_part_amt']:.2f}  [{_funds(steps[step])}]")
    print(f"retry: {steps['retry_warn_msg']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
