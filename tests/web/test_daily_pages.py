"""The pages of a day's work over HTTP (TestClient) on SQLite and PostgreSQL: the patient's
结算单 (page and PDF), the lists with their filters, pages and Excel exports, the settle
form's person look-up and its errors all at once, the HTML error pages, and the person
page's year.

On top of the demo world (demo_world.py: the dibao stay of 测试低保 at the demo's first
hospital, 90% × 16,000 = 14,400 of assistance, 7,600 paid by the person) this module
settles: a stay of 鼓楼区's 鼓楼病人 at the same hospital, a stay of 测试低保 at the
second hospital, and a stay of 去年病人 last year only.
"""

from __future__ import annotations

import base64
import io
import re
import zlib
from dataclasses import dataclass
from datetime import date

import pytest
from demo_world import CERTNO, DISTRICT, HOSPITAL, NAME, PSN_NO, YEAR, api_body, visit
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from web_helpers import CSRF, Site, sign_in

from medaid.app import auth, records, settlements, users, wire
from medaid.app.uow import UnitOfWork
from medaid.demo import funds
from medaid.registry import idcard
from medaid.store.fund_models import FundBatch
from medaid.store.models import Person

OTHER = "320106"  # 南京市鼓楼区
SECOND = "H32010600002"  # the demo's second Nanjing hospital, 南京市中医院


@dataclass(frozen=True)
class World:
    gulou_setl: str
    second_setl: str
    last_year_psn: str


def _settle(uow: UnitOfWork, tag: str, **fields: str) -> str:
    req = wire.parse_visit_request(api_body(visit(medins_setl_id=f"WEB-D-S{tag}",
                                                  mdtrt_id=f"WEB-D-M{tag}", **fields)),
                                   settling=True)
    return settlements.settle(uow, auth.CLI, req).entry.setl_id


@pytest.fixture(scope="module")
def world(site: Site) -> World:
    with UnitOfWork(site.app.state.sessions) as uow:
        for n, (psn_no, name, district) in enumerate((("WEB-D-G", "鼓楼病人", OTHER),
                                                      ("WEB-D-L", "去年病人", DISTRICT))):
            records.create_person(uow, auth.CLI, {
                "psn_no": psn_no, "certno": idcard.make(district, date(1958, 4, 2 + n), 930 + n),
                "name": name, "jurisdiction": "nanjing", "district": district,
                "identities": [{"category": "dibao", "department": "民政",
                                "from": f"{YEAR - 1}-01-01"}]})
        gulou = _settle(uow, "1", psn_no="WEB-D-G")
        second = _settle(uow, "2", fixmedins_code=SECOND, start=f"{YEAR}-05-01",
                         end=f"{YEAR}-05-03")
        _settle(uow, "3", psn_no="WEB-D-L", start=f"{YEAR - 1}-06-01", end=f"{YEAR - 1}-06-09")
        funds.demo(uow, YEAR, on=date(YEAR + 1, 4, 1))
        users.create(uow, auth.CLI, "gulou-day", "a long password 7", "caseworker", OTHER)
    return World(gulou, second, "WEB-D-L")


def _gulou(site: Site) -> TestClient:
    c = site.client()
    sign_in(c, "gulou-day", "a long password 7")
    return c


def _csrf(c: TestClient) -> str:
    found = CSRF.search(c.get("/settle").text)
    assert found
    return found.group(1)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# -- 结算单 --------------------------------------------------------------------------------------
def test_the_slip_names_the_person_the_hospital_and_the_three_tiers(site: Site, world: World
                                                                     ) -> None:
    for role in ("hospital", "caseworker", "finance"):
        r = site.client(role).get(f"/settlements/{site.demo.setl_id}")
        assert r.status_code == 200, role
        text = _text(r.text)
        assert NAME in text and idcard.mask(CERTNO) in text and CERTNO not in r.text
        assert "南京市第一人民医院" in text and "玄武区" in text
        number = " ".join(re.findall(".{4}", site.demo.setl_id.upper()))
        assert f"结算单号 {number}" in text
        for field, amount in (("medfee_sumamt", "¥60,000.00"), ("hifp_pay", "¥35,000.00"),
                              ("hifmi_pay", "¥3,000.00"), ("maf_pay", "¥14,400.00"),
                              ("psn_part_amt", "¥7,600.00")):
            assert re.search(rf'data-field="{field}">{re.escape(amount)}<', r.text), field
        assert "基本医保" in text and "大病保险" in text and "医疗救助" in text
        assert "90% × 16,000.00元 南京市《宁政办发〔2023〕1号》（四） ¥14,400.00" in text
        assert re.search(r"结算时间 \d{4}-\d\d-\d\d \d\d:\d\d（北京时间）", text)
        assert "@media print" in site.client().get("/static/medaid.css").text


