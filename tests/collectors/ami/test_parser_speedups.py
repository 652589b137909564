"""The C step of the AMI parser (collectors/ami/_speedups.c) against the pure-Python path.

The parser must give the same messages and the same counters on either path, for any bytes in
any split; the C step must build exactly the dicts of the Python fast path for regular blocks,
return None for every irregular one, never raise on text, and not leak.
"""

from __future__ import annotations

import contextlib
import os
import string
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.ami import parser as parser_mod
from collectors.ami.parser import AmiMessage, AmiParser
from tests.collectors.ami.conftest import traced_growth

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ami"
PURE_FORCED = os.environ.get("RINGWATCH_PURE_PYTHON", "") not in ("", "0")

View = tuple[list[tuple[str, str]], tuple[tuple[str, str], ...], tuple[str, ...], bool]


@pytest.fixture(scope="module")
def speedups() -> ModuleType:
    return pytest.importorskip("collectors.ami._speedups")


def view(msg: AmiMessage) -> View:
    return (list(msg.fields.items()), msg.items, msg.output, msg.folded)


def run(data: bytes, cuts: list[int], pure: bool, limit: int = 64 * 1024) -> dict[str, Any]:
    """Feed ``data`` cut at ``cuts`` (sizes), then a final blank line: everything observable."""
    parser = AmiParser(max_message_bytes=limit, pure_python=pure)
    msgs: list[AmiMessage] = []
    pos = 0
    for size in cuts:
        msgs += parser.feed(data[pos : pos + size])
        pos += size
    msgs += parser.feed(data[pos:])
    msgs += parser.feed(b"\r\n\r\n")
    s = parser.stats
    return {
        "messages": [view(m) for m in msgs],
        "stats": (s.messages, s.bad_lines, s.oversize, s.bytes),
        "leftover": parser.leftover,
        "banner": parser.banner,
    }


def py_fast_path(block: str) -> dict[str, str] | None:
    """What parser.py's fast path makes of one block, None when it defers to _parse_slow."""
    lines = block.split("\n")
    try:
        fields = dict([line.split(": ", 1) for line in lines])
    except ValueError:
        return None
    if len(fields) != len(lines) or "Output" in fields or lines[0][:1].islower():
        return None
    return fields


def test_extension_is_built_and_used() -> None:
    """`make venv` builds the extension; a broken build must not pass silently as pure."""
    if PURE_FORCED:
        assert not parser_mod.ACCELERATED
        pytest.skip("RINGWATCH_PURE_PYTHON is set")
    assert parser_mod.ACCELERATED, (
        "collectors/ami/_speedups.c is not built: install gcc and the Python headers and "
        "rerun `pip install -e .`, or set RINGWATCH_PURE_PYTHON=1"
    )


# ---- parse_text: regular blocks to dicts, None otherwise --------------------------------------

REGULAR = "Event: Newchannel\nChannel: PJSIP/1-0001\nAccountCode: \nText: a: b: c"


def test_regular_blocks_become_the_fast_path_dicts(speedups: ModuleType) -> None:
    text = f"{REGULAR}\n\nEvent: Hangup\nCause: 16\n\n\n\nResponse: Success\nActionID: 7"
    got = speedups.parse_text(text, 1024)
    assert got == [py_fast_path(b) for b in text.split("\n\n") if b]
    assert [list(d) for d in got] == [
        ["Event", "Channel", "AccountCode", "Text"],
        ["Event", "Cause"],
        ["Response", "ActionID"],
    ]
    assert got[0]["AccountCode"] == "" and got[0]["Text"] == "a: b: c"


def test_empty_text_and_empty_blocks(speedups: ModuleType) -> None:
    assert speedups.parse_text("", 1024) == []
    assert speedups.parse_text("\n\n\n\n", 1024) == []
    assert speedups.parse_text("\n\nEvent: Ping\n\n", 1024) == [{"Event": "Ping"}]


