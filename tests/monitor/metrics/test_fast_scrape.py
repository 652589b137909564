"""A scrape of the fast store: promtool accepts the text body, and a scrape taken while
another thread feeds calls sees each call whole (counted, observed and checked) or not at all."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import threading
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from monitor.metrics import MetricRule, RingwatchMetrics, render_metrics
from monitor.metrics.alert_sources import metric_rules
from monitor.record import CallRecord
from monitor.rules.evaluate import evaluate_results
from monitor.rules.model import RuleSet
from monitor.sinks import MetricsSink

OM = "application/openmetrics-text; version=1.0.0"
PROMTOOL = "promtool"


def test_promtool_accepts_the_text_body(
    ruleset: RuleSet, call_feed: list[list[CallRecord]], record_factory: Callable[..., CallRecord]
) -> None:
    promtool = shutil.which(PROMTOOL)
    assert promtool, "the Debian prometheus package (promtool) is missing"
    metrics = RingwatchMetrics(
        CollectorRegistry(), ["hq"], ["sales", 'odd "q"\\'], metric_rules(ruleset), agent_label=True
    )
    sink = MetricsSink(metrics)
    records = [r for batch in call_feed for r in batch]
    records.append(record_factory(50, queue='odd "q"\\', agent="o'neil\nx"))
    for record in records:
        sink.call_completed(record, evaluate_results(record, ruleset))
    body = render_metrics(metrics.registry).body
    done = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout + done.stderr == b""


def test_gzip_body_is_the_plain_body(
    metrics: RingwatchMetrics,
    pipeline: Callable[[CallRecord], None],
    call_feed: list[list[CallRecord]],
) -> None:
    for record in (r for batch in call_feed for r in batch):
        pipeline(record)
    plain = render_metrics(metrics.registry, OM).body
    packed = render_metrics(metrics.registry, OM, "gzip").body
    assert b"# {call_id=" in plain
    assert gzip.decompress(packed) == plain  # exemplar times are stored, not re-taken


def _sum(body: str, prefix: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in body.splitlines() if line.startswith(prefix)
    )


def test_a_scrape_during_updates_sees_whole_calls(
    record_factory: Callable[..., CallRecord],
) -> None:
    rule = MetricRule("answer-within-three-rings", "warning")
    metrics = RingwatchMetrics(CollectorRegistry(), ["hq"], ["sales"], [rule], agent_label=True)
    # a new agent per call: new series appear while the scrape iterates
    records = [record_factory(i, agent=f"agent-{i}", holds=(40.0,)) for i in range(3000)]
    failures: list[BaseException] = []

    def feed() -> None:
        try:
            for record in records:
                metrics.call_completed(record, [(rule.id, None, True)])
        except Exception as exc:  # pragma: no cover - asserted below
            failures.append(exc)
            raise

    writer = threading.Thread(target=feed)
    seen: list[float] = []
    writer.start()
    try:
        while True:
            alive = writer.is_alive()
            body = render_metrics(metrics.registry).body.decode()
            calls = _sum(body, "ringwatch_calls_total{")
            assert _sum(body, "ringwatch_talk_seconds_count{") == calls
            assert _sum(body, "ringwatch_hold_seconds_count{") == calls
            assert _sum(body, 'ringwatch_standard_checks_total{agent="agent-') == calls
            seen.append(calls)
            if not alive:
                break
    finally:
        writer.join()
    assert not failures, failures
    assert seen[-1] == len(records)
    assert seen == sorted(seen)
