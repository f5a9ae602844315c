"""Who is calling an HTTP route, and the body it may send: FastAPI's side of
`app.auth` (a bearer token in, the use cases' `Actor` out) and of `app.strict`.

The use cases take the token's text and know no web framework; the security scheme
`bearer` is what the OpenAPI document shows a caller.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from medaid.app import strict
from medaid.app.auth import Actor, authenticate
from medaid.core.errors import Unauthenticated

bearer = HTTPBearer(auto_error=False, description="a token from `medaid token create`")


def bearer_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> str | None:
    """The bearer token a request sends (None: no header, another scheme, or no token)."""
    return None if credentials is None else credentials.credentials


def token_of(authorization: str | None) -> str | None:
    """An Authorization header's bearer token, read as `bearer` reads it, for a handler
    that reads its headers itself (api.fast)."""
    scheme, _, param = (authorization or "").partition(" ")
    param = param.strip()
    if not (authorization and scheme and param) or scheme.lower() != "bearer":
        return None
    return param


def current_actor(request: Request,
                  token: Annotated[str | None, Depends(bearer_token)]) -> Actor:
    """The caller of an HTTP request."""
    if token is None:
        raise Unauthenticated("send Authorization: Bearer TOKEN")
    return authenticate(request.app.state.engine, token)


async def strict_body(request: Request) -> None:
    """The route's documented body schema, for `strict.check_body` to check the body
    against when the route parses it (after the caller is authenticated: no token is a
    401 whatever the body holds)."""
    strict.expect(strict.route_schema(request.scope.get("route")))


TokenDep = Annotated[str | None, Depends(bearer_token)]
ActorDep = Annotated[Actor, Depends(current_actor)]
