"""The ledger's own statements (what a call, a promise and event time do to it), compiled
once per dialect and run on the driver in the caller's transaction (``monitor.store.dbapi``):
a history import runs thousands of them, and SQLAlchemy Core's per-statement Python cost
was most of the ledger's time. Its reads are in ``monitor.promises.lookups`` (re-exported
here); those of the web pages and the CLI stay in ``monitor.promises.repository``.

A state change is a conditional UPDATE (``... WHERE id = ? AND state = 'open'``), so two
writers cannot both close one promise. On PostgreSQL it returns the row as it is now and
writes the history entry in the same statement (``RETURNING``, a data-modifying ``WITH``);
SQLite (which has RETURNING only from 3.35) reads the row back.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from sqlalchemy import (
    ClauseElement,
    Connection,
    bindparam,
    exists,
    insert,
    select,
    update,
)

from monitor.promises import by_number
from monitor.promises.lookups import (
    COLUMNS as _COLUMNS,
)
from monitor.promises.lookups import (
    OPEN as _OPEN,
)
from monitor.promises.lookups import (
    due,
    find_key,
    get,
    known_keys,
    next_due,
    open_to,
    promise_from,
    returnable_numbers,
    returnable_to,
    unreached_to,
)
from monitor.promises.lookups import (
    promises_of as _promises,
)
from monitor.promises.lookups import (
    run as _run,
)
from monitor.promises.model import Action, Change, Promise, PromiseState
from monitor.promises.tables import promise_events, promises
from monitor.store import dbapi

__all__ = [
    "add_event",
    "amend",
    "close",
    "due",
    "find_key",
    "get",
    "insert_promise",
    "known_keys",
    "new_promise",
    "next_due",
    "next_ids",
    "open_to",
    "promise_from",
    "returnable_numbers",
    "returnable_to",
    "set_fields",
    "unreached_to",
    "write_new",
]

_NEW_DEFAULTS: dict[str, Any] = dict.fromkeys(
    ("raw_number", "source_call_id", "reason", "agent", "closed_at", "kept_by_call_id",
     "kept_at", "late_call_id", "late_at"),
)  # fmt: skip
_EVENT_COLUMNS = (
    "promise_id", "action", "from_state", "to_state", "at", "actor", "detail", "call_id",
    "source_key",
)  # fmt: skip


# ---- writes ------------------------------------------------------------------------------


def _insert_event() -> ClauseElement:
    return insert(promise_events).values({c: bindparam(c) for c in _EVENT_COLUMNS})


def _event(
    action: Action,
    at: float,
    actor: str,
    from_state: PromiseState | None = None,
    to_state: PromiseState | None = None,
    detail: str = "",
    call_id: str | None = None,
    source_key: str | None = None,
) -> tuple[Any, ...]:
    """A history entry's values after ``promise_id`` (``_EVENT_COLUMNS[1:]``)."""
    return (
        str(action),
        None if from_state is None else str(from_state),
        None if to_state is None else str(to_state),
        at,
        actor[:160],
        detail[:500],
        call_id,
        source_key,
    )


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
    prepared = dbapi.prepare(conn, "add_event", _insert_event)
    args = (
        promise_id,
        *_event(action, at, actor, from_state, to_state, detail, call_id, source_key),
    )
    dbapi.execute(conn, prepared.sql, args).close()


def _with_event(source: Any) -> Any:
    """PostgreSQL: a CTE inserting the history entry of the row ``source`` returns (its id,
    then the ``e_*`` parameters), so a change and its entry are one round trip."""
    values = [bindparam(f"e_{c}", type_=promise_events.c[c].type) for c in _EVENT_COLUMNS[1:]]
    return (
        insert(promise_events)
        .from_select(list(_EVENT_COLUMNS), select(source.c.id, *values))
        .cte("e")
    )


def _event_values(event: tuple[Any, ...]) -> dict[str, Any]:
    return {f"e_{c}": v for c, v in zip(_EVENT_COLUMNS[1:], event, strict=True)}


