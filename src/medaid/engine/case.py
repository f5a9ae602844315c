"""The case contract (contract/CASE.md): JSON in, validated to the field; JSON out.

A visit is parsed by a strict pydantic model built from medaid.policy.fields (the same models
parse the API's settlement requests and make its OpenAPI document); each field's
converter below keeps its message, and every error names its JSON path exactly
(`visits[2].medfee_sumamt: must be ≥ 0`); nothing is computed from a guess.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Annotated, Any, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
    create_model,
)
from pydantic import Field as PydanticField
from pydantic_core import PydanticCustomError

from medaid.core import labels
from medaid.core.errors import InputError, MissingParameter
from medaid.core.money import MoneyError, to_fen, to_yuan
from medaid.engine.settle import CaseResult, settle_year
from medaid.engine.types import Held, Identity, Person, Settlement, Visit, YearEnd
from medaid.policy import fields, model
from medaid.policy.fields import LOCATIONS as LOCATIONS  # read from here by the batch path
from medaid.policy.fields import REFERRALS as REFERRALS
from medaid.policy.model import Policy

# The fields, labels and bounds of a visit and a person are medaid.policy.fields'; these names
# stay for the modules that read them from here.
AMOUNTS = tuple(f.name for f in fields.AMOUNTS)
# The fields each object of a case may carry (CASE.md): anything else is an error naming
# it, never ignored (a misspelt "othpay" would otherwise settle as if oth_pay were 0).
CASE_FIELDS = ("jurisdiction", "local", "person", "visits")
WORKED_CASE_FIELDS = ("expected", "note")  # a worked case's answer and arithmetic: not read
PERSON_FIELDS = (*(f.name for f in fields.PERSON), "identities")
IDENTITY_FIELDS = tuple(f.name for f in fields.IDENTITY)
VISIT_FIELDS = tuple(f.name for f in fields.VISIT)
UNKNOWN_FIELD = "未知字段 / unknown field"


@dataclass(frozen=True)
class Case:
    versions: list[Policy]
    local: dict[str, object]
    person: Person
    visits: list[Visit]


def parse_json(text: str) -> Any:
    """JSON with every number as Decimal, so amounts are exact from the start."""
    try:
        return json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError as e:
        raise InputError("$", f"不是合法的 JSON（第 {e.lineno} 行第 {e.colno} 列） / malformed "
                         f"JSON at line {e.lineno} column {e.colno}: {e.msg}") from None


def as_object(v: object, path: str) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise InputError(path, "须为 JSON 对象 / must be an object")
    return v


def known_fields(v: Mapping[str, Any], known: Collection[str], path: str) -> None:
    """Refuse a field not in `known`, naming it by its path (`visits[0].othpay: unknown
    field (did you mean oth_pay?)`); `path` is the object's own ("" at the top)."""
    for name in v:
        if name not in known:
            where = f"{path}.{name}" if path else str(name)
            raise InputError(where, unknown_message(str(name), known))


# a field named by another word for it (identities' `from` written as a visit's `start`)
_SYNONYMS = (("from", "start", "begin", "since"), ("to", "end", "until", "exit"))


def _meant(name: str, known: Sequence[str]) -> str | None:
    """The known field a misspelt one probably meant: a close spelling, the one field it
    abbreviates (`medfee` for medfee_sumamt), or another word for it (`start` for from)."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    if close:
        return close[0]
    longer = [k for k in known if len(name) >= 3 and k.startswith(name)]
    if len(longer) == 1:
        return longer[0]
    for words in _SYNONYMS:
        if name.lower() in words:
            found = [k for k in known if k in words]
            if len(found) == 1:
                return found[0]
    return None


def unknown_message(name: str, known: Collection[str]) -> str:
    meant = _meant(name, [str(k) for k in known])
    if meant is None:
        return UNKNOWN_FIELD
    return f"未知字段（是否应为 {meant}？） / unknown field (did you mean {meant}?)"


def _list(v: object, path: str) -> Sequence[Any]:
    if not isinstance(v, list):
        raise InputError(path, "须为列表 / must be a list")
    return v


def date_bound(path: str, label: str | None = None) -> str:
    """What a date outside medaid.policy.fields' range is told (the batch path says it too)."""
    return (f"{label or fields.label_at(path)}须在 {fields.FIRST_DAY} 至 {fields.LAST_DAY} 之间"
            f"（must be from {fields.FIRST_DAY} to {fields.LAST_DAY}）")


