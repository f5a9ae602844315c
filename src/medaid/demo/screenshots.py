"""PNGs of each page at 1366×768 on the demo data: `python -m medaid.demo.screenshots
--out out/screenshots` (`make screenshots`).

Serves a fresh demo database (the service's demo seed, users and roster, a few settled
visits of one person, and a settled demo year with its warnings, charity referral, fund
year and indicators) on a free local port, and photographs the pages with
Debian's headless Chromium through Playwright (never a downloaded browser).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import select

from medaid.api.app import create_app
from medaid.app import auth, settlements, wire
from medaid.app.uow import UnitOfWork
from medaid.core import clock
from medaid.demo import applications, funds
from medaid.demo import seed as demo
from medaid.demo import year as demo_year
from medaid.engine.case import dumps
from medaid.registry import idcard
from medaid.store.models import Identity, Person

VIEWPORT: Any = {"width": 1366, "height": 768}  # playwright's ViewportSize
HOSPITAL = "H32010200001"  # the demo's first Nanjing hospital (the hospital user's)


def _visit(psn_no: str, n: int, start: str, end: str, total: str, hifp: str,
           hifmi: str) -> bytes:
    return dumps({"medins_setl_id": f"DEMO-{n}", "mdtrt_id": f"DEMO-M-{n}", "psn_no": psn_no,
                  "fixmedins_code": HOSPITAL, "med_type": "21", "start": start, "end": end,
                  "medfee_sumamt": Decimal(total), "fulamt_ownpay_amt": Decimal("2300"),
                  "overlmt_selfpay": Decimal(0), "preselfpay_amt": Decimal("800"),
                  "hifp_pay": Decimal(hifp), "hifmi_pay": Decimal(hifmi)}).encode()


def seed(uow: UnitOfWork) -> tuple[dict[str, str], str, str]:
    """The demo, and two settled stays of a 玄武区 person in force this year: the users'
    passwords, that person's psn_no and the second settlement's setl_id."""
    year = clock.today().year
    demo.seed(uow)
    passwords = {u.username: u.password for u in demo.demo_users(uow)}
    demo.import_demo_roster(uow, clock.today())
    applications.demo(uow, year)
    mid = date(year, 3, 1)
    psn_no = uow.session.scalars(
        select(Person.psn_no).join(Identity).where(
            Person.district == "320102", Identity.from_date <= date(year, 1, 1),
            (Identity.to_date.is_(None)) | (Identity.to_date >= mid))
        .order_by(Person.psn_no)).first()
    assert psn_no is not None, "the demo has a person in force in 玄武区"
    setl_id = ""
    for n, (start, end, total, hifp, hifmi) in enumerate((
            ("03-02", "03-12", "48600", "28000", "2100"),
            ("07-15", "07-30", "126000.50", "70000", "18000")), start=1):
        req = wire.parse_visit_request(_visit(psn_no, n, f"{year}-{start}", f"{year}-{end}",
                                              total, hifp, hifmi), settling=True)
        setl_id = settlements.settle(uow, auth.CLI, req).entry.setl_id
    casework_year(uow, year)
    return passwords, psn_no, setl_id


def casework_year(uow: UnitOfWork, year: int) -> None:
    """A settled demo year, its warnings, programmes and a referral, and its fund year as
    if on 1 April of the next year (every month's batch paid, the year cleared), so that
    each casework page has something in each of its sections."""
    demo_year.settle_year(uow, year)
    demo_year.demo(uow, year)
    funds.demo(uow, year, on=date(year + 1, 4, 1))


def roster_file(folder: Path) -> tuple[Path, Path]:
    """A roster of 玄武区 with one bad row, and the same without it."""
    good = [f"{name},{idcard.make('320102', date(1958 + k, 3, 9), 700 + k)},{cat},"
            f"{clock.today().year}-01-01,民政"
            for k, (name, cat) in enumerate((("陈建国", "低保"), ("林秀英", "特困"),
                                             ("黄明", "低边")))]
    bad = f"赵强,{idcard.make('320102', date(1970, 8, 1), 799)[:-1]}0,低保,2026-13-01,民政"
    head = "姓名,身份证号,身份类别,认定日期,认定部门"
    with_bad, clean = folder / "玄武区民政名单.csv", folder / "玄武区民政名单-改.csv"
    with_bad.write_text("\n".join([head, *good[:2], bad, good[2]]) + "\n", encoding="utf-8")
    clean.write_text("\n".join([head, *good]) + "\n", encoding="utf-8")
    return with_bad, clean


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Shot = Callable[[Any], None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/screenshots"))
    args = parser.parse_args(argv)
    executable = shutil.which("chromium")
    if executable is None:
        sys.stderr.write("error: chromium is not installed (apt-get install chromium "
                         "fonts-noto-cjk)\n")
        return 2
    from playwright.sync_api import sync_playwright

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(f"sqlite:///{folder}/demo.sqlite")
        with UnitOfWork(app.state.sessions) as uow:
            passwords, psn_no, setl_id = seed(uow)
        bad_roster, good_roster = roster_file(Path(folder))
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=executable, headless=True,
                                            args=["--lang=zh-CN"])
                shots = _shots(psn_no, setl_id, bad_roster, good_roster)
                for user, pages in shots:
                    context = browser.new_context(base_url=base, viewport=VIEWPORT,
                                                  locale="zh-CN")
                    page = context.new_page()
                    if user:
                        page.goto("/login")
                        page.get_by_label("用户名").fill(user)
                        page.get_by_label("密码").fill(passwords[user])
                        page.get_by_role("button", name="登录").click()
                        page.wait_for_url(f"{base}/")
                    for name, act in pages:
                        act(page)
                        page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                        print(out / f"{name}.png")
                    context.close()
                browser.close()
        finally:
            server.should_exit = True
            thread.join(10)
    return 0


def _shots(psn_no: str, setl_id: str, bad_roster: Path, good_roster: Path
           ) -> list[tuple[str | None, list[tuple[str, Shot]]]]:
    year = clock.today().year

    def search(page: Any) -> None:
        page.goto("/persons")
        page.get_by_label("身份证号、人员编号或姓名").fill(psn_no)
        page.get_by_role("button", name="查询").click()

    def trial(page: Any) -> None:
        page.goto("/settle")
        for name, value in (("psn_no", psn_no), ("start", f"{year}-09-01"),
                            ("end", f"{year}-09-08"), ("medfee_sumamt", "23456.78"),
                            ("fulamt_ownpay_amt", "1200"), ("preselfpay_amt", "456.78"),
                            ("hifp_pay", "14000"), ("hifmi_pay", "800")):
            page.locator(f'[name="{name}"]').fill(value)
        page.get_by_role("button", name="试算").click()

    def roster(path: Path) -> Shot:
        def act(page: Any) -> None:
            page.goto("/rosters")
            page.get_by_label("名单文件（CSV 或 XLSX）").set_input_files(str(path))
            page.get_by_label("部门完整名单").check()
            page.get_by_role("button", name="试导入（不保存）").click()
        return act

    def dismiss_without_reason(page: Any) -> None:
        """A new warning verified, then 排除 with no reason: the page says it is needed."""
        page.goto("/warnings?kind=poverty&status=new")
        page.locator("table.warnings a").first.click()
        page.get_by_role("button", name="核实").click()
        page.get_by_role("button", name="排除").click()

    def print_slip(page: Any) -> None:
        page.goto(f"/settlements/{setl_id}")
        page.emulate_media(media="print")

    def settle_errors(page: Any) -> None:
        """Every error of the form at once, the person named above them."""
        trial(page)
        for name, value in (("medfee_sumamt", "abc"), ("fulamt_ownpay_amt", "-5"),
                            ("hifmi_pay", "1.234")):
            page.locator(f'[name="{name}"]').fill(value)
        page.get_by_role("button", name="试算").click()
        page.locator("#person-found").filter(has_text="·").wait_for()

    return [
        (None, [("01-login", lambda page: page.goto("/login"))]),
        ("caseworker", [
            ("02-home", lambda page: page.goto("/")),
            ("03-persons", search),
            ("04-person", lambda page: page.goto(f"/persons/{psn_no}?year={year}")),
            ("05-settlement", lambda page: page.goto(f"/settlements/{setl_id}")),
            ("07-roster-bad-row", roster(bad_roster)),
            ("08-roster-dry-run", roster(good_roster)),
            ("12-forbidden", lambda page: page.goto("/settle")),
            ("13-applications", lambda page: page.goto("/applications")),
            ("14-application", lambda page: (page.goto("/applications?state=under_review"),
                                              page.locator("table.list a").first.click())),
            ("15-warnings", lambda page: page.goto("/warnings")),
            ("16-warning", lambda page: (page.goto("/warnings?kind=poverty"),
                                         page.locator("table.warnings a").first.click())),
            ("17-warning-dismiss-no-reason", dismiss_without_reason),
            ("18-charity", lambda page: page.goto("/charity")),
            ("19-funds-district", lambda page: page.goto("/funds")),
            ("20-batch", lambda page: (page.goto("/funds"),
                                       page.locator("table.batches a").first.click())),
            ("21-indicators-district", lambda page: page.goto("/indicators")),
            ("30-person-list", lambda page: page.goto("/lists/persons?category=dibao")),
            ("31-settlement-list", lambda page: page.goto("/lists/settlements")),
            ("32-batch-settlements", lambda page: (
                page.goto("/funds"), page.locator("table.batches a").first.click(),
                page.get_by_role("link", name="结算明细（对账）").click())),
            ("33-slip-print", print_slip),
            ("35-not-found", lambda page: page.goto("/persons-list-typo")),
            ("40-application-intake", lambda page: (page.emulate_media(media="screen"),
                                                     page.goto("/applications/new"))),
            ("41-approve-confirm", lambda page: (
                page.goto("/applications?state=under_review"),
                page.locator("table.list a").first.click(),
                page.get_by_role("button", name="批准并结算").click())),
        ]),
        ("admin", [
            ("06-settle-trial", trial),
            ("34-settle-errors", settle_errors),
            ("09-policy", lambda page: page.goto("/policy")),
            ("10-policy-nanjing", lambda page: page.goto("/policy/nanjing")),
            ("11-conformance", lambda page: page.goto("/policy/nanjing/conformance")),
            ("22-charity-register", lambda page: page.goto("/charity")),
        ]),
        ("finance", [
            ("42-finance-home", lambda page: page.goto("/")),
            ("23-funds-city", lambda page: page.goto(f"/funds?jurisdiction=nanjing&year={year}")),
            ("24-indicators-yichun",
             lambda page: page.goto(f"/indicators?jurisdiction=yichun&year={year}")),
        ]),
        ("hospital", [("25-hospital-batches", lambda page: page.goto("/funds")),
                      ("36-hospital-settlements", lambda page: page.goto("/lists/settlements")),
                      ("43-hospital-home", lambda page: page.goto("/")),
                      ("44-cancel-confirm", lambda page: (
                          page.goto("/"),
                          page.locator("#queue-settlements a", has_text="结算单").first.click(),
                          page.get_by_role("link", name="撤销结算").click()))]),
        ("auditor", [("45-audit-log", lambda page: page.goto("/audit-log")),
                     ("46-audit-verify", lambda page: (
                         page.goto("/audit-log"),
                         page.get_by_role("button", name="校验哈希链").click()))]),
    ]


if __name__ == "__main__":
    sys.exit(main())
