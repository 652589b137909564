"""The live wallboard: big numbers against the standards, per-queue rows, agents and the calls
waiting and on hold, pushed by Server-Sent Events (``event: board``; ``event: ping`` when
nothing changed, so the browser can tell a live stream from a dead one)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from monitor.web.app import AppContext, render
from monitor.web.live import tiles
from monitor.web.permissions import Me

__all__ = ["router", "snapshot_json"]

router = APIRouter()
View = Me
SESSION_RECHECK_SECONDS = 5.0


def snapshot(ctx: AppContext) -> dict[str, Any]:
    """Tiles and board as one JSON-able object (the stream's ``board`` event)."""
    return {
        "tiles": [t.to_json() for t in tiles(ctx.live.numbers(), ctx.settings.wallboard_standards)],
        "board": ctx.live.board().to_json(),
    }


def snapshot_json(ctx: AppContext) -> str:
    return json.dumps(snapshot(ctx), separators=(",", ":"))


@router.get("/wallboard")
def wallboard(request: Request, me: View) -> Response:
    ctx: AppContext = request.app.state.ctx
    return render(
        request,
        "wallboard.html",
        {
            "tiles": tiles(ctx.live.numbers(), ctx.settings.wallboard_standards),
            "interval_ms": int(ctx.settings.wallboard_interval_seconds * 1000),
            # "</" cannot end the <script type="application/json"> block early
            "initial": snapshot_json(ctx).replace("</", "<\\/"),
            "kiosk": me.user.role == "kiosk",
        },
        principal=me,
    )


async def _events(request: Request, ctx: AppContext, token: str) -> AsyncIterator[str]:
    """Push the board now and whenever it changes (checked every interval), with a ``ping``
    otherwise (an event, not a comment: the page's watchdog sees it); the stream ends after
    ``wallboard_stream_max_seconds`` and the browser's EventSource reconnects by itself.
    The session is checked again every ``SESSION_RECHECK_SECONDS``: a revoked kiosk or an
    ended session ends the stream, and the reconnect gets its 401 (the page says so)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.settings.wallboard_stream_max_seconds
    recheck = loop.time() + SESSION_RECHECK_SECONDS
    last = ""
    yield f"retry: {int(ctx.settings.wallboard_interval_seconds * 1000)}\n\n"
    while True:
        data = snapshot_json(ctx)
        if data != last:
            last = data
            yield f"event: board\ndata: {data}\n\n"
        else:
            yield "event: ping\ndata: {}\n\n"
        if loop.time() >= deadline or await request.is_disconnected():
            return
        if loop.time() >= recheck:
            recheck = loop.time() + SESSION_RECHECK_SECONDS
            if await run_in_threadpool(ctx.store.session, token) is None:
                return
        await asyncio.sleep(ctx.settings.wallboard_interval_seconds)


@router.get("/wallboard/stream")
def wallboard_stream(request: Request, me: View) -> Response:
    ctx: AppContext = request.app.state.ctx
    return StreamingResponse(
        _events(request, ctx, me.token),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
