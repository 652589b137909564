"""The ringwatch exporter: every metric of the shared schema on a registry passed in.

The pipeline calls the methods: ``call_completed`` once per finished call, ``check`` (or
``finding`` for a breach) once per evaluated rule and call, ``promise_outcome`` when a callback
promise settles, and the AMI hooks from the collector. Live gauges come from a
:class:`~monitor.metrics.live.LiveProvider` at scrape time.

Labelled series are pre-initialised at 0 (every configured pbx × queue, every rule × queue ×
result), so ``increase()`` and ratios work from the first scrape and a quiet queue shows 0, not
"no data". Labels are bounded: never a phone number or a call id; the call id of a breaching call
travels only as an OpenMetrics exemplar.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from monitor import __version__
from monitor.buckets import (
    HOLD_BUCKETS,
    RING_BUCKETS,
    SECONDS_BUCKETS,
    TALK_BUCKETS,
    WAIT_BUCKETS,
)
from monitor.metrics.live import LiveCollector, LiveProvider
from monitor.metrics.names import (
    CALLBACK_BUCKETS,
    CHECK_RESULTS,
    OUTCOMES,
    PROMISE_OUTCOMES,
    m,
)
from monitor.record import CallRecord, Direction, Finding, Severity

__all__ = ["MetricRule", "RingwatchMetrics"]

# OpenMetrics caps an exemplar's label set at 128 UTF-8 characters (name + value).
_EXEMPLAR_MAX = 128 - len("call_id")


@dataclass(frozen=True, slots=True)
class MetricRule:
    """What the exporter needs of a loaded rule: its id, severity, and whether it is live."""

    id: str
    severity: str
    live: bool = False


class RingwatchMetrics:
    """Owns ringwatch's metrics on ``registry`` (never the global one)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        pbxs: Sequence[str],
        queues: Sequence[str] = (),
        rules: Sequence[MetricRule] = (),
        *,
        agent_label: bool = False,
        live_provider: LiveProvider | None = None,
        version: str = __version__,
    ) -> None:
        if not pbxs:
            raise ValueError("RingwatchMetrics needs at least one pbx name")
        self.registry = registry
        self.pbxs = tuple(pbxs)
        self.queues = tuple(q for q in queues if q)
        self.rules = tuple(rules)
        self.agent_label = agent_label
        self._severity = {r.id: r.severity for r in self.rules}
        agent = ["agent"] if agent_label else []
        r = registry

        self.calls = Counter(
            m("calls"),
            "Completed calls.",
            ["pbx", "direction", "queue", "outcome", *agent],
            registry=r,
        )
        self.rings_to_answer = Histogram(
            m("rings_to_answer"),
            "Rings (site cadence) until a person answered.",
            ["pbx", "direction", "queue"],
            buckets=RING_BUCKETS,
            registry=r,
        )
        self.ring_seconds = Histogram(
            m("ring_seconds"),
            "Seconds from the call's arrival to the answer by a person.",
            ["pbx", "direction", "queue"],
            buckets=SECONDS_BUCKETS,
            registry=r,
        )
        self.queue_wait = Histogram(
            m("queue_wait_seconds"),
            "Seconds from queue join to answer or leaving, by the call's outcome.",
            ["pbx", "queue", "outcome"],
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.hold = Histogram(
            m("hold_seconds"),
            "Customer hold spans (Hold to Unhold), one observation per span.",
            ["pbx", "queue"],
            buckets=HOLD_BUCKETS,
            registry=r,
        )
        self.talk = Histogram(
            m("talk_seconds"),
            "Seconds from answer to the end of the call, holds included.",
            ["pbx", "queue"],
            buckets=TALK_BUCKETS,
            registry=r,
        )
        self.greeting = Histogram(
            m("greeting_seconds"),
            "Seconds from answer until the agent spoke (from the recording).",
            ["pbx", "queue"],
            buckets=SECONDS_BUCKETS,
            registry=r,
        )
        self.dead_air = Histogram(
            m("dead_air_seconds"),
            "Dead-air spans outside hold (from the recording), one observation per span.",
            ["pbx", "queue"],
            buckets=SECONDS_BUCKETS,
            registry=r,
        )
        self.checks = Counter(
            m("standard_checks"),
            "Per-call standard checks by result; exemplar call_id on breaches.",
            ["pbx", "queue", "rule", "severity", "result", *agent],
            registry=r,
        )
        self.promises = Counter(
            m("callback_promises"),
            "Callback promises settled, by outcome.",
            ["pbx", "outcome"],
            registry=r,
        )
        self.callback_seconds = Histogram(
            m("callback_seconds"),
            "Seconds from the promise to the kept callback.",
            ["pbx"],
            buckets=CALLBACK_BUCKETS,
            registry=r,
        )
        self.ami_up_gauge = Gauge(
            m("ami_up"), "1 while the AMI session is logged in.", ["pbx"], registry=r
        )
        self.ami_reconnects = Counter(m("ami_reconnects"), "AMI reconnects.", ["pbx"], registry=r)
        self.ami_events = Counter(m("ami_events"), "AMI events received.", ["pbx"], registry=r)
        self.ami_parse_errors = Counter(
            m("ami_parse_errors"), "AMI frames that could not be parsed.", ["pbx"], registry=r
        )
        self.event_lag = Gauge(
            m("event_lag_seconds"),
            "Wall-clock arrival minus the event's Timestamp header, last event.",
            ["pbx"],
            registry=r,
        )
        self.rules_loaded = Gauge(m("rules_loaded"), "Rules loaded and valid.", registry=r)
        self.build_info = Gauge(
            m("build_info"), "Build of ringwatch (value 1).", ["version"], registry=r
        )
        self.build_info.labels(version=version).set(1)
        self.rules_loaded.set(len(self.rules))

        self.live = LiveCollector(
            self.pbxs, self.queues, [x.id for x in self.rules if x.live], live_provider
        )
        registry.register(self.live)
        self._preinitialise()

    # ---- setup ------------------------------------------------------------------------------
    def _preinitialise(self) -> None:
        queues = ("", *self.queues)
        agent = {"agent": ""} if self.agent_label else {}
        for pbx in self.pbxs:
            for q in queues:
                dirs = [str(d) for d in Direction] if q == "" else [str(Direction.INBOUND)]
                for d in dirs:
                    for outcome in OUTCOMES:
                        self.calls.labels(pbx=pbx, direction=d, queue=q, outcome=outcome, **agent)
                    self.rings_to_answer.labels(pbx=pbx, direction=d, queue=q)
                    self.ring_seconds.labels(pbx=pbx, direction=d, queue=q)
                for hist in (self.hold, self.talk, self.greeting, self.dead_air):
                    hist.labels(pbx=pbx, queue=q)
                for rule in self.rules:
                    for result in CHECK_RESULTS:
                        self.checks.labels(
                            pbx=pbx,
                            queue=q,
                            rule=rule.id,
                            severity=rule.severity,
                            result=result,
                            **agent,
                        )
            for q in self.queues:
                for outcome in OUTCOMES:
                    self.queue_wait.labels(pbx=pbx, queue=q, outcome=outcome)
            for outcome in PROMISE_OUTCOMES:
                self.promises.labels(pbx=pbx, outcome=outcome)
            self.callback_seconds.labels(pbx=pbx)
            self.ami_up_gauge.labels(pbx=pbx)
            self.ami_reconnects.labels(pbx=pbx)
            self.ami_events.labels(pbx=pbx)
            self.ami_parse_errors.labels(pbx=pbx)
            self.event_lag.labels(pbx=pbx)

    def set_live_provider(self, provider: LiveProvider | None) -> None:
        """Attach (or detach) the tracker's live state after construction."""
        self.live.set_provider(provider)

    def set_rules_loaded(self, count: int) -> None:
        self.rules_loaded.set(count)

    # ---- per call ---------------------------------------------------------------------------
    def call_completed(self, record: CallRecord) -> None:
        """Count a finished call and observe its durations (once per call)."""
        q = record.queue or ""
        d = str(record.direction)
        ex = _exemplar(record) if record.findings else None
        self.calls.labels(
            pbx=record.pbx, direction=d, queue=q, outcome=str(record.outcome), **self._agent(record)
        ).inc()
        if record.rings is not None:
            self.rings_to_answer.labels(pbx=record.pbx, direction=d, queue=q).observe(
                record.rings, ex
            )
        if record.ring_seconds is not None:
            self.ring_seconds.labels(pbx=record.pbx, direction=d, queue=q).observe(
                record.ring_seconds, ex
            )
        wait = _queue_wait(record)
        if wait is not None:
            self.queue_wait.labels(pbx=record.pbx, queue=q, outcome=str(record.outcome)).observe(
                wait, ex
            )
        hold = self.hold.labels(pbx=record.pbx, queue=q)
        for seconds in _hold_spans(record):
            hold.observe(seconds, ex)
        if record.talk_seconds is not None:
            self.talk.labels(pbx=record.pbx, queue=q).observe(record.talk_seconds)
        self.audio_completed(record)

    def audio_completed(self, record: CallRecord) -> None:
        """Observe only the audio facts (greeting, dead air) of a call already counted:
        the recording is analysed after the call ended (monitor/audio_join)."""
        if record.audio is None:
            return
        q = record.queue or ""
        ex = _exemplar(record) if record.findings else None
        if record.audio.greeting_latency_seconds is not None:
            self.greeting.labels(pbx=record.pbx, queue=q).observe(
                record.audio.greeting_latency_seconds, ex
            )
        dead = self.dead_air.labels(pbx=record.pbx, queue=q)
        for span in record.audio.dead_air:
            dead.observe(span.seconds(), ex)

    def check(
        self, record: CallRecord, rule: str, severity: Severity | str | None, met: bool
    ) -> None:
        """Count one per-call check; a breach carries the call id as an exemplar."""
        sev = str(severity) if severity is not None else self._severity.get(rule, "warning")
        child = self.checks.labels(
            pbx=record.pbx,
            queue=record.queue or "",
            rule=rule,
            severity=sev,
            result="met" if met else "breached",
            **self._agent(record),
        )
        child.inc(1, None if met else _exemplar(record))

    def finding(self, record: CallRecord, finding: Finding) -> None:
        """Shorthand for ``check(record, finding.rule, finding.severity, met=False)``."""
        self.check(record, finding.rule, finding.severity, met=False)

    def checks_for(self, record: CallRecord, results: Iterable[tuple[str, bool]]) -> None:
        """Count several checks of one call: ``(rule id, met)`` pairs."""
        for rule, met in results:
            self.check(record, rule, None, met)

    # ---- promises ---------------------------------------------------------------------------
    def promise_outcome(
        self, pbx: str, outcome: str, seconds_to_callback: float | None = None
    ) -> None:
        """A callback promise settled (kept, broken, cancelled, unreturnable)."""
        if outcome not in PROMISE_OUTCOMES:
            raise ValueError(
                f"unknown promise outcome {outcome!r}; use one of {', '.join(PROMISE_OUTCOMES)}"
            )
        self.promises.labels(pbx=pbx, outcome=outcome).inc()
        if outcome == "kept" and seconds_to_callback is not None:
            self.callback_seconds.labels(pbx=pbx).observe(seconds_to_callback)

    # ---- AMI operational hooks --------------------------------------------------------------
    def ami_up(self, pbx: str, up: bool) -> None:
        self.ami_up_gauge.labels(pbx=pbx).set(1 if up else 0)

    def ami_reconnected(self, pbx: str) -> None:
        self.ami_reconnects.labels(pbx=pbx).inc()

    def ami_event(self, pbx: str, count: int = 1) -> None:
        self.ami_events.labels(pbx=pbx).inc(count)

    def ami_parse_error(self, pbx: str, count: int = 1) -> None:
        self.ami_parse_errors.labels(pbx=pbx).inc(count)

    def event_lag_seconds(self, pbx: str, seconds: float) -> None:
        self.event_lag.labels(pbx=pbx).set(seconds)

    # ---- helpers ----------------------------------------------------------------------------
    def _agent(self, record: CallRecord) -> dict[str, str]:
        return {"agent": record.agent or ""} if self.agent_label else {}


def _exemplar(record: CallRecord) -> dict[str, str]:
    return {"call_id": record.call_id[:_EXEMPLAR_MAX]}


def _queue_wait(record: CallRecord) -> float | None:
    """The call's queue wait; when the record has none but joined a queue, join to answer/end.

    The same rule as ``monitor.rules.window`` uses, so Prometheus and the in-process window
    evaluator count the same calls.
    """
    if record.queue_wait_seconds is not None:
        return record.queue_wait_seconds
    if record.queue_joined_at is None:
        return None
    end = record.answered_at or record.ended_at
    return None if end is None else max(0.0, end - record.queue_joined_at)


def _hold_spans(record: CallRecord) -> list[float]:
    """Each hold span's seconds; without spans, ``hold_count`` equal shares of the total."""
    if record.holds:
        return [h.seconds(record.ended_at) for h in record.holds]
    if record.hold_count > 0:
        return [record.hold_seconds / record.hold_count] * record.hold_count
    return []
