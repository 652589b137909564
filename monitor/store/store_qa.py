"""The agent's side of QA on ``Store`` (issue 19, items 7 and 9): agent logins, their reviews
and answers, the QA queue's marks and the weekly random samples. A mixin so ``store.py`` stays
small; each method is one transaction (``Store._tx``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from monitor.store import agent_reviews, sampling
from monitor.store.agent_reviews import AgentReview, QueueMark, ReviewResponse

__all__ = ["QaAgentStore"]


class QaAgentStore:
    clock: Callable[[], float]

    def _tx(self, what: str) -> AbstractContextManager[Connection]:  # pragma: no cover
        raise NotImplementedError

    def agent_for(self, user: str) -> str | None:
        """The agent name an ``agent`` login is linked to (None for other users)."""
        with self._tx(f"reading the agent of {user!r}") as conn:
            return agent_reviews.agent_for(conn, user)

    def agent_reviews(self, agent: str) -> list[AgentReview]:
        with self._tx(f"listing the reviews of agent {agent!r}") as conn:
            return agent_reviews.agent_reviews(conn, agent)

    def agent_review(self, agent: str, review_id: int) -> AgentReview:
        with self._tx(f"reading review {review_id}") as conn:
            return agent_reviews.agent_review(conn, agent, review_id)

    def respond_to_review(
        self, user: str, agent: str, review_id: int, kind: str, comment: str = ""
    ) -> ReviewResponse:
        """Acknowledge or dispute (with a comment: back to QA) a review (audited)."""
        with self._tx(f"answering review {review_id}") as conn:
            return agent_reviews.respond(conn, user, agent, review_id, kind, comment, self.clock())

    def review_responses(self, call_id: str) -> list[ReviewResponse]:
        with self._tx(f"reading the answers on call {call_id!r}") as conn:
            return agent_reviews.responses_for_call(conn, call_id)

    def queue_marks(self, call_ids: Iterable[str]) -> dict[str, QueueMark]:
        with self._tx("reading the queue's marks") as conn:
            return agent_reviews.queue_marks(conn, call_ids)

    def sample_calls(
        self, per_agent: int, timezone: str, grace: float, *, history: bool = False
    ) -> sampling.SampleResult:
        """``qa.sample_per_agent_per_week``: put random unflagged calls in the QA queue
        (monitor/store/sampling.py)."""
        with self._tx("sampling calls for QA") as conn:
            return sampling.run_sampling(
                conn, per_agent, ZoneInfo(timezone), grace, self.clock(), history=history
            )
