"""The pipeline's record-with-findings copy is ``dataclasses.replace`` (it is written out)."""

from __future__ import annotations

import dataclasses

from monitor.pipeline import _with_findings
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

T0 = 1_700_000_000.0


def _full() -> CallRecord:
    """A record with no field at its default and no two fields alike."""
    return CallRecord(
        call_id="c-1", pbx="pbx-7", direction=Direction.INBOUND, caller="4155550100",
        dialed="8005550100", queue="sales", agent="Agent A", started_at=T0,
        answered_at=T0 + 7.75, ended_at=T0 + 95.0625, outcome=Outcome.ANSWERED,
        ring_seconds=7.75, rings=3, queue_wait_seconds=6.5, talk_seconds=82.375,
        hold_seconds=13.0, hold_count=2, longest_hold_seconds=11.0, transfers=3,
        hangup_cause=16, timing=Timing.APPROXIMATE,
        findings=(Finding("old", Severity.INFO, 1.0, 2.0, T0 + 1),),
        caller_name="Caller Name", caller_withheld=True, first_ring_at=T0 + 2.5,
        queue_joined_at=T0 + 1.25, answered_any_at=T0 + 0.5, voicemail_at=T0 + 3.375,
        holds=(Span(T0 + 20, T0 + 31), Span(T0 + 40, T0 + 42)), agent_ring_no_answer=4,
        agents_tried=("Agent A", "Agent B"), recording="/rec/c-1.wav",
        audio=AudioFacts(90.0, T0 + 7.0, 1.5), legs=5, events=57,
        extra={"transfer_at": [T0 + 60.0]},
    )  # fmt: skip


def test_with_findings_is_replace() -> None:
    record = _full()
    defaults = CallRecord(**{  # type: ignore[arg-type]
        f.name: getattr(record, f.name)
        for f in dataclasses.fields(CallRecord)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    })  # fmt: skip
    for f in dataclasses.fields(CallRecord):  # every field is set: a swap or a miss shows
        assert getattr(record, f.name) != getattr(defaults, f.name) or (
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ), f.name
    new = (Finding("live", Severity.WARNING, 4, 3, T0 + 9, live=True),)
    got = _with_findings(record, new)
    assert got == dataclasses.replace(record, findings=new)
    assert got.findings is new and got.extra is record.extra
