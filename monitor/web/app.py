"""The FastAPI app factory: ``create_app(store, settings, live=..., registry=...)``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader
from prometheus_client import CollectorRegistry
from starlette.exceptions import HTTPException as StarletteHTTPException

from monitor.errors import PromiseError, StoreError
from monitor.store import Store
from monitor.web.live import LiveNumbers, LiveProvider, StaticLive
from monitor.web.security import LoginRequired, Principal, SecurityHeaders
from monitor.web.settings import WebSettings

__all__ = ["AppContext", "create_app", "render"]

_STATIC = Path(__file__).parent / "static"
_MACHINE_PREFIXES = ("/api/", "/recordings/", "/export/", "/wallboard/stream", "/metrics")


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


def _machine(request: Request) -> bool:
    path = request.url.path
    accept = request.headers.get("accept", "")
    wants_json = "application/json" in accept and "text/html" not in accept
    return path.startswith(_MACHINE_PREFIXES) or wants_json


def create_app(
    store: Store,
    settings: WebSettings | None = None,
    live: LiveProvider | None = None,
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    """The web tier over ``store``. ``live`` gives the wallboard numbers (an empty
    ``StaticLive`` when None); ``registry`` is served at /metrics."""
    from monitor.web import (
        routes_api,
        routes_auth,
        routes_pages,
        routes_reports,
        routes_wallboard,
    )

    app = FastAPI(title="ringwatch", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = AppContext(
        store=store,
        settings=settings or WebSettings(),
        live=live or StaticLive(LiveNumbers()),
        registry=registry or CollectorRegistry(),
        env=_env(),
    )

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        if _machine(request) or request.method != "GET":
            return JSONResponse({"error": "login required"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _machine(request):
            return JSONResponse(
                {"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
            )
        return render(
            request,
            "error.html",
            {"status": exc.status_code, "message": str(exc.detail)},
            exc.status_code,
        )

    @app.exception_handler(StoreError)
    @app.exception_handler(PromiseError)
    async def _store_error(request: Request, exc: Exception) -> Response:
        if _machine(request):
            return JSONResponse({"error": str(exc)}, status_code=409)
        return render(request, "error.html", {"status": 409, "message": str(exc)}, 409)

    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    for module in (routes_auth, routes_pages, routes_wallboard, routes_api, routes_reports):
        app.include_router(module.router)
    app.add_middleware(SecurityHeaders)
    return app
