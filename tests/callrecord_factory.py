"""Builders of CallRecords with findings, for the store and web tests."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher

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

T0 = 1_790_000_000.0  # 2026-09-21T...Z, a fixed event-time origin

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class FakeClock:
    def __init__(self, now: float = T0 + 86400.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def finding(
    rule: str = "answer-within-three-rings",
    severity: Severity = Severity.WARNING,
    value: float | None = 5,
    threshold: float | None = 3,
    at: float | None = T0 + 9,
    flag: bool = True,
    evidence: tuple[tuple[str, float], ...] = (("answered", 15.0),),
    title: str = "Answer the phone within three rings",
) -> Finding:
    return Finding(
        rule=rule, severity=severity, value=value, threshold=threshold, at=at, title=title,
        flag=flag, evidence=evidence,
    )


def audio(start: float = T0 + 15) -> AudioFacts:
    return AudioFacts(
        duration_seconds=60.0,
        recording_started_at=start,
        greeting_latency_seconds=1.5,
        dead_air=(Span(20.0, 32.0),),
        overtalk=(Span(40.0, 42.0),),
        overtalk_ratio=0.03,
        talk_ratio=(("agent", 0.55), ("caller", 0.45)),
        speech=(
            ("agent", (Span(1.5, 10.0), Span(33.0, 41.0))),
            ("caller", (Span(10.5, 19.0), Span(40.0, 55.0))),
        ),
        rings_heard=5,
    )


def record(call_id: str = "1790000000.1", **kw: Any) -> CallRecord:
    base: dict[str, Any] = dict(
        call_id=call_id,
        pbx="pbx1",
        direction=Direction.INBOUND,
        caller="+441632960001",
        dialed="100",
        queue="support",
        agent="alice",
        started_at=T0,
        answered_at=T0 + 15,
        ended_at=T0 + 75,
        outcome=Outcome.ANSWERED,
        ring_seconds=15.0,
        rings=5,
        queue_wait_seconds=12.0,
        talk_seconds=60.0,
        hold_seconds=10.0,
        hold_count=1,
        longest_hold_seconds=10.0,
        transfers=0,
        hangup_cause=16,
        timing=Timing.EXACT,
        findings=(finding(),),
        caller_name="Jane Caller",
        first_ring_at=T0 + 3,
        queue_joined_at=T0 + 3,
        answered_any_at=T0 + 15,
        holds=(Span(T0 + 50, T0 + 60),),
        agents_tried=("bob", "alice"),
        agent_ring_no_answer=1,
        recording=None,
        audio=None,
        legs=3,
        events=42,
        extra={"source": "test"},
    )
    base.update(kw)
    return CallRecord(**base)
