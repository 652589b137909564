"""Telephony events: what a collector tells the tracker, in ringwatch's own words.

These frozen dataclasses are the contract between ``collectors`` and ``monitor``. Only
``collectors/ami/translate`` knows AMI header names and units; everything here is in base
units (seconds, epoch seconds as float) and plain meanings.

Every event has ``at``: the event time in epoch seconds (UTC), and ``exact``: whether ``at``
came from the PBX's own clock (``Timestamp:`` header, or a live receive time) or was
estimated during a replay of a transcript that had no timestamps.
"""

from __future__ import annotations

from monitor.channel import ChannelRef, ChannelState
from monitor.events.channels import (
    BridgeCreated,
    BridgeDestroyed,
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
    MusicStarted,
    MusicStopped,
)
from monitor.events.other import (
    AttendedTransferred,
    BlindTransferred,
    CallbackPromised,
    CdrRecorded,
    LocalBridged,
    LocalOptimized,
    PbxBooted,
    RecordingFile,
    VoicemailStarted,
)
from monitor.events.queues import (
    AgentCalled,
    AgentCompleted,
    AgentConnected,
    AgentDumped,
    AgentRingNoAnswer,
    MemberChanged,
    QueueAbandoned,
    QueueExited,
    QueueJoined,
    QueueLeft,
)

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
    "MemberChanged",
    "MusicStarted",
    "MusicStopped",
    "PbxBooted",
    "QueueAbandoned",
    "QueueExited",
    "QueueJoined",
    "QueueLeft",
    "RecordingFile",
    "VoicemailStarted",
]

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
    | QueueExited
    | AgentCalled
    | AgentRingNoAnswer
    | AgentConnected
    | AgentCompleted
    | AgentDumped
    | MemberChanged
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
