"""Compare the calls imported from queue_log with those from AMI for the same calls.

Used to check the queue_log import against a real Asterisk that wrote both (the lab of the
"real Asterisk in the test suite" issue) and against a hand-made pair in the tests. Only the
fields both sources can know are compared; queue_log times are whole seconds, so times and
durations agree within ``tolerance`` seconds. The AMI call's queue join is the queue_log
call's start (queue_log never sees the call before the queue). A field the queue_log call
lists as unknown (the end of a call transferred on) must be None there, and is not compared.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from monitor.record import CallRecord

__all__ = ["COMPARED", "CrossCheck", "crosscheck"]

COMPARED: tuple[str, ...] = (
    "queue",
    "agent",
    "outcome",
    "caller",
    "started_at",
    "answered_at",
    "ended_at",
    "queue_wait_seconds",
    "talk_seconds",
    "transfers",
    "agent_ring_no_answer",
)
_TIMES = frozenset({"started_at", "answered_at", "ended_at", "queue_wait_seconds", "talk_seconds"})
_INSTANTS = frozenset({"started_at", "answered_at", "ended_at"})


def _agree(name: str, va: float, vq: float, tolerance: float) -> bool:
    """A queue_log instant is the event's time cut to the whole second (time(NULL)), so the
    AMI time may be up to a second after it, plus the tolerance for the two events' skew;
    durations and fractional times agree within the tolerance."""
    if name in _INSTANTS and vq.is_integer():
        return -tolerance <= va - vq < 1.0 + tolerance
    return abs(va - vq) <= tolerance


@dataclass
class CrossCheck:
    matched: int = 0
    fields_equal: int = 0  # compared and equal (times within the tolerance)
    fields_unknown: int = 0  # unknown to queue_log, and null there as they must be
    only_ami: list[str] = field(default_factory=list)
    only_queue_log: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.only_ami or self.only_queue_log or self.mismatches)

    def report(self) -> str:
        lines = [
            f"{self.matched} calls compared: {self.fields_equal} fields equal, "
            f"{self.fields_unknown} unknown to queue_log (null there)"
        ]
        lines += [f"only in AMI: {c}" for c in self.only_ami]
        lines += [f"only in queue_log: {c}" for c in self.only_queue_log]
        lines += self.mismatches
        return "\n".join(lines)


def _value(rec: CallRecord, name: str, from_ami: bool) -> object:
    if name == "started_at" and from_ami:
        return rec.queue_joined_at
    value = getattr(rec, name)
    return str(value) if name == "outcome" else value


def crosscheck(
    ami: Iterable[CallRecord], queue_log: Iterable[CallRecord], tolerance: float = 1.0
) -> CrossCheck:
    """Match calls by call id (queue_log's callid is the caller's Uniqueid, which is the
    AMI call's Linkedid for a call that starts at the caller) and compare ``COMPARED``.
    AMI calls that never queued are left out: queue_log cannot see them."""
    by_id = {r.call_id: r for r in ami if r.queue_joined_at is not None}
    out = CrossCheck()
    seen: set[str] = set()
    for q in queue_log:
        a = by_id.get(q.call_id)
        if a is None:
            out.only_queue_log.append(q.call_id)
            continue
        seen.add(q.call_id)
        out.matched += 1
        unknown = set(q.extra.get("unknown") or ())
        for name in COMPARED:
            va, vq = _value(a, name, True), _value(q, name, False)
            if name in unknown:  # queue_log cannot know it: it must say so, not guess
                if vq is not None:
                    out.mismatches.append(f"{q.call_id} {name}: queue_log guessed {vq!r}")
                else:
                    out.fields_unknown += 1
                continue
            if name in _TIMES and isinstance(va, float | int) and isinstance(vq, float | int):
                if _agree(name, float(va), float(vq), tolerance):
                    out.fields_equal += 1
                    continue
            elif va == vq:
                out.fields_equal += 1
                continue
            out.mismatches.append(f"{q.call_id} {name}: AMI {va!r}, queue_log {vq!r}")
        exits = (a.extra.get("queue_exit"), q.extra.get("queue_exit"))
        if None not in exits and exits[0] != exits[1]:  # AMI knows timeout/empty, not a key
            out.mismatches.append(f"{q.call_id} queue_exit: AMI {exits[0]}, queue_log {exits[1]}")
    out.only_ami = sorted(set(by_id) - seen)
    return out
