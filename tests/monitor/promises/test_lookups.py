"""The ledger's reads (monitor/promises/lookups.py) on each database: the due promises and
the next due time in one statement, as ``due`` then ``next_due`` read them."""

from __future__ import annotations

from sqlalchemy import insert

from monitor.promises.db import open_database
from monitor.promises.lookups import due, due_and_next, next_due
from monitor.promises.tables import promises
from monitor.store.engine import normalise_url


def test_due_and_next_reads_what_due_and_next_due_read(db_url: str, t0: float) -> None:
    db = open_database(normalise_url(db_url))
    with db.begin() as conn:
        assert due_and_next(conn, t0) == ([], None)  # nothing at all: one row of nulls
        for i, (due_at, state) in enumerate(
            [(t0 + 10, "open"), (t0 - 5, "open"), (t0 + 99, "open"), (t0 - 50, "kept"),
             (t0 - 1, "open"), (t0 + 3, "broken")],
            start=1,
        ):  # fmt: skip
            conn.execute(
                insert(promises).values(
                    id=i, key=f"k{i}", kind="missed", pbx="pbx1", number="+447700900123",
                    rule="return-missed-calls", made_at=t0 - 100, due_at=due_at, state=state,
                    misses=1,
                )
            )  # fmt: skip
        found, later = due_and_next(conn, t0)
        assert [p.id for p in found] == [p.id for p in due(conn, t0)] == [2, 5]  # oldest due first
        assert found == due(conn, t0) and later == t0 + 10  # the open ones not due yet
        assert due_and_next(conn, t0 - 100) == ([], next_due(conn))  # none due yet
        assert due_and_next(conn, t0 + 1000)[1] is None  # every open one due
    db.dispose()
