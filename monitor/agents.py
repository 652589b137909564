"""Agent state for the live view: each queue member's state, since when, and its call.

A pure model fed the events the translator already emits (``MemberChanged`` from the
QueueMember* events, ``AgentConnected``, ``AgentCompleted``); it keeps no call facts (those
are the tracker's) and runs on event time. One board per PBX, fed by its pipeline
(``Pipeline(observers=[board])``); the web's live view reads ``agents()``.

States, in the order they win:
  * ``paused`` — the member is paused (with the reason given, if any);
  * ``on_call`` — between AgentConnect and AgentComplete, or the member's device is in use;
  * ``wrap_up`` — after AgentComplete, for the member's Wrapuptime (QueueMemberStatus,
    Asterisk 16+), else the board's ``wrapup_seconds``; when both are 0, until the member's
    next status event;
  * ``ringing`` — the member's device rings;
  * ``unavailable`` — device unavailable or invalid;
  * ``available`` — otherwise.
A member removed from every queue leaves the board.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor import events as ev

__all__ = ["STATES", "AgentBoard", "AgentView"]

STATES: tuple[str, ...] = ("available", "ringing", "on_call", "wrap_up", "paused", "unavailable")

_IN_USE = frozenset({2, 3, 7, 8})  # in use, busy, ring in use, on hold
_RINGING = frozenset({6})
_UNAVAILABLE = frozenset({4, 5})


@dataclass(frozen=True, slots=True)
class AgentView:
    """One agent now. ``since`` is when the state began (event time); ``call_id`` and
    ``call_queue`` the call being handled (on_call), else None."""

    name: str
    state: str
    since: float
    reason: str
    queues: tuple[str, ...]
    call_id: str | None
    call_queue: str | None


@dataclass
class _Member:
    name: str
    queues: set[str] = field(default_factory=set)
    device: int = 1
    paused: bool = False
    reason: str = ""
    call_id: str | None = None
    call_queue: str | None = None
    wrap_until: float | None = None  # wrap-up ends (inf: at the next status event)
    wrapup: float = 0.0  # the member's Wrapuptime, from its status events
    state: str = "available"
    since: float = 0.0


class AgentBoard:
    """Queue members by name. Not thread-safe: the pipeline's event loop feeds and reads it."""

    def __init__(self, wrapup_seconds: float = 0.0) -> None:
        if wrapup_seconds < 0:
            raise ValueError(f"wrapup_seconds must be >= 0, got {wrapup_seconds}")
        self.wrapup_seconds = wrapup_seconds
        self._members: dict[str, _Member] = {}
        self.now = 0.0

    def feed(self, event: ev.Event) -> None:
        """Apply one event (others are ignored)."""
        self.now = max(self.now, event.at)
        if isinstance(event, ev.MemberChanged):
            self._changed(event)
        elif isinstance(event, ev.AgentConnected):
            m = self._get(event.member_name, event.at)
            m.queues.add(event.queue)
            m.call_id = event.caller.linkedid if event.caller else event.dest.linkedid
            m.call_queue = event.queue
            m.wrap_until = None
            self._settle(m, event.at)
        elif isinstance(event, ev.AgentCompleted):
            m = self._get(event.member_name, event.at)
            m.call_id = m.call_queue = None
            if m.device in _IN_USE:
                m.device = 1  # the call ended; the next status event says what follows
            wrapup = m.wrapup or self.wrapup_seconds
            m.wrap_until = event.at + wrapup if wrapup else float("inf")
            self._settle(m, event.at)

    def _get(self, name: str, at: float) -> _Member:
        m = self._members.get(name)
        if m is None:
            m = self._members[name] = _Member(name=name, since=at)
        return m

    def _changed(self, e: ev.MemberChanged) -> None:
        name = e.member_name or e.interface
        if e.kind == "removed":
            m = self._members.get(name)
            if m is not None:
                m.queues.discard(e.queue)
                if not m.queues:
                    del self._members[name]
            return
        m = self._get(name, e.at)
        if e.queue:
            m.queues.add(e.queue)
        m.paused = e.paused
        m.reason = e.reason if e.paused else ""
        if e.kind != "pause":
            m.device = e.device
            m.wrapup = e.wrapup_seconds
            if m.wrap_until == float("inf") and e.device not in _IN_USE:
                m.wrap_until = None  # the next status event ends an open-ended wrap-up
        self._settle(m, e.at)

    def _state(self, m: _Member, now: float) -> str:
        if m.paused:
            return "paused"
        if m.call_id is not None or m.device in _IN_USE:
            return "on_call"
        if m.wrap_until is not None and now < m.wrap_until:
            return "wrap_up"
        if m.device in _RINGING:
            return "ringing"
        if m.device in _UNAVAILABLE:
            return "unavailable"
        return "available"

    def _settle(self, m: _Member, at: float) -> None:
        state = self._state(m, at)
        if state != m.state:
            # a timed wrap-up that ran out before this event ended when it ran out
            ended = m.wrap_until if m.state == "wrap_up" and m.wrap_until is not None else at
            m.state, m.since = state, min(at, ended)
        if state != "wrap_up" and m.wrap_until is not None and at >= m.wrap_until:
            m.wrap_until = None

    def advance(self, now: float) -> None:
        """Move event time on (a timed wrap-up ends by itself)."""
        self.now = max(self.now, now)
        for m in self._members.values():
            if m.state == "wrap_up":
                self._settle(m, self.now)

    def agents(self) -> list[AgentView]:
        """Every member, by name."""
        self.advance(self.now)
        return [
            AgentView(
                name=m.name,
                state=m.state,
                since=m.since,
                reason=m.reason,
                queues=tuple(sorted(m.queues)),
                call_id=m.call_id,
                call_queue=m.call_queue,
            )
            for m in sorted(self._members.values(), key=lambda m: m.name)
        ]
