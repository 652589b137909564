"""Facts from composed recordings of real prompts match the truth of how they were built."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from collectors.audio.analysis import analyze, analyze_files
from collectors.audio.compose import (
    CallSpec,
    Composed,
    HoldSpec,
    RingbackSpec,
    Utterance,
    compose,
    load_prompt,
    write_legs,
    write_stereo,
)
from monitor.record import AudioFacts, Span

ANSWER_AT = 17.0
HOLD = (44.5, 84.5)


@dataclass(frozen=True)
class CallFiles:
    composed: Composed
    stereo: dict[int, Path]  # rate -> stereo WAV (caller left, agent right)
    legs: tuple[Path, Path]  # 8 kHz r() (caller) and t() (agent) files
    overtalk: tuple[float, float]


def scenario() -> tuple[CallSpec, tuple[float, float]]:
    """3 US rings, answer at 17 s, greeting 1.8 s later, 12 s dead air, 40 s hold with music
    (the caller talks during it), 2 s of overtalk, goodbye."""
    long_len = len(load_prompt("demo-thanks", 8000)) / 8000
    agent_long = 85.0
    caller_cut_in = agent_long + long_len - 2.0
    spec = CallSpec(
        duration=97.0,
        rate=8000,
        ringback=RingbackSpec(start=0.5, count=3, cadence="us"),
        utterances=(
            Utterance("agent", ANSWER_AT + 1.8, "queue-thankyou"),
            Utterance("caller", 21.0, "vm-calldiffnum"),
            Utterance("agent", 24.5, "one-moment-please"),
            Utterance("caller", 38.5, "please-try-call-later"),
            Utterance("agent", 41.5, "transfer"),
            Utterance("caller", 58.0, "queue-periodic-announce"),
            Utterance("agent", agent_long, "demo-thanks"),
            Utterance("caller", caller_cut_in, "vm-advopts"),
            Utterance("agent", 93.5, "goodbye"),
        ),
        holds=(HoldSpec(*HOLD),),
    )
    return spec, (caller_cut_in, agent_long + long_len)


@pytest.fixture(scope="session")
def call_files(tmp_path_factory: pytest.TempPathFactory) -> CallFiles:
    base = tmp_path_factory.mktemp("audio-call")
    spec, overtalk = scenario()
    composed = compose(spec)
    stereo = {8000: write_stereo(composed, base / "call-8k.wav")}
    for rate in (16000, 48000):
        out = base / f"call-{rate // 1000}k.wav"
        subprocess.run(
            ["sox", str(stereo[8000]), "-r", str(rate), str(out)], check=True, capture_output=True
        )
        stereo[rate] = out
    legs = write_legs(composed, (base / "call-r.wav", base / "call-t.wav"))
    return CallFiles(composed, stereo, (legs[0], legs[1]), overtalk)


TOL = 0.1
HOLDS = [Span(*HOLD)]


def facts_of(files: CallFiles, rate: int = 8000) -> AudioFacts:
    return analyze_files([files.stereo[rate]], answer_at=ANSWER_AT, holds=HOLDS)


def test_greeting_latency_is_timed_from_the_answer(call_files: CallFiles) -> None:
    facts = facts_of(call_files)
    assert facts.greeting_latency_seconds == pytest.approx(1.8, abs=TOL)


def test_every_utterance_is_found_with_its_edges(call_files: CallFiles) -> None:
    speech = dict(facts_of(call_files).speech)
    for party, start, end in call_files.composed.truth.utterances:
        found = [s for s in speech[party] if abs(s.start - start) <= TOL]
        assert found, f"{party} speech starting at {start:.3f}s not found in {speech[party]}"
        # the agent's utterance right after the hold may join the music's last span, so only
        # its start is compared; every other end must match too
        if not (party == "agent" and abs(start - HOLD[1]) < 1):
            assert found[0].end == pytest.approx(end, abs=TOL), (party, start)


def test_dead_air_is_the_twelve_second_gap_and_excludes_the_hold(call_files: CallFiles) -> None:
    truth = {(p, round(a, 3)): b for p, a, b in call_files.composed.truth.utterances}
    gap_start = truth[("agent", 24.5)]
    facts = facts_of(call_files)
    assert len(facts.dead_air) == 1
    gap = facts.dead_air[0]
    assert gap.start == pytest.approx(gap_start, abs=TOL)
    assert gap.end == pytest.approx(38.5, abs=TOL)
    assert 11.5 < gap.seconds() < 13.0
    assert all(
        s.end is not None and (s.end <= HOLD[0] or s.start >= HOLD[1]) for s in facts.dead_air
    )


def test_overtalk_is_two_seconds_and_none_during_hold(call_files: CallFiles) -> None:
    facts = facts_of(call_files)
    assert len(facts.overtalk) == 1, facts.overtalk
    span = facts.overtalk[0]
    assert span.start == pytest.approx(call_files.overtalk[0], abs=TOL)
    assert span.end == pytest.approx(call_files.overtalk[1], abs=TOL)
    assert span.seconds() == pytest.approx(2.0, abs=2 * TOL)
    assert 0 < facts.overtalk_ratio < 0.3


def test_without_holds_the_caller_talking_over_music_is_overtalk(call_files: CallFiles) -> None:
    facts = analyze_files([call_files.stereo[8000]], answer_at=ANSWER_AT)
    assert any(HOLD[0] <= s.start <= HOLD[1] for s in facts.overtalk)


def test_rings_counted_exactly(call_files: CallFiles) -> None:
    assert facts_of(call_files).rings_heard == call_files.composed.truth.rings == 3


def test_talk_ratio_per_party(call_files: CallFiles) -> None:
    facts = facts_of(call_files)
    ratios = dict(facts.talk_ratio)
    window = facts.duration_seconds - ANSWER_AT - (HOLD[1] - HOLD[0])
    for party in ("agent", "caller"):
        said = sum(
            min(b, facts.duration_seconds) - a
            for p, a, b in call_files.composed.truth.utterances
            if p == party and not HOLD[0] <= a < HOLD[1]
        )
        assert ratios[party] == pytest.approx(said / window, abs=0.03), party


def test_split_legs_give_the_same_facts_as_stereo(call_files: CallFiles) -> None:
    stereo = facts_of(call_files)
    legs = analyze_files(list(call_files.legs), answer_at=ANSWER_AT, holds=HOLDS)
    assert legs == stereo


def test_swapped_party_mapping_swaps_the_greeting(call_files: CallFiles) -> None:
    swapped = analyze_files(
        [call_files.stereo[8000]], answer_at=ANSWER_AT, holds=HOLDS, parties=("agent", "caller")
    )
    # the "agent" is now the left channel (the caller), who first speaks at 21.0 s
    assert swapped.greeting_latency_seconds == pytest.approx(21.0 - ANSWER_AT, abs=TOL)


@pytest.mark.parametrize("rate", [16000, 48000])
def test_other_rates_agree_with_8k_within_30ms(call_files: CallFiles, rate: int) -> None:
    base, other = facts_of(call_files), facts_of(call_files, rate)
    assert other.rings_heard == base.rings_heard
    assert base.greeting_latency_seconds is not None
    assert other.greeting_latency_seconds == pytest.approx(base.greeting_latency_seconds, abs=0.03)
    for name in ("dead_air", "overtalk"):
        a, b = getattr(base, name), getattr(other, name)
        assert len(a) == len(b), name
        for x, y in zip(a, b, strict=True):
            assert y.start == pytest.approx(x.start, abs=0.03)
            assert y.end == pytest.approx(x.end, abs=0.03)
    assert other.duration_seconds == pytest.approx(base.duration_seconds, abs=0.01)


def test_pure_analyze_matches_files(call_files: CallFiles) -> None:
    c = call_files.composed
    assert analyze(c.parties, c.rate, ANSWER_AT, HOLDS) == facts_of(call_files)
