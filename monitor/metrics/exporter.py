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

from prometheus_client import CollectorRegistry

from monitor import __version__
from monitor.buckets import (
    HOLD_BUCKETS,
    RING_BUCKETS,
    SECONDS_BUCKETS,
    TALK_BUCKETS,
    WAIT_BUCKETS,
)
from monitor.metrics.live import LiveCollector, LiveProvider
from monitor.metrics.metric_store import MetricStore
from monitor.metrics.names import (
    AMI_SHED_REASONS,
    CALLBACK_BUCKETS,
    CHECK_RESULTS,
    OUTCOMES,
    PROMISE_OUTCOMES,
    m,
)
from monitor.record import CallRecord, Direction, Finding, Severity

__all__ = ["Check", "MetricRule", "RingwatchMetrics"]

#: One per-call check to count: (rule id, severity or None for the rule's own, met).
Check = tuple[str, Severity | str | None, bool]

# OpenMetrics caps an exemplar's label set at 128 UTF-8 characters (name + value).
_EXEMPLAR_MAX = 128 - len("call_id")


@dataclass(frozen=True, slots=True)
class MetricRule:
    """What the exporter needs of a loaded rule: its id, severity, and whether it is live."""

    id: str
    severity: str
    live: bool = False


class RingwatchMetrics:
    """Owns ringwatch's metrics on ``registry`` (never the global one).

    The labelled families live in a :class:`~monitor.metrics.fast.MetricStore` registered on
    ``registry`` (cheap updates, a direct ``/metrics`` writer); the live gauges in a
    :class:`LiveCollector` registered after it. Each public method takes the store's lock once,
    so a scrape sees a call's counts, observations and checks all or not at all.
    """

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
        self.store = st = MetricStore()
        self._lock = st.lock

        self.calls = st.counter(
            m("calls"), "Completed calls.", ["pbx", "direction", "queue", "outcome", *agent]
        )
        self.rings_to_answer = st.histogram(
            m("rings_to_answer"),
            "Rings (site cadence) until a person answered.",
            ["pbx", "direction", "queue"],
            RING_BUCKETS,
        )
        self.ring_seconds = st.histogram(
            m("ring_seconds"),
            "Seconds from the call's arrival to the answer by a person.",
            ["pbx", "direction", "queue"],
            SECONDS_BUCKETS,
        )
        self.queue_wait = st.histogram(
            m("queue_wait_seconds"),
            "Seconds from queue join to answer or leaving, by the call's outcome.",
            ["pbx", "queue", "outcome"],
            WAIT_BUCKETS,
        )
        self.hold = st.histogram(
            m("hold_seconds"),
            "Customer hold spans (Hold to Unhold), one observation per span.",
            ["pbx", "queue"],
            HOLD_BUCKETS,
        )
        self.talk = st.histogram(
            m("talk_seconds"),
            "Seconds from answer to the end of the call, holds included.",
            ["pbx", "queue"],
            TALK_BUCKETS,
        )
        self.greeting = st.histogram(
            m("greeting_seconds"),
            "Seconds from answer until the agent spoke (from the recording).",
            ["pbx", "queue"],
            SECONDS_BUCKETS,
        )
        self.dead_air = st.histogram(
            m("dead_air_seconds"),
            "Dead-air spans outside hold (from the recording), one observation per span.",
            ["pbx", "queue"],
            SECONDS_BUCKETS,
        )
        self.checks = st.counter(
            m("standard_checks"),
            "Per-call standard checks by result; exemplar call_id on breaches.",
            ["pbx", "queue", "rule", "severity", "result", *agent],
        )
        self.promises = st.counter(
            m("callback_promises"), "Callback promises settled, by outcome.", ["pbx", "outcome"]
        )
        self.callback_seconds = st.histogram(
            m("callback_seconds"),
            "Seconds from the promise to the kept callback.",
            ["pbx"],
            CALLBACK_BUCKETS,
        )
        self.ami_up_gauge = st.gauge(m("ami_up"), "1 while the AMI session is logged in.", ["pbx"])
        self.ami_reconnects = st.counter(m("ami_reconnects"), "AMI reconnects.", ["pbx"])
        self.ami_events = st.counter(m("ami_events"), "AMI events received.", ["pbx"])
        self.ami_parse_errors = st.counter(
            m("ami_parse_errors"), "AMI frames that could not be parsed.", ["pbx"]
        )
        self.ami_shed = st.counter(
            m("ami_events_shed"),
            "AMI events dropped under overload, by reason (unused: a type ringwatch does not "
            "use; overflow: the queue was full, a resync follows).",
            ["pbx", "reason"],
        )
        self.event_lag = st.gauge(
            m("event_lag_seconds"),
            "Wall-clock arrival minus the event's Timestamp header, last event.",
            ["pbx"],
        )
        self.rules_loaded = st.gauge(m("rules_loaded"), "Rules loaded and valid.")
        self.build_info = st.gauge(m("build_info"), "Build of ringwatch (value 1).", ["version"])
        self.build_info.set((version,), 1)
        self.rules_loaded.set((), len(self.rules))
        self._preinitialise()
        registry.register(st)

        self.live = LiveCollector(
            self.pbxs, self.queues, [x.id for x in self.rules if x.live], live_provider
        )
        registry.register(self.live)

    # ---- setup ------------------------------------------------------------------------------
    def _preinitialise(self) -> None:
        queues = ("", *self.queues)
        agent: tuple[str, ...] = ("",) if self.agent_label else ()
        for pbx in self.pbxs:
            for q in queues:
                dirs = [str(d) for d in Direction] if q == "" else [str(Direction.INBOUND)]
                for d in dirs:
                    for outcome in OUTCOMES:
                        self.calls.init((pbx, d, q, outcome, *agent))
                    self.rings_to_answer.init((pbx, d, q))
                    self.ring_seconds.init((pbx, d, q))
                for hist in (self.hold, self.talk, self.greeting, self.dead_air):
                    hist.init((pbx, q))
                for rule in self.rules:
                    for result in CHECK_RESULTS:
                        self.checks.init((pbx, q, rule.id, rule.severity, result, *agent))
            for q in self.queues:
                for outcome in OUTCOMES:
                    self.queue_wait.init((pbx, q, outcome))
            for outcome in PROMISE_OUTCOMES:
                self.promises.init((pbx, outcome))
            self.callback_seconds.init((pbx,))
            for fam in (self.ami_up_gauge, self.ami_reconnects, self.ami_events):
                fam.init((pbx,))
            self.ami_parse_errors.init((pbx,))
            for reason in AMI_SHED_REASONS:
                self.ami_shed.init((pbx, reason))
            self.event_lag.init((pbx,))

    def set_live_provider(self, provider: LiveProvider | None) -> None:
        """Attach (or detach) the tracker's live state after construction."""
        self.live.set_provider(provider)

    def set_rules_loaded(self, count: int) -> None:
        with self._lock:
            self.rules_loaded.set((), count)

    # ---- per call ---------------------------------------------------------------------------
    def call_completed(self, record: CallRecord, checks: Iterable[Check] = ()) -> None:
        """Count a finished call and observe its durations (once per call); then count its
        per-call ``checks`` (``(rule id, severity or None, met)``, as :meth:`check`)."""
        pbx = record.pbx
        q = record.queue or ""
        d = str(record.direction)  # plain str: a StrEnum in a key tuple hashes slower
        outcome = str(record.outcome)
        ex = _exemplar(record) if record.findings else None
        agent = (record.agent or "",) if self.agent_label else ()
        holds = _hold_spans(record)
        wait = _queue_wait(record)
        with self._lock:
            self.calls.inc((pbx, d, q, outcome, *agent))
            if record.rings is not None:
                self.rings_to_answer.observe((pbx, d, q), record.rings, ex)
            if record.ring_seconds is not None:
                self.ring_seconds.observe((pbx, d, q), record.ring_seconds, ex)
            if wait is not None:
                self.queue_wait.observe((pbx, q, outcome), wait, ex)
            if holds:
                hold = self.hold
                for seconds in holds:
                    hold.observe((pbx, q), seconds, ex)
            else:
                self.hold.init((pbx, q))
            if record.talk_seconds is not None:
                self.talk.observe((pbx, q), record.talk_seconds, ex)
            self._audio(record, q, ex)
            self._checks(record, q, agent, checks)

    def audio_completed(self, record: CallRecord, checks: Iterable[Check] = ()) -> None:
        """Observe only the audio facts (greeting, dead air) of a call already counted:
        the recording is analysed after the call ended (monitor/audio_join); then count its
        audio ``checks``."""
        q = record.queue or ""
        agent = (record.agent or "",) if self.agent_label else ()
        with self._lock:
            self._audio(record, q, _exemplar(record) if record.findings else None)
            self._checks(record, q, agent, checks)

    def _audio(self, record: CallRecord, q: str, ex: dict[str, str] | None) -> None:
        if record.audio is None:
            return
        if record.audio.greeting_latency_seconds is not None:
            self.greeting.observe((record.pbx, q), record.audio.greeting_latency_seconds, ex)
        dead = self.dead_air
        dead.init((record.pbx, q))
        for span in record.audio.dead_air:
            dead.observe((record.pbx, q), span.seconds(), ex)

    def _checks(
        self, record: CallRecord, q: str, agent: tuple[str, ...], checks: Iterable[Check]
    ) -> None:
        inc = self.checks.inc
        breach: dict[str, str] | None = None
        for rule, severity, met in checks:
            sev = str(severity) if severity is not None else self._severity.get(rule, "warning")
            if met:
                inc((record.pbx, q, rule, sev, "met", *agent))
            else:
                if breach is None:
                    breach = _exemplar(record)
                inc((record.pbx, q, rule, sev, "breached", *agent), 1.0, breach)

    def check(
        self, record: CallRecord, rule: str, severity: Severity | str | None, met: bool
    ) -> None:
        """Count one per-call check; a breach carries the call id as an exemplar."""
        agent = (record.agent or "",) if self.agent_label else ()
        with self._lock:
            self._checks(record, record.queue or "", agent, ((rule, severity, met),))

    def finding(self, record: CallRecord, finding: Finding) -> None:
        """Shorthand for ``check(record, finding.rule, finding.severity, met=False)``."""
        self.check(record, finding.rule, finding.severity, met=False)

    def checks_for(self, record: CallRecord, results: Iterable[tuple[str, bool]]) -> None:
        """Count several checks of one call: ``(rule id, met)`` pairs."""
        agent = (record.agent or "",) if self.agent_label else ()
        with self._lock:
            self._checks(record, record.queue or "", agent, ((r, None, met) for r, met in results))

    def promise_check(self, pbx: str, rule: str, met: bool, call_id: str | None = None) -> None:
        """A callback promise settled under ``rule`` (kept: met, broken: breached), counted in
        ``ringwatch_standard_checks_total`` like a per-call check (queue ``""``); a breach
        carries the promise's call id as an exemplar when it has one."""
        agent: tuple[str, ...] = ("",) if self.agent_label else ()
        sev = self._severity.get(rule, "warning")
        ex = None if met or not call_id else {"call_id": call_id[:_EXEMPLAR_MAX]}
        with self._lock:
            result = "met" if met else "breached"
            self.checks.inc((pbx, "", rule, sev, result, *agent), 1.0, ex)

    # ---- promises ---------------------------------------------------------------------------
    def promise_outcome(
        self, pbx: str, outcome: str, seconds_to_callback: float | None = None
    ) -> None:
        """A callback promise settled (kept, broken, cancelled, unreturnable)."""
        if outcome not in PROMISE_OUTCOMES:
            raise ValueError(
                f"unknown promise outcome {outcome!r}; use one of {', '.join(PROMISE_OUTCOMES)}"
            )
        with self._lock:
            self.promises.inc((pbx, outcome))
            if outcome == "kept" and seconds_to_callback is not None:
                self.callback_seconds.observe((pbx,), seconds_to_callback)

    # ---- AMI operational hooks --------------------------------------------------------------
    def ami_up(self, pbx: str, up: bool) -> None:
        with self._lock:
            self.ami_up_gauge.set((pbx,), 1 if up else 0)

    def ami_reconnected(self, pbx: str) -> None:
        with self._lock:
            self.ami_reconnects.inc((pbx,))

    def ami_event(self, pbx: str, count: int = 1) -> None:
        with self._lock:
            self.ami_events.inc((pbx,), count)

    def ami_parse_error(self, pbx: str, count: int = 1) -> None:
        with self._lock:
            self.ami_parse_errors.inc((pbx,), count)

    def ami_events_shed(self, pbx: str, reason: str, count: int = 1) -> None:
        with self._lock:
            self.ami_shed.inc((pbx, reason), count)

    def event_lag_seconds(self, pbx: str, seconds: float) -> None:
        with self._lock:
            self.event_lag.set((pbx,), seconds)


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
