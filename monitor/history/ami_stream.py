"""One AMI transcript as a stream of events, and many merged by event time.

Each file gets its own parser and translator (a transcript's replay clock is its own); the
files are merged with a heap over their iterators (``heapq.merge``), so memory holds one
chunk per file, never a whole file. A file in which no AMI message is found in its first
``probe_bytes`` (8 MiB) is refused at that point instead of read to its end.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Iterator
from operator import attrgetter

from collectors.ami.parser import AmiParser
from collectors.ami.translate import UNREAD_HEADER_SUFFIXES, ReplayCounts, Translator
from monitor import events as ev
from monitor.errors import TranscriptError
from monitor.history.source import InputFile

__all__ = ["PROBE_BYTES", "AmiFileEvents", "merge_by_time"]

PROBE_BYTES = 8 << 20
_MARK_EVERY = 4 << 20


class AmiFileEvents:
    """Iterate the events of one transcript. ``start`` resumes at a content byte offset (the
    partial message there is skipped); ``start_at`` is the time of the last event before it
    (from the checkpoint), so a transcript without ``Timestamp:`` headers goes on on the same
    estimated clock instead of starting at 0. ``marks`` keeps ``(offset, time of the last
    event before it)`` every few MiB, for resume points."""

    def __init__(
        self,
        source: InputFile,
        *,
        start: int = 0,
        start_at: float | None = None,
        probe_bytes: int = PROBE_BYTES,
    ) -> None:
        self.source = source
        self.start = start
        self.probe_bytes = probe_bytes
        self.parser = AmiParser(skip_suffixes=UNREAD_HEADER_SUFFIXES)  # unread: not parsed
        self.translator = Translator()
        if start_at is not None:
            self.translator.clock.now = start_at
        self.counts = ReplayCounts()
        self.marks: deque[tuple[int, float]] = deque()
        self._next_mark = start + _MARK_EVERY

    @property
    def messages(self) -> int:
        """AMI messages read so far."""
        return self.counts.messages

    @property
    def recognised(self) -> int:
        """Messages read so far that are AMI events or responses."""
        return self.counts.recognised

    @property
    def events(self) -> int:
        """Events yielded so far."""
        return self.counts.events

    @events.setter
    def events(self, value: int) -> None:  # settable, as the importer's Stream protocol says
        self.counts.events = value

    @property
    def last_at(self) -> float | None:
        """The time of the last event yielded (None before the first)."""
        return self.counts.last_at

    @last_at.setter
    def last_at(self, value: float | None) -> None:
        self.counts.last_at = value

    @property
    def skipped_frames(self) -> int:
        return self.parser.stats.skipped

    @property
    def unknown_events(self) -> int:
        return sum(self.translator.unknown.values())

    def __iter__(self) -> Iterator[ev.Event]:
        # the per-message loop runs compiled (Translator.replay); this module's part is per
        # chunk: resuming, resume marks, the probe, the end of the file
        return self.translator.replay(self._chunks(), self.parser, self.counts)

    def _chunks(self) -> Iterator[bytes]:
        """The file's chunks for ``Translator.replay``; each resumes here once the events of
        the one before it are consumed (the probe and the end-of-file checks run then)."""
        skip_partial = self.start > 0
        for chunk in self.source.chunks(self.start):
            if skip_partial:
                cut = _after_blank_line(chunk)
                if cut < 0:
                    continue
                chunk, skip_partial = chunk[cut:], False
            at_chunk = self.source.offset - len(chunk)
            if at_chunk >= self._next_mark and self.last_at is not None:
                self.marks.append((at_chunk, self.last_at))
                self._next_mark = at_chunk + _MARK_EVERY
            yield chunk
            self._probe()
        if self.parser.leftover.strip():
            yield b"\r\n\r\n"  # the last message, without its blank line
        if self.recognised == 0:
            raise TranscriptError(
                f"{self.source.name}: no AMI messages found (expected 'Event: ...' blocks "
                "separated by blank lines, as recorded from an AMI session)"
            )

    def _probe(self) -> None:
        if self.recognised == 0 and self.source.offset - self.start >= self.probe_bytes:
            raise TranscriptError(
                f"{self.source.name}: no AMI messages found in the first "
                f"{self.probe_bytes >> 20} MiB; this is not an AMI transcript (give files "
                "recorded from an AMI session, or an Asterisk queue_log)"
            )

    def resume_offset(self, before: float) -> int:
        """The latest marked offset whose events all came before ``before`` (``start`` if
        none); marks older than it are dropped (a later ``before`` is never earlier)."""
        return self.resume_point(before)[0]

    def resume_point(self, before: float) -> tuple[int, float | None]:
        """``resume_offset`` and the time of the last event before it (None at ``start``)."""
        marks = self.marks
        while len(marks) > 1 and marks[1][1] < before:
            marks.popleft()
        if marks and marks[0][1] < before:
            return marks[0]
        return self.start, None


def _after_blank_line(chunk: bytes) -> int:
    cuts = [i for i in (chunk.find(b"\n\n"), chunk.find(b"\r\n\r\n")) if i >= 0]
    if not cuts:
        return -1
    cut = min(cuts)
    return cut + (2 if chunk[cut : cut + 2] == b"\n\n" else 4)


def merge_by_time(streams: Iterable[Iterable[ev.Event]]) -> Iterator[ev.Event]:
    """Events of several files in event-time order (ties keep the files' given order); one
    file's events as they come (no heap and no key call per event)."""
    given = list(streams)
    if len(given) == 1:
        return iter(given[0])
    return heapq.merge(*given, key=attrgetter("at"))