@pytest.mark.parametrize(
    "block",
    [
        pytest.param("Event: Hangup\ngarbage line\nCause: 16", id="bad-line"),
        pytest.param("Event: Hangup\nLanguage:\nCause: 16", id="key-colon-no-space"),
        pytest.param("Event: VarSet\nChanVariable: a=1\nChanVariable: b=2", id="repeated-key"),
        pytest.param("Response: Success\nOutput: line one", id="output"),
        pytest.param("Response: Follows\nPrivilege: Command", id="follows"),
        pytest.param("event: AgentConnect\nholdtime: 4", id="folded"),
        pytest.param("\nEvent: Ping", id="leading-newline"),
        pytest.param("Event: Ping\n", id="trailing-newline"),
        pytest.param("Event: Ping\nCallerIDName: Жанна", id="non-latin-1"),
        pytest.param("Événement: Ping", id="non-ascii-first-char"),
        pytest.param("Event: Ping\nCause:", id="colon-at-the-end"),
    ],
)
def test_irregular_block_defers_the_whole_chunk(speedups: ModuleType, block: str) -> None:
    text = f"{REGULAR}\n\n{block}\n\nEvent: Ping"
    assert speedups.parse_text(text, 1024) is None
    assert speedups.parse_text(block, 1024) is None


def test_carriage_return_inside_a_value_is_kept(speedups: ModuleType) -> None:
    assert speedups.parse_text("Event: Ping\nNote: a\rb", 64) == [{"Event": "Ping", "Note": "a\rb"}]


def test_oversize_is_irregular_at_the_limit_plus_one(speedups: ModuleType) -> None:
    block = "Event: Ping\nCause: 16"
    assert speedups.parse_text(block, len(block)) == [{"Event": "Ping", "Cause": "16"}]
    assert speedups.parse_text(block, len(block) - 1) is None
    assert speedups.parse_text(block, -5) is None
    assert speedups.parse_text(block, 10**30) == [{"Event": "Ping", "Cause": "16"}]


def test_latin_1_values_and_keys(speedups: ModuleType) -> None:
    text = "Event: Newchannel\nCallerIDName: José Müller\nNäme: é\n\nEvent: Ping\nX: plain"
    got = speedups.parse_text(text, 1024)
    assert got == [
        {"Event": "Newchannel", "CallerIDName": "José Müller", "Näme": "é"},
        {"Event": "Ping", "X": "plain"},
    ]
    name = got[0]["CallerIDName"]
    assert not name.isascii() and name.encode() == "José Müller".encode()
    assert [k.encode() for k in got[0]] == [b"Event", b"CallerIDName", "Näme".encode()]
    assert got[1]["X"].isascii()  # canonical strs: ASCII text stays ASCII in a Latin-1 chunk


@pytest.mark.parametrize("first", string.ascii_letters + string.digits + string.punctuation)
def test_first_character_lower_case_is_left_to_python(speedups: ModuleType, first: str) -> None:
    got = speedups.parse_text(f"{first}ey: v", 64)
    assert got == (None if first.islower() else [{f"{first}ey": "v"}])


def test_cached_keys_and_values_do_not_mix_up(speedups: ModuleType) -> None:
    """The key and value caches reuse objects; the text must still be the text read."""
    first = speedups.parse_text("Event: Newstate\nChannelState: 6\nState: Up", 1024)
    again = speedups.parse_text("Event: Newstate\nChannelState: 4\nState: Upx", 1024)
    assert first == [{"Event": "Newstate", "ChannelState": "6", "State": "Up"}]
    assert again == [{"Event": "Newstate", "ChannelState": "4", "State": "Upx"}]
    long_key = "K" * 200
    got = speedups.parse_text(f"Event: X\n{long_key}: {'v' * 300}", 1024)
    assert got == [{"Event": "X", long_key: "v" * 300}]


def test_the_recent_values_of_a_key_are_shared_and_never_mixed_up(speedups: ModuleType) -> None:
    """Each key keeps its last four values: the Uniqueid of four interleaved calls is one str
    object per call (its hash computed once downstream); a fifth value pushes the oldest out."""
    shared: dict[int, str] = {}
    for round_ in range(3):
        for i in range(4):
            [fields] = speedups.parse_text(f"Event: Newstate\nUniqueid: 17.{i}", 1024)
            assert fields == {"Event": "Newstate", "Uniqueid": f"17.{i}"}
            if round_:
                assert fields["Uniqueid"] is shared[i]
            shared[i] = fields["Uniqueid"]
    for i in (4, 5, 0, 1, 6, 2, 3, 0):
        [fields] = speedups.parse_text(f"Event: Newstate\nUniqueid: 17.{i}", 1024)
        assert fields["Uniqueid"] == f"17.{i}"


