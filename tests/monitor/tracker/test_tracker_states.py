"""Tracker state machine: each transition, each outcome, holds, transfers, expiry, restarts."""

from __future__ import annotations

import pytest

from monitor import events as ev
from monitor.events import ChannelRef, ChannelState
from monitor.record import Direction, Outcome, rings_for
from monitor.tracker import CallState, Tracker, TrackerSettings

T0 = 1_700_000_000.0
LINK = "1700000000.1"


def chan(
    name: str,
    uid: str,
    state: ChannelState = ChannelState.UP,
    *,
    num: str = "5551234567",
    context: str = "from-pstn",
    exten: str = "8005550100",
) -> ChannelRef:
    return ChannelRef(name, uid, LINK, state, num, "Caller", None, None, context, exten)


CALLER = chan("PJSIP/trunk-00000001", LINK, ChannelState.RING)
AGENT = chan("PJSIP/201-00000002", "1700000000.2", ChannelState.DOWN, num="201", context="ext")


class Script:
    """Feeds events at offsets from T0 and remembers completed records."""

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self.tracker = Tracker(settings or TrackerSettings(pbx="t", cadence_seconds=6.0))
        self.done: list = []

    def __call__(self, event: ev.Event) -> Script:
        self.done.extend(self.tracker.feed(event))
        return self

    @property
    def state(self) -> CallState:
        return self.tracker.calls[LINK].state

    def arrive(self, t: float = 0.0, caller: ChannelRef = CALLER) -> Script:
        return self(ev.ChannelCreated(T0 + t, caller))

    def answer_by_pbx(self, t: float) -> Script:
        return self(ev.ChannelStateChanged(T0 + t, _st(CALLER, ChannelState.UP)))

    def join(self, t: float, queue: str = "support") -> Script:
        return self(ev.QueueJoined(T0 + t, CALLER, queue, 1, 1))

    def ring_agent(self, t: float, agent: ChannelRef = AGENT) -> Script:
        self(ev.ChannelCreated(T0 + t, agent))
        self(ev.DialStarted(T0 + t, CALLER, agent, "PJSIP/201"))
        return self(ev.ChannelStateChanged(T0 + t, _st(agent, ChannelState.RINGING)))

    def connect(self, t: float, agent: ChannelRef = AGENT, queue: str | None = "support") -> Script:
        self(ev.ChannelStateChanged(T0 + t, _st(agent, ChannelState.UP)))
        self(ev.DialEnded(T0 + t, CALLER, _st(agent, ChannelState.UP), "ANSWER"))
        if queue:
            self(ev.QueueLeft(T0 + t, CALLER, queue, 1, 0))
            self(ev.AgentConnected(T0 + t, CALLER, agent, queue, "PJSIP/201", "Alice", 0, 0))
        return self

    def hangup(self, t: float, c: ChannelRef = CALLER, cause: int = 16) -> Script:
        return self(ev.ChannelHungUp(T0 + t, c, cause, ""))

    def end_all(self, t: float, cause: int = 16) -> Script:
        self.hangup(t, CALLER, cause)
        if AGENT.uniqueid in self.tracker.calls.get(LINK, _Empty()).legs:
            self.hangup(t, AGENT, cause)
        return self


class _Empty:
    legs: dict[str, object] = {}


def _st(c: ChannelRef, state: ChannelState) -> ChannelRef:
    return ChannelRef(
        c.channel, c.uniqueid, c.linkedid, state, c.caller_num, c.caller_name,
        c.connected_num, c.connected_name, c.context, c.exten,
    )  # fmt: skip


