"""Sessions, roles, CSRF and security headers for the web tier."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.store import Store, User

__all__ = [
    "LOGIN_CSRF_COOKIE",
    "SECURITY_HEADERS",
    "SESSION_COOKIE",
    "LoginRequired",
    "Principal",
    "SecurityHeaders",
    "check_csrf",
    "current",
    "safe_next",
]

SESSION_COOKIE = "rw_session"
LOGIN_CSRF_COOKIE = "rw_login_csrf"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class LoginRequired(Exception):
    """No valid session: pages redirect to /login, API routes answer 401."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in user of a request. The tokens are secrets: they are left out of
    ``repr``/``str`` so that printing a principal (a log line, an actor name) cannot leak
    them; name the user with ``username``."""

    user: User
    csrf: str = field(repr=False)
    token: str = field(repr=False)

    @property
    def username(self) -> str:
        return self.user.name


def _store(request: Request) -> Store:
    store: Store = request.app.state.ctx.store
    return store


def current(request: Request) -> Principal:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        raise LoginRequired()
    found = _store(request).session(token)
    if found is None:
        raise LoginRequired()
    user, csrf = found
    return Principal(user=user, csrf=csrf, token=token)


def check_csrf(expected: str, given: Any) -> None:
    if not isinstance(given, str) or not given or not secrets.compare_digest(expected, given):
        raise HTTPException(
            status_code=403, detail="missing or invalid CSRF token; reload the page and try again"
        )


def safe_next(target: str | None) -> str:
    """Only local paths are allowed after login (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class SecurityHeaders:
    """ASGI middleware adding CSP and friends to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in names)
                if not static and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, wrapped)
