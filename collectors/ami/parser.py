"""Pure AMI framing: bytes in any split -> messages. No I/O, no clocks, never raises on input.

The wire format (design.md §2, reference/ami/EVENTS.md §1): ``Key: Value`` lines ending CRLF
(LF accepted), a message ends with an empty line. The one exception is the banner line
``Asterisk Call Manager/<ver>`` sent on connect with no blank line after it, and the legacy
(Asterisk <= 13) ``Response: Follows`` command output, whose raw CLI lines end with
``--END COMMAND--``. Keys may repeat (``ChanVariable``, ``Output``): all are kept in order.

Bad input is counted, never fatal: a line without ``: `` is skipped (``bad_lines``), a message
over ``max_message_bytes`` is dropped whole (``oversize``), bytes that are not UTF-8 are
replaced with U+FFFD.

The steps have an optional C accelerator, ``collectors/ami/_speedups.c``
(docs/decisions/0006-c-ami-parser.md): the dicts of a read whose blocks are all regular, read
from its bytes as they came (CRLF or LF, UTF-8); else the CRLF -> LF replace and the dicts of
the decoded text when its blocks are all regular (each returns None otherwise, and this module
then takes the next step, the last one in Python, so the result is the same either way).
``ACCELERATED`` says whether it is in use: not when the extension was not built or
``RINGWATCH_PURE_PYTHON`` is set (to anything but ``0``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

__all__ = [
    "ACCELERATED",
    "BANNER_PREFIX",
    "AmiMessage",
    "AmiParser",
    "ParserStats",
    "fold_key",
    "parse_all",
]

_BytesStep = Callable[[bytearray, bytes, int, int, tuple[str, ...]], "list[dict[str, str]] | None"]
_TextStep = Callable[[str, int, tuple[str, ...]], "list[dict[str, str]] | None"]
_CrlfStep = Callable[[bytes], bytes]


def _load_speedups() -> tuple[_BytesStep, _TextStep, _CrlfStep] | None:
    if os.environ.get("RINGWATCH_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from collectors.ami import _speedups
    except ImportError:
        return None
    return _speedups.parse_bytes, _speedups.parse_text, _speedups.crlf_to_lf


_SPEEDUPS = _load_speedups()
ACCELERATED = _SPEEDUPS is not None

BANNER_PREFIX = "Asterisk Call Manager/"
_BANNER_B = BANNER_PREFIX.encode()
_END_COMMAND = "--END COMMAND--"
_FOLLOWS_HEADERS = frozenset({"Privilege", "ActionID", "privilege", "actionid"})
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024
MAX_BANNER_BYTES = 1024  # a first line longer than this is not waited for as a banner


def fold_key(key: str) -> str:
    """A key of a lower-cased (legacy) message, or a key looked up in one. ASCII keys are
    lower-cased at once; other text one character at a time, because ``str.lower`` of a
    whole string applies the Greek final-sigma rule and mypyc's compiled ``lower`` does not:
    per character, the compiled parser and the source agree."""
    if key.isascii():
        return key.lower()
    return "".join([c.lower() for c in key])


class AmiMessage:
    """One AMI message: an event, an action response, or a client action.

    ``fields`` maps each key to its first value (keys exactly as sent); ``items`` has every
    ``(key, value)`` pair in order, repeated keys included. ``output`` holds command output
    lines (legacy ``Response: Follows`` raw lines, or the 14+ ``Output:`` lines).
    """

    __slots__ = ("_items", "fields", "folded", "output")

    def __init__(
        self,
        fields: dict[str, str],
        items: tuple[tuple[str, str], ...] | None = None,
        output: tuple[str, ...] = (),
        folded: bool = False,
    ) -> None:
        self.fields = fields
        self._items = items
        self.output = output
        self.folded = folded

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, str]]) -> AmiMessage:
        """Build a message from ordered pairs (tests, the simulator, resync)."""
        fields: dict[str, str] = {}
        for key, value in pairs:
            fields.setdefault(key, value)
        items = tuple(pairs) if len(fields) != len(pairs) else None
        return cls(fields, items)

    @property
    def items(self) -> tuple[tuple[str, str], ...]:
        if self._items is not None:
            return self._items
        return tuple(self.fields.items())

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of ``key`` (case-insensitive for lower-cased legacy messages)."""
        if self.folded:
            return self.fields.get(fold_key(key), default)
        return self.fields.get(key, default)

    def get_all(self, key: str) -> list[str]:
        """Every value of a repeated key, in order."""
        want = fold_key(key) if self.folded else key
        if self._items is None:
            value = self.fields.get(want)
            return [] if value is None else [value]
        return [v for k, v in self._items if k == want]

    @property
    def event(self) -> str | None:
        return self.get("Event")

    @property
    def response(self) -> str | None:
        return self.get("Response")

    @property
    def action(self) -> str | None:
        return self.get("Action")

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def __repr__(self) -> str:
        head = self.event or self.response or self.action or "?"
        return f"AmiMessage({head!r}, {len(self.fields)} fields)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AmiMessage):
            return NotImplemented
        return self.items == other.items and self.output == other.output

    __hash__ = None  # type: ignore[assignment]

    def to_bytes(self) -> bytes:
        """Serialise as Asterisk sends it (CRLF lines, blank line at the end)."""
        lines = [f"{k}: {v}" for k, v in self.items]
        lines.extend(f"Output: {line}" for line in self.output)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