@pytest.mark.parametrize(
    "args",
    [(b"Event: Ping", 10), ("Event: Ping", 1.5), ("Event: Ping", None), ("x",), ()],
)
def test_wrong_argument_types_raise_type_error(speedups: ModuleType, args: tuple[Any]) -> None:
    with pytest.raises(TypeError):
        speedups.parse_text(*args)


def test_crlf_to_lf_rejects_str(speedups: ModuleType) -> None:
    with pytest.raises(TypeError):
        speedups.crlf_to_lf("a\r\n")


def c_expected(text: str, limit: int) -> list[dict[str, str]] | None:
    """parse_text's contract, written with the Python fast path."""
    if any(ord(c) > 255 for c in text):
        return None
    out = []
    for block in text.split("\n\n"):
        if not block:
            continue
        if len(block) > limit or block.startswith("Response: Follows") or ord(block[0]) > 127:
            return None
        fields = py_fast_path(block)
        if fields is None:
            return None
        out.append(fields)
    return out


_ami_char = st.sampled_from([*"Ea: \n\r-éÉ", "Output", "Response: Follows", "ж", "Key"])


@settings(max_examples=500, deadline=None)
@given(text=st.lists(_ami_char, max_size=80).map("".join), limit=st.integers(-2, 60))
def test_parse_text_is_the_python_fast_path(speedups: ModuleType, text: str, limit: int) -> None:
    expected = c_expected(text, limit)
    got = speedups.parse_text(text, limit)
    assert got == expected
    if got is not None:
        assert [list(d) for d in got] == [list(d) for d in expected or []]


@settings(max_examples=300, deadline=None)
@given(data=st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"a", b"\r\r\n"])).map(b"".join))
def test_crlf_to_lf_is_bytes_replace(speedups: ModuleType, data: bytes) -> None:
    assert speedups.crlf_to_lf(data) == data.replace(b"\r\n", b"\n")


# ---- the parser on both paths --------------------------------------------------------------------

_line = st.one_of(
    st.sampled_from(
        [
            "Event: Newchannel",
            "Event: Hangup",
            "Response: Follows",
            "Response: Success",
            "Privilege: Command",
            "Output: Asterisk 22",
            "--END COMMAND--",
            "event: agentconnect",
            "holdtime: 4",
            "ChanVariable: a=1",
            "CallerIDName: José",
            "CallerIDName: Жанна",
            "Language:",
            "AccountCode: ",
            "Text: a: b: c",
            "garbage line",
            "",
            "Asterisk Call Manager/5.0.5",
        ]
    ),
    st.tuples(st.sampled_from(["Channel", "Uniqueid", "Cause"]), st.text(max_size=12)).map(
        ": ".join
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(_line, max_size=40),
    crlf=st.booleans(),
    cuts=st.lists(st.integers(0, 200), max_size=20),
    limit=st.sampled_from([40, 200, 64 * 1024]),
)
def test_ami_like_streams_parse_the_same_on_both_paths(
    lines: list[str], crlf: bool, cuts: list[int], limit: int
) -> None:
    data = ("\r\n" if crlf else "\n").join(lines).encode("utf-8", "surrogatepass")
    assert run(data, cuts, False, limit) == run(data, cuts, True, limit)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2048), cuts=st.lists(st.integers(0, 300), max_size=20))
def test_arbitrary_bytes_parse_the_same_on_both_paths(data: bytes, cuts: list[int]) -> None:
    assert run(data, cuts, False, 512) == run(data, cuts, True, 512)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300), cuts=st.lists(st.integers(0, 100), max_size=10))
def test_arbitrary_text_parses_the_same_on_both_paths(text: str, cuts: list[int]) -> None:
    data = text.encode("utf-8", "surrogatepass")
    assert run(data, cuts, False) == run(data, cuts, True)


