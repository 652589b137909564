"""Decision 0009: inflate a gzip transcript with the stdlib's zlib, isal and zlib-ng.

Run in a venv with both wheels (``pip install isal zlib-ng``):
``python docs/decisions/0009/gzip_bench.py bench/results/cache/history-big-12h-279172874.ami.gz``
"""

from __future__ import annotations

import gzip
import resource
import sys
import time
import zlib
from collections.abc import Callable
from typing import Any

from isal import igzip, isal_zlib  # type: ignore[import-not-found]
from zlib_ng import gzip_ng, zlib_ng

CHUNK = 256 << 10


def reader(name: str, path: str, opener: Callable[..., Any]) -> None:
    """Through the library's gzip reader, 256 KiB at a time: wall and CPU seconds."""
    t0, c0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_utime
    n = 0
    with opener(path, "rb") as f:
        while block := f.read(CHUNK):
            n += len(block)
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - c0
    print(f"{name} reader: {n} bytes, {time.perf_counter() - t0:.3f} s, CPU {cpu:.3f} s")


def loop(name: str, path: str, make: Callable[[], Any]) -> None:
    """``decompressobj(wbits=31)`` fed 64 KiB at a time, at most a chunk out per call."""
    with open(path, "rb") as f:
        data = f.read()
    t0 = time.perf_counter()
    dec, n = make(), 0
    for i in range(0, len(data), 65536):
        n += len(dec.decompress(data[i : i + 65536], CHUNK))
        while dec.unconsumed_tail:
            n += len(dec.decompress(dec.unconsumed_tail, CHUNK))
    print(f"{name} decompressobj: {n} bytes, {time.perf_counter() - t0:.3f} s")


def main(path: str) -> None:
    for _ in range(2):
        reader("zlib", path, gzip.open)
        reader("isal", path, igzip.open)
        reader("zlib-ng", path, gzip_ng.open)
        loop("zlib", path, lambda: zlib.decompressobj(wbits=31))
        loop("isal", path, lambda: isal_zlib.decompressobj(wbits=31))
        loop("zlib-ng", path, lambda: zlib_ng.decompressobj(wbits=31))


if __name__ == "__main__":
    main(sys.argv[1])
