"""Callback promise values: states, the legal transitions, a promise and one change to it.

A promise is ``open`` until exactly one of four things closes it::

    open ──► kept          a matching callback (or answered call-in) before the due time
         ──► broken        the due time passed first (event time = the due time)
         ──► cancelled     a person cancelled it, with a reason
         ──► unreturnable  the number is withheld or not a phone number

Closed states are final. A customer reached after a broken promise is recorded as a
``late_callback`` on the broken promise (for the time-to-callback figures); it does not
re-open or re-close it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from monitor.errors import PromiseError
from monitor.record import Finding, iso

__all__ = [
    "OUTCOME_STATES",
    "TRANSITIONS",
    "Action",
    "Change",
    "Promise",
    "PromiseKind",
    "PromiseState",
    "check_transition",
]


class PromiseState(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"
    UNRETURNABLE = "unreturnable"


TRANSITIONS: dict[PromiseState, frozenset[PromiseState]] = {
    PromiseState.OPEN: frozenset(
        {
            PromiseState.KEPT,
            PromiseState.BROKEN,
            PromiseState.CANCELLED,
            PromiseState.UNRETURNABLE,
        }
    ),
    PromiseState.KEPT: frozenset(),
    PromiseState.BROKEN: frozenset(),
    PromiseState.CANCELLED: frozenset(),
    PromiseState.UNRETURNABLE: frozenset(),
}
"""The only legal state changes. Every closed state is final."""

OUTCOME_STATES: tuple[PromiseState, ...] = (
    PromiseState.KEPT,
    PromiseState.BROKEN,
    PromiseState.CANCELLED,
    PromiseState.UNRETURNABLE,
)
"""The closing states, which are the ``outcome`` label of ``ringwatch_callback_promises_total``."""


def check_transition(promise_id: int, current: PromiseState, new: PromiseState) -> None:
    """Raise PromiseError unless ``current -> new`` is a legal transition."""
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none: it is closed"
        raise PromiseError(
            f"promise {promise_id} is {current}; it cannot become {new} "
            f"(allowed from {current}: {allowed})"
        )


class PromiseKind(StrEnum):
    """Where a promise came from."""

    MISSED = "missed"  # implicit: an inbound call ended abandoned, unanswered or voicemail
    AMI = "ami"  # explicit: AMI UserEvent CallbackPromise
    API = "api"  # explicit: POST /api/promises
    CLI = "cli"  # explicit: ringwatch promises add


class Action(StrEnum):
    """What one audit-history entry records."""

    CREATED = "created"
    MERGED = "merged"  # another miss or promise for the same number joined this open promise
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"
    UNRETURNABLE = "unreturnable"
    LATE_CALLBACK = "late_callback"  # the customer was reached after the promise broke


@dataclass(frozen=True, slots=True)
class Promise:
    """One callback promise as stored. Times are epoch seconds UTC (event time).

    ``number`` is E.164 (``+447700900123``), or None when the number could not be returned
    (``raw_number`` then holds what the PBX sent). ``misses`` counts the missed calls and
    promises merged into this one.
    """

    id: int
    key: str
    kind: PromiseKind
    pbx: str
    number: str | None
    raw_number: str | None
    source_call_id: str | None
    reason: str | None
    agent: str | None
    rule: str
    made_at: float
    due_at: float
    state: PromiseState
    closed_at: float | None = None
    kept_by_call_id: str | None = None
    kept_at: float | None = None
    late_call_id: str | None = None
    late_at: float | None = None
    misses: int = 1

    def is_overdue(self, now: float) -> bool:
        """Past due with the customer not reached: open past due, or broken and not yet called."""
        if self.state is PromiseState.OPEN:
            return self.due_at < now
        return self.state is PromiseState.BROKEN and self.late_at is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (times as ISO 8601 UTC) for the API and the CLI."""
        return {
            "id": self.id,
            "key": self.key,
            "kind": str(self.kind),
            "pbx": self.pbx,
            "number": self.number,
            "raw_number": self.raw_number,
            "source_call_id": self.source_call_id,
            "reason": self.reason,
            "agent": self.agent,
            "rule": self.rule,
            "made_at": iso(self.made_at),
            "due_at": iso(self.due_at),
            "state": str(self.state),
            "closed_at": iso(self.closed_at),
            "kept_by_call_id": self.kept_by_call_id,
            "kept_at": iso(self.kept_at),
            "late_call_id": self.late_call_id,
            "late_at": iso(self.late_at),
            "misses": self.misses,
        }


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of a promise's audit history, and what the pipeline acts on.

    ``at`` is the event time (for ``broken`` it is the due time, however late time moved on);
    ``actor`` is who or what made the change (``system``, ``call:<id>``, ``agent:<name>``,
    ``user:<name>``). ``callback_seconds`` (made -> reached) is set on ``kept`` and
    ``late_callback``, for the ``ringwatch_callback_seconds`` histogram. ``finding`` is set
    on ``broken``: the overdue promise as a Finding that can alert.
    """

    promise: Promise
    action: Action
    at: float
    actor: str
    from_state: PromiseState | None = None
    to_state: PromiseState | None = None
    detail: str = ""
    call_id: str | None = None
    callback_seconds: float | None = None
    finding: Finding | None = None

    @property
    def outcome(self) -> str | None:
        """The ``outcome`` label for ``ringwatch_callback_promises_total``, or None."""
        if self.to_state in OUTCOME_STATES and self.from_state is not self.to_state:
            return str(self.to_state)
        return None