def test_answered_queue_call_walks_every_main_state() -> None:
    s = Script().arrive()
    assert s.state is CallState.ARRIVING
    s.answer_by_pbx(0.5)
    assert s.state is CallState.IVR
    s.join(4)
    assert s.state is CallState.QUEUED
    s.ring_agent(10)
    assert s.state is CallState.RINGING
    s.connect(16)
    assert s.state is CallState.TALKING
    s(ev.HoldStarted(T0 + 30, AGENT))
    assert s.state is CallState.ON_HOLD
    s(ev.HoldEnded(T0 + 75, AGENT))
    assert s.state is CallState.TALKING
    s.end_all(100)
    (rec,) = s.done
    assert rec.outcome is Outcome.ANSWERED
    assert rec.direction is Direction.INBOUND
    assert rec.queue_wait_seconds == pytest.approx(12)  # join 4 -> answer 16
    assert rec.ring_seconds == pytest.approx(16)  # arrival -> answer by a person
    assert rec.rings == 3  # ceil(16 / 6)
    assert rec.first_ring_at == pytest.approx(T0 + 10)
    assert rec.answered_any_at == pytest.approx(T0 + 0.5)  # IVR answered first
    assert rec.talk_seconds == pytest.approx(84)  # 16 -> 100, hold included
    assert (rec.hold_count, rec.hold_seconds, rec.longest_hold_seconds) == (1, 45, 45)
    assert rec.agent == "Alice"
    assert not s.tracker.calls


def test_moh_while_queued_is_not_hold() -> None:
    s = Script().arrive().join(1)
    s(ev.MusicStarted(T0 + 1, CALLER, "default"))
    s(ev.MusicStopped(T0 + 20, CALLER))
    s.ring_agent(20).connect(25).end_all(40)
    assert s.done[0].hold_count == 0 and s.done[0].hold_seconds == 0


def test_ring_no_answer_goes_back_to_queue_then_answered() -> None:
    s = Script().arrive().join(1).ring_agent(2)
    s(ev.AgentRingNoAnswer(T0 + 17, CALLER, AGENT, "support", "PJSIP/201", "Alice", 15.0))
    assert s.state is CallState.QUEUED
    s.hangup(17, AGENT, 19)
    bob = chan("PJSIP/202-00000003", "1700000000.3", ChannelState.DOWN, num="202")
    s.ring_agent(18, bob).connect(21, bob).hangup(60).hangup(60, bob)
    (rec,) = s.done
    assert rec.agent_ring_no_answer == 1
    assert rec.outcome is Outcome.ANSWERED
    assert rec.queue_wait_seconds == pytest.approx(20)


def test_abandoned_in_queue() -> None:
    s = Script().arrive().join(2)
    s(ev.QueueAbandoned(T0 + 32, CALLER, "support", 1, 1, 30))
    s(ev.QueueLeft(T0 + 32, CALLER, "support", 1, 0))
    s.hangup(32)
    (rec,) = s.done
    assert rec.outcome is Outcome.ABANDONED
    assert rec.queue_wait_seconds == pytest.approx(30)
    assert rec.answered_at is None and rec.rings is None


def test_caller_hangup_while_queued_without_abandon_event_is_abandoned() -> None:
    s = Script().arrive().join(2).hangup(12)
    assert s.done[0].outcome is Outcome.ABANDONED


def test_unanswered_direct_call() -> None:
    s = Script().arrive().ring_agent(1)
    s(ev.DialEnded(T0 + 30, CALLER, AGENT, "NOANSWER"))
    s.end_all(30, 19)
    rec = s.done[0]
    assert rec.outcome is Outcome.UNANSWERED
    assert rec.ring_seconds is None


def test_busy() -> None:
    s = Script().arrive()
    s(ev.ChannelCreated(T0 + 1, AGENT))
    s(ev.DialStarted(T0 + 1, CALLER, AGENT, "PJSIP/201"))
    s(ev.DialEnded(T0 + 2, CALLER, AGENT, "BUSY"))
    s.end_all(3, 17)
    assert s.done[0].outcome is Outcome.BUSY


def test_failed_when_channel_unavailable() -> None:
    s = Script().arrive()
    s(ev.ChannelCreated(T0 + 1, AGENT))
    s(ev.DialStarted(T0 + 1, CALLER, AGENT, "PJSIP/201"))
    s(ev.DialEnded(T0 + 1, CALLER, AGENT, "CHANUNAVAIL"))
    s.end_all(2, 34)
    assert s.done[0].outcome is Outcome.FAILED


