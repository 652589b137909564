"""Signal levels of a leg: 10 ms block energies, the leg's noise floor, the energy gate.

WebRTC VAD takes steady line noise loud enough (-30 dBFS under -20 dBFS speech) for speech,
frame after frame, so a noisy leg was "speaking" for the whole call. In front of the VAD sits an
energy gate that follows the leg's own noise floor: a frame counts as speech only when the VAD
says so **and** its energy is ``gate_db`` above the floor. The floor is the minimum of the
leg's frame energies (smoothed over five frames) within ``window`` seconds either side — the
pauses between words reach it, speech does not — and never below ``ABS_FLOOR_DBFS`` (digital
silence would otherwise make every whisper loud). On a clean leg the gate sits at -59 dBFS and
changes nothing.

Energies are mean squares of int16 samples (full scale 32768² is 0 dBFS).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "ABS_FLOOR_DBFS",
    "FULL_SCALE",
    "LegLevels",
    "db",
    "extend_edges",
    "leg_levels",
    "low_band_energy",
    "moving_mean",
    "per_block",
    "rolling_min",
]

F64 = npt.NDArray[np.float64]
Pcm = npt.NDArray[np.int16]
FULL_SCALE = 32768.0 * 32768.0
ABS_FLOOR_DBFS = -65.0
_CHUNK = 2048  # blocks per numpy pass: 160k samples, arrays that stay in the CPU cache
_TAPS = 4  # 4-sample moving sum at 8 kHz: zeros at 2 and 4 kHz, -3 dB near 1.1 kHz


def db(ratio_db: float) -> float:
    """dB -> power ratio."""
    return float(10.0 ** (ratio_db / 10.0))


def low_band_energy(pcm: Pcm, hop: int) -> F64:
    """Mean square of each whole ``hop``-sample block of ``pcm`` through a 4-sample moving
    average (zeros at 2 and 4 kHz at 8 kHz: speech's voiced energy is below 1-2 kHz, white
    line noise is spread to 4 kHz), taken at every 4th sample (the average's samples that
    far apart are nearly independent, so the mean is the same for a quarter of the work).
    Chunks that stay in the CPU cache."""
    nb = len(pcm) // hop
    low = np.empty(nb, dtype=np.float64)
    quarter = hop // _TAPS
    scale = 1.0 / (_TAPS * _TAPS * quarter)
    for i in range(0, nb, _CHUNK):
        x = pcm[i * hop : min(nb, i + _CHUNK) * hop].astype(np.float32)
        y = x[0::_TAPS] + x[1::_TAPS]
        y += x[2::_TAPS]
        y += x[3::_TAPS]
        rows = y.reshape(-1, quarter)
        low[i : i + len(rows)] = np.einsum("ij,ij->i", rows, rows, dtype=np.float64) * scale
    return low


def moving_mean(x: F64, k: int) -> F64:
    """Centred mean over ``k`` values; at the ends, over the values there are (a zero-padded
    mean would pull the floor down near the start and end of a recording)."""
    if len(x) == 0:
        return x.copy()
    kernel = np.ones(min(k, len(x)))
    total = np.convolve(x, kernel, mode="same")
    count = np.convolve(np.ones(len(x)), kernel, mode="same")
    out: F64 = total / count
    return out


def rolling_min(x: F64, half: int) -> F64:
    """``min(x[i-half : i+half+1])`` for every i (van Herk / Gil-Werman: O(n))."""
    n = len(x)
    if n == 0 or half <= 0:
        return x.copy()
    w = 2 * half + 1
    tail = half + (-(n + 2 * half)) % w
    pad = np.concatenate([np.full(half, np.inf), x, np.full(tail, np.inf)]).reshape(-1, w)
    pre = np.minimum.accumulate(pad, axis=1).ravel()
    suf = np.minimum.accumulate(pad[:, ::-1], axis=1)[:, ::-1].ravel()
    out: F64 = np.minimum(suf[:n], pre[w - 1 : w - 1 + n])
    return out


@dataclass(frozen=True, slots=True)
class LegLevels:
    """One leg's 10 ms block energies (low band), frame energies, noise floor and gate (per
    frame); ``window_frames``: half the floor's window."""

    blocks: F64
    frames: F64
    floor: F64
    gate: F64
    window_frames: int = 1

    def above_gate(self) -> npt.NDArray[np.bool_]:
        """Frames loud enough over the leg's noise floor to be speech."""
        above: npt.NDArray[np.bool_] = self.frames > self.gate
        return above