def amount_bound(path: str, high: int) -> str:
    """What an amount above `high` fen is told."""
    return f"{fields.label_at(path)}不得超过 {to_yuan(high)} 元（at most {to_yuan(high)} yuan）"


def as_text(v: object, path: str, chars: int | None = None, label: str | None = None) -> str:
    """A non-empty printable text, not only spaces, of at most `chars` characters; told by
    `label` (a field's own, where its name alone is ambiguous) or the path's."""
    label = label or fields.label_at(path)
    if not isinstance(v, str) or not v:
        raise InputError(path, "必填 / must be a non-empty string" if v in (None, "") else
                         "应为文本 / must be a non-empty string")
    if chars is not None and len(v) > chars:
        raise InputError(path, f"{label}至多 {chars} 个字符（at most {chars} characters, "
                         f"not {len(v)}）")
    if not v.isprintable():
        raise InputError(path, "含有不可见字符 / must not contain control characters")
    if not v.strip():
        raise InputError(path, f"{label}不能只有空格（must not be blank）")
    return v


FILENAME_BYTES = 255  # the longest file name a file system takes


def as_filename(v: object, path: str) -> str:
    """An uploaded file's name, without any folder: a name a file system takes."""
    name = v.replace("\\", "/").rsplit("/", 1)[-1] if isinstance(v, str) else ""
    if name in ("", ".", "..") or len(name.encode()) > FILENAME_BYTES \
            or not name.isprintable():
        raise InputError(path, f"文件名无效：须为不超过 {FILENAME_BYTES} 字节的文件名（not a "
                         f"usable file name: at most {FILENAME_BYTES} bytes, not . or ..）")
    return name


# the Chinese of the codes a choice offers, by the field's name
CHOICE_LABELS = {"kind": labels.KINDS, "referral": labels.REFERRALS,
                 "location": labels.LOCATIONS}


def as_choice(v: object, path: str, choices: Sequence[str], what: str) -> str:
    if v not in choices:
        english = f"unknown {what} {v!r} (one of: {', '.join(choices)})"
        table = CHOICE_LABELS.get(re.split(r"[.\[\]]+", path.strip(".[]"))[-1], {})
        if not all(c in table for c in choices):  # a choice the caller words itself
            raise InputError(path, english)
        offered = "、".join(f"{c}（{table[c][0]}）" for c in choices)
        raise InputError(path, f"{fields.label_at(path)}「{v}」无效，可选：{offered} / {english}")
    assert isinstance(v, str)
    return v


def as_jurisdiction(v: object, path: str, extra: Sequence[Policy] = ()) -> str:
    """A jurisdiction with a policy: a shipped one, a deployment's, or one of `extra`."""
    if not model.versions(str(v), extra):
        raise InputError(path, model.unknown_jurisdiction(v, extra))
    assert isinstance(v, str)
    return v


DISTRICT_DIGITS = 6  # an administrative-division code (区划代码, admdvs)


def as_district(v: object, path: str) -> str:
    if not isinstance(v, str) or len(v) != DISTRICT_DIGITS or not v.isdigit():
        raise InputError(path, "应为 6 位行政区划代码 / must be a 6-digit administrative-division "
                         "code")
    return v


def as_whole(v: object, path: str, low: int, high: int) -> int:
    # the range first: int() of a Decimal such as 1e999999999 would build a billion digits
    if isinstance(v, bool) or not isinstance(v, int | Decimal) or not low <= v <= high \
            or v != int(v):
        raise InputError(path, f"应为 {low} 至 {high} 的整数 / a whole number from {low} to {high}")
    return int(v)


def as_year(v: object, path: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | Decimal) or not 1990 <= v <= 2100 \
            or v != int(v):
        raise InputError(path, "应为 1990 至 2100 之间的整数年份，如 2026 / must be a year such "
                         "as 2026")
    return int(v)


NOT_DATE = "应为日期，如 2026-03-01"


