"""Issue 19 items 6, 7 (calibration) and 8 in Debian's Chromium (headless, Playwright) against
uvicorn on 127.0.0.1: the checklist prefilled from the measurements with its evidence, an
override with its reason, who holds a claim (call page and queue), an admin reassigning on
the page, a blind calibration score beside the review and the calibration view.
Screenshots: tests/artifacts/web-review-*-{sqlite,postgresql}.png (git-ignored)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser_testkit import chromium, serve, shot
from playwright.sync_api import Browser, BrowserContext, Page, expect
from web_testkit import PASSWORD

from monitor.rules import Site
from monitor.store import Store
from monitor.web import WebSettings, create_app
from monitor.web.prefill import _seed_rules, prefill
from monitor.web.settings import DEFAULT_CHECKLIST

pytestmark = pytest.mark.slow
SINCE = r"since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"


@pytest.fixture
def server(store: Store) -> Iterator[str]:
    with serve(create_app(store, WebSettings())) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for ctx in made:
        ctx.close()


def _login(contexts: list[BrowserContext], browser: Browser, base: str, user: str) -> Page:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    contexts.append(ctx)
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    page.goto(base + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("header .who")).to_contain_text(user)
    return page


def test_prefilled_checklist_override_and_claim_holder(
    server: str,
    browser: Browser,
    contexts: list[BrowserContext],
    store: Store,
) -> None:
    backend = store.backend
    qa1 = _login(contexts, browser, server, "qa1")
    qa1.goto(server + "/calls/c1")
    qa1.click("#claim")
    dead = qa1.locator('tr.item[data-key="no_dead_air"]')
    expect(dead.locator('input[value="no"]')).to_be_checked()
    expect(dead.locator("ul.evidence")).to_contain_text(
        "No dead air over 10 seconds outside hold: 12 s, limit 10 s — breached"
    )
    rings = qa1.locator('tr.item[data-key="answered_promptly"]')
    expect(rings.locator('input[value="no"]')).to_be_checked()
    expect(rings.locator("ul.evidence")).to_contain_text("5 rings, limit 3 rings — breached")
    hold = qa1.locator('tr.item[data-key="checked_back_on_hold"]')
    expect(hold.locator('input[value="yes"]')).to_be_checked()
    expect(qa1.locator('tr.item[data-key="greeting"] input[value="na"]')).to_be_checked()
    reason = dead.locator('input[name="reason_no_dead_air"]')
    expect(reason).to_be_hidden()  # confirmed answers need no reason
    expect(qa1.locator("#claim-holder")).to_contain_text("Claimed by qa1")
    shot(qa1, "review-prefilled", backend)

    dead.locator('input[value="yes"]').check()  # override: the reason is asked for
    expect(reason).to_be_visible()
    assert reason.evaluate("el => el.required") is True
    dead.locator('input[value="no"]').check()
    expect(reason).to_be_hidden()
    dead.locator('input[value="yes"]').check()
    shot(qa1, "review-override", backend, "#review")

    # item 8: another reviewer sees who holds the claim, on the call and in the queue
    qa2 = _login(contexts, browser, server, "qa2")
    qa2.goto(server + "/calls/c1")
    expect(qa2.locator("#claim-holder")).to_have_text(re.compile(rf"Claimed by qa1 {SINCE}\."))
    expect(qa2.locator("#claim")).to_have_count(0)
    shot(qa2, "review-claimed-by", backend, "#review")
    qa2.goto(server + "/flags?status=claimed")
    expect(qa2.locator("table.queue .claimed-by")).to_have_text(re.compile(rf"by qa1 {SINCE}"))
    shot(qa2, "review-queue-claimed", backend, "table.queue")

    # an admin hands the claim over on the page (audited); qa2 then finishes the review
    admin = _login(contexts, browser, server, "admin1")
    admin.goto(server + "/calls/c1")
    admin.select_option("select[name=to]", "qa2")
    admin.click("#assign")
    expect(admin.locator("#claim-holder")).to_have_text(re.compile(rf"Claimed by qa2 {SINCE}\."))
    shot(admin, "review-reassigned", backend)
    entry = next(e for e in store.audit_entries("c1") if e.action == "reassign")
    assert entry.actor == "admin1" and entry.detail == {"from": "qa1", "to": "qa2"}

    qa2.goto(server + "/calls/c1")
    dead2 = qa2.locator('tr.item[data-key="no_dead_air"]')
    expect(dead2.locator('input[value="no"]')).to_be_checked()  # the draft kept its prefill
    dead2.locator('input[value="yes"]').check()
    qa2.fill('input[name="reason_no_dead_air"]', "caller was reading out a card number")
    qa2.check('input[name=disposition][value="not_a_breach"]')
    qa2.click("#submit-review")
    expect(qa2.locator("#flag-status")).to_have_text("closed")
    done = qa2.locator('.review-closed li[data-key="no_dead_air"]')
    expect(done).to_contain_text("(measured: no)")
    expect(done).to_contain_text("overridden: caller was reading out a card number")
    shot(qa2, "review-closed-override", backend, ".review-closed")
    review = store.call("c1").reviews[-1]  # type: ignore[union-attr]
    assert review.reviewer == "qa2" and review.checklist["no_dead_air"] is True
    assert review.answers["no_dead_air"]["prefill"] is False  # type: ignore[index]


def test_blind_calibration_and_the_calibration_view(
    server: str,
    browser: Browser,
    contexts: list[BrowserContext],
    store: Store,
) -> None:
    backend = store.backend
    stored = store.call("c1")
    assert stored is not None
    pre = prefill(stored.record, DEFAULT_CHECKLIST, _seed_rules(), Site())
    store.claim("c1", "qa1", pre)
    store.submit_review("c1", "qa1", "coaching_needed", {"greeting": True}, "long silence")

    qa2 = _login(contexts, browser, server, "qa2")
    qa2.goto(server + "/calls/c1")
    qa2.click("#calibrate")
    expect(qa2.locator("#calibrating")).to_be_visible()
    expect(qa2.locator(".review-closed .blind")).to_have_text(
        "Hidden until you submit your calibration score (scored blind)."
    )
    expect(qa2.locator(".review-closed .badge.disp")).to_have_count(0)
    shot(qa2, "review-calibration-blind", backend, "#review")
    qa2.check('input[name=disposition][value="not_a_breach"]')
    qa2.check('input[name=check_greeting][value="no"]')
    qa2.check('input[name=check_no_dead_air][value="yes"]')
    qa2.fill('input[name="reason_no_dead_air"]', "a pause the caller asked for")
    qa2.click("#submit-review")
    compare = qa2.locator(".calibration-compare")
    expect(compare).to_be_visible()
    expect(compare.locator(".difference")).to_have_text("+0 points")  # 2/4 and 2/4
    expect(compare.locator(".disagree-count")).to_have_text("2")
    expect(compare.locator("tr.disagree")).to_have_count(2)
    expect(compare.locator('tr.disagree[data-key="no_dead_air"]')).to_contain_text("no")
    expect(compare).to_contain_text("dispositions differ")
    shot(qa2, "review-calibration-compare", backend, ".calibration-compare")
    assert store.call("c1").flag.status == "closed"  # type: ignore[union-attr]

    sup = _login(contexts, browser, server, "sup1")
    sup.click("header nav >> text=Calibration")
    expect(sup.locator("#cal-calls")).to_have_text("1")
    row = sup.locator("table.calibration-list tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".disagreements")).to_contain_text("Greeted with own name")
    expect(row.locator(".var")).to_have_text("0.0")
    shot(sup, "review-calibration-view", backend, "main")


def test_admin_releases_a_claim_on_the_page(
    server: str, browser: Browser, contexts: list[BrowserContext], store: Store
) -> None:
    store.claim("c2", "qa1")
    admin = _login(contexts, browser, server, "admin1")
    admin.goto(server + "/calls/c2")
    expect(admin.locator("#claim-holder")).to_have_text(re.compile(rf"Claimed by qa1 {SINCE}\."))
    admin.fill(".release input[name=reason]", "qa1 is off sick")
    admin.click("#release")
    expect(admin.locator("#flag-status")).to_have_text("open")
    expect(admin.locator("#claim-holder")).to_have_count(0)
    shot(admin, "review-released", store.backend, "#review")
    entry = next(e for e in store.audit_entries("c2") if e.action == "release")
    assert entry.actor == "admin1" and entry.detail == {"from": "qa1", "reason": "qa1 is off sick"}
