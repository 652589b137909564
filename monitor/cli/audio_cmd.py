"""``ringwatch audio analyze``: the audio facts of a call recording, as text or JSON, and an
optional timeline PNG. collectors.audio (and numpy) are imported only when the command runs."""

from __future__ import annotations

import json
from typing import Any

import click

from monitor.errors import AudioError, InputError

__all__ = ["parse_hold", "register"]

_HINT = "install ringwatch[audio]: pip install 'ringwatch[audio]'"


def parse_hold(text: str) -> tuple[float, float]:
    """``START-END`` in seconds from the recording start -> (start, end)."""
    try:
        a, b = text.split("-", 1)
        start, end = float(a), float(b)
    except ValueError:
        raise InputError(
            f"--hold {text!r}: expected START-END in seconds, e.g. 44.5-84.5"
        ) from None
    if end <= start or start < 0:
        raise InputError(f"--hold {text!r}: END must be after START and START >= 0")
    return start, end


def _facts_dict(facts: Any) -> dict[str, Any]:
    def spans(items: Any) -> list[dict[str, float | None]]:
        return [{"start": s.start, "end": s.end} for s in items]

    return {
        "duration_seconds": facts.duration_seconds,
        "greeting_latency_seconds": facts.greeting_latency_seconds,
        "dead_air": spans(facts.dead_air),
        "longest_dead_air_seconds": round(facts.longest_dead_air_seconds, 3),
        "overtalk": spans(facts.overtalk),
        "overtalk_ratio": facts.overtalk_ratio,
        "talk_ratio": dict(facts.talk_ratio),
        "speech": {party: spans(items) for party, items in facts.speech},
        "rings_heard": facts.rings_heard,
    }


def _text(facts: Any, estimated: bool) -> str:
    def fmt(items: Any) -> str:
        return ", ".join(f"{s.start:.2f}-{s.end:.2f}s" for s in items) or "none"

    greet = facts.greeting_latency_seconds
    lines = [
        f"duration           {facts.duration_seconds:.2f} s",
        "greeting latency   "
        + ("n/a (no answer offset)" if greet is None else f"{greet:.2f} s")
        + (" (answer estimated from ringback)" if estimated and greet is not None else ""),
        f"dead air           {fmt(facts.dead_air)}",
        f"overtalk           {fmt(facts.overtalk)} (ratio {facts.overtalk_ratio:.3f})",
        "talk ratio         " + ", ".join(f"{p} {r:.3f}" for p, r in facts.talk_ratio),
        "rings heard        " + ("none" if facts.rings_heard is None else str(facts.rings_heard)),
    ]
    for party, items in facts.speech:
        lines.append(f"speech {party:<11} {len(items)} segments")
    return "\n".join(lines)


def register(group: click.Group) -> None:
    @group.group("audio")
    def audio() -> None:
        """Analyse call recordings (needs ringwatch[audio])."""

    @audio.command("analyze")
    @click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
    @click.option("--answer-at", type=float, default=None, help="Answer offset, s from start.")
    @click.option("--hold", "holds", multiple=True, help="Hold span START-END in s (repeat).")
    @click.option(
        "--parties",
        default="caller,agent",
        show_default=True,
        help="Party of the left channel / first file, then right / second (MixMonitor D: "
        "left = read = the recorded channel's party).",
    )
    @click.option("--cadence", default="us", show_default=True, help="Ringback cadence code.")
    @click.option("--dead-air", type=float, default=10.0, show_default=True, help="Seconds.")
    @click.option("--overtalk-min", type=float, default=0.5, show_default=True, help="Seconds.")
    @click.option("--aggressiveness", type=click.IntRange(0, 3), default=3, show_default=True)
    @click.option("--frame-ms", type=click.Choice(["10", "20", "30"]), default="30")
    @click.option(
        "--raw-rate",
        type=click.IntRange(8000, 96000),
        default=None,
        help="The files are headerless raw audio at this rate (Hz), e.g. Asterisk .sln: 8000.",
    )
    @click.option(
        "--raw-encoding",
        type=click.Choice(["s16le", "ulaw", "alaw"]),
        default="s16le",
        show_default=True,
        help="Raw sample encoding: 16-bit signed little-endian, G.711 mu-law or A-law.",
    )
    @click.option(
        "--raw-channels", type=click.IntRange(1, 2), default=1, show_default=True, help="Raw."
    )
    @click.option("--png", type=click.Path(dir_okay=False), default=None, help="Timeline PNG.")
    @click.option("--json", "as_json", is_flag=True, help="Print the facts as JSON.")
    def analyze_cmd(
        files: tuple[str, ...],
        answer_at: float | None,
        holds: tuple[str, ...],
        parties: str,
        cadence: str,
        dead_air: float,
        overtalk_min: float,
        aggressiveness: int,
        frame_ms: str,
        raw_rate: int | None,
        raw_encoding: str,
        raw_channels: int,
        png: str | None,
        as_json: bool,
    ) -> None:
        """Print greeting latency, dead air, overtalk, talk ratio and rings of FILE [FILE2]
        (one stereo or mono WAV, or the two MixMonitor r()/t() leg files; headerless raw
        audio with --raw-rate)."""
        if len(files) > 2:
            raise InputError(f"give one or two WAV files, got {len(files)}")
        try:
            from collectors.audio.analysis import AnalysisSettings, analyze_recording
            from collectors.audio.source import load_recording
            from collectors.audio.vad import VadSettings
            from collectors.audio.wavfile import RawFormat
        except ImportError as exc:
            raise AudioError(f"audio analysis is not installed ({exc}); {_HINT}") from exc
        from monitor.record import Span

        spans = [Span(*parse_hold(h)) for h in holds]
        settings = AnalysisSettings(
            vad=VadSettings(frame_ms=int(frame_ms), aggressiveness=aggressiveness),
            dead_air_seconds=dead_air,
            overtalk_min_seconds=overtalk_min,
            cadence=cadence,
        )
        raw = None if raw_rate is None else RawFormat(raw_rate, raw_encoding, raw_channels)
        names = tuple(p.strip() for p in parties.split(","))
        recording = load_recording(files, names, raw)
        result = analyze_recording(recording, answer_at, spans, settings)
        if as_json:
            data = _facts_dict(result.facts)
            data["answer_at"] = result.answer_at
            data["answer_estimated"] = result.answer_estimated
            click.echo(json.dumps(data, indent=2))
        else:
            click.echo(_text(result.facts, result.answer_estimated))
        if png:
            from collectors.audio.plot import render_timeline

            render_timeline(recording.parties, result, png)
            if not as_json:
                click.echo(f"timeline written to {png}")
