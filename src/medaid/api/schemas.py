"""The API's request and response shapes, for the OpenAPI document at /docs.

A settlement request's and a person's models parse: they are medaid.engine.case's (VisitIn,
SettleVisitIn, PersonIn), built from medaid.policy.fields. The other request models here
describe bodies that the use cases validate by JSON path (`medaid.engine.case`'s converters);
app.strict refuses a field they do not name.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, Field, WithJsonSchema

from medaid.engine.case import PersonIn, SettleVisitIn, VisitIn

Yuan = Annotated[Decimal, WithJsonSchema({"type": "number", "multipleOf": 0.01, "minimum": 0,
                                          "description": "yuan, at most two decimals"})]
SignedYuan = Annotated[Decimal, WithJsonSchema({"type": "number", "multipleOf": 0.01})]

# Query parameters the routers share: a year, and a district's 6-digit division code.
Year = Annotated[int, Query(ge=1990, le=2100)]
OptYear = Annotated[int | None, Query(ge=1990, le=2100)]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a row's id")]  # Integer keys
_DISTRICT = Query(pattern="^[0-9]{6}$", description="区划代码: a district's 6-digit code")
District = Annotated[str | None, _DISTRICT]
DistrictCode = Annotated[str, _DISTRICT]


__all__ = ["PersonIn", "SettleVisitIn", "VisitIn"]  # re-exported for the routers' documents


class CancelIn(BaseModel):
    """Optional checks on a cancellation (2208/2305 carry them): a settlement that is not of
    this person or visit is refused (422), one that no longer pays `maf_pay` is not
    cancelled (409)."""

    psn_no: str | None = None
    mdtrt_id: str | None = None
    maf_pay: Yuan | None = Field(None, description=(
        "医疗救助基金支出: the assistance the caller confirmed the cancellation takes back; "
        "a settlement paying another amount now (settled again since) is a 409, nothing "
        "cancelled"))


class TraceLineOut(BaseModel):
    """One step of the explanation: `text` in Chinese, `detail` in English, both from
    `code` and `args` (amounts in fen, ratios in basis points); `citation` is the
    document's number and article."""

    tier: str
    rule: str
    source: str
    citation: str = ""
    code: str = ""
    args: dict[str, Any] = {}
    text: str = ""
    detail: str
    amount: SignedYuan


class SettlementOut(BaseModel):
    """A ledger entry (a cancellation carries what the visit stood at negated; a settlement
    adjusted since carries `adjusted`: what it stands at now)."""

    setl_id: str | None = Field(description="结算ID (ours); null for a pre-settlement")
    entry: Literal["settle", "cancel", "preview"]
    reverses: str | None = None
    cancelled_by: str | None = None
    medins_setl_id: str | None
    mdtrt_id: str
    psn_no: str
    fixmedins_code: str
    med_type: str | None
    kind: str
    start: date
    end: date
    setl_time: str | None = None
    year: int
    policy: str
    settled_as: str
    category: str | None
    rules: list[str]
    medfee_sumamt: SignedYuan
    fulamt_ownpay_amt: SignedYuan
    overlmt_selfpay: SignedYuan
    preselfpay_amt: SignedYuan
    inscp_scp_amt: SignedYuan
    hifp_pay: SignedYuan
    hifmi_pay: SignedYuan
    oth_pay: SignedYuan
    base: SignedYuan = Field(description="the assistance base (政策范围内个人自付)")
    assistance: SignedYuan
    tilted: SignedYuan
    special: SignedYuan
    reassistance: SignedYuan = Field(
        description="医疗再救助: the visit's stages after tilted assistance (policy `stages:`)")
    maf_pay: SignedYuan = Field(
        description="医疗救助基金支出 = assistance + tilted + special + reassistance")
    psn_part_amt: SignedYuan = Field(description="个人负担总金额")
    trace: list[TraceLineOut]
    adjusted: dict[str, Any] | None = Field(None, description=(
        "补差: a settlement adjusted since (not cancelled) — each tier as it stands now "
        "(yuan), the category and rules it is settled by, the trace of its settlement "
        "again, and each adjustment (time, cause, reason, route, maf_pay)"))


class InstitutionIn(BaseModel):
    fixmedins_code: str = Field(description="12 characters")
    name: str
    jurisdiction: str
    district: str
    level: int | None = Field(None, description="hospital level 1–3")


class ParameterIn(BaseModel):
    jurisdiction: str
    name: str = Field(description="a local parameter the jurisdiction's policy declares")
    year: int | None = Field(None, description="the visits' year it applies to; null: any")
    value: Any
    source: str = Field(description="where the value comes from")


class LoginIn(BaseModel):
    username: str
    password: str


class RosterRecordIn(BaseModel):
    name: str
    certno: str
    category: str = Field(description="a category id, label, short form or psn_idet_type")
    start: str = Field(description="认定日期")
    end: str | None = Field(None, description="退出日期")
    application: str | None = None
    department: str | None = None
    disability_grade: str | int | None = None


class RostersIn(BaseModel):
    """A roster as JSON (a file goes as multipart form data with the same fields)."""

    jurisdiction: str
    district: str = Field(description="6-digit administrative-division code")
    department: str | None = Field(None, description="for records that name none")
    month: str | None = Field(None, description="YYYY-MM; the current month by default")
    mode: Literal["complete", "incremental"] = Field(
        description="complete: the department's complete list (who is absent exits); "
                    "incremental: only who is listed (nobody exits)")
    dry_run: bool = False
    confirm_exits: bool = Field(False, description="apply a complete list that ends more "
                                "than the district's exit share (roster_exit_confirm_percent)")
    records: list[RosterRecordIn]


class ErrorOut(BaseModel):
    class Detail(BaseModel):
        status: int
        path: str | None
        message: str

    error: Detail


def body(model: type[BaseModel], required: bool = True) -> dict[str, Any]:
    """`openapi_extra` documenting a JSON request body the route reads itself."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:  # nested models in place: the document has no $defs
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return {"requestBody": {"required": required,
                            "content": {"application/json": {"schema": inline(schema)}}}}
