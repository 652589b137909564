"""Login and logout (argon2 passwords, server-side sessions, CSRF on both forms)."""

from __future__ import annotations

import math
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from monitor.web.app import AppContext, render
from monitor.web.errors import form_schema
from monitor.web.permissions import Me, home_for
from monitor.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    request_scheme,
    safe_next,
)
from monitor.web.throttle import Busy, LoginGuard

__all__ = ["router"]

router = APIRouter()


def _secure(request: Request) -> bool:
    ctx: AppContext = request.app.state.ctx
    if ctx.settings.secure_cookies is not None:
        return ctx.settings.secure_cookies
    return request_scheme(request, ctx.settings.trust_forwarded_proto) == "https"


def _login_page(request: Request, error: str | None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    resp = render(
        request,
        "login.html",
        {
            "csrf": token,
            "error": error,
            "next": safe_next(request.query_params.get("next")),
        },
        status,
    )
    resp.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/login",
        max_age=3600,
    )
    return resp


def _refused(request: Request, status: int, seconds: float, what: str) -> Response:
    wait = max(1, math.ceil(seconds))
    resp = _login_page(request, f"{what} {wait} s and try again.", status)
    resp.headers["retry-after"] = str(wait)
    return resp


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request, None)


def _client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


@router.post("/login", openapi_extra=form_schema(username=80, password=1100, next=300))
async def login(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    guard: LoginGuard = request.app.state.login_guard
    form = await request.form()
    check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE, ""), form.get("csrf"))
    name = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:1024]
    user_key, address_key = f"user:{name}", f"address:{_client_address(request)}"
    wait = await run_in_threadpool(guard.throttle.retry_after, user_key, address_key)
    if wait > 0:  # locked: refused without checking the password
        return _refused(request, 429, wait, "Too many failed logins: wait")
    try:
        guard.admit()
    except Busy:
        return _refused(request, 503, 1, "The server is busy checking other logins: retry in")
    try:
        user = await run_in_threadpool(guard.check, ctx.store.authenticate, name, password)
    except Busy:
        return _refused(request, 503, 1, "The server is busy checking other logins: retry in")
    finally:
        guard.leave()
    if user is None:
        await run_in_threadpool(ctx.store.audit, name or "-", "login_failed", None, {})
        for lock in await run_in_threadpool(guard.throttle.failed, user_key, address_key):
            await run_in_threadpool(
                ctx.store.audit,
                name or "-",
                "login_locked",
                None,
                {
                    "locked": lock.key,
                    "seconds": lock.seconds,
                    "failures": lock.failures,
                    "address": _client_address(request),
                },
            )
        return _login_page(request, "Wrong user name or password.", 401)
    await run_in_threadpool(guard.throttle.succeeded, user_key)
    token, _csrf = await run_in_threadpool(
        ctx.store.create_session, user.name, ctx.settings.session_ttl_seconds
    )
    await run_in_threadpool(ctx.store.audit, user.name, "login", None, {})
    default = home_for(user.role)
    target = safe_next(str(form.get("next", "")))
    resp = RedirectResponse(default if target == "/" else target, status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
        max_age=int(ctx.settings.session_ttl_seconds),
    )
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout", openapi_extra=form_schema())
async def logout(request: Request, me: Me) -> Response:
    ctx: AppContext = request.app.state.ctx
    form = await request.form()
    check_csrf(me.csrf, form.get("csrf"))
    await run_in_threadpool(ctx.store.end_session, me.token)
    await run_in_threadpool(ctx.store.audit, me.user.name, "logout", None, {})
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/")
def home(me: Me) -> Response:
    return RedirectResponse(home_for(me.user.role), status_code=303)
