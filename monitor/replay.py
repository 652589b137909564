"""Replay recorded AMI transcripts through the pipeline: files in, call records out."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from collectors.ami.parser import AmiParser
from collectors.ami.translate import Translator
from monitor.errors import TranscriptError
from monitor.pipeline import Pipeline
from monitor.record import CallRecord
from monitor.tracker import Tracker, TrackerSettings

__all__ = ["ReplayStats", "order_files", "read_transcript", "replay"]

_CHUNK = 1 << 20
_FIRST_TIME = re.compile(rb"^(?:Timestamp|Uniqueid): (?:[\w-]*-)?(\d{9,11}(?:\.\d+)?)", re.M)

Progress = Callable[[int, int], None]


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


def read_transcript(path: Path) -> bytes:
    """The bytes of a transcript (``.gz`` decompressed). Raises TranscriptError."""
    if not path.exists():
        raise TranscriptError(f"{path}: no such file (give the path of an AMI transcript)")
    if path.is_dir():
        raise TranscriptError(f"{path}: is a directory (give transcript files, e.g. {path}/*.ami)")
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz" or raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise TranscriptError(f"{path}: cannot read: {exc}") from exc
    return raw


def _first_time(data: bytes) -> float:
    match = _FIRST_TIME.search(data[: 1 << 16])
    return float(match.group(1)) if match else 0.0


def order_files(paths: Sequence[Path]) -> list[tuple[Path, bytes]]:
    """Read every file and sort them by the first event time found in each."""
    loaded = [(p, read_transcript(p)) for p in paths]
    return sorted(loaded, key=lambda item: _first_time(item[1]))


def replay(
    paths: Sequence[Path],
    settings: TrackerSettings | None = None,
    stats: ReplayStats | None = None,
    progress: Progress | None = None,
    pipeline: Pipeline | None = None,
) -> Iterator[CallRecord]:
    """Yield each call record as it completes, then the still-open calls as ``incomplete``.

    Give either tracker ``settings`` (calls only) or a ``pipeline`` (calls with findings, and
    whatever sinks it feeds).
    """
    st = stats if stats is not None else ReplayStats()
    pipe = pipeline or Pipeline(Tracker(settings or TrackerSettings()))
    files = order_files(paths)
    total = sum(len(data) for _, data in files)
    done = 0
    for path, data in files:
        parser = AmiParser()
        pipe.translator = Translator()
        before = st.messages
        for start in range(0, len(data), _CHUNK):
            chunk = data[start : start + _CHUNK]
            for msg in parser.feed(chunk):
                st.messages += 1
                for record in pipe.feed_message(msg):
                    st.calls += 1
                    yield record
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        if parser.leftover.strip():
            for msg in parser.feed(b"\r\n\r\n"):
                st.messages += 1
                for record in pipe.feed_message(msg):
                    st.calls += 1
                    yield record
        n = st.messages - before
        st.per_file_messages[str(path)] = n
        st.files += 1
        st.bytes += len(data)
        st.skipped_frames += parser.stats.skipped
        st.unknown_events += sum(pipe.translator.unknown.values())
        if n == 0:
            raise TranscriptError(
                f"{path}: no AMI messages found (expected 'Event: ...' blocks separated by "
                "blank lines, as recorded from an AMI session)"
            )
    for record in pipe.finish():
        st.calls += 1
        yield record
    st.events = pipe.stats.events
    st.illegal_transitions = sum(pipe.tracker.stats.illegal.values())
