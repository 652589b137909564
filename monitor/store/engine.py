"""Engine creation: SQLite (WAL, synchronous=NORMAL, foreign keys) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import importlib
import os
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from monitor.errors import StoreError
from monitor.store import qa_tables as _qa_tables  # noqa: F401  (its tables on ``metadata``)
from monitor.store.schema import metadata

__all__ = [
    "PROMISE_TABLES_MODULE",
    "create_private",
    "create_schema",
    "make_engine",
    "normalise_url",
]

PROMISE_TABLES_MODULE = "monitor.promises.tables"
SQLITE_CACHE_KIB = 1024  # page cache per SQLite connection (SQLite's default is 2 MiB)
SQLITE_POOL_SIZE = 5
SQLITE_POOL_OVERFLOW = 5  # so at most 10 connections, 10 MiB of page cache


def normalise_url(url: str) -> str:
    """A plain path becomes a SQLite URL; ``postgresql://`` selects psycopg 3."""
    if "://" not in url:
        return "sqlite:///" + str(Path(url).expanduser().resolve())
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def create_private(path: Path) -> bool:
    """Create an empty SQLite file readable by its owner only (0600: it holds password
    hashes); SQLite gives its -wal and -shm files the same mode. An existing file is left
    as it is (see docs/security.md). True when it was created here."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise StoreError(f"store file {str(path)!r}: cannot create it ({exc.strerror})") from exc
    os.close(fd)
    return True


def _sqlite_pragmas(busy_ms: int, dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={busy_ms:d}")  # first: WAL below may wait for a lock
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB:d}")  # bounded page cache per connection
    cur.close()


def make_engine(url: str, *, busy_timeout: float = 5.0) -> Engine:
    """Create an engine for ``url`` (a SQLite path or URL, or a PostgreSQL URL).

    ``busy_timeout``: how long one SQLite statement waits for another connection's lock
    before failing with ``database is locked`` (the service's ``StoreWriter`` then retries)."""
    full = normalise_url(url)
    try:
        parsed = make_url(full)
    except ArgumentError as exc:
        raise StoreError(
            f"store URL {url!r} is not valid: {exc}; use a file path, sqlite:///PATH or "
            "postgresql://USER:PASS@HOST/DB"
        ) from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(
            f"store URL {url!r}: backend {backend!r} is not supported; "
            "use SQLite (a file path) or postgresql://..."
        )
    try:
        if backend == "sqlite":
            db = parsed.database
            if db and db != ":memory:":
                parent = Path(db).parent
                if not parent.is_dir():
                    raise StoreError(
                        f"store file {db!r}: directory {str(parent)!r} does not exist; create it"
                    )
                create_private(Path(db))
            # a bounded pool of bounded connections: the page caches cannot grow with the
            # number of threads that ever touched the store (issue 20 item 8)
            pool: dict[str, Any] = {}
            if db and db != ":memory:":
                pool = {"pool_size": SQLITE_POOL_SIZE, "max_overflow": SQLITE_POOL_OVERFLOW}
            engine = create_engine(full, connect_args={"timeout": busy_timeout}, **pool)
            event.listen(engine, "connect", partial(_sqlite_pragmas, int(busy_timeout * 1000)))
        else:
            engine = create_engine(full, pool_pre_ping=True, pool_size=5, max_overflow=10)
    except NoSuchModuleError as exc:
        raise StoreError(
            f"store URL {url!r}: driver missing ({exc}); install ringwatch[postgres] for PostgreSQL"
        ) from exc
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"store URL {url!r}: driver missing ({exc}); install ringwatch[postgres] for PostgreSQL"
        ) from exc
    return engine


def _import_promise_tables() -> bool:
    """Import the promise tables onto ``metadata`` when that package exists."""
    try:
        importlib.import_module(PROMISE_TABLES_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name in (PROMISE_TABLES_MODULE, "monitor.promises"):
            return False
        raise
    return True


def create_schema(engine: Engine) -> None:
    """Create every table (ours and the promise ledger's) that does not exist yet."""
    _import_promise_tables()
    try:
        metadata.create_all(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot create the schema at {engine.url!r}: {exc}") from exc
