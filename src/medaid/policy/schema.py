"""The policy file schema (YAML → pydantic), validated on load.

A policy file is one jurisdiction in one version. Its keys are the rule ids of
RULES.md; every number carries its source (the seed document and article), and every
local parameter the document leaves open says where its value comes from or is required.
Amounts are yuan, ratios are decimals (0.85); both are made exact (fen, basis points)
when the file is compiled (`policy.model`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from medaid.policy.funds import Funds
from medaid.policy.indicators import Indicator
from medaid.policy.monitoring import Monitoring

KINDS = (
    "general_outpatient",
    "special_outpatient",
    "inpatient",
    "dual_channel_drug",
    "rare_disease_drug",
    "rehabilitation",
    "childbirth",
)
Kind = Literal[
    "general_outpatient",
    "special_outpatient",
    "inpatient",
    "dual_channel_drug",
    "rare_disease_drug",
    "rehabilitation",
    "childbirth",
]
Referral = Literal["ok", "unreferred", "unreferred_hardship"]
Location = Literal["city", "province", "out_of_province"]
Flag = Literal["heroic_injury", "rare_disease"]
def _fen(value: Decimal) -> Decimal:
    """An amount in yuan that is a whole number of fen (8000, 3500.50), refused when the
    file loads rather than when a visit first reads it."""
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"金额最多两位小数（分）：{value} / at most two decimals (fen)")
    return value


def _bp(value: Decimal) -> Decimal:
    """A ratio or multiplier of whole basis points (0.85, 0.0525)."""
    if value != value.quantize(Decimal("0.0001")):
        raise ValueError(f"比例最多四位小数（万分之一）：{value} / at most four decimals "
                         "(basis points)")
    return value


Number = Annotated[Decimal, Field(ge=0), AfterValidator(_fen)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParamRef(Strict):
    """A value taken from a local parameter, optionally scaled (10% × income)."""

    param: str
    times: Annotated[Decimal, Field(ge=0), AfterValidator(_bp)] = Decimal(1)


Amount = Number | ParamRef  # yuan, literal or from a local parameter
Ratio = Annotated[Decimal, Field(ge=0, le=1), AfterValidator(_bp)] | ParamRef


class Cited(Strict):
    """Anything tied to a rule id and an article of the policy's document, or of a notice
    that amended it (`document`: the notice's file, one of the policy's `notices`)."""

    rule: str
    article: str
    document: str | None = None


class Category(Strict):
    id: str
    label: str
    idet_type: str | None = None  # national psn_idet_type code (spec/NATIONAL.md)
    js_class: Literal["key", "low_income", "other"] | None = None  # Jiangsu framework class


class Lookback(Cited):
    """A period before a date of the identity that the category also covers."""

    categories: list[str]
    months: int = Field(gt=0)
    before: Literal["from", "application"] = "from"
    # the period's last day: the day before `before` (anchor), or the day before the
    # identity's `from` (from: 自提出救助申请之日前6个月起, the pending time until
    # recognition covered too)
    until: Literal["anchor", "from"] = "anchor"
    new_this_year: bool = False  # 当年新认定: only an identity recognised in the visit's year
    # only an identity recognised on or after this day (2024年10月1日以后新认定的…): a
    # notice's look-back written where it reaches, visits before the notice included
    recognised_since: date | None = None
    # 计入累计，不予救助: the period's visits count into every pool the lines and tilted
    # assistance measure (deductibles, segments, tilted) and no line pays them (YC-T)
    counts_only: bool = False
    # only for a person who applied for tilted assistance in the visit's year (依申请, YC-T)
    with_tilted_application: bool = False
    # replaces the ratios of the lines of `rules` (default: this rule) for visits in the
    # period (NB-A3: 60%, its own lines alone); it never changes another line (a
    # special grant), and a period with a ratio is tried before the window in force, so its
    # reading wins where the two overlap
    ratio: Ratio | None = None
    rules: list[str] | None = None
    # the visits it reaches back to, by their setting (认定之日前3个月内发生的住院费用:
    # [inpatient]); the others of the period are not covered by it
    kinds: Annotated[list[Kind], Field(min_length=1)] | Literal["*"] = "*"

    @model_validator(mode="after")
    def _paid_or_counted(self) -> Lookback:
        if self.counts_only and (self.ratio is not None or self.rules is not None):
            raise ValueError("只计入累计的回溯期（counts_only）不支付，不能有 ratio 或 rules / "
                             "a counts_only look-back pays nothing: no ratio or rules")
        return self


class Grace(Cited):
    """渐退期: after exit the identity keeps counting, as the same category, for `months`
    months from its `to` (低保对象、特困人员退出后给予6个月渐退期，渐退期内按原身份继续享受)."""

    categories: list[str]
    months: int = Field(gt=0)
    # only an identity exited on or after this day (2025年1月1日以后退出的…延长至12个月；此前
    # 退出的仍按6个月): the first entry listing the category that the exit meets applies
    exited_since: date | None = None


class Windows(Cited):
    # exact: from `from`; month_start: the first of its month; next_month: the first of the
    # month after it (自认定之日的次月起享受)
    start: Literal["exact", "month_start", "next_month"]
    # exact: to the exit day itself; day_before: not on it (自退出之日起停止享受);
    # month_end: to the last day of its month (自次月起不再享受)
    end: Literal["exact", "day_before", "month_end"]
    # the categories `end: month_end` applies to (JS-W: the listed key categories); None:
    # every category; the others end on `to` exactly
    month_end_categories: list[str] | None = None
    # true: a stay counts if the identity holds on any of its days; false: on its discharge
    # date; admission: on its admission date (按入院之日的身份)
    stay_rule: Literal[True, False, "admission"]
    lookback: list[Lookback] = []
    grace: list[Grace] = []  # the first entry listing the category applies


class ReferralEffect(Strict):
    assistance: bool = True  # False: no assistance at all
    # percentage points added to every ratio: a penalty, so −100..0 (降低20个百分点: -20);
    # no shipped document raises a ratio for an unreferred visit
    ratio_points: int = 0
    tilt: bool = True
    # False: its costs stay out of every stage after assistance (其费用不纳入个人负担封顶计算)
    stages: bool = True

    @field_validator("ratio_points")
    @classmethod
    def _penalty(cls, v: int) -> int:
        if not -100 <= v <= 0:
            raise ValueError(f"未转诊的救助比例只能降低：ratio_points 应在 -100 到 0 之间（降低20个"
                             f"百分点写 -20），不能是 {v} / ratio_points lowers the ratios of an "
                             f"unreferred visit: from -100 to 0, not {v}")
        return v


class Highest(Cited):
    """就高不叠加 for a person holding several identities, as the document says it: `amount`
    (the default, RULES §3): the category that yields the largest assistance for the visit,
    ties to the first listed; `order`: the first category listed among those that assist
    the visit (依次为特困人员、低保对象…), whatever the others would pay. Either way the
    deductible and segment pools of every category in force measure the visit."""

    by: Literal["amount", "order"] = "amount"


class ReferralRule(Cited):
    """What an unreferred visit loses, for the visits of `kinds` (the kind a visit is
    settled as, as everywhere) and `locations` the document names (未按规定办理转诊手续
    自行到县外住院的: [inpatient], [province, out_of_province]); any other visit is settled
    as referred."""

    unreferred: ReferralEffect = ReferralEffect()
    unreferred_hardship: ReferralEffect = ReferralEffect()
    kinds: list[Kind] | Literal["*"] = "*"
    locations: list[Location] | None = None

    def covers(self, kind: str, location: str) -> bool:
        """Whether the rule reads a visit of this kind and location."""
        return (self.kinds == "*" or kind in self.kinds) \
            and (self.locations is None or location in self.locations)


# how segments' `upto` bounds are counted: above the deductible (the default), or as
# amounts from zero as the document writes them (5000元至2万元（含）的部分按50%: upto 20000)
Bounds = Literal["above_deductible", "absolute"]


class Segment(Strict):
    # cumulative amount above the deductible (with `bounds: absolute`: an amount of cost
    # from zero); None: open
    upto: Number | None = None
    ratio: Ratio


def _rising(segments: list[Segment]) -> list[Segment]:
    """Bounds that rise from 0, only the last open: a curve the engine and the kernel read
    alike (a falling bound would be a negative width)."""
    prev = Decimal(0)
    for i, seg in enumerate(segments):
        if seg.upto is None:
            if i != len(segments) - 1:
                raise ValueError("只有最后一段可以不设上限（upto） / only the last segment may "
                                 "be open")
        elif seg.upto <= 0:
            raise ValueError(f"第一段的上限（upto）须大于 0，不能是 {seg.upto} / the first "
                             f"segment's bound must be above 0, not {seg.upto}")
        elif seg.upto <= prev:
            raise ValueError(f"分段上限须逐段升高：{seg.upto} 不高于前一段的 {prev} / segments "
                             f"must rise: {seg.upto} after {prev}")
        else:
            prev = seg.upto
    return segments


Segments = Annotated[list[Segment], AfterValidator(_rising)]


class RaisedCap(Strict):
    """A cap that depends on a condition: from the visit whose own base exceeds `over` (one
    stay's self-pay above the critical-illness deductible), the cap is `amount` for the rest
    of the pool's period. `kinds`: the visits whose base may raise it (a stay's: `[inpatient]`);
    once raised, it is raised for every line whose cap on the pool says `raised`."""

    amount: Amount
    over: Amount
    kinds: list[Kind] | Literal["*"] = "*"


class Cap(Strict):
    pool: str
    amount: Amount
    optional: bool = False  # a cap whose parameter nobody set is left out (JS outpatient_cap)
    raised: RaisedCap | None = None


SelfPayPart = Literal["preselfpay_amt", "overlmt_selfpay", "fulamt_ownpay_amt"]
Fund = Literal["hifp_pay", "hifmi_pay", "oth_pay"]
FUNDS: tuple[Fund, ...] = ("hifp_pay", "hifmi_pay", "oth_pay")


class Base(Strict):
    """What a line assists, from the national amount fields: the policy-range amount
    (inscp_scp_amt) plus the self-pay parts of `include` (e.g. 先行自付 preselfpay_amt), less
    the funds of `after` (every fund, RULES §1; basic insurance only, NJ-A3/A4/A6)."""

    include: list[SelfPayPart] = []
    after: list[Fund] = list(FUNDS)

    @model_validator(mode="after")
    def _once(self) -> Base:
        if len(set(self.include)) != len(self.include) or len(set(self.after)) != len(self.after):
            raise ValueError("每个金额字段只能列一次 / each amount field at most once")
        return self


# the two readings the shipped documents use, by name
BASES = {"after_all_funds": Base(), "after_basic": Base(after=["hifp_pay"])}


class Pool(Strict):
    """A named pool and the period it accumulates over: the person's year (年度累计) or
    one visit (单次: a per-admission deductible, threshold or cap; `admission` is the same)."""

    period: Literal["year", "visit"] = "year"
    label: str | None = None
    # a cap pool's limit (年度救助限额), for each cap on the pool that gives no `amount`: one
    # limit shared by several lines is written once
    amount: Amount | None = None
    # the article that sets the pool's limit where a line's own does not (合计…不超过5万元：
    # 第八条), named beside the pool wherever its label is; `document`: the file of the notice
    # whose article it is (an amendment that raises the limit)
    article: str | None = None
    document: str | None = None

    @field_validator("period", mode="before")
    @classmethod
    def _admission(cls, v: object) -> object:
        if isinstance(v, str) and v not in ("year", "visit", "admission"):
            raise ValueError(f"取值「{v}」无效，应为：year（年度累计）、visit 或 admission（单次）"
                             f" / one of year, visit, admission")
        return "visit" if v == "admission" else v  # 单次住院: the visit is the admission


class Status(Strict):
    """A person-level status a document attaches a rule to (门诊特殊病种认定, 重度残疾): the
    case names the statuses a person holds, with their dates (`person.statuses`)."""

    id: str
    label: str


class Conditions(Strict):
    """Who and which visits a line or stage is for, beyond category and kind: every
    condition given must hold (a status on the visit's date; the visit's facts)."""

    statuses: list[str] = []  # every status must be held on the visit's end date
    # none of these may be held on it (未纳入门诊慢特病管理的: the others' line)
    not_statuses: list[str] = []
    locations: list[Location] | None = None  # 就医地: city, province, out_of_province
    # 医院等级 1–3; 0: 未定级 (a visit without a level: a clinic below the first level)
    hospital_levels: list[Literal[0, 1, 2, 3]] | None = None
    referrals: list[Referral] | None = None


def conditional(c: Conditions) -> bool:
    """Whether any condition is set (without any, a line matches every visit)."""
    return bool(c.statuses or c.not_statuses) or any(
        v is not None for v in (c.locations, c.hospital_levels, c.referrals))


class Line(Cited, Conditions):
    """One rule line: who, which visits, and the payout function over a pool."""

    tier: Literal["assistance", "special"] = "assistance"
    categories: list[str] | Literal["*"]
    kinds: list[Kind] | Literal["*"]
    flags: list[Flag] = []  # every flag must be set on the visit
    disability_grades: list[int] | None = None
    exclusive: bool = False  # a visit this line matches (by kind/flags/grade) is settled by
    # the exclusive lines alone (NB-S3)
    alternative: bool = False  # tried beside the regular lines of the visit's setting, the
    # higher applied, ties to this line (就高不叠加: NB-S1, NB-S2)
    # what the line assists: a named reading (`BASES`) or its composition (`Base`); the
    # payout never exceeds what remains of the same parts after every fund
    base: Literal["after_all_funds", "after_basic"] | Base = "after_all_funds"
    pool: str | None = None  # base pool (deductible/segments); default: the rule id
    deductible: Amount = Decimal(0)
    segments: Segments = []
    bounds: Bounds = "above_deductible"
    caps: list[Cap] = []
    grant: Amount | None = None  # a fixed grant instead of segments (NB-S1)
    label: str | None = None

    @model_validator(mode="after")
    def _payout(self) -> Line:
        if self.exclusive and self.alternative:
            raise ValueError("一条救助标准不能同时是 exclusive 和 alternative / "
                             "a line is exclusive or alternative, not both")
        if (self.grant is not None) != bool(self.segments):
            return self
        raise ValueError("一条救助标准须有 segments 或 grant，且只能有其一 / "
                         "a line has either segments or a grant, exactly one")


class Refusal(Cited):
    """A category × kind that the document deliberately leaves unassisted, and why."""

    categories: list[str] | Literal["*"]
    kinds: list[Kind] | Literal["*"] = "*"
    reason: str


class StageBase(Strict):
    """What a stage after assistance measures, per visit: the policy-range amount
    (inscp_scp_amt) plus the self-pay parts of `include`, less every fund and what
    assistance, tilted assistance and the earlier stages paid of the visit."""

    include: list[SelfPayPart] = []

    @model_validator(mode="after")
    def _once(self) -> StageBase:
        if len(set(self.include)) != len(self.include):
            raise ValueError("每个金额字段只能列一次 / each amount field at most once")
        return self


# the two readings documents use, by name: 政策范围内个人负担 and 个人自付总额
STAGE_BASES = {"remainder": StageBase(),
               "out_of_pocket": StageBase(include=["preselfpay_amt", "overlmt_selfpay",
                                                   "fulamt_ownpay_amt"])}


def _article_for(article: str | None, document: str | None) -> None:
    if document is not None and article is None:
        raise ValueError("document 是其条款所在的文本，须与 article 一起写 / a document names "
                         "where the article is: give the article too")


class TiltedValues(Strict):
    """Tilted assistance's values for some categories (e.g. 70% for 特困/低保/返贫致贫, 60%
    for the others), each left out taking tilted assistance's own; caps are the entry's own
    cap pools (each its own annual limit). The tilted base accumulates in the one pool."""

    categories: list[str]
    article: str | None = None  # the article that states these values (default: tilted's)
    document: str | None = None  # the text its article is in (default: tilted's)
    deductible: Amount | None = None
    segments: Segments | None = None
    caps: list[Cap] | None = None

    @model_validator(mode="after")
    def _document_of_an_article(self) -> TiltedValues:
        _article_for(self.article, self.document)
        return self


class Tilted(Cited):
    """Tilted assistance (倾斜救助), after assistance."""

    defined: bool = True  # False: the document leaves it to a later measure (CZ-T)
    # remainder: what assistance left of the visit's base; a composition {include: […]}:
    # of the policy-range amount plus those self-pay parts, less the funds (倾斜救助基数为
    # 政策范围内个人负担与乙类先行自付之和); beyond_cap: the base past the line's cap (YC-T)
    base: Literal["remainder", "beyond_cap"] | StageBase
    requires_application: bool = False
    referral: list[Referral] = ["ok"]
    locations: list[Location] = ["city", "province"]
    kinds: list[Kind] | Literal["*"] = "*"
    # shorthand for a look-back of every category, `months` before `from`, for persons
    # recognised this year who applied for tilted assistance, counted and not paid
    # (`tilted_lookback`; YC-T: 当年新增对象追溯到身份认定前3个月内)
    lookback_months: int = 0
    pool: str = "tilted"
    deductible: Amount = Decimal(0)
    segments: Segments
    bounds: Bounds = "above_deductible"
    caps: list[Cap] = []
    categories: list[str] | Literal["*"] = "*"  # the categories it assists at all
    # values by category: the first entry listing the visit's category applies, else the
    # values above
    by_category: list[TiltedValues] = []




class Ceiling(Strict):
    """个人负担封顶: the part of the measure above `share` of the period's total of the national
    amount field `of` (e.g. 10% of the year's policy-range cost), or above `amount`, or
    above the lower of the two when both are given, is paid."""

    share: Ratio | None = None
    of: Literal["medfee_sumamt", "inscp_scp_amt"] = "inscp_scp_amt"
    amount: Amount | None = None

    @model_validator(mode="after")
    def _some(self) -> Ceiling:
        if self.share is None and self.amount is None:
            raise ValueError("封顶线须有 share（某字段的比例）或 amount，或两者 / "
                             "a ceiling needs a share (of a field) or an amount, or both")
        return self


class StageValues(Strict):
    """A stage's values for some categories; each left out takes the stage's own (its
    `article` too: the one that states these values, in the stage's text unless `document`
    names another)."""

    categories: list[str]
    article: str | None = None
    document: str | None = None
    deductible: Amount | None = None
    segments: Segments | None = None
    grant: Amount | None = None
    ceiling: Ceiling | None = None
    caps: list[Cap] | None = None

    @model_validator(mode="after")
    def _document_of_an_article(self) -> StageValues:
        _article_for(self.article, self.document)
        return self


class Stage(Cited, Conditions):
    """A stage after assistance and tilted assistance (RULES §2 ends with tilted; these
    follow it in the order listed): re-assistance 再救助 (segments over a pool), a flat
    grant 一次性补助 once the measure passes `deductible`, or a ceiling 封顶 on what the
    person bears. `when: visit` pays at each visit, cumulatively over its pool (`pools:`
    gives the period, year or visit) like any line; `when: year_end` pays once per
    person-year over the year's visits that qualify (`medaid settle` reports it under
    `year_end`)."""

    label: str
    when: Literal["visit", "year_end"] = "visit"
    # a year-end stage's category: the first-listed among its visits' (`visits`), or the
    # identity the person holds at the year's end (`year_end`: 按年末所具有的救助身份执行),
    # whose values then apply to every visit of the year the stage's kinds take
    category_at: Literal["visits", "year_end"] = "visits"
    # with `year_end`, a person holding no identity on 31 December: by the one held last in
    # the year (`last`), or no payout (`none`: 年末已不具有救助身份的，不享受)
    unheld_at_year_end: Literal["last", "none"] = "last"
    base: Literal["remainder", "out_of_pocket"] | StageBase = "remainder"
    categories: list[str] | Literal["*"] = "*"
    kinds: list[Kind] | Literal["*"] = "*"
    pool: str | None = None  # default: the rule id
    deductible: Amount = Decimal(0)  # 起付标准; for a grant, the amount to exceed
    segments: Segments = []
    bounds: Bounds = "above_deductible"
    grant: Amount | None = None
    ceiling: Ceiling | None = None
    caps: list[Cap] = []
    by_category: list[StageValues] = []

    @model_validator(mode="after")
    def _payout(self) -> Stage:
        forms = [bool(self.segments), self.grant is not None, self.ceiling is not None]
        if sum(forms) != 1:
            raise ValueError("一个阶段须有 segments、grant、ceiling 三者之一，且只能有其一 / "
                             "a stage has exactly one of segments, grant or ceiling")
        if self.category_at == "year_end" and self.when != "year_end":
            raise ValueError("category_at: year_end 只用于年终阶段（when: year_end） / only a "
                             "year-end stage takes the identity held at the year's end")
        if self.unheld_at_year_end != "last" and self.category_at != "year_end":
            raise ValueError("unheld_at_year_end 只用于按年末身份的阶段（category_at: year_end）"
                             " / only a stage by the identity held at the year's end takes it")
        return self


class CriticalIllnessTilt(Cited):
    """大病保险倾斜 for assisted persons: the deductible a share of the standard, every
    segment ratio raised, and (`no_cap`) no annual cap (取消封顶线), for a person with an
    identity of `categories` in force (default: any). Several are tried in order."""

    deductible_share: Ratio
    ratio_points: int
    categories: list[str] | Literal["*"] = "*"
    no_cap: bool = False


class ParamValue(Strict):
    """One value and its source: for the visits of one calendar year (`year`: e.g. the
    previous year's income), or in force from a date until the parameter's next value
    (`from`, as OpenFisca dates parameters: a raised cap from 2024-07-01)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    year: int | None = Field(default=None, ge=1900, le=2100)
    since: date | None = Field(default=None, alias="from")
    value: Decimal | ParamRef
    source: str

    @model_validator(mode="after")
    def _dated(self) -> ParamValue:
        if (self.year is None) == (self.since is None):
            raise ValueError("一个取值须有 year 或 from，且只能有其一 / "
                             "a value has either a year or a from date, exactly one")
        return self

    @property
    def when(self) -> str:
        return str(self.year) if self.year is not None else f"自{self.since}起"


class Parameter(Strict):
    type: Literal["money", "ratio", "critical_illness", "basic_insurance"]
    label: str
    source: str | None = None  # where the default or values come from
    # a number, a reference to another parameter, or a mapping for a structured type
    default: Annotated[Decimal | ParamRef | dict[str, object] | None,
                       Field(union_mode="left_to_right")] = None
    values: list[ParamValue] = []  # by the year or the date of the visit (`ParamValue`)
    # floors and ceilings; a floor may be a share of another parameter (JS: key_cap ≥ 50%
    # of basic_cap), and `below` names a parameter this one must stay strictly under (JS:
    # low_income_ratio < key_ratio); both are checked when the value is used
    min: Decimal | ParamRef | None = None
    max: Decimal | None = None
    below: str | None = None
    used_by: list[str] = []

    @model_validator(mode="after")
    def _sourced(self) -> Parameter:
        if self.default is not None and not self.source:
            raise ValueError("默认值须注明来源（source） / a default needs its source")
        keys = [v.year if v.year is not None else v.since for v in self.values]
        if len(set(keys)) != len(keys):
            raise ValueError("同一年份或起始日期有两个取值 / "
                             "two values for the same year or from date")
        return self


class PremiumShare(Strict):
    categories: list[str]
    share: Ratio | None = None  # of the individual premium
    amount: Amount | None = None  # a fixed subsidy


class PremiumSubsidy(Cited):
    shares: list[PremiumShare]
    disability_grades_full: list[int] = []  # NB-P: grade 1–2 fully subsidised
    # in_year: an identity in force on any day of the year is subsidised for the year;
    # month_after_approval: NB-P's timing (registry.premium.subsidised_from)
    timing: Literal["in_year", "month_after_approval"] = "in_year"
    note: str | None = None


class Document(Strict):
    file: str
    title: str


# RULES §1: a kind the rules do not name is settled as the setting it belongs to
SETTING_OF: dict[str, str] = {"childbirth": "inpatient", "rehabilitation": "general_outpatient",
                              "dual_channel_drug": "special_outpatient",
                              "rare_disease_drug": "special_outpatient"}


def _default_fallback(data: dict[str, Any]) -> dict[str, str]:
    """RULES §1 for a file that writes no `kind_fallback`: each kind of `SETTING_OF` no line
    names goes to its setting, where a line names that setting (a file whose lines cover
    every kind, `kinds: "*"`, needs none). A refusal naming the kind for some categories
    refuses it for them alone; the others' visits still fall back."""
    named: set[str] = set()
    for entry in data.get("lines") or []:
        kinds = entry.get("kinds") if isinstance(entry, dict) else None
        if isinstance(kinds, list):
            named.update(str(k) for k in kinds)
    return {k: v for k, v in SETTING_OF.items() if k not in named and v in named}


def _pool_amounts(data: dict[str, Any]) -> dict[str, Any]:
    """Each cap that gives no `amount` takes its pool's (`pools: {main_cap: {amount: …}}`);
    one whose pool has none is left for the schema to name as missing."""
    pools = data.get("pools")
    limits = {name: p["amount"] for name, p in pools.items()
              if isinstance(p, dict) and "amount" in p} if isinstance(pools, dict) else {}
    if not limits:
        return data

    def fill(caps: object) -> object:
        if not isinstance(caps, list):
            return caps
        return [{**c, "amount": limits[c["pool"]]} if isinstance(c, dict) and "amount" not in c
                and c.get("pool") in limits else c for c in caps]

    def entry(e: object) -> object:
        if not isinstance(e, dict):
            return e
        out = {**e, "caps": fill(e["caps"])} if "caps" in e else dict(e)
        if isinstance(e.get("by_category"), list):
            out["by_category"] = [entry(v) for v in e["by_category"]]
        return out

    out = dict(data)
    for key in ("lines", "stages"):
        if isinstance(data.get(key), list):
            out[key] = [entry(e) for e in data[key]]
    if isinstance(data.get("tilted"), dict):
        out["tilted"] = entry(data["tilted"])
    return out


class PolicyFile(Strict):
    jurisdiction: str
    name: str
    version: str
    in_force: date
    document: Document
    # the notices that amended the document, in order: an amendment's `notice`, which the
    # entries it gives cite (their `document`)
    notices: list[Document] = []
    categories: list[Category]
    highest: Highest | None = None  # absent: by amount, cited as RULES §3
    kind_fallback: dict[Kind, Kind] = {}
    # cumulative: each line pays R(F(C_after)) − R(F(C_before)) (RULES §3); per_visit: each
    # visit's payout rounded on its own, R(F(C_after) − F(C_before)), as the national
    # platform and published worked examples do
    rounding: Literal["cumulative", "per_visit"] = "cumulative"
    # the pools and their periods; absent: every pool a line names is annual. Present: a
    # pool a line or a cap names must be listed here
    pools: dict[str, Pool] | None = None
    windows: Windows
    referral: ReferralRule | None = None
    parameters: dict[str, Parameter] = {}
    # 大病保险倾斜: one, or one per group of categories (特困…起付线降低50%、取消封顶线；
    # 低保边缘…起付线降低25%), the first whose categories the person holds applying
    critical_illness_tilt: CriticalIllnessTilt | list[CriticalIllnessTilt] | None = None
    lines: list[Line]
    refusals: list[Refusal] = []
    tilted: Tilted | None = None
    stages: list[Stage] = []  # after tilted assistance, in this order
    statuses: list[Status] = []  # the person-level statuses lines and stages may require
    premium_subsidy: PremiumSubsidy | None = None
    framework: dict[str, str] = {}  # notes for a provincial framework (Jiangsu)
    monitoring: Monitoring | None = None  # 双预警 (policy.monitoring)
    funds: Funds | None = None  # 专户, 预拨, 拨付, 清算 (policy.funds)
    indicators: list[Indicator] = []  # 控费和服务指标 (policy.indicators)

    @model_validator(mode="before")
    @classmethod
    def _fallback(cls, data: Any) -> Any:
        if isinstance(data, dict) and "kind_fallback" not in data:
            data = {**data, "kind_fallback": _default_fallback(data)}
        return _pool_amounts(data) if isinstance(data, dict) else data

    @field_validator("jurisdiction")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not v.isidentifier() or v.lower() != v:
            raise ValueError("应为小写英文标识，如 nanjing / a lower-case identifier, e.g. nanjing")
        return v
