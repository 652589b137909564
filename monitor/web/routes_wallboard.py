"""The live wallboard: big numbers against the standards, pushed by Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from monitor.web.app import AppContext, render
from monitor.web.live import tiles
from monitor.web.permissions import Me

__all__ = ["router", "snapshot_json"]

router = APIRouter()
View = Me


def snapshot_json(ctx: AppContext) -> str:
    return json.dumps(
        [t.to_json() for t in tiles(ctx.live.numbers(), ctx.settings.wallboard_standards)]
    )


@router.get("/wallboard")
def wallboard(request: Request, me: View) -> Response:
    ctx: AppContext = request.app.state.ctx
    return render(
        request,
        "wallboard.html",
        {
            "tiles": tiles(ctx.live.numbers(), ctx.settings.wallboard_standards),
            "interval_ms": int(ctx.settings.wallboard_interval_seconds * 1000),
        },
        principal=me,
    )


async def _events(request: Request, ctx: AppContext) -> AsyncIterator[str]:
    """Push the tiles now and whenever they change (checked every interval), with a
    keep-alive comment otherwise; the stream ends after ``wallboard_stream_max_seconds``
    and the browser's EventSource reconnects by itself."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.settings.wallboard_stream_max_seconds
    last = ""
    yield f"retry: {int(ctx.settings.wallboard_interval_seconds * 1000)}\n\n"
    while True:
        data = snapshot_json(ctx)
        if data != last:
            last = data
            yield f"event: tiles\ndata: {data}\n\n"
        else:
            yield ": keep-alive\n\n"
        if loop.time() >= deadline or await request.is_disconnected():
            return
        await asyncio.sleep(ctx.settings.wallboard_interval_seconds)


@router.get("/wallboard/stream")
def wallboard_stream(request: Request, me: View) -> Response:
    ctx: AppContext = request.app.state.ctx
    return StreamingResponse(
        _events(request, ctx),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
