"""The figures of a standards report, from summed rollup counters. Pure arithmetic.

Formulas (docs/reports.md states them for operators):

* offered = calls in the group (inbound by default); answered, abandoned, short abandons
  (abandoned within ``short_abandon_seconds`` of joining the queue, or of arriving when the
  call never queued) are counted apart and are not in the service level's denominator;
* service level = answered within T seconds of waiting / (answered + abandoned - short
  abandons), with the wait = queue wait, or ring time for a call that never queued (the
  Genesys/RingCentral "exclude short abandons" form; Asterisk's own SL counts only completed
  calls, SL2 counts short abandons as successes - both are in metric-definitions.md);
* ASA = mean time from the call's arrival to the answer by a person (``ring_seconds``) over
  answered calls where it is known (not for queue_log imports);
* wait: mean and longest queue wait of calls that queued; talk: mean talk of answered calls;
  hold: total and mean hold of calls that were put on hold (hold known only from AMI);
* per standard: actual = met / (met + breached) of the calls it applied to; variance =
  actual - target; calls needed = more met calls it would have taken to reach the target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitor.store.history_schema import WAIT_EDGES

__all__ = ["COUNTERS", "Figures", "StandardFigure", "calls_needed"]

COUNTERS: tuple[str, ...] = (
    "calls", "answered", "abandoned", "short_abandoned", "unanswered", "busy", "failed",
    "voicemail", "incomplete", "answer_known", "answer_sum", "waited", "wait_sum",
    "talk_sum", "talked", "hold_sum", "held", "transfers",
    *(f"ans_le_{edge}" for edge in WAIT_EDGES),
)  # fmt: skip
MAXIMA: tuple[str, ...] = ("answer_max", "wait_max")


def _ratio(num: float, den: float) -> float | None:
    return None if den <= 0 else num / den


def calls_needed(met: int, total: int, target: float) -> int:
    """How many more met calls would bring met/total up to ``target`` (0 if it is met)."""
    if total == 0 or met >= target * total - 1e-9:
        return 0
    if target >= 1.0:
        return total - met  # every breached call would have had to meet it
    return math.ceil((target * total - met) / (1.0 - target) - 1e-9)


class Figures:
    """Summed counters of one group (``COUNTERS`` then ``MAXIMA``, in that order); the
    derived figures in ``to_json``. Rows are added in bulk, column by column (C-speed sums)."""

    __slots__ = ("maxima", "sums")

    def __init__(self) -> None:
        self.sums: dict[str, float] = dict.fromkeys(COUNTERS, 0.0)
        self.maxima: dict[str, float] = dict.fromkeys(MAXIMA, 0.0)

    def add_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Rows of the measure columns, COUNTERS then MAXIMA (as the report query selects)."""
        if not rows:
            return
        columns = list(zip(*rows, strict=True))
        sums, maxima = self.sums, self.maxima
        for name, col in zip(COUNTERS, columns, strict=False):
            sums[name] += float(sum(col))
        for name, col in zip(MAXIMA, columns[len(COUNTERS) :], strict=True):
            top = float(max(col))
            if top > maxima[name]:
                maxima[name] = top

    def n(self, name: str) -> int:
        return round(self.sums[name])

    def service_level(self, threshold: int) -> float | None:
        s = self.sums
        den = s["answered"] + s["abandoned"] - s["short_abandoned"]
        return _ratio(s[f"ans_le_{threshold}"], den)

    def to_json(self, sl_threshold: int) -> dict[str, Any]:
        s = self.sums
        return {
            "offered": self.n("calls"),
            "answered": self.n("answered"),
            "abandoned": self.n("abandoned") - self.n("short_abandoned"),
            "short_abandoned": self.n("short_abandoned"),
            "service_level": _round(self.service_level(sl_threshold)),
            "answered_within_threshold": self.n(f"ans_le_{sl_threshold}"),
            "asa_seconds": _round(_ratio(s["answer_sum"], s["answer_known"])),
            "longest_answer_seconds": _round(self.maxima["answer_max"]),
            "average_wait_seconds": _round(_ratio(s["wait_sum"], s["waited"])),
            "longest_wait_seconds": _round(self.maxima["wait_max"]),
            "average_talk_seconds": _round(_ratio(s["talk_sum"], s["talked"])),
            "talk_seconds": _round(s["talk_sum"]),
            "hold_seconds": _round(s["hold_sum"]),
            "held_calls": self.n("held"),
            "average_hold_seconds": _round(_ratio(s["hold_sum"], s["held"])),
            "transfers": self.n("transfers"),
            "unanswered_by_cause": {
                "abandoned": self.n("abandoned"),
                "unanswered": self.n("unanswered"),
                "busy": self.n("busy"),
                "failed": self.n("failed"),
                "voicemail": self.n("voicemail"),
                "incomplete": self.n("incomplete"),
            },
        }


@dataclass(frozen=True)
class StandardFigure:
    rule: str
    title: str
    target: float | None
    met: int
    breached: int
    previous: float | None  # actual in the previous period

    @property
    def applicable(self) -> int:
        return self.met + self.breached

    @property
    def actual(self) -> float | None:
        return _ratio(self.met, self.applicable)

    def to_json(self) -> dict[str, Any]:
        actual = self.actual
        variance = None if actual is None or self.target is None else actual - self.target
        trend = None if actual is None or self.previous is None else actual - self.previous
        needed = (
            None if self.target is None else calls_needed(self.met, self.applicable, self.target)
        )
        return {
            "rule": self.rule,
            "title": self.title,
            "target": self.target,
            "actual": _round(actual),
            "variance": _round(variance),
            "calls_needed": needed,
            "met": self.met,
            "breached": self.breached,
            "applicable": self.applicable,
            "previous": _round(self.previous),
            "trend": _round(trend),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
