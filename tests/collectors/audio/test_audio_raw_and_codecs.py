"""Headerless raw audio and non-PCM WAV codecs (issue 16 item 14): the error names the codec
("G.711 mu-law", not "0x0007") and gives a sox command that works on the file; raw audio can
be analysed as it is with --raw-rate/--raw-encoding/--raw-channels."""

from __future__ import annotations

import json
import shlex
import struct
import subprocess
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from collectors.audio.compose import SOUNDS_DIR, CallSpec, Utterance, compose, write_stereo
from collectors.audio.wavfile import RawFormat, codec_name, read_raw, read_wav
from monitor.cli import audio_cmd
from monitor.errors import AudioError

PROMPT = str(SOUNDS_DIR / "hello-world.wav")


def _sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True, timeout=60)


def _cli() -> click.Group:
    group = click.Group("ringwatch")
    audio_cmd.register(group)
    return group


@pytest.mark.parametrize(
    ("suffix", "sox_out"),
    [
        (".sln", ["-t", "raw", "-e", "signed-integer", "-b", "16"]),
        (".raw", ["-t", "raw", "-e", "signed-integer", "-b", "16"]),
        (".ul", ["-t", "raw", "-e", "mu-law", "-b", "8"]),
        (".al", ["-t", "raw", "-e", "a-law", "-b", "8"]),
        (".gsm", ["-t", "gsm"]),
    ],
)
def test_headerless_file_gets_a_sox_command_that_works(
    tmp_path: Path, suffix: str, sox_out: list[str]
) -> None:
    """The suggested command converts the file (it used to fail: "sampling rate was not
    specified") into a WAV that reads back as the prompt."""
    raw = tmp_path / f"leg{suffix}"
    _sox(PROMPT, *sox_out, str(raw))
    with pytest.raises(AudioError) as info:
        read_wav(raw)
    message = str(info.value)
    assert message.startswith(f"{raw}: not a WAV file")
    command = message.split("e.g. ", 1)[1].split("; or ", 1)[0]
    assert command.startswith("sox ") and "-r 8000" in command and "-c 1" in command
    subprocess.run(shlex.split(command), check=True, capture_output=True, timeout=60)
    wav_info, got = read_wav(raw.with_suffix(".wav"))
    _, ref = read_wav(PROMPT)
    assert (wav_info.rate, wav_info.channels) == (8000, 1)
    assert len(ref) <= wav_info.frames < len(ref) + 160  # GSM pads to a 160-sample frame
    corr = np.corrcoef(got[: len(ref), 0].astype(float), ref[:, 0].astype(float))[0, 1]
    assert corr > (0.9 if suffix == ".gsm" else 0.999)  # GSM 6.10 is lossy


@pytest.mark.parametrize(
    ("encoding", "sox_out", "max_err"),
    [
        ("s16le", ["-e", "signed-integer", "-b", "16"], 0),
        ("ulaw", ["-e", "mu-law", "-b", "8"], 40),
        ("alaw", ["-e", "a-law", "-b", "8"], 40),
    ],
)
def test_raw_audio_is_read_with_its_format(
    tmp_path: Path, encoding: str, sox_out: list[str], max_err: int
) -> None:
    raw = tmp_path / "leg.raw"
    _sox(PROMPT, "-t", "raw", *sox_out, str(raw))
    info, got = read_raw(raw, RawFormat(8000, encoding, 1))
    _, ref = read_wav(PROMPT)
    assert (info.rate, info.channels, info.frames) == (8000, 1, len(ref))
    assert np.abs(got[:, 0].astype(np.int32) - ref[:, 0]).max() <= max(max_err * 20, 0)
    assert np.abs(got[:, 0].astype(np.int32) - ref[:, 0]).mean() <= max_err


def test_g711_wav_is_decoded_and_other_codecs_are_named(tmp_path: Path) -> None:
    ulaw = tmp_path / "ulaw.wav"
    _sox(PROMPT, "-e", "mu-law", str(ulaw))
    info, got = read_wav(ulaw)
    _, ref = read_wav(PROMPT)
    assert info.frames == len(ref)
    assert np.abs(got[:, 0].astype(np.int32) - ref[:, 0]).mean() < 40
    for encoding, name in (("gsm-full-rate", "GSM 6.10"), ("ima-adpcm", "IMA ADPCM")):
        path = tmp_path / f"{encoding}.wav"
        _sox(PROMPT, "-e", encoding, str(path))
        with pytest.raises(AudioError, match=rf"{name} \(format tag 0x00[0-9a-f]{{2}}\)") as e:
            read_wav(path)
        fix = str(e.value).split("convert it with: ", 1)[1]
        out = tmp_path / f"{encoding}-fixed.wav"
        subprocess.run(
            shlex.split(fix.replace("IN.wav", str(path)).replace("OUT.wav", str(out))),
            check=True,
            capture_output=True,
            timeout=60,
        )
        assert read_wav(out)[0].frames > 0
    assert codec_name(7) == "G.711 mu-law (format tag 0x0007)"
    assert codec_name(6) == "G.711 A-law (format tag 0x0006)"
    assert codec_name(0x1234) == "unknown codec (format tag 0x1234)"


def test_cli_analyses_raw_legs(tmp_path: Path) -> None:
    spec = CallSpec(
        duration=12.0,
        utterances=(
            Utterance("agent", 1.5, "queue-thankyou"),
            Utterance("caller", 6.0, "hello-world"),
        ),
    )
    wav = write_stereo(compose(spec), tmp_path / "call.wav")
    legs = []
    for i, name in enumerate(("r", "t")):
        out = tmp_path / f"{name}.ul"
        _sox(str(wav), "-t", "raw", "-e", "mu-law", "-b", "8", str(out), "remix", str(i + 1))
        legs.append(str(out))
    args = ["audio", "analyze", *legs, "--answer-at", "0", "--json"]
    refused = CliRunner().invoke(_cli(), args)
    assert refused.exit_code != 0 and "--raw-encoding ulaw" in str(refused.exception)
    result = CliRunner().invoke(_cli(), [*args, "--raw-rate", "8000", "--raw-encoding", "ulaw"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert abs(data["greeting_latency_seconds"] - 1.5) <= 0.1
    assert data["duration_seconds"] == pytest.approx(12.0, abs=0.01)


def test_raw_options_refuse_a_wav_and_a_bad_format(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="drop the --raw-"):
        read_raw(PROMPT, RawFormat())
    with pytest.raises(AudioError, match="not one of s16le, ulaw, alaw"):
        RawFormat(8000, "mp3")
    body = b"fmt " + struct.pack("<I", 16) + struct.pack("<HHIIHH", 7, 1, 8000, 16000, 2, 16)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(
        b"RIFF" + struct.pack("<I", 4 + len(body) + 8) + b"WAVE" + body + b"data" + bytes(4)
    )
    with pytest.raises(AudioError, match=r"G\.711 mu-law .* 16-bit samples is malformed"):
        read_wav(bad)
