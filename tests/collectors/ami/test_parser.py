"""AMI parser: framing, line endings, repeated keys, command output, bad input.

Every test runs twice: with the C step when it is built (``c``) and on the pure-Python path
(``py``); test_parser_speedups.py compares the two directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.ami.parser import AmiMessage, AmiParser

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ami"

pytestmark = pytest.mark.parametrize("pure", [False, True], ids=["c", "py"])


def parse_whole(data: bytes, pure: bool) -> Iterator[AmiMessage]:
    """``parse_all`` on the chosen path."""
    parser = AmiParser(pure_python=pure)
    yield from parser.feed(data)
    if parser.leftover.strip():
        yield from parser.feed(b"\n\n")


def feed_all(data: bytes, chunks: list[int] | None = None, pure: bool = False) -> list[AmiMessage]:
    parser = AmiParser(pure_python=pure)
    out: list[AmiMessage] = []
    if chunks is None:
        out.extend(parser.feed(data))
    else:
        pos = 0
        for size in chunks:
            out.extend(parser.feed(data[pos : pos + size]))
            pos += size
        out.extend(parser.feed(data[pos:]))
    return out


def test_banner_then_messages_crlf(pure: bool) -> None:
    data = (
        b"Asterisk Call Manager/11.0.0\r\n"
        b"Response: Success\r\nMessage: Authentication accepted\r\n\r\n"
        b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 4268\r\n\r\n"
    )
    parser = AmiParser(pure_python=pure)
    msgs = parser.feed(data)
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert [m.response or m.event for m in msgs] == ["Success", "FullyBooted"]
    assert msgs[1].get("Uptime") == "4268"


def test_lf_only_and_value_with_colon_space(pure: bool) -> None:
    msgs = feed_all(b"Event: UserEvent\nUserEvent: Note\nText: a: b: c\n\n", pure=pure)
    assert msgs[0].get("Text") == "a: b: c"


def test_empty_value_with_and_without_trailing_space(pure: bool) -> None:
    msgs = feed_all(
        b"Event: Newchannel\r\nAccountCode: \r\nLanguage:\r\nExten: 100\r\n\r\n", pure=pure
    )
    assert msgs[0].get("AccountCode") == ""
    assert msgs[0].get("Language") == ""
    assert msgs[0].get("Exten") == "100"


def test_repeated_keys_kept_in_order(pure: bool) -> None:
    data = (
        b"Event: BlindTransfer\r\nChanVariable: a=1\r\nResult: Success\r\n"
        b"ChanVariable: b=2\r\nChanVariable: c=3\r\n\r\n"
    )
    msg = feed_all(data, pure=pure)[0]
    assert msg.get_all("ChanVariable") == ["a=1", "b=2", "c=3"]
    assert msg.get("ChanVariable") == "a=1"
    assert [k for k, _ in msg.items] == [
        "Event",
        "ChanVariable",
        "Result",
        "ChanVariable",
        "ChanVariable",
    ]


def test_legacy_command_output_follows(pure: bool) -> None:
    data = (FIXTURES / "panoramisk-command-core-show-channels-response-follows.txt").read_bytes()
    msgs = list(parse_whole(data, pure))
    resp = [m for m in msgs if m.response == "Follows"][0]
    assert resp.action_id == "generated_id"
    assert resp.get("Privilege") == "Command"
    assert resp.output[1:] == ("0 active channels", "0 active calls", "2 calls processed")


def test_legacy_command_output_with_blank_line_inside(pure: bool) -> None:
    data = (
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\nline one\r\n\r\n"
        b"line three: x\r\n--END COMMAND--\r\n\r\nEvent: Ping\r\n\r\n"
    )
    msgs = feed_all(data, pure=pure)
    assert msgs[0].output == ("line one", "", "line three: x")
    assert msgs[1].event == "Ping"


def test_modern_command_output_lines(pure: bool) -> None:
    data = (
        b"Response: Success\r\nActionID: 9\r\nMessage: Command output follows\r\n"
        b"Output: Asterisk 22.1.1 built by root\r\nOutput: second line\r\n\r\n"
    )
    msg = feed_all(data, pure=pure)[0]
    assert msg.output == ("Asterisk 22.1.1 built by root", "second line")
    assert msg.get("Message") == "Command output follows"


def test_eventlist_reply(pure: bool) -> None:
    data = (FIXTURES / "issue-pystrix-16-queuesummary-eventlist.txt").read_bytes()
    msgs = list(parse_whole(data, pure))
    names = [m.event or m.response or m.action for m in msgs]
    assert names[-1] == "QueueSummaryComplete"
    assert "QueueSummary" in names


def test_invalid_utf8_is_replaced_not_fatal(pure: bool) -> None:
    msg = feed_all(b"Event: Newchannel\r\nCallerIDName: Jos\xe9 \xff\r\n\r\n", pure=pure)[0]
    assert msg.get("CallerIDName") == "Jos\ufffd \ufffd"


def test_line_without_colon_counted_and_skipped(pure: bool) -> None:
    parser = AmiParser(pure_python=pure)
    msgs = parser.feed(b"Event: Hangup\r\ngarbage line\r\nCause: 16\r\n\r\n")
    assert msgs[0].get("Cause") == "16"
    assert parser.stats.bad_lines == 1


def test_oversize_message_is_skipped_and_stream_recovers(pure: bool) -> None:
    parser = AmiParser(max_message_bytes=1024, pure_python=pure)
    big = b"Event: VarSet\r\n" + b"Value: " + b"x" * 5000 + b"\r\n\r\n"
    msgs = parser.feed(big[:700]) + parser.feed(big[700:]) + parser.feed(b"Event: Ping\r\n\r\n")
    assert [m.event for m in msgs] == ["Ping"]
    assert parser.stats.oversize == 1


def test_lowercased_legacy_keys_are_case_insensitive(pure: bool) -> None:
    data = (FIXTURES / "issue-pami-19-agentconnect-legacy-1.8-lowercased.txt").read_bytes()
    msg = list(parse_whole(data, pure))[0]
    assert msg.event == "AgentConnect"
    assert msg.get("HoldTime") == msg.get("holdtime")


def test_truncated_stream_keeps_leftover(pure: bool) -> None:
    parser = AmiParser(pure_python=pure)
    msgs = parser.feed(b"Event: Hangup\r\nCause: 16\r\n\r\nEvent: Newstate\r\nChannel: PJ")
    assert [m.event for m in msgs] == ["Hangup"]
    assert parser.leftover == b"Event: Newstate\nChannel: PJ"


def test_roundtrip_to_bytes(pure: bool) -> None:
    msg = AmiMessage.from_pairs([("Event", "Hold"), ("Channel", "PJSIP/1"), ("X", "a: b")])
    assert feed_all(msg.to_bytes(), pure=pure) == [msg]


# ---- property tests --------------------------------------------------------------------------

_key = st.text(alphabet=st.characters(min_codepoint=65, max_codepoint=90), min_size=1, max_size=12)
_value = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=40,
)
_message = st.lists(st.tuples(_key, _value), min_size=1, max_size=12).map(
    lambda pairs: [("Event", "Test"), *pairs]
)


def _stream(messages: list[list[tuple[str, str]]], crlf: bool) -> bytes:
    nl = "\r\n" if crlf else "\n"
    text = "".join(nl.join(f"{k}: {v}" for k, v in m) + nl + nl for m in messages)
    return text.encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(
    messages=st.lists(_message, min_size=1, max_size=8),
    crlf=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=64), max_size=40),
)
def test_any_split_parses_like_the_whole(
    messages: list[list[tuple[str, str]]], crlf: bool, cuts: list[int], pure: bool
) -> None:
    data = _stream(messages, crlf)
    whole = feed_all(data, pure=pure)
    split = feed_all(data, cuts, pure=pure)
    assert split == whole
    assert len(whole) == len(messages)
    for msg, pairs in zip(whole, messages, strict=True):
        assert msg.items == tuple(pairs)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2048), cuts=st.lists(st.integers(0, 300), max_size=20))
def test_arbitrary_bytes_never_raise(data: bytes, cuts: list[int], pure: bool) -> None:
    parser = AmiParser(max_message_bytes=512, pure_python=pure)
    pos = 0
    for size in cuts:
        parser.feed(data[pos : pos + size])
        pos += size
    parser.feed(data[pos:])
    assert len(parser.leftover) <= 512 + 2


@settings(max_examples=100, deadline=None)
@given(messages=st.lists(_message, min_size=2, max_size=6), cut=st.integers(1, 10_000))
def test_truncated_stream_keeps_exact_leftover(
    messages: list[list[tuple[str, str]]], cut: int, pure: bool
) -> None:
    data = _stream(messages, crlf=False)
    cut = min(cut, len(data) - 1)
    parser = AmiParser(pure_python=pure)
    got = parser.feed(data[:cut])
    got += parser.feed(data[cut:])
    assert got == feed_all(data, pure=pure)
    assert parser.leftover == b""
