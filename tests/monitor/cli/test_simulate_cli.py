"""``ringwatch simulate --recordings DIR --keep-recordings N``: what the compose demo runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli.main import main


def test_simulator_server_keeps_the_newest_recordings(tmp_path: Path) -> None:
    recordings = tmp_path / "monitor"
    args = ["simulate", "--listen", "127.0.0.1:0", "--secret", "s", "--speed", "200"]
    args += ["--recordings", str(recordings), "--keep-recordings", "2", "--run-for", "4s"]
    assert main(args) == 0
    wavs = list(recordings.rglob("*.wav"))
    assert 1 <= len(wavs) <= 2, wavs


def test_keep_recordings_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--secret", "s", "--keep-recordings", "0"]) == 2
    assert "--keep-recordings" in capsys.readouterr().err
