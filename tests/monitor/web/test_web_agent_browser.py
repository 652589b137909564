"""Issue 19, items 7 and 9 in Debian's Chromium (Playwright, headless, against uvicorn on
127.0.0.1): QA sees a random sample in the queue; an agent logs in, sees only their own
reviews, acknowledges one and disputes another with a comment; QA sees the dispute in the
queue and on the call page, reviews again; the agent sees the outcome. Screenshots:
tests/artifacts/web-agent-*-{sqlite,postgresql}.png (git-ignored; docs/web.md shows them)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest
from callrecord_factory import record
from playwright.sync_api import Browser, Page, expect
from web_testkit import PASSWORD

from monitor.store import Store
from monitor.store.sampling import week_of


def _browser_module() -> ModuleType:
    """The uvicorn and Chromium fixtures of test_web_browser.py (one copy of them)."""
    path = Path(__file__).with_name("test_web_browser.py")
    spec = importlib.util.spec_from_file_location("_web_browser_fixtures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_wb = _browser_module()
server = _wb.server
browser = _wb.browser
ARTIFACTS = _wb.ARTIFACTS
pytestmark = pytest.mark.slow


def _shot(page: Page, name: str, backend: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"web-agent-{name}-{backend}.png"), full_page=True)


def _login(page: Page, server: str, user: str) -> None:
    page.goto(server + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_agent_acknowledges_disputes_and_sees_the_outcome(
    server: str, browser: Browser, store: Store
) -> None:
    backend = store.backend
    # alice's calls: c1 (flagged), c4 (flagged); bob's c2; c3 alice's unflagged call
    store.save_call(record("c4", started_at=record().started_at + 300))
    end = week_of(record().started_at, ZoneInfo("UTC"))[2]
    store.save_call(record("next-week", agent="dan", started_at=end + 86400, findings=()))
    assert store.sample_calls(1, "UTC", 3600.0).picked == 1  # c3, alice's only candidate
    reviews = (("c1", "coaching_needed"), ("c2", "confirmed_breach"), ("c4", "coaching_needed"))
    for cid, disp in reviews:
        store.claim(cid, "qa1")
        store.submit_review(cid, "qa1", disp, {"greeting": False}, f"notes on {cid}")
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        # QA: the random sample is in the queue, marked
        _login(page, server, "qa1")
        expect(page).to_have_url(server + "/flags")
        sample_row = page.locator("table.queue tr", has=page.locator("a[href='/calls/c3']"))
        expect(sample_row.locator(".badge.sample")).to_have_text("sample")
        _shot(page, "queue-sample", backend)
        page.click("button:has-text('Log out')")

        # the agent: only alice's two reviews; bob's is not there
        _login(page, server, "agent1")
        expect(page).to_have_url(server + "/my/reviews")
        expect(page.locator("tr.my-review")).to_have_count(2)
        expect(page.locator("#agent-name")).to_have_text("alice")
        expect(page.locator("header nav a")).to_have_count(1)  # My reviews, nothing else
        _shot(page, "my-reviews", backend)
        c1 = next(r for r in store.agent_reviews("alice") if r.review.call_id == "c1").review.id
        c4 = next(r for r in store.agent_reviews("alice") if r.review.call_id == "c4").review.id
        bob = store.agent_reviews("bob")[0].review.id
        resp = page.goto(f"{server}/my/reviews/{bob}")
        assert resp is not None and resp.status == 404
        resp = page.goto(f"{server}/calls/c1")
        assert resp is not None and resp.status == 403
        errors.clear()  # the two refusals above log "Failed to load resource"; nothing else may

        page.goto(f"{server}/my/reviews/{c4}")
        page.click("#acknowledge")
        expect(page.locator("#answer-state")).to_contain_text("acknowledged")

        page.goto(f"{server}/my/reviews/{c1}")
        expect(page.locator("#disposition")).to_have_text("coaching needed")
        page.fill("#comment", "I greeted the caller by name at 0:03; please listen again.")
        _shot(page, "dispute-form", backend)
        page.click("#dispute")
        expect(page.locator("#answer-state")).to_contain_text("disputed: with QA")
        expect(page.locator("#outcome-pending")).to_be_visible()
        page.click("button:has-text('Log out')")

        # QA: the dispute is back in the queue with its comment; review again
        _login(page, server, "qa1")
        row = page.locator("table.queue tr", has=page.locator("a[href='/calls/c1']"))
        expect(row.locator(".badge.disputed")).to_have_text("disputed")
        expect(row.locator(".dispute-comment")).to_contain_text("greeted the caller by name")
        _shot(page, "queue-dispute", backend)
        page.click("a.call-link[href='/calls/c1']")
        expect(page.locator("#agent-answers")).to_contain_text("disputed review #")
        page.click("#claim")
        page.check('input[name=disposition][value="not_a_breach"]')
        page.fill("textarea[name=notes]", "Confirmed: the greeting was there. Sorry.")
        _shot(page, "qa-call-dispute", backend)
        page.click("#submit-review")
        expect(page.locator("#flag-status")).to_have_text("closed")
        page.click("button:has-text('Log out')")

        # the agent sees the outcome
        _login(page, server, "agent1")
        page.goto(f"{server}/my/reviews/{c1}")
        expect(page.locator("#outcome")).to_contain_text("not a breach")
        expect(page.locator("#outcome")).to_contain_text("changed from coaching needed")
        _shot(page, "outcome", backend)
        page.goto(server + "/my/reviews")
        expect(page.locator("tr.my-review")).to_have_count(3)  # the new review to answer
        assert errors == []
    finally:
        ctx.close()
    actions = [e.action for e in store.audit_entries()]
    assert "review_acknowledge" in actions and "review_dispute" in actions
