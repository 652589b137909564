"""The store of ringwatch's own metric families, as a prometheus-client collector.

A :class:`MetricStore` owns families (``monitor.metrics.fast``) and the lock that serialises
their updates and reads. Registered on a registry, it yields each family as a
:class:`FamilyMetric`: prometheus-client's encoders and ``get_sample_value`` read its
``samples`` (built on demand, under the lock); ``monitor.metrics.exposition`` recognises it and
writes the family directly.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import TypeVar

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from monitor.metrics.fast import CounterFamily, Family, GaugeFamily, HistogramFamily

__all__ = ["FamilyMetric", "MetricStore"]

_F = TypeVar("_F", CounterFamily, GaugeFamily, HistogramFamily)


class FamilyMetric(Metric):
    """A family as the registry yields it. ``samples`` is built (under the store's lock) only
    when something reads it; ``monitor.metrics.exposition`` renders ``family`` directly."""

    def __init__(self, store: MetricStore, family: Family) -> None:
        # Metric.__init__ would assign ``samples``; the fields it sets are set here instead.
        self.name = family.name
        self.documentation = family.documentation
        self.unit = ""
        self.type = family.kind
        self.store = store
        self.family = family
        self._samples: list[Sample] | None = None

    @property
    def samples(self) -> list[Sample]:
        if self._samples is None:
            with self.store.lock:
                self._samples = self.family.samples()
        return self._samples

    @samples.setter
    def samples(self, value: list[Sample]) -> None:
        self._samples = value


class MetricStore(Collector):
    """A set of families sharing one lock; a prometheus-client collector."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._families: list[Family] = []

    @property
    def families(self) -> tuple[Family, ...]:
        return tuple(self._families)

    def counter(
        self, name: str, documentation: str, labelnames: Sequence[str] = ()
    ) -> CounterFamily:
        return self._add(CounterFamily(name, documentation, labelnames))

    def gauge(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> GaugeFamily:
        return self._add(GaugeFamily(name, documentation, labelnames))

    def histogram(
        self, name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float]
    ) -> HistogramFamily:
        return self._add(HistogramFamily(name, documentation, labelnames, buckets))

    def _add(self, family: _F) -> _F:
        if any(f.name == family.name for f in self._families):
            raise ValueError(f"duplicate metric family {family.name}")
        self._families.append(family)
        return family

    def describe(self) -> Iterator[Metric]:
        for f in self._families:
            yield Metric(f.name, f.documentation, f.kind)

    def collect(self) -> Iterator[Metric]:
        for f in self._families:
            yield FamilyMetric(self, f)
