"""One queue_log file as a stream of :class:`QueueLogLine` (a chunk at a time)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from monitor.errors import InputError, TranscriptError
from monitor.history.queue_log import QueueLogLine, QueueLogParser
from monitor.history.source import InputFile

__all__ = ["QueueLogLines"]

_MARK_EVERY = 4 << 20


class QueueLogLines:
    """Iterate the lines of one queue_log (file backend or SQL export). ``start`` resumes at
    a content offset (the partial line there is skipped); ``marks`` as for AMI streams."""

    format = "queue_log"

    def __init__(self, source: InputFile, *, start: int = 0, timezone: str = "UTC") -> None:
        self.source = source
        self.start = start
        self.parser = QueueLogParser(source.name, timezone)
        self.events = 0
        self.last_at: float | None = None
        self.marks: deque[tuple[int, float]] = deque()
        self._next_mark = start + _MARK_EVERY

    def __iter__(self) -> Iterator[QueueLogLine]:
        rest = b""
        skip_partial = self.start > 0
        feed = self.parser.feed
        try:
            for chunk in self.source.chunks(self.start):
                if skip_partial:
                    nl = chunk.find(b"\n")
                    if nl < 0:
                        continue
                    chunk, skip_partial = chunk[nl + 1 :], False
                at_chunk = self.source.offset - len(chunk) - len(rest)
                if at_chunk >= self._next_mark and self.last_at is not None:
                    self.marks.append((at_chunk, self.last_at))
                    self._next_mark = at_chunk + _MARK_EVERY
                data = rest + chunk
                cut = data.rfind(b"\n")
                if cut < 0:
                    rest = data
                    continue
                rest = data[cut + 1 :]
                text = data[:cut].decode("utf-8", "replace").split("\n")
                for line in feed(text):
                    self.events += 1
                    self.last_at = line.at
                    yield line
            if rest.strip():
                for line in feed([rest.decode("utf-8", "replace")]):
                    self.events += 1
                    self.last_at = line.at
                    yield line
        except InputError as exc:
            raise TranscriptError(str(exc)) from None
        if self.events == 0:
            raise TranscriptError(
                f"{self.source.name}: no queue_log lines found (expected "
                "epoch|callid|queue|agent|EVENT|... lines, or a time|callid|queuename|agent|"
                "event|data1... table export)"
            )

    def resume_offset(self, before: float) -> int:
        return self.resume_point(before)[0]

    def resume_point(self, before: float) -> tuple[int, float | None]:
        """``resume_offset`` and the time of the last line before it (None at ``start``)."""
        marks = self.marks
        while len(marks) > 1 and marks[1][1] < before:
            marks.popleft()
        if marks and marks[0][1] < before:
            return marks[0]
        return self.start, None
