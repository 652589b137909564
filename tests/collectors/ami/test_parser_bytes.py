"""The C step that reads a read's bytes as they came (``parse_bytes``, collectors/ami/_speedups.c).

``feed()`` hands it the parser's buffer (LF-only bytes kept from earlier reads) and the new
bytes (CRLF or LF line ends, a trailing CR held back). Its contract: the dicts ``parse_text``
makes of the text ``feed()`` would decode, with the buffer left holding the bytes after the
last blank line; or None with the buffer untouched, and ``feed()`` goes the old way.
"""

from __future__ import annotations

import contextlib
import sys
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.ami import parser as parser_mod
from collectors.ami.parser import AmiParser
from tests.collectors.ami.conftest import traced_growth
from tests.collectors.ami.test_parser_speedups import run, view


@pytest.fixture(scope="module")
def speedups() -> ModuleType:
    return pytest.importorskip("collectors.ami._speedups")


def regular_dicts(text: str, limit: int, skip: tuple[str, ...]) -> list[dict[str, str]] | None:
    """The C steps' rules (parse_text's, for any character): one dict per non-empty block of
    text.split("\n\n") if every block is regular, else None."""
    out = []
    for block in text.split("\n\n"):
        if not block:
            continue
        first = block[0]
        if len(block) > limit or block.startswith("Response: Follows") or not first.isascii():
            return None
        if first == "\n" or "a" <= first <= "z":
            return None
        fields: dict[str, str] = {}
        kept = 0
        for line in block.split("\n"):
            key, sep, value = line.partition(": ")
            if not sep or key == "Output":
                return None
            if skip and key.endswith(skip):
                continue
            fields.setdefault(key, value)
            kept += 1
        if len(fields) != kept:
            return None
        out.append(fields)
    return out


def bytes_expected(
    speedups: ModuleType, buf: bytes, data: bytes, size: int, limit: int, skip: tuple[str, ...]
) -> tuple[list[dict[str, str]] | None, bytes]:
    """parse_bytes's contract, written with feed()'s old steps and the C steps' rules."""
    joined = buf + data[:size].replace(b"\r\n", b"\n")
    end = joined.rfind(b"\n\n", max(0, len(buf) - 1))
    if end < 0 or b"\n\n" in buf:
        return None, buf
    text = joined[:end].decode("utf-8", "replace")
    dicts = regular_dicts(text, limit, skip)
    if max(text, default=" ") <= "\xff":  # parse_text's answer, the same
        assert speedups.parse_text(text, limit, skip) == dicts
    return (None, buf) if dicts is None else (dicts, joined[end + 2 :])


_piece = st.sampled_from(
    [
        b"\r",
        b"\n",
        b"\r\n",
        b"\r\r\n",
        b"\n\r\n",
        b"Event: X",
        b"Event: Hangup\r\nCause: 16\r\n\r\n",
        b"Key: v",
        b": ",
        b":",
        b"a",
        b"Privilege: call",
        b"Output: x",
        b"Response: Follows",
        b"\xc3\xa9",
        b"\xff",
        b"\xe2\x82",
        b"\xd0\x96",
    ]
)


@settings(max_examples=1000, deadline=None)
@given(
    buf=st.lists(_piece, max_size=6).map(b"".join),
    data=st.lists(_piece, max_size=30).map(b"".join),
    cut=st.integers(0, 3),
    limit=st.sampled_from([-1, 0, 12, 40, 1 << 16]),
    skip=st.sampled_from([(), ("Privilege",), ("y", "Cause")]),
)
def test_parse_bytes_is_the_old_steps_then_parse_text(
    speedups: ModuleType, buf: bytes, data: bytes, cut: int, limit: int, skip: tuple[str, ...]
) -> None:
    size = max(0, len(data) - cut)
    expected, rest = bytes_expected(speedups, buf, data, size, limit, skip)
    held = bytearray(buf)
    got = speedups.parse_bytes(held, data, size, limit, skip)
    assert got == expected
    if got is not None:
        assert [list(d) for d in got] == [list(d) for d in expected or []]
    assert bytes(held) == rest


def test_lines_ends_crlf_lf_and_mixed(speedups: ModuleType) -> None:
    buf = bytearray(b"Event: A\nX: 1")
    data = b"\r\n\r\nEvent: B\nY: 2\r\r\n\nEvent: C\r\nZ: 3\r\n\r\nEvent: D\r\nW: 4\r"
    got = speedups.parse_bytes(buf, data, len(data) - 1, 1024)
    assert got == [
        {"Event": "A", "X": "1"},
        {"Event": "B", "Y": "2\r"},  # a CR before the CR of a CRLF is text
        {"Event": "C", "Z": "3"},
    ]
    assert buf == b"Event: D\nW: 4"  # LF only; the held-back CR is not the buffer's