def test_the_slip_is_read_only_within_scope(site: Site, world: World) -> None:
    hospital = site.client("hospital")
    assert hospital.get(f"/settlements/{world.gulou_setl}").status_code == 200
    # another hospital's settlement, another district's person: refused, nothing shown
    for c, setl_id in ((hospital, world.second_setl), (_gulou(site), site.demo.setl_id)):
        for path in (f"/settlements/{setl_id}", f"/settlements/{setl_id}/pdf"):
            r = c.get(path)
            assert r.status_code in (403, 404) and NAME not in r.text, path
            assert r.headers["content-type"].startswith("text/html")


def _pdf_text(pdf: bytes) -> str:
    """The text the PDF's pages draw: reportlab writes each page's content ASCII85 and
    Flate encoded, the CID font's strings as UTF-16BE with octal escapes."""
    out = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        content = zlib.decompress(base64.a85decode(stream.strip().removesuffix(b"~>")))
        for literal in re.findall(rb"\(((?:\\.|[^\\)])*)\) Tj", content, re.S):
            raw = re.sub(rb"\\([0-7]{1,3}|.)", lambda m: bytes([int(m.group(1), 8)])
                         if m.group(1)[:1].isdigit() else m.group(1), literal, flags=re.S)
            out.append(raw.decode("utf-16-be", errors="replace"))
    return "".join(out)


def test_the_slip_downloads_as_a_pdf_in_chinese(site: Site, world: World) -> None:
    r = site.client("hospital").get(f"/settlements/{site.demo.setl_id}/pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-") and b"/BaseFont /STSong-Light" in r.content
    text = _pdf_text(r.content)
    for expected in ("医疗救助一站式结算单", NAME, idcard.mask(CERTNO), "南京市第一人民医院",
                     "¥14,400.00", "¥7,600.00", "《宁政办发〔2023〕1号》（四）", "北京时间"):
        assert expected in text, expected
    assert CERTNO not in text


# -- lists -------------------------------------------------------------------------------------
def _rows(html: str, attr: str) -> list[str]:
    return re.findall(rf'<tr {attr}="([^"]+)"', html)


def test_persons_by_district_and_category_a_page_at_a_time(site: Site, world: World) -> None:
    with UnitOfWork(site.app.state.sessions) as uow:
        everyone = uow.session.scalar(select(func.count()).select_from(Person)) or 0
        in_district = uow.session.scalar(select(func.count()).select_from(Person).where(
            Person.district == DISTRICT)) or 0
    admin = site.client("admin")
    first, second = admin.get("/lists/persons"), admin.get("/lists/persons?page=2")
    assert everyone > 50 and f"共 {everyone} 人" in first.text
    shown = _rows(first.text, "data-psn") + _rows(second.text, "data-psn")
    assert len(_rows(first.text, "data-psn")) == 50 and len(set(shown)) == min(everyone, 100)
    assert admin.get("/lists/persons?page=999").status_code == 422
    # a caseworker: its district only, whatever it asks for
    cw = site.client("caseworker").get("/lists/persons")
    assert f"共 {in_district} 人" in cw.text and "WEB-D-G" not in cw.text
    assert site.client("caseworker").get(f"/lists/persons?district={OTHER}").status_code == 403
    dibao = site.client("caseworker").get("/lists/persons?category=dibao")
    assert PSN_NO in dibao.text and "最低生活保障对象" in dibao.text
    assert site.client("hospital").get("/lists/persons").status_code == 403
    # the ID numbers: whole for a caseworker, masked for finance
    assert CERTNO in dibao.text
    assert CERTNO not in site.client("finance").get("/lists/persons?district=320102").text


def test_the_persons_export_is_the_list_as_filtered(site: Site, world: World) -> None:
    r = site.client("caseworker").get("/lists/persons/export?category=dibao")
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    mine = next(row for row in rows if row[2] == PSN_NO)
    assert mine[0] == NAME and mine[1] == CERTNO and mine[4] == "玄武区"
    assert ws.cell(row=3, column=2).data_type == "s"  # an ID number is text, never a number
    assert all(row[4] == "玄武区" for row in rows)


