"""Write a transcript: the engine's events as pure AMI blocks (no banner, no responses),
with ``Timestamp`` headers when asked; for replay, benchmarks and tests."""

from __future__ import annotations

from typing import BinaryIO

from monitor.simulator.engine import ContactCentre
from monitor.simulator.wire import render

__all__ = ["write_transcript"]


def write_transcript(
    engine: ContactCentre,
    duration: float,
    out: BinaryIO,
    timestamps: bool = True,
    step: float = 300.0,
) -> int:
    """Run ``engine`` for ``duration`` virtual seconds, writing every event to ``out``;
    returns the number of events written. Memory stays bounded (``step`` at a time)."""
    end = engine.now + duration
    count = 0
    while engine.now < end:
        events = engine.run_until(min(end, engine.now + step))
        out.write(b"".join(render(at, msg, timestamps) for at, msg in events))
        count += len(events)
    return count
