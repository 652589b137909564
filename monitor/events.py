"""Telephony events: what a collector tells the tracker, in ringwatch's own words.

These frozen dataclasses are the contract between ``collectors`` and ``monitor``. Only
``collectors/ami/translate`` knows AMI header names and units; everything here is in base
units (seconds, epoch seconds as float) and plain meanings.

Every event has ``at``: the event time in epoch seconds (UTC), and ``exact``: whether ``at``
came from the PBX's own clock (``Timestamp:`` header, or a live receive time) or was
estimated during a replay of a transcript that had no timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.channel import ChannelRef, ChannelState
from monitor.frozen import fast_init

__all__ = [
    "AgentCalled",
    "AgentCompleted",
    "AgentConnected",
    "AgentDumped",
    "AgentRingNoAnswer",
    "AttendedTransferred",
    "BlindTransferred",
    "BridgeCreated",
    "BridgeDestroyed",
    "BridgeEntered",
    "BridgeLeft",
    "CallbackPromised",
    "CallerIdChanged",
    "CdrRecorded",
    "ChannelCreated",
    "ChannelHungUp",
    "ChannelRef",
    "ChannelState",
    "ChannelStateChanged",
    "DialEnded",
    "DialStarted",
    "DialStateChanged",
    "Event",
    "HangupRequested",
    "HoldEnded",
    "HoldStarted",
    "LocalBridged",
    "LocalOptimized",
    "MusicStarted",
    "MusicStopped",
    "PbxBooted",
    "QueueAbandoned",
    "QueueJoined",
    "QueueLeft",
    "RecordingFile",
    "VoicemailStarted",
]


@fast_init
@dataclass(frozen=True, slots=True)
class _Base:
    at: float
    exact: bool = field(default=True, kw_only=True)


# ---- channel lifecycle -------------------------------------------------------------------


@fast_init
@dataclass(frozen=True, slots=True)
class ChannelCreated(_Base):
    """Newchannel: the first event of a channel. ``resynced``: not a Newchannel but a channel
    found up in a CoreShowChannels list after a reconnect (dated from its Duration)."""

    chan: ChannelRef
    resynced: bool = field(default=False, kw_only=True)


@fast_init
@dataclass(frozen=True, slots=True)
class ChannelStateChanged(_Base):
    """Newstate: the channel moved to ``chan.state`` (Ringing, Up, ...)."""

    chan: ChannelRef


@fast_init
@dataclass(frozen=True, slots=True)
class CallerIdChanged(_Base):
    """NewCallerid (``connected=False``) or NewConnectedLine (``connected=True``)."""

    chan: ChannelRef
    connected: bool
    presentation_allowed: bool = True


@fast_init
@dataclass(frozen=True, slots=True)
class HangupRequested(_Base):
    """HangupRequest (``soft=False``) or SoftHangupRequest (``soft=True``)."""

    chan: ChannelRef
    cause: int | None
    soft: bool


@fast_init
@dataclass(frozen=True, slots=True)
class ChannelHungUp(_Base):
    """Hangup: the channel is gone. ``cause`` is the Q.850 cause number."""

    chan: ChannelRef
    cause: int
    cause_text: str


# ---- dialling ------------------------------------------------------------------------------


@fast_init
@dataclass(frozen=True, slots=True)
class DialStarted(_Base):
    """DialBegin. ``caller`` is None for an originated call with no calling channel."""

    caller: ChannelRef | None
    dest: ChannelRef
    dial_string: str


@fast_init
@dataclass(frozen=True, slots=True)
class DialStateChanged(_Base):
    """DialState (14+): RINGING, PROCEEDING, PROGRESS."""

    caller: ChannelRef | None
    dest: ChannelRef
    status: str


@fast_init
@dataclass(frozen=True, slots=True)
class DialEnded(_Base):
    """DialEnd: ANSWER, BUSY, NOANSWER, CANCEL, CONGESTION, CHANUNAVAIL, ..."""

    caller: ChannelRef | None
    dest: ChannelRef
    status: str


# ---- bridges ---------------------------------------------------------------------------------


@fast_init
@dataclass(frozen=True, slots=True)
class BridgeCreated(_Base):
    bridge_id: str


@fast_init
@dataclass(frozen=True, slots=True)
class BridgeDestroyed(_Base):
    bridge_id: str


@fast_init
@dataclass(frozen=True, slots=True)
class BridgeEntered(_Base):
    bridge_id: str
    chan: ChannelRef
    num_channels: int


@fast_init
@dataclass(frozen=True, slots=True)
class BridgeLeft(_Base):
    bridge_id: str
    chan: ChannelRef
    num_channels: int


# ---- hold and music --------------------------------------------------------------------------


@fast_init
@dataclass(frozen=True, slots=True)
class HoldStarted(_Base):
    """Hold: ``chan`` is the channel that *asked* for hold (the phone pressing Hold)."""

    chan: ChannelRef


@fast_init
@dataclass(frozen=True, slots=True)
class HoldEnded(_Base):
    """Unhold."""

    chan: ChannelRef


@fast_init
@dataclass(frozen=True, slots=True)
class MusicStarted(_Base):
    """MusicOnHoldStart: ``chan`` hears music. Queue waiting does this too: it is not hold."""

    chan: ChannelRef
    music_class: str = ""


@fast_init
@dataclass(frozen=True, slots=True)
class MusicStopped(_Base):
    chan: ChannelRef


# ---- queues ----------------------------------------------------------------------------------


@fast_init
@dataclass(frozen=True, slots=True)
class QueueJoined(_Base):
    """QueueCallerJoin."""

    chan: ChannelRef
    queue: str
    position: int
    count: int


@fast_init
@dataclass(frozen=True, slots=True)
class QueueLeft(_Base):
    """QueueCallerLeave: sent for every reason of leaving, answered included."""

    chan: ChannelRef
    queue: str
    position: int
    count: int


@fast_init
@dataclass(frozen=True, slots=True)
class QueueAbandoned(_Base):
    """QueueCallerAbandon. ``wait_seconds`` is Asterisk's HoldTime (queue wait, s)."""

    chan: ChannelRef
    queue: str
    position: int
    original_position: int
    wait_seconds: float


