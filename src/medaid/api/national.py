"""The national platform's interface (国家医疗保障信息平台): a hospital's billing system (HIS)
sends the platform's message envelope and gets the platform's answer, for 预结算, 结算 and
撤销, outpatient (2206/2207/2208) and inpatient (2303/2304/2305).

An adapter, not a second settlement: the envelope's `input.data` becomes the REST API's
request (`wire.visit_request`, the same strict validation), the same use cases settle,
replay and cancel it (`settlements.preview`, `.settle`, `.cancel`: the same ledger, pools
and audit log), under the same tokens and scopes (`Authorization: Bearer TOKEN`), and the
REST API's answer (`wire.preview_json`, `wire.entry_json`) becomes `output.setlinfo` and
one `setldetail` line per fund. The numbers are therefore the REST API's, to the fen.

Every answer is in the envelope's form: `infcode` 0 is success, −1 an error whose
`err_msg` (Chinese first) names the field by its path in the envelope
(`input.data.medfee_sumamt`). The HTTP status says the same for proxies and monitoring, as
the REST API's does (200; 401 no valid token, 403 outside its role or institution, 404,
409, 422, 503). docs/INTERFACE.md has a request and answer of each transaction.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from medaid.api.caller import TokenDep
from medaid.api.schemas import body
from medaid.app import auth, settlements, wire
from medaid.app.auth import Actor
from medaid.app.uow import UnitOfWork
from medaid.core import clock
from medaid.core.errors import (
    Conflict,
    Forbidden,
    InputError,
    MedaidError,
    NotFound,
    Unauthenticated,
)
from medaid.engine.case import as_district, as_object, as_text, dumps, known_fields
from medaid.policy import model
from medaid.store.models import Settlement

PATH = "/api/v1/national"
PLATFORM_PATH = "/fsi/api/rsfComIfsService/callService"  # the platform's own gateway path
router = APIRouter(tags=["national"])

CST = timezone(timedelta(hours=8), "CST")  # the platform's times are Beijing time
ENVELOPE = ("infno", "msgid", "mdtrtarea_admvs", "insuplc_admdvs", "recer_sys_code",
            "infver", "opter_type", "opter", "opter_name", "inf_time", "fixmedins_code",
            "fixmedins_name", "sign_no", "input")
DATA = "input.data"
# Fields of the platform's settlement input medaid reads but does not settle on: checked
# as text, echoed where the platform's answer has them (insutype), never ignored unread.
NATIONAL_INPUT = ("psn_idet_type", "insutype", "mdtrt_cert_type", "mdtrt_cert_no",
                  "psn_setlway", "acct_used_flag", "chrg_bchno", "mid_setl_flag", "invono")
VISIT_INPUT = (*(f for f in wire.VISIT_REQUEST_FIELDS if f != "fixmedins_code"),
               *NATIONAL_INPUT)  # the envelope names the institution (fixmedins_code)
CANCEL_INPUT = ("setl_id", "mdtrt_id", "psn_no")
# medaid's own optional check on a cancellation, under the platform's name of the amount:
# the assistance (医疗救助基金支出) the clerk confirmed it takes back.
CANCEL_CHECKS = ("maf_pay",)
INPATIENT_MED_TYPES = frozenset({"21", "23", "24", "52"})
OUTPATIENT_MED_TYPES = frozenset({"11", "12", "13", "14", "51"})
INPATIENT_KINDS = frozenset({"inpatient", "childbirth"})
OUTPATIENT_KINDS = frozenset({"general_outpatient", "special_outpatient"})


@dataclass(frozen=True, slots=True)
class Transaction:
    action: str  # preview | settle | cancel
    flow: str  # outpatient | inpatient
    name: str


TRANSACTIONS = {
    "2206": Transaction("preview", "outpatient", "门诊预结算"),
    "2207": Transaction("settle", "outpatient", "门诊结算"),
    "2208": Transaction("cancel", "outpatient", "门诊结算撤销"),
    "2303": Transaction("preview", "inpatient", "住院预结算"),
    "2304": Transaction("settle", "inpatient", "住院结算"),
    "2305": Transaction("cancel", "inpatient", "住院结算撤销"),
}
FLOW_NAMES = {"outpatient": "门诊", "inpatient": "住院"}

# One setldetail line per fund (spec/NATIONAL.md): the fund's code by the insurance type
# (310 employees, 390 residents, the default: assistance's persons are nearly all
# resident-insured) and the trace tiers that explain its amount.
MAF = ("610100", "医疗救助基金")
# Re-assistance (the stages after tilted assistance) has its own line, a regional extension
# of the assistance fund (spec/NATIONAL.md, "Codes that agree across sources"); the 610100
# line carries the rest of maf_pay.
REASSISTANCE = ("610102", "医疗再救助")
PAID = ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay")  # fund_pay_sumamt
FUNDS: tuple[tuple[str, dict[str, tuple[str, str]], tuple[str, ...]], ...] = (
    ("hifp_pay", {"310": ("310100", "职工基本医疗保险统筹基金"),
                  "390": ("390100", "城乡居民基本医疗保险基金")}, ("hifp",)),
    ("hifmi_pay", {"310": ("330100", "大额医疗费用补助"),
                   "390": ("390200", "城乡居民大病医疗保险基金")}, ("hifmi",)),
    ("maf_pay", {"": MAF}, ("assistance", "tilted", "special", "chain")),
    ("reassistance", {"": REASSISTANCE}, ("reassistance",)),
    ("oth_pay", {"": ("999997", "其他基金")}, ()),
)
ZERO = Decimal("0.00")

# The Chinese a clerk reads before medaid's own words (err_msg), by field and by message.
LABELS = {
    "infno": "交易编号", "msgid": "发送方报文ID", "mdtrtarea_admvs": "就医地医保区划",
    "insuplc_admdvs": "参保地医保区划", "recer_sys_code": "接收方系统代码", "infver": "接口版本号",
    "opter_type": "经办人类别", "opter": "经办人", "opter_name": "经办人姓名",
    "inf_time": "交易时间", "fixmedins_code": "定点医药机构编号",
    "fixmedins_name": "定点医药机构名称", "sign_no": "交易签到流水号", "input": "交易输入",
    "data": "交易数据", "psn_no": "人员编号", "mdtrt_id": "就诊ID", "setl_id": "结算ID",
    "medins_setl_id": "医药机构结算ID", "med_type": "医疗类别", "kind": "就诊类型",
    "start": "就诊/入院日期", "end": "出院日期", "medfee_sumamt": "医疗费总额",
    "fulamt_ownpay_amt": "全自费金额", "overlmt_selfpay": "超限价自费费用",
    "preselfpay_amt": "先行自付金额", "inscp_scp_amt": "符合政策范围金额",
    "hifp_pay": "基本医疗保险统筹基金支出", "hifmi_pay": "居民大病保险资金支出",
    "oth_pay": "其他支出", "location": "就医地", "referral": "转诊", "hospital_level": "医院等级",
    "heroic_injury": "见义勇为", "rare_disease": "罕见病", "psn_idet_type": "人员身份类别",
    "insutype": "险种类型", "mdtrt_cert_type": "就诊凭证类型", "mdtrt_cert_no": "就诊凭证编号",
    "psn_setlway": "个人结算方式", "acct_used_flag": "个人账户使用标志",
    "chrg_bchno": "收费批次号", "mid_setl_flag": "中途结算标志", "invono": "发票号",
    "maf_pay": "医疗救助基金支出",
}
MESSAGES = (  # medaid's message (its start) → the Chinese put before it
    ("unknown field", "未知字段"), ("required", "必填"), ("must be ≥ 0", "不能为负数"),
    ("must be > 0", "须大于 0"),
    ("must be a number (yuan)", "须为金额（元）"), ("must be an object", "须为 JSON 对象"),
    ("the body must be", "须为 UTF-8 编码的 JSON 对象"), ("malformed JSON", "不是合法的 JSON"),
    ("must be 1, 2, 3", "取值无效"), ("unknown", "取值无效"),
    ("no institution", "未找到该定点医药机构"), ("no settlement", "未找到该结算"),
    ("no policy in force", "就诊日期无有效的救助政策"),
)
_CJK = re.compile(r"[\u4e00-\u9fff]")


class EnvelopeIn(BaseModel):
    """The platform's message envelope (报文); `input.data` is the transaction's input."""

    infno: str = Field(description="交易编号: 2206 2207 2208 2303 2304 2305")
    msgid: str = Field(description="发送方报文ID; a settlement's medins_setl_id by default, "
                       "so a retry under the same msgid returns the stored settlement")
    mdtrtarea_admvs: str | None = Field(None, description="就医地医保区划 (6 digits)")
    insuplc_admdvs: str | None = Field(None, description="参保地医保区划 (6 digits)")
    recer_sys_code: str | None = None
    infver: str | None = None
    opter_type: str | None = None
    opter: str | None = None
    opter_name: str | None = None
    inf_time: str | None = Field(None, description="yyyy-MM-dd HH:mm:ss")
    fixmedins_code: str = Field(description="定点医药机构编号: a hospital token's own")
    fixmedins_name: str | None = None
    sign_no: str | None = None
    input: dict[str, Any] = Field(description="{\"data\": {...}}: the REST API's settlement "
                                  "request (without fixmedins_code), or setl_id, mdtrt_id "
                                  "and psn_no to cancel (and maf_pay, the assistance the "
                                  "clerk confirmed it takes back)")


class EnvelopeOut(BaseModel):
    infcode: int = Field(description="0 success, −1 error")
    inf_refmsgid: str
    refmsg_time: str
    respond_time: str
    err_msg: str | None
    warn_msg: str | None = None
    output: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Envelope:
    infno: str
    msgid: str
    fixmedins_code: str
    admvs: str | None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Answer:
    output: dict[str, Any]
    warnings: tuple[str, ...] = ()


# -- the route ------------------------------------------------------------------------------
@router.post(PATH, summary="国家医保平台接口: the platform's message envelope",
             openapi_extra=body(EnvelopeIn), responses={200: {"model": EnvelopeOut}})
@router.post(PLATFORM_PATH, include_in_schema=False)
async def national(request: Request, token: TokenDep) -> Response:
    """预结算, 结算 and 撤销 by `infno`, answered in the platform's form (`infcode`; the HTTP
    status as the REST API's)."""
    received = clock.now()
    raw = await request.body()
    def job() -> Answer:
        with UnitOfWork(request.app.state.sessions, request.app.state.cache) as uow:
            actor = auth.actor_of(uow, token)  # no valid token: 401, whatever the body
            env = envelope(raw)
            return HANDLERS[TRANSACTIONS[env.infno].action](uow, actor, env)

    try:
        done = await run_in_threadpool(job)
    except MedaidError as e:
        return _reply(received, error=err_msg(e), status=http_status(e))
    except OperationalError:
        return _reply(received, status=503, error="数据库暂不可用，请稍后重试（同一 msgid "
                      "重试是安全的） / the database is unavailable or busy: retry")
    return _reply(received, output=done.output, warn="；".join(done.warnings) or None)


