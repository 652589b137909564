"""Adapters from the pipeline to metrics, the store and the promise ledger.

Each is a ``monitor.pipeline.CallSink``: it receives completed calls with their rule results,
and live findings while calls are up. They hold no state of their own beyond what they adapt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from functools import partial

from monitor import events as ev
from monitor.errors import PromiseError, StoreError
from monitor.metrics import RingwatchMetrics
from monitor.promises import PromiseEngine
from monitor.promises.model import Change
from monitor.record import CallRecord, Finding
from monitor.rules import RuleResult
from monitor.rules.model import CheckStatus
from monitor.store.store import Store
from monitor.store.writer import StoreWriter

__all__ = ["MetricsSink", "PromiseSink", "StoreSink"]

log = logging.getLogger(__name__)


class MetricsSink:
    """Counts calls, observes durations, counts each per-call check met/breached."""

    _MET = CheckStatus.MET  # an enum member read through the class is slow on Python 3.11
    _BREACHED = CheckStatus.BREACHED

    def __init__(self, metrics: RingwatchMetrics) -> None:
        self.metrics = metrics

    def call_completed(self, record: CallRecord, results: Sequence[RuleResult]) -> None:
        self.metrics.call_completed(record, self._checks(results))

    def audio_completed(self, record: CallRecord, results: Sequence[RuleResult]) -> None:
        """The recording was analysed (monitor/audio_join): observe the audio facts and count
        the audio checks (``results`` holds only those), never the call again."""
        self.metrics.audio_completed(record, self._checks(results))

    def _checks(self, results: Sequence[RuleResult]) -> list[tuple[str, str, bool]]:
        """Met and breached results as ``(rule id, severity, met)``; the others are not
        counted. The exporter counts them with the call, under one lock."""
        met, breached = self._MET, self._BREACHED
        return [
            (rr.rule.id, rr.rule.severity, rr.result.status is met)
            for rr in results
            if rr.result.status is met or rr.result.status is breached
        ]

    def live_finding(self, call_id: str, finding: Finding) -> None:
        return None  # live breaches are scrape-time gauges (Pipeline.breaching), not counters


class StoreSink:
    """Writes every completed call (with findings; a flag when a ``flag: true`` rule breached).

    With a ``writer`` (the service), the write is queued and retried while the database is
    busy (``monitor.store.writer``); without one (replay, tests) it is made at once."""

    def __init__(self, store: Store, writer: StoreWriter | None = None) -> None:
        self.store = store
        self.writer = writer
        self.errors = 0

    def call_completed(self, record: CallRecord, results: Sequence[RuleResult]) -> None:
        if self.writer is not None:
            self.writer.submit(f"call {record.call_id}", partial(self.store.save_call, record))
            return
        try:
            self.store.save_call(record)
        except StoreError:
            self.errors += 1
            raise

    def audio_completed(self, record: CallRecord, results: Sequence[RuleResult]) -> None:
        """The call again with its audio facts and findings: ``save_call`` is an upsert."""
        self.call_completed(record, results)

    def live_finding(self, call_id: str, finding: Finding) -> None:
        return None


class PromiseSink:
    """Feeds finished calls and CallbackPromise events to the ledger; reports its changes.

    With a ``writer`` (the service), each ledger transaction is queued and retried while the
    database is busy, in order with the calls' own writes; ``advance`` then returns []
    (its changes are reported through ``on_change`` when the write is made)."""

    def __init__(
        self,
        engine: PromiseEngine,
        pbx: str,
        on_change: Callable[[Change], None] | None = None,
        writer: StoreWriter | None = None,
    ) -> None:
        self.engine = engine
        self.pbx = pbx
        self.on_change = on_change
        self.writer = writer
        self.rejected = 0
        self._advance_to = 0.0

    def call_completed(self, record: CallRecord, results: Sequence[RuleResult]) -> None:
        if self.writer is not None:
            what = f"promise ledger: call {record.call_id}"
            self.writer.submit(what, partial(self._on_call, record))
            return
        self._on_call(record)

    def _on_call(self, record: CallRecord) -> None:
        self._handle(self.engine.on_call(record))

    def live_finding(self, call_id: str, finding: Finding) -> None:
        return None

    def promised(self, event: ev.CallbackPromised) -> None:
        if self.writer is not None:
            self.writer.submit("promise ledger: CallbackPromise", partial(self._promised, event))
            return
        self._promised(event)

    def _promised(self, event: ev.CallbackPromised) -> None:
        try:
            self._handle(self.engine.on_event(event))
        except PromiseError as exc:
            self.rejected += 1
            log.warning("CallbackPromise ignored: %s", exc)

    def advance(self, now: float) -> list[Change]:
        if self.writer is not None:
            self._advance_to = max(self._advance_to, now)
            self.writer.submit(
                "promise ledger: due times", self._advance_queued, key=f"advance:{self.pbx}"
            )
            return []
        changes = self.engine.advance(now)
        self._handle(changes)
        return changes

    def _advance_queued(self) -> None:
        self._handle(self.engine.advance(self._advance_to))

    def _handle(self, changes: Iterable[Change]) -> None:
        if self.on_change is None:
            return
        for change in changes:
            self.on_change(change)
