"""Call-audio facts: greeting latency, dead air outside holds, overtalk, talk ratio, rings.

``analyze`` is pure: per-party PCM in, ``monitor.record.AudioFacts`` out. Times are seconds from
the start of the recording. The *talk window* runs from the answer (``answer_at``; when unknown,
the end of the last ringback burst heard, else the recording start) to the end of the
recording, minus the hold spans: dead air, overtalk and talk ratio are measured in it.

Speech per leg is WebRTC VAD behind a gate on the leg's own noise floor
(:mod:`collectors.audio.levels`); with an agent and a caller leg, frames of one leg that are
the other's echo are not speech (:mod:`collectors.audio.echo`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from collectors.audio import spans as sp
from collectors.audio.echo import echo_frames, estimate_echo
from collectors.audio.rings import cadence_for, detect_rings
from collectors.audio.source import DEFAULT_PARTIES, MIXED, Recording, load_recording, resample
from collectors.audio.vad import VadSettings, leg_activity, speech_spans
from collectors.audio.wavfile import MAX_RATE, MIN_RATE, RawFormat
from monitor.errors import AudioError
from monitor.record import AudioFacts, Span

__all__ = [
    "AGENT",
    "CALLER",
    "Analysis",
    "AnalysisSettings",
    "analyze",
    "analyze_detailed",
    "analyze_files",
    "analyze_recording",
    "holds_relative",
]

AGENT = "agent"
CALLER = "caller"
Pcm = npt.NDArray[np.int16]
Flags = npt.NDArray[np.bool_]
_TONE_PAD = 0.15  # VAD spans within this of a ringback burst are the tone, not speech
_MIN_SPEECH = 0.1  # what is left of a span after removing tone must be this long to count


@dataclass(frozen=True, slots=True)
class AnalysisSettings:
    """Thresholds of the audio facts (defaults in docs/audio.md).

    Echo: a frame of one leg is the other leg's echo when that leg's voice arrives there
    0..``echo_max_delay_seconds`` late and at least ``echo_min_loss_db`` down, and the frame is
    no louder than ``echo_margin_db`` over that echo (``echo_suppression=False``: off).
    """

    vad: VadSettings = field(default_factory=VadSettings)
    dead_air_seconds: float = 10.0
    overtalk_min_seconds: float = 0.5
    cadence: str = "us"
    echo_suppression: bool = True
    echo_max_delay_seconds: float = 0.2
    echo_min_loss_db: float = 12.0
    echo_margin_db: float = 6.0

    def __post_init__(self) -> None:
        if self.dead_air_seconds <= 0:
            raise AudioError(f"dead_air_seconds must be > 0, got {self.dead_air_seconds}")
        if not 0 <= self.echo_max_delay_seconds <= 1.0 or self.echo_margin_db < 0:
            raise AudioError(
                "echo_max_delay_seconds must be 0..1 and echo_margin_db >= 0, got "
                f"{self.echo_max_delay_seconds}, {self.echo_margin_db}"
            )
        if self.overtalk_min_seconds < 0:
            raise AudioError(f"overtalk_min_seconds must be >= 0, got {self.overtalk_min_seconds}")
        cadence_for(self.cadence)


@dataclass(frozen=True, slots=True)
class Analysis:
    """The facts plus what the timeline picture needs."""

    facts: AudioFacts
    answer_at: float | None
    answer_estimated: bool
    holds: tuple[Span, ...]
    ring_bursts: tuple[tuple[float, float], ...] = ()


def _spans(items: Sequence[tuple[float, float]]) -> tuple[Span, ...]:
    return tuple(Span(round(a, 3), round(b, 3)) for a, b in items)


def holds_relative(holds: Sequence[Span], recording_started_at: float) -> tuple[Span, ...]:
    """Epoch hold spans (CallRecord.holds) -> seconds from the recording start."""
    return tuple(
        Span(
            h.start - recording_started_at, None if h.end is None else h.end - recording_started_at
        )
        for h in holds
    )


def analyze_detailed(
    parties: Mapping[str, Pcm],
    rate: int,
    answer_at: float | None = None,
    holds: Sequence[Span] = (),
    settings: AnalysisSettings | None = None,
    recording_started_at: float | None = None,
) -> Analysis:
    """Everything ``analyze`` computes, plus ring bursts and the answer offset used."""
    cfg = settings or AnalysisSettings()
    if not parties:
        raise AudioError("no audio to analyse: give at least one party's signal")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(f"sample rate {rate} Hz is outside {MIN_RATE}..{MAX_RATE} Hz")
    lengths = {name: len(x) for name, x in parties.items()}
    if len(set(lengths.values())) != 1:
        raise AudioError(f"party signals differ in length: {lengths}; pad the shorter leg")
    n = next(iter(lengths.values()))
    duration = n / rate
    vrate = cfg.vad.rate
    signals = {
        name: resample(np.asarray(x, dtype=np.int16), rate, vrate) for name, x in parties.items()
    }

    cadence = cadence_for(cfg.cadence)
    # ringback is looked for in the legs heard together (mixed piecewise: rings.tone_bursts)
    rings = detect_rings(list(signals.values()), vrate, cadence, before=answer_at)
    bursts = rings.bursts if rings else ()
    estimated = answer_at is None and bool(bursts)
    start = answer_at if answer_at is not None else (bursts[-1][1] if bursts else 0.0)
    start = min(max(start, 0.0), duration)

    hold_iv = sp.union(
        (h.start, duration if h.end is None else h.end)
        for h in holds
        if (h.end or duration) > h.start
    )
    tone_iv = [(a - _TONE_PAD, b + _TONE_PAD) for a, b in bursts]
    speech = {
        name: [(a, b) for a, b in sp.subtract(sp.union(spans), tone_iv) if b - a >= _MIN_SPEECH]
        for name, spans in sorted(_speech(signals, cfg).items())
    }
    window = sp.subtract([(start, duration)], hold_iv) if duration > start else []
    window_len = sp.total(window)

    greeter = AGENT if AGENT in speech else (MIXED if MIXED in speech else None)
    greeting: float | None = None
    if greeter is not None and (answer_at is not None or estimated):
        after = [(a, b) for a, b in speech[greeter] if b > start]
        if after:
            greeting = round(max(0.0, after[0][0] - start), 3)

    anyone = sp.union(*speech.values())
    silent = sp.subtract(sp.complement(anyone, start, duration), hold_iv) if window else []
    dead = [(a, b) for a, b in silent if b - a >= cfg.dead_air_seconds]

    overtalk: list[tuple[float, float]] = []
    if AGENT in speech and CALLER in speech:
        both = sp.intersect(speech[AGENT], speech[CALLER])
        both = sp.intersect(both, window) if window else []
        overtalk = [(a, b) for a, b in both if b - a >= cfg.overtalk_min_seconds]
    talking = sp.total(sp.intersect(anyone, window)) if window else 0.0
    overtalk_ratio = round(sp.total(overtalk) / talking, 4) if talking > 0 else 0.0

    talk_ratio = tuple(
        (name, round(sp.total(sp.intersect(s, window)) / window_len, 4) if window_len > 0 else 0.0)
        for name, s in speech.items()
    )
    facts = AudioFacts(
        duration_seconds=round(duration, 3),
        recording_started_at=recording_started_at,
        greeting_latency_seconds=greeting,
        dead_air=_spans(dead),
        overtalk=_spans(overtalk),
        overtalk_ratio=overtalk_ratio,
        talk_ratio=talk_ratio,
        speech=tuple((name, _spans(s)) for name, s in speech.items()),
        rings_heard=rings.rings if rings else None,
    )
    return Analysis(
        facts=facts,
        answer_at=start if (answer_at is not None or estimated) else None,
        answer_estimated=estimated,
        holds=_spans(hold_iv),
        ring_bursts=tuple(bursts),
    )


def _speech(signals: Mapping[str, Pcm], cfg: AnalysisSettings) -> dict[str, list[sp.Interval]]:
    """Speech spans per party: VAD behind each leg's noise gate, echo frames removed."""
    activity = {name: leg_activity(sig, cfg.vad) for name, sig in signals.items()}
    flags = {name: f for name, (f, _) in activity.items()}
    echoes: dict[str, Flags] = {}
    if cfg.echo_suppression and AGENT in activity and CALLER in activity:
        for src, dst in ((AGENT, CALLER), (CALLER, AGENT)):
            a, b = activity[src][1], activity[dst][1]
            path = estimate_echo(
                signals[src],
                signals[dst],
                a,
                b,
                cfg.vad.rate,
                cfg.echo_max_delay_seconds,
                cfg.echo_min_loss_db,
            )
            if path is not None:
                echoes[dst] = echo_frames(a, b, path, cfg.echo_margin_db)
                flags[dst] = flags[dst] & ~echoes[dst]
    return {
        name: speech_spans(signals[name], flags[name], cfg.vad, activity[name][1], echoes.get(name))
        for name in signals
    }


