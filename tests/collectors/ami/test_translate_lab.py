"""The translator on messages from the lab's real Asterisk 22.10.1 (tests/lab): units and the
shapes Asterisk really sends."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.ami.parser import AmiParser
from collectors.ami.translate import Translator
from monitor import events as ev
from monitor.record import Outcome
from monitor.replay import replay
from monitor.tracker import TrackerSettings

AMI = Path(__file__).parents[2] / "fixtures" / "ami"


def _events(name: str) -> list[tuple[str, ev.Event | None]]:
    translator = Translator()
    msgs = AmiParser().feed((AMI / name).read_bytes() + b"\r\n\r\n")
    return [(m.get("Event") or "", translator.translate(m)) for m in msgs]


def test_agent_ring_no_answer_ring_time_is_milliseconds() -> None:
    """queues.conf ``timeout = 4``: Asterisk 22.10.1 sends ``RingTime: 4000``."""
    rna = [e for name, e in _events("lab-ast22.10.1-queue-linear-rona-answered.events.txt")
           if name == "AgentRingNoAnswer"]  # fmt: skip
    assert len(rna) == 1
    assert isinstance(rna[0], ev.AgentRingNoAnswer)
    assert rna[0].ring_seconds == pytest.approx(4.0)


def test_agent_complete_without_channels_names_no_call() -> None:
    """ringall queue, the agent hangs up: Asterisk 22.10.1's AgentComplete carries no channel
    block (only Queue, Interface, MemberName, HoldTime, TalkTime, Reason). It made a call
    with an empty id (an extra ``internal``/``unanswered`` record); it is ignored now."""
    name = "lab-ast22.10.1-queue-ringall-agent-hangs-up.events.txt"
    done = [e for n, e in _events(name) if n == "AgentComplete"]
    assert done == [None]
    records = list(replay([AMI / name], TrackerSettings(inbound_contexts=("lab-phones",))))
    assert [r.call_id for r in records if not r.call_id] == []
    (rec,) = records
    assert rec.outcome is Outcome.ANSWERED and rec.agent == "Alice"
    assert rec.talk_seconds == pytest.approx(20.0, abs=0.05)
