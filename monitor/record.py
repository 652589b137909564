"""The call record: what ringwatch knows about one call, and its findings.

``CallRecord.to_contract()`` gives exactly the fields of design.md §3 (what
``ringwatch replay --format jsonl`` prints and what the API and CSV export use). The record
carries more (hold spans, first ring, queue join, recording) for the rules, the store and the
call page; ``to_dict()`` includes those too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from monitor.frozen import fast_init

__all__ = [
    "CONTRACT_FIELDS",
    "AudioFacts",
    "CallClocks",
    "CallRecord",
    "Direction",
    "Finding",
    "LiveCall",
    "Outcome",
    "Severity",
    "Span",
    "Timing",
    "iso",
    "rings_for",
]


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class Outcome(StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    UNANSWERED = "unanswered"
    BUSY = "busy"
    FAILED = "failed"
    VOICEMAIL = "voicemail"
    INCOMPLETE = "incomplete"


class Timing(StrEnum):
    EXACT = "exact"
    APPROXIMATE = "approximate"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


def iso(ts: float | None) -> str | None:
    """Epoch seconds -> ISO 8601 UTC with milliseconds and a ``Z``; None stays None."""
    if ts is None:
        return None
    text = datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def rings_for(seconds: float | None, cadence_seconds: float) -> int | None:
    """Rings heard in ``seconds`` of ringing at a ``cadence_seconds`` ring cycle.

    design.md §3: ``rings = ceil(seconds / period)``, at least 1. Float noise below a
    millisecond is ignored, so 9.0000000001 s at a 3 s cadence is 3 rings, 9.1 s is 4.
    """
    if seconds is None:
        return None
    if cadence_seconds <= 0:
        raise ValueError(f"cadence must be positive, got {cadence_seconds}")
    ms = round(seconds * 1000)
    period_ms = round(cadence_seconds * 1000)
    return max(1, -(-ms // period_ms)) if ms > 0 else 1


@dataclass(frozen=True, slots=True)
class Span:
    """A time span in epoch seconds; ``end`` is None while it is still running."""

    start: float
    end: float | None = None

    def seconds(self, now: float | None = None) -> float:
        end = self.end if self.end is not None else now
        return 0.0 if end is None else max(0.0, end - self.start)


fast_init(Span)


@dataclass(frozen=True, slots=True)
class Finding:
    """One standard breached (or not evaluated) on one call.

    ``value`` is what was measured and ``threshold`` the limit, in the check's unit (rings,
    seconds, count). ``at`` is the event time at which the limit passed. ``evidence`` holds
    timeline offsets (seconds from the call's start) a reviewer can jump to.
    """

    rule: str
    severity: Severity
    value: float | None
    threshold: float | None
    at: float | None
    title: str = ""
    flag: bool = False
    live: bool = False
    evidence: tuple[tuple[str, float], ...] = ()

    def to_contract(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": str(self.severity),
            "value": _num(self.value),
            "threshold": _num(self.threshold),
            "at": iso(self.at),
        }


fast_init(Finding)


def _num(value: float | None) -> float | int | None:
    if value is None:
        return None
    if math.isfinite(value) and float(value).is_integer():
        return int(value)
    return round(value, 3)


@dataclass(frozen=True, slots=True)
class AudioFacts:
    """What the audio analysis found in a call's recording (collectors/audio/analysis).

    Spans are seconds from the start of the recording; ``recording_started_at`` (epoch s) maps
    them onto the call's timeline when known. Parties are ``"agent"`` and ``"caller"``.
    ``dead_air`` already excludes Hold->Unhold spans. ``rings_heard`` is None when the
    recording holds no ringback tone.
    """

    duration_seconds: float
    recording_started_at: float | None
    greeting_latency_seconds: float | None
    dead_air: tuple[Span, ...] = ()
    overtalk: tuple[Span, ...] = ()
    overtalk_ratio: float = 0.0
    talk_ratio: tuple[tuple[str, float], ...] = ()
    speech: tuple[tuple[str, tuple[Span, ...]], ...] = ()
    rings_heard: int | None = None

    @property
    def longest_dead_air_seconds(self) -> float:
        return max((s.seconds() for s in self.dead_air), default=0.0)


fast_init(AudioFacts)


CONTRACT_FIELDS: tuple[str, ...] = (
    "call_id",
    "pbx",
    "direction",
    "caller",
    "dialed",
    "queue",
    "agent",
    "started_at",
    "answered_at",
    "ended_at",
    "outcome",
    "ring_seconds",
    "rings",
    "queue_wait_seconds",
    "talk_seconds",
    "hold_seconds",
    "hold_count",
    "longest_hold_seconds",
    "transfers",
    "hangup_cause",
    "timing",
    "findings",
)


class CallClocks(Protocol):
    """What the live checks and ``applies_to`` read of a call: a :class:`CallRecord`, or the
    cheaper :class:`LiveCall` of a running call."""

    @property
    def pbx(self) -> str: ...
    @property
    def direction(self) -> Direction: ...
    @property
    def queue(self) -> str | None: ...
    @property
    def started_at(self) -> float: ...
    @property
    def ended_at(self) -> float | None: ...
    @property
    def first_ring_at(self) -> float | None: ...
    @property
    def queue_joined_at(self) -> float | None: ...
    @property
    def answered_at(self) -> float | None: ...
    @property
    def answered_any_at(self) -> float | None: ...
    @property
    def voicemail_at(self) -> float | None: ...
    @property
    def queue_wait_seconds(self) -> float | None: ...
    @property
    def holds(self) -> tuple[Span, ...]: ...


@dataclass(frozen=True, slots=True)
class LiveCall:
    """A running call as the live checks see it: the clocks of a CallRecord and nothing else.
    Built on every change of a running call, so it is kept small; the whole record is built
    once, when the call ends. Running holds are Spans with ``end`` None."""

    call_id: str
    pbx: str
    direction: Direction
    queue: str | None
    started_at: float
    first_ring_at: float | None
    queue_joined_at: float | None
    answered_at: float | None
    answered_any_at: float | None
    queue_wait_seconds: float | None
    holds: tuple[Span, ...]
    ended_at: float | None = None
    voicemail_at: float | None = None


fast_init(LiveCall)


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One finished (or, for live views, running) call. Times are epoch seconds UTC."""

    call_id: str
    pbx: str
    direction: Direction
    caller: str | None
    dialed: str | None
    queue: str | None
    agent: str | None
    started_at: float
    answered_at: float | None
    ended_at: float | None
    outcome: Outcome
    ring_seconds: float | None
    rings: int | None
    queue_wait_seconds: float | None
    talk_seconds: float | None
    hold_seconds: float
    hold_count: int
    longest_hold_seconds: float
    transfers: int
    hangup_cause: int | None
    timing: Timing
    findings: tuple[Finding, ...] = ()
    # ---- beyond the contract: facts the rules, store and call page need -------------------
    caller_name: str | None = None
    caller_withheld: bool = False
    first_ring_at: float | None = None
    queue_joined_at: float | None = None
    answered_any_at: float | None = None
    voicemail_at: float | None = None  # the caller reached voicemail (stopped waiting)
    holds: tuple[Span, ...] = ()
    agent_ring_no_answer: int = 0
    agents_tried: tuple[str, ...] = ()
    recording: str | None = None
    audio: AudioFacts | None = None
    legs: int = 0
    events: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_contract(self) -> dict[str, Any]:
        """Exactly the design.md §3 call-record fields, JSON-ready. A field the source could
        not know (``extra["unknown"]``: hold figures of a queue_log import) is null, not the
        record's placeholder."""
        data = self._contract()
        unknown = self.extra.get("unknown")
        if unknown:
            for name in unknown:
                if name in data:
                    data[name] = None
        return data

    def _contract(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "pbx": self.pbx,
            "direction": str(self.direction),
            "caller": self.caller,
            "dialed": self.dialed,
            "queue": self.queue,
            "agent": self.agent,
            "started_at": iso(self.started_at),
            "answered_at": iso(self.answered_at),
            "ended_at": iso(self.ended_at),
            "outcome": str(self.outcome),
            "ring_seconds": _num(self.ring_seconds),
            "rings": self.rings,
            "queue_wait_seconds": _num(self.queue_wait_seconds),
            "talk_seconds": _num(self.talk_seconds),
            "hold_seconds": _num(self.hold_seconds),
            "hold_count": self.hold_count,
            "longest_hold_seconds": _num(self.longest_hold_seconds),
            "transfers": self.transfers,
            "hangup_cause": self.hangup_cause,
            "timing": str(self.timing),
            "findings": [f.to_contract() for f in self.findings],
        }

    def to_dict(self) -> dict[str, Any]:
        """The contract fields plus the extra facts (holds, first ring, recording ...)."""
        data = self.to_contract()
        data.update(
            {
                "caller_name": self.caller_name,
                "caller_withheld": self.caller_withheld,
                "first_ring_at": iso(self.first_ring_at),
                "queue_joined_at": iso(self.queue_joined_at),
                "answered_any_at": iso(self.answered_any_at),
                "voicemail_at": iso(self.voicemail_at),
                "holds": [
                    {"start": iso(h.start), "end": iso(h.end), "seconds": _num(h.seconds())}
                    for h in self.holds
                ],
                "agent_ring_no_answer": self.agent_ring_no_answer,
                "agents_tried": list(self.agents_tried),
                "recording": self.recording,
                "legs": self.legs,
            }
        )
        return data


fast_init(CallRecord)
