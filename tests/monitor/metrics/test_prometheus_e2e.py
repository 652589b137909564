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


# ---- Prometheus → Alertmanager: grouping per PBX and queue, inhibition with equal: ----------

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


class Webhook:
    """An Alertmanager webhook receiver on 127.0.0.1: keeps every notification it is sent."""

    def __init__(self) -> None:
        import http.server
        import threading

        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class AlertStack:
    prom: PromHarness
    am_url: str
    webhook: Webhook

    def am_alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.am_url}/api/v2/alerts", timeout=10) as resp:
            data: list[dict[str, Any]] = json.load(resp)
        return data

    def firing(self, name: str) -> list[dict[str, str]]:
        alerts = self.prom.api("alerts")["data"]["alerts"]
        return [
            a["labels"]
            for a in alerts
            if a["labels"]["alertname"] == name and a["state"] == "firing"
        ]


def _start(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    try:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    finally:
        out.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@pytest.fixture(scope="module")
def alert_stack(
    tmp_path_factory: pytest.TempPathFactory,
    call_feed: list[list[CallRecord]],
    pipeline_factory: Callable[..., Callable[[CallRecord], None]],
) -> Iterator[AlertStack]:
    """Two ringwatch exporters (A: hq and branch, fed the breaching calls; B: annex, whose
    sales queue misses the service level), a real Prometheus evaluating the generated rules
    (groups every second, no ``for:``) and a real Alertmanager with the shipped grouping and
    inhibition, notifying a webhook on 127.0.0.1. B is then stopped: RingwatchExporterDown."""
    from monitor.metrics.alerts import AlertLinks, OperationalLimits
    from monitor.record import Outcome
    from tests.monitor.metrics.conftest import make_record

    assert Path(ALERTMANAGER).exists(), "Debian prometheus-alertmanager missing"
    tmp = tmp_path_factory.mktemp("am")
    rules = load_rules(ROOT / "rules")
    mrules = metric_rules(rules)
    reg_a, reg_b = CollectorRegistry(), CollectorRegistry()
    metrics_a = RingwatchMetrics(reg_a, ("hq", "branch"), QUEUES, mrules)
    metrics_b = RingwatchMetrics(reg_b, ("annex",), QUEUES, mrules)
    for metrics, pbx in ((metrics_a, "hq"), (metrics_a, "branch"), (metrics_b, "annex")):
        metrics.ami_up(pbx, True)
    run_a, run_b = pipeline_factory(metrics_a, rules), pipeline_factory(metrics_b, rules)
    server_a = start_metrics_server("127.0.0.1", 0, reg_a)
    server_b = start_metrics_server("127.0.0.1", 0, reg_b)

    limits = OperationalLimits(
        window_for="0s", live_for="0s", ami_down_for="0s", exporter_down_for="0s"
    )
    text = generate_text(ROOT / "rules", AlertLinks(), limits)
    alert_rules = yaml.safe_load(text)
    for group in alert_rules["groups"]:
        group["interval"] = "1s"
    (tmp / "alerts.yml").write_text(yaml.safe_dump(alert_rules))

    webhook = Webhook()
    shipped = yaml.safe_load((ROOT / "dashboards/alertmanager/alertmanager.yml").read_text())
    am_config = {
        "route": {
            "receiver": "hook",
            "group_by": shipped["route"]["group_by"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "inhibit_rules": shipped["inhibit_rules"],
        "receivers": [
            {
                "name": "hook",
                "webhook_configs": [{"url": f"http://127.0.0.1:{webhook.port}/hook"}],
            }
        ],
    }
    (tmp / "alertmanager.yml").write_text(yaml.safe_dump(am_config))
    am_port, prom_port = free_port(), free_port()
    am = _start(
        [
            ALERTMANAGER,
            f"--config.file={tmp / 'alertmanager.yml'}",
            f"--storage.path={tmp / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        tmp / "alertmanager.log",
    )
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp / "alerts.yml")],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
        },
        "scrape_configs": [
            {
                "job_name": "ringwatch",
                "scrape_timeout": "900ms",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{server_a.port}", f"127.0.0.1:{server_b.port}"]}
                ],
            }
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    prom_proc = _start(
        [
            PROMETHEUS,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            "--log.level=warn",
        ],
        tmp / "prometheus.log",
    )
    h = PromHarness(f"http://127.0.0.1:{prom_port}", [], rules, alert_rules)
    stack = AlertStack(h, f"http://127.0.0.1:{am_port}", webhook)
    server_b_open = True
    try:
        h.wait_for("Prometheus ready", lambda: h.api("status/buildinfo")["status"] == "success")
        h.wait_for("both exporters scraped", lambda: h.scalar('sum(up{job="ringwatch"})') == 2)
        # annex/sales: 1 of 4 answered within 20 s
        annex = [
            make_record(100 + i, pbx="annex", queue="sales", outcome=Outcome.ANSWERED, wait=w)
            for i, w in enumerate((5.0, 30.0, 45.0, 60.0))
        ]
        for record in [r for batch in call_feed for r in batch]:
            run_a(record)
        for record in annex:
            run_b(record)
        h.records.extend([*(r for batch in call_feed for r in batch), *annex])
        h.wait_for(
            "service-level alerts firing on hq and annex",
            lambda: (
                {(a["pbx"], a["queue"]) for a in stack.firing("RingwatchServiceLevel8020")}
                == {("hq", "sales"), ("hq", "support"), ("annex", "sales")}
            ),
        )
        server_b.close()
        server_b_open = False
        h.wait_for(
            "RingwatchExporterDown for annex",
            lambda: [a.get("pbx") for a in stack.firing("RingwatchExporterDown")] == ["annex"],
        )
        yield stack
    finally:
        _stop(prom_proc)
        _stop(am)
        webhook.close()
        server_a.close()
        if server_b_open:
            server_b.close()


def test_alertmanager_groups_window_alerts_per_pbx_and_queue(alert_stack: AlertStack) -> None:
    """Each PBX and queue missing the service level is its own notification (group)."""
    h = alert_stack.prom

    def groups() -> dict[tuple[str, str], list[dict[str, Any]]]:
        out: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for note in list(alert_stack.webhook.received):
            g = note["groupLabels"]
            if g.get("alertname") == "RingwatchServiceLevel8020":
                out[(g["pbx"], g["queue"])] = note["alerts"]
        return out

    h.wait_for(
        "hq sales and support notified",
        lambda: {("hq", "sales"), ("hq", "support")} <= set(groups()),
    )
    got = groups()
    for key in (("hq", "sales"), ("hq", "support")):
        (alert,) = got[key]
        assert (alert["labels"]["pbx"], alert["labels"]["queue"]) == key
        assert alert["annotations"]["qa_queue"].endswith(
            f"/flags?rule=service-level-80-20&queue={key[1]}"
        )
        assert alert["annotations"]["runbook_url"].endswith("#ringwatchservicelevel8020")
        assert (
            key[0] in alert["annotations"]["summary"] and key[1] in alert["annotations"]["summary"]
        )


def test_exporter_down_inhibits_only_its_own_pbx(alert_stack: AlertStack) -> None:
    """annex's exporter is down: annex's window alert is inhibited by RingwatchExporterDown
    (equal: [pbx]); hq's alerts stay active (before, one instance down muted every PBX)."""
    h = alert_stack.prom

    def states() -> dict[tuple[str, str, str], dict[str, Any]]:
        return {
            (a["labels"]["alertname"], a["labels"].get("pbx", ""), a["labels"].get("queue", "")): a[
                "status"
            ]
            for a in alert_stack.am_alerts()
        }

    key_annex = ("RingwatchServiceLevel8020", "annex", "sales")
    h.wait_for(
        "annex's alert inhibited in Alertmanager",
        lambda: states().get(key_annex, {}).get("state") == "suppressed",
    )
    s = states()
    down = s[("RingwatchExporterDown", "annex", "")]
    assert down["state"] == "active"
    assert s[key_annex]["inhibitedBy"], s[key_annex]
    for queue in ("sales", "support"):
        hq = s[("RingwatchServiceLevel8020", "hq", queue)]
        assert hq["state"] == "active" and hq["inhibitedBy"] == [], hq
    assert s[("RingwatchAbandonRate15m", "hq", "sales")]["state"] == "active"
