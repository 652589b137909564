"""Wallboard numbers: the provider protocol, the standards they are coloured against, and a
simple in-memory provider (tests, demos). The service implements ``LiveProvider`` from the
tracker's live state."""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, Protocol, runtime_checkable

from monitor.web.board import Board

__all__ = [
    "DEFAULT_STANDARDS",
    "LiveNumbers",
    "LiveProvider",
    "StaticLive",
    "Status",
    "Tile",
    "TileStandard",
    "grade",
    "tiles",
]

Status = Literal["green", "amber", "red", "none"]


@dataclass(frozen=True, slots=True)
class LiveNumbers:
    """What the wallboard shows right now. Ratios are 0..1; None means "not known yet".

    ``answered_within_three_rings_today`` is the share of today's calls answered by a person
    within three rings; ``service_level`` and ``abandon_rate`` follow the rules' window
    standards (metric-definitions.md).
    """

    waiting_now: int = 0
    longest_wait_seconds: float = 0.0
    answered_within_three_rings_today: float | None = None
    service_level: float | None = None
    abandon_rate: float | None = None
    on_hold_now: int = 0
    overdue_promises: int = 0


@runtime_checkable
class LiveProvider(Protocol):
    """Gives the current wallboard numbers; called from the event loop, so keep it cheap."""

    def numbers(self) -> LiveNumbers: ...

    def board(self) -> Board:
        """Per-queue rows, agents and the live calls (monitor/web/board.py)."""
        ...


@dataclass(frozen=True, slots=True)
class TileStandard:
    """Green when the value meets ``target``, amber up to ``warn``, red beyond."""

    label: str
    target: float
    warn: float
    higher_is_better: bool
    unit: Literal["count", "seconds", "ratio"]


DEFAULT_STANDARDS: dict[str, TileStandard] = {
    "waiting_now": TileStandard("Waiting now", 2, 5, False, "count"),
    "longest_wait_seconds": TileStandard("Longest wait", 20, 60, False, "seconds"),
    "answered_within_three_rings_today": TileStandard(
        "Answered in 3 rings today", 0.9, 0.8, True, "ratio"
    ),
    "service_level": TileStandard("Service level", 0.8, 0.7, True, "ratio"),
    "abandon_rate": TileStandard("Abandon rate", 0.05, 0.1, False, "ratio"),
    "on_hold_now": TileStandard("On hold now", 3, 6, False, "count"),
    "overdue_promises": TileStandard("Overdue callbacks", 0, 3, False, "count"),
}


@dataclass(frozen=True, slots=True)
class Tile:
    key: str
    label: str
    value: float | None
    text: str
    target_text: str
    status: Status

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "value": self.value,
            "text": self.text,
            "target": self.target_text,
            "status": self.status,
        }


def grade(value: float | None, std: TileStandard) -> Status:
    if value is None:
        return "none"
    if std.higher_is_better:
        return "green" if value >= std.target else "amber" if value >= std.warn else "red"
    return "green" if value <= std.target else "amber" if value <= std.warn else "red"


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "ratio":
        return f"{value * 100:.0f}%"
    if unit == "seconds":
        secs = round(value)
        return f"{secs // 60}:{secs % 60:02d}" if secs >= 60 else f"{secs}s"
    return f"{value:.0f}"


def tiles(numbers: LiveNumbers, standards: dict[str, TileStandard] | None = None) -> list[Tile]:
    stds = standards or DEFAULT_STANDARDS
    out = []
    for f in fields(numbers):
        std = stds.get(f.name) or DEFAULT_STANDARDS[f.name]
        value = getattr(numbers, f.name)
        v = None if value is None else float(value)
        cmp = "≥" if std.higher_is_better else "≤"
        out.append(
            Tile(
                key=f.name,
                label=std.label,
                value=v,
                text=_fmt(v, std.unit),
                target_text=f"target {cmp} {_fmt(std.target, std.unit)}",
                status=grade(v, std),
            )
        )
    return out


class StaticLive:
    """An in-memory provider: ``update(waiting_now=3)`` changes what the next push shows,
    ``set_board(board)`` the rows."""

    def __init__(self, numbers: LiveNumbers | None = None, board: Board | None = None) -> None:
        self._lock = threading.Lock()
        self._numbers = numbers or LiveNumbers()
        self._board = board or Board()

    def board(self) -> Board:
        with self._lock:
            return self._board

    def set_board(self, board: Board) -> None:
        with self._lock:
            self._board = board

    def numbers(self) -> LiveNumbers:
        with self._lock:
            return self._numbers

    def update(self, **changes: Any) -> None:
        with self._lock:
            self._numbers = replace(self._numbers, **changes)
