"""Scrape-time gauges: live state read from a provider when Prometheus scrapes.

The tracker (and the promise ledger) implement :class:`LiveProvider`; the exporter registers a
:class:`LiveCollector` that asks the provider for one :class:`LiveSnapshot` per PBX on every
scrape. Nothing is stored between scrapes, so a gauge can never go stale. The provider is
called from the metrics server's thread: it must return an immutable copy of its state.

Every series (each state, each configured queue, each live rule) is emitted on every scrape,
at 0 when the snapshot does not mention it, so dashboards and alerts never see a gap.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from monitor.metrics.names import ACTIVE_STATES, PROMISE_STATES, m

__all__ = ["LiveCollector", "LiveProvider", "LiveSnapshot"]


@dataclass(frozen=True, slots=True)
class LiveSnapshot:
    """Live state of one PBX at one instant.

    ``active_calls`` maps a state (ringing, queued, talking, on_hold) to a count;
    ``longest_wait_seconds`` maps a queue to the longest current wait in it;
    ``live_breaches`` maps a live rule id to the number of calls breaching it now;
    ``promises`` maps a promise state (open, overdue) to a count;
    ``clock_offset_seconds`` is the host clock minus the PBX's (None before its first event).
    """

    pbx: str
    active_calls: Mapping[str, int] = field(default_factory=dict)
    longest_wait_seconds: Mapping[str, float] = field(default_factory=dict)
    longest_hold_seconds: float = 0.0
    live_breaches: Mapping[str, int] = field(default_factory=dict)
    promises: Mapping[str, int] = field(default_factory=dict)
    clock_offset_seconds: float | None = None


@runtime_checkable
class LiveProvider(Protocol):
    """What the tracker/promise ledger implement so the exporter can read live state."""

    def live_snapshots(self) -> Iterable[LiveSnapshot]:
        """One snapshot per PBX; called from the scrape thread, must not block for long."""
        ...


class LiveCollector(Collector):
    """A custom collector yielding the scrape-time gauges of the schema."""

    def __init__(
        self,
        pbxs: Sequence[str],
        queues: Sequence[str],
        live_rules: Sequence[str],
        provider: LiveProvider | None = None,
    ) -> None:
        self._pbxs = tuple(pbxs)
        self._queues = tuple(queues)
        self._live_rules = tuple(live_rules)
        self._provider = provider
        self._lock = threading.Lock()

    def set_provider(self, provider: LiveProvider | None) -> None:
        with self._lock:
            self._provider = provider

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Families without samples: lets the registry check names without calling the provider.
        return iter(self._families({}))

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            provider = self._provider
        snaps: dict[str, LiveSnapshot] = {}
        if provider is not None:
            for snap in provider.live_snapshots():
                snaps[snap.pbx] = snap
        return iter(self._families(snaps, with_samples=True))

    def _families(
        self, snaps: Mapping[str, LiveSnapshot], with_samples: bool = False
    ) -> list[GaugeMetricFamily]:
        active = GaugeMetricFamily(
            m("active_calls"), "Calls up now, by state.", labels=["pbx", "state"]
        )
        wait = GaugeMetricFamily(
            m("longest_wait_seconds"),
            "Longest current wait of a caller in each queue (0 when nobody waits).",
            labels=["pbx", "queue"],
        )
        hold = GaugeMetricFamily(
            m("longest_hold_seconds"),
            "Longest current customer hold (0 when nobody is on hold).",
            labels=["pbx"],
        )
        breaches = GaugeMetricFamily(
            m("live_breaches"),
            "Calls breaching a live check right now, by rule.",
            labels=["pbx", "rule"],
        )
        promises = GaugeMetricFamily(
            m("callback_promises_outstanding"),
            "Callback promises not yet settled, by state (open: not yet due; overdue).",
            labels=["pbx", "state"],
        )
        offset = GaugeMetricFamily(
            m("pbx_clock_offset_seconds"),
            "Host clock minus the PBX's clock (Timestamp headers; positive: the PBX is behind).",
            labels=["pbx"],
        )
        families = [active, wait, hold, breaches, promises, offset]
        if not with_samples:
            return families
        pbxs = list(self._pbxs) + [p for p in snaps if p not in self._pbxs]
        for pbx in pbxs:
            snap = snaps.get(pbx, LiveSnapshot(pbx=pbx))
            for state in _keys(ACTIVE_STATES, snap.active_calls):
                active.add_metric([pbx, state], float(snap.active_calls.get(state, 0)))
            for queue in _keys(self._queues, snap.longest_wait_seconds):
                wait.add_metric([pbx, queue], float(snap.longest_wait_seconds.get(queue, 0.0)))
            hold.add_metric([pbx], float(snap.longest_hold_seconds))
            for rule in _keys(self._live_rules, snap.live_breaches):
                breaches.add_metric([pbx, rule], float(snap.live_breaches.get(rule, 0)))
            for state in _keys(PROMISE_STATES, snap.promises):
                promises.add_metric([pbx, state], float(snap.promises.get(state, 0)))
            if snap.clock_offset_seconds is not None:
                offset.add_metric([pbx], float(snap.clock_offset_seconds))
        return families


def _keys(known: Sequence[str], seen: Mapping[str, object]) -> list[str]:
    return list(known) + [k for k in seen if k not in known]
