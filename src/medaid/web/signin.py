"""登录 sign in, 退出 sign out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from medaid.app import users
from medaid.app.uow import UnitOfWork
from medaid.core.errors import Unauthenticated
from medaid.web import guard
from medaid.web.render import HEADERS, error_page, html

router = APIRouter()


def _signin_form(request: Request, status: int = 200, error: str = "",
                 username: str = "") -> Response:
    token = guard.signin_csrf(request)
    response = html("login.html", status, visitor=None, menu=[], active="", csrf=token,
                    error=error, username=username)
    guard.keep_signin_csrf(request, response, token)
    return response


@router.get("/login")
async def signin_page(request: Request) -> Response:
    return _signin_form(request)


@router.post("/login")
async def signin(request: Request) -> Response:
    form = await request.form()
    try:
        guard.check_signin_csrf(request, form)
    except guard.CsrfRefused as e:
        return error_page(None, 403, str(e))
    username, password = str(form.get("username") or ""), str(form.get("password") or "")

    def work() -> str | users.Locked | None:
        with UnitOfWork(request.app.state.sessions) as uow:
            try:
                return users.login(uow, username, password, kind="web").token
            except users.Locked as e:
                return e
            except Unauthenticated:
                return None

    token = await run_in_threadpool(work)
    if isinstance(token, users.Locked):
        response = _signin_form(request, 429, str(token), username)
        response.headers["Retry-After"] = str(token.retry_after)
        return response
    if token is None:
        return _signin_form(request, 401, "用户名或密码错误 / unknown user or wrong password",
                            username)
    response = RedirectResponse("/", status_code=303, headers=HEADERS)
    guard.start_session(request, response, token)
    return response


@router.post("/logout")
async def signout(request: Request) -> Response:
    try:
        token = guard.session_token(request)
        await guard.checked_form(request)
    except Unauthenticated:
        return RedirectResponse("/login", status_code=303, headers=HEADERS)
    except guard.CsrfRefused as e:
        return error_page(None, 403, str(e))

    def work() -> None:
        with UnitOfWork(request.app.state.sessions) as uow:
            users.logout(uow, token)

    await run_in_threadpool(work)
    response = RedirectResponse("/login", status_code=303, headers=HEADERS)
    guard.end_session(request, response)
    return response
