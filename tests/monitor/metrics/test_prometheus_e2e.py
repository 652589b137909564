"""A real Prometheus scrapes the exporter fed with calls; every dashboard and alert expression
runs through its query API, and a window standard computed by Prometheus equals the in-process
evaluator's value for the same calls.

The call feed is the ``call_feed`` fixture (batches of CallRecords; one batch per scrape), so
the simulator can replace it end to end. Waiting is bounded polling of the query API.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from monitor.cli.alerts_cmd import generate_text
from monitor.metrics import LiveSnapshot, RingwatchMetrics, start_metrics_server
from monitor.metrics.alert_sources import metric_rules
from monitor.metrics.dashboards import build_dashboards, standards_from_rules
from monitor.metrics.grafana_model import dashboard_exprs, expand_variables
from monitor.record import CallRecord
from monitor.rules.loader import load_rules
from monitor.rules.model import RuleSet
from monitor.rules.promql import compile_promql
from monitor.rules.window import WindowEvaluator

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS = "/usr/bin/prometheus"
PBXS = ("hq", "branch", "annex")
QUEUES = ("sales", "support")
DEADLINE = 40.0  # seconds any one wait may take before the test fails


class LiveState:
    """Live state: one call breaching each live rule on hq, an overdue promise on branch."""

    def __init__(self, live_rules: list[str]) -> None:
        self.live_rules = live_rules

    def live_snapshots(self) -> list[LiveSnapshot]:
        return [
            LiveSnapshot(
                pbx="hq",
                active_calls={"ringing": 1, "queued": 3, "talking": 4, "on_hold": 1},
                longest_wait_seconds={"sales": 42.0, "support": 7.0},
                longest_hold_seconds=75.0,
                live_breaches={r: 1 for r in self.live_rules},
                promises={"open": 2},
            ),
            LiveSnapshot(pbx="branch", promises={"open": 1, "overdue": 1}),
        ]


class QaStoreStandIn(Collector):
    """Stands in for the web store's gauges (ringwatch_qa_flags_open, _reviews_total)."""

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield GaugeMetricFamily("ringwatch_qa_flags_open", "Flagged calls not reviewed.", 4)
        reviews = CounterMetricFamily("ringwatch_qa_reviews", "QA reviews.", labels=["disposition"])
        reviews.add_metric(["confirmed"], 3)
        reviews.add_metric(["dismissed"], 1)
        yield reviews


