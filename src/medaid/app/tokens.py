"""Bearer tokens' lifecycle: create with a lifetime, list, revoke, rotate (admins only).

A token made here (`medaid token create`, `POST /api/v1/tokens`) expires after LIFETIME
unless told another number of days (at most MAX_DAYS); none lives for ever. Rotating a
token makes a new one of the same role and scope and lets the old one work for a grace
period (GRACE, 0 for none), so a hospital's system can switch without a gap. A user's
session token is not rotated (the user logs in again) but may be revoked. Every use case
is audited, with the token's id and never its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from medaid.app import auth, users
from medaid.app.auth import Actor
from medaid.app.uow import UnitOfWork
from medaid.core import clock
from medaid.core.errors import Conflict, InputError, NotFound
from medaid.store.models import Institution, Token

LIFETIME_DAYS = 90  # a new token's lifetime unless told otherwise
MAX_DAYS = 730
GRACE_DAYS = 7  # how long a rotated token keeps working
MAX_GRACE_DAYS = 90


@dataclass(frozen=True, slots=True)
class Issued:
    """A token just made: its row, and its text (shown once, never stored)."""

    row: Token
    text: str


def _lifetime(days: int | None, path: str) -> timedelta:
    if days is None:
        return timedelta(days=LIFETIME_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InputError(path, f"应为 1 至 {MAX_DAYS} 的整天数 / "
                               f"a whole number of days from 1 to {MAX_DAYS}")
    return timedelta(days=days)


def _new(uow: UnitOfWork, role: str, institution_id: int | None, district: str | None,
         lifetime: timedelta) -> Issued:
    text = auth.issue(uow, role, institution_id, district,
                      expires_at=clock.now() + lifetime)
    uow.session.flush()
    row = uow.session.scalars(select(Token).where(
        Token.token_hash == auth.token_hash(text))).one()
    return Issued(row, text)


def create(uow: UnitOfWork, actor: Actor, role: str, institution_id: int | None = None,
           district: str | None = None, days: int | None = None) -> Issued:
    """A new API token of `role` and scope, expiring after `days` (default LIFETIME_DAYS)."""
    auth.require(actor, "admin")
    users.check_scope(role, district, institution_id)
    issued = _new(uow, role, institution_id, district, _lifetime(days, "days"))
    uow.commit_audited(actor.subject, "token.create", f"token:{issued.row.id}",
                       _detail(issued.row))
    return issued


def listing(uow: UnitOfWork, actor: Actor, ended: bool = False, sessions: bool = False
            ) -> list[Token]:
    """Tokens in id order: those that still work (`ended`: revoked and expired ones too),
    API tokens only unless `sessions` (users' logins)."""
    auth.require(actor, "admin")
    query = select(Token).order_by(Token.id)
    if not ended:
        query = query.where(Token.revoked_at.is_(None), or_(
            Token.expires_at.is_(None), Token.expires_at > clock.now()))
    if not sessions:
        query = query.where(Token.user_id.is_(None))
    rows = list(uow.session.scalars(query))
    uow.commit_audited(actor.subject, "token.list", "tokens",
                       {"ended": ended, "sessions": sessions, "count": len(rows)})
    return rows


def _find(uow: UnitOfWork, token_id: int) -> Token:
    row = uow.session.get(Token, token_id, with_for_update=True)
    if row is None:
        raise NotFound("token_id", f"没有编号为 {token_id} 的令牌 / no token {token_id}")
    return row


def revoke(uow: UnitOfWork, actor: Actor, token_id: int) -> Token:
    """Stop a token at once (a revoked one again: as it is, nothing appended)."""
    auth.require(actor, "admin")
    row = _find(uow, token_id)
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        uow.commit_audited(actor.subject, "token.revoke", f"token:{row.id}", _detail(row))
    return row


def rotate(uow: UnitOfWork, actor: Actor, token_id: int, grace_days: int | None = None,
           days: int | None = None) -> tuple[Issued, Token]:
    """A new token of the old one's role and scope; the old one expires after the grace
    period (or sooner, if it was to expire sooner). (new, old)."""
    auth.require(actor, "admin")
    if grace_days is None:
        grace_days = GRACE_DAYS
    if isinstance(grace_days, bool) or not isinstance(grace_days, int) \
            or not 0 <= grace_days <= MAX_GRACE_DAYS:
        raise InputError("grace_days", f"应为 0 至 {MAX_GRACE_DAYS} 的整天数 / "
                                       f"a whole number of days from 0 to {MAX_GRACE_DAYS}")
    lifetime = _lifetime(days, "days")
    old = _find(uow, token_id)
    now = clock.now()
    if old.user_id is not None:
        raise Conflict(f"令牌 {token_id} 是用户的登录会话，不能轮换：用户重新登录即可"
                       f"（要结束它请吊销） / "
                       f"token {token_id} is a user's login session: the user logs in again "
                       f"(revoke it to end it)")
    if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= now):
        raise Conflict(f"令牌 {token_id} 已吊销或过期，请签发新令牌 / "
                       f"token {token_id} is revoked or expired: create a new one")
    new = _new(uow, old.role, old.institution_id, old.district, lifetime)
    ends = now + timedelta(days=grace_days)
    if old.expires_at is None or old.expires_at > ends:
        old.expires_at = ends
    if grace_days == 0:
        old.revoked_at = now
    uow.commit_audited(actor.subject, "token.rotate", f"token:{old.id}",
                       _detail(old) | {"new_token": new.row.id,
                                       "new_expires_at": _iso(new.row.expires_at)})
    return new, old


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="seconds")


def _detail(row: Token) -> dict[str, Any]:
    return {"role": row.role, "institution_id": row.institution_id, "district": row.district,
            "expires_at": _iso(row.expires_at)}


def state(row: Token, now: datetime | None = None) -> str:
    """active, expired or revoked."""
    now = now or clock.now()
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def codes(uow: UnitOfWork, rows: list[Token]) -> dict[int, str]:
    """The fixmedins_code of each institution the tokens name."""
    ids = {r.institution_id for r in rows if r.institution_id is not None}
    if not ids:
        return {}
    return {i: c for i, c in uow.session.execute(select(Institution.id, Institution.code)
                                                 .where(Institution.id.in_(ids)))}


def token_json(row: Token, code: dict[int, str]) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "role": row.role,
            "fixmedins_code": None if row.institution_id is None
            else code.get(row.institution_id),
            "district": row.district, "user_id": row.user_id,
            "created_at": _iso(row.created_at), "expires_at": _iso(row.expires_at),
            "revoked_at": _iso(row.revoked_at), "state": state(row)}