def test_settlements_by_hospital_date_person_and_each_roles_scope(site: Site, world: World
                                                                  ) -> None:
    admin = site.client("admin")
    all_ = admin.get("/lists/settlements").text
    assert {site.demo.setl_id, world.gulou_setl, world.second_setl} <= set(
        _rows(all_, "data-setl"))
    by_hospital = admin.get(f"/lists/settlements?hospital={SECOND}").text
    assert _rows(by_hospital, "data-setl") == [world.second_setl]
    may = admin.get(f"/lists/settlements?first={YEAR}-05-01&last={YEAR}-05-31").text
    assert _rows(may, "data-setl") == [world.second_setl]
    person = admin.get(f"/lists/settlements?psn_no={PSN_NO}").text
    assert set(_rows(person, "data-setl")) == {site.demo.setl_id, world.second_setl}
    assert admin.get(f"/lists/settlements?first={YEAR}-05-01&last={YEAR}-04-01"
                     ).status_code == 422
    assert "结束日期早于开始日期" in admin.get(
        f"/lists/settlements?first={YEAR}-05-01&last={YEAR}-04-01").text
    assert admin.get("/lists/settlements?first=2026-13-01").status_code == 422
    # the hospital: its own settlements; the caseworker: its district's persons'
    hospital = set(_rows(site.client("hospital").get("/lists/settlements").text, "data-setl"))
    assert world.gulou_setl in hospital and world.second_setl not in hospital
    cw = set(_rows(site.client("caseworker").get("/lists/settlements").text, "data-setl"))
    assert site.demo.setl_id in cw and world.second_setl in cw and world.gulou_setl not in cw
    # one page's totals, in yuan
    one = admin.get(f"/lists/settlements?psn_no={PSN_NO}&first={YEAR}-03-01&last={YEAR}-03-31")
    assert re.search(r'data-total="maf_pay">¥14,400.00<', one.text)


def test_the_settlements_export_writes_amounts_to_the_fen(site: Site, world: World) -> None:
    r = site.client("hospital").get(f"/lists/settlements/export?psn_no={PSN_NO}")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    rows = [row for row in ws.iter_rows(min_row=3, values_only=True)]
    assert [row[-1] for row in rows] == [site.demo.setl_id]  # not the second hospital's
    row = rows[0]
    assert row[3] == "南京市第一人民医院" and row[4] == NAME and row[6] == "玄武区"
    assert list(row[9:14]) == [60000, 35000, 3000, 14400, 7600]


def test_a_batch_lists_its_settlements_and_they_add_up_to_it(site: Site, world: World) -> None:
    with UnitOfWork(site.app.state.sessions) as uow:
        batch = uow.session.scalars(select(FundBatch).join(FundBatch.institution).where(
            FundBatch.institution.has(code=HOSPITAL))).first()
        assert batch is not None
        batch_id = batch.id
    admin = site.client("admin").get(f"/funds/batches/{batch_id}/settlements")
    assert admin.status_code == 200
    listed = set(_rows(admin.text, "data-setl"))
    assert {site.demo.setl_id, world.gulou_setl} <= listed and world.second_setl not in listed
    assert re.search(r'data-field="reconcile">[^<]*一致', admin.text)
    cw = site.client("caseworker").get(f"/funds/batches/{batch_id}/settlements")
    assert world.gulou_setl not in cw.text and site.demo.setl_id in cw.text
    assert "一致" in cw.text and "不一致" not in cw.text
    export = site.client("finance").get(f"/funds/batches/{batch_id}/settlements/export")
    ws = load_workbook(io.BytesIO(export.content)).active
    assert ws is not None
    assert {row[-1] for row in ws.iter_rows(min_row=3, values_only=True)} == listed


# -- the person page's year --------------------------------------------------------------------
def test_the_person_page_opens_on_the_latest_year_with_a_settlement(site: Site, world: World
                                                                    ) -> None:
    c = site.client("caseworker")
    last_year = c.get(f"/persons/{world.last_year_psn}")
    assert last_year.status_code == 200
    assert f'name="year" type="number" min="1990" max="2100" value="{YEAR - 1}"' in last_year.text
    assert "结算记录（1）" in last_year.text and "本年度没有结算记录" not in last_year.text
    this_year = c.get(f"/persons/{PSN_NO}")
    assert f'value="{YEAR}"' in this_year.text and "结算记录（2）" in this_year.text
    asked = c.get(f"/persons/{world.last_year_psn}?year={YEAR}")
    assert "本年度没有结算记录" in asked.text  # a year asked for is the year shown


# -- forms that help ---------------------------------------------------------------------------
def test_the_settle_form_names_the_person_before_settling(site: Site, world: World) -> None:
    hospital = site.client("hospital")
    r = hospital.get(f"/settle/person?psn_no={PSN_NO}&on={YEAR}-03-01")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {"psn_no": PSN_NO, "name": NAME, "categories": ["最低生活保障对象"],
                        "district": "玄武区"}
    before = hospital.get(f"/settle/person?psn_no={PSN_NO}&on={YEAR - 1}-12-31").json()
    assert before["categories"] == []  # the identity starts on 1 January of this year
    assert hospital.get("/settle/person?psn_no=NO-SUCH").status_code == 404
    # a caseworker of another district: the answer for a number that exists nowhere
    other = _gulou(site).get(f"/settle/person?psn_no={PSN_NO}")
    assert other.status_code == 404 and NAME not in other.text
    assert site.client("finance").get(f"/settle/person?psn_no={PSN_NO}").status_code == 403
    assert 'id="person-found"' in hospital.get("/settle").text


