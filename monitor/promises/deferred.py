"""Promises made inside one ledger batch (a history import's write) on PostgreSQL, written
together instead of one statement each.

Most promises an import makes are to numbers no promise is open to (``make_in``'s first
case): one INSERT of the promise and its history entry each, a round trip apiece, was half
the import writer's time on PostgreSQL. Here, when the batch starts, one statement finds
which of the batch's missed-call keys are known already (``known_keys``); a promise with
a key that is not, to a number no promise can be open to, is made at once in memory (its id
taken from the table's own sequence, so it is the id the INSERT would have given) and its
row and history entry are written by two COPYs just before the ledger's next statement or
at the end of the batch, in the same transaction. The ledger reads and writes exactly what
it did before; a key another writer makes meanwhile fails the batch (a unique key), which
rolls back whole and is redone by the next run of the import.

The ids are taken in one statement, as many as the batch's missed calls not yet made: ids
left over when a missed call joins a promise instead are given to the batch's other new
promises first (``next_id``), so promise ids stay in the order the promises were made.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection

from monitor.promises import by_number
from monitor.promises import statements as repo
from monitor.promises.model import Change

__all__ = ["DeferredPromises"]


class DeferredPromises:
    """The batch's new promises not written yet, and the ids taken for them."""

    def __init__(self, conn: Connection, fresh: set[str]) -> None:
        self._conn = conn
        self._fresh = fresh  # keys checked unknown when the batch began, not made since
        self._ids: deque[int] = deque()
        self._rows: list[tuple[Any, ...]] = []
        self._events: list[tuple[Any, ...]] = []
        self._numbers: set[str] = set()  # the numbers and keys of the rows not written yet
        self._keys: set[str] = set()
        self._dues: list[float] = []

    @classmethod
    def start(cls, conn: Connection, keys: Collection[str]) -> DeferredPromises | None:
        """For a batch on ``conn`` that may make promises with ``keys``; None when there is
        nothing to defer, or the database has no sequence to take ids from (SQLite)."""
        if conn.dialect.name != "postgresql" or not keys:
            return None
        wanted = set(keys)
        return cls(conn, wanted - repo.known_keys(conn, wanted))

    def take(self, key: str) -> bool:
        """True once for a key checked unknown when the batch began (the caller makes or
        joins a promise with it now, so it needs no lookup); False for any other."""
        if key not in self._fresh:
            return False
        self._fresh.discard(key)
        return True

    def make(self, values: dict[str, Any], actor: str, detail: str) -> Change:
        """The promise ``values`` describe (its key taken: ``take``), made now and written at
        the next flush."""
        if not self._ids:  # as many as the batch's keys not taken yet may need
            self._ids.extend(repo.next_ids(self._conn, 1 + len(self._fresh)))
        row, event, change = repo.new_promise(values, actor, detail, self._ids.popleft())
        by_number.saw(self._conn, change.promise)  # (the batch's reads see it already)
        self._rows.append(row)
        self._events.append(event)
        self._numbers.add(change.promise.number or "")
        self._keys.add(change.promise.key)
        self._dues.append(change.promise.due_at)
        return change

    def next_id(self) -> int | None:
        """An id taken already, for another promise this batch makes (None: none left)."""
        return self._ids.popleft() if self._ids else None

    @property
    def min_due(self) -> float | None:
        """The earliest due time of the promises not written yet (None: there are none)."""
        return min(self._dues) if self._dues else None

    def flush(
        self,
        numbers: Collection[str] | None = None,
        keys: Collection[str] = (),
        due_before: float = -math.inf,
    ) -> None:
        """Write the promises made since the last flush: before a ledger statement that
        could read or change them. ``numbers`` None: the statement may touch any promise;
        else only those to ``numbers``, with ``keys`` or due before ``due_before``."""
        if not self._rows:
            return
        if (
            numbers is not None
            and self._numbers.isdisjoint(numbers)
            and self._keys.isdisjoint(keys)
            and not min(self._dues) < due_before
        ):
            return
        rows, events = self._rows, self._events
        self._rows, self._events = [], []
        self._numbers.clear()
        self._keys.clear()
        self._dues.clear()
        repo.write_new(self._conn, rows, events)
