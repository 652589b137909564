"""Histogram bucket boundaries, set at the standards' thresholds (issue: metrics).

Shared by ``monitor.metrics`` (the exporter) and ``monitor.rules`` (which compiles window
standards to PromQL and must pick a threshold that is a bucket boundary, so the in-process
ratio and Prometheus' ratio count exactly the same calls).
"""

from __future__ import annotations

__all__ = ["HOLD_BUCKETS", "RING_BUCKETS", "SECONDS_BUCKETS", "TALK_BUCKETS", "WAIT_BUCKETS"]

RING_BUCKETS: tuple[float, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
WAIT_BUCKETS: tuple[float, ...] = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)
SECONDS_BUCKETS = WAIT_BUCKETS  # ring_seconds and greeting/dead-air use the wait scale
HOLD_BUCKETS: tuple[float, ...] = (30, 60, 120, 300)
TALK_BUCKETS: tuple[float, ...] = (30, 60, 120, 180, 300, 600, 900, 1800, 3600)
