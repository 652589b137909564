"""Transfers, Local channel pairs, recordings, voicemail, callback promises, CDRs and PBX
boot."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.channel import ChannelRef
from monitor.events.base import _Base
from monitor.frozen import fast_init

__all__ = [
    "AttendedTransferred",
    "BlindTransferred",
    "CallbackPromised",
    "CdrRecorded",
    "LocalBridged",
    "LocalOptimized",
    "PbxBooted",
    "RecordingFile",
    "VoicemailStarted",
]


# ---- transfers and local channels ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlindTransferred(_Base):
    result: str
    transferer: ChannelRef | None
    transferee: ChannelRef | None
    extension: str
    context: str
    is_external: bool


fast_init(BlindTransferred)


@dataclass(frozen=True, slots=True)
class AttendedTransferred(_Base):
    result: str
    orig_transferer: ChannelRef | None
    second_transferer: ChannelRef | None
    transferee: ChannelRef | None
    target: ChannelRef | None
    dest_type: str


fast_init(AttendedTransferred)


@dataclass(frozen=True, slots=True)
class LocalBridged(_Base):
    """LocalBridge: ``one`` (``;1``) and ``two`` (``;2``) are halves of one Local channel."""

    one: ChannelRef
    two: ChannelRef
    optimization: bool


fast_init(LocalBridged)


@dataclass(frozen=True, slots=True)
class LocalOptimized(_Base):
    """LocalOptimizationBegin (``done=False``) / LocalOptimizationEnd (``done=True``)."""

    one: ChannelRef
    two: ChannelRef
    done: bool
    success: bool


fast_init(LocalOptimized)


# ---- the rest --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordingFile(_Base):
    """VarSet MIXMONITOR_FILENAME: where this channel's recording is written."""

    chan: ChannelRef
    path: str


fast_init(RecordingFile)


@dataclass(frozen=True, slots=True)
class VoicemailStarted(_Base):
    """Newexten with Application VoiceMail: the caller reached voicemail."""

    chan: ChannelRef


fast_init(VoicemailStarted)


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


fast_init(CallbackPromised)


@dataclass(frozen=True, slots=True)
class CdrRecorded(_Base):
    """Cdr (cdr_manager): Asterisk's own billing record of one leg."""

    uniqueid: str
    source: str
    destination: str
    disposition: str
    duration_seconds: float
    billable_seconds: float


fast_init(CdrRecorded)


@dataclass(frozen=True, slots=True)
class PbxBooted(_Base):
    """FullyBooted. ``started_at`` = event time minus Uptime, None when Uptime is absent (<16).

    A different ``started_at`` than before means Asterisk restarted: the calls it had are gone.
    """

    started_at: float | None


fast_init(PbxBooted)