def as_date(v: object, path: str, label: str | None = None) -> date:
    if not isinstance(v, str):
        raise InputError(path, f"{NOT_DATE} / must be a date as \"YYYY-MM-DD\"")
    try:
        day = date.fromisoformat(v) if len(v) == 10 else date.fromisoformat("invalid")
    except ValueError:
        raise InputError(path, f"{NOT_DATE} / not a valid date: {v[:40]!r} (YYYY-MM-DD)") \
            from None
    if not fields.FIRST_DAY <= day <= fields.LAST_DAY:
        raise InputError(path, date_bound(path, label))
    return day


def as_opt_date(v: object, path: str) -> date | None:
    return None if v is None else as_date(v, path)


def _bool(v: object, path: str) -> bool:
    if not isinstance(v, bool):
        raise InputError(path, "应为 true 或 false / must be true or false")
    return v


NOT_YUAN = "应为金额（元），如 1234.56 / must be a number (yuan)"
_YUAN: dict[int, Decimal] = {}  # a bound in fen → in yuan (computed once per bound)


def as_fen(v: object, path: str, positive: bool = False, high: int = fields.MAX_FEN) -> int:
    """An amount in yuan (at most two decimals) as fen: ≥ 0, or > 0 when `positive`, and
    at most `high` fen."""
    if isinstance(v, bool) or not isinstance(v, Decimal | int):
        raise InputError(path, NOT_YUAN)
    if isinstance(v, Decimal):
        if not v.is_finite():  # NaN cannot even be compared
            raise InputError(path, NOT_YUAN)
        size = v.copy_abs()  # no arithmetic before the bound: 1e999999999 overflows it
    else:
        size = Decimal(abs(v))
    bound = _YUAN.get(high)
    if bound is None:
        bound = _YUAN[high] = Decimal(high).scaleb(-2)
    if size > bound:
        raise InputError(path, amount_bound(path, high))
    try:
        fen = to_fen(v)
    except MoneyError as e:
        raise InputError(path, f"金额至多保留两位小数 / {e}") from None
    if fen < 0 or (positive and fen == 0):
        raise InputError(path, "应大于 0 / must be > 0" if positive else
                         "不能为负数 / must be ≥ 0")
    return fen


def _grade(v: object, path: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, Decimal | int) or v not in (1, 2, 3, 4):
        raise InputError(path, "残疾等级应为 1、2、3、4 或 null / must be 1, 2, 3, 4 or null")
    return int(v)


# -- the models: one per shape, built from medaid.policy.fields ------------------------------------
def _amount(name: str) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if value is None:
            raise InputError(name, "必填 / required")
        return as_fen(value, name, high=fields.MAX_VISIT_FEN)
    return check


def _level(value: Any) -> int:
    if isinstance(value, bool) or value not in (1, 2, 3):
        raise InputError("hospital_level",
                         "医院等级应为 1、2、3 或不填 / must be 1, 2, 3 or absent")
    return int(value)


def _code(f: fields.Field) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if isinstance(value, Decimal) and value.copy_abs() < 10**8 \
                and value == value.to_integral_value():
            value = str(int(value))  # med_type sent as a number
        return as_text(value, f.name, f.chars, f.label)
    return check


def _converter(f: fields.Field) -> Callable[[Any], Any]:
    """The field's check: the converters above, their message kept; None when absent and
    the field may be (one closure per field: it runs for every field of every request)."""
    name = f.name
    what = "visit kind" if name == "kind" else name
    check: Callable[[Any], Any]
    if f.type == "amount":
        check = _amount(name)
    elif f.type == "date":
        check = partial(as_date, path=name, label=f.label)
    elif f.type == "choice":
        check = partial(as_choice, path=name, choices=f.choices, what=what)
    elif f.type == "flag":
        check = partial(_bool, path=name)
    elif f.type == "level":
        check = _level
    elif f.type == "grade":
        check = partial(_grade, path=name)
    elif f.type == "district":
        check = partial(as_district, path=name)
    elif f.type == "code":
        check = _code(f)
    else:
        check = partial(as_text, path=name, chars=f.chars, label=f.label)
    nullable = _nullable(f)

    def validate(value: Any) -> Any:
        if value is None and nullable:
            return None
        try:
            return check(value)
        except InputError as e:
            raise PydanticCustomError("input", "{message}", {"message": e.message}) from None

    return validate


