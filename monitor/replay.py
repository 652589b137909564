"""Replay recorded AMI transcripts through the pipeline: files in, call records out.

Streaming (docs/import.md): each file is read a chunk at a time (``.gz`` decompressed as a
stream) and the files are merged by event time with a heap over their iterators, so memory
stays flat whatever the input size. Bad input is a :class:`~monitor.errors.TranscriptError`
naming the file (see :mod:`monitor.history.source`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from monitor.history.ami_stream import AmiFileEvents, merge_by_time
from monitor.history.source import InputFile
from monitor.pipeline import Pipeline
from monitor.record import CallRecord
from monitor.tracker import Tracker, TrackerSettings

__all__ = ["ReplayStats", "open_inputs", "replay"]

Progress = Callable[[int, int], None]
_PROGRESS_EVERY = 4096  # events between two progress calls


@dataclass
class ReplayStats:
    files: int = 0
    bytes: int = 0
    messages: int = 0
    events: int = 0
    calls: int = 0
    skipped_frames: int = 0
    unknown_events: int = 0
    illegal_transitions: int = 0
    per_file_messages: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.calls} calls, {self.events} events from {self.messages} AMI messages in "
            f"{self.files} file(s); {self.skipped_frames} skipped frames, "
            f"{self.unknown_events} unknown events ignored"
        )


def open_inputs(paths: Sequence[Path]) -> list[InputFile]:
    """Open (check) every input before reading any: a bad path fails before any output."""
    return [InputFile(p) for p in paths]


def replay(
    paths: Sequence[Path],
    settings: TrackerSettings | None = None,
    stats: ReplayStats | None = None,
    progress: Progress | None = None,
    pipeline: Pipeline | None = None,
) -> Iterator[CallRecord]:
    """Yield each call record as it completes, then the still-open calls as ``incomplete``.

    Give either tracker ``settings`` (calls only) or a ``pipeline`` (calls with findings, and
    whatever sinks it feeds). ``progress(done, total)`` gets bytes read from disk.
    """
    st = stats if stats is not None else ReplayStats()
    pipe = pipeline or Pipeline(Tracker(settings or TrackerSettings()))
    inputs = open_inputs(paths)  # now, not at the first record: bad paths fail before output
    return _replay(inputs, st, progress, pipe)


def _replay(
    inputs: list[InputFile], st: ReplayStats, progress: Progress | None, pipe: Pipeline
) -> Iterator[CallRecord]:
    streams = [AmiFileEvents(f) for f in inputs]
    total = sum(f.size for f in inputs)
    feed = pipe.feed_event
    for n, event in enumerate(merge_by_time(streams), 1):
        for record in feed(event):
            st.calls += 1
            yield record
        if progress is not None and n % _PROGRESS_EVERY == 0:
            progress(sum(f.raw_offset for f in inputs), total)
    if progress is not None:
        progress(total, total)
    for record in pipe.finish():
        st.calls += 1
        yield record
    for stream in streams:
        st.per_file_messages[stream.source.name] = stream.messages
        st.messages += stream.messages
        st.skipped_frames += stream.skipped_frames
        st.unknown_events += stream.unknown_events
        st.bytes += stream.source.offset
    st.files = len(streams)
    st.events = pipe.stats.events
    st.illegal_transitions = sum(pipe.tracker.stats.illegal.values())
