"""The agent board (issue 19, item 2): each queue member's state from the translator's
events, on event time, and the QueueMember* translation from real captures."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.ami.parser import AmiMessage, parse_all
from collectors.ami.translate import Translator
from monitor import events as ev
from monitor.agents import AgentBoard
from monitor.channel import ChannelRef, ChannelState
from monitor.pipeline import Pipeline
from monitor.replay import replay
from monitor.tracker import Tracker, TrackerSettings

AMI = Path(__file__).parents[1] / "fixtures" / "ami"
CALLER = ChannelRef("PJSIP/trunk-1", "100.1", "100.1", ChannelState.UP)
AGENT = ChannelRef("PJSIP/201-2", "100.2", "100.1", ChannelState.UP)


def member(at: float, *, device: int = 1, paused: bool = False, reason: str = "",
           kind: str = "status", queue: str = "support") -> ev.MemberChanged:  # fmt: skip
    return ev.MemberChanged(at, queue, "PJSIP/201", "Alice", kind, device, False, paused, reason)


def connect(at: float) -> ev.AgentConnected:
    return ev.AgentConnected(at, CALLER, AGENT, "support", "PJSIP/201", "Alice", 3.0, 2.0)


def complete(at: float) -> ev.AgentCompleted:
    return ev.AgentCompleted(at, CALLER, AGENT, "support", "PJSIP/201", "Alice", 3.0, 60.0, "agent")


def test_states_in_order_with_the_time_each_began() -> None:
    board = AgentBoard()
    board.feed(member(10.0))
    [a] = board.agents()
    assert (a.state, a.since, a.queues) == ("available", 10.0, ("support",))
    board.feed(member(20.0, paused=True, reason="Lunch", kind="pause"))
    [a] = board.agents()
    assert (a.state, a.since, a.reason) == ("paused", 20.0, "Lunch")
    board.feed(member(30.0, paused=False, kind="pause"))
    board.feed(member(31.0, device=6))
    assert board.agents()[0].state == "ringing"
    board.feed(connect(33.0))
    board.feed(member(33.0, device=2))  # in use: still the same on_call spell
    [a] = board.agents()
    assert (a.state, a.since, a.call_id, a.call_queue) == ("on_call", 33.0, "100.1", "support")
    board.feed(complete(93.0))
    [a] = board.agents()
    assert (a.state, a.since, a.call_id) == ("wrap_up", 93.0, None)
    board.feed(member(95.0))  # no wrap-up time configured: the next status ends it
    assert (board.agents()[0].state, board.agents()[0].since) == ("available", 95.0)


def test_a_timed_wrap_up_ends_when_it_runs_out_not_when_next_seen() -> None:
    board = AgentBoard(wrapup_seconds=30.0)
    board.feed(member(0.0))
    board.feed(connect(10.0))
    board.feed(complete(70.0))
    board.advance(99.0)
    assert board.agents()[0].state == "wrap_up"
    board.advance(150.0)
    [a] = board.agents()
    assert (a.state, a.since) == ("available", 100.0)


def test_paused_wins_and_removed_members_leave() -> None:
    board = AgentBoard()
    board.feed(member(0.0, device=2, paused=True, reason="Training"))
    assert board.agents()[0].state == "paused"
    board.feed(member(1.0, device=5))
    assert board.agents()[0].state == "unavailable"
    board.feed(member(2.0, queue="sales"))
    board.feed(member(3.0, kind="removed"))
    assert board.agents()[0].queues == ("sales",)
    board.feed(member(4.0, kind="removed", queue="sales"))
    assert board.agents() == []
    with pytest.raises(ValueError, match="wrapup_seconds"):
        AgentBoard(wrapup_seconds=-1)


def _events(name: str, event: str) -> list[ev.Event]:
    t = Translator()
    out = []
    for msg in parse_all((AMI / name).read_bytes()):
        if msg.get("Event") == event:
            e = t.translate(msg, 1000.0)
            assert e is not None
            out.append(e)
    return out


def test_queue_member_status_and_paused_from_real_captures() -> None:
    [first, *_] = _events("callme-ast13.18-queue-call-moh-answered-hangup.raw.txt",
                          "QueueMemberStatus")  # fmt: skip
    assert isinstance(first, ev.MemberChanged)
    assert (first.queue, first.interface, first.member_name, first.kind) == (
        "Q1", "SIP/777", "SIP/777", "status")  # fmt: skip
    assert (first.device, first.in_call, first.paused, first.reason) == (1, False, False, "")
    # Asterisk 11: QueueMemberPaused, the interface in Location
    [paused] = _events("panoramisk-ast11-xivo-agent-unpause-queuememberpaused.txt",
                       "QueueMemberPaused")  # fmt: skip
    assert isinstance(paused, ev.MemberChanged)
    assert (paused.kind, paused.interface, paused.member_name, paused.paused) == (
        "pause", "Local/id-12@agentcallback", "Agent/999", False)  # fmt: skip
    pause = Translator().translate(AmiMessage.from_pairs([
        ("Event", "QueueMemberPause"), ("Queue", "q"), ("Interface", "PJSIP/9"),
        ("MemberName", "Zoe"), ("Paused", "1"), ("Reason", "Lunch")]), 5.0)  # fmt: skip
    assert isinstance(pause, ev.MemberChanged) and (pause.paused, pause.reason) == (True, "Lunch")


def test_the_pipeline_feeds_its_observers_on_a_real_capture() -> None:
    board = AgentBoard()
    pipeline = Pipeline(Tracker(TrackerSettings(pbx="lab")), observers=[board])
    records = list(replay([AMI / "callme-ast13.18-queue-call-moh-answered-hangup.raw.txt"],
                          pipeline=pipeline))  # fmt: skip
    assert records
    [agent] = board.agents()
    assert agent.name == "SIP/777" and agent.queues == ("Q1",)
    assert agent.state in ("available", "wrap_up") and agent.call_id is None


def test_the_members_wrapuptime_times_the_wrap_up() -> None:
    board = AgentBoard()
    status = ev.MemberChanged(0.0, "support", "PJSIP/201", "Alice", "status", 1, False, False, "",
                              wrapup_seconds=15.0)  # fmt: skip
    board.feed(status)
    board.feed(connect(10.0))
    board.feed(complete(70.0))
    board.feed(member(70.0))  # not in use after the call: still wrapping up
    board.advance(80.0)
    assert board.agents()[0].state == "wrap_up"
    board.advance(86.0)
    [a] = board.agents()
    assert (a.state, a.since) == ("available", 85.0)
    pairs = [("Event", "QueueMemberStatus"), ("Queue", "q"), ("Interface", "PJSIP/9"),
             ("MemberName", "Zoe"), ("Status", "1"), ("Wrapuptime", "15")]  # fmt: skip
    wrap = Translator().translate(AmiMessage.from_pairs(pairs), 5.0)
    assert isinstance(wrap, ev.MemberChanged) and wrap.wrapup_seconds == 15.0
