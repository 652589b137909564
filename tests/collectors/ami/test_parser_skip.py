"""A replay's parser leaves out the headers the translator never reads
(``AmiParser(skip_suffixes=UNREAD_HEADER_SUFFIXES)``): the same events as parsing every
header, the same messages on the C and the Python path, and no handler reads such a header."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from collectors.ami import translate as translate_pkg
from collectors.ami.parser import AmiMessage, AmiParser
from collectors.ami.translate import UNREAD_HEADER_SUFFIXES, Translator
from collectors.ami.translate.fields import _QUIET
from monitor.simulator import ContactCentre, default_config, write_transcript

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ami"


def _transcripts(tmp_path: Path) -> list[bytes]:
    sim = tmp_path / "sim.ami"
    with sim.open("wb") as out:
        write_transcript(ContactCentre(default_config(), seed=3), 1800.0, out)
    return [p.read_bytes() for p in sorted(FIXTURES.glob("*.txt"))] + [sim.read_bytes()]


def _messages(data: bytes, pure: bool, skip: tuple[str, ...], chunk: int) -> list[AmiMessage]:
    parser = AmiParser(pure_python=pure, skip_suffixes=skip)
    out: list[AmiMessage] = []
    for i in range(0, len(data), chunk):
        out += parser.feed(data[i : i + chunk])
    return out + parser.feed(b"\r\n\r\n")


def _events(msgs: list[AmiMessage]) -> list[object]:
    tr = Translator()
    return [e for e in (tr.translate(m, None) for m in msgs) if e is not None]


@pytest.mark.parametrize("chunk", [997, 1 << 16])
def test_the_same_events_with_and_without_the_unread_headers(tmp_path: Path, chunk: int) -> None:
    seen = 0
    for data in _transcripts(tmp_path):
        every = _messages(data, pure=False, skip=(), chunk=chunk)
        fewer = _messages(data, pure=False, skip=UNREAD_HEADER_SUFFIXES, chunk=chunk)
        assert _events(fewer) == _events(every)
        seen += len(every)
        for msg in fewer:  # the lines are really gone (command output is left as it is)
            if not msg.output and not msg.folded:
                assert not any(k.endswith(UNREAD_HEADER_SUFFIXES) for k in msg.fields), msg
    assert seen > 1000


@pytest.mark.parametrize("chunk", [401, 1 << 16])
def test_the_c_step_and_python_leave_out_the_same_lines(tmp_path: Path, chunk: int) -> None:
    odd = (
        b"Event: Newstate\r\nPrivilege: call,all\r\nDestPriority: 1\r\nPriority:x\r\n\r\n"
        b"Privilege: only\r\nLanguage: en\r\n\r\n"
        b"Event: Dup\r\nPriority: 1\r\nPriority: 2\r\nX: y\r\n\r\n"
    )
    for data in [*_transcripts(tmp_path), odd]:
        c_side = _messages(data, pure=False, skip=UNREAD_HEADER_SUFFIXES, chunk=chunk)
        python = _messages(data, pure=True, skip=UNREAD_HEADER_SUFFIXES, chunk=chunk)
        assert [(m.fields, m.items, m.output) for m in c_side] == [
            (m.fields, m.items, m.output) for m in python
        ]
    # a key that only contains a suffix, or a line without ": ", is kept
    (first, only, dup) = _messages(odd, pure=False, skip=UNREAD_HEADER_SUFFIXES, chunk=64)
    assert first.fields == {"Event": "Newstate"}  # "Priority:x" is not a header: bad line
    assert only.fields == {} and dup.fields == {"Event": "Dup", "X": "y"}


def test_no_handler_reads_a_header_the_replay_leaves_out() -> None:
    """Every string the translate package spells that ends like a left-out header is an event
    name it ignores, never a header it reads (else a replay would see None for it)."""
    root = Path(translate_pkg.__file__).parent
    found = set()
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.fullmatch(r"[A-Za-z-]+", node.value)
                and node.value.endswith(UNREAD_HEADER_SUFFIXES)
            ):
                found.add(node.value)
    assert found - set(UNREAD_HEADER_SUFFIXES) <= set(_QUIET), found
