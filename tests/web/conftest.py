"""The pages over a seeded demo database: a TestClient app (SQLite, and PostgreSQL when
MEDAID_TEST_POSTGRES_URL is set) for the HTTP tests, and a real uvicorn server on a free
port (SQLite) driven by Debian's headless Chromium through Playwright for the journeys.

Chromium comes from the system package (`.ci/run` installs `chromium fonts-noto-cjk`);
a browser is never downloaded. Without it the browser tests fail in CI (CI=true) and are
skipped, saying why, elsewhere.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from demo_world import Demo, seed
from web_helpers import Server, Site

from databases import BACKENDS, seeded_database
from medaid.api.app import create_app
from medaid.app.uow import UnitOfWork


def _seeded(url: str) -> Demo:
    app = create_app(url)
    try:
        with UnitOfWork(app.state.sessions) as uow:
            return seed(uow)
    finally:
        app.state.engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Site]:
    """Each module's own copy of the demo deployment, seeded once per test process."""
    with seeded_database(request.param, tmp_path_factory.mktemp("web"), _seeded
                         ) as (url, made):
        app = create_app(url)
        yield Site(app, made)
        app.state.engine.dispose()


# -- a real server and a real browser ----------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with seeded_database("sqlite", tmp_path_factory.mktemp("server"), _seeded) as (url, made):
        app = create_app(url)
        port = _free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                access_log=False)
        running = uvicorn.Server(config)
        thread = threading.Thread(target=running.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not running.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield Server(f"http://127.0.0.1:{port}", made, app)
        running.should_exit = True
        thread.join(10)


def chromium() -> str:
    """Debian's Chromium; in CI its absence is a failure, elsewhere a skip that says so."""
    found = shutil.which("chromium")
    if found:
        return found
    message = ("chromium is not installed: `apt-get install chromium fonts-noto-cjk` "
               "(.ci/run does); the browser tests never download a browser")
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    context = browser.new_context(base_url=server.url, locale="zh-CN",
                                  viewport={"width": 1366, "height": 768})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


