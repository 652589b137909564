"""MixMonitor on the real Asterisk: the recording of a call where the agent speaks Asterisk's
own prompts, analysed for greeting latency and dead air, live by ``ringwatch run`` (audio on)
and directly; truth from the AMI (Playback's Newexten Timestamp) and the prompt files."""

from __future__ import annotations

import wave
from array import array
from pathlib import Path

import pytest

from collectors.audio.analysis import analyze_files
from tests.lab.asterisk import SOUNDS
from tests.lab.conftest import LabRun
from tests.lab.live import figure, until
from tests.lab.truth import truth_for

NAME = "mixmonitor_greeting_dead_air"
AUDIO_TOL = 0.12  # VAD frames of 30 ms (edges refined to 10 ms) and 20 ms RTP frames


def _speech_edges(path: Path, threshold: int = 300) -> tuple[float, float]:
    """First and last sample louder than ``threshold`` in a prompt (its own silences)."""
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        pcm = array("h", w.readframes(w.getnframes()))
    loud = [i for i, x in enumerate(pcm) if abs(x) > threshold]
    return loud[0] / rate, loud[-1] / rate


def _playbacks(run: LabRun, call_id: str) -> dict[str, float]:
    return {
        str(m.get("AppData")): float(m.get("Timestamp") or 0)
        for m in run.messages
        if m.get("Event") == "Newexten" and m.get("Application") == "Playback"
        and m.get("Linkedid") == call_id
    }  # fmt: skip


def test_recording_greeting_and_dead_air(lab_run: LabRun) -> None:
    sc = lab_run.scenarios[NAME]
    (record,) = lab_run.result.by_caller(sc.caller)
    truth = truth_for(lab_run.messages, record.call_id)
    assert record.recording is not None and record.recording.endswith(f"lab-{record.call_id}.wav")
    path = Path(record.recording)
    assert path.exists(), f"MixMonitor wrote no {path}"
    plays = _playbacks(lab_run, record.call_id)
    hello_on, hello_off = _speech_edges(SOUNDS / "sounds/en/hello-world.wav")
    pass_on, _ = _speech_edges(SOUNDS / "sounds/en/agent-pass.wav")
    assert truth.answered is not None
    greeting = plays["hello-world"] + hello_on - truth.answered
    silence = (plays["agent-pass"] + pass_on) - (plays["hello-world"] + hello_off)
    facts = analyze_files([path], answer_at=0.0)
    figure("greeting", {"ringwatch": facts.greeting_latency_seconds, "truth": greeting})
    figure("dead_air", {"ringwatch": [s.seconds() for s in facts.dead_air], "truth": silence})
    assert facts.greeting_latency_seconds == pytest.approx(greeting, abs=AUDIO_TOL)
    assert [round(s.seconds(), 1) for s in facts.dead_air] == [
        pytest.approx(silence, abs=AUDIO_TOL)
    ]


def test_live_audio_findings(lab_run: LabRun) -> None:
    """``ringwatch run`` (audio enabled) analyses the recording after the call: greeting met,
    dead air over 10 s breached (finding stored)."""
    sc = lab_run.scenarios[NAME]
    (record,) = lab_run.result.by_caller(sc.caller)
    live = lab_run.live

    def found() -> bool:
        return any(
            f["call_id"] == record.call_id and f["rule"] == "no-dead-air-over-10s"
            for f in live.rows("findings")
        )

    until("the live dead-air finding", found, 30)
    rules = {str(f["rule"]) for f in live.rows("findings") if f["call_id"] == record.call_id}
    assert rules == {"no-dead-air-over-10s"}


def test_sipp_caller_speech_in_leg_recordings(lab_run: LabRun) -> None:
    """A SIPp caller plays tt-weasels as RTP (pcap written by tests/lab/rtp.py) 3 s after the
    answer; the agent says hello-world 1 s after answering. MixMonitor's leg files (r: the
    caller, t: the agent) put each party's speech where it was said."""
    sc = lab_run.scenarios["sipp_caller_speech_recording"]
    (record,) = lab_run.result.by_caller(sc.caller)
    truth = truth_for(lab_run.messages, record.call_id)
    assert truth.answered is not None
    base = Path(str(record.recording)).with_suffix("")
    caller_leg, agent_leg = Path(f"{base}-caller.wav"), Path(f"{base}-agent.wav")
    assert caller_leg.exists() and agent_leg.exists()
    facts = analyze_files([caller_leg, agent_leg], answer_at=0.0)
    speech = dict(facts.speech)
    hello_on, _ = _speech_edges(SOUNDS / "sounds/en/hello-world.wav")
    weasels_on, _ = _speech_edges(SOUNDS / "sounds/en/tt-weasels.wav")
    greeting = _playbacks(lab_run, record.call_id)["hello-world"] + hello_on - truth.answered
    assert facts.greeting_latency_seconds == pytest.approx(greeting, abs=AUDIO_TOL)
    assert speech["agent"][0].start == pytest.approx(greeting, abs=AUDIO_TOL)
    # SIPp starts the RTP when it sends the ACK, a few ms after the answer
    figure(
        "sipp_speech",
        {"greeting": (facts.greeting_latency_seconds, greeting),
         "caller_first_speech": (speech["caller"][0].start, 3.0 + weasels_on)},
    )  # fmt: skip
    assert speech["caller"][0].start == pytest.approx(3.0 + weasels_on, abs=AUDIO_TOL)
    assert facts.dead_air == ()
