"""The store side of an import: one batch of completed calls and promise events written.

The importer's main loop (parse, translate, track, rules) collects a :class:`Batch`; a
:class:`BatchStore` writes it, in the importer's own process or in a writer process
(monitor/history/writer.py), always in the order the batches were made:

1. the promise ledger sees each new call and promise in event order, then moves to the
   batch's event time (promises break at their due time, as live);
2. the new calls, their findings, flags and per-rule results are inserted; a call already
   stored (an earlier import, or the live service) is left alone, so importing a file
   twice adds nothing;
3. findings of promises broken meanwhile are attached to their calls;
4. each file's checkpoint (made by the main loop, which knows the open calls) is written
   (docs/import.md: resume after Ctrl-C).

All four commit together, in one transaction (the ledger's too when it is on the store's
database, as ``build_importer`` wires it): after a crash a batch is either all stored, with
its checkpoint, or not at all, and the rerun redoes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace

from sqlalchemy import Connection

from monitor import events as ev
from monitor.history.checkpoint import Checkpoint, save_checkpoint
from monitor.promises.model import Change
from monitor.record import CallRecord, Finding
from monitor.reports.checks import check_rows, write_checks_many
from monitor.rules import RuleResult
from monitor.sinks import PromiseSink
from monitor.store.calls_write import add_late_findings, existing_call_ids, insert_new_calls
from monitor.store.statistics import ImportStatistics
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
    #: time spent writing (``write_many``, judging included), and when the last write ended
    #: (``time.monotonic``, one clock for both processes): how busy the writer is
    busy_seconds: float = 0.0
    busy_at: float = 0.0
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
        self.statistics = ImportStatistics(store.engine)
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
        self.write_many([batch])

    def write_many(self, batches: Sequence[Batch]) -> None:
        """Write ``batches`` (made one after the other) as one: the same rows as writing
        them one by one, in fewer transactions. The ledger sees each batch's items and
        moves to its time in turn; a call an earlier batch writes counts as already stored
        for a later one; a promise broken meanwhile finds its call wherever it is."""
        started = time.monotonic()
        subs = [[self.judged(p) for p in b.pending] for b in batches]
        counts = self.counts
        new: dict[str, tuple[CallRecord, CheckRows]] = {}  # in the order written
        with self.store.engine.begin() as conn:  # one transaction: ledger, calls, checkpoints
            stored = existing_call_ids(
                conn, (p[0].call_id for sub in subs for p in sub if isinstance(p, tuple))
            )
            with self._ledger_batch(conn, [p for sub in subs for p in sub], stored):
                for batch, sub in zip(batches, subs, strict=True):
                    self._one(batch, sub, stored, new)
            # promises broken after their call was taken in: on a call written now, or stored
            broken, self._broken = self._broken, {}
            for call_id in [c for c in broken if c in new]:
                extra = broken.pop(call_id)
                record, rows = new[call_id]
                new[call_id] = (_with_findings(record, extra), rows)
                counts.findings += len(extra)  # as add_late_findings counts them
            now = self.clock()
            insert_new_calls(conn, [r for r, _ in new.values()], now)
            write_checks_many(conn, [(cid, rows) for cid, (_, rows) in new.items()])
            # findings of promises broken meanwhile, on calls stored before
            counts.findings += add_late_findings(conn, broken, self.store.clock())
            checkpoints = {cp.key: cp for batch in batches for cp in batch.checkpoints}  # newest
            for cp in checkpoints.values():
                save_checkpoint(conn, cp, now)
        counts.calls_new += len(new)
        counts.batches += len(batches)
        self.statistics.written(len(new))  # PostgreSQL's plans, as the tables grow
        counts.busy_at = time.monotonic()
        counts.busy_seconds += counts.busy_at - started

    def _one(
        self,
        batch: Batch,
        sub: list[tuple[CallRecord, CheckRows] | ev.CallbackPromised],
        stored: set[str],
        new: dict[str, tuple[CallRecord, CheckRows]],
    ) -> None:
        """One batch of a write: the ledger sees its items and moves to its time; its calls
        not stored yet (nor written by an earlier batch of the write) join ``new``."""
        counts = self.counts
        records = [p for p in sub if isinstance(p, tuple)]
        existing = {r.call_id for r, _ in records if r.call_id in stored or r.call_id in new}
        counts.calls += len(records)
        counts.calls_existing += len(existing)
        if self.promises is not None:
            for item in sub:
                if isinstance(item, tuple):
                    if item[0].call_id not in existing:
                        self.promises.call_completed(item[0], ())
                else:
                    self.promises.promised(item)
            if batch.ledger_now is not None:
                self.promises.advance(batch.ledger_now)
        for record, rows in records:
            if record.call_id in existing or record.call_id in new:
                continue
            extra = self._broken.pop(record.call_id, None)
            if extra:
                record = _with_findings(record, extra)
            new[record.call_id] = (record, rows)
            counts.findings += len(record.findings)

    def _ledger_batch(
        self,
        conn: Connection,
        items: list[tuple[CallRecord, CheckRows] | ev.CallbackPromised],
        stored: set[str],
    ) -> AbstractContextManager[None]:
        """The ledger's batch for one write (``items``, the calls of ``stored`` left out): in
        the write's own transaction when the ledger is on the store's database (it commits
        with the calls), else in its own."""
        if self.promises is None:
            return nullcontext()
        engine = self.promises.engine
        records = [p[0] for p in items if isinstance(p, tuple) and p[0].call_id not in stored]
        events = [p for p in items if not isinstance(p, tuple)]
        shared = conn if engine.db is self.store.engine else None
        numbers, callbacks = engine.batch_numbers(records, events)
        keys = engine.batch_keys(records, events)
        return engine.batch(shared, keys=keys, numbers=numbers, callbacks=callbacks)

    def judged(self, item: Pending) -> tuple[CallRecord, CheckRows] | ev.CallbackPromised:
        """``item`` with its call judged (its final findings and check rows) if it was handed
        over unjudged; the importer judges a batch itself while the writer is busy."""
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
