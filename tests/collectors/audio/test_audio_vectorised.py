"""The whole-leg (vectorised) forms agree with the plain per-item definitions they replace."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from collectors.audio import spans as sp
from collectors.audio.compose import load_prompt
from collectors.audio.rings import (
    CADENCES,
    _mixed_chunk,
    bin_powers,
    detect_rings,
    goertzel_power,
    tone_bursts,
)
from collectors.audio.vad import VadSettings, refine_edges, voiced_frames
from monitor.errors import AudioError

Pcm = npt.NDArray[np.int16]


def dft_power(block: npt.NDArray[np.float64], freq: float, rate: int) -> float:
    """|sum x[n] e^(-j w n)|^2 by the definition, one block."""
    w = 2.0 * math.pi * freq / rate
    re = sum(x * math.cos(w * n) for n, x in enumerate(block))
    im = sum(x * math.sin(w * n) for n, x in enumerate(block))
    return re * re + im * im


@pytest.mark.parametrize("rows", [0, 1, 49, 50, 51, 123])
def test_bin_powers_are_the_single_bin_dft_for_any_number_of_blocks(rows: int) -> None:
    rng = np.random.default_rng(rows)
    blocks = np.round(rng.standard_normal((rows, 400)) * 3000.0)
    powers = bin_powers(blocks, (440.0, 480.0), 8000)
    assert [p.shape for p in powers] == [(rows,), (rows,)]
    for i in range(rows):
        for f, p in zip((440.0, 480.0), powers, strict=True):
            assert p[i] == pytest.approx(dft_power(blocks[i], f, 8000), rel=1e-9)
    assert np.allclose(goertzel_power(blocks, 480.0, 8000), powers[1], rtol=1e-12, atol=0)


def tone(seconds: float, freqs: tuple[float, ...], amplitude: float, rate: int = 8000) -> Pcm:
    t = np.arange(int(seconds * rate)) / rate
    x = sum(amplitude * np.sin(2 * np.pi * f * t) for f in freqs)
    return np.asarray(np.round(x), dtype=np.int16)


def saturated_mix(legs: list[Pcm]) -> Pcm:
    total = np.sum([x.astype(np.int32) for x in legs], axis=0)
    return np.clip(total, -32768, 32767).astype(np.int16)


def test_legs_are_heard_as_their_saturated_mix() -> None:
    us = CADENCES["us"]
    rng = np.random.default_rng(1)
    ring = np.concatenate([tone(2.0, us.freqs, 6000.0), np.zeros(32000, np.int16)] * 20)
    noise = np.asarray(rng.standard_normal(len(ring)) * 300.0, dtype=np.int16)
    echo = np.asarray(ring * 2.5 + noise, dtype=np.int16)  # the sum clips at the peaks
    for legs in ([ring, noise], [ring, echo], [echo, ring, noise]):
        mixed = saturated_mix(legs)
        bursts = tone_bursts(mixed, 8000, us)
        assert len(bursts) == 20
        assert tone_bursts(legs, 8000, us) == bursts
        assert detect_rings(legs, 8000, us) == detect_rings(mixed, 8000, us)
        assert detect_rings(legs, 8000, us, before=60.0) == detect_rings(mixed, 8000, us, 60.0)
    assert np.abs(ring.astype(np.int32) + echo).max() > 32767
    chunk = _mixed_chunk([ring, echo, noise], 8000, 24000)
    assert np.array_equal(chunk, saturated_mix([ring, echo, noise])[8000:24000])


def test_legs_of_different_length_are_refused_by_the_ring_detector() -> None:
    with pytest.raises(AudioError, match="equal length"):
        tone_bursts([np.zeros(800, np.int16), np.zeros(400, np.int16)], 8000, CADENCES["us"])


def refine_one_by_one(
    pcm: Pcm, rate: int, segments: list[tuple[int, int]], frame_samples: int
) -> list[tuple[float, float]]:
    """Edge refinement segment by segment, as it was written before it ran per leg."""
    hop = rate // 100
    reach = int(0.3 * rate) // hop
    out = []
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
        lead = np.flatnonzero(head_rms >= 0.05 * head_rms.max())
        trail = np.flatnonzero(tail_rms >= 0.05 * tail_rms.max())
        new_start = start + int(lead[0]) * hop
        new_end = end - (k - 1 - int(trail[-1])) * hop
        if new_end <= new_start:
            new_start, new_end = start, end
        out.append((new_start / rate, new_end / rate))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_edge_refinement_per_leg_matches_segment_by_segment(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rate = (8000, 16000)[seed % 2]
    frame_samples = rate * (10, 20, 30)[seed % 3] // 1000
    frames = int(rng.integers(3, 400))
    # bursts of noise with a rough envelope, quiet stretches, and an all-silent leg
    envelope = np.repeat(rng.uniform(0.0, 1.0, frames * 3 + 1) ** 4, frame_samples // 3 + 1)
    pcm = rng.standard_normal(frames * frame_samples) * 3000.0 * envelope[: frames * frame_samples]
    leg = np.asarray(pcm if seed != 5 else pcm * 0, dtype=np.int16)
    cuts = np.sort(
        rng.choice(frames + 1, size=2 * int(rng.integers(0, frames // 4 + 1)), replace=False)
    )
    segments = [(int(a), int(b)) for a, b in cuts.reshape(-1, 2)] + [(frames - 1, frames)]
    segments = sorted(set(segments))
    segments = [s for i, s in enumerate(segments) if i == 0 or s[0] >= segments[i - 1][1]]
    got = refine_edges(leg, rate, segments, frame_samples)
    assert got == refine_one_by_one(leg, rate, segments, frame_samples)
    assert refine_edges(leg, rate, [], frame_samples) == []


def test_edge_refinement_trims_the_quiet_end_of_a_segment() -> None:
    loud = np.full(800, 5000, np.int16)  # 100 ms at 8 kHz
    leg = np.concatenate([np.zeros(480, np.int16), loud, np.zeros(720, np.int16)])
    # frames 1..8 (30 ms each): 30 ms of silence before the sound, 90 ms after it
    assert refine_edges(leg, 8000, [(1, 8)], 240) == [(0.06, 0.16)]


def test_edge_refinement_needs_frames_of_whole_10_ms_blocks() -> None:
    with pytest.raises(AudioError, match="10 ms"):
        refine_edges(np.zeros(1000, np.int16), 8000, [(0, 2)], 100)


def test_voiced_frames_are_webrtcvads_decisions_as_a_writable_bool_array() -> None:
    webrtcvad = pytest.importorskip("webrtcvad")
    settings = VadSettings()
    voice = np.concatenate([np.zeros(8000, np.int16), load_prompt("hello-world", 8000)])[:-5]
    flags = voiced_frames(voice, settings)
    assert flags.dtype == np.bool_ and flags.flags.writeable
    step = settings.frame_samples
    vad = webrtcvad.Vad(settings.aggressiveness)
    frames = range(0, len(voice) - step + 1, step)
    assert flags.tolist() == [vad.is_speech(voice[o : o + step].tobytes(), 8000) for o in frames]
    assert not flags[:30].any() and flags[34:].any()


def intersect_by_definition(xs: list[sp.Interval], ys: list[sp.Interval]) -> list[sp.Interval]:
    out = [(max(a, c), min(b, d)) for a, b in xs for c, d in ys if min(b, d) > max(a, c)]
    return sorted(out)


def test_interval_fast_paths_agree_with_the_definitions() -> None:
    rng = np.random.default_rng(3)
    for _ in range(500):
        points = np.sort(rng.integers(0, 40, size=2 * int(rng.integers(0, 8)))) / 4.0
        xs = sp.union(points.reshape(-1, 2).tolist())
        lo, hi = sorted((rng.integers(0, 40) / 4.0, rng.integers(0, 40) / 4.0))
        assert sp.intersect(xs, [(lo, hi)]) == intersect_by_definition(xs, [(lo, hi)])
        assert sp.intersect([(lo, hi)], xs) == intersect_by_definition([(lo, hi)], xs)
        assert sp.subtract(xs, []) == xs
        ys = sp.union((points[::-1].reshape(-1, 2)[:, ::-1] + 0.25).tolist())
        assert sp.intersect(xs, ys) == intersect_by_definition(xs, ys)
    assert sp.intersect([(0.0, 1.0), (2.0, 3.0)], [(1.0, 2.0)]) == []  # touching is not overlap
