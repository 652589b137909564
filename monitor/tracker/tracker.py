"""The call tracker: events in, call records out.

Calls are keyed by Linkedid, legs by Uniqueid. A call closes when its last leg hangs up; a call
with no event for ``stale_after_seconds`` (event time) closes as ``incomplete``; an Asterisk
restart (FullyBooted with a new start time) closes every open call as ``incomplete``; a
resync after a reconnect closes the calls whose channels are gone. A call is closed once: its
record is returned by exactly one ``feed``/``expire``/``resync``/``flush`` call.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from monitor import events as ev
from monitor.events import ChannelRef, ChannelState

# the handled types by name from their own modules: compiled code then compares with the
# class's C static (``ev.X`` is an attribute lookup on the package at run time)
from monitor.events.channels import (
    BridgeEntered,
    BridgeLeft,
    CallerIdChanged,
    ChannelCreated,
    ChannelHungUp,
    ChannelStateChanged,
    DialEnded,
    DialStarted,
    DialStateChanged,
    HangupRequested,
    HoldEnded,
    HoldStarted,
)
from monitor.events.other import (
    AttendedTransferred,
    BlindTransferred,
    LocalBridged,
    PbxBooted,
    RecordingFile,
    VoicemailStarted,
)
from monitor.events.queues import (
    AgentCalled,
    AgentCompleted,
    AgentConnected,
    AgentRingNoAnswer,
    QueueAbandoned,
    QueueExited,
    QueueJoined,
    QueueLeft,
)
from monitor.record import CallRecord, LiveCall, Outcome
from monitor.tracker.base import TrackerStats
from monitor.tracker.call import Call, is_withheld
from monitor.tracker.queues import QueueTracker
from monitor.tracker.state import CallState

__all__ = ["DEADLINE_NEUTRAL", "Tracker", "TrackerStats"]

# Final: compiled code reads these from C statics, not the module's dict
_BUSY: Final = frozenset({"BUSY"})
_FAILED: Final = frozenset({"CHANUNAVAIL", "CONGESTION", "INVALIDARGS"})
_CANCEL: Final = frozenset({"CANCEL"})


class Tracker(QueueTracker):
    """Owns every running call. Not thread-safe: one event loop feeds it."""

    # ---- public API --------------------------------------------------------------------------

    def feed(self, event: ev.Event) -> list[CallRecord]:
        """Apply one event; return the calls it completed (usually none)."""
        self.stats.events += 1
        self.last_call_id = None
        self._out = []
        if self.dissolved:
            self.dissolved = []
        # one handler per event type (the exact type), the commonest first: compiled, a test
        # is a pointer comparison and the call a direct one (a table of handlers made a
        # Python-level call through each method's wrapper). Other events are ignored.
        if type(event) is ChannelStateChanged:
            self._on_state(event)
        elif type(event) is HangupRequested:
            self._on_hangup_request(event)
        elif type(event) is CallerIdChanged:
            self._on_callerid(event)
        elif type(event) is ChannelCreated:
            self._on_created(event)
        elif type(event) is ChannelHungUp:
            self._on_hangup(event)
        elif type(event) is BridgeEntered:
            self._on_bridge_enter(event)
        elif type(event) is BridgeLeft:
            self._on_bridge_leave(event)
        elif type(event) is DialStarted:
            self._on_dial_start(event)
        elif type(event) is DialEnded:
            self._on_dial_end(event)
        elif type(event) is DialStateChanged:
            self._on_dial_state(event)
        elif type(event) is QueueJoined:
            self._on_queue_join(event)
        elif type(event) is QueueLeft:
            self._on_queue_leave(event)
        elif type(event) is AgentCalled:
            self._on_agent_called(event)
        elif type(event) is RecordingFile:
            self._on_recording(event)
        elif type(event) is AgentConnected:
            self._on_agent_connect(event)
        elif type(event) is AgentCompleted:
            self._on_agent_complete(event)
        elif type(event) is HoldStarted:
            self._on_hold(event)
        elif type(event) is HoldEnded:
            self._on_unhold(event)
        elif type(event) is QueueAbandoned:
            self._on_queue_abandon(event)
        elif type(event) is AgentRingNoAnswer:
            self._on_agent_rna(event)
        elif type(event) is QueueExited:
            self._on_queue_exit(event)
        elif type(event) is AttendedTransferred:
            self._on_attended(event)
        elif type(event) is BlindTransferred:
            self._on_blind(event)
        elif type(event) is LocalBridged:
            self._on_local_bridge(event)
        elif type(event) is VoicemailStarted:
            self._on_voicemail(event)
        elif type(event) is PbxBooted:
            self._on_booted(event)
        return self._out

    def expire(self, now: float) -> list[CallRecord]:
        """Close calls idle longer than the TTL as ``incomplete``."""
        limit = now - self.settings.stale_after_seconds
        self._out = []
        if limit <= self._oldest_event_floor:
            return self._out  # no open call has been idle that long
        stale = [c for c in self.calls.values() if c.last_event_at < limit]
        for call in stale:
            self.stats.expired += 1
            self._close(call, Outcome.INCOMPLETE, None)
        self._oldest_event_floor = min(
            (c.last_event_at for c in self.calls.values()), default=float("inf")
        )
        return self._out

    def resync(self, live_uniqueids: Iterable[str], at: float) -> list[CallRecord]:
        """After a reconnect: channels not in ``live_uniqueids`` are gone. Calls left with no
        live channel close as ``incomplete``; calls with live channels continue."""
        live = set(live_uniqueids)
        self._out = []
        for call in list(self.calls.values()):
            gone = [
                uid for uid, leg in call.legs.items() if uid not in live and leg.ended_at is None
            ]
            for uid in gone:
                call.legs[uid].ended_at = at
                call.persons_up.discard(uid)
                self._end_hold(call, uid, at)
            if all(leg.ended_at is not None for leg in call.legs.values()):
                self._close(call, Outcome.INCOMPLETE, None)
        return self._out

    def flush(self) -> list[CallRecord]:
        """End of a transcript: every call still open closes as ``incomplete``."""
        self._out = []
        for call in list(self.calls.values()):
            self._close(call, Outcome.INCOMPLETE, None)
        return self._out

    def snapshot(self, call_id: str) -> CallRecord | None:
        """A running call as a record (``outcome=incomplete``, ``extra['state']``)."""
        call = self.calls.get(call_id)
        if call is None:
            return None
        return call.to_record(self.settings, outcome=Outcome.INCOMPLETE, live=True)

    def live_view(self, call_id: str) -> LiveCall | None:
        """A running call's clocks for the live checks (a cheap subset of ``snapshot``)."""
        call = self.calls.get(call_id)
        return None if call is None else call.live_view(self.settings)

    def state_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("ringing", "queued", "talking", "on_hold", "ivr", "arriving"), 0)
        for call in self.calls.values():
            counts[str(call.state)] = counts.get(str(call.state), 0) + 1
        return counts

    # ---- event handlers ------------------------------------------------------------------------

    def _on_created(self, e: ev.ChannelCreated) -> None:
        call = self._call_for(e.chan, e.at, e.exact)
        if call.events == 1:  # this event created the call
            call.midway = e.resynced
            if e.resynced:
                call.exact = False  # its start is known to the second (Duration) at best

    def _on_state(self, e: ev.ChannelStateChanged) -> None:
        call = self._call_for(e.chan, e.at, e.exact)
        uid = e.chan.uniqueid
        if not call.voicemail and self._in_voicemail(e.chan):
            self._reached_voicemail(call, e.at)
        if e.chan.state is ChannelState.RINGING and uid != call.caller_leg:
            self._ringing(call, e.chan, e.at)
        elif e.chan.state is ChannelState.UP:
            if uid == call.caller_leg:
                if call.answered_any_at is None:
                    call.answered_any_at = e.at
                if call.state is CallState.ARRIVING:
                    self._move(call, CallState.IVR, "caller answered by the PBX")
            else:
                leg = call.legs.get(uid)
                if leg is not None and leg.rang and not leg.person and self._is_person(e.chan):
                    # A phone that was ringing went Up: answered by a person, now (DialEnd
                    # ANSWER follows a few ms later).
                    self._person_answered(call, e.chan, e.at, None)

    def _ringing(self, call: Call, chan: ChannelRef, at: float) -> None:
        if not self._is_person(chan):
            return
        leg = call.legs.get(chan.uniqueid)
        if leg is not None:
            leg.rang = True
        if call.first_ring_at is None:
            call.first_ring_at = at
        if call.state in (CallState.ARRIVING, CallState.IVR, CallState.QUEUED, CallState.TALKING):
            if call.state is CallState.TALKING and not call.persons_up:
                self._move(call, CallState.RINGING, "ringing after transfer")
            elif call.state is not CallState.TALKING:
                self._move(call, CallState.RINGING, "ringing")

    def _on_callerid(self, e: ev.CallerIdChanged) -> None:
        call = self._call_for(e.chan, e.at, e.exact)
        if not e.connected and e.chan.uniqueid == call.caller_leg:
            call.caller_num = e.chan.caller_num
            call.caller_name = e.chan.caller_name
            call.withheld = (not e.presentation_allowed) or is_withheld(
                e.chan.caller_num, e.chan.caller_name
            )

    def _on_hangup_request(self, e: ev.HangupRequested) -> None:
        call = self._call_for(e.chan, e.at, e.exact)
        if not e.soft:
            self._leg_ended(call, e.chan.uniqueid, e.at)

    def _on_hangup(self, e: ev.ChannelHungUp) -> None:
        call = self._call_for(e.chan, e.at, e.exact)
        uid = e.chan.uniqueid
        if not call.voicemail and self._in_voicemail(e.chan):
            # seen only at the hang-up: voicemail began earlier (the queue left to it, or
            # the caller's channel answered by it), else we only know it by the hang-up
            began = e.at
            if call.queue is not None and call.queue_left_at is not None:
                began = call.queue_left_at
            elif call.queue is None and call.answered_any_at is not None:
                began = call.answered_any_at
            self._reached_voicemail(call, began)
        leg = call.legs.get(uid)
        if leg is not None and leg.ended_at is None:
            leg.ended_at = e.at
        self._leg_ended(call, uid, e.at)
        self._end_hold(call, uid, e.at)
        if uid == call.caller_leg:
            call.hangup_cause = e.cause
            if (
                call.queue is not None
                and call.answered_at is None
                and call.queue_left_at is None
                and not call.voicemail
            ):
                call.abandoned = True
                call.queue_left_at = e.at
        if all(lg.ended_at is not None for lg in call.legs.values()) or self._caller_left(call):
            self._close(call, None, e.at)

    def _on_dial_start(self, e: ev.DialStarted) -> None:
        if e.caller is None:
            call = self._call_for(e.dest, e.at, e.exact)
        else:
            call = self._call_for(e.caller, e.at, e.exact)
            dest_call = self._leg_call.get(e.dest.uniqueid)
            if dest_call is None:
                self._add_leg(call, e.dest, e.at)
            elif dest_call != call.call_id and e.dest.linkedid == e.dest.uniqueid:
                self._move_leg(e.dest.uniqueid, dest_call, call.call_id)  # Asterisk 11
        if call.dialed is None and e.dial_string:
            call.dialed = e.dial_string.rsplit("/", 1)[-1].split("@", 1)[0]

    def _on_dial_state(self, e: ev.DialStateChanged) -> None:
        call = self._call_for(e.caller or e.dest, e.at, e.exact)
        if e.status == "RINGING":
            self._ringing(call, e.dest, e.at)

    def _on_dial_end(self, e: ev.DialEnded) -> None:
        call = self._call_for(e.caller or e.dest, e.at, e.exact)
        status = e.status.upper()
        if status == "ANSWER":
            if e.dest.uniqueid and self._answered_by_person(call, e):
                # the agent is named at the end (Call._agent): member name, map, caller ID
                self._person_answered(call, e.dest, e.at, None)
        elif status in _BUSY:
            call.busy = True
        elif status in _FAILED:
            call.dial_failed = True
        elif status in _CANCEL:
            # the caller gave up while the callee rang (Asterisk 22: Hangup Cause 127)
            call.cancelled = True

    def _answered_by_person(self, call: Call, e: ev.DialEnded) -> bool:
        """A dialled phone answered, or a Local channel the dialplan dialled
        (``Dial(Local/104@agents)``, FreePBX ring groups and follow-me): whatever answers
        behind it is the callee (a phone behind it answers first, and the earliest answer
        counts). Not an AMI Originate's own DialEnd (no caller: it starts the call), not a
        voicemail Local channel."""
        dest = e.dest
        if self._is_person(dest):
            return True
        return (
            e.caller is not None
            and dest.channel.startswith("Local/")
            and dest.uniqueid != call.caller_leg
            and not any(dest.channel.startswith(p) for p in self.settings.voicemail_prefixes)
        )

    def _on_bridge_enter(self, e: ev.BridgeEntered) -> None:
        self._call_for(e.chan, e.at, e.exact)

    def _on_bridge_leave(self, e: ev.BridgeLeft) -> None:
        self._call_for(e.chan, e.at, e.exact)

    def _on_hold(self, e: ev.HoldStarted) -> None:
        call = self._call_for(e.chan, e.at, e.exact)
        if e.chan.uniqueid not in call.open_holds:
            call.open_holds[e.chan.uniqueid] = e.at
            self._move(call, CallState.ON_HOLD, "hold")

    def _on_unhold(self, e: ev.HoldEnded) -> None:
        call = self._call_for(e.chan, e.at, e.exact)
        self._end_hold(call, e.chan.uniqueid, e.at)

    def _on_local_bridge(self, e: ev.LocalBridged) -> None:
        call = self._call_for(e.one, e.at, e.exact)
        other = self._leg_call.get(e.two.uniqueid)
        if other is None:
            self._add_leg(call, e.two, e.at)
        elif other != call.call_id and e.two.linkedid == e.two.uniqueid:
            self._move_leg(e.two.uniqueid, other, call.call_id)

    def _on_recording(self, e: ev.RecordingFile) -> None:
        call = self._call_for(e.chan, e.at, e.exact)
        call.recording = e.path

    def _on_voicemail(self, e: ev.VoicemailStarted) -> None:
        self._reached_voicemail(self._call_for(e.chan, e.at, e.exact), e.at)

    def _on_booted(self, e: ev.PbxBooted) -> None:
        if e.started_at is None:
            return
        previous = self._pbx_started
        self._pbx_started = e.started_at
        if previous is not None and abs(e.started_at - previous) > 5.0:
            self.stats.restarts += 1
            self._out = []
            for call in list(self.calls.values()):
                self._close(call, Outcome.INCOMPLETE, None)


# Event types whose handler sets no fact of ``Call.deadline_inputs`` on a call that exists
# before the event (caller ID, a hang-up request, bridges, recordings, agents tried and
# completed, transfers): the pipeline does not compare a call's deadline inputs after them.
# The event may create its call (first seen mid-call): that call is new to the pipeline, which
# compares it anyway. tests/monitor/tracker/test_deadline_neutral.py replays every capture and
# a simulated day to check that these never change any open call's deadline inputs.
DEADLINE_NEUTRAL: Final[frozenset[type]] = frozenset(
    {
        CallerIdChanged,
        HangupRequested,
        BridgeEntered,
        BridgeLeft,
        RecordingFile,
        AgentCalled,
        AgentRingNoAnswer,
        AgentCompleted,
        BlindTransferred,
        AttendedTransferred,
    }
)
