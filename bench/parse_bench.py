"""AMI parse benchmark: one byte stream, 4 KiB chunks, ringwatch vs the Python AMI libraries.

Rows: "ringwatch" is ``AmiParser`` as shipped, with the C per-block step when the extension is
built (``collectors.ami.parser.ACCELERATED``) and the module compiled by mypyc when it is
(decision 0007; the goal ratios use this row); "ringwatch (pure Python)" is the same parser
loaded from its ``.py`` source with ``pure_python=True``, the fallback and reference; "bare
split" is a split-into-dict floor with no edge cases.

Each adapter does per chunk exactly what the library's reader does per ``recv()``, without a
socket: asterisk-ami's listener thread (``AMIClient._next_pack`` + ``listen`` ->
``fire_recv_pack`` -> ``Event.read`` -> listeners), panoramisk's ``AMIProtocol.data_received``
(-> ``Message.from_line`` -> ``factory.dispatch``), pyst2's ``Manager._receive_data`` line
framing plus ``message_loop``'s ``ManagerMsg``/``Event`` (without its threads and queues,
which only makes it faster). Every adapter returns the number of events it delivered.
"""

from __future__ import annotations

import gc
import importlib.util
import io
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import chunks, event_stream, spread
from collectors.ami.parser import ACCELERATED, AmiParser

Adapter = Callable[[Sequence[bytes]], int]

CHUNK = 4096
PURE = "ringwatch (pure Python)"


def ringwatch(stream: Sequence[bytes]) -> int:
    parser = AmiParser()
    n = 0
    for data in stream:
        n += len(parser.feed(data))
    return n


