"""The case contract (contract/CASE.md): JSON in, validated to the field; JSON out.

Validation is by hand so that every message names its JSON path exactly
(`visits[2].medfee_sumamt: must be ≥ 0`) and nothing is computed from a guess.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from medaid.engine.settle import CaseResult, settle_year
from medaid.engine.types import Identity, Person, Settlement, Visit
from medaid.errors import InputError, MissingParameter
from medaid.money import MoneyError, to_fen, to_yuan
from medaid.policy import model
from medaid.policy.model import Policy
from medaid.policy.schema import KINDS

LOCATIONS = ("city", "province", "out_of_province")
REFERRALS = ("ok", "unreferred", "unreferred_hardship")
AMOUNTS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
           "inscp_scp_amt", "hifp_pay", "hifmi_pay", "oth_pay")
OPTIONAL_ZERO = ("preselfpay_amt", "oth_pay")
# The fields each object of a case may carry (CASE.md): anything else is an error naming
# it, never ignored (a misspelt "othpay" would otherwise settle as if oth_pay were 0).
CASE_FIELDS = ("jurisdiction", "local", "person", "visits")
WORKED_CASE_FIELDS = ("expected", "note")  # a worked case's answer and arithmetic: not read
PERSON_FIELDS = ("id", "identities", "disability_grade", "tilted_application")
IDENTITY_FIELDS = ("category", "from", "to", "application")
VISIT_FIELDS = ("id", "kind", "start", "end", "location", "referral", "hospital_level",
                *AMOUNTS, "heroic_injury", "rare_disease")
UNKNOWN_FIELD = "unknown field"


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
        raise InputError("$", f"malformed JSON at line {e.lineno} column {e.colno}: {e.msg}"
                         ) from None


def as_object(v: object, path: str) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise InputError(path, "must be an object")
    return v


def known_fields(v: Mapping[str, Any], known: Collection[str], path: str) -> None:
    """Refuse a field not in `known`, naming it by its path (`visits[0].othpay: unknown
    field (did you mean oth_pay?)`); `path` is the object's own ("" at the top)."""
    for name in v:
        if name not in known:
            where = f"{path}.{name}" if path else str(name)
            raise InputError(where, unknown_message(str(name), known))


def unknown_message(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, [str(k) for k in known], n=1, cutoff=0.75)
    return f"{UNKNOWN_FIELD} (did you mean {close[0]}?)" if close else UNKNOWN_FIELD


def _list(v: object, path: str) -> Sequence[Any]:
    if not isinstance(v, list):
        raise InputError(path, "must be a list")
    return v


def as_text(v: object, path: str) -> str:
    if not isinstance(v, str) or not v:
        raise InputError(path, "must be a non-empty string")
    if not v.isprintable():
        raise InputError(path, "must not contain control characters")
    return v


def as_choice(v: object, path: str, choices: Sequence[str], what: str) -> str:
    if v not in choices:
        raise InputError(path, f"unknown {what} {v!r} (one of: {', '.join(choices)})")
    assert isinstance(v, str)
    return v


def as_jurisdiction(v: object, path: str) -> str:
    return as_choice(v, path, model.jurisdictions(), "jurisdiction")


DISTRICT_DIGITS = 6  # an administrative-division code (区划代码, admdvs)


def as_district(v: object, path: str) -> str:
    if not isinstance(v, str) or len(v) != DISTRICT_DIGITS or not v.isdigit():
        raise InputError(path, "must be a 6-digit administrative-division code")
    return v


def as_whole(v: object, path: str, low: int, high: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int | Decimal) or v != int(v) \
            or not low <= v <= high:
        raise InputError(path, f"a whole number from {low} to {high}")
    return int(v)


def as_year(v: object, path: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | Decimal) or v != int(v) \
            or not 1990 <= v <= 2100:
        raise InputError(path, "must be a year such as 2024")
    return int(v)


def as_date(v: object, path: str) -> date:
    if not isinstance(v, str):
        raise InputError(path, "must be a date as \"YYYY-MM-DD\"")
    try:
        return date.fromisoformat(v) if len(v) == 10 else date.fromisoformat("invalid")
    except ValueError:
        raise InputError(path, f"not a valid date: {v!r} (YYYY-MM-DD)") from None


def as_opt_date(v: object, path: str) -> date | None:
    return None if v is None else as_date(v, path)


def _bool(v: object, path: str) -> bool:
    if not isinstance(v, bool):
        raise InputError(path, "must be true or false")
    return v