def test_the_limit_counts_the_text_not_the_crs(speedups: ModuleType) -> None:
    raw = b"Event: X\r\nCause: 16\r\nText: a\r\n\r\n"  # "Event: X\nCause: 16\nText: a": 26
    assert speedups.parse_bytes(bytearray(), raw, len(raw), 26) == [
        {"Event": "X", "Cause": "16", "Text": "a"}
    ]
    assert speedups.parse_bytes(bytearray(), raw, len(raw), 25) is None


def test_a_blank_line_across_the_buffer_and_the_read(speedups: ModuleType) -> None:
    buf = bytearray(b"Event: A\nX: 1\n")
    assert speedups.parse_bytes(buf, b"\r\nEvent: B", 10, 1024) == [{"Event": "A", "X": "1"}]
    assert buf == b"Event: B"
    buf = bytearray(b"Event: A\n")
    assert speedups.parse_bytes(buf, b"Event: B", 8, 1024) is None  # no blank line yet
    assert buf == b"Event: A\n"


def test_keys_are_interned(speedups: ModuleType) -> None:
    """A lookup with a literal key (interned) then matches by identity, not by the text."""
    data = b"Event: Newstate\r\nUniqueid: 17.1\r\nSomeRareHeaderName: x\r\n\r\n"
    [fields] = speedups.parse_bytes(bytearray(), data, len(data), 1024)
    [again] = speedups.parse_text(data.decode().replace("\r\n", "\n")[:-2], 1024)
    for key in [*fields, *again]:
        assert sys.intern(key) is key
    assert next(iter(fields)) is sys.intern("Event")


def test_utf_8_keys_and_values_are_decoded_and_counted_as_characters(
    speedups: ModuleType,
) -> None:
    data = (
        "Event: Newchannel\r\nCallerIDName: Жанна Müller\r\nNäme: é\r\n\r\n".encode()
        + b"Event: X\r\nBad: \xe2\x82\r\nAlso: \xff!\r\n\r\n"
    )
    got = speedups.parse_bytes(bytearray(), data, len(data), 1024)
    assert got == [
        {"Event": "Newchannel", "CallerIDName": "Жанна Müller", "Näme": "é"},
        {"Event": "X", "Bad": "\ufffd", "Also": "\ufffd!"},
    ]
    block = "Event: X\nName: Жанна"  # 20 characters, 25 bytes
    raw = (block + "\n\n").encode()
    assert speedups.parse_bytes(bytearray(), raw, len(raw), 20) == [{"Event": "X", "Name": "Жанна"}]
    assert speedups.parse_bytes(bytearray(), raw, len(raw), 19) is None
    skipped = "Event: X\nLanguage: Жанна\n\n".encode()  # left out, its characters counted
    assert speedups.parse_bytes(bytearray(), skipped, len(skipped), 24, ("Language",)) == [
        {"Event": "X"}
    ]
    assert speedups.parse_bytes(bytearray(), skipped, len(skipped), 23, ("Language",)) is None


def test_irregular_reads_leave_the_buffer(speedups: ModuleType) -> None:
    for irregular in (
        b"event: x\r\nholdtime: 4\r\n\r\n",
        "Événement: X\r\n\r\n".encode(),
        b"Event: X\r\nbad line\r\n\r\n",
        b"Response: Follows\r\nPrivilege: Command\r\n\r\n",
    ):
        data = b"\r\n\r\nEvent: B\r\n\r\n" + irregular + b"Event: C"
        buf = bytearray(b"Event: A\nX: 1")
        assert speedups.parse_bytes(buf, data, len(data), 1024) is None
        assert buf == b"Event: A\nX: 1"
    buf = bytearray(b"Event: A\n\nEvent: B")  # a Response: Follows block kept back
    assert speedups.parse_bytes(buf, b"\n\n", 2, 1024) is None


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((b"", b"\n\n", 2, 10), TypeError),
        ((bytearray(), "\n\n", 2, 10), TypeError),
        ((bytearray(), b"\n\n", 2.0, 10), TypeError),
        ((bytearray(), b"\n\n", 2, "10"), TypeError),
        ((bytearray(), b"\n\n", 2, 10, ("",)), TypeError),
        ((bytearray(), b"\n\n", 2), TypeError),
        ((bytearray(), b"\n\n", 3, 10), ValueError),
        ((bytearray(), b"\n\n", -1, 10), ValueError),
    ],
)
def test_wrong_arguments_raise(
    speedups: ModuleType, args: tuple[Any, ...], error: type[Exception]
) -> None:
    with pytest.raises(error):
        speedups.parse_bytes(*args)


