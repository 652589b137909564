"""Calls captured from the lab's real Asterisk 22.10.1 (tests/lab, docs/testing.md), replayed
end to end. Each one showed a defect the simulator could not (issue 15); the expectations
come from the transcript's own events, named in each test."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.record import CallRecord, Outcome
from monitor.replay import replay
from monitor.tracker import TrackerSettings

AMI = Path(__file__).parents[2] / "fixtures" / "ami"
LAB = TrackerSettings(pbx="lab", inbound_contexts=("from-pstn", "callers"))


def run(name: str) -> CallRecord:
    records = list(replay([AMI / name], LAB))
    assert len(records) == 1, records
    return records[0]


def test_direct_dial_of_a_local_channel_answered() -> None:
    """``Dial(Local/104@agents,20)`` (FreePBX ring groups, follow-me), 104 answers after 3 s
    and talks 30 s. It was ``unanswered`` with no talk time: a Local channel was never a
    person. The caller's first channel at 1796316311.803944; DialEnd ANSWER of
    Local/104@agents-00000007;1 at 1796316314.806193; that channel hangs up at
    1796316344.828."""
    rec = run("lab-ast22.10.1-direct-dial-local-answered.events.txt")
    assert rec.outcome is Outcome.ANSWERED
    assert rec.caller == "4155550107"
    assert rec.ring_seconds == pytest.approx(3.0, abs=0.05)
    assert rec.talk_seconds == pytest.approx(30.0, abs=0.05)


def test_sip_caller_cancel_while_ringing_is_unanswered() -> None:
    """A SIP caller sends CANCEL while PJSIP/agent-c rings: Asterisk 22 logs DialEnd
    ``DialStatus: CANCEL`` and the caller's Hangup ``Cause: 127`` (interworking). It was
    ``failed`` (127 is a failure cause); the caller gave up: ``unanswered``."""
    rec = run("lab-ast22.10.1-sip-caller-cancel-while-ringing.events.txt")
    assert rec.hangup_cause == 127
    assert rec.outcome is Outcome.UNANSWERED
    assert rec.answered_at is None and rec.talk_seconds is None
