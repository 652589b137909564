"""Open a database for the promise ledger (used by the CLI and the tests).

The service shares the store's engine; this helper is for standalone use: it turns on WAL
and a busy timeout for SQLite files (so the CLI and the running service can share one file)
and creates the promise tables when they are missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from monitor.errors import StoreError
from monitor.promises.tables import PROMISE_TABLES
from monitor.store.engine import create_private
from monitor.store.schema import metadata

__all__ = ["create_promise_tables", "open_database"]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_database(url: str, *, create: bool = True) -> Engine:
    """An engine for ``url`` (``sqlite:///path.db`` or ``postgresql+psycopg://...``)."""
    try:
        engine = create_engine(url)
    except (ArgumentError, SQLAlchemyError, ValueError) as exc:
        raise StoreError(
            f"cannot use database URL {url!r}: {exc}; use e.g. sqlite:///ringwatch.db"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        database = engine.url.database
        if create and database and database != ":memory:" and not database.startswith("file:"):
            create_private(Path(database))  # 0600 like the store: it may hold password hashes
    if create:
        create_promise_tables(engine)
    return engine


def create_promise_tables(engine: Engine) -> None:
    """Create the promise tables if they do not exist yet."""
    try:
        metadata.create_all(engine, tables=list(PROMISE_TABLES))
    except SQLAlchemyError as exc:
        raise StoreError(
            f"cannot create the promise tables in "
            f"{engine.url.render_as_string(hide_password=True)}: {exc}"
        ) from exc
