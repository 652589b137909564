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


@pytest.mark.parametrize(
    ("name", "exit_"),
    [
        ("lab-ast22.10.1-queue-exit-timeout.events.txt", "timeout"),
        ("lab-ast22.10.1-queue-exit-empty.events.txt", "empty"),
    ],
)
def test_queue_timeout_and_empty_exits_are_not_abandons(name: str, exit_: str) -> None:
    """``Queue(q-to,,,,5)`` ends the wait after 5 s (EXITWITHTIMEOUT); a queue whose only
    member is paused with ``leavewhenempty = yes`` sends the caller out (EXITEMPTY). app_queue
    calls record_abandoned() for both, so AMI sends QueueCallerAbandon, then QueueCallerLeave
    and ``VarSet QUEUESTATUS`` (TIMEOUT / LEAVEEMPTY) while the caller's channel goes on in the
    dialplan: the caller did not hang up. It was ``abandoned``; the queue_log import of the
    same call says ``unanswered`` (EXITWITH*), as docs/reports.md counts them."""
    rec = run(name)
    assert rec.outcome is Outcome.UNANSWERED
    assert rec.extra.get("queue_exit") == exit_
    assert rec.queue_wait_seconds is not None


def test_blind_transfer_of_a_queue_call_talk_is_the_agents_part() -> None:
    """Ivan answers a q-bt call (AgentConnect 1796327304.77) and blind-transfers it after 3 s
    (BlindTransfer, AgentComplete Reason transfer TalkTime 3); the caller then talks to the
    transfer target. ``talk_seconds`` ran to the end of the call (8 s) while the same call
    without timestamps (TalkTime) and the attended transfer give the agent's part: now the
    agent's part for both, as Asterisk's TalkTime and queue_log's calltime."""
    rec = run("lab-ast22.10.1-queue-blind-transfer.events.txt")
    assert rec.outcome is Outcome.ANSWERED
    assert rec.transfers == 1
    assert rec.agent == "Ivan"
    assert rec.talk_seconds == pytest.approx(3.0, abs=0.1)
