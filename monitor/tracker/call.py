"""One call in progress (mutable, owned by the tracker) and how it becomes a CallRecord."""

from __future__ import annotations

from typing import Final

from monitor.channel import device_of
from monitor.record import CallRecord, Direction, LiveCall, Outcome, Span, Timing, rings_for
from monitor.tracker.settings import TrackerSettings
from monitor.tracker.state import CallState

__all__ = ["Call", "Leg", "is_withheld"]

# Final: compiled code reads these from C statics, not the module's dict
_FAILED_CAUSES: Final = frozenset({1, 3, 27, 28, 34, 38, 41, 42, 44, 58, 88, 127})
_WITHHELD: Final = frozenset({"anonymous", "restricted", "private", "unavailable", "withheld"})


class Leg:
    """One channel of a call (one Uniqueid)."""

    __slots__ = (
        "caller_name",
        "channel",
        "context",
        "created_at",
        "ended_at",
        "exten",
        "person",
        "rang",
        "uniqueid",
    )

    def __init__(
        self,
        uniqueid: str,
        channel: str,
        created_at: float,
        context: str,
        exten: str,
        caller_name: str | None = None,
    ) -> None:
        self.uniqueid = uniqueid
        self.caller_name = caller_name  # the channel's own caller-ID name (its user)
        self.channel = channel
        self.created_at = created_at
        self.context = context
        self.exten = exten
        self.ended_at: float | None = None
        self.person = False  # a phone answered by a person (agent, extension, callee)
        self.rang = False  # this leg was heard ringing (a phone being called)

    @property
    def device(self) -> str:
        return device_of(self.channel)


