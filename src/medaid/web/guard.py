"""Who is signed in, and the CSRF check of every form they post.

The session is the token `app.users.login` issues (of kind web: the API refuses it,
and these pages refuse an API token), kept in an HttpOnly,
SameSite=Strict cookie (Secure over https) and never shown in a page or a URL. A form's
CSRF token is an HMAC of the session token: it needs no storage, changes with each
session, and cannot be made without the cookie a cross-site page cannot read. The sign-in
form, posted before there is a session, carries a random value that must equal its own
cookie's (double submit).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from medaid.app import auth
from medaid.app.auth import Actor
from medaid.app.uow import UnitOfWork
from medaid.app.users import SESSION
from medaid.core.errors import Forbidden, Unauthenticated
from medaid.store.models import Token, User

COOKIE = "medaid_session"
LOGIN_COOKIE = "medaid_signin"
CSRF_FIELD = "csrf"
_CSRF_KEY = b"medaid web form"


@dataclass(frozen=True, slots=True)
class Visitor:
    """A signed-in user: the actor the use cases check, and what the pages show."""

    actor: Actor
    username: str
    csrf: str


class CsrfRefused(Forbidden):
    """A form posted without this session's CSRF token."""


def csrf_for(session_token: str) -> str:
    return hmac.new(_CSRF_KEY, session_token.encode(), hashlib.sha256).hexdigest()


def session_token(request: Request) -> str:
    token = request.cookies.get(COOKIE)
    if not token:
        raise Unauthenticated("not signed in")
    return token


def check_csrf(form: FormData, expected: str) -> None:
    given = form.get(CSRF_FIELD)
    if not isinstance(given, str) or not hmac.compare_digest(given, expected):
        raise CsrfRefused("表单校验失败（CSRF）：请回到页面重新提交 / the form's CSRF token is "
                          "missing or wrong")


async def checked_form(request: Request) -> FormData:
    """A signed-in user's posted form, its CSRF token checked."""
    token = session_token(request)
    form = await request.form()
    check_csrf(form, csrf_for(token))
    return form


def visitor(uow: UnitOfWork, token: str) -> Visitor:
    """The user of a session token (Unauthenticated when unknown, revoked or expired)."""
    actor = auth.actor_of(uow, token, kind="web")
    name = uow.session.scalars(select(User.username).join(Token, Token.user_id == User.id)
                               .where(Token.token_hash == auth.token_hash(token))).first()
    if name is None:  # a hospital system's bearer token is not a web session
        raise Unauthenticated("not a user's session")
    return Visitor(actor, name, csrf_for(token))


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def start_session(request: Request, response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token, max_age=int(SESSION.total_seconds()), httponly=True,
                        samesite="strict", secure=_secure(request), path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/login")


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                           secure=_secure(request))


def signin_csrf(request: Request) -> str:
    """The sign-in form's token: the browser's sign-in cookie, or a new one."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)


def keep_signin_csrf(request: Request, response: Response, value: str) -> None:
    response.set_cookie(LOGIN_COOKIE, value, httponly=True, samesite="strict",
                        secure=_secure(request), path="/login")


def check_signin_csrf(request: Request, form: FormData) -> None:
    check_csrf(form, request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24))