def _reply(received: datetime, output: dict[str, Any] | None = None,
           error: str | None = None, warn: str | None = None, status: int = 200) -> Response:
    answer = {"infcode": -1 if error else 0, "inf_refmsgid": _refmsgid(received),
              "refmsg_time": _stamp(received), "respond_time": _stamp(clock.now()),
              "err_msg": error, "warn_msg": warn, "output": output}
    return Response(dumps(answer, indent=None), status_code=status,
                    media_type="application/json",
                    headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)


def _stamp(t: datetime) -> str:
    """The platform's time stamp: yyyyMMddHHmmssSSS, Beijing time."""
    local = t.astimezone(CST)
    return local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}"


def _refmsgid(t: datetime) -> str:
    """The answer's own message id (30 characters: a time stamp and a random part)."""
    return _stamp(t) + f"{secrets.randbelow(10 ** 13):013d}"


# -- the envelope in ------------------------------------------------------------------------
def envelope(raw: bytes) -> Envelope:
    """The envelope, checked: every field known, the transaction one medaid answers."""
    env = wire.parse_body(raw)
    known_fields(env, ENVELOPE, "")
    for name in ("infno", "msgid", "fixmedins_code", "input"):
        if env.get(name) is None:
            raise InputError(name, "required")
    infno = _code(env.get("infno"), "infno")
    if infno not in TRANSACTIONS:
        raise InputError("infno", f"交易编号 {infno} 不受理：本接口受理 "
                         f"{'、'.join(f'{k} {t.name}' for k, t in TRANSACTIONS.items())} / "
                         f"unsupported infno {infno!r}")
    msgid = as_text(env.get("msgid"), "msgid")
    if len(msgid) > 64:
        raise InputError("msgid", "至多 64 个字符 / at most 64 characters")
    for name in ("recer_sys_code", "infver", "opter_type", "opter", "opter_name",
                 "fixmedins_name", "sign_no", "inf_time"):
        if env.get(name) is not None:
            as_text(_code(env[name], name), name)
    admvs = None
    for name in ("mdtrtarea_admvs", "insuplc_admdvs"):
        if env.get(name) is not None:
            code = as_district(_code(env[name], name), name)
            admvs = admvs or code
    inp = as_object(env.get("input"), "input")
    known_fields(inp, ("data",), "input")
    if inp.get("data") is None:
        raise InputError(DATA, "required")
    data = dict(as_object(inp.get("data"), DATA))
    return Envelope(infno, msgid, as_text(env.get("fixmedins_code"), "fixmedins_code"),
                    admvs, data)


