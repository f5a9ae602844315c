"""Reading the audit log as people do: entries filtered by date (Beijing time), actor and
action, a page at a time, with the actor's name instead of its subject; the chain
verified on request. Auditors read it (as through the API); every read and every
verification is itself an audit entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select

from medaid.app import auth
from medaid.app.auth import Actor
from medaid.app.uow import UnitOfWork
from medaid.core import labels
from medaid.core.dates import BEIJING
from medaid.core.errors import InputError
from medaid.store import audit
from medaid.store.models import AuditEntry, Institution, Token, User

READERS = ("auditor",)
PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Filters:
    start: date | None = None  # Beijing dates, both included
    end: date | None = None
    actor: str | None = None  # a username, or a subject ("cli", "token:12")
    action: str | None = None


def _beijing_midnight(d: date) -> datetime:
    return datetime.combine(d, time(), BEIJING)


def _subjects(uow: UnitOfWork, who: str) -> list[str]:
    """The subjects an actor filter names: a user's (by username) or the text itself."""
    user = uow.session.scalar(select(User.id).where(User.username == who))
    return [f"user:{user}"] if user is not None else [who]


def _query(uow: UnitOfWork, f: Filters) -> Select[AuditEntry]:
    q = select(AuditEntry)
    if f.start is not None:
        q = q.where(AuditEntry.at >= _beijing_midnight(f.start))
    if f.end is not None:
        q = q.where(AuditEntry.at < _beijing_midnight(f.end + timedelta(days=1)))
    if f.actor:
        q = q.where(or_(*(c for s in _subjects(uow, f.actor)
                          for c in (AuditEntry.actor == s, AuditEntry.actor.like(f"{s}/%")))))
    if f.action:
        q = q.where(AuditEntry.action == f.action)
    return q


def search(uow: UnitOfWork, actor: Actor, f: Filters, page: int
           ) -> tuple[list[AuditEntry], int]:
    """One page (from 1, newest first) of the entries the filters select, and how many
    they select in all."""
    auth.require(actor, *READERS)
    if f.start is not None and f.end is not None and f.start > f.end:
        raise InputError("end", "结束日期早于开始日期 / the end is before the start")
    if page < 1:
        raise InputError("page", "页码从 1 开始 / pages start at 1")
    q = _query(uow, f)
    total = uow.session.scalar(select(func.count()).select_from(q.subquery())) or 0
    found = list(uow.session.scalars(q.order_by(AuditEntry.seq.desc())
                                     .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    uow.commit_audited(actor.subject, "audit.read", "audit_log", {
        "start": None if f.start is None else str(f.start),
        "end": None if f.end is None else str(f.end), "actor": f.actor,
        "action": f.action, "page": page})
    return found, total


def actions(uow: UnitOfWork) -> list[str]:
    """Every action the log holds, for the filter's choices."""
    return list(uow.session.scalars(select(AuditEntry.action).distinct()
                                    .order_by(AuditEntry.action)))


def verify(uow: UnitOfWork, actor: Actor) -> audit.Verdict:
    """The chain recomputed from its first entry (store.audit.verify); audited."""
    auth.require(actor, *READERS)
    verdict = audit.verify(uow.session.connection())
    uow.commit_audited(actor.subject, "audit.verify", "audit_log",
                       {"entries": verdict.entries, "problem": verdict.problem})
    return verdict


def names(uow: UnitOfWork, subjects: Iterable[str]) -> dict[str, str]:
    """Who each audit subject is, as people read it: a user's name, a hospital system's
    institution, the server's command line."""
    users: dict[str, int] = {}
    tokens: dict[str, int] = {}
    for s in set(subjects):
        head = s.split("/", 1)[0]
        kind, _, number = head.partition(":")
        if number.isdigit():
            (users if kind == "user" else tokens if kind == "token" else {})[s] = int(number)
    user_names = dict(uow.session.execute(select(User.id, User.username).where(
        User.id.in_(sorted(set(users.values()))))).all()) if users else {}
    token_names = {
        tid: f"{institution}（接口）" if institution else
        f"{user}（接口）" if user else
        f"{labels.label(labels.ROLES, role)}{f'（{district}）' if district else ''}接口令牌 {tid}"
        for tid, institution, user, role, district in uow.session.execute(
            select(Token.id, Institution.name, User.username, Token.role, Token.district)
            .outerjoin(Institution, Institution.id == Token.institution_id)
            .outerjoin(User, User.id == Token.user_id)
            .where(Token.id.in_(sorted(set(tokens.values())))))} if tokens else {}
    out: dict[str, str] = {}
    for s in subjects:
        if s in users and users[s] in user_names:
            out[s] = user_names[users[s]]
        elif s in tokens and tokens[s] in token_names:
            out[s] = token_names[tokens[s]]
        elif s == "cli":
            out[s] = "服务器命令行"
        else:
            out[s] = s
    return out


def entry_json(e: AuditEntry, who: dict[str, str]) -> dict[str, Any]:
    return {"seq": e.seq, "at": e.at, "actor": e.actor, "name": who.get(e.actor, e.actor),
            "action": e.action, "object": e.object, "detail": e.detail}