class Call:
    """Facts gathered about one call (Linkedid) while its events arrive."""

    __slots__ = (
        "abandoned",
        "agent",
        "agents_tried",
        "answer_by_durations",
        "answer_leg",
        "answered_any_at",
        "answered_at",
        "ast_ring",
        "ast_talk",
        "ast_wait",
        "busy",
        "call_id",
        "caller_leg",
        "caller_name",
        "caller_num",
        "cancelled",
        "context",
        "dial_failed",
        "dialed",
        "ended_at",
        "events",
        "exact",
        "first_ring_at",
        "ghost",
        "hangup_cause",
        "holds",
        "last_event_at",
        "legs",
        "midway",
        "open_holds",
        "persons_up",
        "queue",
        "queue_exit",
        "queue_joined_at",
        "queue_left_at",
        "recording",
        "replay_clock",
        "rna",
        "started_at",
        "state",
        "talk_end_at",
        "transfer_talk_end",
        "transfer_times",
        "transfers",
        "voicemail",
        "voicemail_at",
        "withheld",
    )

    def __init__(self, call_id: str, at: float, exact: bool) -> None:
        self.call_id = call_id
        self.started_at = at
        self.exact = exact
        self.state = CallState.ARRIVING
        self.legs: dict[str, Leg] = {}
        self.caller_leg: str | None = None
        self.caller_num: str | None = None
        self.caller_name: str | None = None
        self.withheld = False
        self.dialed: str | None = None
        self.context = ""
        self.queue: str | None = None
        self.queue_joined_at: float | None = None
        self.queue_left_at: float | None = None
        self.queue_exit: str | None = None  # the queue sent the caller on (QUEUESTATUS)
        self.abandoned = False
        self.agent: str | None = None
        self.agents_tried: list[str] = []
        self.first_ring_at: float | None = None
        self.answered_at: float | None = None
        self.answered_any_at: float | None = None
        # without timestamps, the answer time is known (to the second) only from Asterisk's
        # own durations (AgentConnect RingTime/HoldTime); else the replay clock gives a bound
        self.answer_by_durations = False
        self.answer_leg: str | None = None  # the first person's leg that answered
        self.talk_end_at: float | None = None
        # a queue call transferred on: the agent's part ends at AgentComplete (TalkTime)
        self.transfer_talk_end: float | None = None
        self.persons_up: set[str] = set()
        self.ended_at: float | None = None
        self.holds: list[Span] = []
        self.open_holds: dict[str, float] = {}
        self.transfers = 0
        self.transfer_times: list[float] = []
        self.hangup_cause: int | None = None
        self.voicemail = False
        self.voicemail_at: float | None = None
        self.busy = False
        self.dial_failed = False
        self.cancelled = False  # a Dial ended CANCEL: the caller hung up while it rang
        self.recording: str | None = None
        self.rna = 0
        self.ast_wait: float | None = None
        self.ast_ring: float | None = None
        self.ast_talk: float | None = None
        self.last_event_at = at
        self.events = 0
        self.ghost = False  # a late event for a call already closed: tracked, never reported
        # first seen mid-call (a resync after a reconnect, or events before its Newchannel):
        # what happened before is unknown, so without an observed answer it is incomplete
        self.midway = False
        # some event had no clock of its own (a replay without Timestamp: the replay clock's
        # bound): times are then known only from Asterisk's durations (docs/call-record.md).
        # Not the same as ``exact`` False, which a resync's start (known to the second) sets.
        self.replay_clock = False

    # ---- derived facts ---------------------------------------------------------------------

    def deadline_inputs(self) -> tuple[object, ...]:
        """Every fact a live deadline reads (monitor/rules/live.py ``_deadline`` and
        ``applies``): the direction's inputs, the clocks, the answer, the queue wait, the
        running holds. While this tuple stays equal the call's deadlines stay the same."""
        return (
            self.context,
            self.dialed,
            self.queue,
            self.started_at,
            self.first_ring_at,
            self.queue_joined_at,
            self.queue_left_at,
            self.answered_at,
            self.answered_any_at,
            self.ended_at,
            self.voicemail_at,
            self.ast_wait,
            tuple(self.open_holds.values()) if self.open_holds else None,
        )

    def direction(self, settings: TrackerSettings) -> Direction:
        if self.context in settings.inbound_contexts:
            return Direction.INBOUND
        if self.context in settings.internal_contexts:
            return Direction.OUTBOUND if _outside(self.dialed, settings) else Direction.INTERNAL
        if self.queue is not None:
            return Direction.INBOUND
        return Direction.INTERNAL

    def outcome(self) -> Outcome:
        if self.answered_at is not None:
            return Outcome.ANSWERED
        if self.midway and not (self.abandoned and self.queue_joined_at is not None):
            # first seen mid-call: what happened before is unknown. A caller seen waiting in
            # a queue (a resync's QueueEntry) and seen hanging up unanswered abandoned it.
            return Outcome.INCOMPLETE
        if self.voicemail:
            return Outcome.VOICEMAIL
        if self.abandoned:
            return Outcome.ABANDONED
        if self.busy or self.hangup_cause == 17:
            return Outcome.BUSY
        if self.cancelled:
            return Outcome.UNANSWERED  # Cause 127 here is the cancel, not a failure
        if self.dial_failed or (self.hangup_cause in _FAILED_CAUSES):
            return Outcome.FAILED
        return Outcome.UNANSWERED

    def _extra(self, live: bool) -> dict[str, object]:
        extra: dict[str, object] = {}
        if self.transfer_times:
            extra["transfer_at"] = list(self.transfer_times)  # drawn on the call timeline
        if self.queue_exit is not None:
            extra["queue_exit"] = self.queue_exit
        if live:
            extra["state"] = str(self.state)
        return extra

    def queue_wait(self) -> float | None:
        """Seconds in the queue: to the answer, the queue leave or the end (Asterisk's own
        HoldTime for a replay without timestamps); None outside a queue or while waiting."""
        if self.queue_joined_at is None:
            return None
        if self.replay_clock:
            return self.ast_wait  # unknown without Asterisk's HoldTime: not a clock difference
        if not self.exact and self.ast_wait is not None:
            return self.ast_wait
        stop = self.answered_at if self.answered_at is not None else self.queue_left_at
        if stop is None:
            stop = self.ended_at
        return None if stop is None else max(0.0, stop - self.queue_joined_at)

    def live_view(self, settings: TrackerSettings) -> LiveCall:
        """The running call as the live checks see it (cheaper than ``to_record``)."""
        holds = tuple(self.holds)
        if self.open_holds:
            holds += tuple(Span(start) for start in self.open_holds.values())
        return LiveCall(
            self.call_id,
            settings.pbx,
            self.direction(settings),
            self.queue,
            self.started_at,
            self.first_ring_at,
            self.queue_joined_at,
            self.answered_at,
            self.answered_any_at,
            self.queue_wait(),
            holds,
            self.ended_at,
            self.voicemail_at,
        )

    def _approximate_ring_end(self, ring: float | None) -> tuple[float | None, float | None]:
        """Without ``Timestamp:`` headers the replay clock only moves when a channel is
        created: an event's time is a lower bound, not its time (docs/call-record.md). Known
        to the second: the start (the Uniqueid's creation second) and what Asterisk's own
        durations give. The ring time needs an answer dated by AgentConnect; the end needs
        TalkTime after such an answer, or HoldTime of an abandon."""
        if not self.answer_by_durations:
            ring = None
        if self.answer_by_durations and self.answered_at is not None and self.ast_talk is not None:
            return ring, self.answered_at + self.ast_talk
        if (
            self.answered_at is None
            and self.abandoned
            and self.ast_wait is not None
            and self.queue_joined_at is not None
        ):
            return ring, self.queue_joined_at + self.ast_wait
        return ring, None

    def _agent(self, settings: TrackerSettings, direction: Direction) -> str | None:
        """The agent is a person, never a trunk: the internal party (whoever answered an
        inbound or internal call; the caller of an outbound one, which went out on a trunk),
        named by the ``agents:`` map of its device, else its caller-ID name, else its device."""
        uid = self.caller_leg if direction is Direction.OUTBOUND else self.answer_leg
        leg = None if uid is None else self.legs.get(uid)
        if leg is None or (direction is Direction.OUTBOUND and self.answered_at is None):
            return None
        device = leg.device
        caller = None if self.caller_leg is None else self.legs.get(self.caller_leg)
        if uid != self.caller_leg and caller is not None and caller.device == device:
            return None  # answered on the trunk the call came in on: not a person of ours
        mapped = settings.agent_for_device(device)
        if mapped is not None:
            return mapped
        name = self.caller_name if uid == self.caller_leg else leg.caller_name
        if name and name.lower() not in _WITHHELD and any(ch.isalpha() for ch in name):
            return name
        return device

    def to_record(
        self, settings: TrackerSettings, *, outcome: Outcome | None = None, live: bool = False
    ) -> CallRecord:
        """Build the call record. ``outcome`` forces one (``incomplete``); ``live`` makes a
        snapshot of a running call (running holds keep ``end=None``)."""
        final = outcome if outcome is not None else self.outcome()
        answered = self.answered_at
        ended = self.ended_at
        ring = None if answered is None else max(0.0, answered - self.started_at)
        wait = self.queue_wait()
        talk: float | None = None
        if answered is not None:
            if self.replay_clock or (not self.exact and self.ast_talk is not None):
                talk = self.ast_talk
            else:
                end = self.transfer_talk_end or self.talk_end_at or ended
                talk = None if end is None else max(0.0, end - answered)
        if self.replay_clock:
            ring, known_end = self._approximate_ring_end(ring)
            ended = None if ended is None else known_end
        holds = list(self.holds)
        if live:
            holds.extend(Span(start) for start in self.open_holds.values())
        closed = [h.seconds() for h in holds if h.end is not None]
        caller = self.caller_num if not self.withheld else None
        direction = self.direction(settings)
        # positional, in CallRecord's field order (each named): a keyword call builds a
        # dict of 36 names that the constructor then looks up one by one, for every call
        return CallRecord(
            self.call_id,  # call_id
            settings.pbx,  # pbx
            direction,  # direction
            caller,  # caller
            self.dialed,  # dialed
            self.queue,  # queue
            self.agent if self.agent is not None else self._agent(settings, direction),  # agent
            self.started_at,  # started_at
            answered,  # answered_at
            ended,  # ended_at
            final,  # outcome
            ring,  # ring_seconds
            rings_for(ring, settings.cadence_seconds),  # rings
            wait,  # queue_wait_seconds
            talk,  # talk_seconds
            sum(closed, 0.0),  # hold_seconds (0.0, not 0, with no hold: as compiled)
            len(holds),  # hold_count
            max(closed, default=0.0),  # longest_hold_seconds
            self.transfers,  # transfers
            self.hangup_cause,  # hangup_cause
            Timing.EXACT if self.exact else Timing.APPROXIMATE,  # timing
            (),  # findings
            self.caller_name,  # caller_name
            self.withheld,  # caller_withheld
            self.first_ring_at,  # first_ring_at
            self.queue_joined_at,  # queue_joined_at
            self.answered_any_at,  # answered_any_at
            self.voicemail_at,  # voicemail_at
            tuple(holds),  # holds
            self.rna,  # agent_ring_no_answer
            tuple(self.agents_tried),  # agents_tried
            self.recording,  # recording
            None,  # audio
            len(self.legs),  # legs
            self.events,  # events
            self._extra(live),  # extra
        )


def _outside(dialed: str | None, settings: TrackerSettings) -> bool:
    if not dialed:
        return False
    if dialed.startswith("+"):
        return True
    digits = sum(ch.isdigit() for ch in dialed)
    return digits >= settings.outside_min_digits


def is_withheld(num: str | None, name: str | None) -> bool:
    """True when the caller's number cannot be returned (anonymous, restricted, empty)."""
    if not num:
        return True
    if num.lower() in _WITHHELD or (name or "").lower() in _WITHHELD:
        return True
    return not any(ch.isdigit() for ch in num)
