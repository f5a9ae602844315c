"""Every error of a page's form at once, in Chinese, each naming its field by the form's
label: a form sent with several bad fields answers 422 with a message for each of them,
and stores nothing."""

from __future__ import annotations

import re

from demo_world import PSN_NO
from sqlalchemy import func, select
from web_helpers import Site, csrf_of

from medaid.core import clock
from medaid.store.application_models import Application

ERRORS = re.compile(r'<ul class="errors">(.*?)</ul>', re.S)


def _errors(html: str) -> list[str]:
    """The messages the form lists, in their order."""
    found = ERRORS.search(html)
    assert found, html
    return re.findall(r"<li>([^<]*)</li>", found.group(1))


def _applications(site: Site) -> int:
    with site.app.state.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Application)) or 0)


def test_the_intake_form_lists_every_error(site: Site) -> None:
    c = site.client("caseworker")
    before = _applications(site)
    r = c.post("/applications/new", data={"csrf": csrf_of(c), "psn_no": "", "kind": "bogus",
                                          "applied_on": "2026-13-01", "note": ""})
    assert r.status_code == 422
    assert _errors(r.text) == ["人员编号：必填", "申请类型：请选择申请类型",
                               "申请日期：应为日期，如 2026-03-01"]
    later = c.post("/applications/new", data={"csrf": csrf_of(c), "psn_no": PSN_NO,
                                              "kind": "post_hoc", "applied_on": "2099-01-01"})
    assert later.status_code == 422 and _errors(later.text) == [
        f"申请日期：不能晚于今天（{clock.today()}）"]
    assert _applications(site) == before
