"""Request-scoped dependencies of the HTTP layer."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from medaid.service.uow import UnitOfWork


async def unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    """One unit of work per request; its session opens on first use, in a worker thread."""
    uow = UnitOfWork(request.app.state.sessions, request.app.state.cache)
    try:
        yield uow
    finally:
        if uow.open:
            await run_in_threadpool(uow.close)
