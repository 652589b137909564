"""Fixtures for the metrics tests: test rules, a CallRecord factory and a deterministic feed.

The feed is a fixture (``call_feed``) so the lead can swap the synthetic records for the
simulator end to end without touching the tests that consume it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from monitor.metrics import LiveSnapshot, RingwatchMetrics
from monitor.metrics.alert_sources import metric_rules
from monitor.record import (
    CallRecord,
    Direction,
    Finding,
    Outcome,
    Span,
    Timing,
    rings_for,
)
from monitor.rules.evaluate import evaluate_results
from monitor.rules.loader import load_rules_text
from monitor.rules.model import CheckStatus, RuleSet

BASE = 1_763_800_000.0  # 2025-11-22T08:26:40Z: event time of the first test call
CADENCE = 6.0  # US ringback (the rules' default site)
QUEUES = ("sales", "support")
PBXS = ("hq", "branch", "annex")

RULES_TEXT = """
groups:
  - name: phone-etiquette
    applies_to: {direction: inbound}
    rules:
      - id: answer-within-three-rings
        title: Answer the phone within three rings
        check: rings_to_answer
        params: {max: 3, clock: arrival, answer: person}
        severity: warning
        flag: true
        target: {ratio: 0.9, window: 15m}
      - id: hold-under-two-minutes
        title: No hold longer than two minutes
        check: longest_hold
        params: {max: 120}
        severity: critical
        flag: true
  - name: queue-standards
    rules:
      - id: service-level-20s
        title: 80% of queued calls answered within 20 seconds
        check: service_level
        params: {threshold: 20}
        severity: critical
        target: {ratio: 0.8, window: 15m}
      - id: abandon-rate
        title: Fewer than 5% of callers abandon
        check: abandon_rate
        params: {short_abandon: 5}
        severity: warning
        target: {ratio: 0.05, window: 1h}
