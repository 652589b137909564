"""The tracker's handlers of app_queue's events (join, leave, abandon, exit, agents called,
connected, completed) and of transfers: a layer of the tracker between TrackerBase (the
calls, legs and moves) and Tracker (the dispatch and the channel events). Compiled with them
(decision 0007); split from monitor/tracker/tracker.py to keep modules small."""

from __future__ import annotations

from monitor import events as ev
from monitor.events import ChannelRef
from monitor.tracker.base import TrackerBase
from monitor.tracker.call import Call
from monitor.tracker.state import CallState

__all__ = ["QueueTracker"]


class QueueTracker(TrackerBase):
    """Queue, agent and transfer events applied to their calls."""

    def _on_queue_join(self, e: ev.QueueJoined) -> None:
        call = self._call_for(e.chan, e.at, e.exact)
        if call.queue is None:
            call.queue = e.queue
            call.queue_joined_at = e.at
        call.queue_left_at = None
        self._move(call, CallState.QUEUED, "queue join")

    def _on_queue_leave(self, e: ev.QueueLeft) -> None:
        call = self._call_for(e.chan, e.at, e.exact)
        if call.queue_left_at is None:
            call.queue_left_at = e.at

    def _on_queue_abandon(self, e: ev.QueueAbandoned) -> None:
        call = self._call_for(e.chan, e.at, e.exact)
        call.abandoned = True
        call.queue_left_at = e.at
        if not e.exact:
            call.ast_wait = e.wait_seconds
            if call.queue_joined_at is not None:
                call.queue_left_at = max(e.at, call.queue_joined_at + e.wait_seconds)

    def _on_queue_exit(self, e: ev.QueueExited) -> None:
        """The queue sent the caller on (timeout, empty queue ...): app_queue announced it
        with QueueCallerAbandon, but the caller did not hang up: not an abandon."""
        call = self._call_for(e.chan, e.at, e.exact)
        if call.queue is None or e.reason == "continue" or call.answered_at is not None:
            return
        call.queue_exit = e.reason
        call.abandoned = False
        if call.queue_left_at is None:
            call.queue_left_at = e.at

    def _member_call(
        self, caller: ChannelRef | None, dest: ChannelRef, at: float, exact: bool
    ) -> Call:
        if caller is not None:
            return self._call_for(caller, at, exact)
        return self._call_for(dest, at, exact)

    def _on_agent_called(self, e: ev.AgentCalled) -> None:
        call = self._member_call(e.caller, e.dest, e.at, e.exact)
        if e.member_name not in call.agents_tried:
            call.agents_tried.append(e.member_name)

    def _on_agent_rna(self, e: ev.AgentRingNoAnswer) -> None:
        call = self._member_call(e.caller, e.dest, e.at, e.exact)
        call.rna += 1
        if call.state is CallState.RINGING and call.queue is not None:
            self._move(call, CallState.QUEUED, "ring no answer")

    def _on_agent_connect(self, e: ev.AgentConnected) -> None:
        call = self._member_call(e.caller, e.dest, e.at, e.exact)
        call.agent = e.member_name
        if e.exact:
            if call.answered_at is None:
                self._person_answered(call, e.dest, e.at, e.member_name)
            return
        # No timestamps: Asterisk's own durations are the best clock we have.
        dest_leg = call.legs.get(e.dest.uniqueid)
        answered = e.at
        if dest_leg is not None:
            answered = max(answered, dest_leg.created_at + e.ring_seconds)
        call.answered_at = None
        self._person_answered(call, e.dest, answered, e.member_name)
        call.answer_by_durations = True
        call.ast_wait = e.wait_seconds
        call.ast_ring = e.ring_seconds
        call.queue_joined_at = answered - e.wait_seconds
        call.queue_left_at = answered

    def _on_agent_complete(self, e: ev.AgentCompleted) -> None:
        call = self._member_call(e.caller, e.dest, e.at, e.exact)
        if not e.exact:
            call.ast_talk = e.talk_seconds
        if e.reason == "transfer" and e.exact and call.transfer_talk_end is None:
            # counted from the BlindTransfer/AttendedTransfer event itself; the talk is the
            # agent's part, as TalkTime (the caller may go on talking to the target)
            call.transfer_talk_end = e.at

    def _on_blind(self, e: ev.BlindTransferred) -> None:
        self._transferred(e.transferee or e.transferer, e.result, e.at, e.exact)

    def _on_attended(self, e: ev.AttendedTransferred) -> None:
        self._transferred(e.transferee or e.orig_transferer, e.result, e.at, e.exact)

    def _transferred(self, chan: ChannelRef | None, result: str, at: float, exact: bool) -> None:
        """A transfer that succeeded counts on the call of the leg it moved (or of who made it)."""
        if chan is None or result.lower() != "success":
            return
        call = self._call_for(chan, at, exact)
        call.transfers += 1
        call.transfer_times.append(at)
