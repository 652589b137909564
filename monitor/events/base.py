"""What every event has: ``at`` (event time, epoch seconds UTC) and ``exact``."""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.frozen import fast_init

__all__: list[str] = []


@dataclass(frozen=True, slots=True)
class _Base:
    at: float
    exact: bool = field(default=True, kw_only=True)


fast_init(_Base)
