"""A progress bar for long imports on stderr: percent, MiB, events/s and time left."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """``bar(done_bytes, total_bytes, events)``. On a terminal it redraws one line at most
    five times a second; otherwise it prints a line every ``every`` seconds (logs stay short).
    """

    def __init__(
        self,
        stream: TextIO,
        label: str = "import",
        *,
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.label = label
        self.clock = clock
        self.started = clock()
        self.tty = stream.isatty()
        self.every = 0.2 if self.tty else every
        self.last = -1e9
        self.lines = 0
        self.finished = False

    def line(self, done: int, total: int, events: int) -> str:
        elapsed = max(self.clock() - self.started, 1e-6)
        frac = min(1.0, done / total) if total else 1.0
        rate = events / elapsed
        mib_s = done / elapsed / (1 << 20)
        eta = (elapsed / frac - elapsed) if frac > 0 else 0.0
        bar = "#" * int(frac * 25)
        return (
            f"{self.label} [{bar:<25}] {frac * 100:5.1f}% {done >> 20}/{total >> 20} MiB "
            f"{rate:,.0f} events/s {mib_s:.1f} MiB/s ETA {_hms(eta)}"
        )

    def __call__(self, done: int, total: int, events: int) -> None:
        now = self.clock()
        final = total > 0 and done >= total
        if (now - self.last < self.every and not final) or self.finished:
            return
        self.finished = final
        self.last = now
        text = self.line(done, total, events)
        if self.tty:
            self.stream.write("\r" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.lines += 1
        self.stream.flush()


def _hms(seconds: float) -> str:
    s = int(max(0.0, seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
