"""Tables for history import and reports (additive: new tables and indexes only).

* ``import_checkpoints`` — one row per imported file identity: how far it was read, where a
  resumed import starts again, and whether it is done (docs/import.md).
* ``call_checks`` — every per-call standard result (met or breached) with the call, so a
  report knows how many calls each standard applied to, not only its breaches.
* ``report_rollups`` / ``rollup_checks`` — 15-minute pre-aggregates per pbx, queue, agent and
  direction, rebuilt for each 15 minutes that a newly stored call touches (docs/reports.md).
* ``rollup_agent_days`` / ``rollup_checks_agent_days`` — the per-agent rollups summed by the
  local day of a time zone (``bucket_start`` is the local midnight), for agent scorecards over
  a month; kept in step with the 15-minute ones and purged with retention.
* ``rollup_state`` — the stored_at watermark up to which rollups are current.

``ensure_history_schema`` creates what is missing (tables, and the ``stored_at`` index on
``calls``, which ``create_all`` would not add to an existing table).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    Engine,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
)
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError
from monitor.store.engine import create_schema
from monitor.store.schema import calls, metadata

__all__ = [
    "BUCKET_SECONDS",
    "HISTORY_TABLES",
    "ROLLUP_MEASURES",
    "WAIT_EDGES",
    "call_checks",
    "ensure_history_schema",
    "import_checkpoints",
    "report_rollups",
    "report_rollups_queue",
    "rollup_agent_days",
    "rollup_checks",
    "rollup_checks_agent_days",
    "rollup_checks_queue",
    "rollup_state",
]

BUCKET_SECONDS = 900.0
WAIT_EDGES: tuple[int, ...] = (10, 15, 20, 30, 45, 60, 90, 120)
"""Answered calls are counted by wait (seconds to a person) up to each edge: a service level
threshold is one of these."""

import_checkpoints = Table(
    "import_checkpoints",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("path", String(1024), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("format", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # partial | done
    Column("offset", BigInteger, nullable=False),
    Column("resume_offset", BigInteger, nullable=False),
    Column("last_event_at", Double),
    Column("events", BigInteger, nullable=False),
    Column("calls", BigInteger, nullable=False),
    Column("updated_at", Double, nullable=False),
)

call_checks = Table(
    "call_checks",
    metadata,
    Column("call_id", String(128), nullable=False),
    Column("rule", String(128), nullable=False),
    Column("met", Boolean, nullable=False),
    PrimaryKeyConstraint("call_id", "rule", name="pk_call_checks"),
    Index("ix_call_checks_rule", "rule", "call_id"),
)

_DIMS = (
    Column("bucket_start", Double, nullable=False),
    Column("pbx", String(64), nullable=False),
    Column("queue", String(128), nullable=False),  # '' when none
    Column("agent", String(128), nullable=False),  # '' when none
    Column("direction", String(16), nullable=False),
)


def _dims(agent: bool = True) -> list[Column[object]]:
    return [c._copy() for c in _DIMS if agent or c.name != "agent"]


def _measures() -> list[Column[object]]:
    return [
        Column(name, Double if name.endswith(("_sum", "_max")) else Integer, nullable=False)
        for name in ROLLUP_MEASURES
    ]


ROLLUP_MEASURES: tuple[str, ...] = (
    "calls",
    "answered",
    "abandoned",
    "short_abandoned",
    "unanswered",
    "busy",
    "failed",
    "voicemail",
    "incomplete",
    "answer_known",
    "answer_sum",
    "answer_max",
    "waited",
    "wait_sum",
    "wait_max",
    "talk_sum",
    "talked",
    "hold_sum",
    "held",
    "transfers",
    *(f"ans_le_{edge}" for edge in WAIT_EDGES),
)


report_rollups = Table(
    "report_rollups",
    metadata,
    *_dims(),
    *_measures(),
    PrimaryKeyConstraint(
        "bucket_start", "pbx", "queue", "agent", "direction", name="pk_report_rollups"
    ),
)

report_rollups_queue = Table(
    "report_rollups_queue",
    metadata,
    *_dims(agent=False),
    *_measures(),
    PrimaryKeyConstraint("bucket_start", "pbx", "queue", "direction", name="pk_rollups_queue"),
)
"""The same without the agent: what a report that neither breaks down nor filters by agent
reads (agents multiply the rows by up to their number)."""

rollup_checks = Table(
    "rollup_checks",
    metadata,
    *_dims(),
    Column("rule", String(128), nullable=False),
    Column("met", Integer, nullable=False),
    Column("breached", Integer, nullable=False),
    PrimaryKeyConstraint(
        "bucket_start", "pbx", "queue", "agent", "direction", "rule", name="pk_rollup_checks"
    ),
)

rollup_checks_queue = Table(
    "rollup_checks_queue",
    metadata,
    *_dims(agent=False),
    Column("rule", String(128), nullable=False),
    Column("met", Integer, nullable=False),
    Column("breached", Integer, nullable=False),
    PrimaryKeyConstraint(
        "bucket_start", "pbx", "queue", "direction", "rule", name="pk_rollup_checks_queue"
    ),
)

rollup_agent_days = Table(
    "rollup_agent_days",
    metadata,
    Column("zone", String(64), nullable=False),
    *_dims(),
    *_measures(),
    PrimaryKeyConstraint(
        "zone", "bucket_start", "pbx", "queue", "agent", "direction", name="pk_rollup_agent_days"
    ),
)
"""The per-agent rollups by local day of ``zone`` (``bucket_start``: that day's midnight)."""

rollup_checks_agent_days = Table(
    "rollup_checks_agent_days",
    metadata,
    Column("zone", String(64), nullable=False),
    *_dims(),
    Column("rule", String(128), nullable=False),
    Column("met", Integer, nullable=False),
    Column("breached", Integer, nullable=False),
    PrimaryKeyConstraint(
        "zone",
        "bucket_start",
        "pbx",
        "queue",
        "agent",
        "direction",
        "rule",
        name="pk_rollup_checks_agent_days",
    ),
)

rollup_state = Table(
    "rollup_state",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("watermark", Double, nullable=False),
    Column("short_abandon_seconds", Double, nullable=False),
)

calls_stored_at = Index("ix_calls_stored_at", calls.c.stored_at)

HISTORY_TABLES: tuple[Table, ...] = (
    import_checkpoints,
    call_checks,
    report_rollups,
    rollup_checks,
    report_rollups_queue,
    rollup_checks_queue,
    rollup_agent_days,
    rollup_checks_agent_days,
    rollup_state,
)


def ensure_history_schema(engine: Engine) -> None:
    """Create the whole schema, then the history tables and indexes that are missing."""
    create_schema(engine)
    try:
        metadata.create_all(engine, tables=list(HISTORY_TABLES))
        calls_stored_at.create(engine, checkfirst=True)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot create the history tables at {engine.url!r}: {exc}") from exc
