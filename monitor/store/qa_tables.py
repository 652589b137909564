"""Tables of the agent's side of QA (issue 19, items 7 and 9), on the one ``metadata``.

- ``agent_logins``: a web user of role ``agent`` -> the agent name the tracker records on
  calls (``calls.agent``: the queue member's name, else ``agents:`` of the configuration).
- ``review_responses``: an agent's answer to a closed review: ``acknowledged``, or
  ``disputed`` with a comment (a dispute puts the call back in the QA queue). One answer per
  review; a new review after a dispute can be answered again.
- ``qa_samples``: unflagged calls picked at random (seeded by week and agent) for review,
  ``week`` is the ISO week of the call's start in the site's time zone (``2026-W49``);
  ``qa_sample_weeks`` the weeks already sampled by the service.

New tables only: ``create_all`` adds them to an existing store on its next open.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from monitor.store.schema import metadata

__all__ = [
    "RESPONSE_KINDS",
    "SAMPLE_SEVERITY",
    "agent_logins",
    "qa_sample_weeks",
    "qa_samples",
    "review_responses",
]

RESPONSE_KINDS: tuple[str, ...] = ("acknowledged", "disputed")
SAMPLE_SEVERITY = "none"  # the severity of a sampled call's flag: no standard was breached

agent_logins = Table(
    "agent_logins",
    metadata,
    Column("user_name", String(64), primary_key=True),
    Column("agent", String(128), nullable=False),
    Column("created_at", Double, nullable=False),
    Index("ix_agent_logins_agent", "agent"),
)

review_responses = Table(
    "review_responses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("review_id", Integer, ForeignKey("reviews.id"), nullable=False, unique=True),
    Column("call_id", String(128), nullable=False),
    Column("user_name", String(64), nullable=False),
    Column("agent", String(128), nullable=False),
    Column("kind", String(16), nullable=False),  # acknowledged | disputed
    Column("comment", Text, nullable=False),
    Column("at", Double, nullable=False),
    Index("ix_review_responses_call", "call_id", "id"),
)

qa_samples = Table(
    "qa_samples",
    metadata,
    Column(
        "call_id",
        String(128),
        ForeignKey("calls.call_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("agent", String(128), nullable=False),
    Column("week", String(10), nullable=False),
    Column("created_at", Double, nullable=False),
    Index("ix_qa_samples_week_agent", "week", "agent"),
)

qa_sample_weeks = Table(
    "qa_sample_weeks",
    metadata,
    Column("week", String(10), primary_key=True),
    Column("quota", Integer, nullable=False),
    Column("sampled_at", Double, nullable=False),
)
