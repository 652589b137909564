"""AMI messages -> ringwatch events. The only module that knows AMI header names and units.

Units (reference/ami/EVENTS.md §4): queue durations are whole seconds, except
AgentRingNoAnswer ``RingTime`` which is milliseconds. Event time is the ``Timestamp:`` header
when the PBX sends it (``timestampevents = yes``). Without it, a live collector passes the
receive time; a replay has no clock at all, so the translator estimates one (a
``ReplayClock``: the newest channel-creation second seen in a ``Uniqueid``) and marks events
``exact=False``. The tracker then prefers Asterisk's own durations (HoldTime, RingTime,
TalkTime) for those calls.

Asterisk 11 legacy names (``Dial`` with ``SubEvent``, ``Join``/``Leave``, ``Bridge``,
``MusicOnHold``, ``Hold`` with ``Status``) are translated where they map cleanly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from collectors.ami.parser import AmiMessage
from monitor import events as ev
from monitor.events import ChannelRef, ChannelState

__all__ = [
    "ReplayClock",
    "Translator",
    "resync_channel",
    "resync_queue_entry",
    "uniqueid_epoch",
]

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


class Translator:
    """Stateless per message but for the replay clock and counters.

    ``translate(msg, received_at)``: ``received_at`` is the live receive time (epoch s); pass
    None during a replay.
    """

    def __init__(self, clock: ReplayClock | None = None) -> None:
        self.clock = clock or ReplayClock()
        self.translated = 0
        self.ignored: Counter[str] = Counter()
        self.unknown: Counter[str] = Counter()
        self.malformed = 0
        self._handlers: dict[str, Callable[[AmiMessage, float, bool], ev.Event | None]] = {
            "Newchannel": self._newchannel,
            "Newstate": self._newstate,
            "NewCallerid": self._newcallerid,
            "NewConnectedLine": self._newconnectedline,
            "DialBegin": self._dialbegin,
            "DialState": self._dialstate,
            "DialEnd": self._dialend,
            "Dial": self._legacy_dial,
            "BridgeCreate": self._bridgecreate,
            "BridgeDestroy": self._bridgedestroy,
            "BridgeEnter": self._bridgeenter,
            "BridgeLeave": self._bridgeleave,
            "Hold": self._hold,
            "Unhold": self._unhold,
            "MusicOnHoldStart": self._mohstart,
            "MusicOnHoldStop": self._mohstop,
            "MusicOnHold": self._legacy_moh,
            "QueueCallerJoin": self._queuejoin,
            "Join": self._queuejoin,
            "QueueCallerLeave": self._queueleave,
            "Leave": self._queueleave,
            "QueueCallerAbandon": self._queueabandon,
            "AgentCalled": self._agentcalled,
            "AgentConnect": self._agentconnect,
            "AgentComplete": self._agentcomplete,
            "AgentRingNoAnswer": self._agentrna,
            "AgentDump": self._agentdump,
            "BlindTransfer": self._blindtransfer,
            "AttendedTransfer": self._attendedtransfer,
            "LocalBridge": self._localbridge,
            "LocalOptimizationBegin": self._localoptbegin,
            "LocalOptimizationEnd": self._localoptend,
            "Hangup": self._hangup,
            "HangupRequest": self._hanguprequest,
            "SoftHangupRequest": self._softhanguprequest,
            "VarSet": self._varset,
            "Newexten": self._newexten,
            "UserEvent": self._userevent,
            "Cdr": self._cdr,
            "FullyBooted": self._fullybooted,
        }

    # ---- entry point -----------------------------------------------------------------------

    def translate(self, msg: AmiMessage, received_at: float | None = None) -> ev.Event | None:
        name = msg.get("Event")
        if name is None:
            return None
        handler = self._handlers.get(name)
        if handler is None:
            if name in _QUIET:
                self.ignored[name] += 1
            else:
                self.unknown[name] += 1
            return None
        stamp = msg.get("Timestamp")
        if stamp:
            at, exact = _float(stamp), True
        elif received_at is not None:
            at, exact = received_at, True
        else:
            # No clock in the transcript: a Uniqueid's epoch is its channel's creation second,
            # so the newest one seen is a lower bound of the time now.
            uid = msg.get("Uniqueid")
            if uid:
                self.clock.observe_uniqueid(uid)
            at, exact = self.clock.now, False
        try:
            event = handler(msg, at, exact)
        except (KeyError, ValueError):
            self.malformed += 1
            return None
        if event is None:
            self.ignored[name] += 1
        else:
            self.translated += 1
        return event

    # ---- field helpers ---------------------------------------------------------------------

    @staticmethod
    def _chan(msg: AmiMessage, prefix: str = "") -> ChannelRef | None:
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

    # ---- channel lifecycle -----------------------------------------------------------------

    def _newchannel(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.ChannelCreated(at, self._need(m), exact=exact)

    def _newstate(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.ChannelStateChanged(at, self._need(m), exact=exact)

    def _newcallerid(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        pres = m.get("CID-CallingPres") or ""
        allowed = not pres or "Allowed" in pres or pres.split(" ", 1)[0] in ("0", "1", "2", "3")
        return ev.CallerIdChanged(
            at, self._need(m), connected=False, presentation_allowed=allowed, exact=exact
        )

    def _newconnectedline(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.CallerIdChanged(at, self._need(m), connected=True, exact=exact)

    def _hangup(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.ChannelHungUp(
            at, self._need(m), _int(m.get("Cause")), m.get("Cause-txt") or "", exact=exact
        )

    def _hanguprequest(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        cause = m.get("Cause")
        return ev.HangupRequested(
            at, self._need(m), _int(cause) if cause else None, soft=False, exact=exact
        )

    def _softhanguprequest(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        cause = m.get("Cause")
        return ev.HangupRequested(
            at, self._need(m), _int(cause) if cause else None, soft=True, exact=exact
        )

    # ---- dialling --------------------------------------------------------------------------

    def _dialbegin(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.DialStarted(
            at, self._chan(m), self._need(m, "Dest"), m.get("DialString") or "", exact=exact
        )

    def _dialstate(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.DialStateChanged(
            at, self._chan(m), self._need(m, "Dest"), m.get("DialStatus") or "", exact=exact
        )

    def _dialend(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.DialEnded(
            at, self._chan(m), self._need(m, "Dest"), m.get("DialStatus") or "", exact=exact
        )

    def _legacy_dial(self, m: AmiMessage, at: float, exact: bool) -> ev.Event | None:
        """Asterisk 1.6-11 ``Dial`` with ``SubEvent: Begin|End``."""
        sub = m.get("SubEvent")
        caller = self._chan(m)
        if sub == "Begin":
            dest_name, dest_uid = m.get("Destination"), m.get("DestUniqueID")
            if dest_name is None or dest_uid is None:
                raise KeyError("Destination")
            # 11 has no Linkedid: the dialled leg is its own until the tracker links it.
            dest = ChannelRef(dest_name, dest_uid, dest_uid, ChannelState.DOWN)
            return ev.DialStarted(at, caller, dest, m.get("Dialstring") or "", exact=exact)
        if sub == "End" and caller is not None:
            # 11 sends only the caller; the tracker resolves the dialled leg it knows.
            dest = ChannelRef("", "", caller.linkedid, ChannelState.UNKNOWN)
            return ev.DialEnded(at, caller, dest, m.get("DialStatus") or "", exact=exact)
        return None

    # ---- bridges ---------------------------------------------------------------------------

    def _bridgecreate(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.BridgeCreated(at, m.fields["BridgeUniqueid"], exact=exact)

    def _bridgedestroy(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.BridgeDestroyed(at, m.fields["BridgeUniqueid"], exact=exact)

    def _bridgeenter(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.BridgeEntered(
            at,
            m.fields["BridgeUniqueid"],
            self._need(m),
            _int(m.get("BridgeNumChannels")),
            exact=exact,
        )

    def _bridgeleave(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.BridgeLeft(
            at,
            m.fields["BridgeUniqueid"],
            self._need(m),
            _int(m.get("BridgeNumChannels")),
            exact=exact,
        )

    # ---- hold and music --------------------------------------------------------------------

    def _hold(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        status = m.get("Status")  # chan_sip <= 11: Hold with Status On/Off
        if status is not None and status.lower() == "off":
            return ev.HoldEnded(at, self._need(m), exact=exact)
        return ev.HoldStarted(at, self._need(m), exact=exact)

    def _unhold(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.HoldEnded(at, self._need(m), exact=exact)

    def _mohstart(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.MusicStarted(at, self._need(m), m.get("Class") or "", exact=exact)

    def _mohstop(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.MusicStopped(at, self._need(m), exact=exact)

    def _legacy_moh(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        if (m.get("State") or "").lower() == "stop":
            return ev.MusicStopped(at, self._need(m), exact=exact)
        return ev.MusicStarted(at, self._need(m), m.get("Class") or "", exact=exact)

    # ---- queues ----------------------------------------------------------------------------

    def _queuejoin(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.QueueJoined(
            at,
            self._need(m),
            m.fields.get("Queue") or m.get("Queue") or "",
            _int(m.get("Position")),
            _int(m.get("Count")),
            exact=exact,
        )

    def _queueleave(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.QueueLeft(
            at,
            self._need(m),
            m.get("Queue") or "",
            _int(m.get("Position")),
            _int(m.get("Count")),
            exact=exact,
        )

    def _queueabandon(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.QueueAbandoned(
            at,
            self._need(m),
            m.get("Queue") or "",
            _int(m.get("Position")),
            _int(m.get("OriginalPosition")),
            _float(m.get("HoldTime")),
            exact=exact,
        )

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

    def _agentcalled(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        caller, dest, queue, iface, member = self._member(m)
        return ev.AgentCalled(at, caller, dest, queue, iface, member, exact=exact)

    def _agentconnect(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        caller, dest, queue, iface, member = self._member(m)
        return ev.AgentConnected(
            at,
            caller,
            dest,
            queue,
            iface,
            member,
            wait_seconds=_float(m.get("HoldTime")),
            ring_seconds=_float(m.get("RingTime")),
            exact=exact,
        )

    def _agentcomplete(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        caller, dest, queue, iface, member = self._member(m)
        return ev.AgentCompleted(
            at,
            caller,
            dest,
            queue,
            iface,
            member,
            wait_seconds=_float(m.get("HoldTime")),
            talk_seconds=_float(m.get("TalkTime")),
            reason=(m.get("Reason") or "").split(" ", 1)[0],
            exact=exact,
        )

    def _agentrna(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        caller, dest, queue, iface, member = self._member(m)
        # RingTime here is MILLISECONDS (app_queue rna()), unlike AgentConnect's seconds.
        return ev.AgentRingNoAnswer(
            at, caller, dest, queue, iface, member, _float(m.get("RingTime")) / 1000.0, exact=exact
        )

    def _agentdump(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        caller, dest, queue, iface, member = self._member(m)
        return ev.AgentDumped(at, caller, dest, queue, iface, member, exact=exact)

    # ---- transfers and local channels ------------------------------------------------------

    def _blindtransfer(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.BlindTransferred(
            at,
            m.get("Result") or "",
            self._chan(m, "Transferer"),
            self._chan(m, "Transferee"),
            m.get("Extension") or "",
            m.get("Context") or "",
            (m.get("IsExternal") or "").lower() == "yes",
            exact=exact,
        )

    def _attendedtransfer(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.AttendedTransferred(
            at,
            m.get("Result") or "",
            self._chan(m, "OrigTransferer"),
            self._chan(m, "SecondTransferer"),
            self._chan(m, "Transferee"),
            self._chan(m, "TransferTarget"),
            m.get("DestType") or "",
            exact=exact,
        )

    def _local_pair(self, m: AmiMessage) -> tuple[ChannelRef, ChannelRef]:
        one, two = self._chan(m, "LocalOne"), self._chan(m, "LocalTwo")
        if one is None or two is None:  # Asterisk 11: Channel1/Channel2, Uniqueid1/Uniqueid2
            c1, c2 = m.get("Channel1"), m.get("Channel2")
            u1, u2 = m.get("Uniqueid1"), m.get("Uniqueid2")
            if not (c1 and c2 and u1 and u2):
                raise KeyError("LocalOneChannel")
            one = ChannelRef(c1, u1, u1)
            two = ChannelRef(c2, u2, u2)
        return one, two

    def _localbridge(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        one, two = self._local_pair(m)
        opt = (m.get("LocalOptimization") or "").lower() == "yes"
        return ev.LocalBridged(at, one, two, opt, exact=exact)

    def _localoptbegin(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        one, two = self._local_pair(m)
        return ev.LocalOptimized(at, one, two, done=False, success=True, exact=exact)

    def _localoptend(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        one, two = self._local_pair(m)
        ok = (m.get("Success") or "").lower() == "yes"
        return ev.LocalOptimized(at, one, two, done=True, success=ok, exact=exact)

    # ---- the rest --------------------------------------------------------------------------

    def _varset(self, m: AmiMessage, at: float, exact: bool) -> ev.Event | None:
        if m.get("Variable") != "MIXMONITOR_FILENAME":
            return None
        chan = self._chan(m)
        value = m.get("Value")
        if chan is None or not value:
            return None
        return ev.RecordingFile(at, chan, value, exact=exact)

    def _newexten(self, m: AmiMessage, at: float, exact: bool) -> ev.Event | None:
        app = m.get("Application")
        if app not in ("VoiceMail", "MinivmRecord"):
            return None
        chan = self._chan(m)
        return None if chan is None else ev.VoicemailStarted(at, chan, exact=exact)

    def _userevent(self, m: AmiMessage, at: float, exact: bool) -> ev.Event | None:
        if (m.get("UserEvent") or "").lower() != "callbackpromise":
            return None
        number = (m.get("Number") or "").strip()
        due_in, due_at_raw = m.get("DueIn"), m.get("DueAt")
        if due_in:
            due_at = at + float(due_in)
        elif due_at_raw:
            due_at = _parse_due_at(due_at_raw)
        else:
            raise ValueError("CallbackPromise needs DueIn or DueAt")
        return ev.CallbackPromised(
            at,
            self._chan(m),
            number,
            due_at,
            agent=m.get("Agent") or None,
            reason=m.get("Reason") or None,
            exact=exact,
        )

    def _cdr(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.CdrRecorded(
            at,
            m.get("UniqueID") or m.get("Uniqueid") or "",
            m.get("Source") or "",
            m.get("Destination") or "",
            m.get("Disposition") or "",
            _float(m.get("Duration")),
            _float(m.get("BillableSeconds")),
            exact=exact,
        )

    def _fullybooted(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        uptime = m.get("Uptime")
        started = at - _float(uptime) if uptime and exact else None
        return ev.PbxBooted(at, started, exact=exact)


def _hms_seconds(value: str | None) -> float | None:
    """``HH:MM:SS`` (CoreShowChannel ``Duration``) -> seconds; None when absent or bad."""
    if not value:
        return None
    parts = value.strip().split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    h, m, s = (int(p) for p in parts)
    return float(h * 3600 + m * 60 + s)


def resync_channel(msg: AmiMessage, now: float) -> ev.ChannelCreated | None:
    """A ``CoreShowChannel`` list item (resync after a reconnect) -> the ChannelCreated it
    implies, dated at its creation (``now`` minus ``Duration``; else the Uniqueid epoch)."""
    if msg.get("Event") != "CoreShowChannel":
        return None
    chan = Translator._chan(msg)
    if chan is None:
        return None
    age = _hms_seconds(msg.get("Duration"))
    born = uniqueid_epoch(chan.uniqueid)
    created = now - age if age is not None else min(now, born if born is not None else now)
    return ev.ChannelCreated(created, chan, exact=True, resynced=True)


def resync_queue_entry(msg: AmiMessage, now: float) -> ev.QueueJoined | None:
    """A ``QueueEntry`` list item of ``QueueStatus`` -> the QueueJoined it implies, dated
    ``now`` minus ``Wait`` seconds."""
    if msg.get("Event") != "QueueEntry":
        return None
    chan = Translator._chan(msg)
    if chan is None:
        return None
    wait = _float(msg.get("Wait"))
    return ev.QueueJoined(
        now - wait, chan, msg.get("Queue") or "", _int(msg.get("Position")), 0, exact=True
    )


def _parse_due_at(raw: str) -> float:
    """``DueAt``: epoch seconds or ISO 8601 (a naive time is taken as UTC)."""
    text = raw.strip()
    try:
        return float(text)
    except ValueError:
        pass
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
