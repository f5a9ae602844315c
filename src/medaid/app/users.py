"""Users with passwords (argon2id) and the session tokens they log in for.

A session token is an ordinary bearer token (stored as its SHA-256) carrying the user's
role and scope, expiring after SESSION; creating a user or logging in is audited, and no
password or token ever goes into the audit log.

LOCK_AFTER consecutive failed logins lock the account for LOCKOUT: every login in that
time is refused, the right password too, with the moment the lock ends in Beijing time;
a successful login resets the count. Every failed login is audited (`login.failed`, with
the name tried and why, never the password).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from medaid.app import auth
from medaid.app.auth import Actor
from medaid.app.uow import UnitOfWork
from medaid.core import clock, labels
from medaid.core.dates import BEIJING
from medaid.core.errors import Conflict, InputError, NotFound, Unauthenticated
from medaid.engine.case import as_district
from medaid.store.models import ROLES, Token, User

SESSION = timedelta(hours=8)
LOCK_AFTER = 5  # consecutive failed logins that lock an account
LOCKOUT = timedelta(minutes=15)
_hasher = PasswordHasher()
# Verified against when the username is unknown, so that a wrong name costs as long as a
# wrong password and does not reveal which names exist.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


class Locked(Unauthenticated):
    """A login refused because the account is locked after repeated failures."""

    def __init__(self, until: datetime) -> None:
        self.until = until
        at = until.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        super().__init__(f"连续 {LOCK_AFTER} 次登录失败，账户已锁定，请于北京时间 {at} 后再试 / "
                         f"account locked after {LOCK_AFTER} failed logins until {at} "
                         f"Beijing time")

    @property
    def retry_after(self) -> int:
        """Seconds until the lock ends (at least 1)."""
        return max(1, int((self.until - clock.now()).total_seconds()) + 1)


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    role: str
    expires_at: datetime


def check_scope(role: str, district: str | None, institution_id: int | None) -> None:
    """A caseworker has a district, a hospital user an institution, and no one else either."""
    if role not in ROLES:
        raise InputError("role", "应为" + "、".join(
            f"{labels.label(labels.ROLES, r)}（{r}）" for r in ROLES)
            + f" / one of {', '.join(ROLES)}")
    if (role == "caseworker") != (district is not None):
        raise InputError("district", "区经办须指定所属区划，其他角色不指定 / a caseworker needs a "
                                     "district, and only a caseworker has one")
    if district is not None:
        as_district(district, "district")
    if (role == "hospital") != (institution_id is not None):
        raise InputError("institution", "定点医院用户须指定所属机构，其他角色不指定 / a hospital "
                                        "user needs an institution, and only a hospital user "
                                        "has one")


def create(uow: UnitOfWork, actor: Actor, username: str, password: str, role: str,
           district: str | None = None, institution_id: int | None = None) -> User:
    """A new user, or a new password for an existing one with the same role and scope."""
    auth.require(actor, "admin")
    check_scope(role, district, institution_id)
    if not username.strip() or len(username) > 80:
        raise InputError("username", "用户名应为 1 至 80 个字符 / 1 to 80 characters")
    if len(password) < 12:
        raise InputError("password", "密码至少 12 个字符 / at least 12 characters")
    user = uow.session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        user = User(username=username, role=role, district=district,
                    institution_id=institution_id, active=True, created_at=clock.now())
        uow.session.add(user)
    elif (user.role, user.district, user.institution_id) != (role, district, institution_id):
        raise Conflict(f"用户 {username} 已存在，角色或范围不同 / "
                       f"user {username} exists with another role or scope")
    user.password_hash = _hasher.hash(password)
    try:
        uow.session.flush()
    except IntegrityError:
        uow.rollback()
        raise Conflict(f"用户 {username} 已存在 / user {username} already exists") from None
    uow.commit_audited(actor.subject, "user.set", f"user:{user.id}",
                       {"username": username, "role": role, "district": district,
                        "institution_id": institution_id})
    return user


def login(uow: UnitOfWork, username: str, password: str, kind: str = "api") -> Session:
    """A session token for a user's password (`kind` web: for a browser's cookie only);
    Unauthenticated for any mismatch, Locked while the account is locked. A failure is
    counted and audited before it is raised."""
    user = uow.session.scalars(select(User).where(User.username == username)).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY, password)
        right = True
    except (VerificationError, InvalidHashError):
        right = False
    now = clock.now()
    if user is None:
        _failed(uow, "user:?", username, "unknown user")
        raise Unauthenticated("unknown user or wrong password")
    # the row locked while its count changes: concurrent failures all count
    uow.session.refresh(user, with_for_update=True)
    if user.locked_until is not None and user.locked_until > now:
        until = user.locked_until
        _failed(uow, f"user:{user.id}", username, "locked",
                locked_until=until.isoformat(timespec="seconds"))
        raise Locked(until)
    if not right or not user.active:
        reason = "wrong password" if not right else "inactive"
        user.failed_logins = (user.failed_logins or 0) + 1
        extra: dict[str, Any] = {"failures": user.failed_logins}
        locked = user.failed_logins >= LOCK_AFTER
        if locked:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            extra["locked_until"] = user.locked_until.isoformat(timespec="seconds")
        _failed(uow, f"user:{user.id}", username, reason, **extra)
        if locked:
            raise Locked(now + LOCKOUT)
        raise Unauthenticated("unknown user or wrong password")
    user.failed_logins, user.locked_until = 0, None
    expires = now + SESSION
    token = auth.issue(uow, user.role, user.institution_id, user.district, user.id, expires,
                       kind=kind)
    uow.commit_audited(f"user:{user.id}", "login", f"user:{user.id}",
                       {"username": username, "kind": kind})
    return Session(token, user.role, expires)


def _failed(uow: UnitOfWork, obj: str, username: str, reason: str, **extra: Any) -> None:
    """Count a failed login in the audit log (the name as tried, cut to 80 characters)."""
    uow.commit_audited("anonymous", "login.failed", obj,
                       {"username": username[:80], "reason": reason} | extra)


def logout(uow: UnitOfWork, token: str) -> None:
    """Revoke a user's session token (an unknown or already revoked one: nothing to do)."""
    row = uow.session.scalars(select(Token).where(
        Token.token_hash == auth.token_hash(token), Token.user_id.is_not(None),
        Token.revoked_at.is_(None))).first()
    if row is None:
        return
    row.revoked_at = clock.now()
    uow.commit_audited(f"user:{row.user_id}/token:{row.id}", "logout", f"user:{row.user_id}",
                       {})


def deactivate(uow: UnitOfWork, actor: Actor, username: str) -> int:
    """Stop a user: no more logins, and every session token of theirs revoked at once
    (a token is checked on each request, so none of them works from now). The number of
    tokens revoked."""
    auth.require(actor, "admin")
    user = uow.session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound("username", f"没有用户「{username}」 / no user {username!r}")
    user.active = False
    tokens = uow.session.scalars(select(Token).where(Token.user_id == user.id,
                                                     Token.revoked_at.is_(None))).all()
    for t in tokens:
        t.revoked_at = clock.now()
    revoked = len(tokens)
    uow.commit_audited(actor.subject, "user.deactivate", f"user:{user.id}",
                       {"username": username, "tokens_revoked": revoked})
    return revoked
