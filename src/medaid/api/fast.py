"""The settlement routes answered ahead of FastAPI's routing: `POST /api/v1/settlements`
and `POST /api/v1/settlements/preview`.

A hospital's billing system calls them for every visit, and FastAPI's per-request layers
(routing, dependency injection, the request object, the endpoint's wrapping) cost about as
much CPU as the settlement's own Python. This ASGI middleware answers those two paths
itself with the routes' own functions (`routes.settle_answer`, `routes.preview_answer`), in
a worker thread with a unit of work, after reading the bearer token as the routes'
dependency does and naming the routes' body schema for the strict check (app.strict); an
error is answered by the app's own handler for it, and one without a handler goes on to
the app's handler of last resort, as from a route. So the answers, status codes and their
order (401, then 422 for the body, 403, 404, 409) are the routes'. FastAPI keeps the
routes for the OpenAPI document; every other request passes through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from medaid.api import caller, routes
from medaid.api.limits import ASGIApp, Receive, Scope, Send
from medaid.app import strict
from medaid.app.uow import UnitOfWork

# Threads a process settles in, each with a connection while it works: with the other
# routes' threads (api.app.THREADS) within the connections a process keeps (db.POOL_SIZE).
THREADS = 8

Answer = Callable[[UnitOfWork, str | None, bytes], Response]
Handler = Callable[[Request, Exception], Awaitable[Response]]

ANSWERS: Mapping[str, Answer] = {
    f"{routes.router.prefix}/settlements": routes.settle_answer,
    f"{routes.router.prefix}/settlements/preview": routes.preview_answer,
}


class FastSettlements:
    """The middleware: `app.add_middleware(FastSettlements)`, inside BodyLimits."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._schemas: dict[str, dict[str, Any] | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        answer = ANSWERS.get(path) if scope["type"] == "http" \
            and scope.get("method") == "POST" else None
        if answer is None:
            await self.app(scope, receive, send)
            return
        raw = await _body(receive)
        if raw is None:  # the client went away
            return
        app = scope["app"]
        token = caller.token_of(_header(scope, b"authorization"))
        schema = self._schema(app, path)

        def work(uow: UnitOfWork) -> Response:
            strict.expect(schema)
            return answer(uow, token, raw)

        try:
            response = await asyncio.get_running_loop().run_in_executor(
                _threads(), routes.use_case, app.state, work)
        except Exception as e:
            handler = _handler(app.exception_handlers, e)
            if handler is None:
                raise  # the app's handler of last resort, as from a route
            response = await handler(Request(scope, receive), e)
        await response(scope, receive, send)

    def _schema(self, app: Any, path: str) -> dict[str, Any] | None:
        if path not in self._schemas:
            found = [r for r in app.routes if getattr(r, "path", None) == path
                     and "POST" in (getattr(r, "methods", None) or ())]
            self._schemas[path] = strict.route_schema(found[0]) if found else None
        return self._schemas[path]


_pool: ThreadPoolExecutor | None = None


def _threads() -> ThreadPoolExecutor:
    """The worker threads the two routes settle in, THREADS of them a process: an executor
    hands a job to a thread and back for less CPU than the thread pool of the other routes
    (anyio's, whose limiter counts them apart)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(THREADS, thread_name_prefix="settle")
    return _pool


async def _body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _header(scope: Scope, name: bytes) -> str | None:
    """The first header `name` (lower case), as Starlette's request.headers.get reads it."""
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _handler(handlers: Mapping[Any, Handler], e: Exception) -> Handler | None:
    """The app's handler for `e` as Starlette's ExceptionMiddleware finds it (by the
    exception's classes in order), short of the handler of last resort for Exception."""
    for cls in type(e).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None
