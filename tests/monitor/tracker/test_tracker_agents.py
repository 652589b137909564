"""Issue 16 item 5: the agent of a call is the person, never a device or a trunk.

Queue calls: the member name. Other calls: the ``agents:`` map of the internal party's device,
else that party's caller-ID name. The internal party answered an inbound or internal call, and
made an outbound one (which was answered on the trunk).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor import events as ev
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.events import ChannelRef, ChannelState
from monitor.record import CallRecord, Direction
from monitor.tracker import Tracker, TrackerSettings

T0 = 1_700_000_000.0
LINK = "1700000000.1"


def _chan(name: str, uid: str, num: str, cid: str, context: str, exten: str) -> ChannelRef:
    return ChannelRef(name, uid, LINK, ChannelState.RING, num, cid, None, None, context, exten)


def _up(c: ChannelRef) -> ChannelRef:
    return ChannelRef(c.channel, c.uniqueid, c.linkedid, ChannelState.UP, c.caller_num,
                      c.caller_name, None, None, c.context, c.exten)  # fmt: skip


def _direct(caller: ChannelRef, callee: ChannelRef, settings: TrackerSettings) -> CallRecord:
    t = Tracker(settings)
    t.feed(ev.ChannelCreated(T0, caller))
    t.feed(ev.ChannelCreated(T0 + 1, callee))
    t.feed(ev.DialStarted(T0 + 1, caller, callee, callee.channel.rsplit("-", 1)[0]))
    t.feed(ev.ChannelStateChanged(T0 + 2, ChannelRef(callee.channel, callee.uniqueid, LINK,
                                  ChannelState.RINGING, callee.caller_num, callee.caller_name,
                                  None, None, callee.context, callee.exten)))  # fmt: skip
    t.feed(ev.ChannelStateChanged(T0 + 6, _up(callee)))
    t.feed(ev.DialEnded(T0 + 6, caller, _up(callee), "ANSWER"))
    t.feed(ev.ChannelHungUp(T0 + 60, caller, 16, ""))
    (rec,) = t.feed(ev.ChannelHungUp(T0 + 60, callee, 16, ""))
    return rec


TRUNK_IN = _chan("PJSIP/trunk-00000001", LINK, "4155550100", "Customer", "from-pstn", "8005550100")
CAROL = _chan("PJSIP/300-00000002", "1700000000.2", "300", "Carol Clark", "from-internal", "300")
DAVE = _chan("PJSIP/202-00000001", LINK, "202", "Dave Dunn", "from-internal", "4155550123")
TRUNK_OUT = _chan("PJSIP/trunk-00000002", "1700000000.2", "4155550123", "", "from-trunk", "s")
ERIN = _chan("PJSIP/203-00000002", "1700000000.2", "203", "Erin Eve", "from-internal", "203")


def test_a_direct_inbound_call_is_the_answering_persons() -> None:
    rec = _direct(TRUNK_IN, CAROL, TrackerSettings())
    assert rec.direction is Direction.INBOUND and rec.agent == "Carol Clark"  # was PJSIP/300
    mapped = TrackerSettings(agent_devices=(("PJSIP/300", "Carol C. (desk 3)"),))
    assert _direct(TRUNK_IN, CAROL, mapped).agent == "Carol C. (desk 3)"  # the map first


def test_an_outbound_call_is_the_callers_never_the_trunk() -> None:
    rec = _direct(DAVE, TRUNK_OUT, TrackerSettings())
    assert rec.direction is Direction.OUTBOUND
    assert rec.agent == "Dave Dunn"  # was PJSIP/trunk
    mapped = TrackerSettings(agent_devices=(("PJSIP/202", "David"),))
    assert _direct(DAVE, TRUNK_OUT, mapped).agent == "David"


def test_an_internal_call_is_the_answering_persons() -> None:
    internal = _chan("PJSIP/202-00000001", LINK, "202", "Dave Dunn", "from-internal", "203")
    rec = _direct(internal, ERIN, TrackerSettings())
    assert rec.direction is Direction.INTERNAL and rec.agent == "Erin Eve"  # was PJSIP/203


def test_without_a_name_the_device_stands_in() -> None:
    nameless = _chan("PJSIP/300-00000002", "1700000000.2", "300", "", "from-internal", "300")
    assert _direct(TRUNK_IN, nameless, TrackerSettings()).agent == "PJSIP/300"


def test_a_queue_call_is_the_member_name() -> None:
    t = Tracker()
    t.feed(ev.ChannelCreated(T0, TRUNK_IN))
    t.feed(ev.QueueJoined(T0 + 1, TRUNK_IN, "support", 1, 1))
    t.feed(ev.ChannelCreated(T0 + 2, CAROL))
    t.feed(ev.DialStarted(T0 + 2, TRUNK_IN, CAROL, "PJSIP/300"))
    t.feed(ev.DialEnded(T0 + 8, TRUNK_IN, _up(CAROL), "ANSWER"))
    t.feed(ev.AgentConnected(T0 + 8, TRUNK_IN, _up(CAROL), "support", "PJSIP/300", "Bob Baker",
                             7, 6))  # fmt: skip
    t.feed(ev.ChannelHungUp(T0 + 60, TRUNK_IN, 16, ""))
    (rec,) = t.feed(ev.ChannelHungUp(T0 + 60, CAROL, 16, ""))
    assert rec.agent == "Bob Baker"


def test_the_agents_key_is_validated(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text("agents:\n  PJSIP/300: Carol Clark\n  SIP/alice: ' Alice A '\n")
    expected = (("PJSIP/300", "Carol Clark"), ("SIP/alice", "Alice A"))
    assert load_config(good).agent_devices == expected
    bad = tmp_path / "bad.yml"
    bad.write_text("agents:\n  '300': Carol\n  PJSIP/301: ''\n  PJSIP/302-00000001: Dan\n")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    problems = "\n".join(info.value.problems)
    assert "agents.300: the key must be a device" in problems
    assert "agents.PJSIP/301: expected the agent's name" in problems
    assert "agents.PJSIP/302-00000001: the key must be a device" in problems
    listed = tmp_path / "list.yml"
    listed.write_text("agents: [PJSIP/300]\n")
    with pytest.raises(ConfigError, match="problem"):
        load_config(listed)


def test_the_callback_credit_goes_to_the_person_who_called_back(tmp_path: Path) -> None:
    from monitor.promises import Action, PromiseEngine, PromiseSettings
    from monitor.promises.db import open_database

    engine = PromiseEngine(
        open_database(f"sqlite:///{tmp_path / 'p.sqlite'}"),
        PromiseSettings(country="US"),
        refresh_seconds=0.0,
    )
    engine.promise("+14155550123", T0 + 3600, made_at=T0 - 60, actor="user:x")
    back = _direct(DAVE, TRUNK_OUT, TrackerSettings())
    (kept,) = engine.on_call(back)
    assert kept.action is Action.KEPT and kept.actor == "agent:Dave Dunn"  # not the trunk
