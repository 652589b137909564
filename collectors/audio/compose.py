"""Compose a call recording with known truth from real speech prompts.

Each party gets a track: utterances (Asterisk sound prompts, or any 16-bit WAV, trimmed to their
own speech onset and end by energy), music on hold during holds and ringback before the answer
on the track the caller *hears* (MixMonitor's write direction: ``agent`` by default), silence
elsewhere. ``write_stereo`` lays the tracks out as MixMonitor ``D`` does (left = caller,
right = agent by default); ``write_legs`` as ``r()``/``t()`` files. The simulator uses this to
write recordings for its calls; the tests use the returned truth.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from collectors.audio.rings import cadence_for
from collectors.audio.source import DEFAULT_PARTIES, resample
from collectors.audio.wavfile import read_wav, write_wav
from monitor.errors import AudioError

__all__ = [
    "DEFAULT_MOH",
    "SOUNDS_DIR",
    "CallSpec",
    "Composed",
    "HoldSpec",
    "RingbackSpec",
    "Truth",
    "Utterance",
    "compose",
    "degrade",
    "load_prompt",
    "write_legs",
    "write_stereo",
]


def _sounds_dir(root: Path = Path("/usr/share/asterisk/sounds")) -> Path:
    """The English prompts: ``en`` is an alternatives link made by Debian's
    ``asterisk-core-sounds-en``; without it the files are in ``en_US_f_Allison``."""
    for name in ("en", "en_US", "en_US_f_Allison"):
        if (root / name).is_dir():
            return root / name
    return root / "en"


SOUNDS_DIR = _sounds_dir()
DEFAULT_MOH = Path("/usr/share/asterisk/moh/macroform-cold_day.wav")
Pcm = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class Utterance:
    """``prompt`` (a path, or a SOUNDS_DIR name without ``.wav``) said by ``party`` at ``at`` s."""

    party: str
    at: float
    prompt: str | Path
    gain: float = 1.0


@dataclass(frozen=True, slots=True)
class HoldSpec:
    """A hold from ``start`` to ``end``; ``moh`` plays on ``party``'s track (None: silence)."""

    start: float
    end: float
    moh: str | Path | None = DEFAULT_MOH
    party: str = "agent"
    moh_offset: float = 10.0
    gain: float = 0.5


@dataclass(frozen=True, slots=True)
class RingbackSpec:
    """``count`` ring cycles of ``cadence`` from ``start`` on ``party``'s track."""

    start: float
    count: int
    cadence: str = "us"
    party: str = "agent"
    amplitude: int = 3000


@dataclass(frozen=True, slots=True)
class CallSpec:
    duration: float
    rate: int = 8000
    utterances: tuple[Utterance, ...] = ()
    holds: tuple[HoldSpec, ...] = ()
    ringback: RingbackSpec | None = None
    parties: tuple[str, ...] = DEFAULT_PARTIES
    noise_amplitude: int = 0
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Truth:
    """What was put where, in seconds from the start (exact to the sample)."""

    speech: Mapping[str, tuple[tuple[float, float], ...]]
    utterances: tuple[tuple[str, float, float], ...]
    holds: tuple[tuple[float, float], ...]
    ring_bursts: tuple[tuple[float, float], ...]
    rings: int


@dataclass(frozen=True, slots=True)
class Composed:
    rate: int
    parties: Mapping[str, Pcm]
    truth: Truth = field(repr=False)


def _resolve(prompt: str | Path) -> Path:
    p = Path(prompt)
    if p.suffix or p.is_absolute():
        return p
    return SOUNDS_DIR / f"{prompt}.wav"


