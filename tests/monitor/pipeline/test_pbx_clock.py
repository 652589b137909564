"""Issue 16 item 3: one clock per PBX (design.md §6).

The service (its collector feeder and its clock tick, with an injected host clock) is fed a
simulated hour of AMI events the way a live link delivers them; its findings, and the live
findings it raised on the way, must be the ones a ``ringwatch replay`` of the same bytes gives:

* a PBX whose clock is 120 s behind the host;
* a link that delivers the first 40 minutes in one late burst, then runs normally.

The offset is shown in ``/healthz`` and as ``ringwatch_pbx_clock_offset_seconds{pbx}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from collectors.ami.parser import AmiMessage, parse_all
from collectors.ami.resync import TrackerFeeder
from monitor.clock import PbxClock
from monitor.config import Config, PbxConfig, Secret
from monitor.pipeline import Pipeline
from monitor.record import CallRecord, Finding
from monitor.replay import replay
from monitor.rules import RuleResult, Site, load_rules
from monitor.service import Service
from monitor.simulator import ContactCentre, default_config, render
from monitor.tracker import Tracker, TrackerSettings

REPO = Path(__file__).resolve().parents[3]
RULES = REPO / "rules"
HOUR = 3600.0

Found = dict[str, list[tuple[str, float | None, float | None]]]
Events = list[tuple[float, AmiMessage]]


class Collect:
    def __init__(self) -> None:
        self.findings: Found = {}
        self.live: set[tuple[str, str, float | None]] = set()

    def call_completed(self, record: CallRecord, results: Sequence[RuleResult]) -> None:
        self.findings[record.call_id] = sorted(
            (f.rule, f.value, None if f.at is None else round(f.at, 3)) for f in record.findings
        )

    def live_finding(self, call_id: str, finding: Finding) -> None:
        at = None if finding.at is None else round(finding.at, 3)
        self.live.add((call_id, finding.rule, at))


@pytest.fixture(scope="module")
def hour(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[tuple[float, AmiMessage]], Collect]:
    engine = ContactCentre(default_config(), seed=5)
    events = engine.run_until(engine.now + HOUR)
    data = b"".join(render(at, msg, True) for at, msg in events)
    msgs = list(parse_all(data))
    assert len(msgs) == len(events)
    path = tmp_path_factory.mktemp("clock") / "hour.ami"
    path.write_bytes(data)
    truth = Collect()
    pipeline = Pipeline(
        Tracker(TrackerSettings(pbx="p")), load_rules(RULES), site=Site("us"), sinks=[truth]
    )
    for _ in replay([path], pipeline=pipeline):
        pass
    assert sum(len(v) for v in truth.findings.values()) >= 5
    assert len(truth.live) >= 3
    return [(at, m) for (at, _), m in zip(events, msgs, strict=True)], truth


def _service(
    tmp_path: Path, host: list[float]
) -> tuple[Service, TrackerFeeder[CallRecord], Collect]:
    cfg = Config(
        pbxs=(PbxConfig(name="p", secret=Secret("x")),),
        rules_dir=RULES,
        store_url=f"sqlite:///{tmp_path / 'clock.sqlite'}",
        web_enabled=False,
    )
    service = Service(cfg, clock=lambda: host[0], registry=CollectorRegistry())
    collect = Collect()
    service.pipelines["p"].sinks.append(collect)
    (client,) = service.clients()
    feeder = client.consumer
    assert isinstance(feeder, TrackerFeeder)
    return service, feeder, collect


def _drive(
    service: Service,
    feeder: TrackerFeeder[CallRecord],
    host: list[float],
    deliveries: list[tuple[float, AmiMessage]],
) -> None:
    """Deliver each message at its host time, ticking the service's clock every host second
    in between (as ``Service.tick`` does)."""
    tick = deliveries[0][0]
    for at_host, msg in deliveries:
        while tick <= at_host:
            host[0] = tick
            service.advance_clocks()
            tick += 1.0
        host[0] = at_host
        feeder.on_event(at_host, msg)
    for _ in range(30):  # a quiet minute after the last event
        host[0] = tick
        service.advance_clocks()
        tick += 2.0
    service.pipelines["p"].finish()


def _compare(collect: Collect, truth: Collect) -> None:
    assert collect.findings == truth.findings
    assert collect.live == truth.live


def test_a_pbx_120_s_behind_gives_the_findings_of_a_replay(
    hour: tuple[list[tuple[float, AmiMessage]], Collect], tmp_path: Path
) -> None:
    events, truth = hour
    host = [events[0][0] + 120.0]
    service, feeder, collect = _service(tmp_path, host)
    try:
        _drive(service, feeder, host, [(at + 120.0, msg) for at, msg in events])
        _compare(collect, truth)
        # the offset is measured, and shown in /healthz and as a metric
        assert service.pipelines["p"].clock.offset_seconds == pytest.approx(120.0, abs=1e-3)
        health = service.health_report()["components"]["ami:p"]
        assert health["pbx_clock_offset_seconds"] == pytest.approx(120.0, abs=1e-3)
        text = generate_latest(service.registry).decode()
        (line,) = [x for x in text.splitlines() if x.startswith("ringwatch_pbx_clock_offset")]
        assert line.startswith('ringwatch_pbx_clock_offset_seconds{pbx="p"} ')
        assert float(line.rsplit(" ", 1)[1]) == pytest.approx(120.0, abs=1e-3)
    finally:
        service.close()


def test_a_late_burst_gives_the_findings_of_a_replay(
    hour: tuple[list[tuple[float, AmiMessage]], Collect], tmp_path: Path
) -> None:
    events, truth = hour
    start = events[0][0]
    burst_at = start + 40 * 60.0
    deliveries: list[tuple[float, AmiMessage]] = []
    for i, (at, msg) in enumerate(events):
        if at < burst_at:  # 0-40 minutes old, delivered together, 0.2 ms apart
            deliveries.append((burst_at + i * 0.0002, msg))
        else:
            deliveries.append((max(at, deliveries[-1][0]), msg))
    host = [start]
    service, feeder, collect = _service(tmp_path, host)
    try:
        host[0] = start
        for _ in range(60):  # the service ticks on a silent line before the burst
            service.advance_clocks()
            host[0] += 40.0
        _drive(service, feeder, host, deliveries)
        _compare(collect, truth)
    finally:
        service.close()


def test_quiet_line_time_is_the_last_event_plus_host_time_since() -> None:
    clock = PbxClock()
    assert clock.now(1000.0) is None and clock.offset_seconds is None
    assert clock.pbx_time(1000.0) == 1000.0
    clock.observe(500.0, received_at=620.0, handled_at=620.0)
    assert clock.now(630.0) == 510.0  # not the host's 630
    assert clock.offset_seconds == 120.0
    clock.observe(505.0, received_at=700.0, handled_at=700.0)  # delivered late: offset stays
    assert clock.offset_seconds == 120.0
    assert clock.now(701.0) == 506.0
    assert clock.pbx_time(800.0) == 680.0
    clock.observe(1200.0, received_at=1300.0, handled_at=1300.0)  # the window moved on
    assert clock.offset_seconds == 100.0


def test_a_pbx_with_events_waiting_is_not_quiet(tmp_path: Path) -> None:
    host = [1_750_000_000.0]
    service, feeder, _ = _service(tmp_path, host)
    try:
        msg = AmiMessage.from_pairs(
            [("Event", "FullyBooted"), ("Timestamp", "1749999880.000000"), ("Uptime", "100")]
        )
        feeder.on_event(host[0], msg)  # the PBX is 120 s behind
        pipeline = service.pipelines["p"]
        (client,) = service.clients()
        client.stats.queue_depth = 3  # a burst is still queued behind the collector
        host[0] += 30.0
        service.advance_clocks()
        assert pipeline.now == 1749999880.0  # not moved past events still waiting
        client.stats.queue_depth = 0
        service.advance_clocks()
        assert pipeline.now == 1749999910.0  # its last event + 30 s of host time
    finally:
        service.close()
