"""Hostile input refused before any route sees it: oversized bodies and deep JSON.

An ASGI middleware reads the request body up to a limit — 1 MiB, or 32 MiB for a roster
upload — and answers 413 beyond it (at once when Content-Length says so, else as soon as
the streamed body passes the limit, without reading the rest). A body that is not
multipart form data is JSON to the routes; one nested deeper than MAX_DEPTH arrays and
objects is refused with 422 before the parser, which would otherwise recurse until
Python's recursion limit (a 500). Both answers have the API's error shape.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from medaid.engine.case import dumps

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 1 << 20  # 1 MiB: a settlement request is about 1 KiB
MAX_UPLOAD = 32 << 20  # a roster file (CSV or XLSX) of a district's month
UPLOAD_PATHS = ("/api/v1/rosters", "/rosters")  # the API and the roster page
MAX_DEPTH = 64  # nesting of arrays and objects; the API's own bodies need 4

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
_OPEN = frozenset(b"[{")


def json_depth(body: bytes, stop: int | None = None) -> int:
    """The nesting depth of arrays and objects in a JSON text, counting brackets outside
    strings (a malformed text gets a number too, and the parser its error); counts no
    further than `stop` + 1 when given."""
    depth = deepest = 0
    for m in _BRACKETS.finditer(_STRINGS.sub(b"", body)):
        if m.group()[0] in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop is not None and deepest > stop:
                    break
        else:
            depth -= 1
    return deepest


def too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool:
    if body.count(b"[") + body.count(b"{") <= limit:  # the common case, without a scan
        return False
    return json_depth(body, limit) > limit


class BodyLimits:
    """The middleware: `app.add_middleware(BodyLimits)`."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY, max_upload: int = MAX_UPLOAD,
                 max_depth: int = MAX_DEPTH) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = self.max_upload if path.rstrip("/") in UPLOAD_PATHS else self.max_body
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _error(send, 400, "Content-Length is not a number")
                return
            if size > limit:
                await _too_large(send, limit)
                return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = bytes(message.get("body", b""))
            received += len(chunk)
            if received > limit:
                await _too_large(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        multipart = headers.get(b"content-type", b"").lower().startswith(b"multipart/")
        if body and not multipart and too_deep(body, self.max_depth):
            await _error(send, 422, f"JSON nested deeper than {self.max_depth} levels",
                         "$")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _too_large(send: Send, limit: int) -> None:
    await _error(send, 413, f"the request body is larger than {limit} bytes "
                            f"({limit >> 20} MiB)", close=True)


async def _error(send: Send, status: int, message: str, path: str | None = None,
                 close: bool = False) -> None:
    body = dumps({"error": {"status": status, "path": path, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if close:  # the rest of the body is not read: the connection cannot be reused
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