def load_prompt(prompt: str | Path, rate: int, trim: bool = True) -> Pcm:
    """A mono prompt at ``rate``, cut to its speech (10 ms RMS above 3 % of the peak's)."""
    info, data = read_wav(_resolve(prompt))
    pcm = resample(np.ascontiguousarray(data.mean(axis=1).astype(np.int16)), info.rate, rate)
    if not trim:
        return pcm
    hop = rate // 100
    nb = len(pcm) // hop
    if nb == 0:
        raise AudioError(f"{info.path}: prompt is shorter than 10 ms")
    blocks = pcm[: nb * hop].astype(np.float64).reshape(nb, hop)
    rms = np.sqrt((blocks * blocks).mean(axis=1))
    loud = np.flatnonzero(rms > max(150.0, 0.03 * float(rms.max())))
    if len(loud) == 0:
        raise AudioError(f"{info.path}: prompt holds no speech above the noise floor")
    return pcm[loud[0] * hop : (loud[-1] + 1) * hop].copy()


def _ring_bursts(spec: RingbackSpec) -> list[tuple[float, float]]:
    cadence = cadence_for(spec.cadence)
    out = []
    t = spec.start
    for _ in range(spec.count):
        for i, length in enumerate(cadence.pattern):
            if i % 2 == 0:
                out.append((t, t + length))
            t += length
    return out


def compose(spec: CallSpec) -> Composed:
    """Build the per-party tracks of ``spec`` and the truth of what is where."""
    rate = spec.rate
    n = round(spec.duration * rate)
    tracks = {p: np.zeros(n, dtype=np.int32) for p in spec.parties}

    def track(party: str) -> npt.NDArray[np.int32]:
        if party not in tracks:
            raise AudioError(f"party {party!r} is not one of {spec.parties}")
        return tracks[party]

    def place(party: str, start: float, pcm: npt.NDArray[np.int32]) -> tuple[float, float]:
        i = round(start * rate)
        if i < 0 or i + len(pcm) > n:
            raise AudioError(
                f"{party} audio at {start:.3f}s..{(i + len(pcm)) / rate:.3f}s does not fit "
                f"in a {spec.duration}s call"
            )
        track(party)[i : i + len(pcm)] += pcm
        return i / rate, (i + len(pcm)) / rate

    said: list[tuple[str, float, float]] = []
    for u in spec.utterances:
        pcm = (load_prompt(u.prompt, rate).astype(np.float64) * u.gain).astype(np.int32)
        said.append((u.party, *place(u.party, u.at, pcm)))
    holds = []
    for h in spec.holds:
        holds.append((h.start, h.end))
        if h.moh is None:
            continue
        info, data = read_wav(h.moh)
        music = resample(np.ascontiguousarray(data[:, 0]), info.rate, rate)
        skip = int(h.moh_offset * rate) % max(1, len(music))
        need = round((h.end - h.start) * rate)
        reps = math.ceil((need + skip) / len(music))
        loop = np.tile(music, reps)[skip : skip + need].astype(np.float64) * h.gain
        place(h.party, h.start, loop.astype(np.int32))
    bursts: list[tuple[float, float]] = []
    if spec.ringback is not None:
        rb = spec.ringback
        freqs = cadence_for(rb.cadence).freqs
        for a, b in _ring_bursts(rb):
            t = np.arange(round((b - a) * rate)) / rate
            tone = sum(np.sin(2 * math.pi * f * t) for f in freqs) * (rb.amplitude / len(freqs))
            bursts.append(place(rb.party, a, np.asarray(tone, dtype=np.float64).astype(np.int32)))
    if spec.noise_amplitude:
        rng = np.random.default_rng(spec.seed)
        for arr in tracks.values():
            arr += (rng.standard_normal(n) * spec.noise_amplitude).astype(np.int32)
    out = {p: np.clip(arr, -32768, 32767).astype(np.int16) for p, arr in tracks.items()}
    speech = {p: tuple(sorted((a, b) for q, a, b in said if q == p)) for p in spec.parties}
    truth = Truth(
        speech=speech,
        utterances=tuple(said),
        holds=tuple(holds),
        ring_bursts=tuple(bursts),
        rings=spec.ringback.count if spec.ringback else 0,
    )
    return Composed(rate, out, truth)


