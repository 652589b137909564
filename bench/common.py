"""Shared pieces of the benchmarks: reproducible simulator streams, repeat statistics and
the machine description. Nothing here times anything."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.simulator import ContactCentre, default_config, render
from monitor.simulator.config import AgentConfig, CentreConfig, QueueConfig, TrafficConfig, hourly

BANNER = b"Asterisk Call Manager/5.0.5\r\n"
DAY = 86_400.0


@dataclass(frozen=True)
class Spread:
    """Median and spread of repeated measurements (bigger is not always better)."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def to_json(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "min": self.low,
            "max": self.high,
            "values": list(self.values),
        }


def spread(values: Sequence[float]) -> Spread:
    if not values:
        raise ValueError("no measurements")
    return Spread(tuple(values))


def machine() -> dict[str, Any]:
    """CPU model, cores, Python and the date: what docs/benchmarks.md prints with the table."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python_loop_s": python_loop_seconds(),
    }


def python_loop_seconds(additions: int = 10_000_000, repeats: int = 3) -> float:
    """Best time of a plain Python loop of ``additions`` additions: the machine's speed at
    the moment, printed with the figures. A shared VM's speed drifts (this 2-core one by 2x
    within an hour: 0.5-0.6 s quick, 0.9-1.2 s slow), so figures taken at different times
    compare only together with this."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        total = 0
        for i in range(additions):
            total += i
        best = min(best, time.perf_counter() - t0)
    return best


def busy_config(scale: int) -> CentreConfig:
    """The demo centre grown ``scale`` times: ``scale`` copies of each agent (extensions
    201, 1201, 2201, ...) and ``scale`` times the queue and extension traffic."""
    base = default_config()
    if scale <= 1:
        return base
    agents = tuple(
        AgentConfig(str(int(a.ext) + 1000 * i), f"{a.name} {i}", a.behaviour)
        for i in range(scale)
        for a in base.agents
    )
    queues = tuple(
        QueueConfig(
            q.name,
            did=q.did,
            agents=tuple(str(int(e) + 1000 * i) for i in range(scale) for e in q.agents),
            arrivals_per_hour=tuple(r * scale for r in q.arrivals_per_hour),
            strategy=q.strategy,
        )
        for q in base.queues
    )
    t = base.traffic
    traffic = TrafficConfig(
        direct_per_hour=hourly(t.direct_per_hour[0] * scale),
        internal_per_hour=hourly(t.internal_per_hour[0] * scale),
        outbound_per_hour=hourly(t.outbound_per_hour[0] * scale),
    )
    return CentreConfig(queues=queues, agents=agents, extensions=base.extensions, traffic=traffic)


def stream_chunks(
    min_events: int, seed: int = 1, scale: int = 1, step: float = 600.0
) -> Iterator[tuple[int, bytes]]:
    """Simulator events rendered as Asterisk sends them (``Timestamp:`` on), ``step`` virtual
    seconds at a time, until at least ``min_events`` were yielded: ``(count, bytes)``."""
    engine = ContactCentre(busy_config(scale), seed=seed)
    total = 0
    while total < min_events:
        events = engine.run_until(engine.now + step)
        if not events:
            continue
        total += len(events)
        yield len(events), b"".join(render(at, msg, True) for at, msg in events)


def event_stream(min_events: int, seed: int = 1) -> tuple[bytes, int]:
    """A banner then at least ``min_events`` events of the demo centre: ``(bytes, events)``."""
    parts = [BANNER]
    count = 0
    for n, data in stream_chunks(min_events, seed=seed):
        parts.append(data)
        count += n
    return b"".join(parts), count


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]
