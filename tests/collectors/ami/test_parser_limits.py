"""Parser limits (issue 20 item 5): the banner wait is bounded, a long wait for a message end
does not re-copy the buffer, an oversize frame whose blank line is split across two reads never
swallows the next message, and lower-cased keys fold the same way on every path.

Every test runs on the C step when it is built (``c``) and on the pure-Python path (``py``).
"""

from __future__ import annotations

import pytest

from collectors.ami.parser import MAX_BANNER_BYTES, AmiMessage, AmiParser, fold_key

pytestmark = pytest.mark.parametrize("pure", [False, True], ids=["c", "py"])

LIMIT = 64 * 1024
NEXT = b"Event: Next\r\nUniqueid: 42\r\n\r\n"


def big_frame(size: int) -> bytes:
    """One message over ``size`` bytes, without its blank line."""
    return b"Event: VarSet\r\nValue: " + b"x" * size + b"\r\n"


@pytest.mark.parametrize(
    "split",
    [b"", b"\r", b"\r\n", b"\r\n\r"],
    ids=["before-blank", "after-cr", "after-crlf", "after-crlf-cr"],
)
def test_oversize_frame_split_at_its_end_keeps_the_next_message(pure: bool, split: bytes) -> None:
    """The first read ends inside the big frame's blank line, the second starts with the rest
    of it and holds the next message: that message must come out."""
    parser = AmiParser(pure_python=pure)
    head = b"Event: Before\r\n\r\n" + big_frame(LIMIT + 1000)
    if len(split) <= 2:  # the blank line is CRLF: the first read ends at ``split``
        first, second = head + split, b"\r\n"[len(split) :] + NEXT
    else:
        first, second = head + split, b"\n" + NEXT
    msgs = parser.feed(first) + parser.feed(second)
    assert [m.event for m in msgs] == ["Before", "Next"]
    assert msgs[1].get("Uniqueid") == "42"
    assert parser.stats.oversize == 1


def test_oversize_frame_in_many_reads_then_next(pure: bool) -> None:
    parser = AmiParser(pure_python=pure)
    data = big_frame(3 * LIMIT) + b"\r\n" + NEXT
    msgs: list[AmiMessage] = []
    for start in range(0, len(data), 4093):
        msgs += parser.feed(data[start : start + 4093])
        assert len(parser.leftover) <= LIMIT + 4096  # never the whole frame in memory
    assert [m.event for m in msgs] == ["Next"]
    assert parser.stats.oversize == 1


def test_banner_wait_is_bounded(pure: bool) -> None:
    """A peer that sends the banner prefix and then megabytes without a newline: the parser
    keeps at most MAX_BANNER_BYTES, counts it, and parses what follows the next blank line."""
    parser = AmiParser(pure_python=pure)
    parser.feed(b"Asterisk Call Manager/")
    chunk = b"y" * 65536
    for _ in range(64):  # 4 MiB
        assert parser.feed(chunk) == []
        assert len(parser.leftover) <= MAX_BANNER_BYTES
    msgs = parser.feed(b"\r\n\r\n" + NEXT)
    assert parser.banner is None
    assert parser.stats.oversize == 1
    assert [m.event for m in msgs] == ["Next"]


def test_banner_split_in_small_reads_is_still_found(pure: bool) -> None:
    parser = AmiParser(pure_python=pure)
    data = b"\r\nAsterisk Call Manager/9.0.0\r\n" + NEXT
    msgs: list[AmiMessage] = []
    for i in range(len(data)):
        msgs += parser.feed(data[i : i + 1])
    assert parser.banner == "Asterisk Call Manager/9.0.0"
    assert [m.event for m in msgs] == ["Next"]


def test_a_long_wait_for_the_end_grows_the_buffer_in_place(pure: bool) -> None:
    """Waiting for a message end appends to one buffer; the search for the blank line only
    looks at the new bytes (a 60 KiB message read one byte at a time stays linear)."""
    parser = AmiParser(pure_python=pure)
    msg = b"Event: Big\r\nValue: " + b"z" * 60_000 + b"\r\n\r\n"
    buffers = set()
    out: list[AmiMessage] = []
    for i in range(0, len(msg), 7):
        out += parser.feed(msg[i : i + 7])
        buffers.add(id(parser._buf))
    assert [m.get("Value") for m in out] == ["z" * 60_000]
    assert len(buffers) == 1


def test_cr_at_the_end_of_a_read_is_held_for_the_next(pure: bool) -> None:
    parser = AmiParser(pure_python=pure)
    msgs = parser.feed(b"Event: A\r\nNote: x\r") + parser.feed(b"\n\r") + parser.feed(b"\nEvent: B")
    assert [m.event for m in msgs] == ["A"]
    assert msgs[0].get("Note") == "x"
    assert parser.leftover == b"Event: B"
    assert parser.feed(b"\r") == [] and parser.leftover == b"Event: B\r"


def test_fold_key_is_per_character(pure: bool) -> None:
    """``str.lower`` turns a final capital sigma into ς; mypyc's compiled ``lower`` gives σ.
    The parser folds per character, so compiled and source agree (σ)."""
    assert "ΑΣ".lower() == "ας"
    assert fold_key("ΑΣ") == "ασ"
    assert fold_key("HoldTime") == "holdtime"
    assert fold_key("İD") == "i̇d"
    parser = AmiParser(pure_python=pure)
    [msg] = parser.feed("event: X\r\nΚΩΔΙΚΟΣ: 7\r\n\r\n".encode())
    assert msg.folded and msg.get("ΚΩΔΙΚΟΣ") == "7"
    assert list(msg.fields) == ["event", "κωδικοσ"]


def test_keys_differing_only_in_case_keep_the_first_value_on_both_paths(pure: bool) -> None:
    parser = AmiParser(pure_python=pure)
    fast, slow = parser.feed(
        b"event: AgentConnect\r\nholdtime: 4\r\nHoldTime: 5\r\n\r\n"
        b"event: AgentConnect\r\nholdtime: 4\r\nHoldTime: 5\r\nbad line\r\n\r\n"
    )
    for msg in (fast, slow):
        assert msg.get("HoldTime") == "4"
        assert msg.get_all("holdtime") == ["4", "5"]
        assert list(msg.fields) == ["event", "holdtime"]
    assert fast == slow