def _code(value: object, path: str) -> str:
    """A code the platform sends as text, and some systems as a number (2207)."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(int(value))
    return as_text(value, path)


def _visit_request(env: Envelope, settling: bool) -> tuple[wire.VisitRequest, dict[str, str]]:
    """`input.data` as the REST API's request; the national fields it carries beside."""
    data = dict(env.data)
    if "fixmedins_code" in data:
        raise InputError(f"{DATA}.fixmedins_code", "未知字段：机构由报文的 fixmedins_code 给出 / "
                         "unknown field: the envelope's fixmedins_code names the institution")
    known_fields(data, VISIT_INPUT, DATA)
    national = {name: _code(data.pop(name), f"{DATA}.{name}")
                for name in NATIONAL_INPUT if data.get(name) is not None}
    for name in NATIONAL_INPUT:
        data.pop(name, None)
    idet = national.get("psn_idet_type")
    if idet is not None and not re.fullmatch(r"[0-9]{4}", idet):
        raise InputError(f"{DATA}.psn_idet_type", "须为 4 位人员身份类别代码，如 2303 / "
                         "a 4-digit psn_idet_type code")
    data["fixmedins_code"] = env.fixmedins_code
    if settling and data.get("medins_setl_id") is None:
        data["medins_setl_id"] = env.msgid  # the platform's medins_setl_id: the msgid
    req = wire.visit_request(data, settling, DATA)
    _check_flow(TRANSACTIONS[env.infno], req.med_type, req.visit.kind, f"{DATA}.med_type")
    return req, national


