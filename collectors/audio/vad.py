"""Voice activity per party: WebRTC VAD frames, then hysteresis into speech spans.

The per-frame loop is a bare list comprehension over ``Vad.is_speech`` on byte slices (the
benchmark goal is >= 85 % of a bare webrtcvad loop); everything after it works on runs of
equal frames, of which a call has a few per second, not on frames.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from collectors.audio._deps import require
from monitor.errors import AudioError

__all__ = [
    "VAD_RATES",
    "VadSettings",
    "detect_speech",
    "hysteresis",
    "refine_edges",
    "voiced_frames",
]

VAD_RATES = (8000, 16000)
Pcm = npt.NDArray[np.int16]
Flags = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class VadSettings:
    """WebRTC VAD and hysteresis parameters.

    ``aggressiveness`` 0..3 (3 rejects the most non-speech). Speech starts after
    ``start_frames`` voiced frames in a row and ends after ``end_frames`` unvoiced frames in a
    row, so a breath or a short pause inside a sentence is not a turn change; each edge is put
    on the first frame of the run that decided it. ``rate`` is the rate the VAD runs at
    (audio at another rate is resampled); telephone audio is narrowband, so 8 kHz loses
    nothing and is the fastest.
    """

    frame_ms: int = 30
    aggressiveness: int = 3
    start_frames: int = 3
    end_frames: int = 10
    rate: int = 8000

    def __post_init__(self) -> None:
        if self.frame_ms not in (10, 20, 30):
            raise AudioError(f"VAD frame_ms must be 10, 20 or 30, got {self.frame_ms}")
        if not 0 <= self.aggressiveness <= 3:
            raise AudioError(f"VAD aggressiveness must be 0..3, got {self.aggressiveness}")
        if self.start_frames < 1 or self.end_frames < 1:
            raise AudioError(
                f"start_frames and end_frames must be >= 1, got {self.start_frames}, "
                f"{self.end_frames}"
            )
        if self.rate not in VAD_RATES:
            raise AudioError(f"VAD rate must be one of {VAD_RATES}, got {self.rate}")

    @property
    def frame_seconds(self) -> float:
        return self.frame_ms / 1000.0

    @property
    def frame_samples(self) -> int:
        return self.rate * self.frame_ms // 1000


def voiced_frames(pcm: Pcm, settings: VadSettings) -> Flags:
    """One webrtcvad decision per whole frame of ``pcm`` (already at ``settings.rate``)."""
    webrtcvad = require("webrtcvad")
    vad = webrtcvad.Vad(settings.aggressiveness)
    rate = settings.rate
    samples = settings.frame_samples
    step = samples * 2
    # a byte view, not a copy: slicing a memoryview costs what slicing bytes does
    buf = np.ascontiguousarray(pcm, dtype="<i2").data.cast("B")
    offsets = range(0, len(buf) - step + 1, step)
    process = getattr(sys.modules.get("_webrtcvad"), "process", None)
    handle = getattr(vad, "_vad", None)
    if process is not None and handle is not None:
        # Vad.is_speech is a Python wrapper that only checks the length (whole frames here)
        # and calls this C function: calling it directly saves a quarter of the VAD time.
        flags = [process(handle, rate, buf[o : o + step], samples) for o in offsets]
    else:
        is_speech = vad.is_speech
        flags = [is_speech(buf[o : o + step], rate) for o in offsets]
    return np.array(flags, dtype=np.bool_)


def hysteresis(flags: Flags, start_frames: int, end_frames: int) -> list[tuple[int, int]]:
    """Speech segments as (first frame, end frame exclusive) from per-frame decisions."""
    n = len(flags)
    if n == 0:
        return []
    f = flags.astype(np.int8)
    edges = np.flatnonzero(np.diff(f)) + 1
    starts = np.concatenate(([0], edges)).tolist()
    ends = np.concatenate((edges, [n])).tolist()
    voiced = bool(f[0])
    segments: list[tuple[int, int]] = []
    seg_start = -1
    for run_start, run_end in zip(starts, ends, strict=True):
        length = run_end - run_start
        if voiced:
            if seg_start < 0 and length >= start_frames:
                seg_start = run_start
        elif seg_start >= 0 and length >= end_frames:
            segments.append((seg_start, run_start))
            seg_start = -1
        voiced = not voiced
    if seg_start >= 0:
        # still speaking at the end: close at the last voiced frame, not after a short pause
        last_voiced = int(np.flatnonzero(f)[-1]) + 1
        segments.append((seg_start, last_voiced))
    return segments


_EDGE_SECONDS = 0.3  # how far inside a segment an edge may move
_EDGE_SHARE = 0.05  # 10 ms blocks quieter than 5 % of the edge's loudest (-26 dB) are trimmed


def refine_edges(
    pcm: Pcm, rate: int, segments: list[tuple[int, int]], frame_samples: int
) -> list[tuple[float, float]]:
    """Segments (frame indices) -> seconds, edges moved onto the speech at 10 ms resolution.

    WebRTC VAD keeps voicing for a few frames after speech stops (its own hangover), so an
    end edge lands ~0.1 s late; here the quiet 10 ms blocks at each edge, within 0.3 s, are
    trimmed. Only the edges are looked at, so this costs nothing per frame.
    """
    hop = rate // 100
    reach = int(_EDGE_SECONDS * rate) // hop
    out: list[tuple[float, float]] = []
    for a, b in segments:
        start, end = a * frame_samples, b * frame_samples
        nb = (end - start) // hop
        if nb <= 2:
            out.append((start / rate, end / rate))
            continue
        k = min(reach, nb)
        head = pcm[start : start + k * hop].astype(np.float64).reshape(k, hop)
        tail = pcm[end - k * hop : end].astype(np.float64).reshape(k, hop)
        head_rms = np.sqrt((head * head).mean(axis=1))
        tail_rms = np.sqrt((tail * tail).mean(axis=1))
        lead = np.flatnonzero(head_rms >= _EDGE_SHARE * head_rms.max())
        trail = np.flatnonzero(tail_rms >= _EDGE_SHARE * tail_rms.max())
        new_start = start + int(lead[0]) * hop if len(lead) else start
        new_end = end - (k - 1 - int(trail[-1])) * hop if len(trail) else end
        if new_end <= new_start:
            new_start, new_end = start, end
        out.append((new_start / rate, new_end / rate))
    return out


def detect_speech(pcm: Pcm, settings: VadSettings) -> list[tuple[float, float]]:
    """Speech spans in seconds (start, end) of a party's signal at ``settings.rate``."""
    flags = voiced_frames(pcm, settings)
    segments = hysteresis(flags, settings.start_frames, settings.end_frames)
    return refine_edges(pcm, settings.rate, segments, settings.frame_samples)
