"""``ringwatch import``: history files into the store, through the live pipeline.

Every input (AMI transcript or Asterisk queue_log, plain or ``.gz``; the format is detected)
is streamed and merged by event time. Events go through the same :class:`Pipeline` as live
(tracker, rules, live deadlines on event time); completed calls and CallbackPromise events
are collected in order and handed over in batches, each with the checkpoints of every file
(where to resume: before the start of every call still open), to a writer
(monitor/history/writer.py): a forked writer process when it can be used, so the store work
runs on a second core while this loop reads on, else in this process. How a batch is written
(promise ledger, calls, findings, flags, per-rule results, late findings, checkpoints) is
monitor/history/batch_store.py.
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
from monitor.history.batch_store import Batch, BatchStore, Judge, Pending
from monitor.history.checkpoint import Checkpoint, load_checkpoint
from monitor.history.formats import detect_format
from monitor.history.queue_log import QueueLogLine
from monitor.history.queue_log_calls import QueueLogCalls
from monitor.history.queue_log_stream import QueueLogLines
from monitor.history.source import InputFile
from monitor.history.writer import BatchWriter, InlineWriter, ProcessWriter, make_writer
from monitor.pipeline import Pipeline
from monitor.record import CallRecord, Finding
from monitor.reports.checks import check_rows
from monitor.rules import RuleResult
from monitor.sinks import PromiseSink
from monitor.store.history_schema import ensure_history_schema
from monitor.store.store import Store

__all__ = ["ImportStats", "Importer", "Stream"]

_RESUME_MARGIN = 5.0
BATCH_CALLS_PROCESS = 100  # calls per batch handed to a writer process
BATCH_CALLS_INLINE = 500  # calls per batch written in the importer's process
_JUDGE_SHARE_STEP = 0.125  # how much of a batch's judging moves to the importer at a flush
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
    writer_process: bool = False  # batches were written by a writer process
    writer_memory_kib: dict[str, int] = field(default_factory=dict)  # its hwm, pss, private

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
        self.pending: list[Pending] = []
        self.calls = 0
        self.judged = True

    def call_completed(self, record: CallRecord, results: Sequence[RuleResult]) -> None:
        # only the stored form of the results travels on (the rule objects stay here); a
        # pipeline that does not evaluate hands the call over to be judged by the writer
        self.pending.append((record, check_rows(results) if self.judged else None))
        self.calls += 1

    def live_finding(self, call_id: str, finding: Finding) -> None:
        return None

    def promised(self, event: ev.CallbackPromised) -> None:
        self.pending.append(event)


class Importer:
    """Import files into ``store``. ``make_pipeline(sinks, on_promise)`` builds the pipeline
    as the service does; ``promises`` is the ledger's sink (None: no promise ledger).
    ``writer_process``: write batches in a forked writer process when possible (a second
    core stores while this one reads; monitor/history/writer.py), else in this process.
    ``judge`` (``monitor.pipeline.judge`` with the pipeline's rules and site): with a writer
    process, completed calls are judged by the rules there instead of in the pipeline."""

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
        batch_calls: int | None = None,
        checkpoint_seconds: float = 2.0,
        progress: Progress | None = None,
        restart: bool = False,
        clock: Callable[[], float] = time.time,
        writer_process: bool = True,
        judge: Judge | None = None,
    ) -> None:
        self.store = store
        self.collector = _Collector()
        self.pipeline = make_pipeline([self.collector], self.collector.promised)
        self.target = BatchStore(store, promises, clock, judge)
        self.pbx = pbx
        self.timezone = timezone
        self.queue_log = QueueLogCalls(pbx, stale_after_seconds)
        self.batch_calls = batch_calls  # None: by the writer (run() picks)
        self.checkpoint_seconds = checkpoint_seconds
        self.progress = progress
        self.restart = restart
        self.clock = clock
        self.writer_process = writer_process
        self.stats = ImportStats()
        self._streams: list[Stream] = []
        self._writer: BatchWriter = InlineWriter(self.target)  # run() picks the writer
        self._judge_share = 0.0  # of the calls of a batch judged here (writer process)
        self._writer_busy = (0.0, 0.0)  # the writer's busy_seconds, busy_at at the last flush
        ensure_history_schema(store.engine)

    # ---- the run ---------------------------------------------------------------------------

    def run(self, paths: Sequence[Path]) -> ImportStats:
        """Import ``paths``; Ctrl-C (KeyboardInterrupt) writes what is done and a checkpoint,
        then re-raises. Input errors raise TranscriptError before anything is written."""
        started = time.monotonic()
        st = self.stats
        inputs = [InputFile(p, read_ahead=True) for p in paths]
        st.files = len(inputs)
        self._streams = self._open(inputs)
        total = sum(s.source.size for s in self._streams)
        writer = self._writer = make_writer(self.target, self.writer_process and bool(total))
        st.writer_process = isinstance(writer, ProcessWriter)
        if self.batch_calls is None:
            # a writer process overlaps small batches best (and its last one, written after
            # the reading ends, is short); in one process each batch costs its commits
            self.batch_calls = BATCH_CALLS_PROCESS if st.writer_process else BATCH_CALLS_INLINE
        # with a writer process and a judge, the rules' end-of-call evaluation runs there
        self.collector.judged = not (st.writer_process and self.target.judge is not None)
        self.pipeline.evaluate = self.collector.judged
        try:
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
        except BaseException:
            writer.close(quiet=True)  # what was handed over is written; this error goes up
            raise
        else:
            writer.close()  # everything handed over is written (or the writer's error raised)
        finally:
            self._take_counts()
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
        batch_calls = self.batch_calls or BATCH_CALLS_INLINE
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
                if len(collector.pending) >= batch_calls or time.monotonic() > next_flush:
                    self._flush(final=False)
                    next_flush = time.monotonic() + self.checkpoint_seconds
        self.stats.events = n
        if self.progress is not None:
            self.progress(total, total, n)

    # ---- handing over ----------------------------------------------------------------------

    def _flush(self, final: bool) -> None:
        """Hand what the pipeline completed, and the checkpoints that go with it, over."""
        pending, self.collector.pending = self.collector.pending, []
        if not self.collector.judged:
            pending = self._share_judging(pending)
        batch = Batch(pending, self.pipeline.now, self._checkpoints(final))
        self._writer.submit(batch)
        self._take_counts()

    def _share_judging(self, pending: list[Pending]) -> list[Pending]:
        """Judge a share of the batch's calls here (the same function the writer runs): an
        eighth more of each batch while the writer is saturated (the store is the slower
        side, as PostgreSQL's often is), an eighth less while it idles, so both processes
        end up about as busy. Where a call is judged changes nothing stored."""
        saturated = self._writer_saturated()
        if saturated is not None:
            step = _JUDGE_SHARE_STEP if saturated else -_JUDGE_SHARE_STEP
            self._judge_share = min(1.0, max(0.0, self._judge_share + step))
        todo = round(self._judge_share * sum(1 for p in pending if isinstance(p, tuple)))
        out: list[Pending] = []
        for item in pending:
            if todo and isinstance(item, tuple):
                item = self.target.judged(item)
                todo -= 1
            out.append(item)
        return out

    def _writer_saturated(self) -> bool | None:
        """True when the writer was busy ≥ 90 % of the time since the last flush (or wrote
        nothing since and is still busy), False under 75 % (or idle), None in between."""
        counts = self._writer.counts
        busy_before, at_before = self._writer_busy
        if counts.busy_at <= at_before:  # no write ended since the last flush
            return self._writer.busy
        self._writer_busy = (counts.busy_seconds, counts.busy_at)
        if at_before == 0.0:
            return None  # the first write: no span to measure yet
        share = (counts.busy_seconds - busy_before) / (counts.busy_at - at_before)
        return True if share >= 0.9 else False if share < 0.75 else None

    def _take_counts(self) -> None:
        counts, st = self._writer.counts, self.stats
        st.calls, st.calls_new, st.calls_existing = (
            counts.calls,
            counts.calls_new,
            counts.calls_existing,
        )
        st.findings = counts.findings
        st.promise_changes = dict(counts.promise_changes)
        st.writer_memory_kib = dict(counts.memory_kib)

    def _checkpoints(self, final: bool) -> list[Checkpoint]:
        """Each file's checkpoint once this batch is stored: done, or where to resume (before
        the start of every call still open, with a margin)."""
        tracker = self.pipeline.tracker
        open_starts = [c.started_at for c in tracker.calls.values()]
        oldest_visit = self.queue_log.oldest_open()
        if oldest_visit is not None:
            open_starts.append(oldest_visit)
        low = min(open_starts, default=self.pipeline.now) - _RESUME_MARGIN
        out: list[Checkpoint] = []
        for s in self._streams:
            ident = s.source.identity()
            if ident is None:
                continue
            point = (0, s.last_at) if final else s.resume_point(low)
            out.append(
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
                )
            )
        return out


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
