"""Who is calling, and what they may do.

A caller sends `Authorization: Bearer TOKEN`; the tokens table keeps only the SHA-256 of
each token, with the role it grants and its scope (an institution for a hospital's system,
a district for a caseworker). 401: no valid token; 403: a valid token outside its role or
scope.

A token is of a kind: `api`, a bearer token for the API (a hospital's system, a script,
`POST /api/v1/login`), or `web`, a browser's session cookie (`medaid.web`). Each works
only where it belongs: the API refuses a web session (401), so a session cookie copied
out of a browser is no bearer token, and the pages refuse an API token. docs/SECURITY.md
has each role's reach.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from medaid.app.uow import UnitOfWork
from medaid.core import clock, labels
from medaid.core.errors import Forbidden, NotFound, Unauthenticated
from medaid.store import db, queries
from medaid.store.models import Token

READ_ALL = ("admin", "auditor", "finance")
CASEWORK = ("admin", "auditor", "caseworker")  # who reads warnings, referrals and matches
CASEWORK_WRITE = ("admin", "caseworker")  # who acts on them (require_district for scope)


@dataclass(frozen=True, slots=True)
class Actor:
    role: str  # one of store.models.ROLES
    institution_id: int | None = None
    district: str | None = None
    subject: str = ""  # who, as the audit log names them: "token:12", "user:3/token:12"

    @property
    def sees_ids(self) -> bool:
        """Whether whole ID numbers are shown to this actor: the roles that work with
        persons' records; hospitals and finance get them masked."""
        return self.role in ("caseworker", "admin", "auditor")


CLI = Actor("admin", subject="cli")  # a command run on the server itself


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(uow: UnitOfWork, role: str, institution_id: int | None = None,
          district: str | None = None, user_id: int | None = None,
          expires_at: datetime | None = None, kind: str = "api") -> str:
    """A new token (its text is shown once; only its hash is kept). The caller commits."""
    token = secrets.token_urlsafe(32)
    uow.session.add(Token(token_hash=token_hash(token), role=role, institution_id=institution_id,
                          district=district, user_id=user_id, created_at=clock.now(),
                          expires_at=expires_at, kind=kind))
    return token


def actor_of(uow: UnitOfWork, token: str | None, kind: str = "api") -> Actor:
    """The caller of a token (None: none sent), looked up in the unit of work the caller's
    request works in (no thread and no connection of its own first)."""
    if token is None:
        raise Unauthenticated("send Authorization: Bearer TOKEN")
    found = uow.rows(queries.TOKEN, {"token_hash": token_hash(token)})
    return _actor(found[0] if found else None, kind)


def authenticate(engine: Engine, token: str) -> Actor:
    # Its own short read, not the request's unit of work: a connection is never held while
    # the request waits for a worker thread (all of them could be waiting for connections).
    with db.reading(engine) as conn:
        row = conn.execute(queries.TOKEN, {"token_hash": token_hash(token)}).first()
    return _actor(row)


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A token's row as `queries.TOKEN` reads it, from a statement that reads it beside
    other rows (the settlement's: queries.PG_TOKEN_PERSON_LOCKING_YEAR)."""

    id: int
    role: str
    institution_id: int | None
    district: str | None
    user_id: int | None
    expires_at: datetime | None
    revoked_at: datetime | None
    kind: str


def actor_of_row(row: Any, kind: str = "api") -> Actor:
    """The caller of a token's row (None: no token has the hash), refused as `actor_of`
    refuses it: 401 for an unknown, revoked or expired token or one of another kind."""
    return _actor(row, kind)


def _actor(row: Any, kind: str = "api") -> Actor:
    if row is None or row.revoked_at is not None or (
            row.expires_at is not None and row.expires_at <= clock.now()):
        raise Unauthenticated("unknown, revoked or expired token")
    if row.kind != kind:
        raise Unauthenticated("网页会话不能用作 API 令牌 / a web session is not an API token"
                              if row.kind == "web" else "not a web session")
    subject = f"token:{row.id}" if row.user_id is None else f"user:{row.user_id}/token:{row.id}"
    return Actor(row.role, row.institution_id, row.district, subject)


def require(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"{labels.label(labels.ROLES, actor.role)}无权办理此项（须为"
                        f"{'或'.join(labels.label(labels.ROLES, r) for r in roles)}） / "
                        f"role {actor.role} may not do this (needs {' or '.join(roles)})")


def require_settle(actor: Actor, institution_id: int) -> None:
    """Settle or cancel for an institution: its own hospital token, or an admin."""
    if actor.role == "hospital" and actor.institution_id == institution_id:
        return
    require(actor, "admin")


def require_read(actor: Actor, institution_id: int | None, district: str) -> None:
    """Read a settlement (of `institution_id`) or a person's record (in `district`)."""
    if actor.role in READ_ALL:
        return
    if actor.role == "hospital" and institution_id is not None \
            and actor.institution_id == institution_id:
        return
    if actor.role == "caseworker" and actor.district == district:
        return
    raise Forbidden(f"{labels.label(labels.ROLES, actor.role)}无权查看此记录 / "
                    f"role {actor.role} may not read this record")


def no_person(path: str, psn_no: str) -> NotFound:
    """A person number unknown (or hidden from the actor): the one message for both."""
    return NotFound(path, f"未找到人员编号「{psn_no}」 / no person with psn_no {psn_no!r}")


def hide_outside_district(actor: Actor, district: str, path: str, psn_no: str) -> None:
    """A caseworker naming a person of another district is told what it is told of a
    number that exists nowhere (404), so it learns nothing of other districts' residents;
    other roles are checked by the caller as before."""
    if actor.role == "caseworker" and actor.district != district:
        raise no_person(path, psn_no)


def require_casework(actor: Actor, district: str, what: str) -> None:
    """Read casework (`what`, of a person in `district`): an admin or an auditor, or a
    caseworker of that district."""
    require(actor, *CASEWORK)
    if actor.role == "caseworker" and actor.district != district:
        raise Forbidden(f"{what} 不在本区（{actor.district}） / "
                        f"outside district {actor.district}")


def require_district(actor: Actor, district: str) -> None:
    """Write a person's record in `district`: a caseworker of that district, or an admin."""
    if actor.role == "caseworker" and actor.district == district:
        return
    require(actor, "admin")
