"""``ringwatch audio analyze``: text, JSON and the timeline PNG."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner
from PIL import Image

from collectors.audio.compose import (
    CallSpec,
    HoldSpec,
    RingbackSpec,
    Utterance,
    compose,
    write_legs,
    write_stereo,
)
from monitor.cli import audio_cmd
from monitor.errors import AudioError, InputError


def _cli() -> click.Group:
    group = click.Group("ringwatch")
    audio_cmd.register(group)
    return group


def _call(tmp: Path) -> Path:
    spec = CallSpec(
        duration=40.0,
        ringback=RingbackSpec(0.0, 2),
        utterances=(
            Utterance("agent", 13.5, "queue-thankyou"),
            Utterance("caller", 16.0, "hello-world"),
            Utterance("agent", 36.0, "goodbye"),
        ),
        holds=(HoldSpec(18.0, 22.0),),
    )
    c = compose(spec)
    write_legs(c, (tmp / "r.wav", tmp / "t.wav"))
    return write_stereo(c, tmp / "call.wav")


def test_json_output_and_png(tmp_path: Path) -> None:
    wav = _call(tmp_path)
    png = tmp_path / "call.png"
    args = ["audio", "analyze", str(wav), "--answer-at", "12", "--hold", "18-22", "--json"]
    result = CliRunner().invoke(_cli(), [*args, "--png", str(png)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert abs(data["greeting_latency_seconds"] - 1.5) <= 0.1
    assert data["rings_heard"] == 2
    assert len(data["dead_air"]) == 1 and abs(data["dead_air"][0]["start"] - 22.0) <= 0.1
    assert set(data["talk_ratio"]) == {"agent", "caller"}
    with Image.open(png) as img:
        assert img.format == "PNG" and img.size[0] == 1400 and img.size[1] > 200


def test_text_output_from_two_leg_files(tmp_path: Path) -> None:
    _call(tmp_path)
    args = [
        "audio",
        "analyze",
        str(tmp_path / "r.wav"),
        str(tmp_path / "t.wav"),
        "--answer-at",
        "12",
    ]
    result = CliRunner().invoke(_cli(), args)
    assert result.exit_code == 0, result.output
    assert "greeting latency   1.5" in result.output
    assert "rings heard        2" in result.output


def test_bad_hold_and_bad_file_are_clear_errors(tmp_path: Path) -> None:
    wav = _call(tmp_path)
    result = CliRunner().invoke(_cli(), ["audio", "analyze", str(wav), "--hold", "20-10"])
    assert isinstance(result.exception, InputError)
    assert "--hold '20-10': END must be after START" in str(result.exception)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"")
    result = CliRunner().invoke(_cli(), ["audio", "analyze", str(bad)])
    assert isinstance(result.exception, AudioError)
    assert f"{bad}: the file is empty" in str(result.exception)
