"""Browser tests: Debian's chromium (headless, via Playwright) against the app served by
uvicorn on 127.0.0.1 — log in, queue, call page, review, immutable result, live wallboard.
Screenshots go to tests/artifacts/ (git-ignored)."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_testkit import chromium, serve
from playwright.sync_api import Browser, Page, expect
from web_testkit import HOSTILE, PASSWORD

from monitor.store import Store
from monitor.web import StaticLive, WebSettings, create_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
pytestmark = pytest.mark.slow


@pytest.fixture
def server(store: Store, recordings: Path, live: StaticLive) -> Iterator[str]:
    with wave.open(str(recordings / "2026" / "c1.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 8000 * 60)
    settings = WebSettings(
        recordings_dir=recordings, wallboard_interval_seconds=0.1, wallboard_stream_max_seconds=20.0
    )
    app = create_app(store, settings, live=live)
    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def _shot(page: Page, name: str, backend: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"web-{name}-{backend}.png"), full_page=True)


def test_review_journey_and_live_wallboard(
    server: str, browser: Browser, store: Store, live: StaticLive
) -> None:
    backend = store.backend
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(server + "/flags")
        expect(page).to_have_url(server + "/login?next=%2Fflags")
        page.fill("input[name=username]", "qa1")
        page.fill("input[name=password]", PASSWORD)
        _shot(page, "login", backend)
        page.click("button[type=submit]")
        expect(page).to_have_url(server + "/flags")
        expect(page.locator("#total")).to_have_text("2")
        expect(page.locator("table.queue tbody tr")).to_have_count(2)
        expect(page.get_by_text(HOSTILE)).to_be_visible()  # shown as text, never run
        _shot(page, "queue", backend)

        page.click('a.call-link[href="/calls/c1"]')
        expect(page.locator("svg.timeline")).to_be_visible()
        expect(page.locator("tr.finding")).to_have_count(2)
        expect(page.locator("svg.timeline circle.tl-finding")).to_have_count(4)
        page.wait_for_function("document.getElementById('player').readyState >= 1")
        page.locator('button.jump[data-seek="25.0"]').click()
        page.wait_for_function("document.getElementById('player').currentTime >= 23")
        _shot(page, "call", backend)

        page.click("#claim")
        page.check('input[name=disposition][value="coaching_needed"]')
        page.check('input[name=check_greeting][value="yes"]')
        page.check('input[name=check_no_dead_air][value="no"]')
        page.fill("textarea[name=notes]", "Twelve seconds of silence at 0:40.")
        _shot(page, "review-form", backend)
        page.click("#submit-review")
        expect(page.locator("#flag-status")).to_have_text("closed")
        expect(page.locator(".review-closed .immutable")).to_have_text(
            "This review is closed and cannot be edited."
        )
        expect(page.locator("#submit-review")).to_have_count(0)
        expect(page.locator(".review-closed")).to_contain_text("Coaching needed")  # issue 19
        _shot(page, "review-closed", backend)
        stored = store.call("c1")
        assert stored is not None and stored.reviews[-1].state == "closed"

        page.goto(server + "/wallboard")
        tile = page.locator('.tile[data-key="service_level"]')
        expect(tile.locator(".value")).to_have_text("85%")
        expect(page.locator("#live-state")).to_contain_text("live")
        url_before = page.url
        live.update(service_level=0.55, waiting_now=7)
        expect(tile.locator(".value")).to_have_text("55%")
        expect(tile).to_have_class("tile status-red")
        expect(page.locator('.tile[data-key="waiting_now"] .value')).to_have_text("7")
        assert page.url == url_before
        _shot(page, "wallboard", backend)
        assert dialogs == []
        assert errors == []
    finally:
        ctx.close()


def test_long_unbroken_note_does_not_widen_the_page(
    server: str, browser: Browser, store: Store
) -> None:
    """Issue 14, point 6: a 5,000-character note without a space wraps inside the page."""
    ctx = browser.new_context(viewport={"width": 1024, "height": 800})
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    note = "x" * 5_000
    try:
        page.goto(server + "/login")
        page.fill("input[name=username]", "qa1")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(server + "/calls/c1")
        page.click("#claim")
        page.check('input[name=disposition][value="not_a_breach"]')
        assert page.get_attribute("textarea[name=notes]", "maxlength") == "10000"
        page.fill("textarea[name=notes]", note)
        page.click("#submit-review")  # a same-origin form post passes the Origin check
        expect(page.locator("#flag-status")).to_have_text("closed")
        expect(page.locator(".review-closed .notes")).to_have_count(1)
        widths = page.evaluate(
            """() => ({
                doc: document.documentElement.scrollWidth,
                view: window.innerWidth,
                notes: document.querySelector('.review-closed .notes')
                    .getBoundingClientRect().right,
            })"""
        )
        _shot(page, "long-note", store.backend)
        assert widths["doc"] <= widths["view"], widths
        assert widths["notes"] <= widths["view"], widths
        assert store.call("c1").reviews[-1].notes == note  # stored whole, not cut
    finally:
        ctx.close()
