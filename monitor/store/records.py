"""CallRecord <-> table rows. Pure functions: what is stored and how it comes back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from monitor.record import (
    AudioFacts,
    CallRecord,
    Direction,
    Finding,
    Outcome,
    Severity,
    Span,
    Timing,
)
from monitor.store.schema import SEVERITY_RANK

__all__ = [
    "audio_from_json",
    "audio_to_json",
    "call_row",
    "finding_rows",
    "flag_summary",
    "record_from_rows",
]


def _spans(spans: Sequence[Span]) -> list[list[float | None]]:
    return [[s.start, s.end] for s in spans]


def _spans_back(raw: Any) -> tuple[Span, ...]:
    return tuple(Span(float(a), None if b is None else float(b)) for a, b in raw or ())


def audio_to_json(audio: AudioFacts | None) -> dict[str, Any] | None:
    if audio is None:
        return None
    return {
        "duration_seconds": audio.duration_seconds,
        "recording_started_at": audio.recording_started_at,
        "greeting_latency_seconds": audio.greeting_latency_seconds,
        "dead_air": _spans(audio.dead_air),
        "overtalk": _spans(audio.overtalk),
        "overtalk_ratio": audio.overtalk_ratio,
        "talk_ratio": [[p, r] for p, r in audio.talk_ratio],
        "speech": [[party, _spans(spans)] for party, spans in audio.speech],
        "rings_heard": audio.rings_heard,
    }


def audio_from_json(raw: Mapping[Any, Any] | None) -> AudioFacts | None:
    if raw is None:
        return None
    return AudioFacts(
        duration_seconds=float(raw["duration_seconds"]),
        recording_started_at=raw.get("recording_started_at"),
        greeting_latency_seconds=raw.get("greeting_latency_seconds"),
        dead_air=_spans_back(raw.get("dead_air")),
        overtalk=_spans_back(raw.get("overtalk")),
        overtalk_ratio=float(raw.get("overtalk_ratio", 0.0)),
        talk_ratio=tuple((str(p), float(r)) for p, r in raw.get("talk_ratio", ())),
        speech=tuple((str(p), _spans_back(s)) for p, s in raw.get("speech", ())),
        rings_heard=raw.get("rings_heard"),
    )


def call_row(rec: CallRecord, stored_at: float) -> dict[str, Any]:
    """The ``calls`` row for a record: contract columns plus the extras as JSON."""
    extra = {
        "caller_withheld": rec.caller_withheld,
        "first_ring_at": rec.first_ring_at,
        "queue_joined_at": rec.queue_joined_at,
        "answered_any_at": rec.answered_any_at,
        "voicemail_at": rec.voicemail_at,
        "holds": _spans(rec.holds),
        "agent_ring_no_answer": rec.agent_ring_no_answer,
        "agents_tried": list(rec.agents_tried),
        "audio": audio_to_json(rec.audio),
        "legs": rec.legs,
        "events": rec.events,
        "extra": dict(rec.extra),
    }
    return {
        "call_id": rec.call_id,
        "pbx": rec.pbx,
        "direction": str(rec.direction),
        "caller": rec.caller,
        "caller_name": rec.caller_name,
        "dialed": rec.dialed,
        "queue": rec.queue,
        "agent": rec.agent,
        "started_at": rec.started_at,
        "answered_at": rec.answered_at,
        "ended_at": rec.ended_at,
        "outcome": str(rec.outcome),
        "ring_seconds": rec.ring_seconds,
        "rings": rec.rings,
        "queue_wait_seconds": rec.queue_wait_seconds,
        "talk_seconds": rec.talk_seconds,
        "hold_seconds": rec.hold_seconds,
        "hold_count": rec.hold_count,
        "longest_hold_seconds": rec.longest_hold_seconds,
        "transfers": rec.transfers,
        "hangup_cause": rec.hangup_cause,
        "timing": str(rec.timing),
        "recording": rec.recording,
        "extra": extra,
        "stored_at": stored_at,
    }


def finding_rows(rec: CallRecord) -> list[dict[str, Any]]:
    return [
        {
            "call_id": rec.call_id,
            "seq": i,
            "rule": f.rule,
            "severity": str(f.severity),
            "value": f.value,
            "threshold": f.threshold,
            "at": f.at,
            "title": f.title,
            "flag": f.flag,
            "live": f.live,
            "evidence": [[label, offset] for label, offset in f.evidence],
        }
        for i, f in enumerate(rec.findings)
    ]


def flag_summary(rec: CallRecord) -> tuple[str, int, str] | None:
    """(worst severity, its rank, comma-joined rules) of the flagging findings, or None."""
    flagged = [f for f in rec.findings if f.flag]
    if not flagged:
        return None
    worst = max(flagged, key=lambda f: SEVERITY_RANK.get(str(f.severity), 0))
    rules = ",".join(dict.fromkeys(f.rule for f in flagged))
    sev = str(worst.severity)
    return sev, SEVERITY_RANK.get(sev, 0), rules[:1024]


def _finding(row: Mapping[Any, Any]) -> Finding:
    return Finding(
        rule=row["rule"],
        severity=Severity(row["severity"]),
        value=row["value"],
        threshold=row["threshold"],
        at=row["at"],
        title=row["title"],
        flag=bool(row["flag"]),
        live=bool(row["live"]),
        evidence=tuple((str(lbl), float(off)) for lbl, off in row["evidence"] or ()),
    )


def record_from_rows(
    row: Mapping[Any, Any], finding_rows_: Sequence[Mapping[Any, Any]]
) -> CallRecord:
    """Rebuild the CallRecord from its ``calls`` row and its ``findings`` rows (by seq)."""
    extra: Mapping[Any, Any] = row["extra"] or {}
    return CallRecord(
        call_id=row["call_id"],
        pbx=row["pbx"],
        direction=Direction(row["direction"]),
        caller=row["caller"],
        dialed=row["dialed"],
        queue=row["queue"],
        agent=row["agent"],
        started_at=row["started_at"],
        answered_at=row["answered_at"],
        ended_at=row["ended_at"],
        outcome=Outcome(row["outcome"]),
        ring_seconds=row["ring_seconds"],
        rings=row["rings"],
        queue_wait_seconds=row["queue_wait_seconds"],
        talk_seconds=row["talk_seconds"],
        hold_seconds=row["hold_seconds"],
        hold_count=row["hold_count"],
        longest_hold_seconds=row["longest_hold_seconds"],
        transfers=row["transfers"],
        hangup_cause=row["hangup_cause"],
        timing=Timing(row["timing"]),
        findings=tuple(_finding(f) for f in sorted(finding_rows_, key=lambda r: r["seq"])),
        caller_name=row["caller_name"],
        caller_withheld=bool(extra.get("caller_withheld", False)),
        first_ring_at=extra.get("first_ring_at"),
        queue_joined_at=extra.get("queue_joined_at"),
        answered_any_at=extra.get("answered_any_at"),
        voicemail_at=extra.get("voicemail_at"),
        holds=_spans_back(extra.get("holds")),
        agent_ring_no_answer=int(extra.get("agent_ring_no_answer", 0)),
        agents_tried=tuple(extra.get("agents_tried", ())),
        recording=row["recording"],
        audio=audio_from_json(extra.get("audio")),
        legs=int(extra.get("legs", 0)),
        events=int(extra.get("events", 0)),
        extra=dict(extra.get("extra", {})),
    )
