"""VAD speed benchmark: ``python -m collectors.audio.bench [--seconds 3600] [--rate 8000]``.

Times a bare webrtcvad loop over 30 ms frames of noise-plus-speech-like audio against
ringwatch's per-party speech detection (VAD + hysteresis + edge refinement) on the same audio,
for one party and for a stereo call (two parties), and prints frames/s and x real time. The
bare loop calls webrtcvad's C entry point the way ringwatch does (``bare_loop_seconds``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import numpy.typing as npt

from collectors.audio._deps import require
from collectors.audio.vad import VadSettings, detect_speech

__all__ = [
    "BenchResult",
    "bare_loop_seconds",
    "bench",
    "main",
    "test_signal",
    "wrapper_loop_seconds",
]


@dataclass(frozen=True, slots=True)
class BenchResult:
    seconds_audio: float
    frames: int
    bare_seconds: float
    ours_seconds: float

    @property
    def bare_fps(self) -> float:
        return self.frames / self.bare_seconds

    @property
    def ours_realtime(self) -> float:
        return self.seconds_audio / self.ours_seconds

    @property
    def relative(self) -> float:
        return self.bare_seconds / self.ours_seconds


def test_signal(seconds: float, rate: int, seed: int = 0) -> npt.NDArray[np.int16]:
    """Alternating 2 s bursts of modulated noise (speech-like) and 3 s of quiet noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    x = rng.standard_normal(n) * 60.0
    t = np.arange(n) / rate
    on = (t % 5.0) < 2.0
    x += on * rng.standard_normal(n) * 3000.0 * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
    return np.clip(x, -32768, 32767).astype(np.int16)


def _frame_loop_seconds(
    pcm: npt.NDArray[np.int16], rate: int, frame_ms: int, wrapper: bool
) -> float:
    webrtcvad = require("webrtcvad")
    vad = webrtcvad.Vad(3)
    samples = rate * frame_ms // 1000
    n = len(pcm) // samples
    process = getattr(sys.modules.get("_webrtcvad"), "process", None)
    handle = getattr(vad, "_vad", None)
    if wrapper or process is None or handle is None:
        buf = pcm.tobytes()
        step = samples * 2
        is_speech = vad.is_speech
        t0 = time.perf_counter()
        for o in range(0, n * step, step):
            is_speech(buf[o : o + step], rate)
        return time.perf_counter() - t0
    frames = np.ascontiguousarray(pcm[: n * samples], dtype="<i2").reshape(n, samples)
    t0 = time.perf_counter()
    list(map(process, repeat(handle, n), repeat(rate, n), frames, repeat(samples, n)))
    return time.perf_counter() - t0


def bare_loop_seconds(pcm: npt.NDArray[np.int16], rate: int, frame_ms: int = 30) -> float:
    """The floor: webrtcvad on every frame and nothing else. It calls the C entry point that
    ``Vad.is_speech`` wraps, on row views of the frames fed by ``map`` (no bytecode, slice or
    copy per frame): the cheapest loop found, and the one ringwatch's VAD runs, so that only
    the work after the VAD counts against ringwatch."""
    return _frame_loop_seconds(pcm, rate, frame_ms, wrapper=False)


def wrapper_loop_seconds(pcm: npt.NDArray[np.int16], rate: int, frame_ms: int = 30) -> float:
    """A plain loop over byte slices through the public ``Vad.is_speech`` (the floor of the
    first runs; the Python wrapper costs about a tenth more per frame)."""
    return _frame_loop_seconds(pcm, rate, frame_ms, wrapper=True)


def bench(seconds: float, rate: int, parties: int = 2, repeat: int = 3) -> BenchResult:
    """Best of ``repeat`` for both loops over ``parties`` signals of ``seconds`` each."""
    settings = VadSettings(rate=rate)
    signals = [test_signal(seconds, rate, seed=i) for i in range(parties)]
    bare = min(sum(bare_loop_seconds(s, rate) for s in signals) for _ in range(repeat))
    ours = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for s in signals:
            detect_speech(s, settings)
        ours = min(ours, time.perf_counter() - t0)
    frames = parties * (int(seconds * rate) // settings.frame_samples)
    return BenchResult(seconds * parties, frames, bare, ours)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=3600.0)
    ap.add_argument("--rate", type=int, default=8000, choices=(8000, 16000))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    for parties in (1, 2):
        r = bench(args.seconds, args.rate, parties, args.repeat)
        call_rt = args.seconds / r.ours_seconds
        print(
            f"{parties} x {args.seconds:.0f}s @ {args.rate} Hz,"
            f" 30 ms frames: bare webrtcvad {r.bare_fps:,.0f} frames/s ({r.bare_seconds:.3f}s); "
            f"ringwatch {r.ours_seconds:.3f}s = {call_rt:,.0f}x real time per call, "
            f"{100 * r.relative:.1f}% of bare"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
