"""Queue events (app_queue): caller join/leave/abandon and the member (agent) events.

Units: HoldTime, RingTime (AgentConnect) and TalkTime are whole seconds; AgentRingNoAnswer's
RingTime is **milliseconds** (app_queue ``rna()``; the lab's Asterisk 22.10.1 sends
``RingTime: 4000`` for a 4 s ring timeout).

A member event without any channel block (Asterisk 22.10.1 sends AgentComplete with only
Queue, Interface, MemberName, HoldTime, TalkTime and Reason when the agent hangs up first)
names no call: it is ignored, not turned into a call with an empty id.
"""

from __future__ import annotations

from collectors.ami.parser import AmiMessage
from collectors.ami.translate.fields import _float, _int
from collectors.ami.translate.other import OtherHandlers
from monitor import events as ev
from monitor.channel import ChannelRef

__all__ = ["QueueHandlers"]


class QueueHandlers(OtherHandlers):
    """The queue handlers. One chain of single inheritance (FieldReader -> OtherHandlers ->
    QueueHandlers -> Translator): mypyc compiles native classes with one base only."""

    # ---- queues ----------------------------------------------------------------------------

    def _queuejoin(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.QueueJoined(at, *self._queue_move(m), exact=exact)

    def _queueleave(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return ev.QueueLeft(at, *self._queue_move(m), exact=exact)

    def _queue_move(self, m: AmiMessage) -> tuple[ChannelRef, str, int, int]:
        """The caller, Queue, Position and Count of QueueCallerJoin/Leave (11: Join/Leave)."""
        return self._need(m), m.get("Queue") or "", _int(m.get("Position")), _int(m.get("Count"))

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

    def _agentcalled(self, m: AmiMessage, at: float, exact: bool) -> ev.Event | None:
        caller, dest, queue, iface, member = self._member(m)
        if caller is None and not dest.uniqueid:
            return None  # no channel block at all: nothing names the call
        return ev.AgentCalled(at, caller, dest, queue, iface, member, exact=exact)

    def _agentconnect(self, m: AmiMessage, at: float, exact: bool) -> ev.Event | None:
        caller, dest, queue, iface, member = self._member(m)
        if caller is None and not dest.uniqueid:
            return None  # no channel block at all: nothing names the call
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

    def _agentcomplete(self, m: AmiMessage, at: float, exact: bool) -> ev.Event | None:
        caller, dest, queue, iface, member = self._member(m)
        if caller is None and not dest.uniqueid:
            return None  # no channel block at all: nothing names the call
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

    def _agentrna(self, m: AmiMessage, at: float, exact: bool) -> ev.Event | None:
        caller, dest, queue, iface, member = self._member(m)
        if caller is None and not dest.uniqueid:
            return None  # no channel block at all: nothing names the call
        # RingTime here is MILLISECONDS (app_queue rna()), unlike AgentConnect's seconds.
        return ev.AgentRingNoAnswer(
            at, caller, dest, queue, iface, member, _float(m.get("RingTime")) / 1000.0, exact=exact
        )

    def _agentdump(self, m: AmiMessage, at: float, exact: bool) -> ev.Event | None:
        caller, dest, queue, iface, member = self._member(m)
        if caller is None and not dest.uniqueid:
            return None  # no channel block at all: nothing names the call
        return ev.AgentDumped(at, caller, dest, queue, iface, member, exact=exact)

    # ---- queue members (agent state) --------------------------------------------------------

    def _memberstatus(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return self._member_changed(m, at, exact, "status")

    def _memberadded(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return self._member_changed(m, at, exact, "added")

    def _memberremoved(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return self._member_changed(m, at, exact, "removed")

    def _memberpause(self, m: AmiMessage, at: float, exact: bool) -> ev.Event:
        return self._member_changed(m, at, exact, "pause")

    def _member_changed(self, m: AmiMessage, at: float, exact: bool, kind: str) -> ev.Event:
        """The member block of QueueMember* events. Asterisk 11 names the interface
        ``Location``; QueueMemberPause carried ``Reason`` (a duplicate of PausedReason) to 16."""
        interface = m.get("Interface") or m.get("Location") or m.get("StateInterface") or ""
        return ev.MemberChanged(
            at,
            m.get("Queue") or "",
            interface,
            m.get("MemberName") or interface,
            kind,
            _int(m.get("Status")),
            m.get("InCall") == "1",
            m.get("Paused") == "1",
            m.get("PausedReason") or m.get("Reason") or "",
            _float(m.get("Wrapuptime")),
            exact=exact,
        )
