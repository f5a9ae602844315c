"""Every error of a page's form at once, in Chinese, each naming its field by the form's
label: a form sent with several bad fields answers 422 with a message for each of them,
and stores nothing."""

from __future__ import annotations

import re

from demo_world import PSN_NO, YEAR
from sqlalchemy import func, select
from web_helpers import Site, csrf_of

from medaid.core import clock
from medaid.policy import model
from medaid.store.application_models import Application

ERRORS = re.compile(r'<ul class="errors">(.*?)</ul>', re.S)
# a wrong 参保地 is offered the cities there are: their Chinese names, in their codes' order
WRONG_CITY = "参保地：没有统筹区「atlantis」的政策，可选：" + "、".join(
    model.versions(j)[-1].spec.name for j in model.jurisdictions())


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
        f"申请日期 2099-01-01 不能晚于今天（{clock.today()}）"]
    assert _applications(site) == before


def test_the_invoice_form_lists_every_error(site: Site) -> None:
    c = site.client("caseworker")
    csrf = csrf_of(c)
    r = c.post("/applications/new", data={"csrf": csrf, "psn_no": PSN_NO, "kind": "post_hoc",
                                          "applied_on": f"{YEAR}-01-02"})
    assert r.status_code == 303, r.text
    app_no = r.headers["location"].split("/")[2].split("?")[0]
    r = c.post(f"/applications/{app_no}/invoices", data={
        "csrf": csrf, "mdtrt_id": "", "med_type": "21", "location": "out_of_province",
        "start": f"{YEAR}-02-31", "end": f"{YEAR}-02-05", "medfee_sumamt": "十万",
        "fulamt_ownpay_amt": "-1", "hifp_pay": "1.234"})
    assert r.status_code == 422
    assert sorted(_errors(r.text)) == sorted([
        "发票号：必填", "入院/就诊日期：应为日期，如 2026-03-01",
        "医疗费用总额：应为金额（元），如 1234.56", "全自费金额：不能为负数",
        "基本医保支付：金额至多保留两位小数"])
    assert "有 5 处需要修改" in r.text and "$." not in r.text
    ok = {"csrf": csrf, "mdtrt_id": "FP-1", "med_type": "21", "location": "out_of_province",
          "start": f"{YEAR}-02-01", "end": f"{YEAR}-02-05", "medfee_sumamt": "20000"}
    assert c.post(f"/applications/{app_no}/invoices", data=ok).status_code == 303
    twice = c.post(f"/applications/{app_no}/invoices", data=ok)
    assert twice.status_code == 422 and _errors(twice.text) == ["发票号：本申请中已有「FP-1」"]
    with site.app.state.sessions() as s:
        app = s.scalars(select(Application).where(Application.app_no == app_no)).one()
        assert len(app.visits) == 1


def test_the_charity_programme_form_lists_every_error(site: Site) -> None:
    c = site.client("admin")
    form = {"csrf": csrf_of(c), "name": "", "organisation": "基金会", "min_burden": "五千",
            "min_age": "-1", "max_age": "17", "annual_slots": "0",
            "active_from": f"{YEAR}-02-30", "jurisdictions": ["atlantis"]}
    r = c.post("/charity", data=form)
    assert r.status_code == 422
    assert sorted(_errors(r.text)) == sorted([
        "项目名称：必填", "起助负担（元，三重制度后）：应为金额（元），如 1234.56",
        "最低年龄：应为 0 至 150 的整数", "年度名额：应为 1 至 1000000 的整数",
        "开始日期：应为日期，如 2026-03-01", WRONG_CITY])
    # what only two fields together get wrong, named at the later one
    good = form | {"name": "儿童救助", "min_burden": "5000", "min_age": "0",
                   "annual_slots": "20", "active_from": f"{YEAR}-01-01",
                   "jurisdictions": ["nanjing"]}
    ages = c.post("/charity", data=good | {"min_age": "18"})
    assert ages.status_code == 422 and _errors(ages.text) == ["最高年龄：不能小于最低年龄"]
    ends = c.post("/charity", data=good | {"active_to": f"{YEAR - 1}-12-31"})
    assert ends.status_code == 422 and _errors(ends.text) == [
        "结束日期（可空）：不能早于开始日期"]
    assert "儿童救助" not in c.get("/charity").text.split("</form>")[-1]


def test_an_application_act_refused_says_why_in_chinese(site: Site) -> None:
    c = site.client("caseworker")
    csrf = csrf_of(c)
    r = c.post("/applications/new", data={"csrf": csrf, "psn_no": PSN_NO, "kind": "post_hoc",
                                          "applied_on": f"{YEAR}-01-02"})
    app_no = r.headers["location"].split("/")[2].split("?")[0]
    empty = c.post(f"/applications/{app_no}/submit", data={"csrf": csrf})
    assert empty.status_code == 409
    assert f"申请 {app_no} 尚无发票：请先添加再提交" in empty.text
    draft = c.post(f"/applications/{app_no}", data={"csrf": csrf, "action": "reject",
                                                    "reason": "发票不符"})
    assert draft.status_code == 409
    assert f"申请 {app_no} 当前为草稿，不能驳回（仅限审核中时）" in draft.text
    with site.app.state.sessions() as s:
        waiting = s.scalars(select(Application.app_no).where(
            Application.state == "under_review").order_by(Application.id)).first()
    assert waiting
    blank = c.post(f"/applications/{waiting}", data={"csrf": csrf, "action": "reject",
                                                     "reason": ""})
    assert blank.status_code == 422 and "驳回理由：必填" in blank.text


def test_the_roster_form_lists_every_error(site: Site) -> None:
    c = site.client("admin")
    r = c.post("/rosters", data={"csrf": csrf_of(c), "jurisdiction": "atlantis",
                                 "district": "3201", "month": "2026-13"})
    assert r.status_code == 422
    assert sorted(_errors(r.text)) == sorted([
        WRONG_CITY, "辖区代码：应为 6 位行政区划代码", "名单月份：应为年月，如 2026-03",
        "名单类型：请选择名单类型：部门完整名单或增量名单", "名单文件：请选择名单文件"])


def test_the_payment_audit_form_lists_every_error(site: Site) -> None:
    c = site.client("auditor")
    r = c.post("/audit", data={"csrf": csrf_of(c), "jurisdiction": "atlantis",
                               "rounding": "yearly"})
    assert r.status_code == 422
    assert sorted(_errors(r.text)) == sorted([
        "政策（统筹地区）：请选择政策", "舍入方式：请选择逐次舍入或累计舍入",
        "平台结算数据：请选择平台结算数据文件", "身份名单：请选择身份名单文件"])
