"""Live capture through PyAudio from a real PortAudio device.

A private PulseAudio server (null sink, native protocol on a socket in tmp) runs for the test;
``paplay`` plays a real prompt into the sink and PyAudio records its ``.monitor`` source through
PortAudio's ALSA ``pulse`` device. Nothing is mocked between PortAudio and the samples.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from collectors.audio.compose import SOUNDS_DIR
from collectors.audio.source import DeviceSpec, iter_device_blocks, record_device, resample
from collectors.audio.vad import VadSettings, detect_speech
from collectors.audio.wavfile import read_wav

PROMPT = str(SOUNDS_DIR / "demo-thanks.wav")  # 5.5 s of speech


@pytest.fixture()
def pulse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    run = tmp_path / "run"
    run.mkdir()
    sock = run / "native"
    config = tmp_path / "pa.pa"
    config.write_text(
        "load-module module-null-sink sink_name=rw rate=16000 channels=1\n"
        f"load-module module-native-protocol-unix auth-anonymous=1 socket={sock}\n"
        "set-default-sink rw\nset-default-source rw.monitor\n"
    )
    env = {**os.environ, "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(run)}
    env["PULSE_SERVER"] = f"unix:{sock}"
    proc = subprocess.Popen(
        [
            "pulseaudio",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "-n",
            "-F",
            str(config),
            "--disallow-exit",
            "--log-target=stderr",
            "--log-level=info",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # the server logs "Daemon startup complete." once the socket is listening
        assert proc.stderr is not None
        for line in proc.stderr:
            if "startup complete" in line.lower():
                break
        else:
            pytest.fail(f"pulseaudio exited with {proc.wait()} before it was ready")
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep draining
        for key in ("HOME", "XDG_RUNTIME_DIR", "PULSE_SERVER"):
            monkeypatch.setenv(key, env[key])
        yield env["PULSE_SERVER"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_pyaudio_records_what_is_played_into_the_null_sink(pulse: str) -> None:
    spec = DeviceSpec(device="pulse", rate=16000, channels=1, frames_per_buffer=320)
    blocks = []
    player: subprocess.Popen[bytes] | None = None
    try:
        for block in iter_device_blocks(spec, max_seconds=8.0):
            if player is None:  # the stream is open and delivering: now play the prompt
                player = subprocess.Popen(["paplay", "--device=rw", PROMPT])
            blocks.append(block)
    finally:
        assert player is not None
        assert player.wait(timeout=20) == 0
    signal = np.concatenate(blocks)[:, 0]
    assert len(signal) / 16000 == pytest.approx(8.0, abs=0.05)
    assert int(np.abs(signal.astype(np.int32)).max()) > 1000  # real audio, not silence
    speech = detect_speech(resample(signal, 16000, 8000), VadSettings())
    heard = sum(b - a for a, b in speech)
    prompt_speech = sum(b - a for a, b in detect_speech(read_wav(PROMPT)[1][:, 0], VadSettings()))
    assert heard == pytest.approx(prompt_speech, abs=0.3), speech


def test_record_device_returns_a_recording(pulse: str) -> None:
    recording = record_device(DeviceSpec(device="pulse", rate=16000), seconds=0.5)
    assert recording.rate == 16000 and list(recording.parties) == ["mixed"]
    assert recording.duration_seconds == pytest.approx(0.5, abs=0.03)


def test_unknown_device_name_lists_devices(pulse: str) -> None:
    from monitor.errors import AudioError

    with pytest.raises(
        AudioError, match=r"no input device matches 'no-such-mic'; devices: .*pulse"
    ):
        record_device(DeviceSpec(device="no-such-mic"), seconds=0.1)
