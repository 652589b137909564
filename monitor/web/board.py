"""The wallboard's rows: per-queue figures, agents and the live calls, as the live provider
gives them. Times are event time (epoch s) and ``Board.now`` is the provider's "now" on the
same clock: the browser ticks timers from ``now - since`` plus its own elapsed time, so a
skewed browser clock does not matter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["AgentRow", "Board", "CallRow", "QueueRow", "window_label"]


def window_label(seconds: float | None) -> str:
    """ "last 15 min" for a 900 s window; "" when there is no window."""
    if not seconds:
        return ""
    if seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return f"last {hours} h"
    if seconds >= 60:
        return f"last {seconds / 60:g} min"
    return f"last {seconds:g} s"


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One queue now. ``oldest_since`` is when the longest-waiting caller joined the queue
    (as the "Longest wait" tile; None when nobody waits); today's counts are calls that
    entered the queue since local midnight; the ratios are over the rules' window (None: no
    call in the window yet); ``agents`` counts the members by state."""

    queue: str
    waiting: int = 0
    oldest_since: float | None = None
    offered_today: int = 0
    answered_today: int = 0
    abandoned_today: int = 0
    service_level: float | None = None
    abandon_rate: float | None = None
    agents: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "waiting": self.waiting,
            "oldest_since": self.oldest_since,
            "offered_today": self.offered_today,
            "answered_today": self.answered_today,
            "abandoned_today": self.abandoned_today,
            "service_level": self.service_level,
            "abandon_rate": self.abandon_rate,
            "agents": dict(self.agents),
        }


@dataclass(frozen=True, slots=True)
class AgentRow:
    name: str
    state: str
    since: float
    reason: str = ""
    queues: tuple[str, ...] = ()
    call_id: str | None = None
    call_queue: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "since": self.since,
            "reason": self.reason,
            "queues": list(self.queues),
            "call_id": self.call_id,
            "call_queue": self.call_queue,
        }


@dataclass(frozen=True, slots=True)
class CallRow:
    """A call waiting (``kind`` "waiting") or on hold ("hold") with the standard it is timed
    against: amber from ``amber_at``, red from ``red_at`` (None: no live rule applies)."""

    call_id: str
    kind: str
    queue: str
    since: float
    amber_at: float | None = None
    red_at: float | None = None
    standard: str = ""
    agent: str | None = None
    queue_joined_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "queue_joined_at": self.queue_joined_at,
            "kind": self.kind,
            "queue": self.queue,
            "since": self.since,
            "amber_at": self.amber_at,
            "red_at": self.red_at,
            "standard": self.standard,
            "agent": self.agent,
        }


@dataclass(frozen=True, slots=True)
class Board:
    now: float = 0.0
    window: str = ""
    queues: tuple[QueueRow, ...] = ()
    agents: tuple[AgentRow, ...] = ()
    calls: tuple[CallRow, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "now": self.now,
            "window": self.window,
            "queues": [q.to_json() for q in self.queues],
            "agents": [a.to_json() for a in self.agents],
            "calls": [c.to_json() for c in self.calls],
        }
