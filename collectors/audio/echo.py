"""Echo of one leg on the other: frames that are the far party's voice come back, not speech.

A line echo (hybrid or acoustic) puts the agent's voice on the caller leg some 20 dB down and
tens of milliseconds late. The VAD hears it as the caller speaking over the agent on every
agent turn: phantom overtalk. Here the echo path from a source leg to a destination leg is
estimated once per call by cross-correlation of the samples:

* over the (up to 60) half-second windows where the source is loudest (most 10 ms blocks
  10 dB over its floor), the normalised cross-correlation of the source with the destination
  at every delay of 0 to ``max_delay`` seconds (FFT per window, summed). Line noise and the
  destination's own speech do not correlate with the source, so an echo stands out even
  below the noise; its delay is the peak's, when the peak is at least ``MIN_CORRELATION``;
* the echo gain is the least-squares one at that delay; an echo must be at least
  ``min_loss_db`` down, a louder copy (a mixed recording) is not treated as echo.

A destination frame is then echo when its energy is no more than ``margin_db`` above the
source's energy at that delay (the loudest of three neighbouring blocks, for smearing) times
the loss, plus the destination's own noise floor: its own speech over the echo is louder and
stays speech (real overtalk is kept).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from collectors.audio.levels import LegLevels, db, per_block

__all__ = ["MIN_CORRELATION", "EchoPath", "echo_frames", "estimate_echo"]

F64 = npt.NDArray[np.float64]
Pcm = npt.NDArray[np.int16]
MIN_CORRELATION = 0.08  # no echo: at most 0.06 on the test calls; -20 dB echo under noise: 0.18
_LOUD_DB = 10.0  # source blocks this far over its floor are used to estimate the path
_MIN_BLOCKS = 50  # half a second of loud source: fewer and no echo is estimated
_WINDOW_SECONDS = 0.5  # cross-correlation windows...
_MAX_WINDOWS = 60  # ... at most 30 s of the loudest source: bounded cost for long calls


@dataclass(frozen=True, slots=True)
class EchoPath:
    """``delay_blocks`` (10 ms; ``delay_samples`` exactly) and ``loss_db`` (positive: quieter)
    from source to destination; ``correlation``: the normalised cross-correlation there."""

    delay_samples: int
    delay_blocks: int
    loss_db: float
    correlation: float


def _windows(src: LegLevels, per_window: int, n_windows: int, last: int) -> list[int]:
    """Start blocks of up to ``n_windows`` windows of ``per_window`` blocks where the source is
    loudest over its floor (most loud blocks first), none reaching past block ``last``."""
    nb = min(len(src.blocks), last)
    count = nb // per_window
    if count == 0:
        return []
    per = max(1, len(src.blocks) // max(1, len(src.floor)))
    floor = per_block(src.floor, per, len(src.blocks))[: count * per_window]
    loud = src.blocks[: count * per_window] > floor * db(_LOUD_DB)
    score = loud.reshape(count, per_window).sum(axis=1)
    order = np.argsort(-score, kind="stable")[:n_windows]
    return [int(w) * per_window for w in order if score[w] >= per_window // 4]


def estimate_echo(
    src_pcm: Pcm,
    dst_pcm: Pcm,
    src: LegLevels,
    dst: LegLevels,
    rate: int,
    max_delay: float,
    min_loss_db: float,
) -> EchoPath | None:
    """The echo path of the source leg on the destination leg, or None when there is none."""
    hop = rate // 100
    max_lag = round(max_delay * rate)
    per_window = round(_WINDOW_SECONDS * 100)
    width = per_window * hop
    last = (min(len(src_pcm), len(dst_pcm)) - max_lag) // hop
    starts = _windows(src, per_window, _MAX_WINDOWS, last)
    if len(starts) * per_window < _MIN_BLOCKS:
        return None
    size = 1 << (width + max_lag - 1).bit_length()
    num = np.zeros(max_lag + 1)
    src_energy = 0.0
    dst_energy = 0.0
    for block in starts:
        a = src_pcm[block * hop : block * hop + width].astype(np.float64)
        b = dst_pcm[block * hop : block * hop + width + max_lag].astype(np.float64)
        spec = np.conj(np.fft.rfft(a, size)) * np.fft.rfft(b, size)
        num += np.fft.irfft(spec, size)[: max_lag + 1]  # sum a[n] * b[n + lag]
        src_energy += float(a @ a)
        dst_energy += float(b[:width] @ b[:width])
    if src_energy <= 0 or dst_energy <= 0:
        return None
    ncc = num / np.sqrt(src_energy * dst_energy)
    lag = int(np.argmax(ncc))
    gain = num[lag] / src_energy
    if ncc[lag] < MIN_CORRELATION or gain <= 0:
        return None
    loss = -20.0 * float(np.log10(gain))
    if loss < min_loss_db:
        return None
    return EchoPath(lag, round(lag / hop), loss, float(ncc[lag]))


def echo_frames(
    src: LegLevels, dst: LegLevels, path: EchoPath, margin_db: float
) -> npt.NDArray[np.bool_]:
    """Destination frames explained by the source's echo along ``path``."""
    nf = len(dst.frames)
    nb = len(dst.blocks)
    per = nb // nf if nf else 1
    d = path.delay_blocks
    pad = np.concatenate([np.zeros(d + 1), src.blocks, np.zeros(max(0, nb - len(src.blocks)) + 1)])
    # source block b - d (and its neighbours) lands on destination block b
    ahead = pad[:nb]
    at = pad[1 : nb + 1]
    behind = pad[2 : nb + 2]
    predicted = np.maximum(np.maximum(ahead, at), behind) * db(-path.loss_db)
    per_frame = predicted[: nf * per].reshape(nf, per).mean(axis=1)
    explained: npt.NDArray[np.bool_] = dst.frames <= per_frame * db(margin_db) + dst.floor
    return explained
