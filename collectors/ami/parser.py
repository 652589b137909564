"""Pure AMI framing: bytes in any split -> messages. No I/O, no clocks, never raises on input.

The wire format (design.md §2, reference/ami/EVENTS.md §1): ``Key: Value`` lines ending CRLF
(LF accepted), a message ends with an empty line. The one exception is the banner line
``Asterisk Call Manager/<ver>`` sent on connect with no blank line after it, and the legacy
(Asterisk <= 13) ``Response: Follows`` command output, whose raw CLI lines end with
``--END COMMAND--``. Keys may repeat (``ChanVariable``, ``Output``): all are kept in order.

Bad input is counted, never fatal: a line without ``: `` is skipped (``bad_lines``), a message
over ``max_message_bytes`` is dropped whole (``oversize``), bytes that are not UTF-8 are
replaced with U+FFFD.

Two steps have an optional C accelerator, ``collectors/ami/_speedups.c``
(docs/decisions/0006-c-ami-parser.md): the CRLF -> LF replace, and the dicts of a chunk
whose blocks are all regular (it returns None otherwise, and this module then parses that
chunk in Python, so the result is the same either way). ``ACCELERATED`` says whether it is
in use: not when the extension was not built or ``RINGWATCH_PURE_PYTHON`` is set (to anything
but ``0``).
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
    "parse_all",
]

_TextStep = Callable[[str, int], "list[dict[str, str]] | None"]
_CrlfStep = Callable[[bytes], bytes]


def _load_speedups() -> tuple[_TextStep, _CrlfStep] | None:
    if os.environ.get("RINGWATCH_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from collectors.ami import _speedups
    except ImportError:
        return None
    return _speedups.parse_text, _speedups.crlf_to_lf


_SPEEDUPS = _load_speedups()
ACCELERATED = _SPEEDUPS is not None

BANNER_PREFIX = "Asterisk Call Manager/"
_BANNER_B = BANNER_PREFIX.encode()
_END_COMMAND = "--END COMMAND--"
_FOLLOWS_HEADERS = frozenset({"Privilege", "ActionID", "privilege", "actionid"})
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024


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
            return self.fields.get(key.lower(), default)
        return self.fields.get(key, default)

    def get_all(self, key: str) -> list[str]:
        """Every value of a repeated key, in order."""
        want = key.lower() if self.folded else key
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
    """

    def __init__(
        self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES, *, pure_python: bool = False
    ) -> None:
        self.max_message_bytes = max_message_bytes
        fast = None if pure_python else _SPEEDUPS
        self._c_text: _TextStep | None = None if fast is None else fast[0]
        self._c_crlf: _CrlfStep | None = None if fast is None else fast[1]
        self.banner: str | None = None
        self.stats = ParserStats()
        self._buf = b""
        self._at_start = True
        self._discarding = False

    @property
    def leftover(self) -> bytes:
        """Bytes received that do not yet make a whole message."""
        return self._buf

    def feed(self, data: bytes) -> list[AmiMessage]:
        self.stats.bytes += len(data)
        buf = self._buf + data if self._buf else data
        if self._at_start:
            buf = self._take_banner(buf)
            if self._at_start:
                self._buf = buf
                return []
        if b"\r" in buf:
            crlf = self._c_crlf
            buf = buf.replace(b"\r\n", b"\n") if crlf is None else crlf(buf)
        if self._discarding:
            cut = buf.find(b"\n\n")
            if cut < 0:
                self._buf = buf[-1:]  # keep a possible first half of the terminator
                return []
            buf = buf[cut + 2 :]
            self._discarding = False
        end = buf.rfind(b"\n\n")
        if end < 0:
            self._buf = buf
            self._check_oversize()
            return []
        self._buf = buf[end + 2 :]
        text = buf[:end].decode("utf-8", "replace")
        if self._c_text is not None:
            dicts = self._c_text(text, self.max_message_bytes)
            if dicts is not None:
                self.stats.messages += len(dicts)
                self._check_oversize()
                return list(map(AmiMessage, dicts))
        out = self._parse_blocks(text.split("\n\n"))
        self._check_oversize()
        return out

    def _check_oversize(self) -> None:
        if len(self._buf) > self.max_message_bytes:
            self.stats.oversize += 1
            self._discarding = True
            self._buf = b""

    def _take_banner(self, buf: bytes) -> bytes:
        probe = buf.lstrip(b"\r\n")
        if len(probe) < len(_BANNER_B) and _BANNER_B.startswith(probe):
            return buf  # might still become a banner: wait for more bytes
        if probe.startswith(_BANNER_B):
            nl = probe.find(b"\n")
            if nl < 0:
                return buf
            self.banner = probe[:nl].rstrip(b"\r").decode("utf-8", "replace")
            probe = probe[nl + 1 :]
        self._at_start = False
        return probe

    def _parse_blocks(self, blocks: list[str]) -> list[AmiMessage]:
        out: list[AmiMessage] = []
        append = out.append
        limit = self.max_message_bytes
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
                    self._buf = rest.encode("utf-8") + self._buf
                    break
                block = "\n\n".join(parts)
            if len(block) > limit:
                self.stats.oversize += 1
                continue
            lines = block.split("\n")
            try:
                fields = dict([line.split(": ", 1) for line in lines])
            except ValueError:
                msg = self._parse_slow(lines)
            else:
                if len(fields) == len(lines) and "Output" not in fields:
                    if lines[0][:1].islower():
                        fields = {k.lower(): v for k, v in fields.items()}
                        msg = AmiMessage(fields, folded=True)
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
        fields: dict[str, str] = {}
        for key, value in pairs:
            fields.setdefault(key, value)
        items = tuple(pairs) if len(fields) != len(pairs) else None
        folded = pairs[0][0][:1].islower()
        if folded:
            fields = {k.lower(): v for k, v in reversed(pairs)}
            items = tuple((k.lower(), v) for k, v in pairs) if items is not None else None
        return AmiMessage(fields, items, tuple(output), folded)


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
