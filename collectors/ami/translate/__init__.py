"""AMI messages -> ringwatch events. This package is the only place that knows AMI header
names and units (split by event family: fields, queue, other).

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
from collections.abc import Callable, Iterable, Iterator

from collectors.ami.parser import AmiMessage, AmiParser
from collectors.ami.translate.fields import (
    _QUIET,
    ReplayClock,
    _int,
    _SnapRef,
    uniqueid_epoch,
)
from collectors.ami.translate.other import resync_channel, resync_queue_entry
from collectors.ami.translate.queue import QueueHandlers
from monitor import events as ev
from monitor.events import ChannelRef, ChannelState

__all__ = [
    "UNKNOWN_NAMES_MAX",
    "UNKNOWN_OTHER",
    "UNREAD_HEADER_SUFFIXES",
    "ReplayClock",
    "ReplayCounts",
    "Translator",
    "resync_channel",
    "resync_queue_entry",
    "uniqueid_epoch",
]

#: ``Translator.unknown`` counts at most this many distinct event names (a PBX or a peer that
#: sends made-up names cannot grow it); the rest are counted together under UNKNOWN_OTHER
UNKNOWN_NAMES_MAX = 64
UNKNOWN_OTHER = "(other names)"

#: No handler reads a header whose name ends with one of these (a channel snapshot's
#: ``Privilege``, ``Language``, ``AccountCode``, ``Priority``, with or without a prefix such as
#: ``Dest``): a replay's parser leaves those lines out (``AmiParser(skip_suffixes=...)``), a
#: fifth of a transcript's header lines. A test fails if a handler starts to read one.
UNREAD_HEADER_SUFFIXES = ("Privilege", "Language", "AccountCode", "Priority")


class ReplayCounts:
    """What ``Translator.replay`` has read of one transcript so far: messages, messages that
    are AMI events or responses, events made, and the time of the last event."""

    __slots__ = ("events", "last_at", "messages", "recognised")

    def __init__(self) -> None:
        self.messages = 0
        self.recognised = 0
        self.events = 0
        self.last_at: float | None = None


class Translator(QueueHandlers):
    """Stateless per message but for the replay clock and counters (bounded: ``unknown``
    keeps UNKNOWN_NAMES_MAX names at most).

    ``translate(msg, received_at)``: ``received_at`` is the live receive time (epoch s); pass
    None during a replay.
    """

    def __init__(self, clock: ReplayClock | None = None) -> None:
        self.clock = clock or ReplayClock()
        self.translated = 0
        self.ignored: Counter[str] = Counter()
        self.unknown: Counter[str] = Counter()
        self.malformed = 0
        self._refs: dict[str, _SnapRef] = {}
        # the last Timestamp header read and its value: events of one instant come in runs
        self._stamp = ""
        self._stamp_at = 0.0
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
            "QueueMemberStatus": self._memberstatus,
            "QueueMemberAdded": self._memberadded,
            "QueueMemberRemoved": self._memberremoved,
            "QueueMemberPause": self._memberpause,
            "QueueMemberPaused": self._memberpause,
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

    @property
    def event_names(self) -> frozenset[str]:
        """The AMI event types this translator uses (the others it only counts as ignored)."""
        return frozenset(self._handlers)

    # ---- entry point -----------------------------------------------------------------------

    def translate(self, msg: AmiMessage, received_at: float | None = None) -> ev.Event | None:
        name = msg.get("Event")
        if name is None:
            return None
        handler = self._handlers.get(name)
        if handler is None:
            if name in _QUIET:
                self.ignored[name] += 1
            elif name in self.unknown or len(self.unknown) < UNKNOWN_NAMES_MAX - 1:
                self.unknown[name] += 1
            else:
                self.unknown[UNKNOWN_OTHER] += 1
            return None
        stamp = msg.get("Timestamp")
        if stamp:
            if stamp == self._stamp:
                at = self._stamp_at
            else:
                try:
                    at = float(stamp)  # as _float: float() itself ignores surrounding blanks
                except ValueError:
                    at = 0.0
                self._stamp, self._stamp_at = stamp, at
            exact = True
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

    def replay(
        self, chunks: Iterable[bytes], parser: AmiParser, counts: ReplayCounts
    ) -> Iterator[ev.Event]:
        """The events of a recorded transcript read as byte ``chunks``: each chunk through
        ``parser``, each message translated with no receive time (a replay). ``counts`` is
        kept up to date as events are yielded. One loop for the whole file, in this compiled
        module: no Python-level call per message."""
        for chunk in chunks:
            for msg in parser.feed(chunk):
                counts.messages += 1
                fields = msg.fields
                if "Event" in fields or "Response" in fields or "event" in fields:
                    counts.recognised += 1
                event = self.translate(msg, None)
                if event is not None:
                    counts.events += 1
                    counts.last_at = event.at
                    yield event

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
        chan = self._need(m)
        self._refs.pop(chan.uniqueid, None)  # a channel gone: the snapshot cache holds live ones
        return ev.ChannelHungUp(
            at, chan, _int(m.get("Cause")), m.get("Cause-txt") or "", exact=exact
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