def test_every_error_of_the_settle_form_at_once_in_chinese(site: Site, world: World) -> None:
    c = site.client("hospital")
    form = visit(mdtrt_id="", start="2026-02-30", medfee_sumamt="abc",
                 fulamt_ownpay_amt="-5", hifmi_pay="1.234")
    r = c.post("/settle", data=form | {"csrf": _csrf(c), "action": "preview"})
    assert r.status_code == 422
    errors = re.findall(r'<span class="why">([^<]+)</span>', r.text)
    assert sorted(errors) == sorted([
        "就诊ID：必填", "入院/就诊日期：应为日期，如 2026-03-01",
        "医疗费用总额：应为金额（元），如 1234.56", "全自费金额：不能为负数",
        "大病保险支付：金额至多保留两位小数"]), errors
    assert "有 5 处需要修改" in r.text
    # what only the fields together get wrong, named at the field the parser names
    r = c.post("/settle", data=visit(medfee_sumamt="100", fulamt_ownpay_amt="500")
               | {"csrf": _csrf(c), "action": "preview"})
    assert "医疗费用总额：小于全自费、超限价自付与先行自付之和" in r.text
    r = c.post("/settle", data=visit(psn_no="NO-SUCH") | {"csrf": _csrf(c),
                                                          "action": "preview"})
    assert r.status_code == 422 and "人员编号：未找到人员编号「NO-SUCH」" in r.text
    for page in (r.text,):
        assert "$." not in page and "must be" not in page


# -- error pages -------------------------------------------------------------------------------
def test_the_pages_answer_html_error_pages_and_the_api_keeps_json(site: Site, world: World
                                                                  ) -> None:
    c = site.client("caseworker")
    missing = c.get("/no-such-page")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "没有这个页面" in missing.text
    bad = c.get(f"/persons/{PSN_NO}?year=abc")
    assert bad.status_code == 422 and "页面地址中的年度有误" in bad.text
    assert c.post("/lists/persons").status_code == 405
    assert "不接受这种请求" in c.post("/lists/persons").text
    api = c.get("/api/v1/no-such-route")
    assert api.status_code == 404 and api.json()["error"]["status"] == 404
    forbidden = site.client("hospital").get("/lists/persons")
    assert forbidden.status_code == 403 and "无权" in forbidden.text


def test_an_internal_error_is_a_chinese_page_and_json_for_the_api(site: Site, world: World
                                                                  ) -> None:
    def boom() -> None:
        raise RuntimeError("a bug")

    site.app.add_api_route("/test-boom", boom)
    site.app.add_api_route("/api/v1/test-boom", boom)
    c = TestClient(site.app, raise_server_exceptions=False)
    page = c.get("/test-boom")
    assert page.status_code == 500 and "系统内部错误" in page.text and "a bug" not in page.text
    api = c.get("/api/v1/test-boom")
    assert api.status_code == 500 and api.json()["error"]["status"] == 500


def test_a_cancelled_settlements_slip_says_so_and_so_does_the_cancellations(
        site: Site, world: World) -> None:
    with UnitOfWork(site.app.state.sessions) as uow:
        setl_id = _settle(uow, "C", psn_no="WEB-D-G", start=f"{YEAR}-08-01", end=f"{YEAR}-08-02")
        reverse = settlements.cancel(uow, auth.CLI, setl_id, None, None).setl_id
    c = site.client("hospital")
    original = _text(c.get(f"/settlements/{setl_id}").text)
    assert re.search(rf"本结算已被撤销（撤销单\s*{reverse}\s*）", original)
    cancelling = c.get(f"/settlements/{reverse}")
    assert cancelling.status_code == 200
    assert re.search(rf"这是撤销单：撤销\s*{setl_id}", _text(cancelling.text))
    assert re.search(r'data-field="maf_pay">-¥14,400.00<', cancelling.text), cancelling.text
    assert "撤销单" in _pdf_text(c.get(f"/settlements/{reverse}/pdf").content)


def test_a_use_cases_error_page_leads_in_chinese(site: Site, world: World) -> None:
    r = site.client("caseworker").get("/settlements/no-such-settlement")
    assert r.status_code == 404
    text = _text(r.text)  # the use case's own Chinese, without its path or English
    assert "结算ID：未找到结算「no-such-settlement」" in text and "setl_id" not in text
    assert "no settlement" not in text
    forbidden = site.client("hospital").get("/lists/persons")
    assert "定点医院无权打开此页面" in _text(forbidden.text)
    assert "may not open" not in forbidden.text
