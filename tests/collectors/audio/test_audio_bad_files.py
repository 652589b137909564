"""Unusable recordings fail with an AudioError that names the file and says what is wrong."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from collectors.audio.analysis import analyze_files
from collectors.audio.compose import SOUNDS_DIR
from collectors.audio.wavfile import read_wav, write_wav
from monitor.errors import AudioError

PROMPT = str(SOUNDS_DIR / "hello-world.wav")


def _sox(tmp: Path, name: str, *args: str) -> Path:
    out = tmp / name
    subprocess.run(["sox", PROMPT, *args, str(out)], check=True, capture_output=True)
    return out


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    good = tmp / "good.wav"
    write_wav(good, 8000, np.zeros(8000, dtype=np.int16) + 100)
    raw = good.read_bytes()
    empty = tmp / "empty.wav"
    empty.write_bytes(b"")
    corrupt = tmp / "corrupt.wav"
    corrupt.write_bytes(bytes(range(256)) * 4)
    truncated = tmp / "truncated.wav"
    truncated.write_bytes(raw[: len(raw) // 2])
    mp3 = tmp / "song.wav"
    mp3.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + bytes(400))
    headless = tmp / "headless.wav"
    headless.write_bytes(raw[:36])  # RIFF/WAVE/fmt but no data chunk
    float_wav = tmp / "float.wav"
    fmt = struct.pack("<HHIIHH", 3, 1, 8000, 32000, 4, 32)
    body = b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", 8) + bytes(8)
    float_wav.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body)
    return {
        "empty": (empty, "empty"),
        "corrupt": (corrupt, "not a WAV file"),
        "truncated": (truncated, "truncated"),
        "mp3": (mp3, "MP3"),
        "no data": (headless, "no 'data' chunk"),
        "8-bit": (_sox(tmp, "eight.wav", "-b", "8"), "8-bit samples are not supported"),
        "24-bit": (_sox(tmp, "twentyfour.wav", "-b", "24"), "24-bit samples are not supported"),
        "float": (float_wav, "floating-point"),
        "4 channels": (_sox(tmp, "quad.wav", "-c", "4"), "4 channels are not supported"),
        "missing": (tmp / "nope.wav", "cannot read"),
    }


CASES = ["empty", "corrupt", "truncated", "mp3", "no data", "8-bit", "24-bit", "float",
         "4 channels", "missing"]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_bad_file_gives_clear_audio_error(tmp_path: Path, case: str) -> None:
    path, words = _bad_files(tmp_path)[case]
    with pytest.raises(AudioError) as info:
        analyze_files([path])
    message = str(info.value)
    assert str(path) in message
    assert words in message


def test_truncated_message_says_what_to_do(tmp_path: Path) -> None:
    path, _ = _bad_files(tmp_path)["truncated"]
    with pytest.raises(AudioError, match="copy the recording again"):
        read_wav(path)


def test_legs_with_different_rates_are_refused(tmp_path: Path) -> None:
    a, b = tmp_path / "r.wav", tmp_path / "t.wav"
    write_wav(a, 8000, np.zeros(800, dtype=np.int16))
    write_wav(b, 16000, np.zeros(1600, dtype=np.int16))
    with pytest.raises(AudioError, match=r"t\.wav: sample rate 16000 Hz differs"):
        analyze_files([a, b])


def test_stereo_leg_file_is_refused(tmp_path: Path) -> None:
    a, b = tmp_path / "r.wav", tmp_path / "t.wav"
    write_wav(a, 8000, np.zeros(800, dtype=np.int16))
    write_wav(b, 8000, np.zeros((800, 2), dtype=np.int16))
    with pytest.raises(AudioError, match="must be mono"):
        analyze_files([a, b])


def test_sox_written_16bit_file_reads_back_exactly(tmp_path: Path) -> None:
    path = _sox(tmp_path, "copy.wav")
    info, data = read_wav(path)
    _, ref = read_wav(PROMPT)
    assert (info.rate, info.channels) == (8000, 1)
    assert np.array_equal(data, ref)
