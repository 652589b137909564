"""Channel lifecycle, dialling, bridges, hold and music-on-hold events."""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.channel import ChannelRef
from monitor.events.base import _Base
from monitor.frozen import fast_init

__all__ = [
    "BridgeCreated",
    "BridgeDestroyed",
    "BridgeEntered",
    "BridgeLeft",
    "CallerIdChanged",
    "ChannelCreated",
    "ChannelHungUp",
    "ChannelStateChanged",
    "DialEnded",
    "DialStarted",
    "DialStateChanged",
    "HangupRequested",
    "HoldEnded",
    "HoldStarted",
    "MusicStarted",
    "MusicStopped",
]


# ---- channel lifecycle -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelCreated(_Base):
    """Newchannel: the first event of a channel. ``resynced``: not a Newchannel but a channel
    found up in a CoreShowChannels list after a reconnect (dated from its Duration)."""

    chan: ChannelRef
    resynced: bool = field(default=False, kw_only=True)


fast_init(ChannelCreated)


@dataclass(frozen=True, slots=True)
class ChannelStateChanged(_Base):
    """Newstate: the channel moved to ``chan.state`` (Ringing, Up, ...)."""

    chan: ChannelRef


fast_init(ChannelStateChanged)


@dataclass(frozen=True, slots=True)
class CallerIdChanged(_Base):
    """NewCallerid (``connected=False``) or NewConnectedLine (``connected=True``)."""

    chan: ChannelRef
    connected: bool
    presentation_allowed: bool = True


fast_init(CallerIdChanged)


@dataclass(frozen=True, slots=True)
class HangupRequested(_Base):
    """HangupRequest (``soft=False``) or SoftHangupRequest (``soft=True``)."""

    chan: ChannelRef
    cause: int | None
    soft: bool


fast_init(HangupRequested)


@dataclass(frozen=True, slots=True)
class ChannelHungUp(_Base):
    """Hangup: the channel is gone. ``cause`` is the Q.850 cause number."""

    chan: ChannelRef
    cause: int
    cause_text: str


fast_init(ChannelHungUp)


# ---- dialling ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DialStarted(_Base):
    """DialBegin. ``caller`` is None for an originated call with no calling channel."""

    caller: ChannelRef | None
    dest: ChannelRef
    dial_string: str


fast_init(DialStarted)


@dataclass(frozen=True, slots=True)
class DialStateChanged(_Base):
    """DialState (14+): RINGING, PROCEEDING, PROGRESS."""

    caller: ChannelRef | None
    dest: ChannelRef
    status: str


fast_init(DialStateChanged)


@dataclass(frozen=True, slots=True)
class DialEnded(_Base):
    """DialEnd: ANSWER, BUSY, NOANSWER, CANCEL, CONGESTION, CHANUNAVAIL, ..."""

    caller: ChannelRef | None
    dest: ChannelRef
    status: str


fast_init(DialEnded)


# ---- bridges ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BridgeCreated(_Base):
    bridge_id: str


fast_init(BridgeCreated)


@dataclass(frozen=True, slots=True)
class BridgeDestroyed(_Base):
    bridge_id: str


fast_init(BridgeDestroyed)


@dataclass(frozen=True, slots=True)
class BridgeEntered(_Base):
    bridge_id: str
    chan: ChannelRef
    num_channels: int


fast_init(BridgeEntered)


@dataclass(frozen=True, slots=True)
class BridgeLeft(_Base):
    bridge_id: str
    chan: ChannelRef
    num_channels: int


fast_init(BridgeLeft)


# ---- hold and music --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HoldStarted(_Base):
    """Hold: ``chan`` is the channel that *asked* for hold (the phone pressing Hold)."""

    chan: ChannelRef


fast_init(HoldStarted)


@dataclass(frozen=True, slots=True)
class HoldEnded(_Base):
    """Unhold."""

    chan: ChannelRef


fast_init(HoldEnded)


@dataclass(frozen=True, slots=True)
class MusicStarted(_Base):
    """MusicOnHoldStart: ``chan`` hears music. Queue waiting does this too: it is not hold."""

    chan: ChannelRef
    music_class: str = ""


fast_init(MusicStarted)


@dataclass(frozen=True, slots=True)
class MusicStopped(_Base):
    chan: ChannelRef


fast_init(MusicStopped)