def _flow(med_type: str | None, kind: str) -> str | None:
    if med_type in INPATIENT_MED_TYPES or (med_type is None and kind in INPATIENT_KINDS):
        return "inpatient"
    if med_type in OUTPATIENT_MED_TYPES or (med_type is None and kind in OUTPATIENT_KINDS):
        return "outpatient"
    return None  # a local code: either flow


def _check_flow(t: Transaction, med_type: str | None, kind: str, path: str) -> None:
    flow = _flow(med_type, kind)
    if flow is not None and flow != t.flow:
        right = next(k for k, x in TRANSACTIONS.items() if x.action == t.action
                     and x.flow == flow)
        raise InputError(path, f"{FLOW_NAMES[flow]}（医疗类别 {med_type or kind}）不能以 "
                         f"{t.name}办理，应使用 {right} / an {flow} visit: use infno {right}")


# -- the transactions -----------------------------------------------------------------------
def _preview(uow: UnitOfWork, actor: Actor, env: Envelope) -> Answer:
    req, national = _visit_request(env, settling=False)
    inst, s = settlements.preview(uow, actor, req)
    rest = wire.preview_json(req, inst.code, s)
    return _answer(rest, national)


def _settle(uow: UnitOfWork, actor: Actor, env: Envelope) -> Answer:
    req, national = _visit_request(env, settling=True)
    done = settlements.settle(uow, actor, req)
    if done.created:
        return _answer(wire.entry_json(done.entry, done.fixmedins_code), national)
    rest = wire.entry_json(done.entry, done.fixmedins_code,
                           settlements.cancelled_by(uow, done.entry))
    return _answer(rest, national, (
        f"重复交易：医药机构结算ID {req.medins_setl_id} 已于 "
        f"{_national_time(rest['setl_time'])} 结算为 "
        f"{rest['setl_id']}，返回已存储的结算结果 / a retry: the stored settlement",))


