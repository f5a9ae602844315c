"""Helpers for the page tests: the app or server a test drives, and signing in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from demo_world import Demo
from fastapi.testclient import TestClient

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Site:
    """The app over a seeded database, and what the seed made."""

    app: Any
    demo: Demo

    def client(self, user: str | None = None, https: bool = False) -> TestClient:
        """A browser-like client, signed in as `user` (demo users are named by role)."""
        c = TestClient(self.app, base_url="https://testserver" if https else "http://testserver",
                       follow_redirects=False)
        if user is not None:
            sign_in(c, user, self.demo.passwords[user])
        return c


def sign_in(c: TestClient, user: str, password: str) -> None:
    token = CSRF.search(c.get("/login").text)
    assert token
    r = c.post("/login", data={"csrf": token.group(1), "username": user,
                               "password": password})
    assert r.status_code == 303, r.text


def csrf_of(c: TestClient) -> str:
    found = CSRF.search(c.get("/").text)
    assert found
    return found.group(1)


@dataclass(frozen=True)
class Server:
    url: str
    demo: Demo
    app: Any


def browser_sign_in(page: Any, server: Server, user: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(server.demo.passwords[user])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{server.url}/")
