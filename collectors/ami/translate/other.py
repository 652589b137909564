"""Transfers, Local channel pairs, recordings, voicemail, CallbackPromise user events, CDRs,
FullyBooted, and the resync list items (CoreShowChannel, QueueEntry)."""

from __future__ import annotations

from datetime import UTC, datetime

from collectors.ami.parser import AmiMessage
from collectors.ami.translate.fields import FieldReader, _float, _int, uniqueid_epoch
from monitor import events as ev
from monitor.events import ChannelRef

__all__ = ["OtherHandlers", "resync_channel", "resync_queue_entry"]

# app_queue's QUEUESTATUS values (the Queue() application's documentation) -> our reasons
_QUEUE_STATUS = {
    "TIMEOUT": "timeout",
    "LEAVEEMPTY": "empty",
    "LEAVEUNAVAIL": "unavailable",
    "FULL": "full",
    "JOINEMPTY": "joinempty",
    "JOINUNAVAIL": "joinunavail",
    "WITHDRAW": "withdraw",
    "CONTINUE": "continue",
}


class OtherHandlers(FieldReader):
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
        variable = m.get("Variable") or ""
        if variable == "MIXMONITOR_FILENAME":
            chan = self._chan(m)
            value = m.get("Value")
            if chan is None or not value:
                return None
            return ev.RecordingFile(at, chan, value, exact=exact)
        if variable == "QUEUESTATUS":
            chan = self._chan(m)
            reason = _QUEUE_STATUS.get((m.get("Value") or "").upper())
            return (
                None
                if chan is None or reason is None
                else ev.QueueExited(at, chan, reason, exact=exact)
            )
        if variable.startswith("VM_") or variable == "VMSTATUS":
            # app_voicemail (VM_MESSAGEFILE, VMSTATUS) and FreePBX macro-vm/sub-vm (VM_OPTS,
            # VM_GAIN, VM_DDTYPE ...) set these as the caller reaches voicemail: it is seen
            # where Newexten is filtered out of the AMI stream
            chan = self._chan(m)
            return None if chan is None else ev.VoicemailStarted(at, chan, exact=exact)
        return None

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
    chan = FieldReader._chan_general(msg)
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
    chan = FieldReader._chan_general(msg)
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
