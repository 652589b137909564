"""The history import's hot statements, compiled once per dialect and run on the DB-API
connection of the caller's transaction.

SQLAlchemy Core spends ~0.1 ms of Python on each statement (cache key, parameter
processing, result set-up) and some on each row of a multi-row INSERT: more than SQLite
itself spends on them. Here the SQL is still SQLAlchemy's own (compiled from the tables, so
quoting and casts are the dialect's), but compiled once, with positional parameters, and
executed by the driver; rows are tuples. Values are bound as Core's types would bind them:
JSON columns as the dialect's JSON text (``json.dumps``), booleans as bools, None as NULL.

On PostgreSQL many rows go in with ``COPY ... FROM STDIN`` (one stream per table instead
of one prepared execution per row). Driver errors are raised as SQLAlchemy's own
(``sqlalchemy.exc.IntegrityError``...), so callers handle them as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable, Sequence
from functools import lru_cache
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any, NamedTuple, NoReturn, cast

from sqlalchemy import JSON, ClauseElement, Connection, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["Prepared", "execute", "execute_many", "in_list", "insert_rows", "prepare"]


class Prepared(NamedTuple):
    """One compiled statement: its SQL and the names of its parameters, in order."""

    sql: str
    names: tuple[str, ...]
    literals: tuple[Any, ...]  # a bound literal's value, or REQUIRED for a bind parameter

    def args(self, values: dict[str, Any]) -> tuple[Any, ...]:
        """The positional parameters: each bind parameter from ``values`` (KeyError if one
        is missing), each literal its own value."""
        return tuple(
            values[n] if v is REQUIRED else v
            for n, v in zip(self.names, self.literals, strict=True)
        )


REQUIRED: Any = object()
_PREPARED: dict[tuple[str, Hashable], Prepared] = {}
_POSITIONAL: dict[str, Dialect] = {}


def _positional(dialect: Dialect) -> Dialect:
    """The dialect itself when its driver takes positional parameters (SQLite's ``?``),
    else one of its kind compiling ``%s`` (psycopg takes both)."""
    if dialect.positional:
        return dialect
    made = _POSITIONAL.get(dialect.name)
    if made is None:
        kind: Any = type(dialect)  # every dialect takes ``paramstyle`` (DefaultDialect)
        made = _POSITIONAL[dialect.name] = kind(paramstyle="format")
    return made


def prepare(conn: Connection, key: Hashable, build: Callable[[], ClauseElement]) -> Prepared:
    """The statement ``build()`` makes, compiled once per dialect and ``key``."""
    dialect = conn.dialect
    found = _PREPARED.get((dialect.name, key))
    if found is None:
        compiled = cast(SQLCompiler, build().compile(dialect=_positional(dialect)))
        names = tuple(compiled.positiontup or ())
        binds = compiled.binds  # by the name each has in the SQL
        literals = tuple(REQUIRED if binds[n].required else binds[n].value for n in names)
        found = Prepared(compiled.string, names, literals)
        _PREPARED[(dialect.name, key)] = found
    return found


def _error(conn: Connection) -> type[Exception]:
    """The driver's base exception class (``sqlite3.Error``, ``psycopg.Error``)."""
    error: type[Exception] = conn.dialect.loaded_dbapi.Error
    return error


def _raise(conn: Connection, exc: Exception, sql: str, args: Any, many: bool) -> NoReturn:
    """The driver's error as SQLAlchemy raises it (IntegrityError, OperationalError...)."""
    raise DBAPIError.instance(
        sql, args, exc, _error(conn), dialect=conn.dialect, ismulti=many
    ) from exc


def execute(conn: Connection, sql: str, args: Sequence[Any] = ()) -> Any:
    """Run one statement in ``conn``'s transaction; the DB-API cursor (to fetch from)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, args)
    except _error(conn) as exc:
        _raise(conn, exc, sql, args, False)
    return cursor


def execute_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run one statement for each of ``rows`` in ``conn``'s transaction."""
    if not rows:
        return
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
    except _error(conn) as exc:
        _raise(conn, exc, sql, rows, True)
    finally:
        cursor.close()


def in_list(conn: Connection, head: str, values: Sequence[Any]) -> tuple[str, Sequence[Any]]:
    """``head IN (values)`` and its parameters: ``= ANY(%s)`` with one array on PostgreSQL
    (one statement text for any length), ``IN (?, ...)`` on SQLite."""
    if conn.dialect.name == "postgresql":
        return f"{head} = ANY(%s)", [list(values)]
    return _in_marks(head, len(values)), values


@lru_cache(maxsize=64)
def _in_marks(head: str, n: int) -> str:
    return f"{head} IN ({', '.join(['?'] * n)})"


class _Insert(NamedTuple):
    sql: str  # INSERT (SQLite) or COPY (PostgreSQL)
    json_at: tuple[int, ...]  # positions of JSON columns
    dumps: Callable[[Any], str]


_INSERTS: dict[tuple[str, str, tuple[str, ...]], _Insert] = {}


def _insert(conn: Connection, table: Table, columns: tuple[str, ...]) -> _Insert:
    dialect = conn.dialect
    key = (dialect.name, table.name, columns)
    found = _INSERTS.get(key)
    if found is None:
        json_at = tuple(i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON))
        # what Core's JSON type binds: the dialect's serializer (json.dumps unless configured)
        dumps = getattr(dialect, "_json_serializer", None) or _dumps
        if dialect.name == "postgresql":
            quote = dialect.identifier_preparer
            cols = ", ".join(quote.quote(c) for c in columns)
            sql = f"COPY {quote.format_table(table)} ({cols}) FROM STDIN"
        else:
            stmt = insert(table)
            compiled = stmt.compile(dialect=_positional(dialect), column_keys=list(columns))
            if tuple(compiled.positiontup or ()) != columns:
                raise AssertionError(f"{table.name}: parameters out of column order")
            sql = compiled.string
        found = _INSERTS[key] = _Insert(sql, json_at, dumps)
    return found


