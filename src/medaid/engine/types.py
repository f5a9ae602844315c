"""The engine's inputs and outputs: persons, visits, settlements, trace lines (fen)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from medaid.engine import wording

if TYPE_CHECKING:
    from medaid.policy.model import CitedEntry, Policy

INPATIENT_SETTINGS = frozenset({"inpatient", "childbirth"})  # stays: the stay rule applies


@dataclass(frozen=True, slots=True)
class Identity:
    """A recognised category (身份) with its window dates."""

    category: str
    start: date  # 认定日期 `from`
    end: date | None = None  # 退出日期 `to`
    application: date | None = None


@dataclass(frozen=True, slots=True)
class Held:
    """A person-level status (门诊特殊病种认定, …) held from `start` to `end` (open: None)."""

    status: str
    start: date | None = None
    end: date | None = None

    def on(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    identities: tuple[Identity, ...] = ()
    disability_grade: int | None = None
    tilted_application: date | None = None
    statuses: tuple[Held, ...] = ()

    def holds(self, status: str, day: date) -> bool:
        return any(h.status == status and h.on(day) for h in self.statuses)


@dataclass(frozen=True, slots=True)
class Visit:
    """One outpatient visit or inpatient stay; amounts in fen (national field names)."""

    id: str
    kind: str
    start: date
    end: date
    medfee_sumamt: int
    fulamt_ownpay_amt: int = 0
    overlmt_selfpay: int = 0
    preselfpay_amt: int = 0
    hifp_pay: int | None = None  # None: computed from local parameters
    hifmi_pay: int | None = None
    oth_pay: int = 0
    location: str = "city"
    referral: str = "ok"
    hospital_level: int | None = None
    heroic_injury: bool = False
    rare_disease: bool = False

    @property
    def inscp_scp_amt(self) -> int:
        return self.medfee_sumamt - self.fulamt_ownpay_amt - self.overlmt_selfpay \
            - self.preselfpay_amt

    @property
    def flags(self) -> frozenset[str]:
        return frozenset(f for f, on in (("heroic_injury", self.heroic_injury),
                                         ("rare_disease", self.rare_disease)) if on)


@dataclass(frozen=True, slots=True)
class TraceLine:
    """One step of the explanation: which rule of which article, what happened (a code and
    its arguments, put into words by `engine.wording`), the amount."""

    tier: str  # hifp | hifmi | assistance | tilted | special | chain
    rule: str
    source: str  # the seed file and article, as the case contract reports it
    code: str  # what happened (engine.wording.TEXTS)
    args: Mapping[str, Any] = field(default_factory=dict)  # fen, bp, codes, labels, dates
    amount: int = 0  # fen; 0 for a refusal or a note
    citation: str = ""  # the document's number and article: 南京市《宁政办发〔2023〕1号》（四）

    @classmethod
    def of(cls, policy: Policy, tier: str, entry: CitedEntry, code: str,
           args: Mapping[str, Any] | None = None, amount: int = 0) -> TraceLine:
        """A line of `entry`, a rule of the policy file, citing its article."""
        source, citation = policy.cites(entry)
        return cls(tier, entry.rule, source, code, args or {}, amount, citation)

    @property
    def text(self) -> str:
        """In Chinese, as caseworkers, patients and officials read it."""
        return wording.render(self.code, self.args, "zh")

    @property
    def detail(self) -> str:
        """In English (`--lang en`, and the case contract's `detail`)."""
        return wording.render(self.code, self.args, "en")

    def to_json(self) -> dict[str, Any]:
        """As the ledger keeps it and the API answers it (amount in fen)."""
        return {"tier": self.tier, "rule": self.rule, "source": self.source,
                "citation": self.citation, "code": self.code, "args": dict(self.args),
                "text": self.text, "detail": self.detail, "amount": self.amount}

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> TraceLine:
        """A stored line; one written before lines had codes keeps its words."""
        code = row.get("code") or "stored"
        args = row.get("args") if row.get("code") else {
            "detail": row.get("detail", ""), "text": row.get("text") or row.get("detail", "")}
        return cls(row["tier"], row["rule"], row["source"], code, args or {},
                   int(row.get("amount", 0)), row.get("citation", ""))


@dataclass(slots=True)
class Settlement:
    """The settlement of one visit."""

    id: str
    year: int
    policy: str  # the policy version applied, e.g. "nanjing 2023"
    settled_as: str
    category: str | None
    rules: list[str]
    medfee_sumamt: int
    inscp_scp_amt: int
    hifp_pay: int
    hifmi_pay: int
    oth_pay: int
    base: int
    assistance: int
    tilted: int
    special: int
    trace: list[TraceLine] = field(default_factory=list)
    reassistance: int = 0  # the visit's payouts of the stages after tilted (再救助, grants)
    # closed to medical assistance (unreferred where the referral rule allows none, or a
    # refusal names the category for it and no line covers it): no stage takes it, at the
    # visit or at year end
    closed: bool = False

    @property
    def maf_pay(self) -> int:
        return self.assistance + self.tilted + self.special + self.reassistance

    @property
    def psn_part_amt(self) -> int:
        return self.medfee_sumamt - self.hifp_pay - self.hifmi_pay - self.oth_pay - self.maf_pay


@dataclass(slots=True)
class YearEnd:
    """A stage paid once over a person-year (`when: year_end`): a year-end grant,
    re-assistance or ceiling, over the visits that qualified."""

    year: int
    rule: str
    label: str
    category: str | None  # None: no identity held at the year's end, nothing paid
    visits: list[str]
    amount: int
    trace: list[TraceLine] = field(default_factory=list)
