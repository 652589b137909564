"""A gzip input decompressed ahead in a thread (``InputFile(read_ahead=True)``, the import's
inputs): the same bytes, offsets and errors as reading in line, and no thread left behind."""

from __future__ import annotations

import gzip
import os
import threading
from pathlib import Path

import pytest

from monitor.errors import TranscriptError
from monitor.history.source import InputFile


def _data() -> bytes:
    lines = (
        f"Event: Newstate\nUniqueid: 17000000{i:02d}.{i}\nExten: {i * 7919}\n\n"
        for i in range(40_000)
    )
    return "".join(lines).encode() + os.urandom(3000).hex().encode() + b"\n"


def _read(src: InputFile, start: int = 0) -> tuple[bytes, int, int]:
    return b"".join(src.chunks(start)), src.offset, src.raw_offset


@pytest.mark.parametrize("start", [0, 123_457])
def test_the_same_bytes_and_offsets_as_reading_in_line(tmp_path: Path, start: int) -> None:
    path = tmp_path / "two-members.ami.gz"
    data = _data()
    path.write_bytes(gzip.compress(data[:300_001]) + gzip.compress(data[300_001:]))
    before = threading.active_count()
    inline = _read(InputFile(path, chunk_bytes=65_536), start)
    ahead = _read(InputFile(path, chunk_bytes=65_536, read_ahead=True), start)
    assert ahead == inline and inline[0] == data[start:]
    assert threading.active_count() == before


def test_a_corrupt_file_raises_the_same_error_after_the_same_bytes(tmp_path: Path) -> None:
    good = gzip.compress(_data(), compresslevel=1)
    bad = tmp_path / "corrupt.ami.gz"
    cut = len(good) // 2
    bad.write_bytes(good[:cut] + bytes(b ^ 0x5A for b in good[cut : cut + 500]) + good[cut + 500 :])

    def outcome(read_ahead: bool) -> tuple[int, str]:
        got = 0
        src = InputFile(bad, chunk_bytes=65_536, read_ahead=read_ahead)
        with pytest.raises(TranscriptError) as info:
            for chunk in src.chunks():
                got += len(chunk)
        return got, str(info.value)

    inline = outcome(False)
    assert inline[0] > 0 and "corrupt gzip data" in inline[1]
    assert outcome(True) == inline


def test_a_reader_that_stops_early_stops_the_thread(tmp_path: Path) -> None:
    path = tmp_path / "big.ami.gz"
    path.write_bytes(gzip.compress(_data() * 8, compresslevel=1))
    before = threading.active_count()
    chunks = InputFile(path, chunk_bytes=16_384, read_ahead=True).chunks()
    assert len(next(chunks)) == 16_384
    assert threading.active_count() == before + 1  # the read-ahead thread, a few chunks ahead
    chunks.close()
    assert threading.active_count() == before


def test_a_plain_file_is_read_in_line(tmp_path: Path) -> None:
    path = tmp_path / "plain.ami"
    path.write_bytes(_data())
    before = threading.active_count()
    chunks = InputFile(path, chunk_bytes=16_384, read_ahead=True).chunks()
    next(chunks)
    assert threading.active_count() == before  # nothing to decompress: no thread
    chunks.close()


def test_zlib_ng_and_the_standard_library_inflate_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """zlib-ng (decision 0009) and the stdlib's zlib, used where its wheel is missing: the
    same bytes and offsets from a two-member file, the same error for a corrupt one."""
    import zlib

    from monitor.history import source

    assert source._inflater.__name__ == "zlib_ng.zlib_ng"  # installed with ringwatch
    data = _data()
    good = tmp_path / "two.ami.gz"
    good.write_bytes(gzip.compress(data[:200_003]) + gzip.compress(data[200_003:]))
    packed = bytearray(gzip.compress(data))
    packed[len(packed) // 2 : len(packed) // 2 + 64] = b"\xff" * 64
    bad = tmp_path / "bad.ami.gz"
    bad.write_bytes(bytes(packed))

    def both(path: Path) -> tuple[object, object]:
        out = []
        for inflater in (source._inflater, zlib):
            monkeypatch.setattr(source, "_inflater", inflater)
            try:
                out.append(_read(InputFile(path)))
            except TranscriptError as exc:
                out.append(str(exc).split(" near ")[0])  # (where and why: the library's)
        return out[0], out[1]

    ng, std = both(good)
    assert ng == std and ng[0] == data  # type: ignore[index]
    ng, std = both(bad)
    assert ng == std and str(ng).endswith("cannot read: corrupt gzip data")
