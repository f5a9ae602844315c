"""The caseworkers' web pages: server-rendered (Jinja2, autoescaped), Chinese first.

Served by the API's application (`api.app` includes `router` and mounts `static`).
A signed-in user's session token lives in an HttpOnly, SameSite=Strict cookie; every
POST form carries a per-session CSRF token; every page checks role and scope through the
same use cases and `app.auth` checks as the JSON API, and reads of a person's record
are audited the same way.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.staticfiles import StaticFiles

from medaid.web import (
    applications,
    audit,
    audit_log,
    cancel,
    charity,
    funds,
    home,
    indicators,
    intake,
    lists,
    person_lookup,
    persons,
    policy,
    rosters,
    settle,
    signin,
    slip,
    warnings,
)

STATIC = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)
for module in (signin, home, persons, slip, cancel, person_lookup, settle, rosters, policy, intake,
               applications, warnings, charity, lists, funds, indicators, audit, audit_log):
    router.include_router(module.router)


def static_files() -> StaticFiles:
    """The pages' CSS (and a few lines of JS), mounted at /static."""
    return StaticFiles(directory=STATIC)
