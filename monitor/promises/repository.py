"""SQL for promises: each function runs inside the caller's transaction (a Connection).

State changes are conditional updates (``... WHERE id = :id AND state = 'open'``), so two
writers (the service and ``ringwatch promises cancel``, or two collectors on one PostgreSQL)
cannot both close one promise: the loser sees 0 rows and re-reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, case, func, or_, select, update

from monitor.promises.model import Action, Change, Promise, PromiseKind, PromiseState
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
    "select_promises",
    "set_fields",
]

HistoryEntry = dict[str, Any]


_NEW_DEFAULTS: dict[str, Any] = dict.fromkeys(
    ("raw_number", "source_call_id", "reason", "agent", "closed_at", "kept_by_call_id",
     "kept_at", "late_call_id", "late_at"),
)  # fmt: skip


def _promise(row: Mapping[Any, Any]) -> Promise:
    return Promise(
        id=int(row["id"]),
        key=row["key"],
        kind=PromiseKind(row["kind"]),
        pbx=row["pbx"],
        number=row["number"],
        raw_number=row["raw_number"],
        source_call_id=row["source_call_id"],
        reason=row["reason"],
        agent=row["agent"],
        rule=row["rule"],
        made_at=float(row["made_at"]),
        due_at=float(row["due_at"]),
        state=PromiseState(row["state"]),
        closed_at=row["closed_at"],
        kept_by_call_id=row["kept_by_call_id"],
        kept_at=row["kept_at"],
        late_call_id=row["late_call_id"],
        late_at=row["late_at"],
        misses=int(row["misses"]),
    )


def get(conn: Connection, promise_id: int) -> Promise | None:
    row = conn.execute(select(promises).where(promises.c.id == promise_id)).mappings().first()
    return None if row is None else _promise(row)


_FIND_KEY = (
    select(promises.c.id)
    .where(promises.c.key == bindparam("k"))
    .union_all(
        select(promise_events.c.promise_id).where(promise_events.c.source_key == bindparam("k"))
    )
    .limit(1)
)
"""Made (``promises.key``) or joined (``promise_events.source_key``): a key is one or the
other, never both; one statement, built once."""


def find_key(conn: Connection, key: str) -> int | None:
    """The promise a source key already made or joined, or None if it is new."""
    pid = conn.execute(_FIND_KEY, {"k": key}).scalar()
    return None if pid is None else int(pid)


def add_event(
    conn: Connection,
    promise_id: int,
    action: Action,
    at: float,
    actor: str,
    *,
    from_state: PromiseState | None = None,
    to_state: PromiseState | None = None,
    detail: str = "",
    call_id: str | None = None,
    source_key: str | None = None,
) -> None:
    conn.execute(  # (parameters, not .values(): one cached statement for every row)
        _INSERT_EVENT,
        {
            "promise_id": promise_id,
            "action": str(action),
            "from_state": None if from_state is None else str(from_state),
            "to_state": None if to_state is None else str(to_state),
            "at": at,
            "actor": actor[:160],
            "detail": detail[:500],
            "call_id": call_id,
            "source_key": source_key,
        },
    )


_INSERT_EVENT = promise_events.insert()
_INSERT_PROMISE = promises.insert()


def insert_promise(conn: Connection, values: dict[str, Any], actor: str, detail: str) -> Change:
    """Insert an open promise and its ``created`` history entry."""
    row = dict(values, state=str(PromiseState.OPEN), misses=1)
    pid = conn.execute(_INSERT_PROMISE, row).inserted_primary_key
    assert pid is not None
    promise_id = int(pid[0])
    add_event(
        conn,
        promise_id,
        Action.CREATED,
        float(values["made_at"]),
        actor,
        to_state=PromiseState.OPEN,
        detail=detail,
        call_id=values.get("source_call_id"),
    )
    # the row as stored (what ``get`` would read back, without the round trip)
    created = _promise({**_NEW_DEFAULTS, **row, "id": promise_id})
    return Change(
        created,
        Action.CREATED,
        created.made_at,
        actor,
        None,
        PromiseState.OPEN,
        detail,
        created.source_call_id,
    )


def close(
    conn: Connection,
    promise: Promise,
    new: PromiseState,
    at: float,
    actor: str,
    *,
    detail: str = "",
    call_id: str | None = None,
    fields: dict[str, Any] | None = None,
) -> Promise | None:
    """Move an open promise to ``new``; None when another writer closed it first."""
    values = dict(fields or {}, state=str(new), closed_at=at)
    result = conn.execute(
        update(promises)
        .where(promises.c.id == promise.id, promises.c.state == str(PromiseState.OPEN))
        .values(**values)
    )
    if result.rowcount != 1:
        return None
    add_event(
        conn,
        promise.id,
        Action(str(new)),
        at,
        actor,
        from_state=PromiseState.OPEN,
        to_state=new,
        detail=detail,
        call_id=call_id,
    )
    return get(conn, promise.id)


def set_fields(conn: Connection, promise_id: int, **values: Any) -> Promise:
    conn.execute(update(promises).where(promises.c.id == promise_id).values(**values))
    changed = get(conn, promise_id)
    assert changed is not None
    return changed


def returnable_numbers(conn: Connection) -> set[str]:
    """The numbers with a promise that a call could still return: open, or broken and not
    reached yet (a late callback)."""
    q = (
        select(promises.c.number)
        .distinct()
        .where(
            promises.c.number.is_not(None),
            or_(
                promises.c.state == str(PromiseState.OPEN),
                (promises.c.state == str(PromiseState.BROKEN)) & promises.c.late_at.is_(None),
            ),
        )
    )
    return {str(r[0]) for r in conn.execute(q)}


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


def due(conn: Connection, now: float) -> list[Promise]:
    """Open promises whose due time is before ``now`` (a callback at the due time keeps)."""
    query = (
        select(promises)
        .where(promises.c.state == str(PromiseState.OPEN), promises.c.due_at < now)
        .order_by(promises.c.due_at, promises.c.id)
    )
    return [_promise(r) for r in conn.execute(query).mappings()]


def next_due(conn: Connection) -> float | None:
    value = conn.execute(
        select(func.min(promises.c.due_at)).where(promises.c.state == str(PromiseState.OPEN))
    ).scalar()
    return None if value is None else float(value)


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