def _cancel(uow: UnitOfWork, actor: Actor, env: Envelope) -> Answer:
    known_fields(env.data, CANCEL_INPUT + CANCEL_CHECKS, DATA)
    setl_id, mdtrt_id, psn_no = (as_text(env.data.get(n), f"{DATA}.{n}") for n in CANCEL_INPUT)
    maf_pay = wire.optional_fen(env.data, "maf_pay", DATA)
    inst = settlements.acting_institution(uow, actor, env.fixmedins_code)
    original = _entry(uow, setl_id)
    if original is not None and original.institution_id != inst.id and (
            actor.role != "hospital"):
        raise Forbidden(f"结算 {setl_id} 不属于定点医药机构 {inst.code} / settlement "
                        f"{setl_id} is not of {inst.code}")
    if original is not None and original.kind == "settle" and (
            actor.role != "hospital" or original.institution_id == actor.institution_id):
        _check_flow(TRANSACTIONS[env.infno], original.med_type, original.visit_kind, "infno")
    try:
        entry = settlements.cancel(uow, actor, setl_id, psn_no, mdtrt_id, maf_pay)
    except Conflict:
        uow.rollback()
        original = _entry(uow, setl_id)
        by = None if original is None else settlements.cancelled_by(uow, original)
        if by is None:
            raise
        reversing = _entry(uow, by)
        assert reversing is not None
        rest = wire.entry_json(reversing, reversing.institution.code)
        return _answer(rest, {}, (f"重复撤销：结算 {setl_id} 已由 {by} 撤销，返回已有的撤销结果 / "
                                  f"already cancelled by {by}",))
    return _answer(wire.entry_json(entry, entry.institution.code), {})


def _entry(uow: UnitOfWork, setl_id: str) -> Settlement | None:
    return uow.session.scalars(select(Settlement).where(Settlement.setl_id == setl_id)).first()


HANDLERS: dict[str, Callable[[UnitOfWork, Actor, Envelope], Answer]] = {
    "preview": _preview, "settle": _settle, "cancel": _cancel}


# -- the answer out -------------------------------------------------------------------------
def _answer(rest: dict[str, Any], national: Mapping[str, str],
            warnings: tuple[str, ...] = ()) -> Answer:
    idet = idet_type(rest["policy"], rest["category"])
    sent = national.get("psn_idet_type")
    notes = list(warnings)
    if sent is not None and sent != idet:
        notes.append(f"报文人员身份类别 {sent} 与登记身份 {idet or '（无有效救助身份）'} 不同，"
                     f"按登记身份结算 / psn_idet_type {sent} differs from the registered "
                     f"{idet}: settled as registered")
    return Answer({"setlinfo": setlinfo(rest, idet, national.get("insutype")),
                   "setldetail": setldetail(rest, national.get("insutype")),
                   "medaid": {k: rest[k] for k in (
                       "entry", "reverses", "cancelled_by", "year", "policy", "settled_as",
                       "category", "rules", "base", "assistance", "tilted", "special",
                       "reassistance", "trace") if k in rest}}, tuple(notes))


def idet_type(policy: str, category: str | None) -> str | None:
    """The psn_idet_type of a category in the policy version that settled it."""
    if category is None:
        return None
    for p in model.shipped():
        if f"{p.jurisdiction} {p.spec.version}" == policy:
            return next((c.idet_type for c in p.spec.categories if c.id == category), None)
    return None


def _national_time(iso: str | None) -> str | None:
    if iso is None:
        return None
    t = datetime.fromisoformat(iso)
    t = t if t.tzinfo is not None else t.replace(tzinfo=UTC)
    return t.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S")


