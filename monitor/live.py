"""Live state for the scrape-time gauges and the wallboard, read from the running pipelines.

``LiveState`` is a pipeline sink (it counts today's calls and feeds the window standards) and
implements both providers: ``live_snapshots()`` for monitor.metrics and ``numbers()`` for the
web wallboard, plus ``board()`` (per-queue rows, agents from each PBX's ``AgentBoard``,
the calls waiting and on hold with their live-rule deadlines). It runs on the event loop that
owns the trackers, so reads are consistent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.agents import AgentBoard
from monitor.metrics.live import LiveSnapshot
from monitor.pipeline import Pipeline
from monitor.record import CallRecord, Direction, Finding, LiveCall, Outcome
from monitor.rules import RuleResult, RuleSet, Site, WindowEvaluator
from monitor.rules.cadence import cadence_for
from monitor.rules.checks_call import clock_start
from monitor.rules.evaluate import applies
from monitor.rules.live import live_deadlines
from monitor.tracker import CallState, TrackerSettings
from monitor.tracker.call import Call
from monitor.web.board import AgentRow, Board, CallRow, QueueRow, window_label
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
        agents: Mapping[str, AgentBoard] | None = None,
        queues: Sequence[str] = (),
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
        self.agents = agents if agents is not None else {}  # filled in later by the service
        self.queues = tuple(queues)  # configured queues: a row each, even when idle
        # per queue, today: [offered, answered, abandoned]; per (check, queue): a window
        self._queue_today: dict[str, list[int]] = {}
        self._queue_windows: dict[tuple[str, str], WindowEvaluator] = {}

    # ---- sink --------------------------------------------------------------------------------

    def call_completed(self, record: CallRecord, results: Sequence[RuleResult]) -> None:
        when = record.ended_at or record.started_at
        day = datetime.fromtimestamp(when, self.tz).date().isoformat()
        if day != self._day:
            self._day, self._answered_today, self._within_three_today = day, 0, 0
            self._queue_today = {}
        if record.queue is not None and record.queue_joined_at is not None:
            counts = self._queue_today.setdefault(record.queue, [0, 0, 0])
            counts[0] += 1
            counts[1] += record.outcome is Outcome.ANSWERED
            counts[2] += record.outcome is Outcome.ABANDONED
        if record.outcome is Outcome.ANSWERED and record.direction == "inbound":
            self._answered_today += 1
            if record.rings is not None and record.rings <= 3:
                self._within_three_today += 1
        windows = self._window_evaluators()
        for window in windows.values():
            window.add(record)
            window.prune(when - window.window - 60)
        if record.queue is not None:
            for check, overall in windows.items():
                key = (check, record.queue)
                per_queue = self._queue_windows.get(key)
                if per_queue is None:
                    per_queue = self._queue_windows[key] = WindowEvaluator(overall.rule)
                per_queue.add(record)
                per_queue.prune(when - per_queue.window - 60)

    def live_finding(self, call_id: str, finding: Finding) -> None:
        return None  # breaching-now is read from each pipeline (Pipeline.breaching)

    def _window_evaluators(self) -> dict[str, WindowEvaluator]:
        rules = self.rules()
        if rules is not self._rules_seen:
            self._rules_seen = rules
            self._windows = {}
            self._queue_windows = {}
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
            settings = pipeline.tracker.settings
            for call in pipeline.tracker.calls.values():
                if _waiting(call, settings):  # the board's queue rows count the same calls
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

    # ---- the board ---------------------------------------------------------------------------

    def board(self) -> Board:
        now = self._now()
        windows = self._window_evaluators()
        calls: list[CallRow] = []
        for pipeline in self.pipelines.values():
            calls.extend(_call_rows(pipeline))
        agents = [
            AgentRow(a.name, a.state, a.since, a.reason, a.queues, a.call_id, a.call_queue)
            for board in self.agents.values()
            for a in board.agents()
        ]
        names = set(self.queues) | set(self._queue_today)
        names |= {queue for _, queue in self._queue_windows}
        names |= {c.queue for c in calls if c.queue} | {q for a in agents for q in a.queues}
        rows = []
        for queue in sorted(names):
            waiting = [
                c.since if c.queue_joined_at is None else c.queue_joined_at
                for c in calls
                if c.kind == "waiting" and c.queue == queue
            ]
            offered, answered, abandoned = self._queue_today.get(queue, (0, 0, 0))
            sl = self._queue_windows.get(("service_level", queue))
            ab = self._queue_windows.get(("abandon_rate", queue))
            states = dict.fromkeys(("available", "on_call", "paused", "wrap_up"), 0)
            for a in agents:
                if queue in a.queues and a.state in states:
                    states[a.state] += 1
            rows.append(
                QueueRow(
                    queue=queue,
                    waiting=len(waiting),
                    oldest_since=min(waiting, default=None),
                    offered_today=offered,
                    answered_today=answered,
                    abandoned_today=abandoned,
                    service_level=sl.ratio(now) if sl is not None else None,
                    abandon_rate=ab.ratio(now) if ab is not None else None,
                    agents=states,
                )
            )
        seconds = next((w.window for w in windows.values()), None)
        return Board(now, window_label(seconds), tuple(rows), tuple(agents), tuple(calls))


def _call_rows(pipeline: Pipeline) -> list[CallRow]:
    """The calls of one PBX waiting to be answered or on hold, with their live standards."""
    tracker = pipeline.tracker
    rules = pipeline.ruleset
    out = []
    for call_id, call in tracker.calls.items():
        waiting = _waiting(call, tracker.settings)
        if not waiting and not call.open_holds:
            continue
        wait: tuple[float, str] | None = None
        hold: tuple[float, str] | None = None
        snap = tracker.live_view(call_id) if rules is not None else None
        if rules is not None and snap is not None:
            for d in live_deadlines(snap, rules, site=pipeline.site):
                rule = rules.get(d.rule_id)
                if rule.check == "longest_hold":
                    hold = hold or (d.at, rule.title)
            if waiting:
                wait = _wait_standard(snap, rules, pipeline.site)
        queue = call.queue or ""
        if waiting:
            row = _row(call_id, "waiting", queue, call.started_at, wait, None)
            out.append(replace(row, queue_joined_at=call.queue_joined_at))
        if call.open_holds:
            since = max(call.open_holds.values())
            out.append(_row(call_id, "hold", queue, since, hold, call.agent))
    return out


def _waiting(call: Call, settings: TrackerSettings) -> bool:
    """A caller waiting for a person: queued, or an inbound call ringing or in the IVR."""
    if call.answered_at is not None:
        return False
    if call.state is CallState.QUEUED:
        return True
    return (
        call.state in (CallState.RINGING, CallState.IVR)
        and call.direction(settings) is Direction.INBOUND
    )


def _wait_standard(snap: LiveCall, rules: RuleSet, site: Site) -> tuple[float, str] | None:
    """When a waiting caller passes the earliest waiting standard (rings at the cadence from
    the rule's clock, or a queue-wait limit), with its title. Unlike the live check, a call
    the IVR answered still counts: the caller waits for a person."""
    best: tuple[float, str] | None = None
    for rule in rules.rules:
        if rule.check not in ("rings_to_answer", "queue_wait") or not applies(rule, snap):
            continue
        p = rule.params
        if rule.check == "rings_to_answer":
            start = clock_start(snap, str(p.get("clock", "arrival")))
            cadence = cadence_for(p.get("country") or site.country)
            at = None if start is None else start + int(p["max"]) * cadence
        else:
            joined = snap.queue_joined_at
            at = None if joined is None else joined + float(p["max"])
        if at is not None and (best is None or at < best[0]):
            best = (at, rule.title)
    return best


def _row(
    call_id: str,
    kind: str,
    queue: str,
    since: float,
    deadline: tuple[float, str] | None,
    agent: str | None,
) -> CallRow:
    """Amber from two thirds of the way to the standard (the third ring of three, 40 s of a
    60 s hold), red once it is passed."""
    if deadline is None:
        return CallRow(call_id, kind, queue, since, agent=agent)
    red, title = deadline
    amber = since + (red - since) * 2 / 3
    return CallRow(call_id, kind, queue, since, amber, red, title, agent)
