"""Real Prometheus scrapes a running ringwatch (the service) fed by the simulator at high
speed. Every dashboard and generated alert expression goes through Prometheus' query API, and
each window standard computed by Prometheus equals the in-process evaluator over the same calls
(read back from the service's store)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli.alerts_cmd import generate_text
from monitor.cli.run_cmd import run_demo
from monitor.metrics.dashboards import build_dashboards, standards_from_rules
from monitor.metrics.grafana_model import dashboard_exprs, expand_variables
from monitor.rules.loader import load_rules
from monitor.rules.promql import compile_promql
from monitor.rules.window import WindowEvaluator
from monitor.service import Service
from monitor.simulator import SimulatorServer

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS = "/usr/bin/prometheus"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Harness:
    def __init__(self, base: str) -> None:
        self.base = base

    def api(self, path: str, **params: str) -> dict[str, Any]:
        url = f"{self.base}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as resp:
            data: dict[str, Any] = json.load(resp)
        return data

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.api("query", query=expr)
        assert data["status"] == "success", (expr, data)
        result: list[dict[str, Any]] = data["data"]["result"]
        return result

    def scalar(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None


def _until(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.25)  # polling Prometheus: it has no event to await
    raise AssertionError(f"timed out waiting for {what}")


class Running:
    service: Service
    sim: SimulatorServer
    loop: asyncio.AbstractEventLoop
    base: str


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, Harness]]:
    tmp = tmp_path_factory.mktemp("promsim")
    state = Running()
    ready = threading.Event()
    stop_after = 90.0  # the demo stops by itself even if the test dies

    def on_ready(service: Service, base: str, sim: SimulatorServer) -> None:
        # hold the PBX's events back until Prometheus has scraped the zeros: its increase()
        # then covers every call of the run, as the in-process evaluator does
        sim.pause_events()
        state.service, state.base, state.sim = service, base, sim
        state.loop = asyncio.get_running_loop()
        ready.set()

    thread = threading.Thread(
        target=lambda: asyncio.run(
            run_demo(
                tmp / "data",
                speed=240,
                seed=11,
                web_port=0,
                duration=stop_after,
                echo=False,
                on_ready=on_ready,
            )
        ),
        daemon=True,
    )
    thread.start()
    assert ready.wait(30), "service did not start"
    web = urllib.parse.urlparse(state.base)
    alerts = tmp / "alerts.yml"
    alerts.write_text(generate_text(ROOT / "rules"))
    port = _free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(alerts)],
        "scrape_configs": [
            {
                "job_name": "ringwatch",
                "scrape_timeout": "900ms",
                "static_configs": [{"targets": [f"127.0.0.1:{web.port}"]}],
            }
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (tmp / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    h = Harness(f"http://127.0.0.1:{port}")
    try:
        _until("Prometheus", lambda: h.api("status/buildinfo")["status"] == "success")
        _until("the first scrape", lambda: h.scalar("count(ringwatch_calls_total)") is not None)
        assert h.scalar("sum(ringwatch_calls_total)") == 0.0
        asyncio.run_coroutine_threadsafe(state.sim.resume_events(), state.loop).result(10)
        pipeline = state.service.pipelines["demo"]
        _until("60 calls measured", lambda: pipeline.stats.calls >= 60, timeout=60)
        # freeze the PBX: the engine runs on, its events are held back, so nothing changes
        state.loop.call_soon_threadsafe(state.sim.pause_events)
        counted = pipeline.stats.calls
        _until(
            "Prometheus to scrape the final count",
            lambda: (
                h.scalar("sum(ringwatch_calls_total)") == float(pipeline.stats.calls)
                and pipeline.stats.calls >= counted
            ),
        )
        scrapes = h.scalar("count_over_time(ringwatch_rules_loaded[1h])") or 0.0
        _until(
            "two later scrapes",
            lambda: (h.scalar("count_over_time(ringwatch_rules_loaded[1h])") or 0) > scrapes + 1,
        )
        yield state, h
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        state.service.request_stop()
        thread.join(30)
        assert not thread.is_alive(), "the service did not stop"


def test_every_dashboard_and_alert_expression_runs_on_live_data(
    running: tuple[Running, Harness],
) -> None:
    _, h = running
    rules = load_rules(ROOT / "rules")
    boards = build_dashboards(standards_from_rules(rules))
    exprs = [expand_variables(e) for b in boards.values() for e in dashboard_exprs(b)]
    alert_file = yaml.safe_load(generate_text(ROOT / "rules"))
    alert_exprs = [r["expr"] for g in alert_file["groups"] for r in g["rules"]]
    assert len(exprs) > 30 and len(alert_exprs) >= 10
    empty = [e for e in exprs if not h.query(e)]  # each parses (query() asserts success)
    for e in alert_exprs:
        h.query(e)
    # the simulator's day produces data for the supervisor panels
    assert len(empty) <= len(exprs) // 4, empty


def test_window_standards_from_prometheus_equal_the_in_process_values(
    running: tuple[Running, Harness],
) -> None:
    state, h = running
    rules = load_rules(ROOT / "rules")
    records = [c.record for c in (state.service.store.call(cid) for cid in _call_ids(state))
               if c is not None]  # fmt: skip
    assert len(records) >= 60
    window_rules = [r for r in rules.rules if r.target is not None]
    assert {r.check for r in window_rules} >= {"service_level", "abandon_rate"}
    now = max(r.ended_at or 0.0 for r in records)
    compared = 0
    for rule in window_rules:
        # Prometheus' window is real time and covers the whole run; the simulator ran at 240x,
        # so the in-process window is stretched to cover the same calls.
        assert rule.target is not None
        stretched = replace(rule, target=replace(rule.target, window_seconds=365 * 86400.0))
        evaluator = WindowEvaluator(stretched, site=state.service.pipelines["demo"].site)
        for record in records:
            evaluator.add(record)
        expected = evaluator.ratio(now)
        got = h.scalar(compile_promql(rule))
        if expected is None:
            assert got is None, rule.id
            continue
        assert got == pytest.approx(expected, rel=1e-9), rule.id
        compared += 1
    assert compared >= 2


def _call_ids(state: Running) -> list[str]:
    from sqlalchemy import select

    from monitor.store.schema import calls

    with state.service.store.engine.connect() as conn:
        return [row[0] for row in conn.execute(select(calls.c.call_id))]
