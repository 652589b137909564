"""Frozen values the store hands out: queue pages, reviews, users, audit entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitor.record import CallRecord

__all__ = [
    "SORTS",
    "AuditEntry",
    "FlagFilter",
    "FlagInfo",
    "FlagRow",
    "Page",
    "PromiseRow",
    "Review",
    "StoredCall",
    "User",
]

# Sort keys the queue accepts; a leading "-" means descending.
SORTS: tuple[str, ...] = ("started_at", "severity", "status", "queue", "agent")


@dataclass(frozen=True, slots=True)
class FlagFilter:
    """Filters of the flagged-calls queue; None means "any". Times are epoch seconds."""

    rule: str | None = None
    severity: str | None = None
    queue: str | None = None
    agent: str | None = None
    since: float | None = None
    until: float | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class FlagRow:
    call_id: str
    status: str
    severity: str
    rules: tuple[str, ...]
    queue: str | None
    agent: str | None
    started_at: float
    claimed_by: str | None
    caller: str | None
    caller_name: str | None
    outcome: str
    # the latest closed review (None while the call has none)
    disposition: str | None = None
    score: int | None = None
    score_max: int | None = None
    reviewer: str | None = None
    claimed_at: float | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the queue; ``total`` matches the filters, ``counts`` is per status."""

    items: tuple[FlagRow, ...]
    total: int
    page: int
    per_page: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True, slots=True)
class FlagInfo:
    status: str
    severity: str
    rules: tuple[str, ...]
    claimed_by: str | None
    claimed_at: float | None
    created_at: float


@dataclass(frozen=True, slots=True)
class Review:
    id: int
    call_id: str
    reviewer: str
    state: str
    disposition: str | None
    checklist: dict[str, Any]
    score: int | None
    score_max: int | None
    notes: str
    reopened_from: int | None
    reopen_reason: str | None
    created_at: float
    closed_at: float | None
    kind: str = "review"  # review | calibration (a second reviewer's score of ``calibrates``)
    calibrates: int | None = None
    answers: dict[str, Any] | None = None  # per item: prefill, evidence, value, reason

    @property
    def percent(self) -> float | None:
        """The score as a percentage of the items answered (None before it is closed)."""
        if self.score is None or not self.score_max:
            return None
        return 100.0 * self.score / self.score_max


@dataclass(frozen=True, slots=True)
class StoredCall:
    record: CallRecord
    flag: FlagInfo | None
    reviews: tuple[Review, ...]

    @property
    def open_review(self) -> Review | None:
        """The draft of the claimed review (calibration drafts are not it)."""
        return next(
            (r for r in reversed(self.reviews) if r.state == "open" and r.kind == "review"), None
        )

    def calibration_draft(self, user: str) -> Review | None:
        """``user``'s calibration score still being filled in, if any."""
        return next(
            (
                r
                for r in reversed(self.reviews)
                if r.state == "open" and r.kind == "calibration" and r.reviewer == user
            ),
            None,
        )


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str
    disabled: bool
    created_at: float


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: float
    actor: str
    action: str
    call_id: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PromiseRow:
    """A callback promise as the web shows it (read from monitor.promises' tables)."""

    id: str
    number: str | None
    state: str
    due_at: float | None
    created_at: float | None
    call_id: str | None
    detail: dict[str, Any]