def test_voicemail_after_ringing() -> None:
    s = Script().arrive().ring_agent(1)
    s(ev.DialEnded(T0 + 20, CALLER, AGENT, "NOANSWER"))
    s.hangup(20, AGENT, 19)
    s(ev.VoicemailStarted(T0 + 21, CALLER))
    assert s.state is CallState.IVR
    s.hangup(50)
    rec = s.done[0]
    assert rec.outcome is Outcome.VOICEMAIL
    assert rec.answered_any_at == pytest.approx(T0 + 21)
    assert rec.answered_at is None


def test_incomplete_after_ttl_expiry_on_event_time() -> None:
    s = Script(TrackerSettings(stale_after_seconds=600)).arrive().join(1)
    assert s.tracker.expire(T0 + 500) == []
    (rec,) = s.tracker.expire(T0 + 602)
    assert rec.outcome is Outcome.INCOMPLETE and rec.ended_at is None
    assert s.tracker.stats.expired == 1


def test_restart_closes_open_calls_once() -> None:
    s = Script().arrive()
    s(ev.PbxBooted(T0, T0 - 1000))
    assert s.done == []
    s(ev.PbxBooted(T0 + 5, T0 + 4))  # uptime 1 s: Asterisk restarted
    assert [r.outcome for r in s.done] == [Outcome.INCOMPLETE]
    assert s.tracker.stats.restarts == 1
    s.hangup(6)  # a late event of the closed call must not report it a second time
    assert [r.call_id for r in s.done] == [LINK]
    assert s.tracker.stats.unmatched == 1


def test_resync_keeps_live_calls_and_closes_gone_ones() -> None:
    s = Script().arrive().join(1).ring_agent(2).connect(5)
    assert s.tracker.resync({LINK, AGENT.uniqueid}, T0 + 30) == []
    (rec,) = s.tracker.resync({"other"}, T0 + 60)
    assert rec.outcome is Outcome.INCOMPLETE
    assert rec.answered_at == pytest.approx(T0 + 5)


def test_blind_transfer_counted_and_call_continues() -> None:
    s = Script().arrive().join(1).ring_agent(2).connect(5)
    s(ev.BlindTransferred(T0 + 40, "Success", AGENT, CALLER, "300", "from-internal", False))
    s.hangup(40, AGENT)
    assert s.state is CallState.TALKING
    target = chan("PJSIP/300-00000009", "1700000000.9", ChannelState.DOWN, num="300")
    s(ev.ChannelCreated(T0 + 41, target))
    s(ev.ChannelStateChanged(T0 + 41, _st(target, ChannelState.RINGING)))
    assert s.state is CallState.RINGING
    s(ev.ChannelStateChanged(T0 + 45, _st(target, ChannelState.UP)))
    assert s.state is CallState.TALKING
    s.hangup(90).hangup(90, target)
    rec = s.done[0]
    assert rec.transfers == 1
    assert rec.extra["transfer_at"] == [T0 + 40]  # drawn on the call page's timeline
    assert rec.talk_seconds == pytest.approx(85)  # talk continues with the transfer target


def test_impossible_transition_is_counted_not_raised() -> None:
    s = Script().arrive()
    s(ev.HoldStarted(T0 + 1, CALLER))  # hold before anyone answered
    assert s.state is CallState.ARRIVING
    assert s.tracker.stats.illegal["arriving->on_hold"] == 1


def test_withheld_caller_has_no_number() -> None:
    anon = chan("PJSIP/trunk-00000001", LINK, ChannelState.RING, num="anonymous")
    s = Script().arrive(caller=anon).hangup(3, anon)
    rec = s.done[0]
    assert rec.caller is None and rec.caller_withheld


def test_outbound_call_direction() -> None:
    phone = chan("PJSIP/201-00000001", LINK, ChannelState.RING, num="201",
                 context="from-internal", exten="4155550123")  # fmt: skip
    s = Script().arrive(caller=phone).hangup(3, phone)
    assert s.done[0].direction is Direction.OUTBOUND
    short = chan("PJSIP/201-00000001", LINK, ChannelState.RING, num="201",
                 context="from-internal", exten="202")  # fmt: skip
    s2 = Script().arrive(caller=short).hangup(3, short)
    assert s2.done[0].direction is Direction.INTERNAL