@dataclass
class PromHarness:
    url: str
    records: list[CallRecord]
    rules: RuleSet
    alert_rules: dict[str, Any]

    def api(self, path: str, **params: str) -> dict[str, Any]:
        q = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{q}", timeout=10) as resp:
            data: dict[str, Any] = json.load(resp)
        return data

    def query(self, expr: str) -> list[dict[str, Any]]:
        try:
            data = self.api("query", query=expr)
        except urllib.error.HTTPError as exc:  # 400: bad expression, with Prometheus' reason
            raise AssertionError(f"{expr!r}: {exc.read().decode()}") from exc
        assert data["status"] == "success", (expr, data)
        result: list[dict[str, Any]] = data["data"]["result"]
        return result

    def wait_for(self, what: str, check: Callable[[], bool]) -> None:
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            try:
                if check():
                    return
            except (OSError, urllib.error.URLError):
                pass  # Prometheus still starting
            time.sleep(0.1)
        raise AssertionError(f"timed out after {DEADLINE}s waiting for {what}")

    def scalar(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def prom(
    tmp_path_factory: pytest.TempPathFactory,
    call_feed: list[list[CallRecord]],
    pipeline_factory: Callable[..., Callable[[CallRecord], None]],
) -> Iterator[PromHarness]:
    assert shutil.which(PROMETHEUS) or Path(PROMETHEUS).exists(), "Debian prometheus missing"
    tmp = tmp_path_factory.mktemp("prom")
    rules = load_rules(ROOT / "rules")
    mrules = metric_rules(rules)
    registry = CollectorRegistry()
    live = LiveState([r.id for r in mrules if r.live])
    metrics = RingwatchMetrics(registry, PBXS, QUEUES, mrules, live_provider=live)
    registry.register(QaStoreStandIn())
    metrics.ami_up("hq", True)
    metrics.ami_up("branch", True)
    metrics.event_lag_seconds("hq", 0.2)
    metrics.event_lag_seconds("branch", 12.0)
    pipeline = pipeline_factory(metrics, rules)

    alert_text = generate_text(ROOT / "rules")
    (tmp / "alerts.yml").write_text(alert_text)
    server = start_metrics_server("127.0.0.1", 0, registry)
    dead = free_port()  # a second "ringwatch" nobody runs: up == 0
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp / "alerts.yml")],
        "scrape_configs": [
            {
                "job_name": "ringwatch",
                "scrape_timeout": "900ms",
                "static_configs": [{"targets": [f"127.0.0.1:{server.port}", f"127.0.0.1:{dead}"]}],
            }
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (tmp / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--enable-feature=exemplar-storage",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    h = PromHarness(f"http://127.0.0.1:{port}", [], rules, yaml.safe_load(alert_text))
    try:
        h.wait_for("Prometheus ready", lambda: h.api("status/buildinfo")["status"] == "success")
        # pre-initialised series scraped before any call is fed
        h.wait_for("first scrape", lambda: h.scalar("count(ringwatch_calls_total)") is not None)
        total = 0
        for n, batch in enumerate(call_feed):
            for record in batch:
                pipeline(record)
            metrics.ami_event("hq", 40)
            metrics.ami_parse_error("branch")
            total += len(batch)
            h.records.extend(batch)
            expected = float(total)
            h.wait_for(
                f"batch {n} scraped",
                lambda e=expected: h.scalar("sum(ringwatch_calls_total)") == e,
            )
        # one more scrape after the last batch: the final values are in every range twice
        scrapes = h.scalar("count_over_time(ringwatch_rules_loaded[1h])") or 0.0
        h.wait_for(
            "a later scrape",
            lambda: (h.scalar("count_over_time(ringwatch_rules_loaded[1h])") or 0.0) > scrapes,
        )
        yield h
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
        server.close()


def test_every_dashboard_expression_parses_and_returns_data(prom: PromHarness) -> None:
    boards = build_dashboards(standards_from_rules(prom.rules))
    exprs = [(name, e) for name, b in boards.items() for e in dashboard_exprs(b)]
    assert len(exprs) > 30
    empty = [(name, e) for name, e in exprs if not prom.query(expand_variables(e))]
    assert empty == []


def _panel(prom: PromHarness, board: str, title: str) -> dict[str, Any]:
    boards = build_dashboards(standards_from_rules(prom.rules))
    return next(p for p in boards[board]["panels"] if p["title"] == title)


def test_wallboard_figures_follow_the_standards(prom: PromHarness) -> None:
    """The wallboard's figures on a real Prometheus equal the standards' definitions over the
    fed calls: abandon rate without short abandons, rings for inbound calls only."""
    abandon = _panel(prom, "ringwatch-wallboard.json", "Abandon rate today")
    queued = [r for r in prom.records if r.queue and r.outcome in ("answered", "abandoned")]
    short = [r for r in queued if r.outcome == "abandoned" and (r.queue_wait_seconds or 0) <= 5]
    abandoned = [r for r in queued if r.outcome == "abandoned"]
    expected = (len(abandoned) - len(short)) / (len(queued) - len(short))
    assert (len(abandoned), len(short), len(queued)) == (3, 1, 13)
    got = prom.scalar(expand_variables(abandon["targets"][0]["expr"], {"__range": "1h"}))
    assert got == pytest.approx(expected)  # 2 / 12; it was 3 / 13 with short abandons

    rings = _panel(prom, "ringwatch-wallboard.json", "Answered within 3 rings today")
    inbound = [r for r in prom.records if r.direction == "inbound" and r.rings is not None]
    assert any(r.direction == "outbound" for r in prom.records)
    expected = sum(1 for r in inbound if r.rings is not None and r.rings <= 3) / len(inbound)
    got = prom.scalar(expand_variables(rings["targets"][0]["expr"], {"__range": "1h"}))
    assert got == pytest.approx(expected)


def test_version_stat_shows_the_version_string(prom: PromHarness) -> None:
    from monitor import __version__

    panel = _panel(prom, "ringwatch-operations.json", "Version")
    assert panel["options"]["textMode"] == "name"
    (target,) = panel["targets"]
    assert target["legendFormat"] == "{{version}}"
    result = prom.query(expand_variables(target["expr"]))
    assert [r["metric"] for r in result] == [{"version": __version__}]


def test_breach_panels_fetch_exemplars_with_call_ids(prom: PromHarness) -> None:
    """Every time-series panel that shows breaches asks for exemplars, and Prometheus returns
    call ids for its expression (Grafana links them to /calls/<call_id>)."""
    boards = build_dashboards(standards_from_rules(prom.rules))
    panels = [
        p
        for b in boards.values()
        for p in b["panels"]
        if p["type"] == "timeseries" and any("breached" in t["expr"] for t in p["targets"])
    ]
    assert len(panels) == 3
    end = time.time() + 60
    for panel in panels:
        (target,) = panel["targets"]
        assert target.get("exemplar") is True, panel["title"]
        data = prom.api(
            "query_exemplars",
            query=expand_variables(target["expr"]),
            start=str(end - 3600),
            end=str(end),
        )
        ids = {ex["labels"]["call_id"] for series in data["data"] for ex in series["exemplars"]}
        assert ids and ids <= {r.call_id for r in prom.records}, panel["title"]


def test_every_alert_expression_parses_and_returns_data(prom: PromHarness) -> None:
    alerts = [r for g in prom.alert_rules["groups"] for r in g["rules"]]
    assert len(alerts) == 11
    quiet = [a["alert"] for a in alerts if not prom.query(a["expr"])]
    # RingwatchNoAmiEvents needs 15 minutes of history: this Prometheus is seconds old
    assert quiet == ["RingwatchNoAmiEvents"], "the feed breaches every standard"


def test_no_ami_events_does_not_fire_on_a_fresh_start(prom: PromHarness) -> None:
    """branch is connected and silent since the exporter started seconds ago: no alert (it
    fired 10 s after a start); with the history requirement shortened to 1 s it would."""
    alert = next(
        r
        for g in prom.alert_rules["groups"]
        for r in g["rules"]
        if r["alert"] == "RingwatchNoAmiEvents"
    )
    assert alert["for"] == "5m"
    assert prom.query(alert["expr"]) == []
    assert prom.query('increase(ringwatch_ami_events_total{pbx="branch"}[15m]) == 0') != []
    shortened = alert["expr"].replace("offset 15m", "offset 1s")
    assert [r["metric"]["pbx"] for r in prom.query(shortened)] == ["branch"]


def test_window_alerts_are_per_pbx_and_queue(prom: PromHarness) -> None:
    """Each window alert expression gives one value per PBX and queue, equal to the in-process
    evaluator over that PBX's and queue's calls."""
    alerts = {r["alert"]: r for g in prom.alert_rules["groups"] for r in g["rules"]}
    now = max(r.ended_at or 0.0 for r in prom.records)
    sl = alerts["RingwatchServiceLevel8020"]["expr"]
    firing = {(r["metric"]["pbx"], r["metric"]["queue"]) for r in prom.query(sl)}
    assert firing == {("hq", "sales"), ("hq", "support")}
    for rule in (r for r in prom.rules.rules if r.target is not None):
        ratio = compile_promql(rule, ("pbx", "queue"))
        got = {
            (r["metric"]["pbx"], r["metric"].get("queue", "")): float(r["value"][1])
            for r in prom.query(ratio)
        }
        for (pbx, queue), value in got.items():
            evaluator = WindowEvaluator(rule)
            for record in prom.records:
                if record.pbx == pbx and (record.queue or "") == queue:
                    evaluator.add(record)
            expected = evaluator.ratio(now)
            if expected is None:
                assert value != value, (rule.id, pbx, queue)  # NaN: no calls
            else:
                assert value == pytest.approx(expected, rel=1e-9), (rule.id, pbx, queue)
        assert {("hq", "sales")} <= set(got), rule.id


def test_window_standards_equal_the_in_process_evaluator(prom: PromHarness) -> None:
    window_rules = [r for r in prom.rules.rules if r.target is not None]
    assert {r.check for r in window_rules} >= {"service_level", "abandon_rate", "rings_to_answer"}
    now = max(r.ended_at or 0.0 for r in prom.records)
    for rule in window_rules:
        evaluator = WindowEvaluator(rule)
        for record in prom.records:
            evaluator.add(record)
        expected = evaluator.ratio(now)
        got = prom.scalar(compile_promql(rule))
        assert expected is not None, rule.id
        assert got == pytest.approx(expected, rel=1e-9), rule.id


def test_service_level_figure(prom: PromHarness) -> None:
    sl = next(r for r in prom.rules.rules if r.check == "service_level")
    # the feed: 6 of 10 answered calls within 20 s of joining the queue
    assert prom.scalar(compile_promql(sl)) == pytest.approx(0.6)


def test_breach_exemplars_reach_prometheus(prom: PromHarness) -> None:
    end = time.time() + 60
    data = prom.api(
        "query_exemplars",
        query='ringwatch_standard_checks_total{result="breached"}',
        start=str(end - 3600),
        end=str(end),
    )
    ids = {ex["labels"]["call_id"] for series in data["data"] for ex in series["exemplars"]}
    assert ids and ids <= {r.call_id for r in prom.records}


def test_generated_alert_rules_are_loaded(prom: PromHarness) -> None:
    groups = prom.api("rules")["data"]["groups"]
    assert sorted(g["name"] for g in groups) == [
        "ringwatch-live",
        "ringwatch-operations",
        "ringwatch-window-standards",
    ]
    assert sum(len(g["rules"]) for g in groups) == 11
