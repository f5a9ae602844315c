"""The fields of a visit and a person, once: name, Chinese label, type and bounds.

From this table come the pydantic models that parse a case (`medaid settle`) and a
settlement request (the REST API, the national envelope, the settle page), hence the
OpenAPI document; the Parquet schema of a population (batch/schema.py) and the batch
kernel's range checks (batch/checks.py).

The bounds are set where no real bill, date or record reaches (docs/SECURITY.md, 输入的
界限): they keep a hostile or mistyped value from overflowing a 64-bit column, a date
from reaching the year 9999, an id from exceeding its column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

from medaid.policy.schema import KINDS

# An amount of one visit: 一亿元, a hundred times the dearest treatment billed in China.
MAX_VISIT_YUAN = 100_000_000
MAX_VISIT_FEN = MAX_VISIT_YUAN * 100
# Any amount at all (a fund's budget, a receipt): 一万亿元; a 64-bit fen column holds 9.2e16.
MAX_FEN = 10**12 * 100
# Every date medaid reads: a recognition, an application, a visit, a payment.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2100, 12, 31)
# Texts, as long as the store's columns (store/models.py).
ID_CHARS = 64  # mdtrt_id, medins_setl_id, a case's visit id
PSN_NO_CHARS = 40  # psn_no, a case's person id
CODE_CHARS = 40  # fixmedins_code as a request names it, a department, a category
NAME_CHARS = 100  # a person's name
INSTITUTION_NAME_CHARS = 200
MAX_IDENTITIES = 64  # identities of one person (a real record holds a handful)

LOCATIONS = ("city", "province", "out_of_province")
REFERRALS = ("ok", "unreferred", "unreferred_hardship")
# 医疗类别 → the engine's visit kind (spec/NATIONAL.md); other kinds are sent as `kind`.
MED_TYPES = {"11": "general_outpatient", "14": "special_outpatient", "21": "inpatient",
             "23": "inpatient", "24": "inpatient", "52": "childbirth"}


@dataclass(frozen=True)
class Field:
    """One field. `type`: amount (yuan in, fen out), date, text, choice, flag, level
    (hospital, 1–3), grade (disability, 1–4), district (a 6-digit division code), code (a
    text the platform may send as a number, such as med_type)."""

    name: str
    label: str  # the national platform's Chinese name
    type: str
    required: bool = True
    default: object = None  # when absent (not when null)
    chars: int | None = None  # longest text
    choices: tuple[str, ...] = ()
    description: str = ""
    computed: bool = False  # absent: computed from the local parameters (a null column)
    stored: bool = True  # a column of a population's visits file (batch/schema.py)


def _amount(name: str, label: str, required: bool = True, description: str = "",
            computed: bool = False, stored: bool = True) -> Field:
    return Field(name, label, "amount", required, description=description,
                 computed=computed, stored=stored)


AMOUNTS = (
    _amount("medfee_sumamt", "医疗费总额"),
    _amount("fulamt_ownpay_amt", "全自费金额"),
    _amount("overlmt_selfpay", "超限价自费费用"),
    _amount("preselfpay_amt", "先行自付金额", False, "default 0"),
    _amount("inscp_scp_amt", "符合政策范围金额", False,
            "when given, must equal the total less the three", stored=False),
    _amount("hifp_pay", "统筹基金支出", False, "computed when absent", computed=True),
    _amount("hifmi_pay", "大病保险支出", False, "computed when absent", computed=True),
    _amount("oth_pay", "其他支出", False, "default 0"),
)
# A visit of a case (contract/CASE.md), in the order its checks run.
VISIT = (
    Field("kind", "就诊类别", "choice", choices=KINDS),
    Field("start", "入院（就诊）日期", "date"),
    Field("end", "出院（结算）日期", "date",
          description="the pools are those of this date's year"),
    *AMOUNTS,
    Field("location", "就医地", "choice", False, "city", choices=LOCATIONS),
    Field("referral", "转诊备案", "choice", False, "ok", choices=REFERRALS),
    Field("hospital_level", "医院等级", "level", False, description="1–3"),
    Field("heroic_injury", "见义勇为", "flag", False, False),
    Field("rare_disease", "罕见病", "flag", False, False),
    Field("id", "就诊ID", "text", chars=ID_CHARS),
)
# A settlement request: the platform's ids, then the visit (its `id` is the mdtrt_id; its
# `kind` may come from med_type).
REQUEST = (
    Field("psn_no", "人员编号", "text", chars=PSN_NO_CHARS),
    Field("mdtrt_id", "就诊ID", "text", chars=ID_CHARS),
    Field("medins_setl_id", "医药机构结算ID", "text", False, chars=ID_CHARS,
          description="the hospital's own settlement id (required to settle; a retry with "
          "the same id and body returns the stored result)"),
    Field("fixmedins_code", "定点医药机构编号", "text", False, chars=CODE_CHARS,
          description="a hospital token's own when absent"),
    Field("med_type", "医疗类别", "code", False, chars=8,
          description="11 → general_outpatient, 14 → special_outpatient, 21/23/24 → "
          "inpatient, 52 → childbirth"),
    *(replace(f, required=False, description="when med_type does not say")
      if f.name == "kind" else f for f in VISIT if f.name != "id"),
)
# A person of a case, and an identity.
PERSON = (
    Field("id", "人员编号", "text", chars=PSN_NO_CHARS),
    Field("disability_grade", "残疾等级", "grade", False, description="1–4"),
    Field("tilted_application", "倾斜救助申请日期", "date", False),
)
IDENTITY = (
    Field("category", "救助对象类别", "text", chars=CODE_CHARS),
    Field("from", "认定日期", "date"),
    Field("to", "退出日期", "date", False),
    Field("application", "申请日期", "date", False),
)

# A person-level status a policy's lines may require (policy `statuses:`), with its dates.
STATUS = (
    Field("status", "人员状态", "text", chars=CODE_CHARS),
    Field("from", "起始日期", "date", False),
    Field("to", "终止日期", "date", False),
)


# Labels of the fields of the other records the API and the pages take.
LABELS = {"name": "名称", "certno": "身份证号", "department": "认定部门", "source": "来源",
          "file": "文件", "filename": "文件名", "applied_on": "申请日期", "note": "备注",
          "reason": "理由", "year": "年度", "programme_id": "慈善项目",
          "expected": "确认的金额", "institution_name": "医疗机构名称",
          "setl_id": "结算ID", "status": "状态"}


# A person and an identity as the API records them: the case's fields and the registry's.
IDENTITY_RECORD = (*IDENTITY, Field("department", "认定部门", "text", False, chars=CODE_CHARS,
                                    description="the recognising department: 民政, …"))
PERSON_RECORD = (
    Field("psn_no", "人员编号", "text", chars=PSN_NO_CHARS),
    Field("certno", "身份证号", "text", chars=18,
          description="18-digit resident ID number (GB 11643)"),
    Field("name", "姓名", "text", chars=NAME_CHARS),
    Field("jurisdiction", "统筹地区", "text", chars=CODE_CHARS),
    Field("district", "区划代码", "district", description="6-digit administrative-division code"),
    *(f for f in PERSON if f.name != "id"),
)


def label(name: str) -> str:
    """A field's Chinese label (its name when none is known)."""
    for f in (*REQUEST, *VISIT, *PERSON, *IDENTITY_RECORD, *PERSON_RECORD, *STATUS):
        if f.name == name:
            return f.label
    return LABELS.get(name, name)


def label_at(path: str) -> str:
    """The label of the field a case's path ends in, read in its record: `person.id` is
    the 人员编号, `visits[0].id` the 就诊ID, `person.statuses[0].from` a status's 起始日期."""
    steps = [p for p in re.split(r"[.\[\]]+", path) if p and not p.isdigit()]
    records = {"statuses": STATUS, "identities": IDENTITY, "person": PERSON, "visits": VISIT}
    for step in reversed(steps[:-1]):
        if step in records:
            return next((f.label for f in records[step] if f.name == steps[-1]),
                        label(steps[-1]))
    return label(steps[-1]) if steps else path

