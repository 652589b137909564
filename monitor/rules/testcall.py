"""Build a CallRecord from a rule test's call description (times as offsets in seconds).

Fields are CallRecord's; ``started_at`` is an ISO time or an offset from the test file's base
time, every other time an offset from the call's start. Derived facts (ring and wait seconds,
rings, talk, hold totals) are computed unless given.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.record import AudioFacts, CallRecord, Direction, Outcome, Span, Timing, rings_for

__all__ = ["AUDIO_FIELDS", "CALL_FIELDS", "DEFAULT_BASE", "build_call", "parse_time"]

DEFAULT_BASE = "2026-03-02T10:00:00Z"  # a Monday, 10:00 UTC

_OFFSETS = (
    "answered_at",
    "ended_at",
    "queue_joined_at",
    "first_ring_at",
    "answered_any_at",
    "voicemail_at",
)
CALL_FIELDS = (
    "call_id", "pbx", "direction", "caller", "dialed", "queue", "agent", "started_at",
    *_OFFSETS, "outcome", "ring_seconds", "rings", "queue_wait_seconds", "talk_seconds",
    "hold_seconds", "hold_count", "longest_hold_seconds", "holds", "transfers",
    "agent_ring_no_answer", "hangup_cause", "caller_withheld", "audio",
)  # fmt: skip
AUDIO_FIELDS = (
    "duration_seconds", "recording_started_at", "greeting_latency_seconds", "dead_air",
    "overtalk", "overtalk_ratio",
)  # fmt: skip


def parse_time(value: Any) -> float:
    """ISO 8601 text (or a YAML timestamp) -> epoch seconds; numbers pass through."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            raise ValueError(f"time {value!r} needs a zone, e.g. 2026-03-02T10:00:00Z")
        return parsed.timestamp()
    raise ValueError(f"expected a time, got {value!r}")


def _num(d: dict[str, Any], key: str) -> float | None:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"{key} must be a number of seconds, got {v!r}")
    return float(v)


def _spans(raw: Any, base: float, key: str) -> tuple[Span, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"{key} must be a list of [start, end] offsets, got {raw!r}")
    out = []
    for item in raw:
        if not isinstance(item, list) or len(item) != 2 or not isinstance(item[0], int | float):
            raise ValueError(f"each of {key} must be [start, end] (end may be null), got {item!r}")
        out.append(Span(base + item[0], None if item[1] is None else base + float(item[1])))
    return tuple(out)


def build_call(desc: dict[str, Any], *, base: float, cadence: float, index: int = 0) -> CallRecord:
    """A CallRecord from a description; raises ValueError naming the bad field."""
    unknown = [k for k in desc if k not in CALL_FIELDS]
    if unknown:
        raise ValueError(f"unknown call field {unknown[0]!r}")
    raw_start = desc.get("started_at", 0)
    offset = isinstance(raw_start, int | float) and not isinstance(raw_start, bool)
    start = base + float(raw_start) if offset else parse_time(raw_start)
    t = {k: (None if (o := _num(desc, k)) is None else start + o) for k in _OFFSETS}
    answered, ended, joined = t["answered_at"], t["ended_at"], t["queue_joined_at"]
    outcome = Outcome(desc.get("outcome") or ("answered" if answered is not None else "unanswered"))
    holds = _spans(desc.get("holds") or [], start, "holds")
    closed = [h.seconds(ended) for h in holds]
    ring_s = _num(desc, "ring_seconds")
    if ring_s is None and answered is not None:
        ring_s = answered - start
    wait = _num(desc, "queue_wait_seconds")
    if wait is None and joined is not None and (answered or ended) is not None:
        wait = max(0.0, (answered or ended or joined) - joined)
    talk = _num(desc, "talk_seconds")
    if talk is None and answered is not None and ended is not None:
        talk = ended - answered
    audio = None
    if desc.get("audio") is not None:
        a = desc["audio"]
        if not isinstance(a, dict) or any(k not in AUDIO_FIELDS for k in a):
            raise ValueError(f"audio must be a mapping of {', '.join(AUDIO_FIELDS)}")
        rec_start = _num(a, "recording_started_at")
        audio = AudioFacts(
            duration_seconds=_num(a, "duration_seconds") or ((ended or start) - start),
            recording_started_at=start + rec_start if rec_start is not None else answered,
            greeting_latency_seconds=_num(a, "greeting_latency_seconds"),
            dead_air=_spans(a.get("dead_air") or [], 0.0, "audio.dead_air"),
            overtalk=_spans(a.get("overtalk") or [], 0.0, "audio.overtalk"),
            overtalk_ratio=_num(a, "overtalk_ratio") or 0.0,
        )
    return CallRecord(
        call_id=str(desc.get("call_id", f"test-{index}")),
        pbx=str(desc.get("pbx", "pbx1")),
        direction=Direction(desc.get("direction", "inbound")),
        caller=desc.get("caller"),
        dialed=desc.get("dialed"),
        queue=desc.get("queue"),
        agent=desc.get("agent"),
        started_at=start,
        answered_at=answered,
        ended_at=ended,
        outcome=outcome,
        ring_seconds=ring_s,
        rings=desc["rings"] if "rings" in desc else rings_for(ring_s, cadence),
        queue_wait_seconds=wait,
        talk_seconds=talk,
        hold_seconds=_num(desc, "hold_seconds") or sum(closed),
        hold_count=int(desc.get("hold_count", len(holds))),
        longest_hold_seconds=_num(desc, "longest_hold_seconds") or max(closed, default=0.0),
        transfers=int(desc.get("transfers", 0)),
        hangup_cause=desc.get("hangup_cause"),
        timing=Timing.EXACT,
        caller_withheld=bool(desc.get("caller_withheld", False)),
        first_ring_at=t["first_ring_at"],
        queue_joined_at=joined,
        answered_any_at=t["answered_any_at"] or answered,
        voicemail_at=t["voicemail_at"],
        holds=holds,
        agent_ring_no_answer=int(desc.get("agent_ring_no_answer", 0)),
        audio=audio,
    )
