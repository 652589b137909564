"""The FastAPI app factory: ``create_app(store, settings, live=..., registry=...)``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader
from prometheus_client import CollectorRegistry

from monitor.store import Store
from monitor.web.live import LiveNumbers, LiveProvider, StaticLive
from monitor.web.security import BodyLimit, Principal, SecurityHeaders
from monitor.web.settings import WebSettings
from monitor.web.throttle import LoginGuard, LoginThrottle

if TYPE_CHECKING:
    from monitor.promises.engine import PromiseEngine

__all__ = ["AppContext", "create_app", "render"]

_STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True, slots=True)
class AppContext:
    store: Store
    settings: WebSettings
    live: LiveProvider
    registry: CollectorRegistry
    env: Environment


def _when(ts: float | None) -> str:
    if ts is None:
        return "–"
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = round(seconds)
    return f"{s // 60}:{s % 60:02d}"


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("monitor.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["dur"] = _dur
    return env


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    status: int = 200,
    principal: Principal | None = None,
) -> HTMLResponse:
    ctx: AppContext = request.app.state.ctx
    html = ctx.env.get_template(name).render(
        request=request, me=principal, site=ctx.settings.site_name, **context
    )
    return HTMLResponse(html, status_code=status)


def create_app(
    store: Store,
    settings: WebSettings | None = None,
    live: LiveProvider | None = None,
    registry: CollectorRegistry | None = None,
    promises: PromiseEngine | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The web tier over ``store``. ``live`` gives the wallboard numbers (an empty
    ``StaticLive`` when None); ``registry`` is served at /metrics; ``promises`` (the ledger's
    engine) adds ``/api/promises``, whose explicit promises are dated by ``clock`` (the demo's
    simulator clock, else wall time)."""
    from monitor.web import (
        routes_api,
        routes_auth,
        routes_kiosk,
        routes_pages,
        routes_reports,
        routes_review,
        routes_wallboard,
    )
    from monitor.web.errors import install_error_handlers
    from monitor.web.permissions import authorize, signed_in

    app = FastAPI(
        title="ringwatch",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(authorize)],
    )
    web = settings or WebSettings()
    app.state.login_guard = LoginGuard(
        LoginThrottle(
            free_user=web.login_free_failures_user,
            free_address=web.login_free_failures_address,
            base_seconds=web.login_lock_base_seconds,
            max_seconds=web.login_lock_max_seconds,
            forget_seconds=web.login_forget_seconds,
        ),
        max_concurrent=web.login_max_concurrent,
        max_waiting=web.login_max_waiting,
        wait_seconds=web.login_wait_seconds,
    )
    app.state.ctx = AppContext(
        store=store,
        settings=web,
        live=live or StaticLive(LiveNumbers()),
        registry=registry or CollectorRegistry(),
        env=_env(),
    )

    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    modules = (
        routes_auth,
        routes_kiosk,
        routes_pages,
        routes_review,
        routes_wallboard,
        routes_api,
        routes_reports,
    )
    for module in modules:
        app.include_router(module.router)
    if promises is not None:
        from monitor.promises.api import promises_router

        def audit(actor: str, action: str, detail: dict[str, Any]) -> None:
            store.audit(actor, action, None, detail)

        app.include_router(
            promises_router(promises, current_user=signed_in, audit=audit, clock=clock)
        )
    app.add_middleware(BodyLimit, max_bytes=web.max_body_bytes)
    app.add_middleware(
        SecurityHeaders,
        hsts_max_age=web.hsts_max_age_seconds,
        trust_forwarded_proto=web.trust_forwarded_proto,
    )
    return app
