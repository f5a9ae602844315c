"""The FastAPI application: `create_app(database_url)`; OpenAPI at /docs when the docs
are on (`docs=True`, or MEDAID_API_DOCS=1, `medaid serve --docs`): off by default, since
the routes' shapes are no business of a stranger (docs/SECURITY.md).

Every error is JSON `{"error": {"status", "path", "message"}}`: bad input 422 with the
field's JSON path, 401/403 for credentials and scope, 404 for an unknown person,
institution or settlement, 409 for a conflict with the ledger. A 5xx is a bug, except a
503 when the database cannot be reached (a retry is safe: settlements are idempotent).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from medaid import web
from medaid.api import applications as applications_api
from medaid.api import caller, national
from medaid.api import charity as charity_api
from medaid.api import early_warning as early_warning_api
from medaid.api import funds as funds_api
from medaid.api import indicators as indicators_api
from medaid.api import statuses as statuses_api
from medaid.api import tokens as tokens_api
from medaid.api import year_end as year_end_api
from medaid.api.fast import FastSettlements
from medaid.api.limits import BodyLimits
from medaid.api.routes import router
from medaid.app import users
from medaid.app.ttl import TtlCache
from medaid.core.errors import (
    Conflict,
    Forbidden,
    InputError,
    MedaidError,
    NotFound,
    Unauthenticated,
)
from medaid.engine.case import dumps
from medaid.store import db
from medaid.web.errors import for_pages


def _error(status: int, message: str, path: str | None = None,
           headers: Mapping[str, str] | None = None) -> Response:
    body = {"error": {"status": status, "path": path, "message": message}}
    return Response(dumps(body), status_code=status, media_type="application/json",
                    headers=headers)


async def _medaid_error(_: Request, e: Exception) -> Response:
    if isinstance(e, NotFound):
        return _error(404, e.message, e.path)
    if isinstance(e, InputError):
        return _error(422, e.message, e.path)
    if isinstance(e, users.Locked):
        return _error(429, str(e), headers={"Retry-After": str(e.retry_after)})
    if isinstance(e, Unauthenticated):
        return _error(401, str(e), headers={"WWW-Authenticate": "Bearer"})
    if isinstance(e, Forbidden):
        return _error(403, str(e))
    if isinstance(e, Conflict):
        return _error(409, str(e))
    return _error(422, str(e))


async def _validation_error(_: Request, e: Exception) -> Response:
    assert isinstance(e, RequestValidationError)
    first: dict[str, Any] = e.errors()[0] if e.errors() else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("path", "query", "header")]
    return _error(422, str(first.get("msg", "invalid request")), ".".join(loc) or None)


async def _http_error(_: Request, e: Exception) -> Response:
    assert isinstance(e, HTTPException)
    return _error(e.status_code, str(e.detail), headers=e.headers)


async def _unavailable(_: Request, e: Exception) -> Response:
    return _error(503, "the database is unavailable or busy: retry",
                  headers={"Retry-After": "1"})


async def _internal(_: Request, e: Exception) -> Response:
    return _error(500, "internal error (logged)")


THREADS = 8  # worker threads a process settles in; at most db.POOL_SIZE


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The default of 40 threads only adds switching on a small machine, and each thread
    # holds a database connection while it works.
    anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
    yield
    app.state.engine.dispose()


DOCS_ENV = "MEDAID_API_DOCS"  # 1: serve /docs, /redoc and /openapi.json


def docs_on(docs: bool | None = None) -> bool:
    """Whether the OpenAPI document and its pages are served: `docs`, else $MEDAID_API_DOCS."""
    if docs is not None:
        return docs
    return os.environ.get(DOCS_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def create_app(database_url: str | None = None, docs: bool | None = None) -> FastAPI:
    """The API on `database_url` (default $MEDAID_DATABASE_URL, else a SQLite file); an
    empty database is migrated first. `docs`: serve /docs and /openapi.json (default
    $MEDAID_API_DOCS, else not)."""
    engine = db.make_engine(database_url)
    db.ensure_schema(engine)
    shown = docs_on(docs)
    app = FastAPI(
        title="medaid", version="1", lifespan=_lifespan,
        docs_url="/docs" if shown else None, redoc_url="/redoc" if shown else None,
        openapi_url="/openapi.json" if shown else None,
        description="One-stop settlement (一站式结算) of catastrophic-illness medical "
                    "assistance: basic insurance → critical-illness insurance → assistance. "
                    "Fields use the national medical-security platform's names; amounts are "
                    "yuan with two decimals. Send `Authorization: Bearer TOKEN`.")
    app.state.engine = engine
    app.state.sessions = db.sessions(engine)
    app.state.cache = TtlCache()
    strict = [Depends(caller.strict_body)]  # a body field the route does not document: 422
    app.include_router(router, dependencies=strict)
    app.include_router(web.router)  # the caseworkers' pages (medaid.web)
    app.mount("/static", web.static_files(), name="static")
    app.include_router(early_warning_api.router, dependencies=strict)
    app.include_router(charity_api.router, dependencies=strict)
    app.include_router(applications_api.router, dependencies=strict)
    app.include_router(funds_api.router, dependencies=strict)
    app.include_router(indicators_api.router, dependencies=strict)
    app.include_router(tokens_api.router, dependencies=strict)
    app.include_router(year_end_api.router, dependencies=strict)
    app.include_router(statuses_api.router, dependencies=strict)
    app.include_router(national.router)  # the national platform's envelope: its own errors
    app.add_exception_handler(MedaidError, _medaid_error)
    # the pages' addresses answer HTML error pages in Chinese (medaid.web.errors)
    app.add_exception_handler(RequestValidationError, for_pages(_validation_error))
    app.add_exception_handler(HTTPException, for_pages(_http_error))
    app.add_exception_handler(OperationalError, for_pages(_unavailable))
    app.add_exception_handler(Exception, for_pages(_internal))
    app.add_middleware(FastSettlements)  # the settlement routes' own path (api.fast)
    app.add_middleware(BodyLimits)  # oversized bodies 413, deep JSON 422 (api.limits)
    return app
