"""Input files for ``replay`` and ``import``: opened safely and read as a stream of chunks.

Every problem with an input file is one :class:`~monitor.errors.TranscriptError` naming the
file, what is wrong and what to do (the CLI prints it on one line and exits 2):

* not there, a directory, or not a regular file (a named pipe, a device): refused, since a
  pipe with no writer would block for ever. ``-`` reads standard input explicitly;
* ``.gz`` (or gzip magic) is decompressed as a stream, a chunk at a time: a corrupt or
  truncated file is an error, never a zlib traceback, and a gzip bomb costs no more memory
  than a chunk;
* a run of more than ``max_line_bytes`` without a newline (a sparse file of zeros, a binary
  file) stops the read: no text format ringwatch reads has lines that long.

Memory is bounded by the chunk size whatever the file size. ``offset`` counts the bytes
handed out (decompressed bytes for a gzip file); ``raw_offset`` the bytes read from disk,
for a progress bar.

``read_ahead=True`` decompresses a gzip file in a thread, up to ``READ_AHEAD_CHUNKS`` chunks
ahead of the reader: zlib releases the GIL while it inflates, so on a second core the
decompression no longer adds to the parsing time (an import). Errors arrive where they would
have been raised, and a reader that stops early stops the thread.
"""

from __future__ import annotations

import hashlib
import os
import queue
import stat
import sys
import threading
import types
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from monitor.errors import TranscriptError

__all__ = [
    "CHUNK_BYTES",
    "MAX_LINE_BYTES",
    "STDIN",
    "FileIdentity",
    "InputFile",
    "check_path",
]

# 256 KiB: a chunk and the copies the parser makes of it (line ends, text) stay in a core's
# L2 cache; 1 MiB chunks made the parse stage half as slow again (24-hour transcript: 353 ms
# vs 216 ms, best of 7; a 266 MiB gzip read and parsed: 3.36 s vs 2.00 s, best of 3)
CHUNK_BYTES = 256 << 10
MAX_LINE_BYTES = 1 << 20
READ_AHEAD_CHUNKS = 4
_GZIP_READ = 256 << 10  # compressed bytes per read (its unconsumed tail is copied per chunk)
STDIN = "-"
_GZIP_MAGIC = b"\x1f\x8b"

_inflater: types.ModuleType
try:  # zlib-ng inflates the same bytes about 3x as fast (decision 0009); else the stdlib's
    from zlib_ng import zlib_ng

    _inflater = zlib_ng
except ImportError:  # pragma: no cover - a platform without its wheel
    _inflater = zlib
_INFLATE_ERRORS: tuple[type[Exception], ...] = (zlib.error, _inflater.error)
_HEAD_BYTES = 1 << 16


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """What makes a file the same file on a later run: its size, and a hash of its first
    64 KiB and of its size (a rotated or renamed file keeps its identity; an edited one
    does not). ``key`` is what the checkpoint table stores."""

    path: str
    size: int
    head_sha256: str

    @property
    def key(self) -> str:
        return f"{self.head_sha256[:32]}:{self.size}"


