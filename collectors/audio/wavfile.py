"""Strict WAV reading: 16-bit PCM (or 8-bit G.711 mu-law/A-law, decoded), mono or stereo, with
errors that name the file; headerless raw audio when its format is given (:class:`RawFormat`).

The stdlib ``wave`` module's errors ("unknown format: 3") do not tell an operator what to do,
so the RIFF chunks are walked here and each problem gets its own message: codecs by name
("GSM 6.10", not "0x0031"), and a sox command that works for the file at hand.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from monitor.errors import AudioError

__all__ = [
    "CODEC_NAMES",
    "MAX_RATE",
    "MIN_RATE",
    "RAW_ENCODINGS",
    "RawFormat",
    "WavInfo",
    "codec_name",
    "read_audio",
    "read_raw",
    "read_wav",
    "write_wav",
]

MIN_RATE = 8000
MAX_RATE = 96000
_PCM = 1
_FLOAT = 3
_ALAW = 6
_MULAW = 7
_EXTENSIBLE = 0xFFFE
_FIX = "convert it with: sox IN.wav -b 16 -e signed-integer OUT.wav"
#: WAV format tags (RFC 2361, mmreg.h) by the name an operator knows them by.
CODEC_NAMES: dict[int, str] = {
    0x0001: "linear PCM",
    0x0002: "Microsoft ADPCM",
    0x0003: "IEEE floating point",
    0x0006: "G.711 A-law",
    0x0007: "G.711 mu-law",
    0x0011: "IMA ADPCM",
    0x0014: "G.723 ADPCM",
    0x0022: "DSP Group TrueSpeech",
    0x0031: "GSM 6.10",
    0x0040: "G.721 ADPCM",
    0x0045: "G.726 ADPCM",
    0x0050: "MPEG audio",
    0x0055: "MPEG Layer 3 (MP3)",
    0x0064: "G.726 ADPCM",
    0x0065: "G.722 ADPCM",
    0x0161: "Windows Media Audio",
}
#: Encodings of headerless raw audio: name -> bytes per sample.
RAW_ENCODINGS: dict[str, int] = {"s16le": 2, "ulaw": 1, "alaw": 1}


def codec_name(tag: int) -> str:
    """``G.711 mu-law (format tag 0x0007)``; unknown tags by number."""
    name = CODEC_NAMES.get(tag)
    return f"{name} (format tag 0x{tag:04x})" if name else f"unknown codec (format tag 0x{tag:04x})"


def _ulaw_table() -> npt.NDArray[np.int16]:
    """ITU-T G.711 mu-law byte -> 16-bit linear sample."""
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, 0x84 - t, t - 0x84).astype(np.int16)


def _alaw_table() -> npt.NDArray[np.int16]:
    """ITU-T G.711 A-law byte -> 16-bit linear sample."""
    a = np.arange(256, dtype=np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, np.where(seg == 1, t + 0x108, (t + 0x108) << (seg - 1)))
    return np.where(a & 0x80, t, -t).astype(np.int16)


_G711 = {"ulaw": _ulaw_table(), "alaw": _alaw_table()}


@dataclass(frozen=True, slots=True)
class RawFormat:
    """How headerless raw audio was recorded (``--raw-rate``/``--raw-encoding``/
    ``--raw-channels``): Asterisk's ``.sln`` is 8000 Hz s16le mono, ``.ul`` mu-law, ``.al``
    A-law."""

    rate: int = 8000
    encoding: str = "s16le"
    channels: int = 1

    def __post_init__(self) -> None:
        if self.encoding not in RAW_ENCODINGS:
            raise AudioError(
                f"raw encoding {self.encoding!r} is not one of {', '.join(RAW_ENCODINGS)}"
            )
        if not MIN_RATE <= self.rate <= MAX_RATE:
            raise AudioError(f"raw rate {self.rate} Hz is outside {MIN_RATE}..{MAX_RATE} Hz")
        if self.channels not in (1, 2):
            raise AudioError(f"raw audio must be mono or stereo, not {self.channels} channels")


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


#: Asterisk's raw formats by file extension: (sox input options, --raw-* options).
_RAW_BY_SUFFIX: dict[str, tuple[str, str]] = {
    ".sln": ("-t raw -r 8000 -e signed-integer -b 16 -c 1", "--raw-rate 8000 --raw-encoding s16le"),
    ".slin": (
        "-t raw -r 8000 -e signed-integer -b 16 -c 1",
        "--raw-rate 8000 --raw-encoding s16le",
    ),
    ".sln16": (
        "-t raw -r 16000 -e signed-integer -b 16 -c 1",
        "--raw-rate 16000 --raw-encoding s16le",
    ),
    ".ul": ("-t raw -r 8000 -e mu-law -b 8 -c 1", "--raw-rate 8000 --raw-encoding ulaw"),
    ".ulaw": ("-t raw -r 8000 -e mu-law -b 8 -c 1", "--raw-rate 8000 --raw-encoding ulaw"),
    ".mu": ("-t raw -r 8000 -e mu-law -b 8 -c 1", "--raw-rate 8000 --raw-encoding ulaw"),
    ".al": ("-t raw -r 8000 -e a-law -b 8 -c 1", "--raw-rate 8000 --raw-encoding alaw"),
    ".alaw": ("-t raw -r 8000 -e a-law -b 8 -c 1", "--raw-rate 8000 --raw-encoding alaw"),
    ".gsm": ("-t gsm -r 8000 -c 1", ""),
}
_RAW_DEFAULT = _RAW_BY_SUFFIX[".sln"]


def _raw_hint(path: Path) -> str:
    """What to do with a file without a header: a sox command that states the format it
    cannot read from the file (sox refuses raw input without -r/-e/-b/-c), and ringwatch's
    own options for raw input."""
    sox_in, ours = _RAW_BY_SUFFIX.get(path.suffix.lower(), _RAW_DEFAULT)
    cmd = f"sox {sox_in} {path} -e signed-integer -b 16 {path.with_suffix('.wav')}"
    out = (
        "if it is headerless raw audio, say how it was recorded (rate -r, encoding -e, bits "
        f"per sample -b, channels -c; Asterisk .sln is 8000 Hz 16-bit mono), e.g. {cmd}"
    )
    if ours:
        out += f"; or analyse it as it is with {ours} --raw-channels 1"
    return out


def _mpeg_frame(head: bytes) -> bool:
    """An MPEG audio frame header (sync, and no reserved version, layer, bitrate or rate):
    G.711 silence (0xFF bytes) has the sync bits but a bad bitrate index."""
    if len(head) < 3 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate != 0xF and rate != 3


def _sniff(path: Path, head: bytes) -> str:
    if path.suffix.lower() in _RAW_BY_SUFFIX:
        return f"not a WAV file ({path.suffix} is headerless raw audio); " + _raw_hint(path)
    if head.startswith(b"ID3") or _mpeg_frame(head):
        return "it looks like an MP3 file, not a WAV file; " + _FIX
    if head.startswith(b"OggS"):
        return "it looks like an Ogg file, not a WAV file; " + _FIX
    if head.startswith(b"fLaC"):
        return "it looks like a FLAC file, not a WAV file; " + _FIX
    if head.startswith((b"RIFX", b"RF64")):
        return f"{head[:4].decode()} WAV variants are not supported; " + _FIX
    return "not a WAV file (no RIFF/WAVE header); " + _raw_hint(path)


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
        raise _fail(p, _sniff(p, data[:16]))
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
    g711 = {_MULAW: "ulaw", _ALAW: "alaw"}.get(real_tag)
    if g711 is not None and bits != 8:
        raise _fail(p, f"{codec_name(real_tag)} with {bits}-bit samples is malformed; " + _FIX)
    if real_tag != _PCM and g711 is None:
        raise _fail(p, f"WAV encoding {codec_name(real_tag)} is not supported; " + _FIX)
    if bits != 16 and g711 is None:
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
    samples = _samples(
        p, memoryview(data)[body : body + size], "s16le" if g711 is None else g711, channels
    )
    return WavInfo(str(p), rate, channels, len(samples)), samples


def _samples(
    p: Path, data: bytes | memoryview, encoding: str, channels: int
) -> npt.NDArray[np.int16]:
    """int16 samples of shape (frames, channels) from ``data`` in ``encoding``."""
    frames = len(data) // (RAW_ENCODINGS[encoding] * channels)
    if frames == 0:
        raise _fail(p, "the recording holds no audio samples")
    if encoding == "s16le":
        flat = np.frombuffer(data, dtype="<i2", count=frames * channels).astype(np.int16)
    else:
        codes = np.frombuffer(data, dtype=np.uint8, count=frames * channels)
        flat = _G711[encoding][codes]
    return flat.reshape(frames, channels)


def read_raw(path: str | Path, fmt: RawFormat) -> tuple[WavInfo, npt.NDArray[np.int16]]:
    """Read headerless raw audio recorded as ``fmt`` (a WAV file is refused: it has a header)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise _fail(p, f"cannot read the recording ({exc.strerror or exc})") from exc
    if data[:4] == b"RIFF":
        raise _fail(p, "this is a WAV file (it has a RIFF header): drop the --raw-* options")
    if not data:
        raise _fail(p, "the file is empty (0 bytes); the recording was not written")
    samples = _samples(p, data, fmt.encoding, fmt.channels)
    return WavInfo(str(p), fmt.rate, fmt.channels, len(samples)), samples


def read_audio(
    path: str | Path, raw: RawFormat | None = None
) -> tuple[WavInfo, npt.NDArray[np.int16]]:
    """:func:`read_raw` when ``raw`` says how the file was recorded, else :func:`read_wav`."""
    return read_wav(path) if raw is None else read_raw(path, raw)


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
