"""Replay input errors (issue 20 item 6) and streaming memory (issue 18 item 1).

Each bad input is one line on stderr naming the file, what is wrong and what to do, and exit
code 2; memory stays bounded whatever the input size.
"""

from __future__ import annotations

import gzip
import os
import random
import zlib
from pathlib import Path

import pytest
from history_testkit import ANSWERED, QUEUE, repeated_transcript, run_cli_measured

from monitor.cli.main import main
from monitor.errors import TranscriptError
from monitor.history.ami_stream import AmiFileEvents
from monitor.history.source import InputFile

MIB = 1 << 20


def _one_line_error(err: str, path: Path | str, *words: str) -> None:
    lines = [x for x in err.splitlines() if x.strip() and not x.startswith("replay:")]
    assert len(lines) == 1, err
    assert lines[0].startswith("ringwatch: error: ") and str(path) in lines[0], err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], err


def test_corrupt_gzip_is_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = gzip.compress(ANSWERED.read_bytes())
    bad = tmp_path / "corrupt.ami.gz"
    bad.write_bytes(good[:200] + bytes(b ^ 0x55 for b in good[200:400]) + good[400:])
    assert main(["replay", str(bad)]) == 2
    _one_line_error(capsys.readouterr().err, bad, "corrupt gzip", "gzip -t")


def test_truncated_gzip_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cut = tmp_path / "cut.ami.gz"
    cut.write_bytes(gzip.compress(ANSWERED.read_bytes())[:-40])
    assert main(["replay", str(cut)]) == 2
    _one_line_error(capsys.readouterr().err, cut, "ends early")


def test_multi_member_gzip_is_read_whole(tmp_path: Path) -> None:
    data = ANSWERED.read_bytes()
    two = tmp_path / "two.gz"
    two.write_bytes(gzip.compress(data[:5000]) + gzip.compress(data[5000:]))
    assert b"".join(InputFile(two, chunk_bytes=4096).chunks()) == data


def test_random_bytes_exit_2_with_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    noise = tmp_path / "noise.ami"
    noise.write_bytes(random.Random(20).randbytes(3 * MIB))
    assert main(["replay", str(noise)]) == 2
    _one_line_error(capsys.readouterr().err, noise, "no AMI messages found")


def test_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "calls.fifo"
    os.mkfifo(fifo)
    code, _, err = run_cli_measured(["replay", str(fifo)], tmp_path, timeout=60)
    assert code == 2
    _one_line_error(err, fifo, "named pipe", "'-'")


def test_stdin_is_read_when_given_as_dash(tmp_path: Path) -> None:
    code, _, err = run_cli_measured(
        ["replay", "--no-rules", "-"], tmp_path, stdin=ANSWERED.read_bytes()
    )
    assert code == 0, err
    assert "1 calls" in err


@pytest.mark.parametrize("chunk", [1000, 4096, 1 << 20])
def test_a_line_over_the_limit_is_refused_at_any_chunk_split(tmp_path: Path, chunk: int) -> None:
    text = ANSWERED.read_bytes()
    ok, bad = tmp_path / "ok.ami", tmp_path / "bad.ami"
    ok.write_bytes(text)
    bad.write_bytes(text + b"x" * 6000 + b"\n" + text)
    assert b"".join(InputFile(ok, chunk_bytes=chunk, max_line_bytes=5000).chunks()) == text
    with pytest.raises(TranscriptError, match="without a line break"):
        list(InputFile(bad, chunk_bytes=chunk, max_line_bytes=5000).chunks())


@pytest.mark.slow
def test_sparse_2gb_file_of_zeros_bounded_memory(tmp_path: Path) -> None:
    sparse = tmp_path / "zeros.ami"
    with sparse.open("wb") as fh:
        fh.truncate(2 << 30)
    code, peak, err = run_cli_measured(["replay", str(sparse)], tmp_path, timeout=120)
    assert code == 2
    _one_line_error(err, sparse, "without a line break")
    assert peak < 150, f"peak RSS {peak:.0f} MiB"