"""


@pytest.fixture
def ruleset() -> RuleSet:
    return load_rules_text(RULES_TEXT, "test-standards.yml")


def make_record(
    i: int,
    *,
    pbx: str = "hq",
    queue: str | None = "sales",
    outcome: Outcome = Outcome.ANSWERED,
    wait: float = 10.0,
    pre_queue: float = 2.0,
    holds: Iterable[float] = (),
    caller: str = "+442079460000",
    findings: tuple[Finding, ...] = (),
    agent: str | None = "alice",
) -> CallRecord:
    """A finished inbound call, the i-th of the feed (5 s apart in event time)."""
    start = BASE + i * 5.0
    joined = start + pre_queue if queue else None
    answered = (start + pre_queue + wait) if outcome is Outcome.ANSWERED else None
    hold_spans: list[Span] = []
    t = (answered or start) + 5.0
    for h in holds:
        hold_spans.append(Span(t, t + h))
        t += h + 5.0
    end = (t + 30.0) if answered is not None else start + pre_queue + wait
    ring = (answered - start) if answered is not None else None
    return CallRecord(
        call_id=f"{int(start)}.{i}",
        pbx=pbx,
        direction=Direction.INBOUND,
        caller=caller,
        dialed="02079460999",
        queue=queue,
        agent=agent if answered is not None else None,
        started_at=start,
        answered_at=answered,
        ended_at=end,
        outcome=outcome,
        ring_seconds=ring,
        rings=rings_for(ring, CADENCE),
        queue_wait_seconds=wait if queue else None,
        talk_seconds=(end - answered) if answered is not None else None,
        hold_seconds=sum(s.seconds() for s in hold_spans),
        hold_count=len(hold_spans),
        longest_hold_seconds=max((s.seconds() for s in hold_spans), default=0.0),
        transfers=0,
        hangup_cause=16,
        timing=Timing.EXACT,
        findings=findings,
        queue_joined_at=joined,
        holds=tuple(hold_spans),
    )


def feed_batches() -> list[list[CallRecord]]:
    """Three batches of calls on pbx ``hq``; every window standard ends up breached.

    Service level 20 s: 6 of 10 answered within 20 s (0.6 < 0.8). Abandons: 3 of 13
    (one of them a short abandon, within 5 s). Three rings (18 s from arrival): 5 of 10
    inbound calls; and one outbound call answered at the first ring.
    """
    specs = [
        # (queue, outcome, wait, holds)
        ("sales", Outcome.ANSWERED, 4.0, ()),
        ("sales", Outcome.ANSWERED, 12.0, (45.0,)),
        ("support", Outcome.ANSWERED, 19.0, ()),
        ("sales", Outcome.ABANDONED, 3.0, ()),
        ("sales", Outcome.ANSWERED, 35.0, (150.0,)),
        ("support", Outcome.ANSWERED, 8.0, ()),
        ("sales", Outcome.ABANDONED, 40.0, ()),
        ("support", Outcome.ANSWERED, 25.0, ()),
        ("sales", Outcome.ANSWERED, 15.0, (20.0, 130.0)),
        ("support", Outcome.ANSWERED, 50.0, ()),
        ("sales", Outcome.ABANDONED, 65.0, ()),
        ("sales", Outcome.ANSWERED, 21.0, ()),
        ("support", Outcome.ANSWERED, 2.0, ()),
    ]
    records = [
        make_record(i, queue=q, outcome=o, wait=w, holds=h) for i, (q, o, w, h) in enumerate(specs)
    ]
    # an outbound call answered at the first ring: not part of the inbound rings standard
    out = make_record(len(specs), queue=None, wait=1.0, pre_queue=0.0)
    records.append(replace(out, direction=Direction.OUTBOUND, caller="201", dialed="+15550100"))
    return [records[0:4], records[4:9], records[9:]]


@dataclass
class FakeLive:
    """A LiveProvider with fixed state: hq busy, branch with an overdue promise."""

    def live_snapshots(self) -> list[LiveSnapshot]:
        return [
            LiveSnapshot(
                pbx="hq",
                active_calls={"ringing": 1, "queued": 3, "talking": 4, "on_hold": 1},
                longest_wait_seconds={"sales": 42.0},
                longest_hold_seconds=135.0,
                live_breaches={"hold-under-two-minutes": 1, "answer-within-three-rings": 2},
                promises={"open": 2},
            ),
            LiveSnapshot(pbx="branch", promises={"open": 1, "overdue": 1}),
        ]


Pipeline = Callable[[CallRecord], None]


def pipeline_for(metrics: RingwatchMetrics, rules: RuleSet) -> Pipeline:
    """What the service does on CallCompleted: count the call, then each rule's result."""

    def run(record: CallRecord) -> None:
        metrics.call_completed(record)
        for rr in evaluate_results(record, rules):
            if rr.result.status in (CheckStatus.MET, CheckStatus.BREACHED):
                metrics.check(
                    record, rr.rule.id, rr.rule.severity, rr.result.status is CheckStatus.MET
                )

    return run


@pytest.fixture(scope="module")
def call_feed() -> list[list[CallRecord]]:
    """The calls fed to the exporter, in batches (one batch per scrape in the e2e test)."""
    return feed_batches()


@pytest.fixture(scope="module")
def pipeline_factory() -> Callable[[RingwatchMetrics, RuleSet], Pipeline]:
    return pipeline_for


@pytest.fixture
def metrics(ruleset: RuleSet) -> RingwatchMetrics:
    return RingwatchMetrics(
        CollectorRegistry(), PBXS, QUEUES, metric_rules(ruleset), live_provider=FakeLive()
    )


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """A rules directory holding RULES_TEXT."""
    d = tmp_path / "rules"
    d.mkdir()
    (d / "standards.yml").write_text(RULES_TEXT, encoding="utf-8")
    return d


@pytest.fixture
def record_factory() -> Callable[..., CallRecord]:
    return make_record


@pytest.fixture
def pipeline(metrics: RingwatchMetrics, ruleset: RuleSet) -> Pipeline:
    return pipeline_for(metrics, ruleset)
