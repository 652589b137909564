"""A timeline picture of a call's audio (Pillow): per-party envelope and speech, holds,
dead air, overtalk, ringback bursts, the answer and greeting markers, and a time axis."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from collectors.audio._deps import require
from collectors.audio.analysis import Analysis

__all__ = ["render_timeline"]

_W, _LANE, _TOP, _LEFT, _RIGHT = 1400, 110, 40, 80, 20
_BG, _FG, _GRID = (255, 255, 255), (30, 30, 30), (220, 220, 220)
_WAVE, _SPEECH = (120, 140, 170), (40, 110, 220)
_HOLD, _DEAD, _OVER, _RING = (255, 225, 150), (235, 80, 80), (150, 60, 200), (60, 170, 90)


def _envelope(pcm: npt.NDArray[np.int16], width: int) -> npt.NDArray[np.float64]:
    n = len(pcm) // width
    if n == 0:
        return np.zeros(width)
    blocks = np.abs(pcm[: n * width].astype(np.float64)).reshape(width, n)
    peak: npt.NDArray[np.float64] = blocks.max(axis=1) / 32768.0
    return peak


def render_timeline(
    parties: Mapping[str, npt.NDArray[np.int16]], analysis: Analysis, out: str | Path
) -> Path:
    """Draw the picture to ``out`` (PNG) and return its path."""
    image_mod = require("PIL.Image")
    draw_mod = require("PIL.ImageDraw")
    facts = analysis.facts
    names = sorted(parties)
    height = _TOP + _LANE * len(names) + 70
    img = image_mod.new("RGB", (_W, height), _BG)
    d = draw_mod.Draw(img)
    plot_w = _W - _LEFT - _RIGHT
    dur = max(facts.duration_seconds, 1e-3)

    def x(t: float) -> int:
        return _LEFT + round(max(0.0, min(t, dur)) / dur * plot_w)

    bottom = _TOP + _LANE * len(names)
    for h in analysis.holds:
        d.rectangle([x(h.start), _TOP, x(h.end or dur), bottom], fill=_HOLD)
    for a, b in analysis.ring_bursts:
        d.rectangle([x(a), _TOP, x(b), _TOP + 8], fill=_RING)
    speech = dict(facts.speech)
    for i, name in enumerate(names):
        y0 = _TOP + i * _LANE
        mid = y0 + _LANE // 2
        d.line([_LEFT, y0, _W - _RIGHT, y0], fill=_GRID)
        d.text((6, mid - 6), name, fill=_FG)
        env = _envelope(parties[name], plot_w)
        half = _LANE // 2 - 16
        for px, v in enumerate(env):
            amp = int(v * half)
            if amp:
                d.line([_LEFT + px, mid - amp, _LEFT + px, mid + amp], fill=_WAVE)
        for s in speech.get(name, ()):
            d.rectangle(
                [x(s.start), y0 + _LANE - 12, x(s.end or dur), y0 + _LANE - 5], fill=_SPEECH
            )
    for s in facts.dead_air:
        d.rectangle([x(s.start), bottom + 2, x(s.end or dur), bottom + 10], fill=_DEAD)
    for s in facts.overtalk:
        d.rectangle([x(s.start), bottom + 12, x(s.end or dur), bottom + 20], fill=_OVER)
    if analysis.answer_at is not None:
        xa = x(analysis.answer_at)
        d.line([xa, _TOP - 4, xa, bottom], fill=_FG, width=2)
        d.text(
            (xa + 3, _TOP - 30),
            "answer" + (" (est.)" if analysis.answer_estimated else ""),
            fill=_FG,
        )
        if facts.greeting_latency_seconds is not None:
            xg = x(analysis.answer_at + facts.greeting_latency_seconds)
            d.line([xg, _TOP - 4, xg, bottom], fill=_SPEECH, width=2)
            d.text(
                (xg + 3, _TOP - 18),
                f"greeting +{facts.greeting_latency_seconds:.2f}s",
                fill=_SPEECH,
            )
    axis_y = bottom + 28
    d.line([_LEFT, axis_y, _W - _RIGHT, axis_y], fill=_FG)
    step = next(s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800) if dur / s <= 20)
    t = 0.0
    while t <= dur + 1e-9:
        d.line([x(t), axis_y, x(t), axis_y + 5], fill=_FG)
        d.text((x(t) - 8, axis_y + 7), f"{int(t // 60)}:{int(t % 60):02d}", fill=_FG)
        t += step
    legend = [
        ("speech", _SPEECH),
        ("hold", _HOLD),
        ("dead air", _DEAD),
        ("overtalk", _OVER),
        ("ringback", _RING),
    ]
    lx = _LEFT
    for label, colour in legend:
        d.rectangle([lx, height - 16, lx + 12, height - 6], fill=colour)
        d.text((lx + 16, height - 18), label, fill=_FG)
        lx += 110
    img.save(str(out), format="PNG")
    return Path(out)
