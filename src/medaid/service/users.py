"""Users with passwords (argon2id) and the session tokens they log in for.

A session token is an ordinary bearer token (stored as its SHA-256) carrying the user's
role and scope, expiring after SESSION; creating a user or logging in is audited, and no
password or token ever goes into the audit log.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from medaid.case import as_district
from medaid.errors import Conflict, InputError, NotFound, Unauthenticated
from medaid.service import auth
from medaid.service.auth import Actor
from medaid.service.uow import UnitOfWork
from medaid.store.models import ROLES, Token, User

SESSION = timedelta(hours=8)
_hasher = PasswordHasher()
# Verified against when the username is unknown, so that a wrong name costs as long as a
# wrong password and does not reveal which names exist.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    role: str
    expires_at: datetime


def check_scope(role: str, district: str | None, institution_id: int | None) -> None:
    """A caseworker has a district, a hospital user an institution, and no one else either."""
    if role not in ROLES:
        raise InputError("role", f"one of {', '.join(ROLES)}")
    if (role == "caseworker") != (district is not None):
        raise InputError("district", "a caseworker needs a district, and only a caseworker "
                                     "has one")
    if district is not None:
        as_district(district, "district")
    if (role == "hospital") != (institution_id is not None):
        raise InputError("institution", "a hospital user needs an institution, and only a "
                                        "hospital user has one")


def create(uow: UnitOfWork, actor: Actor, username: str, password: str, role: str,
           district: str | None = None, institution_id: int | None = None) -> User:
    """A new user, or a new password for an existing one with the same role and scope."""
    auth.require(actor, "admin")
    check_scope(role, district, institution_id)
    if not username.strip() or len(username) > 80:
        raise InputError("username", "1 to 80 characters")
    if len(password) < 12:
        raise InputError("password", "at least 12 characters")
    user = uow.session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        user = User(username=username, role=role, district=district,
                    institution_id=institution_id, active=True, created_at=datetime.now(UTC))
        uow.session.add(user)
    elif (user.role, user.district, user.institution_id) != (role, district, institution_id):
        raise Conflict(f"user {username} exists with another role or scope")
    user.password_hash = _hasher.hash(password)
    try:
        uow.session.flush()
    except IntegrityError:
        uow.rollback()
        raise Conflict(f"user {username} already exists") from None
    uow.commit_audited(actor.subject, "user.set", f"user:{user.id}",
                       {"username": username, "role": role, "district": district,
                        "institution_id": institution_id})
    return user


def login(uow: UnitOfWork, username: str, password: str) -> Session:
    """A session token for a user's password; Unauthenticated for any mismatch."""
    user = uow.session.scalars(select(User).where(User.username == username)).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        user = None
    if user is None or not user.active:
        raise Unauthenticated("unknown user or wrong password")
    expires = datetime.now(UTC) + SESSION
    token = auth.issue(uow, user.role, user.institution_id, user.district, user.id, expires)
    uow.commit_audited(f"user:{user.id}", "login", f"user:{user.id}", {"username": username})
    return Session(token, user.role, expires)


def logout(uow: UnitOfWork, token: str) -> None:
    """Revoke a user's session token (an unknown or already revoked one: nothing to do)."""
    row = uow.session.scalars(select(Token).where(
        Token.token_hash == auth.token_hash(token), Token.user_id.is_not(None),
        Token.revoked_at.is_(None))).first()
    if row is None:
        return
    row.revoked_at = datetime.now(UTC)
    uow.commit_audited(f"user:{row.user_id}/token:{row.id}", "logout", f"user:{row.user_id}",
                       {})


def deactivate(uow: UnitOfWork, actor: Actor, username: str) -> int:
    """Stop a user: no more logins, and every session token of theirs revoked at once
    (a token is checked on each request, so none of them works from now). The number of
    tokens revoked."""
    auth.require(actor, "admin")
    user = uow.session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound("username", f"no user {username!r}")
    user.active = False
    tokens = uow.session.scalars(select(Token).where(Token.user_id == user.id,
                                                     Token.revoked_at.is_(None))).all()
    for t in tokens:
        t.revoked_at = datetime.now(UTC)
    revoked = len(tokens)
    uow.commit_audited(actor.subject, "user.deactivate", f"user:{user.id}",
                       {"username": username, "tokens_revoked": revoked})
    return revoked