def _gzip_bomb(path: Path, unit: bytes, total: int) -> None:
    """``total`` bytes of ``unit`` as 16 concatenated gzip members (quicker to make)."""
    comp = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = unit * (MIB // len(unit))
    member = b"".join(comp.compress(block) for _ in range(total // MIB // 16)) + comp.flush()
    with path.open("wb") as fh:
        for _ in range(16):
            fh.write(member)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("unit", "message"),
    [(b"\x00", "without a line break"), (b"\n", "no AMI messages found in the first 8 MiB")],
)
def test_1gb_gzip_bomb_bounded_memory(tmp_path: Path, unit: bytes, message: str) -> None:
    bomb = tmp_path / "bomb.ami.gz"
    _gzip_bomb(bomb, unit, 1 << 30)
    assert bomb.stat().st_size < 8 * MIB
    code, peak, err = run_cli_measured(["replay", str(bomb)], tmp_path, timeout=120)
    assert code == 2
    _one_line_error(err, bomb, message)
    assert peak < 150, f"peak RSS {peak:.0f} MiB"


def test_no_ami_in_the_probe_window_stops_early(tmp_path: Path) -> None:
    text = tmp_path / "words.txt"
    text.write_bytes(b"hello: world\nnot ami at all\n\n" * 200_000)  # ~5.8 MiB
    stream = AmiFileEvents(InputFile(text), probe_bytes=MIB)
    with pytest.raises(TranscriptError, match="first 1 MiB"):
        list(stream)
    assert stream.source.offset < 3 * MIB  # stopped near the probe, not at the end


def test_resume_offset_skips_the_partial_message() -> None:
    data = QUEUE.read_bytes()
    whole = list(AmiFileEvents(InputFile(QUEUE)))
    middle = len(data) // 2
    resumed = list(AmiFileEvents(InputFile(QUEUE), start=middle))
    assert 0 < len(resumed) < len(whole)
    first = len(whole) - len(resumed)
    same = [(type(e), getattr(e, "queue", None)) for e in whole[first:]]
    assert [(type(e), getattr(e, "queue", None)) for e in resumed] == same
    # without Timestamp headers the estimated clock goes on from the resume point's time (the
    # checkpoint's): then the resumed events are exactly the whole stream's
    before = whole[first - 1].at
    seeded = list(AmiFileEvents(InputFile(QUEUE), start=middle, start_at=before))
    assert seeded == whole[first:]


@pytest.mark.slow
def test_replay_memory_is_flat_whatever_the_size(tmp_path: Path) -> None:
    small, large = tmp_path / "small.ami", tmp_path / "large.ami.gz"
    repeated_transcript(small, 12 * MIB)
    plain_large = tmp_path / "large.ami"
    calls = repeated_transcript(plain_large, 120 * MIB)
    with plain_large.open("rb") as src, gzip.open(large, "wb", compresslevel=1) as dst:
        while chunk := src.read(MIB):
            dst.write(chunk)
    plain_large.unlink()
    args = ["replay", "--no-rules", "--format", "jsonl"]
    code_s, peak_s, err_s = run_cli_measured([*args, str(small)], tmp_path)
    code_l, peak_l, err_l = run_cli_measured([*args, str(large)], tmp_path)
    assert code_s == 0 and code_l == 0, err_s + err_l
    assert f"{calls} calls" in err_l
    assert peak_l < 150, f"peak RSS {peak_l:.0f} MiB"
    # ten times the input, the same memory (within a few MiB)
    print(f"peak RSS: 12 MiB input {peak_s:.1f} MiB, 120 MiB gzip input {peak_l:.1f} MiB")
    assert abs(peak_l - peak_s) < 8, f"{peak_s:.1f} MiB vs {peak_l:.1f} MiB"


def test_transcript_error_for_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError, match="no such file"):
        InputFile(tmp_path / "nope.ami")
