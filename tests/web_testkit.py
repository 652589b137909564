"""Helpers for the web tests: log in through the real form (with its CSRF token); serve an app
with uvicorn for the browser tests."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

PASSWORD = "correct horse battery"
HOSTILE = "<script>alert(1)</script>"


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field in page"
    return m.group(1)


def login(client: TestClient, user: str, password: str = PASSWORD) -> TestClient:
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={"username": user, "password": password, "csrf": csrf_of(page.text), "next": "/"},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    return client