def _nullable(f: fields.Field) -> bool:
    """Null (or absent) is allowed: an optional field with no default value."""
    return not f.required and f.default is None


def _json_schema(f: fields.Field) -> dict[str, Any]:
    """What the OpenAPI document says of the field: what `_converter` accepts."""
    one: dict[str, Any]
    if f.type == "amount":
        one = {"type": "number", "multipleOf": 0.01, "minimum": 0,
               "maximum": fields.MAX_VISIT_YUAN}
    elif f.type == "date":
        one = {"type": "string", "format": "date",
               "pattern": "^(19[0-9]{2}|20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"}
    elif f.type == "choice":
        one = {"enum": list(f.choices)}
    elif f.type == "flag":
        one = {"type": "boolean"}
    elif f.type == "district":
        one = {"type": "string", "pattern": f"^[0-9]{{{DISTRICT_DIGITS}}}$"}
    elif f.type in ("level", "grade"):
        one = {"type": "integer", "minimum": 1, "maximum": 3 if f.type == "level" else 4}
    else:
        one = {"type": "string", "minLength": 1, "maxLength": f.chars, "pattern": "\\S"}
    text = f"{f.label}; {f.description}" if f.description else f.label
    if _nullable(f):
        return {"anyOf": [one, {"type": "null"}], "description": text}
    return one | {"description": text}


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _model(name: str, table: Sequence[fields.Field], doc: str,
           required: Collection[str] = (), lists: Mapping[str, Any] = {}
           ) -> type[BaseModel]:
    """A model of `table`: strict (an unknown field is an error), every field checked by
    its converter; `required` makes more fields required (medins_setl_id to settle);
    `lists`: the type of the items of each list field (a person's `identities`)."""
    defined: dict[str, Any] = {
        key: (list[item], PydanticField(default_factory=list))  # type: ignore[valid-type]
        for key, item in lists.items()}
    for f in table:
        f = replace(f, required=True) if f.name in required else f
        kind = Annotated[Any, PlainValidator(_converter(f)), WithJsonSchema(_json_schema(f))]
        defined[f.name] = (kind, PydanticField(f.default, validate_default=True))
    musts = [f.name for f in table if f.required or f.name in required]

    def schema_extra(schema: dict[str, Any]) -> None:
        schema["required"] = musts  # absent is checked by the converter, with its message

    base = type(f"{name}Base", (_Shape,), {"model_config": ConfigDict(
        extra="forbid", frozen=True, json_schema_extra=schema_extra)})
    model: type[BaseModel] = create_model(name, __base__=base, __doc__=doc,
                                          __module__=__name__, **defined)
    return model


CaseVisit = _model("CaseVisit", fields.VISIT, "A visit of a case (contract/CASE.md).")
VisitIn = _model("VisitIn", fields.REQUEST,
                 "A visit to pre-settle (national field names; amounts in yuan).")
SettleVisitIn = _model("SettleVisitIn", fields.REQUEST,
                       "A visit to settle: a pre-settlement's fields and the hospital's own "
                       "settlement id.", required=("medins_setl_id",))


CaseIdentity = _model("CaseIdentity", fields.IDENTITY, "An identity of a case's person.")
CaseStatus = _model("CaseStatus", fields.STATUS,
                    "A status the person holds (policy `statuses:`), with its dates.")
# a status is an object, or its id alone for one held all along
_StatusItem = Annotated[CaseStatus, BeforeValidator(  # type: ignore[valid-type]
    lambda v: {"status": v} if isinstance(v, str) else v)]
CasePerson = _model("CasePerson", fields.PERSON, "A case's person (contract/CASE.md).",
                    lists={"identities": CaseIdentity, "statuses": _StatusItem})
IdentityIn = _model("IdentityIn", fields.IDENTITY_RECORD, "An identity (身份) to record.")
PersonIn = _model("PersonIn", fields.PERSON_RECORD, "A person to record, with identities.",
                  lists={"identities": IdentityIn})
# pydantic's words for a value of the wrong shape, as the converters say them
_SHAPES = {"list_type": "must be a list", "model_type": "must be an object",
           "dict_type": "must be an object"}


