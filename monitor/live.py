"""Live state for the scrape-time gauges and the wallboard, read from the running pipelines.

``LiveState`` is a pipeline sink (it counts today's calls and feeds the window standards) and
implements both providers: ``live_snapshots()`` for monitor.metrics and ``numbers()`` for the
web wallboard. It runs on the event loop that owns the trackers, so reads are consistent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.metrics.live import LiveSnapshot
from monitor.pipeline import Pipeline
from monitor.record import CallRecord, Finding, Outcome
from monitor.rules import RuleResult, RuleSet, WindowEvaluator
from monitor.tracker import CallState
from monitor.web.live import LiveNumbers

__all__ = ["LiveState"]

_ACTIVE = {
    CallState.ARRIVING: "ringing",
    CallState.RINGING: "ringing",
    CallState.IVR: "queued",
    CallState.QUEUED: "queued",
    CallState.TALKING: "talking",
    CallState.ON_HOLD: "on_hold",
}


class LiveState:
    """What is happening now, across every PBX's pipeline."""

    def __init__(
        self,
        pipelines: Mapping[str, Pipeline],
        *,
        timezone: str = "UTC",
        rules: Callable[[], RuleSet | None] = lambda: None,
        promise_counts: Callable[[], Mapping[str, int]] = dict,
    ) -> None:
        self.pipelines = pipelines
        self.tz = ZoneInfo(timezone)
        self.rules = rules
        self.promise_counts = promise_counts
        self._day: str | None = None
        self._answered_today = 0
        self._within_three_today = 0
        self._windows: dict[str, WindowEvaluator] = {}
        self._rules_seen: RuleSet | None = None

    # ---- sink --------------------------------------------------------------------------------

    def call_completed(self, record: CallRecord, results: Sequence[RuleResult]) -> None:
        when = record.ended_at or record.started_at
        day = datetime.fromtimestamp(when, self.tz).date().isoformat()
        if day != self._day:
            self._day, self._answered_today, self._within_three_today = day, 0, 0
        if record.outcome is Outcome.ANSWERED and record.direction == "inbound":
            self._answered_today += 1
            if record.rings is not None and record.rings <= 3:
                self._within_three_today += 1
        for window in self._window_evaluators().values():
            window.add(record)
            window.prune(when - window.window - 60)

    def live_finding(self, call_id: str, finding: Finding) -> None:
        return None  # breaching-now is read from each pipeline (Pipeline.breaching)

    def _window_evaluators(self) -> dict[str, WindowEvaluator]:
        rules = self.rules()
        if rules is not self._rules_seen:
            self._rules_seen = rules
            self._windows = {}
            for rule in rules.rules if rules is not None else ():
                if rule.check in ("service_level", "abandon_rate") and rule.target is not None:
                    self._windows.setdefault(rule.check, WindowEvaluator(rule))
        return self._windows

    # ---- reads -------------------------------------------------------------------------------

    def _now(self) -> float:
        return max((p.now for p in self.pipelines.values()), default=0.0)

    def _calls(self) -> Iterable[tuple[str, object]]:
        for pbx, pipeline in self.pipelines.items():
            for call in pipeline.tracker.calls.values():
                yield pbx, call

    def live_snapshots(self) -> list[LiveSnapshot]:
        promises = dict(self.promise_counts())
        out = []
        for pbx, pipeline in self.pipelines.items():
            now = pipeline.now
            active: dict[str, int] = {"ringing": 0, "queued": 0, "talking": 0, "on_hold": 0}
            waits: dict[str, float] = {}
            longest_hold = 0.0
            for call in pipeline.tracker.calls.values():
                name = _ACTIVE.get(call.state)
                if name is not None:
                    active[name] += 1
                if call.state is CallState.QUEUED and call.queue_joined_at is not None:
                    q = call.queue or ""
                    waits[q] = max(waits.get(q, 0.0), max(0.0, now - call.queue_joined_at))
                for start in call.open_holds.values():
                    longest_hold = max(longest_hold, now - start)
            out.append(
                LiveSnapshot(
                    pbx=pbx,
                    active_calls=active,
                    longest_wait_seconds=waits,
                    longest_hold_seconds=longest_hold,
                    live_breaches=pipeline.breaching_counts(),
                    promises=promises,
                    clock_offset_seconds=pipeline.clock.offset_seconds,
                )
            )
        return out

    def numbers(self) -> LiveNumbers:
        waiting = 0
        longest = 0.0
        on_hold = 0
        for pipeline in self.pipelines.values():
            now = pipeline.now
            for call in pipeline.tracker.calls.values():
                if call.state is CallState.QUEUED:
                    waiting += 1
                    if call.queue_joined_at is not None:
                        longest = max(longest, now - call.queue_joined_at)
                if call.state is CallState.ON_HOLD:
                    on_hold += 1
        now = self._now()
        windows = self._window_evaluators()
        sl = windows["service_level"].ratio(now) if "service_level" in windows else None
        ab = windows["abandon_rate"].ratio(now) if "abandon_rate" in windows else None
        three = self._within_three_today / self._answered_today if self._answered_today else None
        return LiveNumbers(
            waiting_now=waiting,
            longest_wait_seconds=longest,
            answered_within_three_rings_today=three,
            service_level=sl,
            abandon_rate=ab,
            on_hold_now=on_hold,
            overdue_promises=int(self.promise_counts().get("overdue", 0)),
        )
