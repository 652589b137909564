"""Read-only views of the promise ledger: for the metrics exporter and the web pages.

:class:`PromiseQueries` reads the database only, so a stateless web tier can use it on the
shared store; :class:`monitor.promises.engine.PromiseEngine` extends it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import PromiseError, StoreError
from monitor.promises import by_number
from monitor.promises import repository as repo
from monitor.promises.by_number import PromisesByNumber
from monitor.promises.deferred import DeferredPromises
from monitor.promises.model import Promise, PromiseState

__all__ = ["VIEWS", "PromiseProvider", "PromiseQueries"]

VIEWS: tuple[str, ...] = ("open", "overdue", "kept", "broken", "cancelled", "unreturnable", "all")
"""The lists the promises page offers (``?view=``)."""


@runtime_checkable
class PromiseProvider(Protocol):
    """What the metrics exporter calls at scrape time (``ringwatch_callback_promises{state}``)."""

    def counts_by_state(self) -> dict[str, int]: ...

    def overdue(self, now: float | None = None, limit: int | None = None) -> list[Promise]: ...

    def open(self, limit: int | None = None) -> list[Promise]: ...


class PromiseQueries:
    """Queries on the promise tables. ``now`` defaults to the latest event time seen."""

    def __init__(self, db: Engine) -> None:
        self._db = db
        self._now: float | None = None
        self._batch: Connection | None = None
        self._numbers: set[str] | None = None  # inside a batch: numbers a call could return
        self._deferred: DeferredPromises | None = None  # inside a batch on PostgreSQL

    @property
    def db(self) -> Engine:
        """The engine the ledger uses (a forked import writer resets its pool)."""
        return self._db

    @contextmanager
    def batch(
        self,
        conn: Connection | None = None,
        *,
        keys: Collection[str] = (),
        numbers: Collection[str] = (),
        callbacks: Collection[str] = (),
    ) -> Iterator[None]:
        """Run every ledger change made inside in ONE transaction (a history import's write:
        one commit for hundreds of calls instead of one or more each): ``conn``'s, when given
        (the import's own, so its calls and the ledger commit together), else a new one. A
        failure rolls back the whole batch and raises StoreError (the import's checkpoint is
        not moved, so a rerun redoes it). Nested batches join the outer one.

        Inside, the numbers that have a promise a call could still return (open, or broken
        and not reached) are read once, so a call to any other number costs no query (on
        PostgreSQL with ``numbers``: the promises to those numbers instead). (A promise
        another process makes meanwhile is seen by the next batch, as it would be by a call a
        moment later.) ``keys``: the keys of the promises the batch may make (its
        missed calls'); on PostgreSQL the new ones to such numbers are written together
        (monitor/promises/deferred.py). ``numbers``: those its calls may return or join
        promises to, ``callbacks``: those of them a callback dials; on PostgreSQL their
        promises are read at once (monitor/promises/by_number.py)."""
        if self._batch is not None:
            yield
            return
        with self._errors(), nullcontext(conn) if conn is not None else self._db.begin() as c:
            self._batch = c
            try:
                self._deferred = DeferredPromises.start(c, keys)
                if numbers and c.dialect.name == "postgresql":
                    # every number the batch touches has its promises in the table: no
                    # need to know which numbers hold one (a read that grows with history)
                    wanted, dialled = set(numbers), set(callbacks)
                    rows = repo.returnable_to(c, wanted, dialled)
                    by_number.attach(c, PromisesByNumber(wanted, dialled, rows))
                else:
                    self._numbers = repo.returnable_numbers(c)
                yield
                if self._deferred is not None:
                    self._deferred.flush()
            finally:
                by_number.detach(c)
                self._batch = None
                self._numbers = None
                self._deferred = None

    def _may_hold(self, number: str | None) -> bool:
        """False only when no promise to ``number`` can be open or unreached (in a batch)."""
        return self._numbers is None or (number is not None and number in self._numbers)

    @contextmanager
    def _tx(
        self,
        numbers: Collection[str] | None = None,
        keys: Collection[str] = (),
        due_before: float = -math.inf,
    ) -> Iterator[Connection]:
        """One transaction, or the open batch's with its deferred promises written first
        (``DeferredPromises.flush``: all, or when the statements touch only promises to
        ``numbers``, with ``keys`` or due before ``due_before``, those only if any);
        database failures become StoreError."""
        if self._batch is not None:
            if self._deferred is not None:
                self._deferred.flush(numbers, keys, due_before)
            yield self._batch
            return
        with self._errors(), self._db.begin() as conn:
            yield conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Database failures as StoreError, naming the store."""
        try:
            yield
        except SQLAlchemyError as exc:
            raise StoreError(
                f"promise store {self._db.url.render_as_string(hide_password=True)}: "
                f"{type(exc).__name__}: {exc}; check the database is reachable and its "
                "schema is created (ringwatch creates it on start)"
            ) from exc

    @property
    def now(self) -> float | None:
        """The latest event time this engine has been advanced to (None before any)."""
        return self._now

    def get(self, promise_id: int) -> Promise | None:
        with self._tx() as conn:
            return repo.get(conn, promise_id)

    def require(self, promise_id: int) -> Promise:
        found = self.get(promise_id)
        if found is None:
            raise PromiseError(
                f"no promise with id {promise_id}; list them with 'ringwatch promises list'"
            )
        return found

    def by_key(self, key: str) -> Promise | None:
        """The promise an idempotency key made or joined."""
        with self._tx() as conn:
            pid = repo.find_key(conn, key)
            return None if pid is None else repo.get(conn, pid)

    def history(self, promise_id: int) -> list[dict[str, Any]]:
        with self._tx() as conn:
            return repo.history(conn, promise_id)

    def counts_by_state(self) -> dict[str, int]:
        """Promises per state, every state present (0 when none)."""
        with self._tx() as conn:
            return repo.counts_by_state(conn)

    def open(self, limit: int | None = None) -> list[Promise]:
        """Open promises, soonest due first."""
        with self._tx() as conn:
            return repo.select_promises(conn, states=(PromiseState.OPEN,), limit=limit)

    def outstanding(self, now: float | None = None) -> dict[str, int]:
        """``{"open": not yet due, "overdue": past due and not reached}`` by an aggregate query
        (what a scrape and the wallboard read; never loads the promises)."""
        at = self._now if now is None else now
        with self._tx() as conn:
            return repo.outstanding_counts(conn, float("-inf") if at is None else at)

    def overdue(self, now: float | None = None, limit: int | None = None) -> list[Promise]:
        """Customers still waiting past the due time (open past due, or broken and not yet
        reached), longest overdue first."""
        at = self._now if now is None else now
        with self._tx() as conn:
            return repo.overdue(conn, float("-inf") if at is None else at, limit)

    def in_state(
        self, state: PromiseState, limit: int | None = None, offset: int = 0
    ) -> list[Promise]:
        """Promises in one state; closed ones newest first."""
        with self._tx() as conn:
            return repo.select_promises(
                conn,
                states=(state,),
                limit=limit,
                offset=offset,
                newest_first=state is not PromiseState.OPEN,
            )

    def kept(self, limit: int | None = None) -> list[Promise]:
        return self.in_state(PromiseState.KEPT, limit)

    def broken(self, limit: int | None = None) -> list[Promise]:
        return self.in_state(PromiseState.BROKEN, limit)

    def view(
        self, name: str, now: float | None = None, limit: int | None = 100, offset: int = 0
    ) -> list[Promise]:
        """One of :data:`VIEWS` by name (what the promises page and the API list)."""
        if name not in VIEWS:
            raise PromiseError(f"unknown promise view {name!r}; use one of {', '.join(VIEWS)}")
        if name == "overdue":
            return self.overdue(now, limit)
        if name == "all":
            with self._tx() as conn:
                return repo.select_promises(conn, limit=limit, offset=offset, newest_first=True)
        return self.in_state(PromiseState(name), limit, offset)

    def for_number(self, e164: str) -> list[Promise]:
        with self._tx() as conn:
            return repo.select_promises(conn, number=e164, newest_first=True)

    def next_due(self) -> float | None:
        with self._tx() as conn:
            return repo.next_due(conn)
