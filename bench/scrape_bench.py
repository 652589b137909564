"""Scrape: rendering ``/metrics`` (OpenMetrics) with 20 queues x 500 agents and the agent
label on; every agent has completed real calls (a simulator call record with its rule results,
relabelled) so every per-agent series exists.

``render_ms`` is the worst case: every agent completed one more call since the last scrape, so
every per-agent series is written anew (the store keeps a series' lines until it changes).
``render_warm_ms``: nothing changed since the last scrape. ``render_gzip_ms``: the worst case,
gzipped (Prometheus always sends ``Accept-Encoding: gzip``). ``update_us_per_call``: one
``MetricsSink.call_completed(record, results)`` (what the pipeline pays per completed call for
its metrics) over the simulator's real records, agent label off and on.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from prometheus_client import CollectorRegistry

from bench.common import Spread, event_stream, spread
from collectors.ami.parser import parse_all
from monitor.metrics import RingwatchMetrics, render_metrics
from monitor.metrics.alert_sources import metric_rules
from monitor.pipeline import Pipeline
from monitor.record import CallRecord
from monitor.rules import RuleResult, RuleSet, load_rules
from monitor.sinks import MetricsSink
from monitor.tracker import Tracker

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
Call = tuple[CallRecord, list[RuleResult]]


class _Keep:
    def __init__(self) -> None:
        self.calls: list[Call] = []

    def call_completed(self, record: CallRecord, results: Any) -> None:
        self.calls.append((record, list(results)))

    def live_finding(self, call_id: str, finding: Any) -> None:
        return None


def simulator_calls() -> tuple[RuleSet, list[Call]]:
    """The ingest benchmark's rules and the completed calls of a 3,000-event simulator stream,
    each with its rule results."""
    from bench.ingest_bench import RULES

    ruleset = load_rules(RULES)
    keep = _Keep()
    pipeline = Pipeline(Tracker(), ruleset, sinks=[keep])
    data, _ = event_stream(3000)
    for msg in parse_all(data):
        pipeline.feed_message(msg)
    return ruleset, keep.calls


def run(queues: int = 20, agents: int = 500, repeats: int = 7) -> dict[str, Any]:
    ruleset, calls = simulator_calls()
    # first, while the heap is small: the big exporter below would slow every GC pass
    update = {
        "agent_label_off": update_cost(ruleset, calls, False, repeats).to_json(),
        "agent_label_on": update_cost(ruleset, calls, True, repeats).to_json(),
    }
    answered = [(r, rr) for r, rr in calls if r.agent and r.queue]
    if not answered:
        raise RuntimeError("scrape bench: no answered queue call in the simulator stream")
    names = [f"q{q:02d}" for q in range(queues)]
    metrics = RingwatchMetrics(
        CollectorRegistry(), ["pbx"], names, metric_rules(ruleset), agent_label=True
    )
    sink = MetricsSink(metrics)
    relabelled: list[Call] = []
    for q, queue in enumerate(names):
        for a in range(agents):
            record, results = answered[len(relabelled) % len(answered)]
            agent = f"agent-{q}-{a}"
            relabelled.append(
                (dataclasses.replace(record, pbx="pbx", queue=queue, agent=agent), results)
            )

    def feed() -> None:  # one more call per agent: every per-agent series changes
        for record, results in relabelled:
            sink.call_completed(record, results)

    feed()
    cold: list[float] = []
    warm: list[float] = []
    gzipped: list[float] = []
    size = series = gz_size = 0
    for _ in range(repeats):
        feed()
        t0 = time.perf_counter()
        body = render_metrics(metrics.registry, OPENMETRICS).body
        cold.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        render_metrics(metrics.registry, OPENMETRICS)
        warm.append(time.perf_counter() - t0)
        feed()
        t0 = time.perf_counter()
        gz_size = len(render_metrics(metrics.registry, OPENMETRICS, "gzip").body)
        gzipped.append(time.perf_counter() - t0)
        size = len(body)
        series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    return {
        "queues": queues,
        "agents_per_queue": agents,
        "calls_fed": len(relabelled),
        "repeats": repeats,
        "body_bytes": size,
        "gzip_bytes": gz_size,
        "samples": series,
        "render_ms": spread([t * 1000.0 for t in cold]).to_json(),
        "render_warm_ms": spread([t * 1000.0 for t in warm]).to_json(),
        "render_gzip_ms": spread([t * 1000.0 for t in gzipped]).to_json(),
        "update_us_per_call": update,
    }


def update_cost(
    ruleset: RuleSet, calls: list[Call], agent_label: bool, repeats: int = 7, passes: int = 20
) -> Spread:
    """Microseconds per ``MetricsSink.call_completed`` over the simulator's calls (every
    series already exists: one untimed pass first), as the ingest benchmark configures it."""
    if not calls:
        raise RuntimeError("scrape bench: the simulator stream completed no call")
    out: list[float] = []
    for _ in range(repeats):
        metrics = RingwatchMetrics(
            CollectorRegistry(),
            ["pbx"],
            ["sales", "support"],
            metric_rules(ruleset),
            agent_label=agent_label,
        )
        sink = MetricsSink(metrics)
        for record, results in calls:
            sink.call_completed(record, results)
        t0 = time.perf_counter()
        for _ in range(passes):
            for record, results in calls:
                sink.call_completed(record, results)
        out.append((time.perf_counter() - t0) / (passes * len(calls)) * 1e6)
    return spread(out)