def analyze(
    parties: Mapping[str, Pcm],
    rate: int,
    answer_at: float | None = None,
    holds: Sequence[Span] = (),
    settings: AnalysisSettings | None = None,
    recording_started_at: float | None = None,
) -> AudioFacts:
    """The audio facts of one call; see the module docstring for the talk window."""
    return analyze_detailed(parties, rate, answer_at, holds, settings, recording_started_at).facts


def analyze_recording(
    recording: Recording,
    answer_at: float | None = None,
    holds: Sequence[Span] = (),
    settings: AnalysisSettings | None = None,
    recording_started_at: float | None = None,
) -> Analysis:
    return analyze_detailed(
        recording.parties, recording.rate, answer_at, holds, settings, recording_started_at
    )


def analyze_files(
    paths: Sequence[str | Path],
    answer_at: float | None = None,
    holds: Sequence[Span] = (),
    settings: AnalysisSettings | None = None,
    parties: Sequence[str] = DEFAULT_PARTIES,
    recording_started_at: float | None = None,
    raw: RawFormat | None = None,
) -> AudioFacts:
    """Load a stereo/mono WAV or two leg WAVs and analyse them (``parties``: channel order;
    ``raw``: the files are headerless raw audio in that format)."""
    recording = load_recording(paths, parties, raw)
    return analyze_recording(recording, answer_at, holds, settings, recording_started_at).facts
