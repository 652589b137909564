"""Call.to_record puts every fact in its own field (it builds the record positionally)."""

from __future__ import annotations

import dataclasses

from monitor.record import CallRecord, Direction, Outcome, Span, Timing
from monitor.tracker.call import Call, Leg
from monitor.tracker.settings import TrackerSettings

T0 = 1_700_000_000.0


def _call() -> Call:
    """A call whose facts all differ from each other, so a value in the wrong field shows."""
    call = Call("c-1", T0, True)
    call.legs = {
        "u1": Leg("u1", "PJSIP/trunk-1", T0, "from-pstn", "100", "Caller"),
        "u2": Leg("u2", "PJSIP/201-2", T0 + 1, "ext", "201", "Alice"),
    }
    call.caller_leg, call.answer_leg = "u1", "u2"
    call.caller_num, call.caller_name = "4155550100", "Caller Name"
    call.dialed, call.context, call.queue = "8005550100", "from-pstn", "sales"
    call.agent = "Agent A"
    call.agents_tried = ["Agent A", "Agent B"]
    call.first_ring_at = T0 + 2.5
    call.queue_joined_at = T0 + 1.25
    call.answered_at = T0 + 7.75
    call.answered_any_at = T0 + 0.5
    call.talk_end_at = T0 + 90.125
    call.ended_at = T0 + 95.0625
    call.voicemail_at = T0 + 3.375
    call.holds = [Span(T0 + 20, T0 + 31), Span(T0 + 40, T0 + 42)]
    call.transfers = 3
    call.hangup_cause = 16
    call.recording = "/rec/c-1.wav"
    call.rna = 4
    call.events = 57
    call.transfer_times = [T0 + 60.0]
    return call


def test_every_fact_lands_in_its_own_field() -> None:
    settings = TrackerSettings(pbx="pbx-7", inbound_contexts=("from-pstn",), cadence_seconds=3.0)
    record = _call().to_record(settings)
    expected = {
        "call_id": "c-1", "pbx": "pbx-7", "direction": Direction.INBOUND,
        "caller": "4155550100", "dialed": "8005550100", "queue": "sales", "agent": "Agent A",
        "started_at": T0, "answered_at": T0 + 7.75, "ended_at": T0 + 95.0625,
        "outcome": Outcome.ANSWERED, "ring_seconds": 7.75, "rings": 3,
        "queue_wait_seconds": 6.5, "talk_seconds": 90.125 - 7.75, "hold_seconds": 13.0,
        "hold_count": 2, "longest_hold_seconds": 11.0, "transfers": 3, "hangup_cause": 16,
        "timing": Timing.EXACT, "findings": (), "caller_name": "Caller Name",
        "caller_withheld": False, "first_ring_at": T0 + 2.5, "queue_joined_at": T0 + 1.25,
        "answered_any_at": T0 + 0.5, "voicemail_at": T0 + 3.375,
        "holds": (Span(T0 + 20, T0 + 31), Span(T0 + 40, T0 + 42)),
        "agent_ring_no_answer": 4, "agents_tried": ("Agent A", "Agent B"),
        "recording": "/rec/c-1.wav", "audio": None, "legs": 2, "events": 57,
        "extra": {"transfer_at": [T0 + 60.0]},
    }  # fmt: skip
    assert {f.name for f in dataclasses.fields(CallRecord)} == set(expected)
    got = {f.name: getattr(record, f.name) for f in dataclasses.fields(CallRecord)}
    assert got == expected


def test_a_live_snapshot_and_a_withheld_approximate_call() -> None:
    call = _call()
    call.withheld, call.exact = True, False
    call.open_holds = {"u2": T0 + 50}
    record = call.to_record(TrackerSettings(pbx="p"), outcome=Outcome.INCOMPLETE, live=True)
    assert (record.caller, record.caller_withheld) == (None, True)
    assert (record.outcome, record.timing) == (Outcome.INCOMPLETE, Timing.APPROXIMATE)
    assert record.holds[-1] == Span(T0 + 50) and record.hold_count == 3
    assert record.extra["state"] == "arriving"
