"""The truth of a lab call, read straight from Asterisk's own output, independently of
ringwatch's tracker:

- moments from the AMI ``Timestamp:`` of the events that define them (a channel that was
  dialled going Up is the answer; the caller's first channel is the start; Hold to Unhold,
  or to that channel's Hangup: Asterisk 22 sends no Unhold when an attended transfer
  completes);
- Asterisk's own figures: AgentConnect HoldTime/RingTime, AgentComplete TalkTime,
  AgentRingNoAnswer RingTime (ms), QueueCallerAbandon HoldTime, the CDR (cdr_manager);
- queue_log lines (app_queue writes them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from collectors.ami.parser import AmiMessage

__all__ = ["CallTruth", "truth_for"]


@dataclass
class CallTruth:
    call_id: str
    started: float
    ended: float
    answered: float | None = None
    answered_by: str | None = None
    talk_end: float | None = None
    queue_join: float | None = None
    queue_leave: float | None = None
    holds: list[tuple[float, float]] = field(default_factory=list)
    agent_connect: dict[str, str] | None = None
    agent_complete: dict[str, str] | None = None
    rna_ms: list[int] = field(default_factory=list)
    abandon_hold: int | None = None
    cdr: list[dict[str, str]] = field(default_factory=list)
    hangup: dict[str, str] | None = None  # the caller's first channel's Hangup
    dial_status: list[str] = field(default_factory=list)
    transfers: int = 0
    events: list[str] = field(default_factory=list)

    @property
    def ring(self) -> float | None:
        return None if self.answered is None else self.answered - self.started

    @property
    def talk(self) -> float | None:
        if self.answered is None or self.talk_end is None:
            return None
        return self.talk_end - self.answered

    @property
    def wait(self) -> float | None:
        if self.queue_join is None:
            return None
        stop = self.answered if self.answered is not None else self.queue_leave
        return None if stop is None else stop - self.queue_join


def _ts(m: AmiMessage) -> float:
    return float(m.get("Timestamp") or "nan")


def _linked(m: AmiMessage, call_id: str) -> bool:
    """The message names the call: Linkedid, or a prefixed one (Dest, Transferer, ...)."""
    if m.get("Linkedid") == call_id:
        return True
    return any(k.endswith("Linkedid") and v == call_id for k, v in m.items)


def truth_for(messages: list[AmiMessage], call_id: str) -> CallTruth:
    """Everything Asterisk said about the call whose Linkedid is ``call_id``."""
    mine = [m for m in messages if _linked(m, call_id)]
    if not mine:
        raise LookupError(f"no AMI event with Linkedid {call_id}")
    first = mine[0]
    caller_uid = first.get("Uniqueid") or ""
    t = CallTruth(call_id, _ts(first), _ts(mine[-1]))
    dialled: set[str] = set()
    open_holds: dict[str, float] = {}
    for m in mine:
        name = m.get("Event") or ""
        t.events.append(name)
        at = _ts(m)
        uid = m.get("Uniqueid") or ""
        if name == "DialBegin" and m.get("DestUniqueid") and m.get("Channel"):
            dialled.add(m.get("DestUniqueid") or "")
        elif name == "DialEnd":
            t.dial_status.append(m.get("DialStatus") or "")
        elif name == "Newstate" and m.get("ChannelState") == "6" and uid in dialled:
            if t.answered is None:
                t.answered, t.answered_by = at, uid
        elif name == "Hangup":
            t.ended = max(t.ended, at)
            if uid in open_holds:  # an attended transfer's Hold has no Unhold: ends here
                t.holds.append((open_holds.pop(uid), at))
            if uid == caller_uid:
                t.hangup = dict(m.items)
            if t.answered is not None and t.talk_end is None and uid in (caller_uid, t.answered_by):
                t.talk_end = at
        elif name == "QueueCallerJoin" and t.queue_join is None:
            t.queue_join = at
        elif name in ("QueueCallerLeave", "QueueCallerAbandon") and t.queue_leave is None:
            t.queue_leave = at
            if name == "QueueCallerAbandon":
                t.abandon_hold = int(m.get("HoldTime") or 0)
        elif name == "AgentConnect":
            t.agent_connect = dict(m.items)
        elif name == "AgentComplete":
            t.agent_complete = dict(m.items)
        elif name == "AgentRingNoAnswer":
            t.rna_ms.append(int(m.get("RingTime") or 0))
        elif name == "Hold":
            open_holds.setdefault(uid, at)
        elif name == "Unhold" and uid in open_holds:
            t.holds.append((open_holds.pop(uid), at))
        elif name in ("BlindTransfer", "AttendedTransfer") and m.get("Result") == "Success":
            t.transfers += 1
    # CDRs carry no Linkedid header in every version: match them by the call's channels
    uids = {m.get("Uniqueid") for m in mine}
    t.cdr = [
        dict(m.items) for m in messages if m.get("Event") == "Cdr" and m.get("UniqueID") in uids
    ]
    return t