def _floor(blocks: F64, per: int, n_frames: int, window_frames: int) -> tuple[F64, F64]:
    """Frame energies and their floor: the rolling minimum of five-frame means."""
    frames = blocks[: n_frames * per].reshape(n_frames, per).mean(axis=1)
    smooth = moving_mean(frames, 5)
    abs_floor = FULL_SCALE * db(ABS_FLOOR_DBFS)
    floor: F64 = np.maximum(rolling_min(smooth, window_frames), abs_floor)
    return frames, floor


def leg_levels(
    pcm: Pcm, rate: int, frame_samples: int, n_frames: int, gate_db: float, window: float
) -> LegLevels:
    """Energies, floor and gate of a leg cut in ``n_frames`` frames of ``frame_samples``."""
    hop = rate // 100
    blocks = low_band_energy(pcm, hop)
    half = max(1, round(window * rate / frame_samples))
    frames, floor = _floor(blocks, frame_samples // hop, n_frames, half)
    return LegLevels(blocks, frames, floor, floor * db(gate_db), half)


def per_block(per_frame: F64, per: int, nb: int) -> F64:
    """A per-frame array repeated onto the ``nb`` 10 ms blocks (``per`` blocks a frame)."""
    out: F64 = np.repeat(per_frame, per)
    return np.concatenate([out, np.full(max(0, nb - len(out)), out[-1])])[:nb]


_EXTEND_SECONDS = 0.5  # how far an edge may grow into quiet speech on a noisy leg
_NOISY_DB = 3.0  # a leg whose floor is this far over ABS_FLOOR_DBFS has line noise
_WEAK_DB = 2.0  # quiet speech: 70 ms energy this far over the floor
_SMOOTH = 7  # blocks (10 ms) the quiet-speech energy is averaged over
_TAIL_BLOCKS = 5  # a word's last 50 ms fade under the noise: ends on a noisy leg move on


def extend_edges(
    spans: list[tuple[float, float]],
    levels: LegLevels,
    frame_samples: int,
    rate: int,
    bridge: float = 0.0,
    stop: npt.NDArray[np.bool_] | None = None,
) -> list[tuple[float, float]]:
    """On a noisy leg, grow each span's edges (10 ms steps, up to 0.5 s, never into the next
    span) while the 70 ms low-band energy stays ``_WEAK_DB`` over the floor: the energy gate
    decides *that* someone speaks at ``gate_db`` over the noise, the quiet starts and ends of
    words are found with this lower threshold (two thresholds, as in a classic energy VAD).
    (A high band for an s or f at the edges was tried: no edge of the test calls moved.)
    An end then moves 50 ms on: the fading end of a word is under the noise (measured on
    composed calls at 10 dB SNR, ends were otherwise 50-140 ms early). Spans then less than
    ``bridge`` seconds apart are one (a pause the hysteresis bridges)."""
    if not spans or len(levels.blocks) < 3 or len(levels.floor) == 0:
        return spans
    per = frame_samples // (rate // 100)
    nb = len(levels.blocks)
    floor = per_block(levels.floor, per, nb)
    noisy = floor > FULL_SCALE * db(ABS_FLOOR_DBFS + _NOISY_DB)
    if not noisy.any():
        return spans
    ok = moving_mean(levels.blocks, _SMOOTH) > floor * db(_WEAK_DB)
    seg = np.rint(np.array(spans) * 100).astype(np.intp)
    ok &= noisy
    if stop is not None and len(stop):
        ok &= ~per_block(stop.astype(np.float64), per, nb).astype(np.bool_)
    starts, ends = seg[:, 0], seg[:, 1]
    prev_end = np.concatenate(([0], ends[:-1]))
    next_start = np.concatenate((starts[1:], [nb]))
    reach = round(_EXTEND_SECONDS * 100)
    j = np.arange(1, reach + 1)
    before = starts[:, None] - j
    good = (before >= prev_end[:, None]) & ok[np.clip(before, 0, nb - 1)]
    grow_a = np.where(good.all(axis=1), reach, np.argmin(good, axis=1))
    after = ends[:, None] + j - 1
    good = (after < next_start[:, None]) & ok[np.clip(after, 0, nb - 1)]
    grow_b = np.where(good.all(axis=1), reach, np.argmin(good, axis=1))
    tail = np.where(noisy[np.clip(ends - 1, 0, nb - 1)], _TAIL_BLOCKS, 0)
    new_b_arr = np.minimum(ends + grow_b + tail, np.minimum(next_start, nb))
    new_a, new_b = (starts - grow_a).tolist(), np.maximum(new_b_arr, ends).tolist()
    out: list[tuple[float, float]] = []
    for a, b in zip(new_a, new_b, strict=True):
        if out and a / 100 - out[-1][1] < bridge:
            out[-1] = (out[-1][0], b / 100)
        else:
            out.append((a / 100, b / 100))
    return out
