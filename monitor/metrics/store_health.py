"""Store write health at scrape time, read from the service's ``StoreWriter`` (never from the
database): ``ringwatch_store_degraded``, ``ringwatch_store_pending_writes``,
``ringwatch_store_write_retries_total``, ``ringwatch_store_writes_failed_total``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from monitor.metrics.names import m

__all__ = ["StoreWriteCollector", "WriterStats"]


class WriterStats(Protocol):
    """What the collector reads (``monitor.store.writer.StoreWriter`` has it)."""

    @property
    def degraded(self) -> bool: ...
    @property
    def pending(self) -> int: ...
    @property
    def retries(self) -> int: ...
    @property
    def failed(self) -> int: ...


class StoreWriteCollector(Collector):
    def __init__(self, writer: WriterStats) -> None:
        self.writer = writer

    def describe(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        return self.collect()

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        w = self.writer
        yield GaugeMetricFamily(
            m("store_degraded"),
            "1 while store writes fail (database locked or unreachable) and are being retried.",
            value=1.0 if w.degraded else 0.0,
        )
        yield GaugeMetricFamily(
            m("store_pending_writes"), "Calls and promise changes waiting to be written.",
            value=float(w.pending),
        )  # fmt: skip
        yield CounterMetricFamily(
            m("store_write_retries"), "Store writes retried because the database was busy.",
            value=float(w.retries),
        )  # fmt: skip
        yield CounterMetricFamily(
            m("store_writes_failed"),
            "Store writes dropped after a non-retryable error (each is logged).",
            value=float(w.failed),
        )
