"""Sessions, roles, CSRF and security headers for the web tier."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.store import Store, User

__all__ = [
    "LOGIN_CSRF_COOKIE",
    "SECURITY_HEADERS",
    "SESSION_COOKIE",
    "BodyLimit",
    "LoginRequired",
    "Principal",
    "SecurityHeaders",
    "check_csrf",
    "check_origin",
    "current",
    "request_scheme",
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
    # compared as bytes: compare_digest refuses non-ASCII str (a TypeError, then a 500)
    if (
        not isinstance(given, str)
        or not given
        or not secrets.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
    ):
        raise HTTPException(
            status_code=403, detail="missing or invalid CSRF token; reload the page and try again"
        )


def safe_next(target: str | None) -> str:
    """Only local paths are allowed after login (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _scheme(scope: Scope, trust_forwarded_proto: bool) -> str:
    if trust_forwarded_proto:
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-proto":
                proto: str = bytes(value).decode("latin-1")
                return proto.split(",")[0].strip().lower()
    return str(scope.get("scheme", "http"))


def request_scheme(request: Request, trust_forwarded_proto: bool) -> str:
    """``https`` or ``http``: the scheme uvicorn saw (``--proxy-headers`` sets it from a
    trusted proxy), or the proxy's ``X-Forwarded-Proto`` when told to trust it."""
    return _scheme(request.scope, trust_forwarded_proto)


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_origin(request: Request, allowed: tuple[str, ...], trust_forwarded_proto: bool) -> None:
    """A state-changing request must come from this site (or an allowed origin): its
    ``Origin`` header — else its ``Referer`` — must name it. With neither header (not a
    browser) the CSRF token alone decides."""
    given = request.headers.get("origin")
    source = "Origin"
    if given is None:
        referer = request.headers.get("referer")
        if referer is None:
            return
        given, source = _origin_of(referer) or "null", "Referer"
    host = request.headers.get("host", "")
    own = f"{request_scheme(request, trust_forwarded_proto)}://{host}".lower()
    if given.lower() == own or given.lower() in (a.lower().rstrip("/") for a in allowed):
        return
    raise HTTPException(
        status_code=403,
        detail=f"cross-site request refused: its {source} is not this site; "
        "post from the ringwatch pages (or add the origin to allowed_origins)",
    )


class SecurityHeaders:
    """ASGI middleware adding CSP and friends to every HTTP response, and HSTS to those
    served over https."""

    def __init__(
        self, app: ASGIApp, hsts_max_age: int = 31_536_000, trust_forwarded_proto: bool = False
    ) -> None:
        self.app = app
        self.hsts = f"max-age={hsts_max_age}; includeSubDomains".encode()
        self.trust_forwarded_proto = trust_forwarded_proto

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")
        tls = _scheme(scope, self.trust_forwarded_proto) == "https"

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in names)
                if tls and b"strict-transport-security" not in names:
                    headers.append((b"strict-transport-security", self.hsts))
                if not static and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, wrapped)


class BodyLimit:
    """ASGI middleware refusing request bodies over ``max_bytes`` with 413 in the error
    shape: at once when ``Content-Length`` says so, else when the streamed body passes it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _too_large(self, send: Send) -> None:
        body = json.dumps(
            {
                "error": f"request body is larger than the limit of {self.max_bytes:,} bytes; "
                "send less"
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._too_large(send)
                    return
        received = 0
        too_big = False
        started = False

        async def limited() -> Message:
            nonlocal received, too_big
            if too_big:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_big = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if too_big and not started:
                return  # the app's answer to a cut body is replaced by the 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except Exception:
            if not too_big:
                raise
        if too_big and not started:
            await self._too_large(send)
