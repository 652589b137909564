"""Field readers shared by the translator's handlers: AMI channel snapshot blocks (with a
prefix such as ``Dest`` or ``Transferee``), numbers, caller IDs and the replay clock."""

from __future__ import annotations

import sys
from collections.abc import Callable
from operator import itemgetter

from collectors.ami.parser import AmiMessage
from monitor.events import ChannelRef, ChannelState

__all__ = ["FieldReader", "ReplayClock", "uniqueid_epoch"]

_UNKNOWN = ("<unknown>", "")
_STATES = {s.value: s for s in ChannelState}
_STATE_NAMES = {
    "down": ChannelState.DOWN,
    "rsrvd": ChannelState.RESERVED,
    "offhook": ChannelState.OFFHOOK,
    "dialing": ChannelState.DIALING,
    "ring": ChannelState.RING,
    "ringing": ChannelState.RINGING,
    "up": ChannelState.UP,
    "busy": ChannelState.BUSY,
}
# Events a contact-centre monitor does not need; dropped before any field is read.
_QUIET = frozenset(
    {
        "RTCPSent",
        "RTCPReceived",
        "DeviceStateChange",
        "ExtensionStatus",
        "PeerStatus",
        "QueueMemberStatus",
        "ChallengeSent",
        "SuccessfulAuth",
        "DTMFBegin",
        "DTMFEnd",
        "AGIExec",
        "CEL",
        "NewAccountCode",
    }
)


def uniqueid_epoch(uniqueid: str) -> float | None:
    """``1514295827.372`` or ``asterisk-1750662501.6160`` -> 1514295827.0 (channel creation)."""
    head = uniqueid.rsplit("-", 1)[-1].split(".", 1)[0]
    return float(head) if head.isdigit() else None


class ReplayClock:
    """Estimated time for a transcript without ``Timestamp:``: never goes backwards, advances to
    each new channel's creation second (the epoch in its Uniqueid)."""

    __slots__ = ("now",)

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def observe_uniqueid(self, uniqueid: str) -> None:
        t = uniqueid_epoch(uniqueid)
        if t is not None and t > self.now:
            self.now = t


def _int(value: str | None, default: int = 0) -> int:
    if not value:
        return default
    try:
        return int(value.strip())
    except ValueError:
        try:
            return int(float(value))
        except ValueError:
            return default


def _float(value: str | None, default: float = 0.0) -> float:
    if not value:
        return default
    try:
        return float(value.strip())
    except ValueError:
        return default


def _cid(value: str | None) -> str | None:
    return None if value is None or value in _UNKNOWN else value


def _snapshot_getter(prefix: str) -> Callable[[dict[str, str]], tuple[str, ...]]:
    """One C call that reads a whole channel snapshot block (13+ names) with ``prefix``
    (``Dest``, ``Transferee``, ...); KeyError when a header is missing (older Asterisk)."""
    return itemgetter(
        *(
            sys.intern(prefix + name)  # as the parser's keys: lookups match by identity
            for name in (
                "Channel",
                "Uniqueid",
                "ChannelState",
                "Linkedid",
                "CallerIDNum",
                "CallerIDName",
                "ConnectedLineNum",
                "ConnectedLineName",
                "Context",
                "Exten",
            )
        )
    )


_GETTERS: dict[str, Callable[[dict[str, str]], tuple[str, ...]]] = {}
# Channel snapshots repeat event after event (a Bridge/Hold/Dial event carries the same block as
# the one before it), so equal snapshots share one ChannelRef: the last snapshot of each
# channel (by Uniqueid) and its ref are kept, and the next snapshot of that channel is compared
# with it (a str-keyed lookup and one tuple comparison, whose items are mostly the very same
# str objects: no hashing of the whole tuple). Bounded: cleared when full.
_REF_CACHE_MAX = 8192
_SnapRef = tuple[tuple[str, ...], ChannelRef]


class FieldReader:
    """Reads channel snapshot blocks out of AMI messages."""

    _refs: dict[str, _SnapRef]

    def _chan(self, msg: AmiMessage, prefix: str = "") -> ChannelRef | None:
        getter = _GETTERS.get(prefix)
        if getter is None:
            getter = _GETTERS[prefix] = _snapshot_getter(prefix)
        try:
            snap = getter(msg.fields)
        except KeyError:  # folded legacy message, or a block without every 13+ header
            return self._chan_general(msg, prefix)
        channel, uniqueid, state_raw, linkedid, cnum, cname, lnum, lname, context, exten = snap
        refs = self._refs
        last = refs.get(uniqueid)
        if last is not None and last[0] == snap:
            return last[1]
        if not uniqueid or not state_raw.isdigit():
            return self._chan_general(msg, prefix)
        ref = ChannelRef(
            channel,
            uniqueid,
            linkedid or uniqueid,
            _STATES.get(int(state_raw), ChannelState.UNKNOWN),
            None if cnum in _UNKNOWN else cnum,
            None if cname in _UNKNOWN else cname,
            None if lnum in _UNKNOWN else lnum,
            None if lname in _UNKNOWN else lname,
            context,
            exten,
        )
        if last is None and len(refs) >= _REF_CACHE_MAX:
            refs.clear()
        refs[uniqueid] = (snap, ref)
        return ref

    @staticmethod
    def _chan_general(msg: AmiMessage, prefix: str = "") -> ChannelRef | None:
        """The general reader: any case (folded legacy messages), state by number or name."""
        get = msg.get
        channel = get(prefix + "Channel")
        uniqueid = get(prefix + "Uniqueid") or get(prefix + "UniqueID")
        if channel is None or uniqueid is None:
            return None
        state_raw = get(prefix + "ChannelState")
        if state_raw is not None and state_raw.isdigit():
            state = _STATES.get(int(state_raw), ChannelState.UNKNOWN)
        else:
            desc = (get(prefix + "ChannelStateDesc") or get(prefix + "State") or "").lower()
            state = _STATE_NAMES.get(desc, ChannelState.UNKNOWN)
        return ChannelRef(
            channel=channel,
            uniqueid=uniqueid,
            linkedid=get(prefix + "Linkedid") or uniqueid,
            state=state,
            caller_num=_cid(get(prefix + "CallerIDNum")),
            caller_name=_cid(get(prefix + "CallerIDName")),
            connected_num=_cid(get(prefix + "ConnectedLineNum")),
            connected_name=_cid(get(prefix + "ConnectedLineName")),
            context=get(prefix + "Context") or "",
            exten=get(prefix + "Exten") or "",
        )

    def _need(self, msg: AmiMessage, prefix: str = "") -> ChannelRef:
        chan = self._chan(msg, prefix)
        if chan is None:
            raise KeyError(prefix + "Channel")
        return chan

    def _member(self, m: AmiMessage) -> tuple[ChannelRef | None, ChannelRef, str, str, str]:
        caller = self._chan(m)
        dest = self._chan(m, "Dest")
        if dest is None:
            # Asterisk 11: DestinationChannel / Member; build a minimal dest leg
            name = m.get("DestinationChannel") or m.get("Member") or m.get("Interface") or ""
            uid = m.get("DestUniqueid") or m.get("BridgedChannel") or ""
            link = caller.linkedid if caller else uid
            dest = ChannelRef(name, uid, link, ChannelState.UNKNOWN)
        interface = m.get("Interface") or m.get("Member") or m.get("AgentCalled") or ""
        member = m.get("MemberName") or m.get("AgentName") or interface
        return caller, dest, m.get("Queue") or "", interface, member
