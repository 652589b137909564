"""The service's QA sampling task (``qa.sample_per_agent_per_week``): once at start, then
every ``SAMPLE_EVERY`` seconds, sample the weeks that ended by event time
(monitor/store/sampling.py), in a worker thread; a failure is logged and tried next time."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from monitor.config import Config
from monitor.errors import RingwatchError
from monitor.store import Store

__all__ = ["SAMPLE_EVERY", "sample_loop", "sample_now"]

log = logging.getLogger(__name__)

SAMPLE_EVERY = 3600.0


def sample_now(store: Store, cfg: Config, *, history: bool = False) -> int:
    """Sample the closed weeks now; returns the calls put in the QA queue."""
    result = store.sample_calls(
        cfg.qa_sample_per_agent_per_week,
        cfg.timezone,
        cfg.stale_after_seconds,
        history=history,
    )
    if result.picked:
        log.info("qa sample: %d calls of weeks %s", result.picked, ", ".join(result.weeks))
    return result.picked


async def sample_loop(store: Store, cfg: Config, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.to_thread(sample_now, store, cfg)
        except RingwatchError as exc:
            log.warning("qa sampling failed, next try in an hour: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)
