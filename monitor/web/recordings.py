"""Recordings: resolve a requested path inside the recordings directory, or refuse."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

__all__ = ["MEDIA_TYPES", "resolve_recording"]

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
