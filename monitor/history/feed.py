"""The import's per-event loop, compiled with the hot path (decision 0007).

``Importer._loop`` takes the merged inputs a block at a time from here: AMI events go into
the pipeline by a direct call (native when compiled: no interpreter step and no argument
parsing per event), queue_log lines to the importer's handler. Between blocks the importer
reports progress and hands completed calls to the writer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from monitor import events as ev
from monitor.history.queue_log import QueueLogLine
from monitor.pipeline import Pipeline

__all__ = ["feed_block"]


def feed_block(
    items: Iterator[ev.Event | QueueLogLine],
    pipeline: Pipeline,
    on_line: Callable[[QueueLogLine], None],
    limit: int,
) -> int:
    """Take up to ``limit`` items from ``items``: events into ``pipeline.feed_event``,
    queue_log lines to ``on_line``. Returns how many were taken: fewer than ``limit`` only
    when ``items`` ended. The rest stay in ``items`` for the next block."""
    n = 0
    if limit <= 0:
        return 0
    for item in items:
        if isinstance(item, ev.Event):
            pipeline.feed_event(item)
        else:
            on_line(item)
        n += 1
        if n >= limit:
            break
    return n