@fast_init
@dataclass(frozen=True, slots=True)
class AgentCalled(_Base):
    caller: ChannelRef | None
    dest: ChannelRef
    queue: str
    interface: str
    member_name: str


@fast_init
@dataclass(frozen=True, slots=True)
class AgentRingNoAnswer(_Base):
    """AgentRingNoAnswer. ``ring_seconds`` converted from Asterisk's milliseconds."""

    caller: ChannelRef | None
    dest: ChannelRef
    queue: str
    interface: str
    member_name: str
    ring_seconds: float


@fast_init
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


@fast_init
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


@fast_init
@dataclass(frozen=True, slots=True)
class AgentDumped(_Base):
    caller: ChannelRef | None
    dest: ChannelRef
    queue: str
    interface: str
    member_name: str


# ---- transfers and local channels ------------------------------------------------------------


@fast_init
@dataclass(frozen=True, slots=True)
class BlindTransferred(_Base):
    result: str
    transferer: ChannelRef | None
    transferee: ChannelRef | None
    extension: str
    context: str
    is_external: bool


@fast_init
@dataclass(frozen=True, slots=True)
class AttendedTransferred(_Base):
    result: str
    orig_transferer: ChannelRef | None
    second_transferer: ChannelRef | None
    transferee: ChannelRef | None
    target: ChannelRef | None
    dest_type: str


@fast_init
@dataclass(frozen=True, slots=True)
class LocalBridged(_Base):
    """LocalBridge: ``one`` (``;1``) and ``two`` (``;2``) are halves of one Local channel."""

    one: ChannelRef
    two: ChannelRef
    optimization: bool


@fast_init
@dataclass(frozen=True, slots=True)
class LocalOptimized(_Base):
    """LocalOptimizationBegin (``done=False``) / LocalOptimizationEnd (``done=True``)."""

    one: ChannelRef
    two: ChannelRef
    done: bool
    success: bool


# ---- the rest --------------------------------------------------------------------------------


@fast_init
@dataclass(frozen=True, slots=True)
class RecordingFile(_Base):
    """VarSet MIXMONITOR_FILENAME: where this channel's recording is written."""

    chan: ChannelRef
    path: str


@fast_init
@dataclass(frozen=True, slots=True)
class VoicemailStarted(_Base):
    """Newexten with Application VoiceMail: the caller reached voicemail."""

    chan: ChannelRef


@fast_init
@dataclass(frozen=True, slots=True)
class CallbackPromised(_Base):
    """UserEvent CallbackPromise: someone promised to call ``number`` back.

    ``due_at`` is absolute (epoch s); translate resolves ``DueIn`` against the event time.
    """

    chan: ChannelRef | None
    number: str
    due_at: float
    agent: str | None = None
    reason: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class CdrRecorded(_Base):
    """Cdr (cdr_manager): Asterisk's own billing record of one leg."""

    uniqueid: str
    source: str
    destination: str
    disposition: str
    duration_seconds: float
    billable_seconds: float


@fast_init
@dataclass(frozen=True, slots=True)
class PbxBooted(_Base):
    """FullyBooted. ``started_at`` = event time minus Uptime, None when Uptime is absent (<16).

    A different ``started_at`` than before means Asterisk restarted: the calls it had are gone.
    """

    started_at: float | None


Event = (
    ChannelCreated
    | ChannelStateChanged
    | CallerIdChanged
    | HangupRequested
    | ChannelHungUp
    | DialStarted
    | DialStateChanged
    | DialEnded
    | BridgeCreated
    | BridgeDestroyed
    | BridgeEntered
    | BridgeLeft
    | HoldStarted
    | HoldEnded
    | MusicStarted
    | MusicStopped
    | QueueJoined
    | QueueLeft
    | QueueAbandoned
    | AgentCalled
    | AgentRingNoAnswer
    | AgentConnected
    | AgentCompleted
    | AgentDumped
    | BlindTransferred
    | AttendedTransferred
    | LocalBridged
    | LocalOptimized
    | RecordingFile
    | VoicemailStarted
    | CallbackPromised
    | CdrRecorded
    | PbxBooted
)
