"""Audio sources: WAV recordings (mono, stereo, or one file per leg) and a live sound device.

Channel to party mapping (``parties``) follows Asterisk MixMonitor. With the ``D`` option,
MixMonitor interleaves the *read* direction (audio coming from the recorded channel: that
party's own voice) into the left channel and the *write* direction (audio sent to the channel:
what the other side says, plus ringback and music on hold it hears) into the right. Queue and
most dialplans record the caller's channel, so the default is ``("caller", "agent")``: left =
caller, right = agent. ``r(file)`` / ``t(file)`` write the same two directions to two files,
so the default file order is the ``r()`` file (caller) then the ``t()`` file (agent). If you
record the agent's channel instead, pass ``("agent", "caller")``.

A mono file is a mix of both parties and becomes the single party ``"mixed"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from collectors.audio._deps import require
from collectors.audio.wavfile import RawFormat, read_audio
from monitor.errors import AudioError

__all__ = [
    "DEFAULT_PARTIES",
    "MIXED",
    "DeviceSpec",
    "Recording",
    "iter_device_blocks",
    "load_recording",
    "record_device",
    "resample",
]

DEFAULT_PARTIES: tuple[str, str] = ("caller", "agent")
MIXED = "mixed"

Pcm = npt.NDArray[np.int16]


@dataclass(frozen=True)
class Recording:
    """One call's audio: a mono int16 signal per party, all the same length and rate."""

    rate: int
    parties: Mapping[str, Pcm]
    sources: tuple[str, ...] = ()

    @property
    def frames(self) -> int:
        return next((len(x) for x in self.parties.values()), 0)

    @property
    def duration_seconds(self) -> float:
        return self.frames / self.rate if self.rate else 0.0


def resample(samples: Pcm, rate_in: int, rate_out: int) -> Pcm:
    """Resample int16 audio with soxr (high quality); a no-op when the rates match."""
    if rate_in == rate_out:
        return samples
    soxr = require("soxr")
    out = soxr.resample(np.ascontiguousarray(samples), rate_in, rate_out, quality="HQ")
    return np.asarray(out, dtype=np.int16)


def _check_parties(parties: Sequence[str], n: int) -> tuple[str, ...]:
    names = tuple(parties)
    if len(names) != n or len(set(names)) != n or not all(names):
        raise AudioError(f"need {n} distinct party names for {n} channels, got {names!r}")
    return names


def load_recording(
    paths: Sequence[str | Path],
    parties: Sequence[str] = DEFAULT_PARTIES,
    raw: RawFormat | None = None,
) -> Recording:
    """Load one WAV (mono or stereo) or two mono WAVs (one per leg) into a Recording; with
    ``raw``, the files are headerless raw audio in that format.

    Legs of different lengths are padded with silence to the longer one (MixMonitor stops
    each file on its own); legs of different rates are an error.
    """
    if not 1 <= len(paths) <= 2:
        raise AudioError(f"give one stereo/mono WAV or two leg WAVs, got {len(paths)} files")
    loaded = [read_audio(p, raw) for p in paths]
    if len(loaded) == 1:
        info, samples = loaded[0]
        if info.channels == 1:
            return Recording(info.rate, {MIXED: samples[:, 0].copy()}, (info.path,))
        names = _check_parties(parties, 2)
        chans = {names[i]: np.ascontiguousarray(samples[:, i]) for i in range(2)}
        return Recording(info.rate, chans, (info.path,))
    (a_info, a), (b_info, b) = loaded
    for info in (a_info, b_info):
        if info.channels != 1:
            raise AudioError(
                f"{info.path}: a leg file (MixMonitor r()/t()) must be mono, "
                f"this one has {info.channels} channels"
            )
    if a_info.rate != b_info.rate:
        raise AudioError(
            f"{b_info.path}: sample rate {b_info.rate} Hz differs from {a_info.path} "
            f"({a_info.rate} Hz); both legs of a call must have the same rate"
        )
    names = _check_parties(parties, 2)
    n = max(len(a), len(b))
    legs: dict[str, Pcm] = {}
    for name, arr in zip(names, (a[:, 0], b[:, 0]), strict=True):
        padded = np.zeros(n, dtype=np.int16)
        padded[: len(arr)] = arr
        legs[name] = padded
    return Recording(a_info.rate, legs, (a_info.path, b_info.path))


# ---- live capture through PyAudio (PortAudio) -------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """A PortAudio input: device by name (substring, case-insensitive) or index."""

    device: str | int | None = None
    rate: int = 16000
    channels: int = 1
    frames_per_buffer: int = 320


def _find_device(pa: Any, device: str | int | None) -> int | None:
    if device is None or isinstance(device, int):
        return device
    names = []
    for i in range(pa.get_device_count()):
        info = pa.get_device_info_by_index(i)
        names.append(str(info["name"]))
        if int(info["maxInputChannels"]) > 0 and device.lower() in str(info["name"]).lower():
            return i
    raise AudioError(f"no input device matches {device!r}; devices: {', '.join(names) or 'none'}")


def iter_device_blocks(
    spec: DeviceSpec,
    *,
    max_seconds: float,
    stop: Callable[[], bool] | None = None,
    pyaudio_factory: Callable[[], Any] | None = None,
) -> Iterator[Pcm]:
    """Yield int16 blocks of shape (frames_per_buffer, channels) from a sound device.

    Stops after ``max_seconds`` of audio (counted in samples, not wall-clock) or when ``stop()``
    turns true. ``pyaudio_factory`` is the seam for tests; by default ``pyaudio.PyAudio``.
    """
    pyaudio = require("pyaudio")
    pa = (pyaudio_factory or pyaudio.PyAudio)()
    stream = None
    try:
        index = _find_device(pa, spec.device)
        try:
            stream = pa.open(
                format=pyaudio.paInt16,
                channels=spec.channels,
                rate=spec.rate,
                input=True,
                input_device_index=index,
                frames_per_buffer=spec.frames_per_buffer,
            )
        except (OSError, ValueError) as exc:
            raise AudioError(
                f"cannot open input device {spec.device!r} at {spec.rate} Hz: {exc}"
            ) from exc
        wanted = int(max_seconds * spec.rate)
        got = 0
        while got < wanted and not (stop is not None and stop()):
            raw = stream.read(spec.frames_per_buffer, exception_on_overflow=False)
            block = np.frombuffer(raw, dtype="<i2").astype(np.int16).reshape(-1, spec.channels)
            got += len(block)
            yield block
    finally:
        if stream is not None:
            stream.stop_stream()
            stream.close()
        pa.terminate()


def record_device(
    spec: DeviceSpec,
    seconds: float,
    parties: Sequence[str] = DEFAULT_PARTIES,
    *,
    pyaudio_factory: Callable[[], Any] | None = None,
) -> Recording:
    """Capture ``seconds`` from a device into a Recording (stereo: one party per channel)."""
    blocks = list(iter_device_blocks(spec, max_seconds=seconds, pyaudio_factory=pyaudio_factory))
    data = np.concatenate(blocks) if blocks else np.zeros((0, spec.channels), dtype=np.int16)
    source = f"device:{spec.device}"
    if spec.channels == 1:
        return Recording(spec.rate, {MIXED: np.ascontiguousarray(data[:, 0])}, (source,))
    names = _check_parties(parties, spec.channels)
    return Recording(
        spec.rate, {n: np.ascontiguousarray(data[:, i]) for i, n in enumerate(names)}, (source,)
    )
