"""Kiosk sign-in for a wall screen: paste the token ``ringwatch users kiosk add`` printed;
the screen gets a session cookie that lasts as long as the kiosk (until revoked) and the
permission table lets it see the wallboard only.

Wrong tokens count against the client address like failed logins (``monitor/web/throttle``):
5 free per address for kiosk sign-ins, then the same doubling back-off (429, Retry-After),
and the address's shared login budget; each lock is audited."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from monitor.store.kiosks import KIOSK_ROLE, KIOSK_TTL_SECONDS
from monitor.web.app import AppContext, render
from monitor.web.errors import form_schema
from monitor.web.routes_auth import _client_address, _secure
from monitor.web.security import SESSION_COOKIE
from monitor.web.throttle import LoginGuard

__all__ = ["router"]

router = APIRouter()


def _form(request: Request, error: str | None, status: int = 200) -> Response:
    return render(request, "kiosk.html", {"error": error}, status=status)


@router.get("/kiosk")
def kiosk_form(request: Request) -> Response:
    return _form(request, None)


@router.post("/kiosk", openapi_extra=form_schema(token=200))
async def kiosk_sign_in(request: Request) -> Response:
    """Origin-checked by ``authorize`` like every POST; the token is the secret."""
    ctx: AppContext = request.app.state.ctx
    guard: LoginGuard = request.app.state.login_guard
    address = _client_address(request)
    kiosk_key, address_key = f"kiosk:{address}", f"address:{address}"
    wait = await run_in_threadpool(guard.throttle.retry_after, kiosk_key, address_key)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        resp = _form(request, f"Too many wrong kiosk tokens: wait {seconds} s and try again.", 429)
        resp.headers["retry-after"] = str(seconds)
        return resp
    form = await request.form()
    token = str(form.get("token", "")).strip()
    found = await run_in_threadpool(ctx.store.session, token) if 0 < len(token) <= 200 else None
    if found is None or found[0].role != KIOSK_ROLE:
        for lock in await run_in_threadpool(guard.throttle.failed, kiosk_key, address_key):
            details = {"locked": lock.key, "seconds": lock.seconds, "failures": lock.failures}
            await run_in_threadpool(ctx.store.audit, "-", "kiosk_locked", None, details)
        return _form(request, "That kiosk token is not valid (revoked, or mistyped).", 401)
    await run_in_threadpool(guard.throttle.succeeded, kiosk_key)
    await run_in_threadpool(ctx.store.audit, found[0].name, "kiosk_sign_in", None, {})
    resp = RedirectResponse("/wallboard", status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
        max_age=int(KIOSK_TTL_SECONDS),
    )
    return resp