def insert_rows(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: Iterable[Sequence[Any]]
) -> None:
    """INSERT ``rows`` (values in ``columns`` order, as Core takes them: JSON columns as
    Python objects) into ``table`` in ``conn``'s transaction: SQLite ``executemany``,
    PostgreSQL ``COPY``. Constraint violations raise as Core's INSERT would."""
    ins = _insert(conn, table, columns)
    if ins.json_at:
        rows = _with_json(rows, ins.json_at, ins.dumps)
    if conn.dialect.name != "postgresql":
        execute_many(conn, ins.sql, rows if isinstance(rows, list) else list(rows))
        return
    raw = conn.connection.dbapi_connection
    try:
        with raw.cursor() as cursor, cursor.copy(ins.sql) as copy:  # type: ignore[union-attr]
            write = copy.write_row
            for row in rows:
                write(row)
    except _error(conn) as exc:
        _raise(conn, exc, ins.sql, None, True)


def _json_dumps() -> Callable[[Any], str]:
    """``json.dumps`` with its defaults, its C encoder made once instead of per call (the
    same text; 4 instead of 7 us for a call's extras). No circular check: rows are trees.
    Plain ``json.dumps`` where that encoder is missing or writes anything else."""
    try:
        encode = c_make_encoder(
            None, json.JSONEncoder().default, encode_basestring_ascii, None, ": ", ", ",
            False, False, True,
        )  # fmt: skip
    except TypeError:  # pragma: no cover - no C encoder, or another signature
        return json.dumps

    def dumps(value: Any) -> str:
        return "".join(encode(value, 0))

    sample = {"a": [1, 2.5, None, True, 'é"\n'], "b": {"c": 1e300, "d": -0.0}}
    return dumps if dumps(sample) == json.dumps(sample) else json.dumps


_dumps = _json_dumps()


def _with_json(
    rows: Iterable[Sequence[Any]], at: tuple[int, ...], dumps: Callable[[Any], str]
) -> list[Sequence[Any]]:
    out: list[Sequence[Any]] = []
    for row in rows:
        values = list(row)
        for i in at:
            values[i] = dumps(values[i])  # None too: Core's JSON writes it as 'null'
        out.append(values)
    return out