def _captures() -> list[Path]:
    return sorted(FIXTURES.glob("*.txt"))


@pytest.mark.parametrize("path", _captures(), ids=lambda p: p.name)
@settings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(1, 5000), max_size=30), crlf=st.booleans())
def test_real_captures_parse_the_same_on_both_paths(
    path: Path, cuts: list[int], crlf: bool
) -> None:
    data = path.read_bytes()
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    accelerated = run(data, cuts, False)
    assert accelerated == run(data, cuts, True)
    assert accelerated["messages"]


# ---- no leaks ----------------------------------------------------------------------------------

_LEAK_TEXTS = [
    REGULAR + "\n\nEvent: Hangup\nCause: 16",  # regular
    REGULAR + "\n\nEvent: Hangup\nbad line",  # dicts built, then deferred
    REGULAR + "\n\nEvent: X\nA: 1\nA: 2",  # repeated key found after the dict is full
    REGULAR + "\n\nResponse: Success\nOutput: x",
    "Event: X\nCallerIDName: José\n\nEvent: Y\n" + "K" * 100 + ": " + "v" * 100,
    "Event: X\nCallerIDName: Жанна",
    REGULAR + "\n\n\nEvent: X",  # a block that starts with a newline
]


def _leak_round(speedups: ModuleType, n: int) -> None:
    for i in range(n):
        for text in _LEAK_TEXTS:
            speedups.parse_text(text, 1024)
            speedups.parse_text(text, 10)
        speedups.crlf_to_lf(b"Event: Ping\r\nCause: %d\r\n\r\n" % i)
        for bad in ((b"x", 1), ("x", "1")):
            with contextlib.suppress(TypeError):
                speedups.parse_text(*bad)


def test_no_memory_grows_over_many_calls(speedups: ModuleType) -> None:
    grown = traced_growth(lambda n: _leak_round(speedups, n))
    # one leaked dict per call would be > 30 MB here; a leaked str per call > 1.5 MB
    assert grown < 100_000, f"{grown} bytes more after 5,000 rounds"


def test_input_and_cached_objects_keep_their_reference_counts(speedups: ModuleType) -> None:

    text = REGULAR + "\n\nEvent: Hangup\nCause: 16"
    first = speedups.parse_text(text, 1024)
    key = next(iter(first[0]))
    refs_text, refs_key = sys.getrefcount(text), sys.getrefcount(key)
    for _ in range(1000):
        speedups.parse_text(text, 1024)
        speedups.parse_text(text + "\n\nbad", 1024)
    assert sys.getrefcount(text) == refs_text
    assert sys.getrefcount(key) == refs_key


# ---- lower-cased (legacy) keys fold the same way on every path -------------------------------

_folded_key = st.sampled_from(
    ["holdtime", "HoldTime", "HOLDTIME", "ΚΩΔΙΚΟΣ", "κωδικοσ", "AΣ", "İd"]
)


@settings(max_examples=300, deadline=None)
@given(
    keys=st.lists(_folded_key, min_size=1, max_size=6),
    values=st.lists(st.sampled_from(["1", "2", "x y"]), min_size=6, max_size=6),
    pure=st.booleans(),
)
def test_folded_keys_are_the_same_on_the_fast_and_the_slow_path(
    keys: list[str], values: list[str], pure: bool
) -> None:
    """A folded block goes through the fast path alone, through the slow path with a bad line
    added: the same keys (folded per character, as compiled code does), the first value of
    keys equal after folding, every pair in ``items``."""
    block = "event: X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in zip(keys, values, strict=False))
    fast_p, slow_p = AmiParser(pure_python=pure), AmiParser(pure_python=pure)
    [fast] = fast_p.feed((block + "\r\n").encode())
    [slow] = slow_p.feed((block + "bad line\r\n\r\n").encode())
    assert view(fast) == view(slow)
    folded = [parser_mod.fold_key(k) for k in keys]
    assert fast.items == (("event", "X"), *zip(folded, values, strict=False))
    for key in folded:
        assert fast.get(key) == values[folded.index(key)]
