"""Login protection: failure back-off per user name and per client address, and a bound on
concurrent password checks (each argon2id check takes 64 MiB for its run).

Numbers (``WebSettings``, documented in docs/security.md):

* a user name may fail ``login_free_failures_user`` (5) times; each further failure locks it
  for ``login_lock_base_seconds`` (1 s) doubled per failure (1, 2, 4, ... s) up to
  ``login_lock_max_seconds`` (900 s). A client address gets ``login_free_failures_address``
  (20) before the same back-off (one office behind NAT shares an address).
* while locked, every attempt — the right password too — is refused with 429 and
  ``Retry-After`` without checking the password; failures are forgotten
  ``login_forget_seconds`` (900 s) after the last one, a success clears the user's count.
* the web tier keeps the counts and locks in the store (:class:`StoredLoginThrottle`), so
  every web process on one store shares one budget and a restart keeps it;
  :class:`LoginThrottle` keeps them in the process's memory.
* at most ``login_max_concurrent`` (2) password checks run at once, and at most
  ``login_max_waiting`` (6) more wait up to ``login_wait_seconds`` (5 s); anything beyond is
  refused at once with 503 and ``Retry-After: 1``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine

from monitor.store import login_failures as stored

__all__ = ["Busy", "Lock", "LoginGuard", "LoginThrottle", "StoredLoginThrottle"]

T = TypeVar("T")


class Busy(Exception):
    """Too many password checks at once: try again in a second (503)."""


@dataclass(slots=True)
class _Entry:
    failures: int
    last: float
    locked_until: float


@dataclass(frozen=True, slots=True)
class Lock:
    """A lock just set: what (``user:NAME`` or ``address:IP``), for how long, after how many
    failures."""

    key: str
    seconds: float
    failures: int


class LoginThrottle:
    """Failure counts and locks per key; thread-safe; at most ``max_keys`` keys are kept."""

    def __init__(
        self,
        *,
        free_user: int = 5,
        free_address: int = 20,
        base_seconds: float = 1.0,
        max_seconds: float = 900.0,
        forget_seconds: float = 900.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free_user = free_user
        self.free_address = free_address
        self.base_seconds = base_seconds
        self.max_seconds = max_seconds
        self.forget_seconds = forget_seconds
        self.max_keys = max_keys
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> float:
        """Seconds until every one of ``keys`` is unlocked (0.0: go ahead)."""
        now = self.clock()
        with self._lock:
            waits = [
                e.locked_until - now
                for k in keys
                if (e := self._entries.get(k)) is not None and e.locked_until > now
            ]
        return max(waits, default=0.0)

    def failed(self, user_key: str, address_key: str) -> list[Lock]:
        """Count a failed login; returns the locks it set."""
        now = self.clock()
        locks = []
        with self._lock:
            self._prune(now)
            for key, free in ((user_key, self.free_user), (address_key, self.free_address)):
                e = self._entries.get(key)
                if e is None or now - e.last > self.forget_seconds:
                    e = _Entry(0, now, 0.0)
                    self._entries[key] = e
                e.failures += 1
                e.last = now
                if e.failures > free:
                    extra = min(e.failures - free - 1, 30)
                    seconds = min(self.base_seconds * 2.0**extra, self.max_seconds)
                    e.locked_until = now + seconds
                    locks.append(Lock(key, seconds, e.failures))
        return locks

    def succeeded(self, user_key: str) -> None:
        with self._lock:
            self._entries.pop(user_key, None)

    def _prune(self, now: float) -> None:
        if len(self._entries) < self.max_keys:
            return
        stale = [
            k
            for k, e in self._entries.items()
            if now - e.last > self.forget_seconds and e.locked_until <= now
        ]
        for k in stale:
            del self._entries[k]
        if len(self._entries) >= self.max_keys:  # still full: forget the oldest half
            oldest = sorted(self._entries, key=lambda k: self._entries[k].last)
            for k in oldest[: len(oldest) // 2]:
                del self._entries[k]


class StoredLoginThrottle(LoginThrottle):
    """``LoginThrottle`` with its counts and locks in the store (``login_failures``): every
    web process on one store shares one budget, and a restart keeps it. Times are the wall
    clock (processes share it). Each call is one short transaction."""

    def __init__(self, engine: Engine, **kw: Any) -> None:
        kw.setdefault("clock", time.time)
        super().__init__(**kw)
        self.engine = engine
        self._failures_since_prune = 0

    def retry_after(self, *keys: str) -> float:
        now = self.clock()
        with self.engine.connect() as conn:
            until = stored.locked_until(conn, keys)
        return max(until - now, 0.0)

    def failed(self, user_key: str, address_key: str) -> list[Lock]:
        now = self.clock()
        locks = []
        with self.engine.begin() as conn:
            for key, free in ((user_key, self.free_user), (address_key, self.free_address)):
                failures = stored.count_failure(conn, key, now, self.forget_seconds)
                if failures > free:
                    extra = min(failures - free - 1, 30)
                    seconds = min(self.base_seconds * 2.0**extra, self.max_seconds)
                    stored.lock(conn, key, now + seconds)
                    locks.append(Lock(key, seconds, failures))
            self._failures_since_prune += 1
            if self._failures_since_prune >= 100:  # old keys go, a hundred failures at a time
                self._failures_since_prune = 0
                stored.prune(conn, now, self.forget_seconds)
        return locks

    def succeeded(self, user_key: str) -> None:
        with self.engine.begin() as conn:
            stored.clear(conn, user_key)


class LoginGuard:
    """The throttle plus the bound on concurrent password checks."""

    def __init__(
        self,
        throttle: LoginThrottle,
        *,
        max_concurrent: int = 2,
        max_waiting: int = 6,
        wait_seconds: float = 5.0,
    ) -> None:
        self.throttle = throttle
        self.max_concurrent = max_concurrent
        self.capacity = max_concurrent + max_waiting
        self.wait_seconds = wait_seconds
        self._checks = threading.BoundedSemaphore(max_concurrent)
        self._admitted = 0
        self._lock = threading.Lock()

    def admit(self) -> None:
        """Take a place (running or waiting) for one check, or raise ``Busy`` at once."""
        with self._lock:
            if self._admitted >= self.capacity:
                raise Busy()
            self._admitted += 1

    def leave(self) -> None:
        with self._lock:
            self._admitted -= 1

    def check(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn`` (a password check, in a worker thread) when a slot is free; ``Busy``
        after ``wait_seconds``. Call between ``admit`` and ``leave``."""
        if not self._checks.acquire(timeout=self.wait_seconds):
            raise Busy()
        try:
            return fn(*args)
        finally:
            self._checks.release()
