"""Every error of a form at once, in Chinese, each naming its field by the form's label.

Every page form goes through this: the settle form and an application's invoice (the
visit parser, `wire`'s), a new application, a charity programme, a roster upload, a
payment audit (each its use case's own reading), and the one-field action forms.

A parser stops at the first error. To find them all without a second set of rules, each
field is checked on its own: the parser is run on a body where every other field holds a
value it accepts (`neutral`) and that field holds what was typed; an error it reports at
that field's path is that field's. The whole body is then parsed once more for what only
the fields together can get wrong (amounts that do not add up, dates out of order): the
first of those is shown. The parser's words are then said in Chinese here, where people
read them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from medaid.core.errors import InputError

# A body every field of which the parser accepts: the dates as far apart as allowed and a
# total large enough for any one amount, so a field probed alone meets no other's limit.
NEUTRAL: dict[str, Any] = {
    "psn_no": "0", "mdtrt_id": "0", "medins_setl_id": "0", "med_type": "21",
    "start": str(date(1900, 1, 1)), "end": str(date(2100, 12, 31)),
    "medfee_sumamt": Decimal(10_000_000), "fulamt_ownpay_amt": Decimal(0),
    "overlmt_selfpay": Decimal(0), "preselfpay_amt": Decimal(0),
}

# The parser's English (and Chinese before an English gloss), as a caseworker reads it.
WORDS = (
    (r"required|non-empty|missing", "必填"),
    (r"must be ≥ 0", "不能为负数"),
    (r"must be > 0", "应大于 0"),
    (r"a whole number", "应为整数（在允许的范围内）"),
    (r"unknown jurisdiction", "未知的参保地"),
    (r"expected YYYY-MM$", "应为年月，如 2026-03"),
    (r"must be a number|an amount in yuan|valid decimal|number", "应为金额（元），如 1234.56"),
    (r"decimal places|two decimals|fraction of a fen|whole fen", "金额至多保留两位小数"),
    (r"is before", "早于入院/就诊日期"),
    (r"is less than", "小于全自费、超限价自付与先行自付之和"),
    (r"exceed the policy-range amount", "基本医保、大病保险与其他支付之和超过政策范围内费用"),
    (r"must equal medfee_sumamt", "应等于总额减去全自费、超限价自付与先行自付"),
    (r"unknown kind of application", "请选择申请类型"),
    (r"no institution", "未找到此定点医疗机构"),
    (r"has no visit kind|unknown visit kind", "不是可结算的医疗类别"),
    (r"no policy in force", "就诊日期时当地尚无施行的政策"),
    (r"blank", "不能只有空格"),
    (r"at most \d+ characters", "过长"),
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_GLOSS = re.compile(r"（[^（）]*[A-Za-z][^（）]*）|\s*/\s*[A-Za-z].*$")


def chinese(message: str) -> str:
    """The parser's message in Chinese: its own Chinese without the English gloss, else
    the Chinese of the words it uses."""
    if _CJK.search(message):
        return _GLOSS.sub("", message).strip()
    for pattern, words in WORDS:
        if re.search(pattern, message):
            return words
    return "填写有误"


def field_of(e: InputError) -> str:
    """The form field an error's JSON path names ('$.medfee_sumamt' → 'medfee_sumamt')."""
    return (e.path or "").removeprefix("$").removeprefix(".").split("[")[0].split(".")[0]


def labelled(field: str, message: str, labels: Mapping[str, str]) -> str:
    """'医疗费用总额：不能为负数' (an error of no field, or one whose words begin with the
    field's label already: the message alone)."""
    words = chinese(message)
    if field not in labels or words.startswith(labels[field]):
        return words
    return f"{labels[field]}：{words}"


Parse = Callable[[dict[str, Any]], Any]


def all_errors(parse: Parse, body: dict[str, Any], fields: list[str],
               labels: Mapping[str, str], neutral: Mapping[str, Any] = NEUTRAL
               ) -> dict[str, str]:
    """Field → its error in Chinese, for every field of `body` (and each of `fields` that
    is absent) the parser refuses; '' holds an error of no field. Empty: `body` parses.
    `neutral`: a body the parser accepts (the visit's by default, for another form its own)."""
    errors: dict[str, str] = {}
    for name in fields:
        probe = {k: v for k, v in neutral.items() if k != name}
        if name in body:
            probe[name] = body[name]
        try:
            parse(probe)
        except InputError as e:
            if field_of(e) == name:
                errors[name] = labelled(name, e.message, labels)
    try:
        parse(body)
    except InputError as e:
        field = field_of(e)
        if field not in errors:
            errors[field if field in labels else ""] = labelled(field, e.message, labels)
    return errors