def _pure_parser() -> type[AmiParser]:
    """``AmiParser`` from ``collectors/ami/parser.py`` itself: not the compiled module."""
    path = Path(__file__).resolve().parent.parent / "collectors" / "ami" / "parser.py"
    spec = importlib.util.spec_from_file_location("_ringwatch_pure_parser", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cls: type[AmiParser] = module.AmiParser
    return cls


_PURE_PARSER = _pure_parser()


def ringwatch_pure(stream: Sequence[bytes]) -> int:
    parser = _PURE_PARSER(pure_python=True)
    n = 0
    for data in stream:
        n += len(parser.feed(data))
    return n


def bare_split(stream: Sequence[bytes]) -> int:
    """The floor: split on blank lines, decode, split lines into a dict. No edge cases."""
    buf = b""
    n = 0
    first = True
    for data in stream:
        buf += data
        if first:
            nl = buf.find(b"\r\n")
            if nl < 0:
                continue
            buf = buf[nl + 2 :]
            first = False
        *blocks, buf = buf.split(b"\r\n\r\n")
        for block in blocks:
            fields = dict([line.split(": ", 1) for line in block.decode().split("\r\n")])
            n += "Event" in fields
    return n


def asterisk_ami(stream: Sequence[bytes]) -> int:
    from asterisk.ami import AMIClient  # type: ignore[import-not-found]

    client = AMIClient()
    seen = [0]

    def on_event(source: Any, event: Any) -> None:
        seen[0] += 1

    client.add_listener(on_event=on_event)
    line_re = client.asterisk_line_regex
    pack_re = client.asterisk_pack_regex
    data = b""
    started = False
    for recv in stream:  # _next_pack: data += recv, then every complete pack
        data += recv
        if not started:
            if not line_re.search(data):
                continue
            pack, data = line_re.split(data, 1)
            if not AMIClient.asterisk_start_regex.match(client._decode_pack(pack)):
                raise RuntimeError("asterisk-ami: no banner")
            started = True
        while pack_re.search(data):
            pack, data = pack_re.split(data, 1)
            client.fire_recv_pack(client._decode_pack(pack))  # listen()
    return seen[0]


class _Transport:
    def write(self, data: bytes) -> None:
        return None

    def close(self) -> None:
        return None


class _Factory:
    def __init__(self) -> None:
        self.count = 0

    def dispatch(self, message: Any) -> None:
        self.count += 1


def panoramisk(stream: Sequence[bytes]) -> int:
    from panoramisk.ami_protocol import AMIProtocol  # type: ignore[import-not-found]

    proto = AMIProtocol()
    proto.connection_made(_Transport())
    factory = _Factory()
    proto.factory = factory  # as Manager.connection_made does
    proto.encoding = "utf8"
    for data in stream:
        proto.data_received(data)
    return factory.count


class _ChunkRaw(io.RawIOBase):
    """A socket's raw reader: each read returns the next chunk (at most the buffer)."""

    def __init__(self, stream: Sequence[bytes]) -> None:
        self._it = iter(stream)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if not self._pending:
            self._pending = next(self._it, b"")
        n = min(len(b), len(self._pending))
        b[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def pyst2(stream: Sequence[bytes]) -> int:
    from asterisk.manager import EOL, ManagerMsg  # type: ignore[import-not-found]
    from asterisk.manager import Event as PystEvent

    sock = io.BufferedReader(_ChunkRaw(stream))  # what socket.makefile("rb") gives
    callbacks: dict[str, list[Callable[[Any, Any], Any]]] = {}
    seen = [0]

    def on_any(event: Any, manager: Any) -> None:
        seen[0] += 1

    callbacks["*"] = [on_any]
    title = None
    multiline = status = wait_for_marker = False
    while True:  # Manager._receive_data, one message per pass
        lines: list[str] = []
        eof = True
        for raw in sock:
            eof = False
            line = raw.decode("utf8", "ignore")
            if not title and "/" in line and ":" not in line:
                title = line.split("/")[0].strip()
                lines.append("Response: Generated Header\r\n")
                lines.append(line)
                break
            if line == EOL and not wait_for_marker:
                multiline = False
                if lines:
                    break
                continue
            if "status will follow" in line:
                status = True
                wait_for_marker = True
            lines.append(line)
            if not line.endswith("\r\n") or ":" not in line:
                multiline = True
            if (
                not (multiline or status)
                and line.startswith("Response")
                and line.split(":", 1)[1].strip() == "Follows"
            ):
                wait_for_marker = True
            if multiline and (
                line.startswith("--END COMMAND--") or line.strip().endswith("--END COMMAND--")
            ):
                wait_for_marker = False
                multiline = False
            if status and "StatusComplete" in line:
                wait_for_marker = False
                status = False
        if not lines:
            if eof:
                return seen[0]
            continue
        message = ManagerMsg(lines)  # message_loop
        if message.has_header("Event"):
            event = PystEvent(message)  # event_dispatch
            for callback in callbacks.get(event.name, []) + callbacks.get("*", []):
                if callback(event, None):
                    break


def available() -> dict[str, Adapter]:
    """ringwatch (both paths) and the baseline always; each peer when it is installed."""
    out: dict[str, Adapter] = {"ringwatch": ringwatch, PURE: ringwatch_pure}
    for name, probe, fn in (
        ("asterisk-ami", "asterisk.ami", asterisk_ami),
        ("panoramisk", "panoramisk.ami_protocol", panoramisk),
        ("pyst2", "asterisk.manager", pyst2),
    ):
        try:
            __import__(probe)
        except ImportError:
            continue
        out[name] = fn
    out["bare split"] = bare_split
    return out


def run(events: int = 200_000, repeats: int = 5, seed: int = 1) -> dict[str, Any]:
    """Every adapter ``repeats`` times, interleaved round by round; events/s per adapter."""
    data, count = event_stream(events, seed=seed)
    stream = chunks(data, CHUNK)
    adapters = available()
    times: dict[str, list[float]] = {name: [] for name in adapters}
    counts: dict[str, int] = {}
    for _ in range(repeats):
        for name, fn in adapters.items():
            gc.collect()
            t0 = time.perf_counter()
            counts[name] = fn(stream)
            times[name].append(time.perf_counter() - t0)
    rates = {name: spread([count / t for t in ts]) for name, ts in times.items()}
    ours = rates["ringwatch"].median
    return {
        "events": count,
        "bytes": len(data),
        "chunk": CHUNK,
        "repeats": repeats,
        "accelerated": ACCELERATED,
        "counts": counts,
        "events_per_s": {name: r.to_json() for name, r in rates.items()},
        "ratio_vs": {name: ours / r.median for name, r in rates.items() if name != "ringwatch"},
    }