def setlinfo(rest: dict[str, Any], idet: str | None, insutype: str | None) -> dict[str, Any]:
    """The settlement in the platform's `setlinfo` fields (a cancellation: negated)."""
    funds = sum((rest[name] for name in PAID), ZERO)
    return {
        "setl_id": rest["setl_id"], "mdtrt_id": rest["mdtrt_id"], "psn_no": rest["psn_no"],
        "insutype": insutype, "psn_idet_type": idet, "med_type": rest["med_type"],
        "begndate": rest["start"], "enddate": rest["end"],
        "setl_time": _national_time(rest.get("setl_time")),
        "medfee_sumamt": rest["medfee_sumamt"], "fulamt_ownpay_amt": rest["fulamt_ownpay_amt"],
        "overlmt_selfpay": rest["overlmt_selfpay"], "preselfpay_amt": rest["preselfpay_amt"],
        "inscp_scp_amt": rest["inscp_scp_amt"], "hifp_pay": rest["hifp_pay"],
        "hifmi_pay": rest["hifmi_pay"], "maf_pay": rest["maf_pay"], "oth_pay": rest["oth_pay"],
        "fund_pay_sumamt": funds, "psn_part_amt": rest["psn_part_amt"], "acct_pay": ZERO,
        "psn_cash_pay": rest["psn_part_amt"], "hosp_part_amt": ZERO,
        "medins_setl_id": rest["medins_setl_id"], "fixmedins_code": rest["fixmedins_code"],
    }


def setldetail(rest: dict[str, Any], insutype: str | None) -> list[dict[str, Any]]:
    """One line per fund that paid, and always the assistance fund's (610100), with the
    trace lines that explain it; re-assistance (610102) is taken out of 610100's line."""
    family = "310" if insutype is not None and insutype.startswith(("31", "32", "33", "37")) \
        else "390"
    lines = []
    for name, codes, tiers in FUNDS:
        amount = rest[name] - (rest["reassistance"] if name == "maf_pay" else ZERO)
        code, label = codes.get(family) or codes[""]
        if amount == 0 and code != MAF[0]:
            continue
        info = "；".join(f"{'' if t.get('code') == 'cancel' else t['rule'] + ' '}"  # no rule id
                        f"{t.get('text') or t['detail']}" for t in rest["trace"]
                        if t["tier"] in tiers)
        lines.append({"fund_pay_type": code, "fund_pay_type_name": label,
                      "inscp_scp_amt": rest["inscp_scp_amt"], "fund_payamt": amount,
                      "setl_proc_info": info or None})
    return lines


# -- errors ---------------------------------------------------------------------------------
def err_msg(e: MedaidError) -> str:
    """The error as a clerk reads it: what, in Chinese first, naming the field's path in the
    envelope and its Chinese name; medaid's own words after."""
    if isinstance(e, InputError):
        path = _envelope_path(e.path)
        field = path.rsplit(".", 1)[-1].split("[", 1)[0] if path else ""
        label = LABELS.get(field)
        where = f"{path}（{label}）" if label else path
        return f"{where or '报文'}：{_chinese(e.message)}"
    if isinstance(e, Unauthenticated):
        return f"令牌缺失、无效或已过期（Authorization: Bearer 令牌） / {e}"
    said = "：" if _CJK.search(str(e)) else " / "  # medaid's own Chinese follows the heading
    if isinstance(e, Forbidden):
        return f"无权办理：超出令牌的角色或机构范围{said}{e}"
    if isinstance(e, Conflict):
        return f"与已有结算冲突{said}{e}"
    return _chinese(str(e))


def http_status(e: MedaidError) -> int:
    """The REST API's status for the error (api.app)."""
    for kind, status in ((NotFound, 404), (Unauthenticated, 401), (Forbidden, 403),
                         (Conflict, 409)):
        if isinstance(e, kind):
            return status
    return 422


def _envelope_path(path: str) -> str:
    """A use case's path (`$.psn_no`) as the envelope's (`input.data.psn_no`)."""
    if path == "$.fixmedins_code":
        return "fixmedins_code"
    if path == "$":
        return ""
    if path.startswith("$."):
        return f"{DATA}.{path[2:]}"
    if path == "setl_id":
        return f"{DATA}.setl_id"
    return path


def _chinese(message: str) -> str:
    if _CJK.search(message):
        return message
    for start, zh in MESSAGES:
        if message.startswith(start):
            return f"{zh}（{message}）"
    return f"输入有误（{message}）"
