"""End to end, as a user meets it: the simulator and the service in one process (what
``make demo`` runs), then real Chromium logs in, sees flagged calls the simulator produced,
opens one and sees its timeline and findings; the API and /metrics agree with the store."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from monitor.cli.run_cmd import run_demo
from monitor.service import Service

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
PASSWORD = "demo-password-123"
pytestmark = pytest.mark.slow


class Demo:
    def __init__(self) -> None:
        self.ready = threading.Event()
        self.base = ""
        self.service: Service | None = None
        self.error: BaseException | None = None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    state = Demo()
    data = tmp_path_factory.mktemp("demo")

    def on_ready(service: Service, base: str, _sim: object) -> None:
        state.service, state.base = service, base
        state.ready.set()

    def runner() -> None:
        try:
            asyncio.run(
                run_demo(
                    data,
                    speed=400,
                    seed=3,
                    web_port=0,
                    duration=25,
                    echo=False,
                    password=PASSWORD,
                    on_ready=on_ready,
                )
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the test, not lost
            state.error = exc
            state.ready.set()

    thread = threading.Thread(target=runner, daemon=True)
    thread.start()
    assert state.ready.wait(30), "demo did not start"
    assert state.error is None, state.error
    yield state
    assert state.service is not None
    state.service.request_stop()
    thread.join(40)
    assert not thread.is_alive(), "demo did not stop by itself"
    assert state.error is None, state.error


def _wait_for_flags(client: httpx.Client, at_least: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        flags = client.get("/api/flags").json()
        items = flags["items"] if isinstance(flags, dict) else flags
        if len(items) >= at_least:
            return list(items)
        time.sleep(0.25)  # polling a live service: the simulator drives it on its own clock
    raise AssertionError(f"fewer than {at_least} flagged calls after 20 s")


def _login(client: httpx.Client) -> None:
    import re

    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    resp = client.post("/login", data={"username": "demo", "password": PASSWORD,
                                       "csrf": csrf.group(1), "next": "/"})  # fmt: skip
    assert resp.status_code == 303, resp.text


def test_flagged_calls_from_the_simulator_in_api_store_and_metrics(demo: Demo) -> None:
    with httpx.Client(base_url=demo.base, follow_redirects=False, timeout=10) as client:
        assert client.get("/api/flags").status_code == 401  # anonymous is refused
        _login(client)
        items = _wait_for_flags(client, 3)
        call_id = str(items[0]["call_id"])
        call = client.get(f"/api/calls/{call_id}").json()
        record = call.get("call", call)
        assert record["call_id"] == call_id
        assert record["findings"], "a flagged call carries its findings"
        assert client.get("/healthz").json() == {"status": "ok"}  # public: status only
        health = client.get("/healthz/details").json()  # logged in: the components
        assert health["components"]["ami:demo"]["state"] == "up"
        metrics = client.get("/metrics").text
        assert 'ringwatch_ami_up{pbx="demo"} 1.0' in metrics
        assert "ringwatch_standard_checks_total" in metrics


def test_browser_sees_a_flagged_call_with_its_timeline(demo: Demo) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with httpx.Client(base_url=demo.base, timeout=10) as client:
        _login(client)
        _wait_for_flags(client, 3)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(demo.base + "/login")
            page.fill("input[name=username]", "demo")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("table")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "demo-queue.png"), full_page=True)
            page.locator("a[href^='/calls/']").first.click()
            expect(page.locator("svg")).to_be_visible()
            assert page.locator("svg").count() >= 1
            page.screenshot(path=str(ARTIFACTS / "demo-call.png"), full_page=True)
            page.goto(demo.base + "/wallboard")
            expect(page.locator("body")).to_contain_text("Waiting")
            page.screenshot(path=str(ARTIFACTS / "demo-wallboard.png"), full_page=True)
        finally:
            browser.close()
