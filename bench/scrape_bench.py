"""Scrape: rendering ``/metrics`` (OpenMetrics) with 20 queues x 500 agents and the agent
label on; every agent has completed one real call (a simulator call record with its rule
results, relabelled) so every per-agent series exists."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from prometheus_client import CollectorRegistry

from bench.common import event_stream, spread
from collectors.ami.parser import parse_all
from monitor.metrics import RingwatchMetrics, render_metrics
from monitor.metrics.alert_sources import metric_rules
from monitor.pipeline import Pipeline
from monitor.record import CallRecord
from monitor.rules import RuleResult, load_rules
from monitor.sinks import MetricsSink
from monitor.tracker import Tracker

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"


class _Keep:
    def __init__(self) -> None:
        self.calls: list[tuple[CallRecord, list[RuleResult]]] = []

    def call_completed(self, record: CallRecord, results: Any) -> None:
        self.calls.append((record, list(results)))

    def live_finding(self, call_id: str, finding: Any) -> None:
        return None


def run(queues: int = 20, agents: int = 500, repeats: int = 7) -> dict[str, Any]:
    from bench.ingest_bench import RULES

    ruleset = load_rules(RULES)
    keep = _Keep()
    pipeline = Pipeline(Tracker(), ruleset, sinks=[keep])
    data, _ = event_stream(3000)
    for msg in parse_all(data):
        pipeline.feed_message(msg)
    answered = [(r, rr) for r, rr in keep.calls if r.agent and r.queue]
    if not answered:
        raise RuntimeError("scrape bench: no answered queue call in the simulator stream")
    names = [f"q{q:02d}" for q in range(queues)]
    metrics = RingwatchMetrics(
        CollectorRegistry(), ["pbx"], names, metric_rules(ruleset), agent_label=True
    )
    sink = MetricsSink(metrics)
    n = 0
    for q, queue in enumerate(names):
        for a in range(agents):
            record, results = answered[n % len(answered)]
            sink.call_completed(
                dataclasses.replace(record, pbx="pbx", queue=queue, agent=f"agent-{q}-{a}"),
                results,
            )
            n += 1
    times: list[float] = []
    size = series = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        body = render_metrics(metrics.registry, OPENMETRICS).body
        times.append(time.perf_counter() - t0)
        size = len(body)
        series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    return {
        "queues": queues,
        "agents_per_queue": agents,
        "calls_fed": n,
        "repeats": repeats,
        "body_bytes": size,
        "samples": series,
        "render_ms": spread([t * 1000.0 for t in times]).to_json(),
    }