def as_fen(v: object, path: str, positive: bool = False) -> int:
    """An amount in yuan (at most two decimals) as fen: ≥ 0, or > 0 when `positive`."""
    if isinstance(v, bool) or not isinstance(v, Decimal | int):
        raise InputError(path, "must be a number (yuan)")
    try:
        fen = to_fen(v)
    except MoneyError as e:
        raise InputError(path, str(e)) from None
    if fen < 0 or (positive and fen == 0):
        raise InputError(path, "must be > 0" if positive else "must be ≥ 0")
    return fen


def _grade(v: object, path: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, Decimal | int) or v not in (1, 2, 3, 4):
        raise InputError(path, "must be 1, 2, 3, 4 or null")
    return int(v)


def parse_person(raw: object, policy: Policy, path: str = "person", also: Collection[str] = (),
                 identity_also: Collection[str] = ()) -> Person:
    """`also`, `identity_also`: fields a caller reads besides the case's (the API's)."""
    p = as_object(raw, path)
    known_fields(p, (*PERSON_FIELDS, *also), path)
    identities = []
    for i, item in enumerate(_list(p.get("identities", []), f"{path}.identities")):
        ip = f"{path}.identities[{i}]"
        ident = as_object(item, ip)
        known_fields(ident, (*IDENTITY_FIELDS, *identity_also), ip)
        category = ident.get("category")
        if category not in policy.categories:
            raise InputError(f"{ip}.category", f"unknown category {category!r} for "
                             f"{policy.jurisdiction} (one of: {', '.join(policy.categories)})")
        start = as_date(ident.get("from"), f"{ip}.from")
        end = as_opt_date(ident.get("to"), f"{ip}.to")
        if end is not None and end < start:
            raise InputError(f"{ip}.to", f"exit date {end} is before {ip}.from {start}")
        identities.append(Identity(str(category), start, end,
                                   as_opt_date(ident.get("application"), f"{ip}.application")))
    return Person(
        id=as_text(p.get("id"), f"{path}.id"),
        identities=tuple(identities),
        disability_grade=_grade(p.get("disability_grade"), f"{path}.disability_grade"),
        tilted_application=as_opt_date(p.get("tilted_application"),
                                     f"{path}.tilted_application"),
    )


def parse_visit(raw: object, path: str, also: Collection[str] = ()) -> Visit:
    """`also`: fields a caller reads besides the case's (the API's psn_no, mdtrt_id, …)."""
    v = as_object(raw, path)
    known_fields(v, (*VISIT_FIELDS, *also), path)
    kind = as_choice(v.get("kind"), f"{path}.kind", KINDS, "visit kind")
    start = as_date(v.get("start"), f"{path}.start")
    end = as_date(v.get("end"), f"{path}.end")
    if end < start:
        raise InputError(f"{path}.end", f"{end} is before {path}.start {start}")
    amounts: dict[str, int | None] = {}
    for name in AMOUNTS:
        value = v.get(name)
        if value is None:
            if name in ("inscp_scp_amt", "hifp_pay", "hifmi_pay") or name in OPTIONAL_ZERO:
                amounts[name] = None
                continue
            raise InputError(f"{path}.{name}", "required")
        amounts[name] = as_fen(value, f"{path}.{name}")
    total = amounts["medfee_sumamt"] or 0
    outside = sum(amounts[n] or 0 for n in ("fulamt_ownpay_amt", "overlmt_selfpay",
                                             "preselfpay_amt"))
    if outside > total:
        raise InputError(f"{path}.medfee_sumamt",
                         f"{to_yuan(total)} is less than {path}.fulamt_ownpay_amt + "
                         f"{path}.overlmt_selfpay + {path}.preselfpay_amt = {to_yuan(outside)}")
    inscp = total - outside
    given = amounts["inscp_scp_amt"]
    if given is not None and given != inscp:
        raise InputError(f"{path}.inscp_scp_amt",
                         f"{to_yuan(given)} must equal medfee_sumamt − fulamt_ownpay_amt − "
                         f"overlmt_selfpay − preselfpay_amt = {to_yuan(inscp)}")
    paid = 0
    for name in ("hifp_pay", "hifmi_pay", "oth_pay"):
        paid += amounts[name] or 0
        if paid > inscp:
            raise InputError(f"{path}.{name}",
                             f"{path}.hifp_pay + {path}.hifmi_pay + {path}.oth_pay exceed the "
                             f"policy-range amount {path}.inscp_scp_amt {to_yuan(inscp)}")
    level = v.get("hospital_level")
    if level is not None and (isinstance(level, bool) or level not in (1, 2, 3)):
        raise InputError(f"{path}.hospital_level", "must be 1, 2, 3 or absent")
    return Visit(
        id=as_text(v.get("id"), f"{path}.id"), kind=kind, start=start, end=end,
        medfee_sumamt=total,
        fulamt_ownpay_amt=amounts["fulamt_ownpay_amt"] or 0,
        overlmt_selfpay=amounts["overlmt_selfpay"] or 0,
        preselfpay_amt=amounts["preselfpay_amt"] or 0,
        hifp_pay=amounts["hifp_pay"], hifmi_pay=amounts["hifmi_pay"],
        oth_pay=amounts["oth_pay"] or 0,
        location=as_choice(v.get("location", "city"), f"{path}.location", LOCATIONS, "location"),
        referral=as_choice(v.get("referral", "ok"), f"{path}.referral", REFERRALS, "referral"),
        hospital_level=None if level is None else int(level),
        heroic_injury=_bool(v.get("heroic_injury", False), f"{path}.heroic_injury"),
        rare_disease=_bool(v.get("rare_disease", False), f"{path}.rare_disease"),
    )


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
            raise InputError(f"local.{name}", f"unknown local parameter (known for "
                             f"{versions[0].jurisdiction}: {', '.join(sorted(mine))})")
    return {k: v for k, v in local.items() if k in mine}