def test_the_c_path_is_taken_on_a_regular_stream() -> None:
    """Equal results would also hold if the C steps always deferred: check they do not. A
    regular read goes through the bytes step alone; an irregular one through neither C step."""
    if not parser_mod.ACCELERATED:
        pytest.skip("the C step is not in use")
    data = b"".join(
        f"Event: Newstate\r\nChannel: PJSIP/{i}\r\nChannelState: 6\r\n\r\n".encode()
        for i in range(50)
    )
    answers: list[tuple[str, int | None]] = []  # which C step, and dicts built or None (defer)
    parser = AmiParser()
    c_bytes, c_text = parser._c_bytes, parser._c_text
    assert c_bytes is not None and c_text is not None

    def bytes_spy(
        buf: bytearray, data: bytes, size: int, limit: int, skip: tuple[str, ...]
    ) -> list[dict[str, str]] | None:
        dicts = c_bytes(buf, data, size, limit, skip)
        answers.append(("bytes", None if dicts is None else len(dicts)))
        return dicts

    def text_spy(text: str, limit: int, skip: tuple[str, ...]) -> list[dict[str, str]] | None:
        dicts = c_text(text, limit, skip)
        answers.append(("text", None if dicts is None else len(dicts)))
        return dicts

    # attributes, not methods: the spies work on the compiled parser too (decision 0007)
    parser._c_bytes = bytes_spy
    parser._c_text = text_spy
    msgs = parser.feed(data)
    assert len(msgs) == 50 and msgs[49].get("Channel") == "PJSIP/49"
    assert answers == [("bytes", 50)]  # every block went through C, from the bytes
    parser.feed(b"Event: Hangup\r\nbad line\r\n\r\n")
    assert answers[1:] == [("bytes", None), ("text", None)]  # deferred to Python
    assert parser.stats.bad_lines == 1
    parser.feed(b"Event: Newchannel\r\nCallerIDName: Jos\xc3\xa9\r\n\r\n")
    assert answers[3:] == [("bytes", 1)]  # UTF-8: decoded by the bytes step too


# ---- CR and LF split across reads, on both paths ---------------------------------------------

_SPLIT_STREAM = (
    b"Event: A\r\nX: 1\r\n\r\n"
    b"Event: B\r\nY: 2\r\r\n\r\n"
    b"Event: C\nZ: a\rb\n\r\n"
    b"Event: D\r\n\r\n\r\n\r\n"
    b"Event: E\r\nW: 5\r\n\r"
)


def test_every_two_cuts_of_a_crlf_stream_parse_the_same_on_both_paths() -> None:
    """Each CR, LF and blank line lands at a read boundary, alone or with a neighbour."""
    whole = run(_SPLIT_STREAM, [], False)
    assert [m[0] for m in whole["messages"]] == [
        [("Event", "A"), ("X", "1")],
        [("Event", "B"), ("Y", "2\r")],
        [("Event", "C"), ("Z", "a\rb")],
        [("Event", "D")],
        [("Event", "E"), ("W", "5")],
    ]
    n = len(_SPLIT_STREAM)
    for first in range(n + 1):
        for second in range(first, n + 1):
            cuts = [first, second - first]
            accelerated = run(_SPLIT_STREAM, cuts, False)
            assert accelerated == run(_SPLIT_STREAM, cuts, True), cuts
            assert accelerated["messages"] == whole["messages"], cuts


def test_a_held_back_cr_then_no_lf_stays_text() -> None:
    for pure in (False, True):
        parser = AmiParser(pure_python=pure)
        assert parser.feed(b"Event: A\r\nX: 1\r") == []
        assert parser.leftover == b"Event: A\nX: 1\r"
        [msg] = parser.feed(b"2\n\n")
        assert view(msg)[0] == [("Event", "A"), ("X", "1\r2")]


# ---- no leaks ----------------------------------------------------------------------------------

_LEAK_READS = [
    (b"", b"Event: A\r\nX: 1\r\n\r\nEvent: B\r\nY: 2\r\n\r\nEvent: C"),
    (b"Event: A\nX: 1", b"\r\n\r\nEvent: B\r\nY: 2\r\n\r\n"),
    (b"Event: A\nX: 1\n", b"\nEvent: B\r\nbad\r\n\r\n"),  # dicts built, then deferred
    (b"", b"Event: X\r\nCallerIDName: Jos\xc3\xa9\r\n\r\n"),
    (b"Event: A", b"X: 1"),
]


def _leak_round(speedups: ModuleType, n: int) -> None:
    for _ in range(n):
        for buf, data in _LEAK_READS:
            speedups.parse_bytes(bytearray(buf), data, len(data), 1024, ("X",))
            speedups.parse_bytes(bytearray(buf), data, len(data), 10)
        with contextlib.suppress(TypeError):
            speedups.parse_bytes(bytearray(), "x", 1, 10)


def test_no_memory_grows_over_many_calls(speedups: ModuleType) -> None:
    grown = traced_growth(lambda n: _leak_round(speedups, n))
    assert grown < 100_000, f"{grown} bytes more after 5,000 rounds"


def test_input_objects_keep_their_reference_counts(speedups: ModuleType) -> None:
    data = b"Event: A\r\nX: 1\r\n\r\nEvent: B\r\nbad\r\n\r\n"
    buf = bytearray()
    refs = sys.getrefcount(data), sys.getrefcount(buf)
    for _ in range(1000):
        speedups.parse_bytes(buf, data, len(data), 1024)
        speedups.parse_bytes(buf, data, 18, 1024)
        buf.clear()
    assert (sys.getrefcount(data), sys.getrefcount(buf)) == refs
