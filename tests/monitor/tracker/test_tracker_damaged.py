"""Issue 20 item 1: the tracker never raises, whatever order or damage the events come in.

A leg whose Linkedid points at a call that already ended must never leave a pointer to the gone
call (it was a KeyError in ``TrackerBase._call_for``). The fixture is the 4-event reproducer; the
hypothesis test damages real captures (drops, duplicates, swaps, re-linked channels) and checks
that the tracker neither raises nor keeps a dangling pointer.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.ami.parser import AmiMessage, AmiParser
from collectors.ami.translate import Translator
from monitor.pipeline import Pipeline
from monitor.replay import ReplayStats, replay
from monitor.rules import load_rules
from monitor.tracker import Tracker, TrackerSettings

AMI = Path(__file__).parents[2] / "fixtures" / "ami"
RULES = load_rules(Path(__file__).parents[3] / "rules")
CAPTURES = (
    "ispbx-ast22.1-direct-call-answered.events.txt",
    "ispbx-ast22.1-direct-call-unanswered.events.txt",
    "callme-ast13.18-queue-call-moh-answered-hangup.events.txt",
    "nucleocom-freepbx-ast16-queue-call-events-from-comments.txt",
    "ringwatch-leg-joins-closed-call.txt",
)


def _messages(name: str) -> list[AmiMessage]:
    parser = AmiParser()
    msgs = list(parser.feed((AMI / name).read_bytes().replace(b"\n", b"\r\n") + b"\r\n\r\n"))
    return [m for m in msgs if m.fields.get("Event")]


MESSAGES = [m for name in CAPTURES for m in _messages(name)]
IDS = sorted(
    {v for m in MESSAGES for k, v in m.fields.items() if k.endswith(("Linkedid", "Uniqueid"))}
)


def _assert_consistent(tracker: Tracker) -> None:
    for uid, call_id in tracker._leg_call.items():
        assert call_id in tracker.calls, f"leg {uid} points at gone call {call_id}"


def test_a_leg_joining_a_closed_call_does_not_crash_the_replay() -> None:
    stats = ReplayStats()
    records = list(replay([AMI / "ringwatch-leg-joins-closed-call.txt"], TrackerSettings(), stats))
    # the call closed at the caller's hang-up; the late DialBegin and BridgeEnter are absorbed
    assert [r.call_id for r in records] == ["1750000000.1"]
    assert records[0].ended_at == 1750000005.0
    assert stats.messages == 4


def test_a_leg_joining_a_closed_call_leaves_no_dangling_pointer() -> None:
    tracker = Tracker()
    translator = Translator()
    for msg in _messages("ringwatch-leg-joins-closed-call.txt"):
        event = translator.translate(msg)
        assert event is not None
        tracker.feed(event)
        _assert_consistent(tracker)
    assert tracker.calls == {}


_OPS = st.lists(
    st.tuples(
        st.sampled_from(["keep", "drop", "dup", "swap", "relink", "reuid", "late"]),
        st.integers(min_value=0, max_value=len(IDS) - 1),
    ),
    min_size=1,
    max_size=120,
)


def _damage(ops: list[tuple[str, int]], start: int) -> list[AmiMessage]:
    out: list[AmiMessage] = []
    for i, (op, pick) in enumerate(ops):
        msg = MESSAGES[(start + i) % len(MESSAGES)]
        if op == "drop":
            continue
        if op in ("relink", "reuid"):
            key = "Linkedid" if op == "relink" else "Uniqueid"
            fields = dict(msg.fields)
            if key in fields:
                fields[key] = IDS[pick]
            msg = AmiMessage(fields)
        out.append(msg)
        if op == "dup":
            out.append(msg)
        if op == "late":  # events seen before come again, late (after their call ended)
            k = (pick * 7919) % len(out)
            out.extend(out[k : k + 6])
        if op == "swap" and len(out) >= 2:
            out[-1], out[-2] = out[-2], out[-1]
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_OPS, st.integers(min_value=0, max_value=len(MESSAGES) - 1), st.booleans())
def test_the_tracker_never_raises_on_damaged_streams(
    ops: list[tuple[str, int]], start: int, stamped: bool
) -> None:
    tracker = Tracker(TrackerSettings(stale_after_seconds=60.0))
    translator = Translator()
    for n, msg in enumerate(_damage(ops, start)):
        event = translator.translate(msg, None if stamped else 1_750_000_000.0 + n)
        if event is None:
            continue
        tracker.feed(event)
        _assert_consistent(tracker)
        if n % 7 == 0:
            tracker.expire(event.at)
            _assert_consistent(tracker)
    tracker.flush()
    assert tracker.calls == {}
    _assert_consistent(tracker)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_OPS, st.integers(min_value=0, max_value=len(MESSAGES) - 1), st.booleans())
def test_the_pipeline_with_live_checks_never_raises_on_damaged_streams(
    ops: list[tuple[str, int]], start: int, stamped: bool
) -> None:
    pipeline = Pipeline(Tracker(TrackerSettings(stale_after_seconds=60.0)), RULES)
    for n, msg in enumerate(_damage(ops, start)):
        pipeline.feed_message(msg, None if stamped else 1_750_000_000.0 + n)
        if n % 5 == 0:
            pipeline.advance(pipeline.now + 30.0)  # quiet-line ticks fire live deadlines
    pipeline.finish()
    assert pipeline.tracker.calls == {} and pipeline.breaching == {}
