"""The store side of an import: one batch of completed calls and promise events written.

The importer's main loop (parse, translate, track, rules) collects a :class:`Batch`; a
:class:`BatchStore` writes it, in the importer's own process or in a writer process
(monitor/history/writer.py), always in the order the batches were made:

1. the promise ledger sees each new call and promise in event order, then moves to the
   batch's event time (promises break at their due time, as live);
2. the new calls, their findings, flags and per-rule results go in one transaction; a call
   already stored (an earlier import, or the live service) is left alone, so importing a file
   twice adds nothing;
3. findings of promises broken meanwhile are attached to their calls;
4. each file's checkpoint (made by the main loop, which knows the open calls) is written
   (docs/import.md: resume after Ctrl-C).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from monitor import events as ev
from monitor.history.checkpoint import Checkpoint, save_checkpoint
from monitor.promises.model import Change
from monitor.record import CallRecord, Finding
from monitor.reports.checks import check_rows, write_checks_many
from monitor.rules import RuleResult
from monitor.sinks import PromiseSink
from monitor.store.calls_write import add_late_findings, existing_call_ids, insert_new_calls
from monitor.store.store import Store

__all__ = ["Batch", "BatchStore", "CheckRows", "Judge", "Pending", "WriteCounts"]

#: a call's standard results as stored: (rule id, met)
CheckRows = list[tuple[str, bool]]
#: what the pipeline completed, in order: a call with its check rows (None: not judged yet,
#: the batch store runs its ``judge``), or a CallbackPromise
Pending = tuple[CallRecord, CheckRows | None] | ev.CallbackPromised
#: ``monitor.pipeline.judge`` with the import's rules and site: (record, live findings) ->
#: (the record with its findings, every rule's result)
Judge = Callable[[CallRecord, Sequence[Finding]], tuple[CallRecord, Sequence[RuleResult]]]


@dataclass(frozen=True, slots=True)
class Batch:
    """What the main loop hands over at a flush: completed calls and promise events in event
    order, the pipeline's event time then (the ledger moves to it), and the checkpoints to
    write once the batch is stored."""

    pending: list[Pending]
    ledger_now: float | None
    checkpoints: list[Checkpoint]


@dataclass
class WriteCounts:
    """The store side's counters (ImportStats takes them over)."""

    calls: int = 0
    calls_new: int = 0
    calls_existing: int = 0
    findings: int = 0
    promise_changes: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    #: a writer process's memory at its end, KiB (Linux): peak RSS ``hwm``, ``pss``
    #: (shared pages split between the processes sharing them) and ``private``
    memory_kib: dict[str, int] = field(default_factory=dict)


class BatchStore:
    """Writes batches into ``store``; ``promises`` is the ledger's sink (None: no ledger)."""

    def __init__(
        self,
        store: Store,
        promises: PromiseSink | None,
        clock: Callable[[], float] = time.time,
        judge: Judge | None = None,
    ) -> None:
        self.store = store
        self.judge = judge  # for calls handed over unjudged (their check rows None)
        self.promises = promises
        self.clock = clock
        self.counts = WriteCounts()
        self._broken: dict[str, list[Finding]] = {}
        if promises is not None:
            previous = promises.on_change
            promises.on_change = (
                self._promise_change if previous is None else _both(previous, self._promise_change)
            )

    def after_fork(self) -> None:
        """In a forked writer process: never use the parent's pooled connections (they stay
        the parent's); new ones are opened as needed."""
        self.store.engine.dispose(close=False)
        if self.promises is not None and self.promises.engine.db is not self.store.engine:
            self.promises.engine.db.dispose(close=False)

    def write(self, batch: Batch) -> None:
        pending = [self._judged(p) for p in batch.pending]
        records = [p for p in pending if isinstance(p, tuple)]
        with self.store.engine.begin() as conn:
            existing = existing_call_ids(conn, (r.call_id for r, _ in records))
        counts = self.counts
        counts.calls += len(records)
        counts.calls_existing += len(existing)
        if self.promises is not None:
            with self.promises.engine.batch():  # one ledger transaction per batch
                for item in pending:
                    if isinstance(item, tuple):
                        if item[0].call_id not in existing:
                            self.promises.call_completed(item[0], ())
                    else:
                        self.promises.promised(item)
                if batch.ledger_now is not None:
                    self.promises.advance(batch.ledger_now)
        now = self.clock()
        written: set[str] = set()
        new: list[CallRecord] = []
        checks: list[tuple[str, Sequence[tuple[str, bool]]]] = []
        for record, rows in records:
            if record.call_id in existing or record.call_id in written:
                continue
            extra = self._broken.pop(record.call_id, None)
            if extra:
                record = _with_findings(record, extra)
            new.append(record)
            checks.append((record.call_id, rows))
            written.add(record.call_id)
            counts.findings += len(record.findings)
        broken, self._broken = self._broken, {}
        with self.store.engine.begin() as conn:
            insert_new_calls(conn, new, now)
            write_checks_many(conn, checks)
            # findings of promises broken meanwhile, on calls stored before: one transaction
            counts.findings += add_late_findings(conn, broken, self.store.clock())
        counts.calls_new += len(written)
        if batch.checkpoints:
            now = self.clock()
            with self.store.engine.begin() as conn:
                for cp in batch.checkpoints:
                    save_checkpoint(conn, cp, now)
        counts.batches += 1

    def _judged(self, item: Pending) -> tuple[CallRecord, CheckRows] | ev.CallbackPromised:
        if not isinstance(item, tuple) or item[1] is not None:
            return item  # type: ignore[return-value]  # a judged call, or a promise
        if self.judge is None:
            raise ValueError(f"call {item[0].call_id} was handed over unjudged, with no judge")
        record, results = self.judge(item[0], item[0].findings)  # its findings: the live ones
        return record, check_rows(results)

    def _promise_change(self, change: Change) -> None:
        key = str(change.action)
        changes = self.counts.promise_changes
        changes[key] = changes.get(key, 0) + 1
        if change.finding is not None and change.promise.source_call_id:
            self._broken.setdefault(change.promise.source_call_id, []).append(change.finding)


def _with_findings(record: CallRecord, extra: list[Finding]) -> CallRecord:
    have = {f.rule for f in record.findings}
    return replace(record, findings=(*record.findings, *(f for f in extra if f.rule not in have)))


def _both(a: Callable[[Change], None], b: Callable[[Change], None]) -> Callable[[Change], None]:
    def call(change: Change) -> None:
        a(change)
        b(change)

    return call