class ParserStats:
    """Counters a parser keeps; exported as metrics by the service."""

    __slots__ = ("bad_lines", "bytes", "messages", "oversize")

    def __init__(self) -> None:
        self.messages = 0
        self.bad_lines = 0
        self.oversize = 0
        self.bytes = 0

    @property
    def skipped(self) -> int:
        return self.bad_lines + self.oversize


class AmiParser:
    """Incremental AMI parser. ``feed(bytes) -> list[AmiMessage]``; keeps the leftover.

    ``pure_python=True`` never uses the C steps (tests compare both paths with it).
    ``skip_suffixes``: a ``Key: value`` line whose key ends with one of these is left out, as
    if it were not there (a replay: headers the translator never reads cost no dict entry;
    ``collectors.ami.translate.UNREAD_HEADER_SUFFIXES``). Not in ``Response: Follows`` output.
    """

    def __init__(
        self,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        *,
        pure_python: bool = False,
        skip_suffixes: tuple[str, ...] = (),
    ) -> None:
        self.max_message_bytes = max_message_bytes
        self.skip_suffixes = skip_suffixes
        fast = None if pure_python else _SPEEDUPS
        self._c_bytes: _BytesStep | None = None if fast is None else fast[0]
        self._c_text: _TextStep | None = None if fast is None else fast[1]
        self._c_crlf: _CrlfStep | None = None if fast is None else fast[2]
        self.banner: str | None = None
        self.stats = ParserStats()
        # LF-only bytes not yet parsed; grows in place (no re-copy of the whole buffer per read)
        self._buf = bytearray()
        self._cr = False  # the last read ended with CR: held back, it may start a CRLF
        self._at_start = True
        self._discarding = False

    @property
    def leftover(self) -> bytes:
        """Bytes received that do not yet make a whole message."""
        return bytes(self._buf) + (b"\r" if self._cr else b"")

    def feed(self, data: bytes) -> list[AmiMessage]:
        self.stats.bytes += len(data)
        if self._at_start:
            data = self._take_banner(data)
            if self._at_start or not data:
                return []
        if self._cr:
            self._cr = False
            if data[:1] != b"\n":  # else the CR only began a CRLF: the LF stands for both
                data = b"\r" + data
        size = len(data)
        if data[-1:] == b"\r":
            size -= 1
            self._cr = True
        c_bytes = self._c_bytes
        if c_bytes is not None and not self._discarding:
            # the C step reads the bytes as they came (CRLF or LF): no LF-only copy, no join,
            # no decode of the whole read; None leaves the buffer as it was, for the steps below
            dicts = c_bytes(self._buf, data, size, self.max_message_bytes, self.skip_suffixes)
            if dicts is not None:
                self.stats.messages += len(dicts)
                self._check_oversize()
                return [AmiMessage(fields) for fields in dicts]
        if size < len(data):
            data = data[:size]
        if b"\r" in data:
            crlf = self._c_crlf
            data = data.replace(b"\r\n", b"\n") if crlf is None else crlf(data)
        buf = self._buf
        if self._discarding:
            # an oversize message is being skipped: only its last byte is kept, so a blank
            # line split across two reads still ends it (and never the next message)
            buf += data
            cut = buf.find(b"\n\n")
            if cut < 0:
                del buf[:-1]
                return []
            del buf[: cut + 2]
            self._discarding = False
            scan = 0
        else:
            scan = max(0, len(buf) - 1)  # bytes before this were searched already
            buf += data
        end = buf.rfind(b"\n\n", scan)
        if end < 0:
            self._check_oversize()
            return []
        text = buf[:end].decode("utf-8", "replace")
        del buf[: end + 2]
        if self._c_text is not None:
            dicts = self._c_text(text, self.max_message_bytes, self.skip_suffixes)
            if dicts is not None:
                self.stats.messages += len(dicts)
                self._check_oversize()
                return [AmiMessage(fields) for fields in dicts]
        out = self._parse_blocks(text.split("\n\n"))
        self._check_oversize()
        return out

    def _check_oversize(self) -> None:
        buf = self._buf
        if len(buf) > self.max_message_bytes:
            self.stats.oversize += 1
            self._discarding = True
            del buf[:-1]  # its last byte may be the first half of the blank line

    def _take_banner(self, data: bytes) -> bytes:
        """Wait for the banner line (at most ``MAX_BANNER_BYTES``); the bytes after it, or b""
        while still waiting. A stream that does not start with the banner is parsed as is."""
        buf = self._buf
        scan = len(buf)
        buf += data
        skip = len(buf) - len(buf.lstrip(b"\r\n"))
        if skip:
            del buf[:skip]
            scan = max(0, scan - skip)
        if len(buf) < len(_BANNER_B) and _BANNER_B.startswith(buf):
            return b""  # might still become a banner: wait for more bytes
        if buf.startswith(_BANNER_B):
            nl = buf.find(b"\n", scan)
            if nl < 0:
                if len(buf) > MAX_BANNER_BYTES:  # no line end: not a banner we will wait for
                    self.stats.oversize += 1
                    self._at_start = False
                    self._discarding = True
                    del buf[:-1]
                return b""
            self.banner = buf[:nl].rstrip(b"\r").decode("utf-8", "replace")
            del buf[: nl + 1]
        self._at_start = False
        rest = bytes(buf)
        buf.clear()
        return rest

    def _parse_blocks(self, blocks: list[str]) -> list[AmiMessage]:
        out: list[AmiMessage] = []
        append = out.append
        limit = self.max_message_bytes
        skip = self.skip_suffixes
        i = 0
        n = len(blocks)
        while i < n:
            block = blocks[i]
            i += 1
            if not block:
                continue
            if block[0] == "\n":
                block = block.lstrip("\n")
                if not block:
                    continue
            if block.startswith("Response: Follows") and _END_COMMAND not in block:
                # legacy command output may hold blank lines: join until --END COMMAND--
                parts = [block]
                while i < n and _END_COMMAND not in parts[-1]:
                    parts.append(blocks[i])
                    i += 1
                if _END_COMMAND not in parts[-1]:
                    rest = "\n\n".join(parts) + "\n\n"
                    self._buf[0:0] = rest.encode("utf-8")
                    break
                block = "\n\n".join(parts)
            if len(block) > limit:
                self.stats.oversize += 1
                continue
            lines = block.split("\n")
            if skip and not block.startswith("Response: Follows"):
                lines = [ln for ln in lines if not _skipped(ln, skip)]
                if not lines:
                    append(AmiMessage({}))  # as the C step: a block of skipped lines only
                    continue
            try:
                fields = dict([line.split(": ", 1) for line in lines])
            except ValueError:
                msg = self._parse_slow(lines)
            else:
                if len(fields) == len(lines) and "Output" not in fields:
                    if lines[0][:1].islower():
                        folded = {fold_key(k): v for k, v in fields.items()}
                        if len(folded) == len(fields):
                            msg = AmiMessage(folded, folded=True)
                        else:  # two keys differ only in case: the first value wins
                            msg = self._parse_slow(lines)
                    else:
                        msg = AmiMessage(fields)
                else:
                    msg = self._parse_slow(lines)
            if msg is not None:
                append(msg)
        self.stats.messages += len(out)
        return out

    def _parse_slow(self, lines: list[str]) -> AmiMessage | None:
        pairs: list[tuple[str, str]] = []
        output: list[str] = []
        follows = lines[0].startswith("Response: Follows")
        in_output = False
        for line in lines:
            if follows and line.startswith(_END_COMMAND):
                break
            if in_output:
                output.append(line)
                continue
            key, sep, value = line.partition(": ")
            if not sep:
                if line.endswith(":") and " " not in line:
                    key, value = line[:-1], ""
                elif follows and pairs:
                    in_output = True
                    output.append(line)
                    continue
                else:
                    self.stats.bad_lines += 1
                    continue
            elif follows and pairs and key not in _FOLLOWS_HEADERS:
                in_output = True
                output.append(line)
                continue
            if key == "Output":
                output.append(value)
                continue
            pairs.append((key, value))
        if not pairs:
            return None
        folded = pairs[0][0][:1].islower()
        if folded:
            pairs = [(fold_key(k), v) for k, v in pairs]
        fields: dict[str, str] = {}
        for key, value in pairs:
            fields.setdefault(key, value)
        items = tuple(pairs) if len(fields) != len(pairs) else None
        return AmiMessage(fields, items, tuple(output), folded)


def _skipped(line: str, suffixes: tuple[str, ...]) -> bool:
    """Whether ``line`` is a header whose key ends with one of ``suffixes`` (``Key: value``,
    or ``Key:`` with an empty value as some Asterisk versions send it)."""
    key, sep, _ = line.partition(": ")
    if not sep:
        if not line.endswith(":") or " " in line:
            return False
        key = line[:-1]
    return key.endswith(suffixes)


def parse_all(data: bytes, chunk_size: int = 0) -> Iterator[AmiMessage]:
    """Parse a whole byte string (a transcript): yields every message, the last one even when
    the stream ends without its blank line."""
    parser = AmiParser()
    if chunk_size <= 0:
        yield from parser.feed(data)
    else:
        for start in range(0, len(data), chunk_size):
            yield from parser.feed(data[start : start + chunk_size])
    if parser.leftover.strip():
        yield from parser.feed(b"\n\n")