def _insert_promise(columns: tuple[str, ...], unless_known: bool) -> Any:
    """INSERT the promise; with ``unless_known``, only when no promise made or joined its
    key (``find_key``). (NOT EXISTS, not a WITH clause: Python's sqlite3 opens the
    transaction only before a statement that starts with INSERT, UPDATE or DELETE.)"""
    if not unless_known:
        return insert(promises).values({c: bindparam(c) for c in columns})
    values = select(*[bindparam(c, type_=promises.c[c].type) for c in columns]).where(
        ~exists(select(promises.c.id).where(promises.c.key == bindparam("k"))),
        ~exists(select(promise_events.c.id).where(promise_events.c.source_key == bindparam("k"))),
    )
    return insert(promises).from_select(list(columns), values)


def _insert_promise_pg(columns: tuple[str, ...], unless_known: bool) -> ClauseElement:
    """PostgreSQL: the promise and its ``created`` entry in one statement, RETURNING its id
    (no row: its key was known)."""
    made = _insert_promise(columns, unless_known).returning(promises.c.id).cte("p")
    return select(made.c.id).add_cte(_with_event(made))


def new_promise(
    values: dict[str, Any], actor: str, detail: str, promise_id: int
) -> tuple[tuple[Any, ...], tuple[Any, ...], Change]:
    """An open promise made from ``values`` with id ``promise_id``: its ``promises`` row (in
    column order), its ``created`` history entry (``_EVENT_COLUMNS`` order) and its Change."""
    row: dict[str, Any] = {**_NEW_DEFAULTS, **values, "state": _OPEN, "misses": 1}
    row["id"] = promise_id
    created = promise_from(row)  # the row as stored (what ``get`` would read back)
    event = _event(
        Action.CREATED, created.made_at, actor, to_state=PromiseState.OPEN, detail=detail,
        call_id=created.source_call_id,
    )  # fmt: skip
    change = Change(
        created,
        Action.CREATED,
        created.made_at,
        actor,
        None,
        PromiseState.OPEN,
        detail,
        created.source_call_id,
    )
    return tuple(row[c] for c in _COLUMNS), (promise_id, *event), change


def insert_promise(
    conn: Connection,
    values: dict[str, Any],
    actor: str,
    detail: str,
    *,
    unless_known: bool = False,
    promise_id: int | None = None,
) -> Change | None:
    """Insert an open promise and its ``created`` history entry. ``unless_known``: only when
    no promise made or joined its key (``find_key``), else nothing and None. ``promise_id``:
    its id (one taken from the sequence already, ``next_ids``), else the table's default."""
    row = dict(values, state=_OPEN, misses=1)
    if promise_id is not None:
        row["id"] = promise_id
    columns = tuple(row)
    event = _event(
        Action.CREATED, float(values["made_at"]), actor, to_state=PromiseState.OPEN,
        detail=detail, call_id=values.get("source_call_id"),
    )  # fmt: skip
    params = {**row, "k": values["key"]}
    if conn.dialect.name == "postgresql":
        build = partial(_insert_promise_pg, columns, unless_known)
        key = ("insert_promise_pg", columns, unless_known)
        rows = _run(conn, key, build, {**params, **_event_values(event)}).fetchall()
        if not rows:
            return None
        made_id = int(rows[0][0])
    else:  # (no RETURNING: SQLite has it from 3.35 only)
        build = partial(_insert_promise, columns, unless_known)
        cursor = _run(conn, ("insert_promise", columns, unless_known), build, params)
        if cursor.rowcount != 1:
            return None
        made_id = int(cursor.lastrowid) if promise_id is None else promise_id
        prepared = dbapi.prepare(conn, "add_event", _insert_event)
        dbapi.execute(conn, prepared.sql, (made_id, *event)).close()
    change = new_promise(values, actor, detail, made_id)[2]
    by_number.saw(conn, change.promise)
    return change


def next_ids(conn: Connection, n: int) -> list[int]:
    """PostgreSQL: ``n`` new promise ids from the table's own sequence (as its default takes
    them: never used by anyone else, in increasing order), in one statement."""
    sql = "SELECT nextval(pg_get_serial_sequence('promises', 'id')) FROM generate_series(1, %s)"
    return sorted(int(r[0]) for r in dbapi.execute(conn, sql, (n,)).fetchall())