_local = parse_local  # the former private name


def parse_case(raw: object, extra: Sequence[Policy] = ()) -> Case:
    """A validated case; `extra` policies (from --policy-file) join the shipped ones."""
    c = as_object(raw, "$")
    known_fields(c, (*CASE_FIELDS, *WORKED_CASE_FIELDS), "")
    jurisdiction = c.get("jurisdiction")
    known = sorted({*model.jurisdictions(), *(p.jurisdiction for p in extra)})
    if jurisdiction not in known:
        raise InputError("jurisdiction",
                         f"unknown jurisdiction {jurisdiction!r} (one of: {', '.join(known)})")
    versions = model.versions(str(jurisdiction), extra)
    person = parse_person(c.get("person"), versions[-1])
    visits = [parse_visit(v, f"visits[{i}]") for i, v in enumerate(_list(c.get("visits"),
                                                                         "visits"))]
    seen: dict[str, int] = {}
    for i, v in enumerate(visits):
        if v.id in seen:
            raise InputError(f"visits[{i}].id", f"duplicate of visits[{seen[v.id]}].id {v.id!r}")
        seen[v.id] = i
    return Case(versions, parse_local(c.get("local"), versions), person, visits)


def settle_case(case: Case) -> CaseResult:
    try:
        return settle_year(case.versions, case.local, case.person, case.visits)
    except MissingParameter as e:
        raise InputError(e.path, e.message) from None


# -- output ---------------------------------------------------------------------------------
MONEY_FIELDS = ("medfee_sumamt", "inscp_scp_amt", "hifp_pay", "hifmi_pay", "oth_pay", "base",
                "assistance", "tilted", "special", "maf_pay", "psn_part_amt")
TOTAL_FIELDS = ("medfee_sumamt", "hifp_pay", "hifmi_pay", "oth_pay", "maf_pay", "psn_part_amt")


def settlement_json(s: Settlement) -> dict[str, Any]:
    out: dict[str, Any] = {"id": s.id, "year": s.year, "policy": s.policy,
                           "settled_as": s.settled_as, "category": s.category,
                           "rules": s.rules}
    for name in MONEY_FIELDS:
        out[name] = to_yuan(getattr(s, name))
    out["trace"] = [{**t.to_json(), "amount": to_yuan(t.amount)} for t in s.trace]
    return out


def result_json(result: CaseResult) -> dict[str, Any]:
    visits = [settlement_json(s) for s in result.settlements]
    totals = {name: to_yuan(sum(getattr(s, name) for s in result.settlements))
              for name in TOTAL_FIELDS}
    return {"jurisdiction": result.jurisdiction, "person_id": result.person_id,
            "visits": visits, "totals": totals}


def dumps(data: object, indent: int | None = 2) -> str:
    """JSON with money as numbers with two decimals (14400.00), never a float's digits."""
    return _FENCED.sub(r"\1", json.dumps(_mark(data), ensure_ascii=False, indent=indent))


_FENCED = re.compile(r'"\\u0000(-?[0-9]+(?:\.[0-9]+)?)\\u0000"')  # as json.dumps writes it


def _mark(data: object) -> object:
    """Decimals become strings fenced by NUL characters; `dumps` removes fence and quotes."""
    if isinstance(data, Decimal):
        return f"\u0000{data}\u0000"
    if isinstance(data, dict):
        return {k: _mark(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_mark(v) for v in data]
    return data
