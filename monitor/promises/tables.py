"""The promise tables, on the one shared ``monitor.store.schema.metadata``.

Portable SQL (SQLite and PostgreSQL): epoch seconds as double precision, text states.
``promises.key`` is the idempotency key of the promise's first source (``call:<id>:missed``,
``ami:<linkedid>:<number>:<due>``, or a caller-supplied key); ``promise_events.source_key``
holds the key of every later source merged into it, so a replay recognises both.
"""

from __future__ import annotations

from sqlalchemy import Column, Double, ForeignKey, Index, Integer, String, Table

from monitor.store.schema import metadata

__all__ = ["PROMISE_TABLES", "promise_events", "promises"]

promises = Table(
    "promises",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(255), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("pbx", String(64), nullable=False),
    Column("number", String(32), nullable=True),
    Column("raw_number", String(128), nullable=True),
    Column("source_call_id", String(128), nullable=True),
    Column("reason", String(500), nullable=True),
    Column("agent", String(128), nullable=True),
    Column("rule", String(128), nullable=False),
    Column("made_at", Double, nullable=False),
    Column("due_at", Double, nullable=False),
    Column("state", String(16), nullable=False),
    Column("closed_at", Double, nullable=True),
    Column("kept_by_call_id", String(128), nullable=True),
    Column("kept_at", Double, nullable=True),
    Column("late_call_id", String(128), nullable=True),
    Column("late_at", Double, nullable=True),
    Column("misses", Integer, nullable=False, default=1),
    Index("ix_promises_state_due", "state", "due_at"),
    Index("ix_promises_number_state", "number", "state"),
)

promise_events = Table(
    "promise_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("promise_id", Integer, ForeignKey("promises.id"), nullable=False, index=True),
    Column("action", String(24), nullable=False),
    Column("from_state", String(16), nullable=True),
    Column("to_state", String(16), nullable=True),
    Column("at", Double, nullable=False),
    Column("actor", String(160), nullable=False),
    Column("detail", String(500), nullable=False, default=""),
    Column("call_id", String(128), nullable=True),
    Column("source_key", String(255), nullable=True, unique=True),
)

PROMISE_TABLES: tuple[Table, ...] = (promises, promise_events)
"""For ``metadata.create_all(engine, tables=list(PROMISE_TABLES))``."""
