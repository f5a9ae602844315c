"""The platform export's columns, the codes they carry, and their Chinese labels.

Columns are the national platform's field names (spec NATIONAL.md `setlinfo`); a header
may also be the field's Chinese name (医疗费总额). Amounts are yuan with at most two
decimals; `setl_time` is the settlement's date and time.
"""

from __future__ import annotations

import re
import unicodedata

from medaid.policy.schema import KINDS

TEXT_REQUIRED = ("psn_no", "setl_id", "mdtrt_id", "med_type", "fixmedins_code")
AMOUNTS_REQUIRED = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                    "hifp_pay", "hifmi_pay", "oth_pay", "maf_pay")
REQUIRED = (*TEXT_REQUIRED, "setl_time", *AMOUNTS_REQUIRED)
# optional: checked when present
OPTIONAL = ("inscp_scp_amt", "psn_idet_type", "certno", "psn_name", "fixmedins_name",
            "begndate", "enddate", "init_setl_id", "insuplc_admdvs", "mdtrtarea_admvs",
            *("location", "referral", "hospital_level", "heroic_injury", "rare_disease"))
ALL = (*REQUIRED, *OPTIONAL)

LABELS: dict[str, str] = {
    "psn_no": "人员编号", "setl_id": "结算ID", "mdtrt_id": "就诊ID", "med_type": "医疗类别",
    "setl_time": "结算时间", "fixmedins_code": "定点医药机构编号",
    "fixmedins_name": "定点医药机构名称", "medfee_sumamt": "医疗费总额",
    "fulamt_ownpay_amt": "全自费金额", "overlmt_selfpay": "超限价自费费用",
    "preselfpay_amt": "先行自付金额", "inscp_scp_amt": "符合政策范围金额",
    "hifp_pay": "基本医疗保险统筹基金支出", "hifmi_pay": "居民大病保险资金支出",
    "oth_pay": "其他支出", "maf_pay": "医疗救助基金支出", "psn_idet_type": "人员身份类别",
    "certno": "证件号码", "psn_name": "人员姓名", "begndate": "开始日期", "enddate": "结束日期",
    "init_setl_id": "原结算ID", "insuplc_admdvs": "参保地医保区划",
    "mdtrtarea_admvs": "就医地医保区划",
    # medaid's own visit fields, as the national envelope takes them (docs/INTERFACE.md)
    "location": "就医地类型", "referral": "转诊", "hospital_level": "医院等级",
    "heroic_injury": "见义勇为", "rare_disease": "罕见病",
}

# the values these optional columns take: medaid's words or the Chinese a platform writes
LOCATION_VALUES = {"city": 0, "province": 1, "out_of_province": 2, "市内": 0, "本市": 0,
                   "统筹区内": 0, "省内": 1, "省内异地": 1, "省外": 2, "跨省": 2, "跨省异地": 2}
REFERRAL_VALUES = {"ok": 0, "unreferred": 1, "unreferred_hardship": 2, "已转诊": 0,
                   "转诊": 0, "已备案": 0, "是": 0, "1": 0, "未转诊": 1, "否": 1, "0": 1,
                   "未转诊(困难)": 2, "困难未转诊": 2}
FLAG_VALUES = {"true": True, "false": False, "1": True, "0": False, "是": True, "否": False,
               "y": True, "n": False, "yes": True, "no": False}
LEVEL_VALUES = {"1": 1, "2": 2, "3": 3, "一级": 1, "二级": 2, "三级": 3}

# national med_type → the visit kind it is settled as (NATIONAL.md "How medaid uses them");
# other codes (12 挂号, 13 急诊, 51 生育门诊, provincial codes) need --med-type CODE=KIND
MED_TYPES: dict[str, str] = {"11": "general_outpatient", "14": "special_outpatient",
                             "21": "inpatient", "23": "inpatient", "24": "inpatient",
                             "52": "childbirth"}
MED_TYPE_LABELS = {"11": "普通门诊", "12": "门诊挂号", "13": "急诊", "14": "门诊慢特病",
                   "21": "普通住院", "23": "转外诊治住院", "24": "急诊转住院", "51": "生育门诊",
                   "52": "生育住院"}
KIND_LABELS = {"general_outpatient": "普通门诊", "special_outpatient": "门诊慢特病",
               "inpatient": "住院", "dual_channel_drug": "双通道药品",
               "rare_disease_drug": "罕见病用药", "rehabilitation": "康复",
               "childbirth": "生育"}
assert set(KIND_LABELS) == set(KINDS)

_NOTE = re.compile(r"[(（][^)）]*[)）]")


def _key(label: str) -> str:
    k = "".join(unicodedata.normalize("NFKC", label).split()).strip("*").lower()
    return _NOTE.sub("", k)


_BY_KEY = {_key(name): name for name in ALL} | {_key(zh): name for name, zh in LABELS.items()}


def field_of(header: object) -> str | None:
    """The national field a header names (its field name or Chinese label), or None."""
    return _BY_KEY.get(_key(str(header))) if header is not None else None


def parse_med_types(items: list[str] | None) -> dict[str, str]:
    """The med_type map, with `CODE=KIND` additions; ValueError naming a bad item."""
    table = dict(MED_TYPES)
    for item in items or []:
        code, _, kind = (part.strip() for part in item.partition("="))
        if not code or kind not in KINDS:
            raise ValueError(f"--med-type {item}: expected CODE=KIND with KIND one of "
                             f"{', '.join(KINDS)}")
        table[code] = kind
    return table


def value_key(value: object) -> str:
    """A coded cell as the value tables above spell it (width-folded, no spaces, lower)."""
    return "".join(unicodedata.normalize("NFKC", str(value)).split()).lower()
