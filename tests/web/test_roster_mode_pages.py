"""The roster upload page's modes in Debian's headless Chromium: the mode is chosen, an
incremental list ends nobody, and a complete list that would end more than the exit share
lists who ends (masked) and is applied only once that is confirmed — a confirmation the
server checks, not the browser alone."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from web_helpers import Server, browser_sign_in

from medaid.app.uow import UnitOfWork
from medaid.registry import idcard
from medaid.store.models import Identity, Person

DISTRICT = "320113"  # 栖霞区: no demo person lives there, so exits here touch no one else
PEOPLE = [(f"钱{n}", idcard.make(DISTRICT, date(1970, 1, 1 + n), 40 + n)) for n in range(4)]


def _file(folder: Path, name: str, people: list[tuple[str, str]]) -> str:
    path = folder / name
    path.write_text("姓名,身份证号,人员类别,认定日期,认定部门\n" + "".join(
        f"{n},{c},低保,2024-01-01,民政\n" for n, c in people), encoding="utf-8")
    return str(path)


def _open(server: Server) -> set[str]:
    with UnitOfWork(server.app.state.sessions) as uow:
        return set(uow.session.scalars(select(Person.certno).join(Identity).where(
            Person.district == DISTRICT, Identity.to_date.is_(None))))


def _upload(page: Any, path: str, mode: str) -> None:
    page.goto("/rosters")
    page.locator('[name="district"]').fill(DISTRICT)
    page.get_by_label("名单文件（CSV 或 XLSX）").set_input_files(path)
    page.get_by_label(mode).check()
    page.get_by_role("button", name="试导入（不保存）").click()


def test_roster_modes_and_the_confirmation_of_exits(page: Any, server: Server,
                                                    tmp_path: Path) -> None:
    browser_sign_in(page, server, "admin")
    three = _file(tmp_path, "三人.csv", PEOPLE[:3])
    page.goto("/rosters")
    page.locator('[name="district"]').fill(DISTRICT)
    page.get_by_label("名单文件（CSV 或 XLSX）").set_input_files(three)
    page.get_by_role("button", name="试导入（不保存）").click()
    assert page.url.endswith("/rosters") and "试导入结果" not in page.content()  # no mode
    _upload(page, three, "部门完整名单")
    page.get_by_role("button", name="确认导入").click()
    assert "已导入" in page.locator("h2").first.inner_text()
    assert _open(server) == {c for _, c in PEOPLE[:3]}

    one = _file(tmp_path, "一人.csv", PEOPLE[:1])
    _upload(page, one, "部门完整名单")
    listed = page.locator("#exits-to-confirm tbody tr")
    assert listed.count() == 2
    for (name, certno), row in zip(PEOPLE[1:3], listed.all(), strict=True):
        assert row.locator("td").nth(0).inner_text() == name
        assert row.locator("td").nth(1).inner_text() == idcard.mask(certno)
        assert row.locator("td").nth(2).inner_text() == "最低生活保障对象"
    assert "66.7%" in page.locator(".exits-confirm").inner_text()
    # the browser insists on the box; without it the server refuses too
    page.evaluate("document.querySelector('[name=confirm_exits]').removeAttribute('required')")
    page.get_by_role("button", name="确认导入").click()
    assert "请核对退出名单" in page.locator("p.error").inner_text()
    assert _open(server) == {c for _, c in PEOPLE[:3]}  # nobody ended
    page.get_by_label("我已核对").check()
    page.get_by_role("button", name="确认导入").click()
    assert "已导入" in page.locator("h2").first.inner_text()
    assert _open(server) == {PEOPLE[0][1]}

    # an incremental list of one new person: nobody ends, no confirmation asked
    _upload(page, _file(tmp_path, "新增.csv", PEOPLE[3:]), "增量名单")
    assert "不会使任何人退出" in page.locator("section.report").inner_text()
    assert page.locator(".exits-confirm").count() == 0
    page.get_by_role("button", name="确认导入").click()
    assert "已导入" in page.locator("h2").first.inner_text()
    assert _open(server) == {PEOPLE[0][1], PEOPLE[3][1]}