def check_path(path: Path) -> os.stat_result:
    """Stat ``path`` and refuse anything but a regular file, with a message that says why."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise TranscriptError(
            f"{path}: no such file (give the path of an AMI transcript or a queue_log)"
        ) from None
    except OSError as exc:
        raise TranscriptError(f"{path}: cannot read: {exc.strerror}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise TranscriptError(f"{path}: is a directory (give files, e.g. {path}/*.ami)")
    if not stat.S_ISREG(st.st_mode):
        kind = "a named pipe" if stat.S_ISFIFO(st.st_mode) else "not a regular file"
        raise TranscriptError(
            f"{path}: is {kind}; give a regular file, or '-' to read standard input "
            f"(e.g. cat {path} | ringwatch replay -)"
        )
    return st


class InputFile:
    """One input: a regular file (plain or gzip) or standard input (``-``)."""

    def __init__(
        self,
        path: Path | str,
        *,
        chunk_bytes: int = CHUNK_BYTES,
        max_line_bytes: int = MAX_LINE_BYTES,
        stdin: BinaryIO | None = None,
        read_ahead: bool = False,
    ) -> None:
        path = Path(path)
        self.read_ahead = read_ahead
        self.path = path
        self.name = str(path)
        self.chunk_bytes = chunk_bytes
        self.max_line_bytes = max_line_bytes
        self.is_stdin = str(path) == STDIN
        self._stdin = stdin
        self.size = 0
        self.offset = 0
        self.raw_offset = 0
        self.gzip = False
        self._head = b""
        if self.is_stdin:
            self.name = "<stdin>"
            return
        st = check_path(path)
        self.size = st.st_size
        try:
            with path.open("rb") as fh:
                self._head = fh.read(_HEAD_BYTES)
        except OSError as exc:
            raise TranscriptError(f"{path}: cannot read: {exc.strerror}") from exc
        self.gzip = self._head[:2] == _GZIP_MAGIC or (path.suffix == ".gz" and bool(self._head))

    def identity(self) -> FileIdentity | None:
        """The file's identity for checkpoints (None for standard input)."""
        if self.is_stdin:
            return None
        digest = hashlib.sha256(self._head + str(self.size).encode()).hexdigest()
        return FileIdentity(str(self.path.resolve()), self.size, digest)

    def peek(self, n: int = 4096) -> bytes:
        """The first ``n`` bytes of the content (decompressed), without consuming the file."""
        out = b""
        for chunk in InputFile(
            self.path, chunk_bytes=max(n, 4096), max_line_bytes=self.max_line_bytes
        )._raw_chunks():
            out += chunk
            if len(out) >= n:
                break
        return out[:n]

    # ---- reading ----------------------------------------------------------------------------

    def chunks(self, start: int = 0) -> Iterator[bytes]:
        """Content chunks from content byte ``start`` on (a gzip file is decompressed from its
        beginning and the first ``start`` bytes dropped). Raises TranscriptError."""
        run = 0  # bytes since the last newline
        limit = self.max_line_bytes
        skip = start
        for chunk in self._raw_chunks():
            nl = chunk.rfind(b"\n")
            if nl < 0:
                run += len(chunk)
            else:
                first = chunk.find(b"\n")
                if run + first > limit:
                    self._too_long(self.offset + first)
                run = len(chunk) - nl - 1
                if nl - first > limit and _longest_line(chunk, first, nl) > limit:
                    self._too_long(self.offset + nl)
            if run > limit:
                self._too_long(self.offset + len(chunk))
            self.offset += len(chunk)
            if skip:
                if skip >= len(chunk):
                    skip -= len(chunk)
                    continue
                chunk = chunk[skip:]
                skip = 0
            yield chunk

    def _too_long(self, where: int) -> None:
        raise TranscriptError(
            f"{self.name}: more than {self.max_line_bytes >> 20} MiB without a line break "
            f"(near byte {where}): this is not a text log (AMI transcript or queue_log); "
            "check that the right file was given"
        )

    def _raw_chunks(self) -> Iterator[bytes]:
        if self.read_ahead and self.gzip and not self.is_stdin:
            return _read_ahead(self._file_chunks(), READ_AHEAD_CHUNKS, self.name)
        return self._file_chunks()

    def _file_chunks(self) -> Iterator[bytes]:
        if self.is_stdin:
            stream = self._stdin or sys.stdin.buffer
            yield from self._plain(stream)
            return
        try:
            with self.path.open("rb") as fh:
                if self.gzip:
                    yield from self._gunzip(fh)
                else:
                    yield from self._plain(fh)
        except OSError as exc:
            raise TranscriptError(f"{self.name}: cannot read: {exc.strerror}") from exc

    def _plain(self, fh: BinaryIO) -> Iterator[bytes]:
        while True:
            chunk = fh.read(self.chunk_bytes)
            if not chunk:
                return
            self.raw_offset += len(chunk)
            yield chunk

    def _gunzip(self, fh: BinaryIO) -> Iterator[bytes]:
        """Stream-decompress every gzip member; output never exceeds a chunk at a time."""
        out_max = self.chunk_bytes
        member = 0
        while True:
            dec = _inflater.decompressobj(16 + zlib.MAX_WBITS)
            pending = b""
            started = False
            while not dec.eof:
                if not pending:
                    pending = fh.read(_GZIP_READ)
                    self.raw_offset += len(pending)
                    if not pending and started:
                        data = self._inflate(dec, b"", out_max)
                        if data:
                            yield data
                            continue
                    if not pending:
                        if started or member == 0:
                            raise TranscriptError(
                                f"{self.name}: cannot read: the gzip data ends early (truncated "
                                f"at compressed byte {self.raw_offset}); copy the file again, "
                                "or check it with gzip -t"
                            )
                        return
                started = True
                data = self._inflate(dec, pending, out_max)
                pending = dec.unconsumed_tail
                if data:
                    yield data
            member += 1
            rest = dec.unused_data
            if not rest:
                nxt = fh.read(2)
                self.raw_offset += len(nxt)
                if not nxt:
                    return
                rest = nxt
            if rest[:2] != _GZIP_MAGIC and rest.strip(b"\x00"):
                raise TranscriptError(
                    f"{self.name}: cannot read: data after the end of the gzip stream is not "
                    "gzip; copy the file again, or check it with gzip -t"
                )
            if not rest.strip(b"\x00"):
                return
            fh.seek(fh.tell() - len(rest))
            self.raw_offset -= len(rest)

    def _inflate(self, dec: Any, data: bytes, out_max: int) -> bytes:
        try:
            out: bytes = dec.decompress(data, out_max)
        except _INFLATE_ERRORS as exc:
            raise TranscriptError(
                f"{self.name}: cannot read: corrupt gzip data near compressed byte "
                f"{self.raw_offset} ({exc}); copy the file again, or check it with gzip -t"
            ) from None
        return out


_END = object()


def _read_ahead(chunks: Iterator[bytes], depth: int, name: str) -> Iterator[bytes]:
    """``chunks`` produced by a thread, at most ``depth`` ahead; its exception re-raised here,
    in order. Closing this generator (the reader stopped) stops and joins the thread."""
    ahead: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return
            put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, raised there
            put(exc)
        finally:
            chunks.close()  # type: ignore[attr-defined]

    thread = threading.Thread(target=produce, name=f"read-ahead {name}", daemon=True)
    thread.start()
    try:
        while True:
            item = ahead.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            yield item
    finally:
        stop.set()
        thread.join()


def _longest_line(chunk: bytes, first: int, last: int) -> int:
    """The longest run between two newlines of ``chunk`` from ``first`` to ``last``."""
    longest = 0
    pos = first
    while pos < last:
        nxt = chunk.find(b"\n", pos + 1)
        longest = max(longest, nxt - pos - 1)
        pos = nxt
    return longest
