"""The ledger's reads (the promises a call, a due time or a key touch), compiled once per
dialect and run on the driver in the caller's transaction (``monitor.store.dbapi``), as
``monitor.promises.statements`` runs the ledger's writes (and re-exports these).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import partial
from typing import Any

from sqlalchemy import ClauseElement, Connection, bindparam, func, or_, select

from monitor.promises import by_number
from monitor.promises.model import Promise, PromiseKind, PromiseState
from monitor.promises.tables import promise_events, promises
from monitor.store import dbapi

__all__ = [
    "BROKEN",
    "COLUMNS",
    "OPEN",
    "due",
    "find_key",
    "get",
    "known_keys",
    "next_due",
    "open_to",
    "promise_from",
    "promises_of",
    "returnable_numbers",
    "returnable_to",
    "run",
    "unreached_to",
]

#: the ``promises`` columns, in table order (rows selected or returned whole)
COLUMNS: tuple[str, ...] = tuple(c.name for c in promises.c)
OPEN, BROKEN = str(PromiseState.OPEN), str(PromiseState.BROKEN)


def promise_from(row: Mapping[Any, Any]) -> Promise:
    """A Promise from a ``promises`` row (by column name)."""
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


def promises_of(cursor: Any) -> list[Promise]:
    """Every row of a statement selecting (or returning) all ``promises`` columns."""
    names = COLUMNS
    return [promise_from(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]


def run(conn: Connection, key: Any, build: Any, values: dict[str, Any]) -> Any:
    prepared = dbapi.prepare(conn, key, build)
    return dbapi.execute(conn, prepared.sql, prepared.args(values))


# ---- reads -------------------------------------------------------------------------------


def _get() -> ClauseElement:
    return select(*promises.c).where(promises.c.id == bindparam("id"))


def get(conn: Connection, promise_id: int) -> Promise | None:
    found = promises_of(run(conn, "get", _get, {"id": promise_id}))
    return found[0] if found else None


def _find_key() -> ClauseElement:
    """Made (``promises.key``) or joined (``promise_events.source_key``): a key is one or
    the other, never both."""
    return (
        select(promises.c.id)
        .where(promises.c.key == bindparam("k"))
        .union_all(
            select(promise_events.c.promise_id).where(promise_events.c.source_key == bindparam("k"))
        )
        .limit(1)
    )


def find_key(conn: Connection, key: str) -> int | None:
    """The promise a source key already made or joined, or None if it is new."""
    rows = run(conn, "find_key", _find_key, {"k": key}).fetchall()
    return int(rows[0][0]) if rows else None


def _to_number(state: str, not_reached: bool) -> ClauseElement:
    query = select(*promises.c).where(
        promises.c.state == state, promises.c.number == bindparam("number")
    )
    if not_reached:
        query = query.where(promises.c.late_at.is_(None))
    return query.order_by(promises.c.due_at, promises.c.id)


def open_to(conn: Connection, number: str) -> list[Promise]:
    """The open promises to ``number``, oldest due first (from the batch's table when it
    covers the number: monitor/promises/by_number.py)."""
    table = by_number.of(conn)
    if table is not None and table.covers(number):
        return table.open_to(number)
    build = partial(_to_number, OPEN, False)
    return promises_of(run(conn, "open_to", build, {"number": number}))


def unreached_to(conn: Connection, number: str) -> list[Promise]:
    """The broken promises to ``number`` whose customer was not reached, oldest due first."""
    table = by_number.of(conn)
    if table is not None and table.covers(number, unreached=True):
        return table.unreached_to(number)
    build = partial(_to_number, BROKEN, True)
    return promises_of(run(conn, "unreached_to", build, {"number": number}))


def _returnable_to() -> ClauseElement:
    return select(*promises.c).where(
        or_(
            (promises.c.number == func.any(bindparam("open"))) & (promises.c.state == OPEN),
            (promises.c.number == func.any(bindparam("unreached")))
            & (promises.c.state == BROKEN)
            & promises.c.late_at.is_(None),
        )
    )


def returnable_to(
    conn: Connection, open_to: Collection[str], unreached_to: Collection[str] = ()
) -> list[Promise]:
    """PostgreSQL: the open promises to any of ``open_to`` and the broken ones not reached to
    any of ``unreached_to``, in one statement."""
    if not open_to and not unreached_to:
        return []
    values = {"open": list(open_to), "unreached": list(unreached_to)}
    return promises_of(run(conn, "returnable_to", _returnable_to, values))


def _due() -> ClauseElement:
    return (
        select(*promises.c)
        .where(promises.c.state == OPEN, promises.c.due_at < bindparam("now"))
        .order_by(promises.c.due_at, promises.c.id)
    )


def due(conn: Connection, now: float) -> list[Promise]:
    """Open promises whose due time is before ``now`` (a callback at the due time keeps)."""
    return promises_of(run(conn, "due", _due, {"now": now}))


def _next_due() -> ClauseElement:
    return select(func.min(promises.c.due_at)).where(promises.c.state == OPEN)


def next_due(conn: Connection) -> float | None:
    rows = run(conn, "next_due", _next_due, {}).fetchall()
    value = rows[0][0] if rows else None
    return None if value is None else float(value)


def _returnable() -> ClauseElement:
    return (
        select(promises.c.number)
        .distinct()
        .where(
            promises.c.number.is_not(None),
            or_(
                promises.c.state == OPEN,
                (promises.c.state == BROKEN) & promises.c.late_at.is_(None),
            ),
        )
    )


def returnable_numbers(conn: Connection) -> set[str]:
    """The numbers with a promise that a call could still return: open, or broken and not
    reached yet (a late callback)."""
    return {str(r[0]) for r in run(conn, "returnable", _returnable, {}).fetchall()}


def _known_keys() -> ClauseElement:
    """Which of the keys ``ks`` a promise was made or joined with (``find_key``, many)."""
    return (
        select(promises.c.key)
        .where(promises.c.key == func.any(bindparam("ks")))
        .union_all(
            select(promise_events.c.source_key).where(
                promise_events.c.source_key == func.any(bindparam("ks"))
            )
        )
    )


def known_keys(conn: Connection, keys: Collection[str]) -> set[str]:
    """PostgreSQL: which of ``keys`` a promise was made or joined with, in one statement."""
    if not keys:
        return set()
    cursor = run(conn, "known_keys", _known_keys, {"ks": list(keys)})
    return {str(r[0]) for r in cursor.fetchall()}
