"""The tracker's plumbing: calls and legs, moving legs between calls, the state machine's
moves, closing a call exactly once. ``monitor.tracker.tracker.Tracker`` adds the public API and
one handler per event type on top of it."""

from __future__ import annotations

import logging
from collections import Counter, deque

from monitor.events import ChannelRef, ChannelState
from monitor.record import CallRecord, Outcome, Span
from monitor.tracker.call import Call, Leg, is_withheld
from monitor.tracker.settings import TrackerSettings
from monitor.tracker.state import ALLOWED, CallState

__all__ = ["TrackerBase", "TrackerStats"]

log = logging.getLogger("monitor.tracker.tracker")


class TrackerStats:
    __slots__ = ("completed", "events", "expired", "illegal", "restarts", "started", "unmatched")

    def __init__(self) -> None:
        self.events = 0
        self.started = 0
        self.completed = 0
        self.expired = 0
        self.restarts = 0
        self.unmatched = 0
        self.illegal: Counter[str] = Counter()


class TrackerBase:
    """State and plumbing of the tracker (see Tracker)."""

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self.settings = settings or TrackerSettings()
        self.calls: dict[str, Call] = {}
        self._leg_call: dict[str, str] = {}  # uniqueid -> call id
        self._pbx_started: float | None = None
        self.stats = TrackerStats()
        self.last_call_id: str | None = None
        self._out: list[CallRecord] = []
        # ids of the calls the last ``feed`` dropped without a record (every leg moved to
        # another call): whoever keeps per-call state beside the tracker (the pipeline)
        # forgets them
        self.dissolved: list[str] = []
        # recently closed call ids, in generations: (event time the generation began, ids);
        # bounded by settings.closed_memory_seconds and closed_memory_calls (_remember_closed)
        self._closed: deque[tuple[float, set[str]]] = deque()
        self._closed_count = 0
        # a lower bound of every open call's last_event_at (it only grows per call; a new
        # call lowers it): ``expire`` skips its scan while no call can be stale
        self._oldest_event_floor = float("inf")

    _CLOSED_GENERATIONS = 8

    # ---- plumbing ------------------------------------------------------------------------------

    def _call_for(self, chan: ChannelRef, at: float, exact: bool) -> Call:
        """The call this channel belongs to; creates the call/leg when first seen."""
        calls = self.calls
        uid = chan.uniqueid
        call_id = self._leg_call.get(uid)
        call = None if call_id is None else calls.get(call_id)
        if call is not None:
            linkedid = chan.linkedid
            if linkedid != call_id and linkedid in calls:
                self._move_leg(uid, call.call_id, linkedid)
                call_id = linkedid
                call = calls[linkedid]
        elif call_id is not None:
            # never expected (every pointer goes when its call closes): heal, do not raise
            del self._leg_call[uid]
        if call is None:
            call_id = chan.linkedid
            call = calls.get(call_id)
            if call is None and self.was_closed(call_id):
                # a late event of a call already reported (e.g. after a restart): absorb it
                self.stats.unmatched += 1
                ghost = Call(call_id, at, exact)
                ghost.ghost = True
                return ghost
            if call is None:
                call = Call(call_id, at, exact)
                if at < self._oldest_event_floor:
                    self._oldest_event_floor = at
                call.midway = True  # unless this is its Newchannel (see _on_created)
                calls[call_id] = call
                self.stats.started += 1
            self._add_leg(call, chan, at)
        call.events += 1
        if at > call.last_event_at:
            call.last_event_at = at
        if not exact:
            call.exact = False
            call.replay_clock = True
        self.last_call_id = call.call_id
        return call

    def _add_leg(self, call: Call, chan: ChannelRef, at: float) -> Leg:
        leg = Leg(chan.uniqueid, chan.channel, at, chan.context, chan.exten, chan.caller_name)
        call.legs[chan.uniqueid] = leg
        if not call.ghost:
            # a ghost (a late event of a closed call) is not in ``calls``: a pointer to it
            # would dangle. Its new legs stay ghosts: their events are absorbed the same way.
            self._leg_call[chan.uniqueid] = call.call_id
        if call.caller_leg is None:
            call.caller_leg = chan.uniqueid
            call.started_at = min(call.started_at, at)
            call.context = chan.context
            call.caller_num = chan.caller_num
            call.caller_name = chan.caller_name
            call.withheld = is_withheld(chan.caller_num, chan.caller_name)
            if chan.exten and chan.exten != "s":
                call.dialed = chan.exten
        return leg

    def _move_leg(self, uniqueid: str, src_id: str, dst_id: str) -> None:
        src, dst = self.calls.get(src_id), self.calls.get(dst_id)
        if src is None or dst is None:
            return
        leg = src.legs.pop(uniqueid, None)
        if leg is None:
            return
        dst.legs[uniqueid] = leg
        self._leg_call[uniqueid] = dst_id
        if leg.person and leg.ended_at is None:
            src.persons_up.discard(uniqueid)
            dst.persons_up.add(uniqueid)
        if src.caller_leg == uniqueid:
            src.caller_leg = next(iter(src.legs), None)
        if not src.legs:
            # every leg now belongs to another call: it was never a call of its own
            del self.calls[src_id]
            self.dissolved.append(src_id)
            self.stats.started -= 1
        elif all(lg.ended_at is not None for lg in src.legs.values()):
            self._close(src, None, src.last_event_at)

    def was_closed(self, call_id: str) -> bool:
        """Whether ``call_id`` closed recently (within the closed-call memory)."""
        return any(call_id in ids for _, ids in self._closed)

    @property
    def closed_remembered(self) -> int:
        """How many closed call ids the tracker remembers (bounded: see TrackerSettings)."""
        return self._closed_count

    def _remember_closed(self, call_id: str, at: float) -> None:
        """Remember a closed call id; forget whole generations that are older than the
        memory's span (event time) or over its count. Each generation holds at most an
        eighth of either bound, so memory holds between 7/8 and all of each."""
        gens = self._closed
        span = self.settings.closed_memory_seconds / self._CLOSED_GENERATIONS
        cap = self.settings.closed_memory_calls
        per_gen = max(1, cap // self._CLOSED_GENERATIONS)
        if not gens or at >= gens[-1][0] + span or len(gens[-1][1]) >= per_gen:
            gens.append((max(at, gens[-1][0]) if gens else at, set()))
        ids = gens[-1][1]
        if call_id not in ids:
            ids.add(call_id)
            self._closed_count += 1
        horizon = at - self.settings.closed_memory_seconds - span
        while len(gens) > 1 and (self._closed_count > cap or gens[0][0] < horizon):
            self._closed_count -= len(gens.popleft()[1])

    def _move(self, call: Call, dst: CallState, cause: str) -> None:
        src = call.state
        if src is dst:
            return
        if dst in ALLOWED[src]:
            call.state = dst
            return
        self.stats.illegal[f"{src}->{dst}"] += 1
        log.debug("call %s: impossible transition %s -> %s on %s", call.call_id, src, dst, cause)

    def _close(self, call: Call, outcome: Outcome | None, at: float | None) -> None:
        if call.ghost:
            return
        self._remember_closed(call.call_id, call.last_event_at if at is None else at)
        if outcome is None:
            call.ended_at = at
        for uid, start in list(call.open_holds.items()):
            end = at if at is not None else call.last_event_at
            call.holds.append(Span(start, max(start, end)))
            del call.open_holds[uid]
        if not call.exact and call.answered_at is not None and call.ast_talk is not None:
            estimate = call.answered_at + call.ast_talk
            if call.ended_at is not None and estimate > call.ended_at:
                call.ended_at = estimate
        call.state = CallState.ENDED
        record = call.to_record(self.settings, outcome=outcome)
        del self.calls[call.call_id]
        for uid in call.legs:
            if self._leg_call.get(uid) == call.call_id:
                del self._leg_call[uid]
        self.stats.completed += 1
        self._out.append(record)

    def _end_hold(self, call: Call, uniqueid: str, at: float) -> None:
        start = call.open_holds.pop(uniqueid, None)
        if start is not None:
            call.holds.append(Span(start, max(start, at)))
            if not call.open_holds and call.state is CallState.ON_HOLD:
                self._move(call, CallState.TALKING, "hold ended")

    def _is_person(self, chan: ChannelRef) -> bool:
        name = chan.channel
        if not name or name.startswith("Local/"):
            return False
        return not any(name.startswith(p) for p in self.settings.voicemail_prefixes)

    def _person_answered(self, call: Call, dest: ChannelRef, at: float, agent: str | None) -> None:
        leg = call.legs.get(dest.uniqueid)
        if leg is None:
            leg = self._add_leg(call, dest, at)
        if not leg.person:
            leg.person = True
        if leg.ended_at is None:
            call.persons_up.add(dest.uniqueid)
            call.talk_end_at = None
        if call.answered_at is None or at < call.answered_at:
            call.answered_at = at
            call.answer_leg = dest.uniqueid
        if call.answered_any_at is None or at < call.answered_any_at:
            call.answered_any_at = at
        if agent and call.agent is None:
            call.agent = agent
        if call.state is not CallState.ON_HOLD:
            self._move(call, CallState.TALKING, "answer")

    def _leg_ended(self, call: Call, uniqueid: str, at: float) -> None:
        if uniqueid in call.persons_up:
            call.persons_up.discard(uniqueid)
            if not call.persons_up and call.talk_end_at is None:
                call.talk_end_at = at
        elif uniqueid == call.caller_leg and call.talk_end_at is None and call.answered_at:
            call.talk_end_at = at

    def _in_voicemail(self, chan: ChannelRef) -> bool:
        """The channel is in the voicemail dialplan: a voicemail context, or Up on a
        voicemail extension (docs/call-record.md, "Events ringwatch reads")."""
        s = self.settings
        if chan.context in s.voicemail_contexts:
            return True
        if chan.state is not ChannelState.UP:
            return False
        exten = chan.exten
        return any(exten.startswith(p) and exten[len(p) :].isdigit() for p in s.voicemail_extens)

    def _reached_voicemail(self, call: Call, at: float) -> None:
        call.voicemail = True
        if call.voicemail_at is None or at < call.voicemail_at:
            call.voicemail_at = at
        if call.answered_any_at is None:
            call.answered_any_at = at
        if call.queue is not None and call.queue_left_at is None:
            call.queue_left_at = at
        if call.answered_at is None:
            self._move(call, CallState.IVR, "voicemail")

    @staticmethod
    def _caller_left(call: Call) -> bool:
        """A queue call whose caller hung up with no person still on the line is over, even
        when member legs of earlier ring rounds were never seen to hang up (their Hangup comes
        later, or never: filtered, Local channels); their late events are absorbed."""
        if call.queue is None or call.persons_up or call.caller_leg is None:
            return False
        caller = call.legs.get(call.caller_leg)
        return caller is not None and caller.ended_at is not None
