"""One channel (one leg of a call) as a PBX describes it: its state and snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from monitor.frozen import fast_init

__all__ = ["ChannelRef", "ChannelState", "device_of"]


def device_of(channel: str) -> str:
    """The device part of a channel name: ``PJSIP/101-00000032`` -> ``PJSIP/101``,
    ``Local/201@agents-0000001a;1`` -> ``Local/201@agents``."""
    if channel.startswith("Local/"):
        return channel.rsplit(";", 1)[0].rsplit("-", 1)[0]
    return channel.rsplit("-", 1)[0] if "-" in channel else channel


class ChannelState(IntEnum):
    """Asterisk ChannelState (``ast_state2str``)."""

    DOWN = 0
    RESERVED = 1
    OFFHOOK = 2
    DIALING = 3
    RING = 4
    RINGING = 5
    UP = 6
    BUSY = 7
    DIALING_OFFHOOK = 8
    PRERING = 9
    UNKNOWN = 99


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """A snapshot of one channel (one leg) as the PBX described it in an event."""

    channel: str
    uniqueid: str
    linkedid: str
    state: ChannelState = ChannelState.UNKNOWN
    caller_num: str | None = None
    caller_name: str | None = None
    connected_num: str | None = None
    connected_name: str | None = None
    context: str = ""
    exten: str = ""

    @property
    def is_local(self) -> bool:
        """True for ``Local/...;1`` and ``Local/...;2`` half-channels."""
        return self.channel.startswith("Local/")

    @property
    def device(self) -> str:
        """The device part of the channel name: ``PJSIP/101-00000032`` -> ``PJSIP/101``."""
        return device_of(self.channel)


fast_init(ChannelRef)
