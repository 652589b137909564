"""The promises a batch's calls can touch, read once per batch and kept in step with the
ledger's own writes (a history import's write, ``PromiseQueries.batch``).

Each call of an import batch asks the ledger for the open and the broken-unreached promises
to its number (a callback keeps them, a miss joins them): one statement per call, a third of
the ledger's statements in a long import. Instead, when the batch begins, the open promises
to all of its numbers, and the broken ones not reached to the numbers its callbacks dial
(only a callback reaches them; a long import's repeat callers pile them up), are read in one
statement (``lookups.returnable_to``; a number no such promise is to has none, without a
read), and
every row the ledger writes afterwards in the batch (made, closed, merged, reached late:
``statements`` calls :func:`saw` with it) replaces its old copy here, so ``open_to`` and
``unreached_to`` answer from memory exactly what the database holds. The table lives on the
batch's connection (SQLAlchemy's ``Connection.info``) from the batch's start to its end.
(Another process's promise made meanwhile is seen by the next batch, as the numbers that may
hold a promise are: ``PromiseQueries.batch``.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from monitor.promises.model import Promise, PromiseState

__all__ = ["PromisesByNumber", "attach", "detach", "of", "saw"]

_KEY = "ringwatch.promises_by_number"


class PromisesByNumber:
    """The open promises to each of some numbers, and the broken ones not reached to each of
    some of them (those a callback dials), with any the batch made or changed since."""

    def __init__(
        self, open_to: Iterable[str], unreached_to: Iterable[str], rows: Iterable[Promise]
    ) -> None:
        self._by: dict[str, dict[int, Promise]] = {n: {} for n in open_to}
        self._unreached = set(unreached_to) & set(self._by)
        for p in rows:
            self.saw(p)

    def covers(self, number: str, unreached: bool = False) -> bool:
        """Whether the open promises (or also the unreached ones) to ``number`` are here."""
        return number in (self._unreached if unreached else self._by)

    def saw(self, promise: Promise) -> None:
        """A promise as it is now (made or changed in the batch)."""
        held = self._by.get(promise.number or "")
        if held is not None:
            held[promise.id] = promise

    def open_to(self, number: str) -> list[Promise]:
        """As ``lookups.open_to``: the open promises to ``number``, oldest due first."""
        found = [p for p in self._by[number].values() if p.state is PromiseState.OPEN]
        return sorted(found, key=_due_order)

    def unreached_to(self, number: str) -> list[Promise]:
        """As ``lookups.unreached_to`` (``covers(number, unreached=True)``): the broken
        promises not reached, oldest due first."""
        found = [
            p
            for p in self._by[number].values()
            if p.state is PromiseState.BROKEN and p.late_at is None
        ]
        return sorted(found, key=_due_order)


def _due_order(p: Promise) -> tuple[float, int]:
    return (p.due_at, p.id)


def attach(conn: Connection, table: PromisesByNumber) -> None:
    conn.info[_KEY] = table


def detach(conn: Connection) -> None:
    conn.info.pop(_KEY, None)


def of(conn: Connection) -> PromisesByNumber | None:
    """The batch's table on ``conn``, if any."""
    found: Any = conn.info.get(_KEY)
    return found if isinstance(found, PromisesByNumber) else None


def saw(conn: Connection, promise: Promise | None) -> None:
    """A promise row the ledger wrote on ``conn`` (None: nothing was written)."""
    table = of(conn)
    if table is not None and promise is not None:
        table.saw(promise)
