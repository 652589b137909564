"""The FastAPI app factory: ``create_app(store, settings, live=..., registry=...)``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader
from markupsafe import Markup, escape
from prometheus_client import CollectorRegistry

from monitor.errors import ConfigError
from monitor.store import Store
from monitor.web import format as fmt
from monitor.web.live import LiveNumbers, LiveProvider, StaticLive
from monitor.web.security import BodyLimit, Principal, SecurityHeaders
from monitor.web.settings import WebSettings
from monitor.web.throttle import LoginGuard, StoredLoginThrottle

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


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = round(seconds)
    return f"{s // 60}:{s % 60:02d}"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"WebSettings.timezone: unknown time zone {name!r} (e.g. Europe/London)"
        ) from exc


def _env(zone: ZoneInfo) -> Environment:
    env = Environment(
        loader=PackageLoader("monitor.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def when(ts: float | None) -> str:
        return fmt.zoned(ts, zone)

    def iso_utc(ts: float | None) -> str:
        return "" if ts is None else datetime.fromtimestamp(ts, tz=UTC).isoformat()

    def when_cell(ts: float | None) -> Markup:
        """``when`` as a <time> whose date and time each stay on one line in a narrow cell."""
        text = fmt.zoned(ts, zone)
        if ts is None or " " not in text:
            return Markup(escape(text))
        day, clock = text.split(" ", 1)
        return Markup(
            f'<time class="when" datetime="{escape(iso_utc(ts))}"><span>{escape(day)}</span> '
            f"<span>{escape(clock)}</span></time>"
        )

    env.filters["when"] = when  # local time with its zone: "2026-09-21 15:13:20 BST"
    env.filters["when_cell"] = when_cell
    env.filters["iso_utc"] = iso_utc  # for <time datetime=...> and title attributes
    env.filters["dur"] = _dur
    env.filters["clock"] = fmt.clock
    env.filters["secs"] = fmt.seconds
    env.filters["label"] = fmt.label
    env.filters["measure"] = fmt.measure
    env.filters["cause"] = fmt.hangup_cause
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
        routes_agent,
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
        StoredLoginThrottle(
            store.engine,
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
    if web.recording_start not in ("answer", "start"):
        raise ConfigError(
            f"WebSettings.recording_start must be 'answer' or 'start', got {web.recording_start!r}"
        )
    app.state.ctx = AppContext(
        store=store,
        settings=web,
        live=live or StaticLive(LiveNumbers()),
        registry=registry or CollectorRegistry(),
        env=_env(_zone(web.timezone)),
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
        routes_agent,
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
