"""``StoreWriter``: durable writes off the event loop, retried while the database is busy.

Completed calls, their findings and every promise-ledger change go through one writer
thread, in the order they were submitted. A write that fails because the database is locked
or unreachable (SQLAlchemy ``OperationalError``: ``database is locked``, a dropped PostgreSQL
connection) stays at the head of the queue and is retried after 0.1, 0.2, 0.4 ... s (at most
``retry_max``); meanwhile the writer reports ``degraded`` (``health()``, the
``ringwatch_store_degraded`` gauge) and the event loop, ``/healthz`` and the scrape carry on.
Every write is idempotent (upserts keyed by call id, promise keys), so a retry never doubles a
call. A write that fails for any other reason (a bug, bad data) is logged with what it was
and dropped, so one bad record cannot stall the queue (``failed`` counts them).

The queue is bounded (``max_pending``, 100,000 writes by default: hours of calls). When it is
full, ``submit`` blocks its caller until there is room: the AMI collector then stops reading
and TCP pushes back on the PBX; nothing already completed is dropped. ``close`` flushes what
is queued, waiting up to ``flush_timeout`` for a locked database, and logs how many writes it
could not make (docs/operations.md).
"""

from __future__ import annotations

import logging
import threading
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
    """One writer thread; ``submit`` from any thread (the event loop, or a write itself)."""

    def __init__(
        self,
        *,
        max_pending: int = 100_000,
        retry_first: float = 0.1,
        retry_max: float = 5.0,
        flush_timeout: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        self.max_pending = max_pending
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.flush_timeout = flush_timeout
        self._monotonic = monotonic
        self._wall = wall
        self._queue: deque[_Write] = deque()
        self._keys: set[str] = set()
        self._cv = threading.Condition()
        self._closing = False
        self._busy = False  # a write is running
        self._deadline: float | None = None  # when close() gives up on a locked database
        self._thread: threading.Thread | None = None
        self.state = "ok"
        self.since = wall()
        self.last_error: str | None = None
        self.written = 0
        self.retries = 0
        self.failed = 0
        self.blocked = 0  # submits that had to wait for room

    def __repr__(self) -> str:
        return f"StoreWriter(state={self.state}, pending={self.pending})"

    @property
    def pending(self) -> int:
        return len(self._queue)

    @property
    def degraded(self) -> bool:
        return self.state != "ok"

    def start(self) -> StoreWriter:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
            self._thread.start()
        return self

    # ---- submit ----------------------------------------------------------------------------

    def submit(self, what: str, run: Callable[[], object], *, key: str | None = None) -> None:
        """Queue ``run`` (a whole transaction). With ``key``, a write with the same key that
        is still waiting makes this one redundant (e.g. "advance the promise clock")."""
        own = threading.current_thread() is self._thread
        with self._cv:
            if key is not None and key in self._keys:
                return
            waited = False
            while not own and len(self._queue) >= self.max_pending and not self._closing:
                if not waited:
                    self.blocked += 1
                    waited = True
                    log.error("store: %d writes waiting; %s waits for room", self.pending, what)
                self._cv.wait(1.0)
            self._queue.append(_Write(what, run, key, self._monotonic()))
            if key is not None:
                self._keys.add(key)
            self._cv.notify_all()
        if self._thread is None:
            self.start()

    # ---- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        delay = self.retry_first
        while True:
            with self._cv:
                while not self._queue and not self._closing:
                    self._cv.wait()
                if not self._queue:
                    return
                item = self._queue[0]
                if item.key is not None:
                    self._keys.discard(item.key)  # a newer submit with this key runs again
                self._busy = True
            try:
                item.run()
            except Exception as exc:  # the writer must survive anything a write raises
                if is_transient(exc):
                    self._retry_later(item, exc, delay)
                    delay = min(self.retry_max, delay * 2)
                    continue
                self.failed += 1
                log.exception("store: %s failed and was dropped", item.what)
            with self._cv:
                self._busy = False
                if self._queue and self._queue[0] is item:  # close() may have emptied it
                    self._queue.popleft()
                self.written += 1
                if self.state != "ok":
                    self.state, self.since = "ok", self._wall()
                    log.warning("store: writable again; %d writes waiting", self.pending)
                delay = self.retry_first
                self._cv.notify_all()

    def _retry_later(self, item: _Write, exc: BaseException, delay: float) -> None:
        self.retries += 1
        self.last_error = f"{item.what}: {exc}"[:500]
        with self._cv:
            self._busy = False
            if item.key is not None:
                self._keys.add(item.key)
            if self.state == "ok":
                self.state, self.since = "degraded", self._wall()
                log.warning("store: %s; retrying (nothing is dropped)", self.last_error)
            end = self._monotonic() + delay
            while not self._closing_expired() and self._monotonic() < end:
                self._cv.wait(max(0.0, end - self._monotonic()))

    def _closing_expired(self) -> bool:
        return self._closing and self._deadline is not None and self._monotonic() > self._deadline

    # ---- flush and close -------------------------------------------------------------------

    def flush(self, timeout: float) -> bool:
        """Wait until every write submitted so far is made; False on timeout."""
        end = self._monotonic() + timeout
        with self._cv:
            while self._queue or self._busy:
                left = end - self._monotonic()
                if left <= 0:
                    return False
                self._cv.wait(min(left, 0.1))
        return True

    def close(self, timeout: float | None = None) -> int:
        """Flush (up to ``timeout``, default ``flush_timeout``), stop the thread; returns how
        many writes were left unmade (each is logged)."""
        wait = self.flush_timeout if timeout is None else timeout
        with self._cv:
            self._deadline = self._monotonic() + wait
        self.flush(wait)
        with self._cv:
            self._closing = True
            left = list(self._queue)
            self._queue.clear()
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=max(1.0, self.retry_max + 1.0))
        for item in left:
            log.error("store: not written at shutdown (store unavailable): %s", item.what)
        return len(left)

    def health(self) -> dict[str, Any]:
        """The ``store`` component of the service health: never touches the database."""
        with self._cv:
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
