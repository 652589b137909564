"""``ringwatch import``: history files into the store, through the live pipeline.

Every input (AMI transcript or Asterisk queue_log, plain or ``.gz``; the format is detected)
is streamed and merged by event time. Events go through the same :class:`Pipeline` as live
(tracker, rules, live deadlines on event time); completed calls and CallbackPromise events
are collected in order and written in batches:

1. the promise ledger sees each new call and promise in event order, then moves to the
   pipeline's event time (promises break at their due time, as live);
2. the new calls, their findings, flags and per-rule results go in one transaction; a call
   already stored (an earlier import, or the live service) is left alone, so importing a file
   twice adds nothing;
3. findings of promises broken meanwhile are attached to their calls;
4. each file's checkpoint is written (docs/import.md: resume after Ctrl-C).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from monitor import events as ev
from monitor.errors import TranscriptError
from monitor.history.ami_stream import AmiFileEvents
from monitor.history.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from monitor.history.formats import detect_format
from monitor.history.queue_log import QueueLogLine
from monitor.history.queue_log_calls import QueueLogCalls
from monitor.history.queue_log_stream import QueueLogLines
from monitor.history.source import InputFile
from monitor.pipeline import Pipeline
from monitor.promises.model import Change
from monitor.record import CallRecord, Finding
from monitor.reports.checks import check_rows, write_checks_many
from monitor.rules import RuleResult
from monitor.sinks import PromiseSink
from monitor.store.calls_write import add_late_findings, existing_call_ids, insert_new_calls
from monitor.store.history_schema import ensure_history_schema
from monitor.store.store import Store

__all__ = ["ImportStats", "Importer", "Stream"]

_RESUME_MARGIN = 5.0
Progress = Callable[[int, int, int], None]
PipelineFactory = Callable[
    [Sequence["_Collector"], Callable[[ev.CallbackPromised], None]], Pipeline
]


class Stream(Protocol):
    """One input as the importer reads it (AMI events or queue_log records)."""

    source: InputFile
    start: int
    events: int
    last_at: float | None
    format: str

    def __iter__(self) -> Iterator[ev.Event | QueueLogLine]: ...

    def resume_offset(self, before: float) -> int: ...

    def resume_point(self, before: float) -> tuple[int, float | None]: ...


@dataclass
class ImportStats:
    files: int = 0
    files_done_before: int = 0
    files_resumed: int = 0
    bytes: int = 0
    events: int = 0
    calls: int = 0
    calls_new: int = 0
    calls_existing: int = 0
    findings: int = 0
    promise_changes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    interrupted: bool = False

    def summary(self) -> str:
        rate = self.events / self.seconds if self.seconds > 0 else 0.0
        promises = ", ".join(f"{n} {k}" for k, n in sorted(self.promise_changes.items()))
        return (
            f"{self.files} file(s) ({self.files_done_before} already imported, "
            f"{self.files_resumed} resumed), {self.events} events in {self.seconds:.1f} s "
            f"({rate:,.0f}/s); {self.calls} calls: {self.calls_new} new, "
            f"{self.calls_existing} already stored; {self.findings} findings; "
            f"promises: {promises or 'no change'}"
        )


class _Collector:
    """The pipeline's sink: completed calls and promise events, in order, until a flush."""

    def __init__(self) -> None:
        self.pending: list[tuple[CallRecord, Sequence[RuleResult]] | ev.CallbackPromised] = []
        self.calls = 0

    def call_completed(self, record: CallRecord, results: Sequence[RuleResult]) -> None:
        self.pending.append((record, results))
        self.calls += 1

    def live_finding(self, call_id: str, finding: Finding) -> None:
        return None

    def promised(self, event: ev.CallbackPromised) -> None:
        self.pending.append(event)