@pytest.mark.parametrize(
    ("seconds", "cadence", "rings"),
    [
        (9.0, 3.0, 3),  # UK: exactly three cycles is three rings
        (9.1, 3.0, 4),
        (0.2, 3.0, 1),  # at least one ring
        (12.0, 6.0, 2),  # US
        (12.001, 6.0, 3),
        (9.0000000001, 3.0, 3),  # float noise is not a ring
    ],
)
def test_rings_at_the_cadence_boundary(seconds: float, cadence: float, rings: int) -> None:
    assert rings_for(seconds, cadence) == rings


def test_rings_in_the_record_use_the_site_cadence() -> None:
    uk = TrackerSettings(cadence_seconds=3.0)
    for answer, rings in ((9.0, 3), (9.1, 4)):
        s = Script(uk).arrive().ring_agent(1).connect(answer, queue=None).end_all(30)
        assert s.done[0].rings == rings


def test_call_found_up_in_a_resync_without_an_observed_answer_is_incomplete() -> None:
    s = Script()(ev.ChannelCreated(T0, CALLER, resynced=True))
    s(ev.ChannelCreated(T0, _st(AGENT, ChannelState.UP), resynced=True))
    s.end_all(60)
    rec = s.done[0]
    assert rec.outcome is Outcome.INCOMPLETE  # answered before we joined? we cannot know
    assert rec.timing == "approximate" and rec.rings is None


def test_call_found_queued_in_a_resync_then_answered_is_answered() -> None:
    s = Script()(ev.ChannelCreated(T0, CALLER, resynced=True)).join(0)
    s.ring_agent(10).connect(14).end_all(60)
    assert s.done[0].outcome is Outcome.ANSWERED


def test_events_before_a_calls_newchannel_make_it_midway() -> None:
    s = Script()(ev.QueueJoined(T0, CALLER, "support", 1, 1))  # joined ringwatch mid-call
    s.hangup(20)
    # seen queued and seen hanging up unanswered: it abandoned the queue, whatever came
    # before (issue 20 item 4: a missed-call promise must open)
    assert s.done[0].outcome is Outcome.ABANDONED
    s = Script()(ev.ChannelStateChanged(T0, CALLER))  # mid-call, never seen queued
    s.hangup(20)
    assert s.done[0].outcome is Outcome.INCOMPLETE


def test_queue_caller_leaving_closes_the_call_despite_unended_member_legs() -> None:
    # issue 16 item 7: Alice's leg rang in an earlier round and was never seen to hang up
    s = Script().arrive().join(1).ring_agent(2)
    s(ev.AgentRingNoAnswer(T0 + 17, CALLER, AGENT, "support", "PJSIP/201", "Alice", 15.0))
    s(ev.QueueAbandoned(T0 + 40, CALLER, "support", 1, 1, 39))
    s.hangup(40)
    (rec,) = s.done
    assert rec.outcome is Outcome.ABANDONED and rec.ended_at == pytest.approx(T0 + 40)
    assert s.tracker.calls == {}
    s.hangup(41, AGENT)  # its late Hangup is absorbed, the call is not reported twice
    assert len(s.done) == 1 and s.tracker.calls == {}


def test_answered_queue_call_closes_when_caller_and_agent_are_gone() -> None:
    s = Script().arrive().join(1).ring_agent(2)
    s(ev.AgentRingNoAnswer(T0 + 17, CALLER, AGENT, "support", "PJSIP/201", "Alice", 15.0))
    bob = chan("PJSIP/202-00000003", "1700000000.3", ChannelState.DOWN, num="202")
    s.ring_agent(18, bob).connect(21, bob).hangup(60)
    assert s.done == []  # Bob is still on the line
    s.hangup(61, bob)
    (rec,) = s.done
    assert rec.outcome is Outcome.ANSWERED and rec.ended_at == pytest.approx(T0 + 61)
