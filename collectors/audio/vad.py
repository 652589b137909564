"""Voice activity per party: WebRTC VAD frames behind an energy gate on the leg's noise floor
(:mod:`collectors.audio.levels`), then hysteresis into speech spans.

The per-frame loop is ``map`` of webrtcvad's C ``process`` over row views of the frames, nothing
else per frame (the benchmark goal is >= 85 % of a bare webrtcvad loop); everything after it
works on runs of equal frames, of which a call has a few per second, or on whole-leg arrays.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import numpy.typing as npt

from collectors.audio._deps import require
from collectors.audio.levels import LegLevels, extend_edges, leg_levels
from monitor.errors import AudioError

__all__ = [
    "VAD_RATES",
    "VadSettings",
    "detect_speech",
    "hysteresis",
    "leg_activity",
    "refine_edges",
    "speech_spans",
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
    nothing and is the fastest. ``noise_gate_db``: a voiced frame must also be this far above
    the leg's noise floor, the lowest (smoothed) frame energy within ``noise_window_seconds``
    either side (0 turns the gate off).
    """

    frame_ms: int = 30
    aggressiveness: int = 3
    start_frames: int = 3
    end_frames: int = 10
    rate: int = 8000
    noise_gate_db: float = 6.0
    noise_window_seconds: float = 5.0

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
        if self.noise_gate_db < 0 or self.noise_window_seconds <= 0:
            raise AudioError(
                f"noise_gate_db must be >= 0 and noise_window_seconds > 0, got "
                f"{self.noise_gate_db}, {self.noise_window_seconds}"
            )

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
    n = len(pcm) // samples
    pcm = np.ascontiguousarray(pcm, dtype="<i2")  # no copy for the usual int16 array
    process = getattr(sys.modules.get("_webrtcvad"), "process", None)
    handle = getattr(vad, "_vad", None)
    flags: list[bool]
    if process is not None and handle is not None:
        # Vad.is_speech is a Python wrapper that only checks the length (whole frames here)
        # and calls this C function. The frames are the rows of a (frames, samples) view,
        # fed by map: no Python bytecode and no copy per frame, only webrtcvad's own work.
        frames = pcm[: n * samples].reshape(n, samples)
        flags = list(map(process, repeat(handle, n), repeat(rate, n), frames, repeat(samples, n)))
    else:
        step = samples * 2
        buf = pcm.data.cast("B")  # is_speech takes the frame length from len(): bytes
        is_speech = vad.is_speech
        flags = [is_speech(buf[o : o + step], rate) for o in range(0, n * step, step)]
    # the decisions are Python bools (0/1): bytes of them are the bool array, 3x faster
    return np.frombuffer(bytearray(flags), dtype=np.bool_)


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


def _block_rms(grid: npt.NDArray[np.int16], index: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
    """RMS of the 10 ms blocks ``grid[index]`` (any shape of block indices)."""
    blocks = grid[index].astype(np.float64)
    # sums of squared int16 samples are integers below 2**53: exact, so equal to a mean's sum
    energy = (blocks[..., None, :] @ blocks[..., :, None])[..., 0, 0]
    rms: npt.NDArray[np.float64] = np.sqrt(energy / grid.shape[1])
    return rms


def refine_edges(
    pcm: Pcm, rate: int, segments: list[tuple[int, int]], frame_samples: int
) -> list[tuple[float, float]]:
    """Segments (frame indices) -> seconds, edges moved onto the speech at 10 ms resolution.

    WebRTC VAD keeps voicing for a few frames after speech stops (its own hangover), so an
    end edge lands ~0.1 s late; here the quiet 10 ms blocks at each edge, within 0.3 s, are
    trimmed. Only the blocks at the edges are read, all segments of a leg at once: a frame is
    a whole number of 10 ms blocks, so every edge falls on the leg's 10 ms grid.
    """
    hop = rate // 100
    reach = int(_EDGE_SECONDS * rate) // hop
    if frame_samples % hop:
        raise AudioError(
            f"a frame of {frame_samples} samples is not whole 10 ms blocks at {rate} Hz"
        )
    if not segments:
        return []
    seg = np.array(segments, dtype=np.intp) * (frame_samples // hop)  # in 10 ms blocks
    first, stop = seg[:, 0], seg[:, 1]
    nb = stop - first
    k = np.minimum(reach, nb)
    grid = pcm[: len(pcm) // hop * hop].reshape(-1, hop)
    j = np.arange(reach)
    # head: blocks first .. first+k-1 at columns 0..k-1; tail: stop-k .. stop-1 right-aligned
    head_ok = j < k[:, None]
    tail_ok = j >= reach - k[:, None]
    head_rms = np.where(
        head_ok, _block_rms(grid, np.minimum(first[:, None] + j, stop[:, None] - 1)), -1.0
    )
    tail_rms = np.where(
        tail_ok, _block_rms(grid, np.maximum(stop[:, None] - reach + j, first[:, None])), -1.0
    )
    lead = np.argmax(head_rms >= _EDGE_SHARE * head_rms.max(axis=1, keepdims=True), axis=1)
    loud_tail = tail_rms >= _EDGE_SHARE * tail_rms.max(axis=1, keepdims=True)
    trail = reach - 1 - np.argmax(loud_tail[:, ::-1], axis=1)
    new_first = first + lead
    new_stop = stop - reach + trail + 1
    keep = (nb <= 2) | (new_stop <= new_first)
    new_first = np.where(keep, first, new_first) * hop
    new_stop = np.where(keep, stop, new_stop) * hop
    return [
        (a / rate, b / rate) for a, b in zip(new_first.tolist(), new_stop.tolist(), strict=True)
    ]


def leg_activity(pcm: Pcm, settings: VadSettings) -> tuple[Flags, LegLevels]:
    """Per-frame speech decisions of a leg (WebRTC VAD and the noise-floor gate) and its
    levels (for echo suppression across legs)."""
    flags = voiced_frames(pcm, settings)
    levels = leg_levels(
        pcm,
        settings.rate,
        settings.frame_samples,
        len(flags),
        settings.noise_gate_db,
        settings.noise_window_seconds,
    )
    if settings.noise_gate_db > 0:
        flags &= levels.above_gate()
    return flags, levels


def speech_spans(
    pcm: Pcm,
    flags: Flags,
    settings: VadSettings,
    levels: LegLevels | None = None,
    stop: Flags | None = None,
) -> list[tuple[float, float]]:
    """Per-frame decisions -> speech spans in seconds (hysteresis, then edge refinement; on
    a noisy leg, edges grown into the quiet starts and ends of words: ``levels``, but not
    into ``stop`` frames)."""
    segments = hysteresis(flags, settings.start_frames, settings.end_frames)
    spans = refine_edges(pcm, settings.rate, segments, settings.frame_samples)
    if levels is None or settings.noise_gate_db <= 0:
        return spans
    bridge = settings.end_frames * settings.frame_seconds
    return extend_edges(spans, levels, settings.frame_samples, settings.rate, bridge, stop)


def detect_speech(pcm: Pcm, settings: VadSettings) -> list[tuple[float, float]]:
    """Speech spans in seconds (start, end) of a party's signal at ``settings.rate``."""
    flags, levels = leg_activity(pcm, settings)
    return speech_spans(pcm, flags, settings, levels)
