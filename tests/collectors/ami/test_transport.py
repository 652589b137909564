"""The live AMI collector against the simulator's AMI server on 127.0.0.1: login, resync,
faults (dropped socket, restart, wrong password, garbage, dead link), keepalive when idle."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from collectors.ami.session import md5_key
from collectors.ami.translate import Translator
from collectors.ami.transport import AmiClient, Backoff
from monitor.config import PbxConfig, Secret
from monitor.errors import ConfigError
from monitor.record import CallRecord, Outcome, Timing
from monitor.simulator import ContactCentre, scripted
from monitor.simulator.protocol import Reply, Session
from monitor.simulator.wire import with_timestamp
from monitor.tracker import Tracker

Make = Callable[..., Any]
Harness = Any
SECRET = "s3cret-Do-Not-Log-9f2"  # the harness's secret (conftest.SECRET)


async def wait_until(pred: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or pred}")
        await asyncio.sleep(0.005)


def reference(make_engine: Callable[[], ContactCentre]) -> CallRecord:
    """The record of the same scripted call replayed straight into a tracker (no network)."""
    engine = make_engine()
    tracker, translator = Tracker(), Translator()
    out: list[CallRecord] = []
    for at, msg in engine.run_all():
        event = translator.translate(with_timestamp(msg, at))
        if event is not None:
            out.extend(tracker.feed(event))
    assert len(out) == 1, out
    return out[0]


def hold_call() -> ContactCentre:
    return scripted.queue_answered_with_hold(ring=9.0, talk=60.0, hold_at=20.0, hold=30.0)


def test_md5_key_is_md5_of_challenge_then_secret() -> None:
    # RFC 1321 test vector: md5("abc")
    assert md5_key("a", "bc") == "900150983cd24fb0d6963f7d28e17f72"


def test_missing_secret_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="secret_env or secret_file"):
        AmiClient(PbxConfig(name="main"), consumer=None)  # type: ignore[arg-type]


def test_backoff_is_fast_first_then_capped() -> None:
    """0.5, 1, 2, 5 s, then 15 s for ever (issue 20 item 4); jitter only shortens, by <= 10%."""
    from random import Random

    b, rng = Backoff(), Random(3)
    assert [b.base(n) for n in range(7)] == [0.5, 1.0, 2.0, 5.0, 15.0, 15.0, 15.0]
    for n in range(8):
        ds = [b.delay(n, rng) for _ in range(200)]
        assert all(0.9 * b.base(n) <= d <= b.base(n) for d in ds)
        assert max(ds) - min(ds) > 0.05 * b.base(n)  # jittered, not all in step
    assert sum(b.base(n) for n in range(4)) == 8.5  # a 5 s PBX restart: back within 3.5 s
    custom = Backoff(steps=(0.2, 30.0), cap=10.0)
    assert [custom.base(n) for n in range(3)] == [0.2, 10.0, 10.0]  # never above the cap


@pytest.mark.parametrize("auth", ["plain", "md5"])
async def test_login_resync_and_a_whole_call(make_harness: Make, auth: str) -> None:
    h: Harness = await make_harness(hold_call(), auth=auth)
    await h.up()
    assert h.client.health()["state"] == "up"
    assert h.server.authenticated_clients == 1
    await h.server.advance(600)
    await h.drained()
    expected = reference(hold_call)
    assert [r.to_contract() for r in h.records] == [expected.to_contract()]
    truth = h.engine.truth[0]
    rec = h.records[0]
    assert rec.call_id == truth.linkedid
    assert rec.answered_at == pytest.approx(truth.answer)
    assert rec.ended_at == pytest.approx(truth.end)
    assert rec.hold_seconds == pytest.approx(truth.hold_seconds)
    # every event the server wrote, plus the FullyBooted that answers the login
    assert h.client.stats.events == h.server.events_sent + 1 > 20
    assert h.client.stats.parse_errors == 0


async def test_drop_mid_call_reconnects_fast_and_the_record_is_exact(make_harness: Make) -> None:
    h: Harness = await make_harness(hold_call())
    await h.up()
    await h.server.advance(30)  # answered, on hold now
    await h.drained()
    assert len(h.tracker.calls) == 1 and not h.records
    t0 = time.monotonic()
    assert await h.server.drop_clients() == 1
    await h.up(reconnects=1, timeout=2.0)
    reconnect_seconds = time.monotonic() - t0
    assert reconnect_seconds < 2.0
    assert h.client.health()["reconnects"] == 1
    await h.server.advance(600)
    await h.drained()
    expected = reference(hold_call)
    assert [r.to_contract() for r in h.records] == [expected.to_contract()]
    assert h.records[0].outcome is Outcome.ANSWERED
    assert h.records[0].hold_seconds == pytest.approx(h.engine.truth[0].hold_seconds)


async def test_call_that_ends_during_the_gap_closes_once_as_incomplete(make_harness: Make) -> None:
    h: Harness = await make_harness(hold_call())
    await h.up()
    await h.server.advance(30)
    await h.drained()
    h.server.pause_events()  # the link is down while the call ends: its events are lost
    await h.server.drop_clients()
    await h.server.advance(600)
    await h.server.resume_events(deliver_backlog=False)
    assert h.engine.truth and not h.engine.channels
    await h.up(reconnects=1)
    await h.drained()
    await wait_until(lambda: len(h.records) == 1, what="the resync to close the call")
    (rec,) = h.records
    assert rec.call_id == h.engine.truth[0].linkedid
    assert rec.outcome is Outcome.INCOMPLETE
    assert not h.tracker.calls
    await h.server.advance(60)
    await h.drained()
    assert len(h.records) == 1  # never counted twice


async def test_calls_that_started_during_the_gap_are_created_from_the_snapshot(
    make_harness: Make,
) -> None:
    h: Harness = await make_harness(hold_call(), start=False)
    await h.server.advance(30)  # nobody connected: the call began before ringwatch
    h.start()
    await h.up()
    await h.drained()
    await wait_until(lambda: len(h.tracker.calls) == 1, what="the snapshot to create the call")
    call_id = next(iter(h.tracker.calls))
    assert call_id == h.engine.open_calls[call_id].linkedid
    await h.server.advance(600)
    await h.drained()
    (rec,) = h.records
    assert rec.call_id == h.engine.truth[0].linkedid
    assert rec.started_at == pytest.approx(h.engine.truth[0].start, abs=1.0)
    assert rec.ended_at == pytest.approx(h.engine.truth[0].end)
    # it was answered before ringwatch connected: ringwatch never saw the answer, so the
    # record says so instead of guessing (no rings, no ring time, not "unanswered")
    assert rec.outcome is Outcome.INCOMPLETE
    assert rec.timing is Timing.APPROXIMATE
    assert rec.rings is None


async def test_restart_closes_stale_calls_as_incomplete(make_harness: Make) -> None:
    h: Harness = await make_harness(hold_call())
    await h.up()
    await h.server.advance(30)
    await h.drained()
    await h.server.restart()
    assert h.engine.truth[0].interrupted
    await h.up(reconnects=1)
    await wait_until(lambda: len(h.records) == 1, what="the restart to close the call")
    assert h.records[0].outcome is Outcome.INCOMPLETE
    assert h.records[0].call_id == h.engine.truth[0].linkedid
    assert h.tracker.stats.restarts == 1
    assert not h.tracker.calls


async def test_wrong_password_is_retried_with_backoff_and_never_logged(
    make_harness: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h: Harness = await make_harness(hold_call(), secret="wrong-" + SECRET)
    await wait_until(lambda: h.client.attempts >= 4, what="four failed logins")
    health = h.client.health()
    assert health["state"] == "auth_failed"
    err = health["last_error"]
    assert "'ringwatch'" in err and f"127.0.0.1:{h.server.port}" in err
    assert "Authentication failed" in err and "secret_env" in err
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) >= 4
    backoffs = [d for d in h.delays if d != 20.0]
    assert len(backoffs) >= 3
    for n, d in enumerate(backoffs[:4]):
        assert 0.0 <= d <= min(0.4, 0.05 * 2**n)
    texts = [caplog.text, repr(h.client), repr(h.client.pbx), str(health)]
    texts += [r.getMessage() for r in caplog.records]
    assert not any(SECRET in t for t in texts)
    assert h.client.stats.up is False and h.client.stats.connects == 0


async def test_garbage_and_half_frames_are_counted_not_fatal(make_harness: Make) -> None:
    h: Harness = await make_harness(hold_call())
    await h.up()
    await h.server.advance(5)
    await h.server.send_raw(b"\x00\xffthis is not AMI\r\n\r\nstill not: AMI\r\nnope\r\n\r\n")
    await wait_until(lambda: h.client.stats.parse_errors >= 2, what="bad lines counted")
    await h.server.send_raw(b"Event: Newchannel\r\nChannel: PJSIP/half")  # a half frame, then
    await h.server.drop_clients()  # the socket dies
    await h.up(reconnects=1)
    await h.server.advance(600)
    await h.drained()
    assert [r.to_contract() for r in h.records] == [reference(hold_call).to_contract()]
    assert h.client.stats.parse_errors >= 2


async def test_dead_link_found_by_unanswered_ping(
    make_harness: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    h: Harness = await make_harness(hold_call(), ping_interval=0.05, ping_timeout=0.2)
    await h.up()
    monkeypatch.setattr(Session, "_act_ping", lambda self, msg: Reply([]))
    await wait_until(lambda: h.client.state != "up", what="the ping timeout")
    assert "no answer to Ping" in (h.client.last_error or "")
    monkeypatch.undo()
    await h.up(reconnects=1)


async def test_long_idle_night_stays_connected(make_harness: Make) -> None:
    """Eight simulated hours with no events: Pings every 20 s keep the link; no read timeout."""
    slept: list[float] = []

    async def no_wait(seconds: float) -> None:
        slept.append(seconds)
        await asyncio.sleep(0)

    h: Harness = await make_harness(hold_call(), sleep=no_wait, ping_interval=20.0)
    await h.up()
    await wait_until(lambda: h.client.pings >= 8 * 3600 / 20, timeout=20, what="8 h of pings")
    assert h.client.state == "up"
    assert h.client.stats.reconnects == 0 and h.client.stats.connects == 1
    assert sum(s for s in slept if s == 20.0) >= 8 * 3600
    await h.server.advance(600)  # the call still comes through afterwards
    await h.drained()
    assert len(h.records) == 1 and h.records[0].outcome is Outcome.ANSWERED


async def test_stop_interrupts_backoff_immediately(make_harness: Make) -> None:
    async def forever(seconds: float) -> None:
        await asyncio.sleep(3600)

    h: Harness = await make_harness(hold_call(), secret="wrong", sleep=forever)
    await wait_until(lambda: h.client.state == "auth_failed", what="a failed login")
    t0 = time.monotonic()
    h.stop.set()
    assert h.task is not None
    async with asyncio.timeout(2):
        await h.task
    assert time.monotonic() - t0 < 1.0
    assert h.client.health()["state"] == "stopped"


async def test_full_queue_sheds_in_order_keeps_the_link_and_resyncs(make_harness: Make) -> None:
    """A consumer far slower than the PBX: the reader never waits, unused event types are
    shed first, then overflow; the link stays up (no reconnect), the Ping is answered, and a
    resync follows once the backlog drained. Lag is measured."""
    from monitor.simulator import default_config

    engine = ContactCentre(default_config(), seed=3)
    needed = Translator().event_names - {"Newexten", "VarSet"}  # pretend these are unused
    h: Harness = await make_harness(
        engine, queue_size=8, start=False, ping_interval=0.05, ping_timeout=0.5,
        needed_events=needed,
    )  # fmt: skip
    slow = h.client.consumer
    seen: list[float] = []

    class Slow:
        def on_event(self, received_at: float, msg: Any) -> None:
            seen.append(received_at)
            engine.now += 0.001  # the consumer's clock runs on while it works
            slow.on_event(received_at, msg)

        def on_snapshot(self, snapshot: Any) -> None:
            slow.on_snapshot(snapshot)

    h.client.consumer = Slow()
    h.start()
    await h.up()
    await h.server.advance(3600)
    await wait_until(lambda: h.client.stats.resyncs >= 1, timeout=20, what="a resync")
    await h.drained(timeout=20)
    stats = h.client.stats
    assert stats.shed["unused"] > 0 and stats.shed["overflow"] > 0
    assert len(seen) + stats.shed["unused"] + stats.shed["overflow"] == h.server.events_sent + 1
    assert stats.reconnects == 0 and h.client.state == "up"
    assert stats.queue_peak <= 8 + 2  # bounded (resync lists are never shed)
    assert stats.max_lag > 0.0
    assert h.client.health()["shed"] == stats.shed


def test_repr_and_health_hide_the_secret() -> None:
    pbx = PbxConfig(name="main", secret=Secret(SECRET))
    client = AmiClient(pbx, consumer=None)  # type: ignore[arg-type]
    assert SECRET not in repr(client) and SECRET not in str(client.health())
    assert client.health()["state"] == "stopped"