class Importer:
    """Import files into ``store``. ``make_pipeline(sinks, on_promise)`` builds the pipeline
    as the service does; ``promises`` is the ledger's sink (None: no promise ledger)."""

    def __init__(
        self,
        store: Store,
        make_pipeline: Callable[
            [Sequence[_Collector], Callable[[ev.CallbackPromised], None]], Pipeline
        ],
        promises: PromiseSink | None,
        *,
        pbx: str = "default",
        timezone: str = "UTC",
        stale_after_seconds: float = 4 * 3600.0,
        batch_calls: int = 500,
        checkpoint_seconds: float = 2.0,
        progress: Progress | None = None,
        restart: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.collector = _Collector()
        self.pipeline = make_pipeline([self.collector], self.collector.promised)
        self.promises = promises
        self.pbx = pbx
        self.timezone = timezone
        self.queue_log = QueueLogCalls(pbx, stale_after_seconds)
        self.batch_calls = batch_calls
        self.checkpoint_seconds = checkpoint_seconds
        self.progress = progress
        self.restart = restart
        self.clock = clock
        self.stats = ImportStats()
        self._broken: dict[str, list[Finding]] = {}
        self._streams: list[Stream] = []
        if promises is not None:
            previous = promises.on_change
            promises.on_change = (
                self._promise_change if previous is None else _both(previous, self._promise_change)
            )
        ensure_history_schema(store.engine)

    # ---- the run ---------------------------------------------------------------------------

    def run(self, paths: Sequence[Path]) -> ImportStats:
        """Import ``paths``; Ctrl-C (KeyboardInterrupt) writes what is done and a checkpoint,
        then re-raises. Input errors raise TranscriptError before anything is written."""
        started = time.monotonic()
        st = self.stats
        inputs = [InputFile(p) for p in paths]
        st.files = len(inputs)
        self._streams = self._open(inputs)
        total = sum(s.source.size for s in self._streams)
        try:
            with _batch_gc():
                self._loop(self._streams, total)
            for record in self.queue_log.finish():
                self.pipeline.feed_record(record)
            self.pipeline.finish()  # open calls close as incomplete (the sink collects them)
            self._flush(final=True)
        except KeyboardInterrupt:
            st.interrupted = True
            self._flush(final=False)
            raise
        finally:
            st.seconds = time.monotonic() - started
            st.bytes = sum(s.source.raw_offset for s in self._streams)
        return st

    def _open(self, inputs: Iterable[InputFile]) -> list[Stream]:
        streams: list[Stream] = []
        with self.store.engine.begin() as conn:
            for src in inputs:
                if src.is_stdin:
                    raise TranscriptError(
                        "import reads files, not standard input (checkpoints need a file); "
                        "save the input to a file first, or use 'ringwatch replay -'"
                    )
                ident = src.identity()
                cp = None if ident is None or self.restart else load_checkpoint(conn, ident.key)
                if cp is not None and cp.done:
                    self.stats.files_done_before += 1
                    continue
                start = 0 if cp is None else cp.resume_offset
                if start:
                    self.stats.files_resumed += 1
                fmt = detect_format(src)
                stream: Stream
                if fmt == "queue_log":
                    stream = QueueLogLines(src, start=start, timezone=self.timezone)
                else:
                    # the estimated clock of a transcript without Timestamp headers goes on
                    # from the resume point's time
                    at = cp.last_event_at if cp is not None and start else None
                    stream = _AmiStream(src, start=start, start_at=at)
                streams.append(stream)
        return streams

    def _loop(self, streams: Sequence[Stream], total: int) -> None:
        from monitor.history.ami_stream import merge_by_time

        pipe, collector = self.pipeline, self.collector
        feed_event, advance, feed_record = pipe.feed_event, pipe.advance, pipe.feed_record
        calls_of = self.queue_log.feed
        next_flush = time.monotonic() + self.checkpoint_seconds
        n = 0
        for item in merge_by_time(streams):  # type: ignore[arg-type]
            if isinstance(item, QueueLogLine):
                advance(item.at)
                for record in calls_of(item):
                    feed_record(record)
            else:
                feed_event(item)
            n += 1
            if n & 1023 == 0:
                self.stats.events = n
                if self.progress is not None:
                    read = sum(s.source.raw_offset for s in streams)
                    self.progress(min(read, total - 1), total, n)  # 100 % only at the end
                if len(collector.pending) >= self.batch_calls or time.monotonic() > next_flush:
                    self._flush(final=False)
                    next_flush = time.monotonic() + self.checkpoint_seconds
        self.stats.events = n
        if self.progress is not None:
            self.progress(total, total, n)

    # ---- writing ---------------------------------------------------------------------------

    def _flush(self, final: bool) -> None:
        pending, self.collector.pending = self.collector.pending, []
        records = [p for p in pending if isinstance(p, tuple)]
        with self.store.engine.begin() as conn:
            existing = existing_call_ids(conn, (r.call_id for r, _ in records))
        st = self.stats
        st.calls += len(records)
        st.calls_existing += len(existing)
        if self.promises is not None:
            with self.promises.engine.batch():  # one ledger transaction per flush
                for item in pending:
                    if isinstance(item, tuple):
                        if item[0].call_id not in existing:
                            self.promises.call_completed(item[0], item[1])
                    else:
                        self.promises.promised(item)
                self.promises.advance(self.pipeline.now)
        now = self.clock()
        written: set[str] = set()
        new: list[CallRecord] = []
        checks: list[tuple[str, Sequence[RuleResult]]] = []
        for record, results in records:
            if record.call_id in existing or record.call_id in written:
                continue
            extra = self._broken.pop(record.call_id, None)
            if extra:
                record = _with_findings(record, extra)
            new.append(record)
            checks.append((record.call_id, results))
            written.add(record.call_id)
            st.findings += len(record.findings)
        broken, self._broken = self._broken, {}
        with self.store.engine.begin() as conn:
            insert_new_calls(conn, new, now)
            write_checks_many(conn, [(cid, check_rows(res)) for cid, res in checks])
            # findings of promises broken meanwhile, on calls stored before: one transaction
            st.findings += add_late_findings(conn, broken, self.store.clock())
        st.calls_new += len(written)
        self._checkpoint(final)

    def _promise_change(self, change: Change) -> None:
        key = str(change.action)
        self.stats.promise_changes[key] = self.stats.promise_changes.get(key, 0) + 1
        if change.finding is not None and change.promise.source_call_id:
            self._broken.setdefault(change.promise.source_call_id, []).append(change.finding)

    def _checkpoint(self, final: bool) -> None:
        tracker = self.pipeline.tracker
        open_starts = [c.started_at for c in tracker.calls.values()]
        oldest_visit = self.queue_log.oldest_open()
        if oldest_visit is not None:
            open_starts.append(oldest_visit)
        low = min(open_starts, default=self.pipeline.now) - _RESUME_MARGIN
        now = self.clock()
        with self.store.engine.begin() as conn:
            for s in self._streams:
                ident = s.source.identity()
                if ident is None:
                    continue
                point = (0, s.last_at) if final else s.resume_point(low)
                save_checkpoint(
                    conn,
                    Checkpoint(
                        key=ident.key,
                        path=ident.path,
                        size=ident.size,
                        format=s.format,
                        status="done" if final else "partial",
                        offset=s.source.offset,
                        # partial: where to resume and the time of the last event before it
                        resume_offset=0 if final else point[0],
                        last_event_at=s.last_at if final else point[1],
                        events=s.events,
                        calls=self.collector.calls,
                    ),
                    now,
                )


@contextmanager
def _batch_gc(threshold: int = 50_000) -> Iterator[None]:
    """Cyclic GC for a batch job: what exists before the import (rules, SQLAlchemy, number
    metadata) is frozen out of the collector's scans, and the youngest generation is
    collected every 50,000 allocations instead of 700 (reference counting frees almost
    everything the import makes). Nearly twice the import rate; put back afterwards."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(threshold, before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


class _AmiStream(AmiFileEvents):
    format = "ami"


def _with_findings(record: CallRecord, extra: list[Finding]) -> CallRecord:
    from dataclasses import replace

    have = {f.rule for f in record.findings}
    return replace(record, findings=(*record.findings, *(f for f in extra if f.rule not in have)))


def _both(a: Callable[[Change], None], b: Callable[[Change], None]) -> Callable[[Change], None]:
    def call(change: Change) -> None:
        a(change)
        b(change)

    return call
