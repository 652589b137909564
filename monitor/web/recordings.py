"""Recordings: resolve a requested path inside the recordings directory, or refuse."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

__all__ = ["MEDIA_TYPES", "recording_path", "resolve_recording"]

MEDIA_TYPES: dict[str, str] = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
}


def resolve_recording(root: Path | None, requested: str) -> Path | None:
    """The file for ``requested`` (relative to ``root``) or None when it is not a recording
    inside ``root``: absolute paths, ``..`` parts, NULs, symlinks leading out, other types."""
    if root is None or not requested or "\x00" in requested or "\\" in requested:
        return None
    rel = PurePosixPath(requested)
    if rel.is_absolute() or any(part in ("..", "") for part in rel.parts):
        return None
    if rel.suffix.lower() not in MEDIA_TYPES:
        return None
    base = root.resolve()
    full = (base / rel).resolve()
    if not full.is_relative_to(base) or not full.is_file():
        return None
    return full


def recording_path(recording: str | None, pbx_dir: str | None) -> str | None:
    """The path to request for a call's recording, relative to the recordings directory.

    The simulator stores relative paths; a real Asterisk sends ``MIXMONITOR_FILENAME`` as an
    absolute path under its monitor spool (``pbx_dir``, mounted as the recordings directory),
    which is made relative here. Anything else is not servable: None.
    """
    if not recording:
        return None
    path = PurePosixPath(recording)
    if ".." in path.parts:
        return None
    if not path.is_absolute():
        return recording
    if pbx_dir:
        base = PurePosixPath(pbx_dir)
        if path.is_relative_to(base):
            return str(path.relative_to(base))
    return None
