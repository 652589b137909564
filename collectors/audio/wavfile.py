"""Strict WAV reading: 16-bit PCM, mono or stereo, with errors that name the file.

The stdlib ``wave`` module's errors ("unknown format: 3") do not tell an operator what to do,
so the RIFF chunks are walked here and each problem gets its own message.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from monitor.errors import AudioError

__all__ = ["MAX_RATE", "MIN_RATE", "WavInfo", "read_wav", "write_wav"]

MIN_RATE = 8000
MAX_RATE = 96000
_PCM = 1
_FLOAT = 3
_EXTENSIBLE = 0xFFFE
_FIX = "convert it with: sox IN.wav -b 16 -e signed-integer OUT.wav"


@dataclass(frozen=True, slots=True)
class WavInfo:
    """The format of a WAV file that passed the checks."""

    path: str
    rate: int
    channels: int
    frames: int

    @property
    def duration_seconds(self) -> float:
        return self.frames / self.rate


def _fail(path: Path, what: str) -> AudioError:
    return AudioError(f"{path}: {what}")


def _sniff(head: bytes) -> str:
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "it looks like an MP3 file, not a WAV file; " + _FIX
    if head.startswith(b"OggS"):
        return "it looks like an Ogg file, not a WAV file; " + _FIX
    if head.startswith(b"fLaC"):
        return "it looks like a FLAC file, not a WAV file; " + _FIX
    if head.startswith((b"RIFX", b"RF64")):
        return f"{head[:4].decode()} WAV variants are not supported; " + _FIX
    return "not a WAV file (no RIFF/WAVE header); " + _FIX


def read_wav(path: str | Path) -> tuple[WavInfo, npt.NDArray[np.int16]]:
    """Read a 16-bit PCM WAV file; samples come back as int16 of shape (frames, channels)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise _fail(p, f"cannot read the recording ({exc.strerror or exc})") from exc
    if not data:
        raise _fail(p, "the file is empty (0 bytes); the recording was not written")
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise _fail(p, _sniff(data[:16]))
    fmt: tuple[int, int, int, int, int] | None = None
    ext_tag: int | None = None
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if cid == b"fmt ":
            if size < 16 or body + 16 > len(data):
                raise _fail(p, "the 'fmt ' chunk is cut short; the file is corrupt")
            tag, ch, rate, _brate, align, bits = struct.unpack_from("<HHIIHH", data, body)
            if tag == _EXTENSIBLE and size >= 40 and body + 26 <= len(data):
                ext_tag = struct.unpack_from("<H", data, body + 24)[0]
            fmt = (tag, ch, rate, align, bits)
        elif cid == b"data":
            if fmt is None:
                raise _fail(
                    p, "the 'data' chunk comes before any 'fmt ' chunk; the file is corrupt"
                )
            return _decode(p, fmt, ext_tag, data, body, size)
        pos = body + size + (size & 1)
    if fmt is None:
        raise _fail(p, "no 'fmt ' chunk: the file is corrupt or truncated")
    raise _fail(p, "no 'data' chunk: the file is truncated or holds no audio")


def _decode(
    p: Path,
    fmt: tuple[int, int, int, int, int],
    ext_tag: int | None,
    data: bytes,
    body: int,
    size: int,
) -> tuple[WavInfo, npt.NDArray[np.int16]]:
    tag, channels, rate, _align, bits = fmt
    real_tag = ext_tag if tag == _EXTENSIBLE and ext_tag is not None else tag
    if real_tag == _FLOAT:
        raise _fail(p, f"{bits}-bit floating-point samples are not supported; " + _FIX)
    if real_tag != _PCM:
        raise _fail(p, f"WAV encoding 0x{real_tag:04x} is not linear PCM; " + _FIX)
    if bits != 16:
        raise _fail(p, f"{bits}-bit samples are not supported, only 16-bit PCM; " + _FIX)
    if channels not in (1, 2):
        raise _fail(
            p,
            f"{channels} channels are not supported, only mono or stereo (one party per "
            "channel, MixMonitor D option)",
        )
    if not MIN_RATE <= rate <= MAX_RATE:
        raise _fail(p, f"sample rate {rate} Hz is outside {MIN_RATE}..{MAX_RATE} Hz")
    present = len(data) - body
    if size in (0, 0xFFFFFFFF) and present > 0:
        size = present  # header never finalised (writer still running or crashed)
    if present < size:
        raise _fail(
            p,
            f"the file is truncated: its header declares {size} bytes of audio but only "
            f"{present} are present; copy the recording again once it is complete",
        )
    frame_bytes = 2 * channels
    frames = size // frame_bytes
    if frames == 0:
        raise _fail(p, "the recording holds no audio samples")
    samples = np.frombuffer(data, dtype="<i2", count=frames * channels, offset=body)
    samples = samples.astype(np.int16, copy=False).reshape(frames, channels)
    return WavInfo(str(p), rate, channels, frames), samples


def write_wav(path: str | Path, rate: int, samples: npt.NDArray[np.int16]) -> None:
    """Write int16 samples of shape (frames,) or (frames, channels) as a PCM WAV file."""
    arr = np.asarray(samples, dtype=np.int16)
    if arr.ndim == 1:
        arr = arr[:, None]
    channels = arr.shape[1]
    payload = arr.astype("<i2").tobytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(payload),
        b"WAVE",
        b"fmt ",
        16,
        _PCM,
        channels,
        rate,
        rate * 2 * channels,
        2 * channels,
        16,
        b"data",
        len(payload),
    )
    Path(path).write_bytes(header + payload)