def write_new(
    conn: Connection, rows: Sequence[Sequence[Any]], events: Sequence[Sequence[Any]]
) -> None:
    """PostgreSQL: promises made by ``new_promise`` and their history entries, each pair in
    one statement as ``insert_promise`` writes it, all sent at once (psycopg's
    ``executemany`` pipelines them: one round trip). A key made meanwhile: IntegrityError."""
    prepared = dbapi.prepare(
        conn, ("insert_promise_pg", _COLUMNS, False), partial(_insert_promise_pg, _COLUMNS, False)
    )
    args = [
        prepared.args({**dict(zip(_COLUMNS, row, strict=True)), **_event_values(tuple(event[1:]))})
        for row, event in zip(rows, events, strict=True)
    ]
    dbapi.execute_many(conn, prepared.sql, args)


def _update(columns: tuple[str, ...], only_open: bool) -> Any:
    stmt = update(promises).where(promises.c.id == bindparam("pid"))
    if only_open:
        stmt = stmt.where(promises.c.state == _OPEN)
    return stmt.values({c: bindparam(c) for c in columns})


def _close_pg(columns: tuple[str, ...]) -> ClauseElement:
    """PostgreSQL: the conditional UPDATE and its history entry in one statement, RETURNING
    the row as it is now (no row: another writer closed it first)."""
    changed = _update(columns, True).returning(*promises.c).cte("u")
    return select(*changed.c).add_cte(_with_event(changed))


def _set_fields_pg(columns: tuple[str, ...]) -> ClauseElement:
    return _update(columns, False).returning(*promises.c)  # type: ignore[no-any-return]


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
    """Move an open promise to ``new`` (with its history entry); None when another writer
    closed it first."""
    values = dict(fields or {}, state=str(new), closed_at=at)
    columns = tuple(values)
    values["pid"] = promise.id
    event = _event(Action(str(new)), at, actor, PromiseState.OPEN, new, detail, call_id)
    if conn.dialect.name == "postgresql":
        build: Any = partial(_close_pg, columns)
        params = {**values, **_event_values(event)}
        found = _promises(_run(conn, ("close_pg", columns), build, params))
        closed = found[0] if len(found) == 1 else None
    else:
        build = partial(_update, columns, True)
        if _run(conn, ("close", columns), build, values).rowcount != 1:
            return None
        prepared = dbapi.prepare(conn, "add_event", _insert_event)
        dbapi.execute(conn, prepared.sql, (promise.id, *event)).close()
        closed = get(conn, promise.id)
    by_number.saw(conn, closed)
    return closed


def set_fields(conn: Connection, promise_id: int, **values: Any) -> Promise:
    columns = tuple(values)
    params = {**values, "pid": promise_id}
    if conn.dialect.name == "postgresql":  # the row as it is now, in the same statement
        build = partial(_set_fields_pg, columns)
        found = _promises(_run(conn, ("set_fields_pg", columns), build, params))
        assert len(found) == 1, promise_id
        changed: Promise | None = found[0]
    else:
        _run(conn, ("set_fields", columns), partial(_update, columns, False), params).close()
        changed = get(conn, promise_id)
    assert changed is not None, promise_id
    by_number.saw(conn, changed)
    return changed


def _amend_pg(columns: tuple[str, ...]) -> ClauseElement:
    """PostgreSQL: an UPDATE of the promise and its history entry in one statement,
    RETURNING the row as it is now."""
    changed = _update(columns, False).returning(*promises.c).cte("u")
    return select(*changed.c).add_cte(_with_event(changed))


def amend(
    conn: Connection,
    promise_id: int,
    action: Action,
    at: float,
    actor: str,
    *,
    detail: str,
    call_id: str | None = None,
    source_key: str | None = None,
    fields: dict[str, Any],
) -> Promise:
    """A history entry for an open or broken promise that stays so (merged, reached late)
    and the ``fields`` it changes: one statement on PostgreSQL, else ``add_event`` then
    ``set_fields``. The row as it is now."""
    if conn.dialect.name != "postgresql":
        add_event(
            conn, promise_id, action, at, actor, detail=detail, call_id=call_id,
            source_key=source_key,
        )  # fmt: skip
        return set_fields(conn, promise_id, **fields)
    columns = tuple(fields)
    event = _event(action, at, actor, detail=detail, call_id=call_id, source_key=source_key)
    params = {**fields, "pid": promise_id, **_event_values(event)}
    found = _promises(_run(conn, ("amend_pg", columns), partial(_amend_pg, columns), params))
    assert len(found) == 1, promise_id
    by_number.saw(conn, found[0])
    return found[0]
