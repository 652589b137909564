"""``ringwatch`` under tracemalloc for the soak (``python -m bench.soak --tracemalloc``): each
SIGUSR1 writes a snapshot to ``$RINGWATCH_SNAPSHOT_DIR/snap-<n>.pickle``. Not for production:
tracemalloc slows the service and costs memory of its own."""

from __future__ import annotations

import os
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType


def _dump(out: Path) -> None:
    n = len(list(out.glob("snap-*.pickle")))
    snap = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen*")]
    )
    tmp = out / f"snap-{n}.tmp"
    snap.dump(str(tmp))
    os.replace(tmp, out / f"snap-{n}.pickle")  # whole or absent for the soak


def main() -> int:
    out = Path(os.environ.get("RINGWATCH_SNAPSHOT_DIR", "."))
    tracemalloc.start(int(os.environ.get("RINGWATCH_TRACE_FRAMES", "1")))

    def handler(signum: int, frame: FrameType | None) -> None:
        _dump(out)

    signal.signal(signal.SIGUSR1, handler)
    from monitor.cli.main import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
