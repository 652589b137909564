"""Hysteresis, interval arithmetic, cadences, settings and lazy imports."""

from __future__ import annotations

import numpy as np
import pytest

from collectors.audio import _deps
from collectors.audio import spans as sp
from collectors.audio.analysis import AnalysisSettings, analyze
from collectors.audio.compose import CallSpec, HoldSpec, RingbackSpec, Utterance, compose
from collectors.audio.rings import CADENCES, count_rings, detect_rings
from collectors.audio.vad import VadSettings, hysteresis
from monitor.errors import AudioError
from monitor.record import Span


def flags(text: str) -> np.ndarray:
    return np.array([c == "#" for c in text], dtype=np.bool_)


def test_hysteresis_needs_n_voiced_to_start_and_m_unvoiced_to_end() -> None:
    #        0123456789012345678901234
    text = "..#...###..#####.........#"
    assert hysteresis(flags(text), 3, 4) == [(6, 16)]
    assert hysteresis(flags(text), 1, 4) == [(2, 16), (25, 26)]  # a 3-frame pause is bridged
    assert hysteresis(flags(text), 1, 3) == [(2, 3), (6, 16), (25, 26)]
    assert hysteresis(flags(text), 3, 2) == [(6, 9), (11, 16)]


def test_hysteresis_closes_at_last_voiced_frame_at_the_end() -> None:
    assert hysteresis(flags("###.."), 2, 5) == [(0, 3)]
    assert hysteresis(flags(""), 2, 5) == []


def test_interval_arithmetic() -> None:
    assert sp.union([(0, 1), (0.5, 2)], [(3, 4)]) == [(0, 2), (3, 4)]
    assert sp.intersect([(0, 2), (3, 5)], [(1, 4)]) == [(1, 2), (3, 4)]
    assert sp.complement([(1, 2)], 0, 3) == [(0, 1), (2, 3)]
    assert sp.subtract([(0, 10)], [(2, 3), (5, 6)]) == [(0, 2), (3, 5), (6, 10)]
    assert sp.total([(0, 1.5), (2, 3)]) == 2.5


def test_settings_are_validated() -> None:
    with pytest.raises(AudioError, match="frame_ms"):
        VadSettings(frame_ms=25)
    with pytest.raises(AudioError, match="aggressiveness"):
        VadSettings(aggressiveness=4)
    with pytest.raises(AudioError, match="VAD rate"):
        VadSettings(rate=32000)
    with pytest.raises(AudioError, match="unknown ring cadence 'xx'"):
        AnalysisSettings(cadence="xx")


def test_missing_optional_package_says_how_to_install() -> None:
    with pytest.raises(AudioError) as info:
        _deps.require("ringwatch_no_such_audio_module")
    assert "pip install 'ringwatch[audio]'" in str(info.value)


def test_uk_double_ring_is_one_ring_per_cycle() -> None:
    c = compose(CallSpec(duration=10.0, ringback=RingbackSpec(0.3, 3, cadence="uk")))
    result = detect_rings(c.parties["agent"], 8000, CADENCES["uk"])
    assert result is not None
    assert len(result.bursts) == 6
    assert result.rings == 3
    # the US detector does not hear UK ringback
    assert detect_rings(c.parties["agent"], 8000, CADENCES["us"]) is None


def test_a_ring_cut_short_by_the_answer_is_not_counted() -> None:
    bursts = [(0.0, 2.0), (6.0, 8.0), (12.0, 12.7)]
    assert count_rings(bursts, CADENCES["us"], before=12.7) == 2


def test_silent_hold_is_not_dead_air_but_is_without_hold_info() -> None:
    spec = CallSpec(
        duration=30.0,
        utterances=(Utterance("agent", 1.0, "hello-world"), Utterance("agent", 25.0, "goodbye")),
        holds=(HoldSpec(4.0, 20.0, moh=None),),
    )
    c = compose(spec)
    without = analyze(c.parties, 8000, answer_at=0.0)
    assert len(without.dead_air) == 1 and without.dead_air[0].seconds() > 20
    with_hold = analyze(c.parties, 8000, answer_at=0.0, holds=[Span(4.0, 20.0)])
    assert with_hold.dead_air == ()
    assert with_hold.greeting_latency_seconds == pytest.approx(1.0, abs=0.1)


def test_mono_mix_gives_greeting_and_dead_air_but_no_overtalk() -> None:
    spec = CallSpec(
        duration=20.0,
        utterances=(Utterance("agent", 2.0, "hello-world"), Utterance("caller", 16.0, "goodbye")),
    )
    c = compose(spec)
    mixed = (c.parties["agent"].astype(np.int32) + c.parties["caller"]).astype(np.int16)
    facts = analyze({"mixed": mixed}, 8000, answer_at=0.5)
    assert facts.greeting_latency_seconds == pytest.approx(1.5, abs=0.1)
    assert len(facts.dead_air) == 1
    assert facts.overtalk == () and facts.overtalk_ratio == 0.0
    assert [p for p, _ in facts.talk_ratio] == ["mixed"]


def test_no_answer_offset_estimates_it_from_the_last_ringback_burst() -> None:
    spec = CallSpec(
        duration=20.0,
        ringback=RingbackSpec(0.0, 2),
        utterances=(Utterance("agent", 9.0, "hello-world"),),
    )
    facts = analyze(compose(spec).parties, 8000)
    assert facts.rings_heard == 2
    assert facts.greeting_latency_seconds == pytest.approx(9.0 - 8.0, abs=0.1)


def test_parties_of_different_length_are_refused() -> None:
    with pytest.raises(AudioError, match="differ in length"):
        analyze({"agent": np.zeros(100, np.int16), "caller": np.zeros(90, np.int16)}, 8000)
