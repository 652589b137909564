"""A real Prometheus and a real Alertmanager on 127.0.0.1 (issue 16 item 11): window alerts
arrive one notification per PBX and queue, and RingwatchExporterDown inhibits only the alerts
of the PBX its instance served (``equal: [pbx]``), with the shipped alertmanager.yml grouping
and inhibitions. The Prometheus harness is test_prometheus_e2e's.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from monitor.cli.alerts_cmd import generate_text
from monitor.metrics import RingwatchMetrics, start_metrics_server
from monitor.metrics.alert_sources import metric_rules
from monitor.record import CallRecord
from monitor.rules.loader import load_rules
from tests.monitor.metrics.test_prometheus_e2e import (
    PROMETHEUS,
    QUEUES,
    ROOT,
    PromHarness,
    free_port,
)

pytestmark = pytest.mark.slow

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
