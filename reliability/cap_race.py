"""Concurrency across processes: one person near a cap, many settlements at once, each sent
twice, spread over several separate `medaid serve` processes on one database.

    python reliability/cap_race.py [--database postgresql|sqlite] [--postgres URL]
                                   [--processes 4] [--settlements 100] [--rounds 1] [--json]

Ningbo's rule NB-A4 caps a 低保 (dibao) person's outpatient assistance at 500 yuan a year.
Each round: a new person whose first visit (base 620.00 → 70% = 434.00) leaves 66.00 under
the cap; then `--settlements` visits of base 20.00 (70% = 14.00 each), every one sent
twice — the copies to two different server processes — all released at the same moment
over `2 × --settlements` connections. Expected, by hand: 66.00 = 4 × 14.00 + 10.00, so four
visits get 14.00, one 10.00 and the rest 0.00; the cap is reached exactly (used = 500.00)
and never passed; each settlement id is one ledger row (one answer 201, its copy 200 with
the same setl_id). Then `medaid ledger verify`. Exit 1 on any other outcome.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

import harness

CAP = Decimal("500.00")  # NB-A4
FIRST_BASE, FIRST_PAID = 620, Decimal("434.00")  # 70% of 620
EACH_BASE = 20  # 70% = 14.00
HOSPITAL, DISTRICT = "H33020300001", "330203"


def _visit(medins: str, psn_no: str, base: int) -> dict[str, Any]:
    return {"medins_setl_id": medins, "mdtrt_id": f"M-{medins}", "psn_no": psn_no,
            "med_type": "11", "start": "2023-04-01", "end": "2023-04-01",
            "medfee_sumamt": base + 30, "fulamt_ownpay_amt": 0, "overlmt_selfpay": 0,
            "preselfpay_amt": 0, "hifp_pay": 30, "hifmi_pay": 0}


def _tokens(url: str) -> tuple[str, str]:
    """An admin token, and a hospital token of HOSPITAL (created here)."""
    from sqlalchemy import select

    from medaid.app import auth, records
    from medaid.app.auth import CLI
    from medaid.app.uow import UnitOfWork
    from medaid.store import db
    from medaid.store.models import Institution

    engine = db.make_engine(url)
    db.upgrade(engine)
    with UnitOfWork(db.sessions(engine)) as uow:
        records.create_institution(uow, CLI, {
            "fixmedins_code": HOSPITAL, "name": "宁波测试医院", "jurisdiction": "ningbo",
            "district": DISTRICT, "level": 1})
        admin = auth.issue(uow, "admin")
        inst = uow.session.scalars(select(Institution.id)
                                   .where(Institution.code == HOSPITAL)).one()
        hospital = auth.issue(uow, "hospital", inst)
        uow.commit()
    engine.dispose()
    return admin, hospital


async def _race(ports: list[int], token: str, bodies: list[dict[str, Any]]
                ) -> list[tuple[int, dict[str, Any]]]:
    """Each body twice, to two different processes, every request on a connection of its
    own, all sent at once."""
    sends = [(ports[(i + copy) % len(ports)], body)
             for i, body in enumerate(bodies) for copy in (0, 1)]
    go = asyncio.Event()

    async def one(port: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        http = harness.Http(f"http://127.0.0.1:{port}")
        raw = http.request("/api/v1/settlements", token, json.dumps(body).encode())
        try:
            http.reader, http.writer = await asyncio.open_connection(http.host, http.port)
            await go.wait()
            status, data = await http.send(raw)
        finally:
            await http.close()
        return status, json.loads(data, parse_float=Decimal)

    tasks = [asyncio.create_task(one(port, body)) for port, body in sends]
    await asyncio.sleep(0.5)
    go.set()
    return list(await asyncio.gather(*tasks))


def one_round(n: int, base_urls: list[str], ports: list[int], admin: str, hospital: str,
              settlements: int) -> dict[str, Any]:
    psn_no = f"NB-RACE-{n}"
    with httpx.Client(base_url=base_urls[0], timeout=60,
                      headers={"Authorization": f"Bearer {admin}"}) as api:
        from medaid.registry import idcard

        r = api.post("/api/v1/persons", json={
            "psn_no": psn_no, "certno": idcard.make(DISTRICT, date(1950, 1, 1), n),
            "name": "王芳", "jurisdiction": "ningbo", "district": DISTRICT,
            "identities": [{"category": "dibao", "department": "民政", "from": "2023-01-01"}]})
        assert r.status_code == 201, r.text
        first = api.post("/api/v1/settlements", json=_visit(f"R{n}-first", psn_no, FIRST_BASE)
                         | {"fixmedins_code": HOSPITAL})
        assert first.status_code == 201, first.text
        assert Decimal(str(first.json()["maf_pay"])) == FIRST_PAID, first.text
        bodies = [_visit(f"R{n}-{i:03d}", psn_no, EACH_BASE) for i in range(settlements)]
        answers = asyncio.run(_race(ports, hospital, bodies))
        year = json.loads(api.get(f"/api/v1/persons/{psn_no}/years/2023").text,
                          parse_float=Decimal)
    statuses = Counter(status for status, _ in answers)
    setl_ids: dict[str, set[str]] = {}
    for _, got in answers:
        if "setl_id" in got:
            setl_ids.setdefault(got["medins_setl_id"], set()).add(got["setl_id"])
    paid = sorted((got["maf_pay"] for status, got in answers if status == 201), reverse=True)
    used = next(p["used"] for p in year["pools"] if p["pool"] == "outpatient_cap")
    left = CAP - FIRST_PAID
    whole, rest = divmod(left, Decimal(14))
    expected = [Decimal(14)] * int(whole) + [rest] + [Decimal(0)] * (settlements - int(whole) - 1)
    return {"statuses": dict(statuses), "cap_used": str(used), "paid": str(sum(paid)),
            "one_setl_id_each": all(len(v) == 1 for v in setl_ids.values())
            and len(setl_ids) == settlements,
            "ok": statuses == {201: settlements, 200: settlements} and used == CAP
            and paid == expected and all(len(v) == 1 for v in setl_ids.values())
            and len(setl_ids) == settlements and len(year["settlements"]) == settlements + 1}


def race(url: str, args: argparse.Namespace) -> dict[str, Any]:
    admin, hospital = _tokens(url)
    ports = [harness.free_port() for _ in range(args.processes)]
    with ThreadPoolExecutor(args.processes) as pool:  # start them side by side
        procs = list(pool.map(lambda port: harness.serve(url, 1, port), ports))
    started = time.perf_counter()
    try:
        rounds = [one_round(n, [f"http://127.0.0.1:{p}" for p in ports], ports, admin,
                            hospital, args.settlements) for n in range(args.rounds)]
    finally:
        for proc in procs:
            harness.stop(proc)
    elapsed = time.perf_counter() - started
    ledger = harness.settled_ids(url)
    duplicated = sorted(k for k, v in ledger.items() if len(v) > 1)
    verified, verdict = harness.ledger_verify(url)
    return {"database": url.split(":", 1)[0].split("+")[0], "processes": args.processes,
            "settlements": args.settlements, "rounds": rounds, "elapsed_s": round(elapsed, 1),
            "rows": sum(len(v) for v in ledger.values()), "duplicated": len(duplicated),
            "ledger_verify_ok": verified, "ledger_verify": verdict, "load_end": harness.load()}


def report(r: dict[str, Any]) -> bool:
    bad = [i for i, x in enumerate(r["rounds"]) if not x["ok"]]
    overrun = [i for i, x in enumerate(r["rounds"]) if Decimal(x["cap_used"]) > CAP]
    print(f"cap race on {r['database']}: {r['rounds'].__len__()} rounds × {r['settlements']} "
          f"settlements each sent twice across {r['processes']} server processes, "
          f"{r['elapsed_s']} s; load average {r['load_end']}")
    for i, x in enumerate(r["rounds"][:3]):
        print(f"  round {i}: answers {x['statuses']}, paid by the race {x['paid']}, cap used "
              f"{x['cap_used']} of {CAP}, one setl_id per settlement id: "
              f"{x['one_setl_id_each']}")
    print(f"  rounds not as computed: {len(bad)}; cap overruns: {len(overrun)}; ledger rows "
          f"{r['rows']}, duplicated ids {r['duplicated']}; ledger verify: {r['ledger_verify']}")
    return not bad and not overrun and r["duplicated"] == 0 and r["ledger_verify_ok"] \
        and r["rows"] == len(r["rounds"]) * (r["settlements"] + 1)


def _options(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--settlements", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=1)


def main() -> None:
    harness.main(__doc__ or "", _options, race, report)


if __name__ == "__main__":
    main()
