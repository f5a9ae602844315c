"""The pages over HTTP (TestClient): roles and scope, masking, escaping, CSRF, cookies,
audit, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from demo_world import CERTNO, DISTRICT, NAME, PSN_NO, YEAR, visit
from sqlalchemy import select
from web_helpers import Site, csrf_of, sign_in

from medaid.app import auth, records, users
from medaid.app.uow import UnitOfWork
from medaid.registry import idcard
from medaid.store.models import AuditEntry, Settlement, Token

PAGES = ("/", "/persons", f"/persons/{PSN_NO}", "/settle", "/rosters", "/applications",
         "/policy", "/policy/nanjing", "/policy/nanjing/conformance")
# Which role may open which page (the 403s are the point): persons for the readers of
# records, settling for hospitals and admins (caseworkers: 试算 only), rosters for
# caseworkers and admins.
MAY = {
    "admin": set(PAGES),
    "caseworker": set(PAGES),
    "auditor": set(PAGES) - {"/settle", "/rosters"},
    "finance": set(PAGES) - {"/settle", "/rosters"},
    "hospital": {"/", "/settle", "/policy", "/policy/nanjing", "/policy/nanjing/conformance"},
}


@pytest.mark.parametrize("role", sorted(MAY))
def test_each_role_opens_its_pages_and_gets_403_elsewhere(site: Site, role: str) -> None:
    c = site.client(role)
    for path in PAGES:
        r = c.get(path)
        expected = 200 if path in MAY[role] else 403
        assert r.status_code == expected, (role, path, r.status_code)
        if expected == 403:
            assert "无权" in r.text and r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("role", sorted(MAY))
def test_the_menu_shows_only_what_the_role_may_open(site: Site, role: str) -> None:
    nav = re.search(r"<nav>(.*?)</nav>", site.client(role).get("/").text, re.S)
    assert nav
    core = ("/persons", "/settle", "/rosters", "/applications", "/policy")  # casework pages:
    shown = set(re.findall(r'href="([^"]+)"', nav.group(1))) & set(core)  # test_casework_pages
    assert shown == {p for p in core if p in MAY[role]}


def test_signed_out_visitors_are_sent_to_sign_in(site: Site) -> None:
    c = site.client()
    for path in PAGES:
        r = c.get(path)
        assert (r.status_code, r.headers["location"]) == (303, "/login")


def test_a_caseworker_of_another_district_may_not_read_the_person(site: Site) -> None:
    with UnitOfWork(site.app.state.sessions) as uow:  # a caseworker of 鼓楼区 320106
        users.create(uow, auth.CLI, "gulou", "a long password 1", "caseworker", "320106")
    c = site.client()
    sign_in(c, "gulou", "a long password 1")
    # as unknown to them as a number that exists nowhere: 404, not 403
    assert c.get(f"/persons/{PSN_NO}").status_code == 404
    assert c.get("/persons/NO-SUCH-PERSON").status_code == 404
    found = c.post("/persons", data={"csrf": csrf_of(c), "q": CERTNO})
    assert found.status_code == 200 and PSN_NO not in found.text  # not in their district


def _settlements(site: Site) -> int:
    with UnitOfWork(site.app.state.sessions) as uow:
        return len(uow.session.scalars(select(Settlement.id)).all())


def test_a_caseworker_may_only_try_a_settlement_of_its_district(site: Site) -> None:
    c = site.client("caseworker")
    form = c.get("/settle").text
    assert 'value="preview"' in form and 'value="settle"' not in form
    assert 'name="medins_setl_id"' not in form
    before = _settlements(site)
    data = {k: v for k, v in visit(mdtrt_id="WEB-M-CW").items() if k != "medins_setl_id"}
    r = c.post("/settle", data=data | {"csrf": csrf_of(c), "action": "preview"})
    assert r.status_code == 200 and "试算结果" in r.text
    assert 'data-amount="14400.00"' in r.text  # demo_world.visit: 90% × 16,000
    settle = c.post("/settle", data=data | {"csrf": csrf_of(c), "action": "settle",
                                            "medins_setl_id": "WEB-S-CW"})
    assert settle.status_code == 403
    with UnitOfWork(site.app.state.sessions) as uow:  # a caseworker of 鼓楼区 320106
        users.create(uow, auth.CLI, "gulou-trial", "a long password 3", "caseworker", "320106")
    other = site.client()
    sign_in(other, "gulou-trial", "a long password 3")
    assert other.post("/settle", data=data | {"csrf": csrf_of(other), "action": "preview"}
                      ).status_code == 422  # another district's person: the form's
    # answer for a person number that exists nowhere (no person with psn_no …)
    assert _settlements(site) == before  # a trial stores nothing


@pytest.mark.parametrize("amount", ["1e20", "1e999999999", "NaN", "-Infinity"])
def test_the_settle_form_refuses_an_amount_beyond_any_bill(site: Site, amount: str) -> None:
    c = site.client("caseworker")
    before = _settlements(site)
    data = {k: v for k, v in visit(mdtrt_id="WEB-M-BIG").items() if k != "medins_setl_id"}
    r = c.post("/settle", data=data | {"csrf": csrf_of(c), "action": "preview",
                                       "medfee_sumamt": amount})
    assert r.status_code == 422, r.text[-2000:]
    assert '<span class="why">医疗费用总额：' in r.text  # named at its field, by its label
    assert _settlements(site) == before


def test_session_cookie_flags_and_secure_over_https(site: Site) -> None:
    for https in (False, True):
        c = site.client(https=https)
        login = c.get("/login")
        r = c.post("/login", data={"csrf": re.findall(r'name="csrf" value="([^"]+)"',
                                                      login.text)[0],
                                   "username": "caseworker",
                                   "password": site.demo.passwords["caseworker"]})
        cookie = next(v for k, v in r.headers.multi_items()
                      if k == "set-cookie" and v.startswith("medaid_session="))
        flags = {f.strip().lower() for f in cookie.split(";")[1:]}
        assert {"httponly", "samesite=strict", "path=/"} <= flags
        assert ("secure" in flags) == https


def test_pages_carry_the_security_headers(site: Site) -> None:
    r = site.client("caseworker").get("/persons")
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_a_post_without_this_sessions_csrf_token_is_refused(site: Site) -> None:
    c = site.client("caseworker")
    assert c.post("/persons", data={"q": NAME}).status_code == 403
    other = site.client("admin")
    assert c.post("/persons", data={"q": NAME, "csrf": csrf_of(other)}).status_code == 403
    assert c.post("/persons", data={"q": NAME, "csrf": csrf_of(c)}).status_code == 200
    # signing in needs the sign-in form's own token too
    fresh = site.client()
    r = fresh.post("/login", data={"username": "caseworker",
                                   "password": site.demo.passwords["caseworker"]})
    assert r.status_code == 403 and "medaid_session" not in r.headers.get("set-cookie", "")


def test_wrong_password_is_401_with_the_form_again(site: Site) -> None:
    c = site.client()
    token = re.findall(r'name="csrf" value="([^"]+)"', c.get("/login").text)[0]
    r = c.post("/login", data={"csrf": token, "username": "caseworker",
                               "password": "not the password"})
    assert r.status_code == 401 and "用户名或密码错误" in r.text


def test_search_by_id_number_is_a_post_and_is_audited_without_the_number(site: Site) -> None:
    c = site.client("caseworker")
    r = c.post("/persons", data={"csrf": csrf_of(c), "q": CERTNO.lower()})  # x as typed
    assert r.status_code == 200
    assert f'href="/persons/{PSN_NO}"' in r.text and CERTNO in r.text  # a caseworker sees it
    with UnitOfWork(site.app.state.sessions) as uow:
        last = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "person.search")
                                   .order_by(AuditEntry.seq.desc())).first()
    assert last is not None and last.detail == {"by": "certno", "found": 1}
    assert CERTNO not in str(last.detail)


def test_finance_sees_the_id_number_masked_as_the_api_does(site: Site) -> None:
    masked = idcard.mask(CERTNO)
    assert masked != CERTNO
    finance = site.client("finance").get(f"/persons/{PSN_NO}?year={YEAR}").text
    assert masked in finance and CERTNO not in finance
    worker = site.client("caseworker").get(f"/persons/{PSN_NO}?year={YEAR}").text
    assert CERTNO in worker


def test_reading_a_person_is_audited_as_the_api_does(site: Site) -> None:
    c = site.client("auditor")
    assert c.get(f"/persons/{PSN_NO}?year={YEAR}").status_code == 200
    with UnitOfWork(site.app.state.sessions) as uow:
        last = uow.session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert last is not None
    assert (last.action, last.object, last.detail) == ("person.read", f"person:{PSN_NO}",
                                                       {"year": YEAR})


def test_names_are_escaped(site: Site) -> None:
    hostile = "<script>alert(1)</script>&"
    with UnitOfWork(site.app.state.sessions) as uow:
        records.create_person(uow, auth.CLI, {
            "psn_no": "WEB-X-1", "certno": idcard.make(DISTRICT, __import__("datetime").date(
                1970, 1, 1), 902), "name": hostile, "jurisdiction": "nanjing",
            "district": DISTRICT, "identities": []})
    c = site.client("caseworker")
    for r in (c.post("/persons", data={"csrf": csrf_of(c), "q": "script"}),
              c.get("/persons/WEB-X-1")):
        assert r.status_code == 200
        assert hostile not in r.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;" in r.text


def test_sign_out_revokes_the_session(site: Site) -> None:
    c = site.client("auditor")
    session = c.cookies["medaid_session"]
    r = c.post("/logout", data={"csrf": csrf_of(c)})
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    with UnitOfWork(site.app.state.sessions) as uow:
        row = uow.session.scalars(select(Token).where(
            Token.token_hash == auth.token_hash(session))).one()
    assert row.revoked_at is not None
    c.cookies.set("medaid_session", session)  # replayed: no longer a session
    assert c.get("/persons").status_code == 303


def test_settlement_page_shows_each_amount_with_its_rule_and_article(site: Site) -> None:
    r = site.client("caseworker").get(f"/settlements/{site.demo.setl_id}")
    assert r.status_code == 200
    # the worked stay (demo_world): base 16,000, NJ-A2 90% → 14,400, the person pays 7,600
    assert 'data-amount="14400.00">¥14,400.00' in r.text
    assert 'data-amount="7600.00">¥7,600.00' in r.text
    assert "NJ-A2" in r.text and "（四）" in r.text and "90% × 16,000.00元" in r.text


def test_a_report_file_is_served_only_by_its_listed_name(site: Site, tmp_path: object,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    from pathlib import Path

    root = Path(str(tmp_path)) / "reforms"
    (root / "r1").mkdir(parents=True)
    (root / "r1" / "report.html").write_text("<title>试算 &lt;一&gt;</title><p>x</p>",
                                              encoding="utf-8")
    (root / "secret.html").write_text("no", encoding="utf-8")
    monkeypatch.setenv("MEDAID_REFORMS_DIR", str(root))
    c = site.client("finance")
    listing = c.get("/policy").text
    assert 'href="/policy/reforms/r1/report.html"' in listing and "试算 &lt;一&gt;" in listing
    r = c.get("/policy/reforms/r1/report.html")
    assert r.status_code == 200 and r.headers["content-security-policy"].startswith("sandbox")
    for bad in ("/policy/reforms/r1/../secret.html", "/policy/reforms/r1/report.txt",
                "/policy/reforms/r2/report.html", "/policy/reforms/%2E%2E/secret.html"):
        assert c.get(bad).status_code == 404, bad


@pytest.mark.parametrize("first", ["lists", "funds"])
def test_the_menu_order_does_not_depend_on_which_page_module_is_imported_first(
        first: str) -> None:
    import subprocess
    import sys
    code = (f"import medaid.web.{first}, medaid.web\n"
            "from medaid.web.render import PAGES\n"
            "print(' '.join(p.label for p in PAGES.values() if p.menu))")
    labels = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                            text=True).stdout.split()
    assert labels == ["人员", "结算", "名单导入", "申请", "预警", "慈善", "资金", "指标",
                      "人员名单", "结算清单", "稽核", "审计日志", "政策"]