def _noise(kind: str, n: int, rng: np.random.Generator, rate: int) -> npt.NDArray[np.float64]:
    """Unit-RMS white or pink (1/f power from 100 Hz, by shaping the spectrum) noise."""
    white = rng.standard_normal(n)
    if kind == "white":
        return white
    if kind != "pink":
        raise AudioError(f"noise must be 'white' or 'pink', got {kind!r}")
    spectrum = np.fft.rfft(white)
    hz = np.fft.rfftfreq(n, 1.0 / rate)
    # 1/f power within a telephone channel's band: below 100 Hz a line carries nothing
    shape = np.where(hz >= 100.0, 1.0 / np.sqrt(np.maximum(hz, 100.0)), 0.0)
    pink = np.fft.irfft(spectrum * shape, n)
    out: npt.NDArray[np.float64] = pink / np.sqrt(np.mean(pink * pink))
    return out


def degrade(
    composed: Composed,
    *,
    speech_dbfs: float | None = None,
    noise_dbfs: float | None = None,
    noise: str = "white",
    echo_db: float | None = None,
    echo_delay: float = 0.04,
    echo_from: str = "agent",
    echo_to: str = "caller",
    seed: int = 0,
) -> Composed:
    """A copy of ``composed`` as a real line would deliver it; the truth is unchanged.

    ``speech_dbfs``: each party's track is scaled so its speech (over the truth's spans) has
    that RMS level; ``echo_db`` (negative): ``echo_from``'s track, ``echo_delay`` s late and
    that many dB down, is added to ``echo_to``'s; ``noise_dbfs``: white or pink noise of that
    RMS level on every track. dBFS here is RMS relative to full scale (32768).
    """
    rate = composed.rate
    tracks = {p: a.astype(np.float64) for p, a in composed.parties.items()}
    if speech_dbfs is not None:
        want = 32768.0 * 10.0 ** (speech_dbfs / 20.0)
        for party, arr in tracks.items():
            spans = composed.truth.speech.get(party, ())
            parts = [arr[round(a * rate) : round(b * rate)] for a, b in spans]
            if parts:
                speech = np.concatenate(parts)
                rms = float(np.sqrt(np.mean(speech * speech)))
                if rms > 0:
                    tracks[party] = arr * (want / rms)
    if echo_db is not None:
        src = tracks[echo_from]
        shift = round(echo_delay * rate)
        echo = np.zeros_like(src)
        echo[shift:] = src[: len(src) - shift] * 10.0 ** (echo_db / 20.0)
        tracks[echo_to] = tracks[echo_to] + echo
    if noise_dbfs is not None:
        rng = np.random.default_rng(seed)
        level = 32768.0 * 10.0 ** (noise_dbfs / 20.0)
        for party in sorted(tracks):
            tracks[party] = tracks[party] + _noise(noise, len(tracks[party]), rng, rate) * level
    out = {p: np.clip(np.round(a), -32768, 32767).astype(np.int16) for p, a in tracks.items()}
    return Composed(rate, out, composed.truth)


def write_stereo(
    composed: Composed, path: str | Path, order: Sequence[str] = DEFAULT_PARTIES
) -> Path:
    """One stereo WAV, channel i = party ``order[i]`` (MixMonitor D: left=read, right=write)."""
    if len(order) != 2:
        raise AudioError(f"a stereo file needs two parties, got {tuple(order)}")
    data = np.stack([composed.parties[p] for p in order], axis=1)
    write_wav(path, composed.rate, data)
    return Path(path)


def write_legs(
    composed: Composed,
    paths: Sequence[str | Path],
    order: Sequence[str] = DEFAULT_PARTIES,
) -> tuple[Path, ...]:
    """One mono WAV per party (MixMonitor r(): read = ``order[0]``, t(): write = ``order[1]``)."""
    if len(paths) != len(order):
        raise AudioError(f"need {len(order)} paths for parties {tuple(order)}, got {len(paths)}")
    for path, party in zip(paths, order, strict=True):
        write_wav(path, composed.rate, composed.parties[party])
    return tuple(Path(p) for p in paths)
