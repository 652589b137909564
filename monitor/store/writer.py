"""``StoreWriter``: completed calls, findings and promise changes are never lost to a busy store.

Every durable write (a call with its findings, a promise-ledger transaction, a late finding)
is submitted here, on the event loop. While the store is healthy a write is made at once, as
before. When it fails because the database is locked or unreachable (SQLAlchemy
``OperationalError``: ``database is locked``, a dropped PostgreSQL connection) it is queued,
and so is every later write (order is kept); the service's ``run`` task retries the head of
the queue after 0.1, 0.2, 0.4 ... s (at most ``retry_max``). Each attempt waits at most the
engine's busy timeout (``Service``: 0.25 s), so the event loop, ``/healthz`` and the scrape
keep answering; meanwhile ``health()`` says ``degraded`` and ``ringwatch_store_degraded`` is
1. Writes are idempotent (upserts keyed by call id, promise keys), so a retry never doubles a
call. A write that fails for any other reason (a bug, bad data) is logged with what it was and
dropped, so one bad record cannot stall the queue (``failed`` counts them).

The queue is bounded (``max_pending``, 100,000 writes: hours of calls). When it is full,
``submit`` blocks: it retries the head itself until there is room, so the event loop stops,
the AMI collector stops reading and TCP pushes back on the PBX; nothing completed is dropped.
``close`` flushes the queue, waiting up to ``flush_timeout`` for a locked database, and logs
each write it could not make (docs/operations.md).

Not thread-safe: one event loop owns it (design.md §1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

__all__ = ["StoreWriter", "is_transient"]

log = logging.getLogger(__name__)


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is the database being busy or unreachable."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, OperationalError | InterfaceError | DisconnectionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass
class _Write:
    what: str
    run: Callable[[], object]
    key: str | None
    submitted: float


class StoreWriter:
    """Write now, or queue and retry while the store is busy (see the module doc)."""

    def __init__(
        self,
        *,
        max_pending: int = 100_000,
        retry_first: float = 0.1,
        retry_max: float = 5.0,
        flush_timeout: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        self.max_pending = max_pending
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.flush_timeout = flush_timeout
        self._monotonic = monotonic
        self._wall = wall
        self._sleep = sleep
        self._queue: deque[_Write] = deque()
        self._keys: set[str] = set()
        self._delay = retry_first
        self._next_try = 0.0  # monotonic time of the next attempt at the head
        self.state = "ok"
        self.since = wall()
        self.last_error: str | None = None
        self.written = 0
        self.retries = 0
        self.failed = 0
        self.blocked = 0  # submits that found the queue full and waited

    def __repr__(self) -> str:
        return f"StoreWriter(state={self.state}, pending={self.pending})"

    @property
    def pending(self) -> int:
        return len(self._queue)

    @property
    def degraded(self) -> bool:
        return self.state != "ok"

    # ---- submit ----------------------------------------------------------------------------

    def submit(self, what: str, run: Callable[[], object], *, key: str | None = None) -> None:
        """Make the write ``run`` (one whole transaction) now, or queue it behind the others.
        With ``key``, a queued write with the same key makes this one redundant (it reads the
        latest state when it runs, e.g. "advance the promise clock")."""
        if key is not None and key in self._keys:
            return
        item = _Write(what, run, key, self._monotonic())
        if not self._queue:
            if self._attempt(item):
                return
        else:
            if len(self._queue) >= self.max_pending:
                self._wait_for_room(what)
        self._queue.append(item)
        if key is not None:
            self._keys.add(key)

    def _wait_for_room(self, what: str) -> None:
        self.blocked += 1
        log.error("store: %d writes waiting; %s blocks until one is made", self.pending, what)
        while len(self._queue) >= self.max_pending:
            self._sleep(max(0.0, self._next_try - self._monotonic()))
            self.drain(budget=1.0)

    # ---- retry -----------------------------------------------------------------------------

    def _attempt(self, item: _Write) -> bool:
        """Run one write: True when it is done with (made, or dropped as hopeless)."""
        try:
            item.run()
        except Exception as exc:  # a write must never stop the event loop
            if is_transient(exc):
                self.retries += 1
                self.last_error = f"{item.what}: {exc}"[:500]
                self._next_try = self._monotonic() + self._delay
                self._delay = min(self.retry_max, self._delay * 2)
                if self.state == "ok":
                    self.state, self.since = "degraded", self._wall()
                    log.warning("store: %s; queued, retrying (nothing is dropped)", exc)
                return False
            self.failed += 1
            log.exception("store: %s failed and was dropped", item.what)
            return True
        self.written += 1
        return True

    def drain(self, budget: float = 0.05) -> None:
        """Make queued writes, oldest first, for at most ``budget`` seconds; stop at the first
        that still fails (its next try is scheduled with back-off)."""
        end = self._monotonic() + budget
        while self._queue and self._monotonic() >= self._next_try:
            item = self._queue[0]
            if not self._attempt(item):
                return
            self._queue.popleft()
            if item.key is not None:
                self._keys.discard(item.key)
            if self._monotonic() > end:
                break
        if not self._queue and self.state != "ok":
            self.state, self.since = "ok", self._wall()
            self._delay = self.retry_first
            log.warning("store: writable again; every queued write is made")
        elif self._queue and self._next_try <= self._monotonic():
            self._delay = self.retry_first  # progress: the next failure starts short again

    async def run(self, stop: asyncio.Event) -> None:
        """The service's retry task: drain while writes are queued, until ``stop``."""
        while not stop.is_set():
            if self._queue:
                self.drain()
                wait = max(0.01, min(0.5, self._next_try - self._monotonic()))
            else:
                wait = 0.5
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)

    # ---- flush and close -------------------------------------------------------------------

    def flush(self, timeout: float) -> bool:
        """Make every queued write, retrying for up to ``timeout`` seconds (blocking)."""
        end = self._monotonic() + timeout
        while self._queue:
            left = end - self._monotonic()
            if left <= 0:
                return False
            self._sleep(min(left, max(0.0, self._next_try - self._monotonic())))
            self.drain(budget=left)
        return True

    def close(self, timeout: float | None = None) -> int:
        """Flush (up to ``timeout``, default ``flush_timeout``); log each write that could not
        be made and return how many."""
        self.flush(self.flush_timeout if timeout is None else timeout)
        left = list(self._queue)
        self._queue.clear()
        self._keys.clear()
        for item in left:
            log.error("store: not written at shutdown (%s): %s", self.last_error, item.what)
        return len(left)

    def health(self) -> dict[str, Any]:
        """The ``store`` component of the service health: never touches the database."""
        oldest = self._queue[0].submitted if self._queue else None
        return {
            "state": self.state,
            "since": self.since,
            "pending": self.pending,
            "oldest_pending_seconds": (
                None if oldest is None else round(self._monotonic() - oldest, 3)
            ),
            "retries": self.retries,
            "failed": self.failed,
            "last_error": self.last_error,
        }
