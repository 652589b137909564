"""Prometheus metrics of ringwatch: the exporter, scrape-time gauges, ``/metrics`` serving,
alert rules and Grafana dashboards generated from the standards."""

from __future__ import annotations

from monitor.metrics.exporter import MetricRule, RingwatchMetrics
from monitor.metrics.exposition import (
    MetricsResponse,
    MetricsServer,
    make_asgi_app,
    render_metrics,
    start_metrics_server,
)
from monitor.metrics.live import LiveCollector, LiveProvider, LiveSnapshot

__all__ = [
    "LiveCollector",
    "LiveProvider",
    "LiveSnapshot",
    "MetricRule",
    "MetricsResponse",
    "MetricsServer",
    "RingwatchMetrics",
    "make_asgi_app",
    "render_metrics",
    "start_metrics_server",
]
