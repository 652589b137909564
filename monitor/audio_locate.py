"""Where a call's recording is, and how to find it (settings of the audio join).

``locate_recording`` maps ``CallRecord.recording`` (MIXMONITOR_FILENAME) or a filename pattern
holding the call id onto a file inside ``recordings_dir``, and never outside it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from glob import escape
from pathlib import Path, PurePosixPath
from typing import Literal

from monitor.errors import AudioError
from monitor.record import CallRecord

__all__ = [
    "DEFAULT_PATTERN",
    "AudioJoinSettings",
    "locate_recording",
    "probe",
    "recording_started_at",
]

DEFAULT_PATTERN = "**/*{call_id}*.wav"


@dataclass(frozen=True, slots=True)
class AudioJoinSettings:
    """Where recordings are and how to join them (docs/audio.md, "Joining recordings")."""

    recordings_dir: Path
    pattern: str | None = DEFAULT_PATTERN
    pbx_recordings_dir: str | None = "/var/spool/asterisk/monitor"
    recording_start: Literal["answer", "start"] = "answer"
    settle_seconds: float = 1.0
    poll_seconds: float = 0.5
    max_wait_seconds: float = 30.0
    parties: tuple[str, ...] = ("caller", "agent")
    dead_air_seconds: float | None = None
    overtalk_min_seconds: float = 0.5
    max_pending: int = 1000

    def __post_init__(self) -> None:
        if self.recording_start not in ("answer", "start"):
            raise AudioError(
                f"recording_start must be 'answer' or 'start', got {self.recording_start!r}"
            )
        for name in ("settle_seconds", "poll_seconds", "max_wait_seconds"):
            if getattr(self, name) < 0:
                raise AudioError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.pattern is not None and "{call_id}" not in self.pattern:
            raise AudioError(
                f"pattern {self.pattern!r} must contain {{call_id}} (the call's Linkedid), "
                f"e.g. {DEFAULT_PATTERN!r}"
            )


def recording_started_at(record: CallRecord, settings: AudioJoinSettings) -> float:
    """Epoch time of the recording's first sample (see the module docstring)."""
    if settings.recording_start == "answer" and record.answered_at is not None:
        return record.answered_at
    return record.started_at


def _inside(path: str, call_id: str, settings: AudioJoinSettings) -> PurePosixPath:
    """MIXMONITOR_FILENAME -> a path relative to recordings_dir, or AudioError."""
    p = PurePosixPath(path)
    if ".." in p.parts or "\x00" in path:
        raise AudioError(f"recording {path!r} of call {call_id}: '..' and NUL are not allowed")
    if not p.is_absolute():
        return p
    root = settings.recordings_dir
    bases = [str(root), str(root.resolve())]
    if settings.pbx_recordings_dir:
        bases.append(settings.pbx_recordings_dir)
    for base in bases:
        if p.is_relative_to(base):
            return p.relative_to(base)
    raise AudioError(
        f"recording {path} of call {call_id} is outside recordings_dir {root}; set "
        "pbx_recordings_dir to the PBX's monitor directory (its files must be visible under "
        "recordings_dir, e.g. a read-only mount)"
    )


def locate_recording(record: CallRecord, settings: AudioJoinSettings) -> Path | None:
    """The call's recording file (resolved, inside recordings_dir), None when not there (yet).

    Raises AudioError for a path outside recordings_dir or a pattern that matches several
    files."""
    root = settings.recordings_dir.resolve()
    if record.recording:
        full = (root / _inside(record.recording, record.call_id, settings)).resolve()
        if not full.is_relative_to(root):
            raise AudioError(f"recording {record.recording} of call {record.call_id} "
                             f"leads out of recordings_dir {root} (symlink)")  # fmt: skip
        return full if full.is_file() else None
    if settings.pattern is None:
        return None
    day = datetime.fromtimestamp(record.started_at, tz=UTC)
    cid = escape(record.call_id)
    pattern = settings.pattern.format(call_id=cid, linkedid=cid, date=day)
    token = re.compile(rf"(?<![0-9.]){re.escape(record.call_id)}(?![0-9])")
    found = sorted(
        p for p in root.glob(pattern) if p.is_file() and token.search(p.name) is not None
    )
    if len(found) > 1:
        names = ", ".join(str(p) for p in found[:3])
        raise AudioError(
            f"{len(found)} recordings match {pattern!r} for call {record.call_id} ({names}); "
            "make the pattern narrower"
        )
    return found[0].resolve() if found else None


def probe(record: CallRecord, settings: AudioJoinSettings) -> tuple[Path | None, int, int]:
    """(file, size, mtime_ns) of the call's recording, (None, 0, 0) while it is not there."""
    path = locate_recording(record, settings)
    if path is None:
        return None, 0, 0
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None, 0, 0
    return path, st.st_size, st.st_mtime_ns
