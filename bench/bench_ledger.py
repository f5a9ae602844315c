"""Time `medaid ledger verify`, `medaid backup` and `medaid restore` on a SQLite ledger.

    python bench/bench_ledger.py [--settlements 5000] [--persons 500]

A fresh SQLite database in a temporary folder: one hospital, `--persons` Nanjing dibao
persons, `--settlements` inpatient settlements through the API in-process (TestClient),
one in twenty cancelled. Then, each timed: ledger verify, audit verify, backup (while the
app holds the database open), restore into a new file (which checks the backup, copies it
and checks the copy). Any failed check makes the exit status 1.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from medaid.api.app import create_app
from medaid.app import auth
from medaid.app.uow import UnitOfWork
from medaid.cli.main import app as cli
from medaid.registry import idcard


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--settlements", type=int, default=5000)
    ap.add_argument("--persons", type=int, default=500)
    args = ap.parse_args()
    rng = random.Random(7)
    folder = Path(tempfile.mkdtemp(prefix="medaid-ledger-"))
    url = f"sqlite:///{folder / 'medaid.sqlite'}"
    served = create_app(url)
    with UnitOfWork(served.state.sessions) as uow:
        admin = {"Authorization": f"Bearer {auth.issue(uow, 'admin')}"}
        uow.commit()
    failed = False
    with TestClient(served) as client:
        client.post("/api/v1/institutions", headers=admin, json={
            "fixmedins_code": "H32010200001", "name": "医院", "jurisdiction": "nanjing",
            "district": "320102", "level": 3}).raise_for_status()
        for i in range(args.persons):
            client.post("/api/v1/persons", headers=admin, json={
                "psn_no": f"P{i}", "name": "张三", "jurisdiction": "nanjing",
                "district": "320102",
                "certno": idcard.make("320102", date(1950, 1, 1) + timedelta(days=i), i),
                "identities": [{"category": "dibao", "department": "民政",
                                "from": "2023-01-15"}]}).raise_for_status()
        start = time.perf_counter()
        for n in range(args.settlements):
            total = rng.randrange(1000, 80000) * 100
            r = client.post("/api/v1/settlements", json={
                "fixmedins_code": "H32010200001", "medins_setl_id": f"S{n}",
                "mdtrt_id": f"M{n}", "psn_no": f"P{rng.randrange(args.persons)}",
                "med_type": "21", "start": "2023-03-01", "end": "2023-03-10",
                "medfee_sumamt": total / 100, "fulamt_ownpay_amt": total // 20 / 100,
                "overlmt_selfpay": 0, "hifp_pay": total * 6 // 1000 / 100,
                "hifmi_pay": total // 100 / 100}, headers=admin)
            if r.status_code != 201:
                print(r.text)
                return 1
            if n % 20 == 19:
                client.post(f"/api/v1/settlements/{r.json()['setl_id']}/cancel",
                            headers=admin).raise_for_status()
        print(f"{args.settlements} settlements ({args.settlements // 20} cancelled) of "
              f"{args.persons} persons through the API in {time.perf_counter() - start:.1f} s")
        runner = CliRunner()
        copy, fresh = folder / "copy.medaid", f"sqlite:///{folder / 'restored.sqlite'}"
        for what, argv in (("ledger verify", ["ledger", "verify", "--database", url]),
                           ("audit verify", ["audit", "verify", "--database", url]),
                           ("backup", ["backup", str(copy), "--database", url]),
                           ("restore", ["restore", str(copy), "--database", fresh]),
                           ("ledger verify (restored)", ["ledger", "verify", "--database",
                                                         fresh])):
            t = time.perf_counter()
            r2 = runner.invoke(cli, argv)
            print(f"{what}: {time.perf_counter() - t:.2f} s, exit {r2.exit_code}: "
                  f"{r2.output.strip()}")
            failed |= r2.exit_code != 0
    served.state.engine.dispose()
    print(f"database {(folder / 'medaid.sqlite').stat().st_size >> 10} KiB, "
          f"backup {copy.stat().st_size >> 10} KiB, in {folder}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