def _fields_at(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The fields of the model that holds the last field of `loc`."""
    for part in loc[:-1]:
        if isinstance(part, str):
            inner = get_args(model.model_fields[part].annotation)
            if inner and isinstance(inner[0], type) and issubclass(inner[0], BaseModel):
                model = inner[0]
    return list(model.model_fields)


def parse_model(model: type[BaseModel], raw: object, path: str) -> Any:
    """`raw` (parsed JSON) as `model`, or the first error by its JSON path: an unknown
    field first (CASE.md), then the fields in the table's order."""
    obj = as_object(raw, path)
    try:
        return model.model_validate(obj)
    except ValidationError as e:
        errors = e.errors(include_url=False)
        first = next((x for x in errors if x["type"] == "extra_forbidden"), errors[0])
        where = path
        for part in first["loc"]:
            where = f"{where}[{part}]" if isinstance(part, int) else \
                f"{where}.{part}" if where else str(part)
        if first["type"] == "extra_forbidden":
            raise InputError(where, unknown_message(str(first["loc"][-1]),
                                                    _fields_at(model, first["loc"]))) from None
        message = (first.get("ctx") or {}).get("message") or _SHAPES.get(first["type"])
        raise InputError(where, message or first["msg"]) from None


def parse_person(raw: object, policy: Policy, path: str = "person") -> Person:
    """A case's person at `path`, its identities' categories those of `policy`."""
    return person_of(parse_model(CasePerson, raw, path), policy, path)


def person_of(m: Any, policy: Policy, path: str, id: str | None = None) -> Person:
    """A parsed person (CasePerson, or PersonIn whose `id` is the psn_no), checked across
    its fields: categories of the policy, exit after recognition, no identity twice."""
    if len(m.identities) > fields.MAX_IDENTITIES:
        raise InputError(f"{path}.identities", f"救助对象身份至多 {fields.MAX_IDENTITIES} 条（at "
                         f"most {fields.MAX_IDENTITIES} identities, not {len(m.identities)}）")
    identities: list[Identity] = []
    for i, ident in enumerate(m.identities):
        ip = f"{path}.identities[{i}]"
        if ident.category not in policy.categories:
            known = "、".join(f"{c}（{policy.label(c)}）" for c in policy.categories)
            raise InputError(f"{ip}.category", f"{policy.spec.name}没有救助对象身份「"
                             f"{ident.category}」，可选：{known} / unknown category "
                             f"{ident.category!r} for {policy.jurisdiction} (one of: "
                             f"{', '.join(policy.categories)})")
        start = getattr(ident, "from")
        if ident.to is not None and ident.to < start:
            raise InputError(f"{ip}.to", f"退出日期 {ident.to} 早于认定日期 {start} / exit date "
                             f"{ident.to} is before {ip}.from {start}")
        identity = Identity(ident.category, start, ident.to, ident.application)
        if identity in identities:
            raise InputError(ip, f"与 {path}.identities[{identities.index(identity)}] 重复"
                             f"（duplicate of an identity above）")
        identities.append(identity)
    return Person(id=id if id is not None else m.id, identities=tuple(identities),
                  disability_grade=m.disability_grade,
                  tilted_application=m.tilted_application,
                  statuses=_statuses(getattr(m, "statuses", ()), policy, path))


def _statuses(raw: Sequence[Any], policy: Policy, path: str) -> tuple[Held, ...]:
    """The statuses a person holds, each one the policy declares (`statuses:`)."""
    known = [st.id for st in policy.spec.statuses]
    out = []
    for i, m in enumerate(raw):
        sp = f"{path}.statuses[{i}]"
        if m.status not in known:
            raise InputError(f"{sp}.status", f"{policy.spec.name}的政策文件未定义人员状态"
                             f"「{m.status}」（已定义：{'、'.join(known) or '无'}） / status "
                             f"{m.status!r} is not declared by {policy.jurisdiction}'s policy "
                             f"(declared: {', '.join(known) or 'none'})")
        start, end = getattr(m, "from"), m.to
        if start is not None and end is not None and end < start:
            raise InputError(f"{sp}.to", f"终止日期 {end} 早于起始日期 {start} / {end} is "
                             f"before {sp}.from {start}")
        out.append(Held(m.status, start, end))
    return tuple(out)


def parse_visit(raw: object, path: str) -> Visit:
    """A case's visit at `path`."""
    return visit_of(parse_model(CaseVisit, raw, path), path)


def visit_of(m: Any, path: str, kind: str | None = None, id: str | None = None) -> Visit:
    """A parsed visit (CaseVisit, or a request whose `kind` and `id` the caller gives),
    checked across its fields: dates in order, the amounts consistent."""
    if m.end < m.start:
        raise InputError(f"{path}.end", f"早于入院/就诊日期 {m.start} / {m.end} "
                         f"is before {path}.start {m.start}")
    total = m.medfee_sumamt
    outside = m.fulamt_ownpay_amt + m.overlmt_selfpay + (m.preselfpay_amt or 0)
    if outside > total:
        raise InputError(f"{path}.medfee_sumamt",
                         f"小于全自费、超限价自付与先行自付之和 {to_yuan(outside)} / "
                         f"{to_yuan(total)} is less than "
                         f"{path}.fulamt_ownpay_amt + "
                         f"{path}.overlmt_selfpay + {path}.preselfpay_amt = {to_yuan(outside)}")
    inscp = total - outside
    if m.inscp_scp_amt is not None and m.inscp_scp_amt != inscp:
        raise InputError(f"{path}.inscp_scp_amt",
                         f"应等于总额减去全自费、超限价自付与先行自付，即 {to_yuan(inscp)} / "
                         f"{to_yuan(m.inscp_scp_amt)} must equal medfee_sumamt − "
                         f"fulamt_ownpay_amt − overlmt_selfpay − preselfpay_amt = "
                         f"{to_yuan(inscp)}")
    paid = 0
    for name in ("hifp_pay", "hifmi_pay", "oth_pay"):
        paid += getattr(m, name) or 0
        if paid > inscp:
            raise InputError(f"{path}.{name}",
                             f"基本医保、大病保险与其他支付之和超过政策范围内费用 "
                             f"{to_yuan(inscp)} / "
                             f"{path}.hifp_pay + {path}.hifmi_pay + {path}.oth_pay exceed the "
                             f"policy-range amount {path}.inscp_scp_amt {to_yuan(inscp)}")
    return Visit(
        id=id if id is not None else m.id, kind=kind if kind is not None else m.kind,
        start=m.start, end=m.end, medfee_sumamt=total,
        fulamt_ownpay_amt=m.fulamt_ownpay_amt, overlmt_selfpay=m.overlmt_selfpay,
        preselfpay_amt=m.preselfpay_amt or 0, hifp_pay=m.hifp_pay, hifmi_pay=m.hifmi_pay,
        oth_pay=m.oth_pay or 0, location=m.location, referral=m.referral,
        hospital_level=m.hospital_level, heroic_injury=m.heroic_injury,
        rare_disease=m.rare_disease)


def parse_local(raw: object, versions: Sequence[Policy]) -> dict[str, object]:
    """A case's `local` (a JSON object of local parameters) for `versions`: a name no
    shipped policy knows is an error naming it; one known elsewhere but not to this
    jurisdiction is dropped (a shared file of parameters serves several cities)."""
    if raw is None:
        return {}
    local = dict(as_object(raw, "local"))
    mine = {n for p in versions for n in p.spec.parameters}
    anywhere = mine | {n for p in model.shipped() for n in p.spec.parameters}
    for name in local:
        if name not in anywhere:
            meant = _meant(str(name), sorted(mine))
            zh, en = (f"；是否应为 {meant}？", f"; did you mean {meant}?") if meant else ("", "")
            raise InputError(f"local.{name}", f"{versions[0].spec.name}没有本地参数「{name}」"
                             f"（已知：{'、'.join(sorted(mine)) or '无'}{zh}） / unknown local "
                             f"parameter (known for "
                             f"{versions[0].jurisdiction}: {', '.join(sorted(mine))}{en})")
    return {k: v for k, v in local.items() if k in mine}


_local = parse_local  # the former private name


def parse_case(raw: object, extra: Sequence[Policy] = ()) -> Case:
    """A validated case; `extra` policies (from --policy-file) join the shipped ones."""
    c = as_object(raw, "$")
    known_fields(c, (*CASE_FIELDS, *WORKED_CASE_FIELDS), "")
    jurisdiction = as_jurisdiction(c.get("jurisdiction"), "jurisdiction", extra)
    versions = model.versions(jurisdiction, extra)
    person = parse_person(c.get("person"), versions[-1])
    visits = [parse_visit(v, f"visits[{i}]") for i, v in enumerate(_list(c.get("visits"),
                                                                         "visits"))]
    seen: dict[str, int] = {}
    for i, v in enumerate(visits):
        if model.in_force(versions, v.end) is None:
            first = versions[0]
            raise InputError(f"visits[{i}].end", f"{v.end} {first.spec.name}尚无施行的医疗救助政策"
                             f"（最早的版本 {first.in_force} 起施行） / no policy in force for "
                             f"{first.jurisdiction} on {v.end} (visits[{i}].start {v.start}); "
                             f"in force from {first.in_force}")
        if v.id in seen:
            raise InputError(f"visits[{i}].id", f"与 visits[{seen[v.id]}].id 重复「{v.id}」 / "
                             f"duplicate of visits[{seen[v.id]}].id {v.id!r}")
        seen[v.id] = i
    return Case(versions, parse_local(c.get("local"), versions), person, visits)


def settle_case(case: Case) -> CaseResult:
    try:
        return settle_year(case.versions, case.local, case.person, case.visits)
    except MissingParameter as e:
        raise InputError(e.path, e.message) from None


# -- output ---------------------------------------------------------------------------------
MONEY_FIELDS = ("medfee_sumamt", "inscp_scp_amt", "hifp_pay", "hifmi_pay", "oth_pay", "base",
                "assistance", "tilted", "special", "reassistance", "maf_pay", "psn_part_amt")
TOTAL_FIELDS = ("medfee_sumamt", "hifp_pay", "hifmi_pay", "oth_pay", "maf_pay", "psn_part_amt")


def settlement_json(s: Settlement) -> dict[str, Any]:
    out: dict[str, Any] = {"id": s.id, "year": s.year, "policy": s.policy,
                           "settled_as": s.settled_as, "category": s.category,
                           "rules": s.rules}
    for name in MONEY_FIELDS:
        out[name] = to_yuan(getattr(s, name))
    out["trace"] = [{**t.to_json(), "amount": to_yuan(t.amount)} for t in s.trace]
    return out


def year_end_json(y: YearEnd) -> dict[str, Any]:
    return {"year": y.year, "rule": y.rule, "label": y.label, "category": y.category,
            "visits": y.visits, "amount": to_yuan(y.amount),
            "trace": [{**t.to_json(), "amount": to_yuan(t.amount)} for t in y.trace]}


def result_json(result: CaseResult) -> dict[str, Any]:
    """The visits, the year-end stages' payouts, and the totals: a year-end payout is
    medical assistance too (maf_pay) and lowers what the person pays (psn_part_amt)."""
    visits = [settlement_json(s) for s in result.settlements]
    sums = {name: sum(getattr(s, name) for s in result.settlements) for name in TOTAL_FIELDS}
    year_end = sum(y.amount for y in result.year_end)
    sums["maf_pay"] += year_end
    sums["psn_part_amt"] -= year_end
    totals = {name: to_yuan(v) for name, v in sums.items()} | {"year_end": to_yuan(year_end)}
    return {"jurisdiction": result.jurisdiction, "person_id": result.person_id,
            "visits": visits, "year_end": [year_end_json(y) for y in result.year_end],
            "totals": totals}


def dumps(data: object, indent: int | None = 2) -> str:
    """JSON with money as numbers with two decimals (14400.00), never a float's digits."""
    return _FENCED.sub(r"\1", json.dumps(data, ensure_ascii=False, indent=indent,
                                         default=_fence))


_FENCED = re.compile(r'"\\u0000(-?[0-9]+(?:\.[0-9]+)?)\\u0000"')  # as json.dumps writes it


def _fence(value: object) -> object:
    """A Decimal as a string fenced by NUL characters, which `dumps` removes with the quotes
    (json.dumps asks for each value it cannot write, at any depth)."""
    if isinstance(value, Decimal):
        return f"\u0000{value}\u0000"
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
