"""The VAD's fast frame loop (webrtcvad's C entry point fed by ``map``) decides exactly what a
bare ``Vad.is_speech`` loop decides, frame by frame. Speed itself is measured in bench/
(``make bench``, "Audio"), never asserted here: a timed unit test fails on a busy machine."""

from __future__ import annotations

import numpy as np
import webrtcvad

from collectors.audio.bench import BenchResult, bench
from collectors.audio.bench import test_signal as speech_like_signal
from collectors.audio.vad import VadSettings, voiced_frames


def _bare_decisions(pcm: np.ndarray, settings: VadSettings) -> list[bool]:
    vad = webrtcvad.Vad(settings.aggressiveness)
    step = settings.frame_samples
    data = pcm.astype("<i2").tobytes()
    return [
        vad.is_speech(data[o * 2 : (o + step) * 2], settings.rate)
        for o in range(0, len(pcm) // step * step, step)
    ]


def test_fast_loop_decides_exactly_what_is_speech_decides() -> None:
    for frame_ms in (10, 20, 30):
        settings = VadSettings(frame_ms=frame_ms)
        pcm = speech_like_signal(120.0, settings.rate, seed=frame_ms)
        fast = voiced_frames(pcm, settings)
        bare = _bare_decisions(pcm, settings)
        assert (
            fast.dtype == np.bool_ and len(fast) == len(bare) == len(pcm) // settings.frame_samples
        )
        assert fast.tolist() == bare
        assert 0 < int(fast.sum()) < len(fast)  # the signal has both speech and silence


def test_bench_counts_every_frame_of_both_parties() -> None:
    result = bench(seconds=30.0, rate=8000, parties=2, repeat=1)
    assert isinstance(result, BenchResult)
    assert result.frames == 2 * (30 * 8000 // 240)
    assert result.seconds_audio == 60.0
    assert result.bare_seconds > 0 and result.ours_seconds > 0
