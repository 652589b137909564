"""Simulator conformance: the same call flows on monitor/simulator (scripted, same timings) and
on the lab's Asterisk 22.10.1, compared event by event (the event names and the headers the
translator reads) and record by record. What still differs, and why: docs/simulator.md
("Differences from a real Asterisk 22.10.1")."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from collectors.ami.parser import AmiMessage
from monitor.pipeline import Pipeline
from monitor.record import CallRecord
from monitor.simulator import ContactCentre, scripted
from monitor.simulator.wire import with_timestamp
from monitor.tracker import Tracker
from tests.lab.conftest import SETTINGS, LabRun
from tests.lab.truth import _linked

_SNAP = ("Channel", "Uniqueid", "Linkedid", "ChannelState", "CallerIDNum", "CallerIDName",
         "ConnectedLineNum", "ConnectedLineName", "Context", "Exten")  # fmt: skip
_DEST = tuple("Dest" + k for k in _SNAP)
_MEMBER = (*_DEST, "Queue", "Interface", "MemberName")
# the headers collectors/ami/translate reads, per event
READS: dict[str, tuple[str, ...]] = {
    "Newchannel": _SNAP,
    "Newstate": _SNAP,
    "NewCallerid": (*_SNAP, "CID-CallingPres"),
    "DialBegin": (*_SNAP, *_DEST, "DialString"),
    "DialState": (*_SNAP, *_DEST, "DialStatus"),
    "DialEnd": (*_SNAP, *_DEST, "DialStatus"),
    "Hangup": (*_SNAP, "Cause", "Cause-txt"),
    "HangupRequest": (*_SNAP, "Cause"),
    "SoftHangupRequest": (*_SNAP, "Cause"),
    "BridgeEnter": (*_SNAP, "BridgeUniqueid", "BridgeNumChannels"),
    "BridgeLeave": (*_SNAP, "BridgeUniqueid", "BridgeNumChannels"),
    "MusicOnHoldStart": (*_SNAP, "Class"),
    "MusicOnHoldStop": _SNAP,
    "QueueCallerJoin": (*_SNAP, "Queue", "Position", "Count"),
    "QueueCallerLeave": (*_SNAP, "Queue", "Position", "Count"),
    "QueueCallerAbandon": (*_SNAP, "Queue", "Position", "OriginalPosition", "HoldTime"),
    "AgentCalled": (*_SNAP, *_MEMBER),
    "AgentConnect": (*_SNAP, *_MEMBER, "HoldTime", "RingTime"),
    "AgentComplete": (*_SNAP, *_MEMBER, "HoldTime", "TalkTime", "Reason"),
    "AgentRingNoAnswer": (*_SNAP, *_MEMBER, "RingTime"),
}
# headers one side sends and the other not, known and explained in docs/simulator.md
KNOWN: dict[str, set[str]] = {
    # 22.10.1 sends Cause on a BYE's HangupRequest; the simulator follows the 22.1 capture
    "HangupRequest": {"Cause"},
    # 22.10.1's AgentComplete when a ringall member hangs up carries no channel block
    "AgentComplete": {*_SNAP, *_DEST},
}

PAIRS: dict[str, Callable[[], ContactCentre]] = {
    "queue_ringall": lambda: scripted.queue_answered_with_hold(
        ivr=0.0, ring=3, talk=20, hold=0, agent_hangs_up=True
    ),
    "queue_linear_rona": lambda: scripted.queue_rona_then_answer(
        ring_timeout=4, retry=1, ring=2, talk=10
    ),
    "abandon_long": lambda: scripted.queue_abandoned(patience=25, ivr=0.0),
    "direct_pjsip_answered": lambda: scripted.direct_answered(ring=3, talk=10),
    "caller_cancel_sip": lambda: scripted.direct_unanswered(ring=4),
}
# the simulator models call set-up and retries a little slower than the lab's loopback
SIM_TOLERANCE = 0.7


def _records(msgs: list[AmiMessage]) -> list[CallRecord]:
    pipe = Pipeline(Tracker(SETTINGS))
    out: list[CallRecord] = []
    for m in msgs:
        out.extend(pipe.feed_message(m))
    return out + pipe.finish()


def _lab_call(run: LabRun, name: str) -> tuple[CallRecord, list[AmiMessage]]:
    sc = run.scenarios[name]
    (record,) = run.result.by_caller(sc.caller)
    msgs = [m for m in run.messages if _linked(m, record.call_id)]
    return record, msgs


def _headers(msgs: list[AmiMessage]) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {}
    for m in msgs:
        name = m.get("Event") or ""
        if name in READS:
            seen.setdefault(name, set()).update(k for k, _ in m.items if k in READS[name])
    return seen


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_simulator_speaks_like_asterisk(lab_run: LabRun, name: str) -> None:
    lab_record, lab_msgs = _lab_call(lab_run, name)
    sim_msgs = [with_timestamp(m, t) for t, m in PAIRS[name]().run_all()]
    lab_h, sim_h = _headers(lab_msgs), _headers(sim_msgs)
    for event in sorted(set(lab_h) & set(sim_h)):
        known = KNOWN.get(event, set())
        assert lab_h[event] - sim_h[event] <= known, (
            event,
            "missing in the simulator",
            lab_h[event] - sim_h[event],
        )
        assert sim_h[event] - lab_h[event] <= known, (
            event,
            "only in the simulator",
            sim_h[event] - lab_h[event],
        )
    # the values the translator turns into facts: statuses, causes, units
    for header in ("DialStatus", "Cause"):
        lab_v = {
            m.get(header)
            for m in lab_msgs
            if m.get("Event") in ("DialEnd", "Hangup") and m.get(header)
        }
        sim_v = {
            m.get(header)
            for m in sim_msgs
            if m.get("Event") in ("DialEnd", "Hangup") and m.get(header)
        }
        # a Local member the queue stops ringing hangs up with Cause 0 in both; the lab's
        # Local caller/phone pair adds nothing else
        assert sim_v <= lab_v | {"0"}, (header, sim_v, lab_v)
    lab_rna = [
        int(m.get("RingTime") or 0) for m in lab_msgs if m.get("Event") == "AgentRingNoAnswer"
    ]
    sim_rna = [
        int(m.get("RingTime") or 0) for m in sim_msgs if m.get("Event") == "AgentRingNoAnswer"
    ]
    assert sim_rna == lab_rna  # milliseconds in both
    # record by record
    (sim_record,) = _records(sim_msgs)
    for key in (
        "outcome",
        "agent_ring_no_answer",
        "hangup_cause",
        "hold_count",
        "transfers",
        "direction",
    ):
        assert getattr(sim_record, key) == getattr(lab_record, key), key
    for key in ("ring_seconds", "queue_wait_seconds", "talk_seconds"):
        lab_v, sim_v = getattr(lab_record, key), getattr(sim_record, key)
        assert (lab_v is None) == (sim_v is None), key
        if lab_v is not None:
            assert abs(lab_v - sim_v) <= SIM_TOLERANCE + (
                1.0 if name == "queue_linear_rona" else 0.0
            ), (key, lab_v, sim_v)
