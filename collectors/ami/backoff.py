"""Reconnect delays of the AMI collector: fast first, then capped (docs/configuration.md).

A PBX restart takes a few seconds; a link that was dropped by a network blip comes back at
once. So the collector retries after 0.5, 1, 2 and 5 s, then every 15 s until the PBX answers
(``pbx[].reconnect_delays``, ``pbx[].reconnect_max``). Each delay is shortened at random by up
to ``jitter`` (a fraction) so collectors restarted together do not knock in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

__all__ = ["DEFAULT_RECONNECT_DELAYS", "DEFAULT_RECONNECT_MAX", "Backoff"]

DEFAULT_RECONNECT_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0)
DEFAULT_RECONNECT_MAX = 15.0


@dataclass(frozen=True, slots=True)
class Backoff:
    """``steps[n]`` before attempt ``n + 1``, then ``cap``; never more than ``cap``."""

    steps: tuple[float, ...] = DEFAULT_RECONNECT_DELAYS
    cap: float = DEFAULT_RECONNECT_MAX
    jitter: float = 0.1

    def base(self, attempt: int) -> float:
        """The delay before jitter."""
        step = self.steps[attempt] if 0 <= attempt < len(self.steps) else self.cap
        return min(step, self.cap)

    def delay(self, attempt: int, rng: Random) -> float:
        return self.base(attempt) * (1.0 - self.jitter * rng.random())
