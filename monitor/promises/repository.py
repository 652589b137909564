"""SQL for promises: each function runs inside the caller's transaction (a Connection).
The ledger's own statements are in ``monitor.promises.statements`` (re-exported here).

State changes are conditional updates (``... WHERE id = :id AND state = 'open'``), so two
writers (the service and ``ringwatch promises cancel``, or two collectors on one PostgreSQL)
cannot both close one promise: the loser sees 0 rows and re-reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, case, func, or_, select

from monitor.promises.model import Promise, PromiseState
from monitor.promises.statements import (
    add_event,
    close,
    due,
    find_key,
    get,
    insert_promise,
    next_due,
    returnable_numbers,
    returnable_to,
    set_fields,
)
from monitor.promises.statements import promise_from as _promise
from monitor.promises.tables import promise_events, promises

__all__ = [
    "HistoryEntry",
    "add_event",
    "close",
    "counts_by_state",
    "due",
    "find_key",
    "get",
    "history",
    "insert_promise",
    "next_due",
    "outstanding_counts",
    "overdue",
    "returnable_numbers",
    "returnable_to",
    "select_promises",
    "set_fields",
]

HistoryEntry = dict[str, Any]


def select_promises(
    conn: Connection,
    *,
    states: Iterable[PromiseState] = (),
    number: str | None = None,
    due_before: float | None = None,
    not_reached: bool = False,
    pbx: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    newest_first: bool = False,
) -> list[Promise]:
    """Promises filtered by state, number, due time; oldest due first unless newest_first."""
    query = select(promises)
    wanted = [str(s) for s in states]
    if wanted:
        query = query.where(promises.c.state.in_(wanted))
    if number is not None:
        query = query.where(promises.c.number == number)
    if due_before is not None:
        query = query.where(promises.c.due_at <= due_before)
    if not_reached:
        query = query.where(promises.c.late_at.is_(None))
    if pbx is not None:
        query = query.where(promises.c.pbx == pbx)
    order = (
        (promises.c.made_at.desc(), promises.c.id.desc())
        if newest_first
        else (promises.c.due_at, promises.c.id)
    )
    query = query.order_by(*order).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [_promise(r) for r in conn.execute(query).mappings()]


def counts_by_state(conn: Connection, pbx: str | None = None) -> dict[str, int]:
    query = select(promises.c.state, func.count()).group_by(promises.c.state)
    if pbx is not None:
        query = query.where(promises.c.pbx == pbx)
    counts = {str(s): 0 for s in PromiseState}
    for state, count in conn.execute(query):
        counts[str(state)] = int(count)
    return counts


def outstanding_counts(conn: Connection, now: float) -> dict[str, int]:
    """``open`` (not yet due) and ``overdue`` (open past due, or broken and the customer not
    yet reached), counted in one aggregate query: a scrape reads two numbers, never rows."""
    is_open = promises.c.state == str(PromiseState.OPEN)
    late = (is_open & (promises.c.due_at < now)) | (
        (promises.c.state == str(PromiseState.BROKEN)) & promises.c.late_at.is_(None)
    )
    row = conn.execute(
        select(
            func.coalesce(func.sum(case((is_open & (promises.c.due_at >= now), 1), else_=0)), 0),
            func.coalesce(func.sum(case((late, 1), else_=0)), 0),
        ).where(promises.c.state.in_((str(PromiseState.OPEN), str(PromiseState.BROKEN))))
    ).one()
    return {"open": int(row[0]), "overdue": int(row[1])}


def overdue(conn: Connection, now: float, limit: int | None = None) -> list[Promise]:
    """Past due and the customer not reached: open past due, or broken and never called."""
    query = (
        select(promises)
        .where(
            or_(
                (promises.c.state == str(PromiseState.OPEN)) & (promises.c.due_at < now),
                (promises.c.state == str(PromiseState.BROKEN)) & promises.c.late_at.is_(None),
            )
        )
        .order_by(promises.c.due_at, promises.c.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [_promise(r) for r in conn.execute(query).mappings()]


def history(conn: Connection, promise_id: int) -> list[HistoryEntry]:
    """The audit history of one promise, oldest first."""
    rows: Sequence[RowMapping] = (
        conn.execute(
            select(promise_events)
            .where(promise_events.c.promise_id == promise_id)
            .order_by(promise_events.c.id)
        )
        .mappings()
        .all()
    )
    return [
        {
            "action": r["action"],
            "from_state": r["from_state"],
            "to_state": r["to_state"],
            "at": float(r["at"]),
            "actor": r["actor"],
            "detail": r["detail"],
            "call_id": r["call_id"],
            "source_key": r["source_key"],
        }
        for r in rows
    ]
