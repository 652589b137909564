"""Table definitions. Every table of ringwatch hangs off this one ``metadata``.

Other packages (e.g. ``monitor.promises.tables``) define their tables on this same object;
``create_all`` imports them first so one call creates the whole schema.

Times are epoch seconds UTC stored as double precision (event time, as in ``CallRecord``).
The flag row carries copies of the call's queue, agent, start time and worst severity so the
QA queue filters and sorts on one table with covering indexes (100k flags, 1M calls).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "FLAG_STATUSES",
    "REVIEW_DISPOSITIONS",
    "REVIEW_KINDS",
    "ROLES",
    "SEVERITY_RANK",
    "audit_log",
    "calls",
    "findings",
    "flags",
    "login_failures",
    "metadata",
    "reviews",
    "schema_migrations",
    "sessions",
    "users",
]

metadata = MetaData()

# ``agent``: sees only the reviews of their own calls (monitor/store/agent_reviews.py)
ROLES: tuple[str, ...] = ("supervisor", "qa", "admin", "agent")
FLAG_STATUSES: tuple[str, ...] = ("open", "claimed", "closed")
REVIEW_DISPOSITIONS: tuple[str, ...] = ("confirmed_breach", "not_a_breach", "coaching_needed")
REVIEW_KINDS: tuple[str, ...] = ("review", "calibration")
SEVERITY_RANK: dict[str, int] = {"info": 1, "warning": 2, "critical": 3}

calls = Table(
    "calls",
    metadata,
    Column("call_id", String(128), primary_key=True),
    Column("pbx", String(64), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("caller", String(64)),
    Column("caller_name", String(256)),
    Column("dialed", String(64)),
    Column("queue", String(128)),
    Column("agent", String(128)),
    Column("started_at", Double, nullable=False),
    Column("answered_at", Double),
    Column("ended_at", Double),
    Column("outcome", String(16), nullable=False),
    Column("ring_seconds", Double),
    Column("rings", Integer),
    Column("queue_wait_seconds", Double),
    Column("talk_seconds", Double),
    Column("hold_seconds", Double, nullable=False),
    Column("hold_count", Integer, nullable=False),
    Column("longest_hold_seconds", Double, nullable=False),
    Column("transfers", Integer, nullable=False),
    Column("hangup_cause", Integer),
    Column("timing", String(16), nullable=False),
    Column("recording", String(1024)),
    Column("extra", JSON, nullable=False),
    Column("stored_at", Double, nullable=False),
    Index("ix_calls_started_at", "started_at"),
    Index("ix_calls_queue_started", "queue", "started_at"),
    Index("ix_calls_agent_started", "agent", "started_at"),
)

findings = Table(
    "findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "call_id",
        String(128),
        ForeignKey("calls.call_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("seq", Integer, nullable=False),
    Column("rule", String(128), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("value", Double),
    Column("threshold", Double),
    Column("at", Double),
    Column("title", String(512), nullable=False),
    Column("flag", Boolean, nullable=False),
    Column("live", Boolean, nullable=False),
    Column("evidence", JSON, nullable=False),
    UniqueConstraint("call_id", "seq", name="uq_findings_call_seq"),
    Index("ix_findings_rule_call", "rule", "call_id"),
)

flags = Table(
    "flags",
    metadata,
    Column(
        "call_id",
        String(128),
        ForeignKey("calls.call_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("status", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("severity_rank", Integer, nullable=False),
    Column("rules", String(1024), nullable=False),
    Column("queue", String(128)),
    Column("agent", String(128)),
    Column("started_at", Double, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("claimed_by", String(64)),
    Column("claimed_at", Double),
    Index("ix_flags_status_started", "status", "started_at"),
    Index("ix_flags_started", "started_at"),
    Index("ix_flags_rank_started", "severity_rank", "started_at"),
    Index("ix_flags_queue_started", "queue", "started_at"),
    Index("ix_flags_agent_started", "agent", "started_at"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", Double, nullable=False),
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "call_id",
        String(128),
        ForeignKey("calls.call_id", ondelete="RESTRICT"),
        nullable=False,
    ),
    Column("reviewer", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # open (draft) | closed (immutable)
    Column("disposition", String(32)),
    Column("checklist", JSON, nullable=False),
    Column("score", Integer),
    Column("score_max", Integer),
    Column("notes", Text, nullable=False),
    Column("reopened_from", Integer, ForeignKey("reviews.id")),
    Column("reopen_reason", Text),
    Column("created_at", Double, nullable=False),
    Column("closed_at", Double),
    # issue 19: a calibration is a second reviewer's score of a closed review (``calibrates``:
    # its id); ``answers`` per checklist item: the prefill, its evidence, the final answer and
    # the reason for an override (monitor/store/answers.py). Added to older stores by the
    # ``reviews-answers-and-calibration`` migration.
    Column("kind", String(16), nullable=False, server_default="review"),  # review | calibration
    Column("calibrates", Integer),
    Column("answers", JSON),
    Index("ix_reviews_call", "call_id", "id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Double, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("call_id", String(128)),
    Column("detail", JSON, nullable=False),
    Index("ix_audit_at", "at"),
    Index("ix_audit_call", "call_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_name", String(64), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
    Index("ix_sessions_expires", "expires_at"),
)

# failed logins per user name or client address (``monitor.web.throttle``), shared by every
# web process on the store; rows are forgotten 15 min after their last failure
login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(200), primary_key=True),  # ``user:NAME``, ``address:IP``, ...
    Column("failures", Integer, nullable=False),
    Column("last", Double, nullable=False),  # wall-clock time of the last failure
    Column("locked_until", Double, nullable=False),
    Index("ix_login_failures_last", "last"),
)

# data migrations already run on this database (``monitor.store.migrations``)
schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("applied_at", Double, nullable=False),
)
