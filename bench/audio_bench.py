"""Audio: one hour of stereo call audio (agent and caller, speech-like bursts that overlap)
through the full analysis (``collectors.audio.analysis.analyze``: VAD, rings, dead air,
overtalk, talk ratio) against a bare webrtcvad loop over the same 30 ms frames.

The bare loop (the floor, ``relative_to_bare``) calls webrtcvad's C entry point on every frame
of both legs, as the analysis does; the loop through the public ``Vad.is_speech`` wrapper, the
floor of the first runs, is timed too (``relative_to_wrapper_loop``)."""

from __future__ import annotations

import time
from typing import Any

from bench.common import spread
from collectors.audio.analysis import AGENT, CALLER, analyze
from collectors.audio.bench import bare_loop_seconds, test_signal, wrapper_loop_seconds


def run(seconds: float = 3600.0, rate: int = 8000, repeats: int = 5) -> dict[str, Any]:
    parties = {
        AGENT: test_signal(seconds, rate, seed=0),
        CALLER: test_signal(seconds, rate, seed=1),
    }
    bare: list[float] = []
    wrapped: list[float] = []
    ours: list[float] = []
    facts = None
    for _ in range(repeats):
        bare.append(sum(bare_loop_seconds(pcm, rate) for pcm in parties.values()))
        wrapped.append(sum(wrapper_loop_seconds(pcm, rate) for pcm in parties.values()))
        t0 = time.perf_counter()
        facts = analyze(parties, rate)
        ours.append(time.perf_counter() - t0)
    assert facts is not None
    return {
        "audio_seconds": seconds,
        "rate": rate,
        "parties": len(parties),
        "repeats": repeats,
        "frames": len(parties) * int(seconds * 1000 // 30),
        "overtalk_ratio": facts.overtalk_ratio,
        "realtime_x": spread([seconds / t for t in ours]).to_json(),
        "bare_realtime_x": spread([seconds / t for t in bare]).to_json(),
        "relative_to_bare": spread([b / o for b, o in zip(bare, ours, strict=True)]).to_json(),
        "wrapper_realtime_x": spread([seconds / t for t in wrapped]).to_json(),
        "relative_to_wrapper_loop": spread(
            [w / o for w, o in zip(wrapped, ours, strict=True)]
        ).to_json(),
    }
