"""The tracker's closed-call memory is bounded (issue 20 item 8): by event time and by count,
and a late event of a call it still remembers is absorbed, not reported again."""

from __future__ import annotations

import tracemalloc

from monitor import events as ev
from monitor.events import ChannelRef, ChannelState
from monitor.tracker import Tracker, TrackerSettings

T0 = 1_700_000_000.0


def _caller(n: int) -> ChannelRef:
    uid = f"{int(T0) + n}.{n}"
    return ChannelRef(
        f"PJSIP/trunk-{n:08x}", uid, uid, ChannelState.RING, "5551234567", "Caller", None, None,
        "from-pstn", "8005550100",
    )  # fmt: skip


def _calls(tracker: Tracker, first: int, count: int, every: float) -> int:
    """``count`` one-leg calls, one every ``every`` seconds of event time; records out."""
    done = 0
    for n in range(first, first + count):
        c = _caller(n)
        at = T0 + n * every
        tracker.feed(ev.ChannelCreated(at, c))
        done += len(tracker.feed(ev.ChannelHungUp(at + 1, c, 16, "")))
    return done


def test_closed_call_memory_is_bounded_by_count() -> None:
    settings = TrackerSettings(closed_memory_seconds=1e9, closed_memory_calls=1000)
    tracker = Tracker(settings)
    assert _calls(tracker, 0, 5000, 0.01) == 5000
    assert 875 <= tracker.closed_remembered <= 1000
    assert tracker.was_closed(_caller(4999).linkedid)
    assert not tracker.was_closed(_caller(0).linkedid)


def test_closed_call_memory_is_bounded_by_event_time() -> None:
    tracker = Tracker(TrackerSettings(closed_memory_seconds=600.0, closed_memory_calls=10**6))
    _calls(tracker, 0, 3000, 1.0)  # one call a second for 50 minutes
    # ten minutes of calls, give or take one generation (600 / 8 s)
    assert 600 <= tracker.closed_remembered <= 600 + 600 // 8 + 2
    assert tracker.was_closed(_caller(2999 - 590).linkedid)
    assert not tracker.was_closed(_caller(2999 - 700).linkedid)


def test_a_late_event_within_the_memory_is_absorbed_not_reported_again() -> None:
    tracker = Tracker(TrackerSettings(closed_memory_seconds=600.0, closed_memory_calls=100))
    _calls(tracker, 0, 50, 1.0)
    late = _caller(10)
    assert tracker.feed(ev.ChannelHungUp(T0 + 60, late, 16, "")) == []
    assert late.linkedid not in tracker.calls and tracker.stats.unmatched == 1


def test_the_default_memory_stays_small_at_a_busy_centres_rate() -> None:
    """80 calls a second (2,000 AMI events/s) for 10 minutes of event time: the ids the
    tracker keeps stay under the default count bound, well under the old 50,000 (7.4 MiB)."""
    tracker = Tracker()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        _calls(tracker, 0, 48_000, 1 / 80)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert tracker.calls == {}
    assert grown < 3 * 2**20, f"{grown / 2**20:.1f} MiB kept after 48,000 closed calls"
    assert tracker.closed_remembered <= TrackerSettings().closed_memory_calls
