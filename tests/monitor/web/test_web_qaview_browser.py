"""Issue 19, items 10 and 11, in Debian's Chromium (Playwright) against uvicorn on 127.0.0.1.

Item 10, the call page: a queue call from the simulator, answered 10 s after it arrived, with
a real recording composed from speech prompts (a known 12 s silence and a 5 s greeting),
analysed by the AudioJoiner: values with units, times in the site's zone, "jump to" in
recording time and the player landing there, the hang-up cause in words, no player for a
missing file. Item 11: the closed-flag list's disposition and score, the promises page (all
tabs, agent, reason, kind, kept by) and the CSV download. Screenshots go to
tests/artifacts/web-qaview-*-{sqlite,postgresql}.png (git-ignored)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from browser_testkit import CHROMIUM_ARGS, serve
from callrecord_factory import T0, record
from playwright.sync_api import Browser, Page, expect, sync_playwright
from web_testkit import PASSWORD

from collectors.audio.compose import compose
from monitor.audio_join import AudioJoiner, AudioJoinSettings
from monitor.pipeline import Pipeline
from monitor.promises import PromiseEngine
from monitor.record import Direction, Outcome
from monitor.rules import RuleSet, Site, load_rules
from monitor.simulator import AudioStyle, scripted
from monitor.simulator.recordings import RecordingJob, build_spec, write_recording
from monitor.sinks import StoreSink
from monitor.store import Store
from monitor.tracker import Tracker, TrackerSettings
from monitor.web import WebSettings, create_app
from monitor.web import format as fmt

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
RULES = Path(__file__).resolve().parents[3] / "rules"
ZONE = "Europe/London"
DEAD, GREET, RINGS = "no-dead-air-over-10s", "greet-within-3s", "answer-within-three-rings"
pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class SimCall:
    call_id: str
    answer_offset: float  # seconds from the call's arrival to the answer (recording time 0)
    silence: tuple[float, float]  # the composed 12 s silence, in recording time


def _silence(job: RecordingJob) -> tuple[float, float]:
    truth = compose(build_spec(job)).truth
    spans = sorted(s for party in truth.speech.values() for s in party)
    end = spans[0][1]
    for a, b in spans[1:]:
        if a - end >= 10:
            return end, a
        end = max(end, b)
    raise AssertionError("the composed call has no 12 s silence")


def _simulate(store: Store, root: Path, rules: RuleSet) -> SimCall:
    """One queue call through the real pipeline and the audio join into ``store``."""
    style = AudioStyle(greeting=5.0, dead_air=12.0, dead_air_after=0.4)
    engine = scripted.queue_answered_with_hold(
        ivr=1.0, ring=9.0, talk=70, hold=0, recordings_dir=root, audio=style
    )
    events = engine.run_all()
    (job,) = engine.take_recording_jobs()
    write_recording(job)
    sink = StoreSink(store)

    async def run() -> None:
        with ThreadPoolExecutor(1) as pool:
            join = AudioJoinSettings(root, settle_seconds=0, poll_seconds=0, max_wait_seconds=0)
            joiner = AudioJoiner(join, rules, Site("gb"), [sink], pool)
            pipeline = Pipeline(
                Tracker(TrackerSettings(pbx="sim", cadence_seconds=3.0)),
                rules,
                site=Site("gb"),
                sinks=[sink, joiner],
            )
            for at, msg in events:
                pipeline.feed_message(msg, received_at=at)
            pipeline.finish()
            await joiner.drain()

    with ThreadPoolExecutor(1) as thread:  # Playwright's sync API owns this thread's loop
        thread.submit(asyncio.run, run()).result(timeout=120)
    call_id = engine.truth[0].linkedid
    stored = store.call(call_id)
    assert stored is not None and stored.record.audio is not None
    return SimCall(call_id, job.answer - stored.record.started_at, _silence(job))


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(RULES)


@pytest.fixture
def server(store: Store, recordings: Path, rules: RuleSet) -> Iterator[str]:
    settings = WebSettings(recordings_dir=recordings, timezone=ZONE)
    app: Any = create_app(store, settings, promises=PromiseEngine(store.engine))
    app.state.report_rules = lambda: rules  # as the service does: the findings' units
    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _shot(page: Page, name: str, backend: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"web-qaview-{name}-{backend}.png"), full_page=True)


def _page(browser: Browser, server: str, user: str) -> tuple[Any, Page, list[str]]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("header .who")).to_contain_text(user)
    return ctx, page, errors


def test_call_page_units_zone_labels_and_jump_in_recording_time(
    server: str, browser: Browser, store: Store, recordings: Path, rules: RuleSet
) -> None:
    sim = _simulate(store, recordings, rules)
    assert 9.5 <= sim.answer_offset <= 10.5  # IVR 1 s + 9 s ringing: recording starts 10 s in
    stored = store.call(sim.call_id)
    assert stored is not None
    rec = stored.record
    ctx, page, errors = _page(browser, server, "qa1")
    try:
        page.goto(f"{server}/calls/{sim.call_id}")
        # times carry the site's zone (1 January: GMT)
        started = fmt.zoned(rec.started_at, ZoneInfo(ZONE))
        assert started.endswith(" GMT")
        expect(page.locator("#started")).to_have_text(started)
        # measured and limit values rounded, with units
        dead = page.locator(f'tr.finding[data-rule="{DEAD}"]')
        expect(dead.locator("td.measured")).to_have_text(re.compile(r"^1[12](\.\d)? s$"))
        expect(dead.locator("td.limit")).to_have_text("10 s")
        greet = page.locator(f'tr.finding[data-rule="{GREET}"]')
        expect(greet.locator("td.measured")).to_have_text(re.compile(r"^[45](\.\d)? s$"))
        expect(greet.locator("td.limit")).to_have_text("3 s")
        rings = page.locator(f'tr.finding[data-rule="{RINGS}"]')
        expect(rings.locator("td.measured")).to_have_text("4 rings")
        expect(rings.locator("td.limit")).to_have_text("3 rings")
        for cell in page.locator("tr.finding td.measured, tr.finding td.limit").all_text_contents():
            assert re.fullmatch(r"\d+(\.\d)? (s|rings?)", cell), cell  # never 19.700000047683716
        # the hang-up cause in words, the code kept in the title
        cause = page.locator('tr[data-field="hangup_cause"] td')
        assert rec.hangup_cause is not None
        expect(cause).to_have_text(fmt.hangup_cause(rec.hangup_cause))
        expect(cause).to_have_attribute("title", f"Q.850 cause {rec.hangup_cause}")
        expect(page.locator('tr[data-field="holds"] td')).to_have_text("none")
        expect(page.locator("#recording-note")).to_contain_text("the answer, 0:10 into the call")

        # "jump to" the silence: the button shows recording time, the player lands there
        silence = dead.locator("button.jump", has_text="silence")
        seek = float(silence.get_attribute("data-seek") or "nan")
        assert seek == pytest.approx(sim.silence[0], abs=0.15)  # the composed truth
        expect(silence).to_have_text(f"silence ▶ {fmt.clock(seek)}")
        call_time = next(
            off for label, off in next(f for f in rec.findings if f.rule == DEAD).evidence
            if label == "silence"
        )  # fmt: skip
        assert call_time - seek == pytest.approx(sim.answer_offset, abs=0.01)
        assert fmt.clock(call_time) != fmt.clock(seek)  # the old label was the call's time
        page.wait_for_function("document.getElementById('player').readyState >= 1")
        silence.click()
        page.wait_for_function(
            f"Math.abs(document.getElementById('player').currentTime - {seek - 1}) < 0.3"
        )
        now = page.evaluate("document.getElementById('player').currentTime")
        assert sim.silence[0] - 1.3 <= now <= sim.silence[0]  # 1 s before the silence
        page.evaluate("document.getElementById('player').pause()")
        _shot(page, "call", store.backend)
        assert errors == []
    finally:
        ctx.close()


def test_no_player_for_a_recording_that_is_not_there(
    server: str, browser: Browser, store: Store
) -> None:
    base = store.call("c1")
    assert base is not None
    store.save_call(replace(base.record, call_id="c9", recording="2026/gone.wav"))
    ctx, page, errors = _page(browser, server, "qa1")
    try:
        page.goto(server + "/calls/c1")  # the file exists: a player
        expect(page.locator("audio#player")).to_have_count(1)
        page.goto(server + "/calls/c9")
        expect(page.locator("audio")).to_have_count(0)
        expect(page.locator("#recording-note")).to_contain_text("not in the recordings directory")
        expect(page.locator("button.jump")).to_have_count(0)
        expect(page.locator("tr.finding .moment").first).to_be_visible()
        _shot(page, "call-missing-recording", store.backend)
        assert errors == []
    finally:
        ctx.close()


def test_closed_flags_show_disposition_and_score_and_csv_has_the_review(
    server: str, browser: Browser, store: Store
) -> None:
    store.claim("c1", "qa1")
    store.submit_review(
        "c1", "qa1", "coaching_needed", {"greeting": True, "no_dead_air": False}, ""
    )
    ctx, page, errors = _page(browser, server, "sup1")
    try:
        page.goto(server + "/flags?status=closed")
        row = page.locator("table.queue tbody tr")
        expect(row).to_have_count(1)
        expect(row.locator(".review-result .disp")).to_have_text("Coaching needed")
        expect(row.locator(".review-result .score")).to_have_text("1/2")
        expect(row.locator(".review-result")).to_contain_text("qa1")
        _shot(page, "flags-closed", store.backend)

        with page.expect_download() as info:
            page.click("a.export >> text=Calls CSV")
        text = Path(info.value.path()).read_text(encoding="utf-8")
        rows = {r["call_id"]: r for r in csv.DictReader(io.StringIO(text))}
        c1 = rows["c1"]
        assert (c1["flag_status"], c1["disposition"], c1["reviewer"], c1["score"]) == (
            "closed",
            "coaching_needed",
            "qa1",
            "1",
        )
        assert c1["caller_name"] == "Jane Caller" and c1["ring_seconds"] == "15"
        assert rows["c2"]["flag_status"] == "open" and rows["c3"]["flag_status"] == ""
        assert errors == []
    finally:
        ctx.close()


def _promises(store: Store) -> None:
    """A kept missed-call promise (and the call that kept it), an unreturnable one, and an
    open API promise with a reason and an agent."""
    ledger = PromiseEngine(store.engine)
    missed = record(
        "m1", caller="+441632960001", outcome=Outcome.ABANDONED, answered_at=None,
        agent=None, talk_seconds=None, findings=(),
    )  # fmt: skip
    back = record(
        "cb1", direction=Direction.OUTBOUND, caller="201", dialed="+441632960001",
        started_at=T0 + 600, answered_at=T0 + 610, ended_at=T0 + 700, agent="alice",
        findings=(),
    )  # fmt: skip
    withheld = record(
        "m2", caller=None, caller_withheld=True, outcome=Outcome.ABANDONED, answered_at=None,
        started_at=T0 + 50, findings=(),
    )  # fmt: skip
    for r in (missed, back, withheld):
        store.save_call(r)
        ledger.on_call(r)
    ledger.promise(
        "+441632960002", T0 + 7200, made_at=T0 + 60, actor="test",
        reason="asked for a call back after 5pm", agent="bob",
    )  # fmt: skip


def test_promises_page_tabs_agent_reason_kind_and_kept_by(
    server: str, browser: Browser, store: Store
) -> None:
    _promises(store)
    ctx, page, errors = _page(browser, server, "sup1")
    try:
        page.goto(server + "/promises?view=all")
        tabs = page.locator("nav.tabs a").evaluate_all("els => els.map(e => e.dataset.view)")
        assert tabs == ["open", "overdue", "kept", "broken", "cancelled", "unreturnable", "all"]
        expect(page.locator("table.promises tbody tr")).to_have_count(3)
        kept = page.locator("tr.state-kept")
        expect(kept.locator(".kind")).to_have_text("missed call")
        expect(kept.locator(".kept-by a")).to_have_attribute("href", "/calls/cb1")
        expect(kept.locator(".reason")).to_contain_text("missed call")
        api = page.locator("tr.state-open")
        expect(api.locator(".p-agent")).to_have_text("bob")
        expect(api.locator(".reason")).to_have_text("asked for a call back after 5pm")
        expect(api.locator(".kind")).to_have_text("API")
        expect(page.locator("table.promises")).not_to_contain_text("UTC")  # zone: GMT/BST
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths  # eleven columns fit a 1280 px screen
        _shot(page, "promises-all", store.backend)
        page.click('nav.tabs a[data-view="unreturnable"]')
        expect(page.locator("table.promises tbody tr.state-unreturnable")).to_have_count(1)
        expect(page.locator("nav.tabs a.active")).to_have_text("unreturnable")
        _shot(page, "promises-unreturnable", store.backend)
        page.goto(server + "/promises?view=kept")
        page.click(".kept-by a")
        expect(page).to_have_url(server + "/calls/cb1")
        assert errors == []
    finally:
        ctx.close()
