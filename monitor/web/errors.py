"""The web tier's one error shape and its handlers.

Every error of the JSON API (and of any request that asks for JSON) is
``{"error": "<what is wrong and what to do>"}`` with the status code; pages get the HTML error
page. FastAPI's validation errors take the same shape (400 for a query or path parameter, 422
for a body; the field and the problem — never the value sent). An unexpected exception is
logged and answered 500 in the same shape, with the security headers (Starlette's own 500 is
plain text without them). Request values are never echoed back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from monitor.errors import InputError, NotFoundError, PromiseError, StoreError
from monitor.web.security import SECURITY_HEADERS, LoginRequired

__all__ = [
    "MACHINE_PREFIXES",
    "MAX_ID",
    "MAX_OFFSET",
    "MAX_PAGE",
    "error_response",
    "form_schema",
    "install_error_handlers",
    "int_param",
    "is_machine",
]

log = logging.getLogger("monitor.web")

MACHINE_PREFIXES = (
    "/api/",
    "/recordings/",
    "/export/",
    "/wallboard/stream",
    "/metrics",
    "/healthz",
)
# ids are 32-bit on every backend (PostgreSQL INTEGER): a larger one names nothing (404)
MAX_ID = 2**31 - 1
MAX_PAGE = 100_000
MAX_OFFSET = 10**9


def form_schema(**fields: int) -> dict[str, Any]:
    """``openapi_extra`` describing a form a page posts (read by hand with
    ``request.form()``): each field a string of at most N characters, ``csrf`` included. The
    schema is what the API fuzzer generates from (it is not served)."""
    props = {name: {"type": "string", "maxLength": n} for name, n in fields.items()}
    props["csrf"] = {"type": "string", "maxLength": 64}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "properties": props, "required": ["csrf"]}
                }
            },
        }
    }


def is_machine(request: Request) -> bool:
    path = request.url.path
    accept = request.headers.get("accept", "")
    wants_json = "application/json" in accept and "text/html" not in accept
    return path.startswith(MACHINE_PREFIXES) or wants_json


def int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    """A whole-number query parameter within ``lo..hi`` (else 400 naming the bounds)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 12:
        raise HTTPException(400, f"{name} must be a whole number {lo}..{hi}")
    value = int(raw)
    if not lo <= value <= hi:
        raise HTTPException(400, f"{name} must be {lo}..{hi}, got {value}")
    return value


def error_response(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """The one error shape: JSON for machines, the HTML error page for people."""
    if is_machine(request):
        return JSONResponse({"error": message}, status_code=status, headers=dict(headers or {}))
    from monitor.web.app import render

    resp = render(request, "error.html", {"status": status, "message": message}, status)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in list(exc.errors())[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path"))
        where = f"{err.get('loc', ('request',))[0]} {loc}".strip() if loc else "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        if is_machine(request) or request.method != "GET":
            return JSONResponse({"error": "login required"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return error_response(request, exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # a bad query or path parameter is 400 (as the hand-checked ones); a bad body 422
        in_body = any(err.get("loc", ("",))[0] == "body" for err in exc.errors())
        return error_response(request, 422 if in_body else 400, _validation_message(exc))

    @app.exception_handler(InputError)
    async def _bad_input(request: Request, exc: Exception) -> Response:
        # bad input the store refused (e.g. an overridden review answer without its reason)
        return error_response(request, 400, str(exc))

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: Exception) -> Response:
        return error_response(request, 404, str(exc))

    @app.exception_handler(StoreError)
    @app.exception_handler(PromiseError)
    async def _store_error(request: Request, exc: Exception) -> Response:
        return error_response(request, 409, str(exc))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        # Starlette sends this from its outermost middleware, outside SecurityHeaders:
        # the headers are added here.
        log.error("web: %s %s failed", request.method, request.url.path, exc_info=exc)
        message = "internal error: the server could not answer this request; it was logged"
        try:
            resp = error_response(request, 500, message)
        except Exception:  # noqa: BLE001 - the page itself cannot be drawn: plain JSON
            resp = JSONResponse({"error": message}, status_code=500)
        _secure_headers(resp)
        return resp


def _secure_headers(resp: Response) -> None:
    for name, value in SECURITY_HEADERS:
        resp.headers[name.decode()] = value.decode()
    resp.headers["cache-control"] = "no-store"
