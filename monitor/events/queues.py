"""Queue caller and queue member (agent) events."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.channel import ChannelRef
from monitor.events.base import _Base
from monitor.frozen import fast_init

__all__ = [
    "AgentCalled",
    "AgentCompleted",
    "AgentConnected",
    "AgentDumped",
    "AgentRingNoAnswer",
    "MemberChanged",
    "QueueAbandoned",
    "QueueExited",
    "QueueJoined",
    "QueueLeft",
]


# ---- queues ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueJoined(_Base):
    """QueueCallerJoin."""

    chan: ChannelRef
    queue: str
    position: int
    count: int


fast_init(QueueJoined)


@dataclass(frozen=True, slots=True)
class QueueLeft(_Base):
    """QueueCallerLeave: sent for every reason of leaving, answered included."""

    chan: ChannelRef
    queue: str
    position: int
    count: int


fast_init(QueueLeft)


@dataclass(frozen=True, slots=True)
class QueueAbandoned(_Base):
    """QueueCallerAbandon. ``wait_seconds`` is Asterisk's HoldTime (queue wait, s)."""

    chan: ChannelRef
    queue: str
    position: int
    original_position: int
    wait_seconds: float


fast_init(QueueAbandoned)


@dataclass(frozen=True, slots=True)
class QueueExited(_Base):
    """The queue sent the caller on (VarSet ``QUEUESTATUS``): ``reason`` is ``timeout``,
    ``empty``, ``unavailable``, ``full``, ``joinempty``, ``joinunavail``, ``withdraw`` or
    ``continue``. app_queue reports a timeout or an empty queue with QueueCallerAbandon too,
    although the caller did not hang up."""

    chan: ChannelRef
    reason: str


fast_init(QueueExited)


@dataclass(frozen=True, slots=True)
class AgentCalled(_Base):
    caller: ChannelRef | None
    dest: ChannelRef
    queue: str
    interface: str
    member_name: str


fast_init(AgentCalled)


@dataclass(frozen=True, slots=True)
class AgentRingNoAnswer(_Base):
    """AgentRingNoAnswer. ``ring_seconds`` converted from Asterisk's milliseconds."""

    caller: ChannelRef | None
    dest: ChannelRef
    queue: str
    interface: str
    member_name: str
    ring_seconds: float


fast_init(AgentRingNoAnswer)


@dataclass(frozen=True, slots=True)
class AgentConnected(_Base):
    """AgentConnect. ``wait_seconds`` = HoldTime (queue join to answer), ``ring_seconds`` =
    RingTime (this member rang), both whole seconds from Asterisk."""

    caller: ChannelRef | None
    dest: ChannelRef
    queue: str
    interface: str
    member_name: str
    wait_seconds: float
    ring_seconds: float


fast_init(AgentConnected)


@dataclass(frozen=True, slots=True)
class AgentCompleted(_Base):
    """AgentComplete. ``reason`` is caller, agent or transfer. ``caller`` may be missing
    (asterisk#393: the caller block is absent when the caller channel is already gone)."""

    caller: ChannelRef | None
    dest: ChannelRef
    queue: str
    interface: str
    member_name: str
    wait_seconds: float
    talk_seconds: float
    reason: str


fast_init(AgentCompleted)


@dataclass(frozen=True, slots=True)
class AgentDumped(_Base):
    caller: ChannelRef | None
    dest: ChannelRef
    queue: str
    interface: str
    member_name: str


fast_init(AgentDumped)


@dataclass(frozen=True, slots=True)
class MemberChanged(_Base):
    """A queue member's state: QueueMemberStatus, QueueMemberAdded, QueueMemberRemoved and
    QueueMemberPause (11: QueueMemberPaused). ``kind`` is status, added, removed or pause;
    ``device`` is the member's device state (0 unknown, 1 not in use, 2 in use, 3 busy,
    4 invalid, 5 unavailable, 6 ringing, 7 ring in use, 8 on hold); ``reason`` is the pause
    reason ("" when none was given); ``wrapup_seconds`` the member's wrap-up after a call
    (Wrapuptime, Asterisk 16+; 0 when not sent)."""

    queue: str
    interface: str
    member_name: str
    kind: str
    device: int
    in_call: bool
    paused: bool
    reason: str
    wrapup_seconds: float = 0.0


fast_init(MemberChanged)
