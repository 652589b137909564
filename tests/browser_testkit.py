"""Helpers for the browser tests: serve an app with uvicorn on 127.0.0.1 in a thread, launch
Debian's Chromium through Playwright (never a downloaded browser), keep screenshots in
tests/artifacts/ (git-ignored)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",  # the call page's player seeks and plays
]


class _Server(uvicorn.Server):
    """uvicorn in a thread; ``ready`` is set once it serves."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()

    def install_signal_handlers(self) -> None:  # the main thread keeps its handlers
        return None


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """``app`` on a free port of 127.0.0.1; yields its base URL, stops it (bounded) after."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2, lifespan="off")
    srv = _Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    assert srv.ready.wait(15), "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(15)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def shot(page: Page, name: str, backend: str, selector: str | None = None) -> Path:
    """A full-page screenshot kept as ``tests/artifacts/web-{name}-{backend}.png``; with
    ``selector``, also that element alone as ``web-{name}-part-{backend}.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"web-{name}-{backend}.png"
    page.screenshot(path=str(path), full_page=True)
    if selector is not None:
        page.locator(selector).first.screenshot(
            path=str(ARTIFACTS / f"web-{name}-part-{backend}.png")
        )
    return path
