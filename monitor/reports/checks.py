"""Per-call standard results (met or breached) stored with each call, for the reports: the
import writes them with its calls, and ``ChecksSink`` does for the live service."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, insert
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError
from monitor.record import CallRecord, Finding
from monitor.rules import RuleResult
from monitor.rules.model import CheckStatus
from monitor.store import dbapi
from monitor.store.history_schema import call_checks, ensure_history_schema
from monitor.store.store import Store

if TYPE_CHECKING:
    from monitor.store.writer import StoreWriter

__all__ = ["ChecksSink", "check_rows", "write_checks", "write_checks_many"]


def check_rows(results: Sequence[RuleResult]) -> list[tuple[str, bool]]:
    """(rule id, met) for every result that is met or breached (others did not apply)."""
    met, breached = CheckStatus.MET, CheckStatus.BREACHED
    return [
        (rr.rule.id, rr.result.status is met)
        for rr in results
        if rr.result.status is met or rr.result.status is breached
    ]


def write_checks(conn: Connection, call_id: str, rows: Sequence[tuple[str, bool]]) -> None:
    """Replace the call's stored results (idempotent, like the call's upsert)."""
    conn.execute(delete(call_checks).where(call_checks.c.call_id == call_id))
    if rows:
        conn.execute(
            insert(call_checks), [{"call_id": call_id, "rule": r, "met": m} for r, m in rows]
        )


def write_checks_many(
    conn: Connection, calls: Sequence[tuple[str, Sequence[tuple[str, bool]]]]
) -> None:
    """The results of calls not stored before (an import), written on the driver
    (``monitor.store.dbapi``: one ``executemany`` or ``COPY``)."""
    ids = [cid for cid, _ in calls]
    for i in range(0, len(ids), 500):  # left over by a live write whose call was not stored
        part = ids[i : i + 500]
        sql, args = dbapi.in_list(conn, "DELETE FROM call_checks WHERE call_id", part)
        dbapi.execute(conn, sql, args).close()
    rows = [(cid, r, m) for cid, pairs in calls for r, m in pairs]
    if rows:
        dbapi.insert_rows(conn, call_checks, _COLUMNS, rows)


_COLUMNS = ("call_id", "rule", "met")


class ChecksSink:
    """A ``CallSink`` for the live service: stores each call's standard results. With a
    ``writer`` (the service) the write is queued and retried while the database is busy, in
    order with the call's own write (``monitor.store.writer``)."""

    def __init__(self, store: Store, writer: StoreWriter | None = None) -> None:
        self.store = store
        self.writer = writer
        ensure_history_schema(store.engine)

    def call_completed(self, record: CallRecord, results: Sequence[RuleResult]) -> None:
        rows = check_rows(results)
        if self.writer is not None:
            self.writer.submit(
                f"checks of call {record.call_id}", partial(self._write, record.call_id, rows)
            )
            return
        self._write(record.call_id, rows)

    def _write(self, call_id: str, rows: Sequence[tuple[str, bool]]) -> None:
        try:
            with self.store.engine.begin() as conn:
                write_checks(conn, call_id, rows)
        except SQLAlchemyError as exc:
            raise StoreError(f"store: saving the checks of {call_id!r} failed: {exc}") from exc

    def live_finding(self, call_id: str, finding: Finding) -> None:
        return None
