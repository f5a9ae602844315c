"""A year's premium-subsidy list from the store's registry, as JSON or as the workbook.

Finance, admins and auditors list a whole jurisdiction; a caseworker only its district.
ID numbers are whole for the roles that work with persons' records, masked for finance.
"""

from __future__ import annotations

import io
from typing import Any

from medaid.app import auth
from medaid.app.auth import Actor
from medaid.app.parameters import stored
from medaid.app.rosters import registered
from medaid.app.uow import UnitOfWork
from medaid.core.errors import Forbidden
from medaid.core.money import to_yuan
from medaid.engine.case import parse_json
from medaid.registry import idcard
from medaid.registry.premium import SubsidyList, policy_for, subsidy_list
from medaid.registry.premium_xlsx import write_subsidy_list

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def listing(uow: UnitOfWork, actor: Actor, jurisdiction: str, year: int,
            district: str | None = None) -> SubsidyList:
    if actor.role == "caseworker":
        if district not in (None, actor.district):
            raise Forbidden(f"区经办只能查看本区（{actor.district}）的名单 / "
                            f"a caseworker of {actor.district} lists only its district")
        district = actor.district
    else:
        auth.require(actor, *auth.READ_ALL)
    policy = policy_for(jurisdiction, year)
    local = {name: parse_json(text) for name, text in stored(uow, jurisdiction, year).items()}
    found = subsidy_list(policy, year, registered(uow, jurisdiction, district), local=local)
    uow.commit_audited(actor.subject, "premium.list", f"premium:{jurisdiction}/{year}",
                       {"district": district, "subsidies": len(found.subsidies)})
    return found


def listing_json(lst: SubsidyList, show_ids: bool) -> dict[str, Any]:
    show = (lambda n: n) if show_ids else idcard.mask
    return {
        "jurisdiction": lst.jurisdiction, "year": lst.year, "rule": lst.rule,
        "source": lst.source, "version": lst.version, "premium": to_yuan(lst.premium),
        "total": to_yuan(lst.total),
        "subsidies": [{"certno": show(x.certno), "name": x.name, "district": x.district,
                       "category": x.category, "label": x.label, "idet_type": x.idet_type,
                       "by_grade": x.by_grade, "premium": to_yuan(x.premium),
                       "amount": to_yuan(x.amount),
                       "subsidised_from": str(x.subsidised_from)} for x in lst.subsidies],
        "not_subsidised": [{"certno": show(y.certno), "name": y.name, "reason": y.reason}
                           for y in lst.not_subsidised],
    }


def listing_xlsx(lst: SubsidyList, show_ids: bool) -> bytes:
    out = io.BytesIO()
    write_subsidy_list(lst, out, mask_ids=not show_ids)
    return out.getvalue()
