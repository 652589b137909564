"""The agent's side of a review (issue 19, item 9): an agent login sees the closed reviews of
their own calls, and acknowledges or disputes each one; a dispute (with its comment) puts the
call back in the QA queue, and the next closed review of that call is its outcome.

An agent login is linked to the agent name the tracker records on calls (``calls.agent``).
A review of someone else's call is "not found" for them, never "forbidden" (no hint that
it exists). Every answer is audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, select, update

from monitor.errors import NotFoundError, StoreError
from monitor.record import CallRecord
from monitor.store.models import Review
from monitor.store.qa_tables import RESPONSE_KINDS, agent_logins, qa_samples, review_responses
from monitor.store.records import record_from_rows
from monitor.store.reviews import review_from_row, write_audit
from monitor.store.schema import calls, findings, flags, reviews

__all__ = [
    "MAX_AGENT_NAME",
    "AgentReview",
    "QueueMark",
    "ReviewResponse",
    "agent_for",
    "agent_review",
    "agent_reviews",
    "link_agent",
    "queue_marks",
    "respond",
    "responses_for_call",
]

MAX_AGENT_NAME = 128
_LIST_LIMIT = 500


@dataclass(frozen=True, slots=True)
class ReviewResponse:
    review_id: int
    call_id: str
    user_name: str
    agent: str
    kind: str  # acknowledged | disputed
    comment: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentReview:
    """A closed review of the agent's call, with the agent's answer and, after a dispute,
    the review that settled it (``outcome``: the next closed review of the call)."""

    review: Review
    call: CallRecord
    response: ReviewResponse | None
    outcome: Review | None
    latest: bool  # no newer closed review of this call: the agent may answer it

    @property
    def state(self) -> str:
        """awaiting answer | acknowledged | disputed: with QA | disputed: re-reviewed."""
        if self.response is None:
            return "awaiting answer" if self.latest else "superseded"
        if self.response.kind == "acknowledged":
            return "acknowledged"
        return "disputed: re-reviewed" if self.outcome is not None else "disputed: with QA"


@dataclass(frozen=True, slots=True)
class QueueMark:
    """What the QA queue shows beside a flag: a random sample, an open dispute."""

    sample: bool
    dispute: str | None  # the agent's comment while the dispute waits for a new review
    disputed_by: str | None


def _response(r: Mapping[Any, Any]) -> ReviewResponse:
    return ReviewResponse(
        review_id=r["review_id"],
        call_id=r["call_id"],
        user_name=r["user_name"],
        agent=r["agent"],
        kind=r["kind"],
        comment=r["comment"],
        at=r["at"],
    )


def link_agent(conn: Connection, user: str, role: str, agent: str | None, now: float) -> None:
    """Link a new ``agent`` login to the agent name on calls; other roles take no name."""
    name = (agent or "").strip()
    if role != "agent":
        if name:
            raise StoreError(f"--agent is only for role agent; {user!r} is {role}")
        return
    if not name:
        raise StoreError(
            f"user {user!r} has role agent: give the agent's name as calls record it "
            "(the queue member's name, or the name in the agents: configuration), "
            "e.g. --agent 'Carol Clark'"
        )
    if len(name) > MAX_AGENT_NAME:
        raise StoreError(f"agent name is {len(name)} characters; at most {MAX_AGENT_NAME}")
    # a deleted user's link (users keep no foreign key) goes with the new account
    conn.execute(delete(agent_logins).where(agent_logins.c.user_name == user))
    conn.execute(agent_logins.insert().values(user_name=user, agent=name, created_at=now))


def agent_for(conn: Connection, user: str) -> str | None:
    """The agent name a login is linked to (None for a user that is not an agent)."""
    row = conn.execute(select(agent_logins.c.agent).where(agent_logins.c.user_name == user)).first()
    return None if row is None else str(row[0])


def _latest_closed(conn: Connection, call_ids: Iterable[str]) -> dict[str, int]:
    ids = list(call_ids)
    out: dict[str, int] = {}
    if not ids:
        return out
    for cid, rid in conn.execute(
        select(reviews.c.call_id, reviews.c.id).where(
            reviews.c.call_id.in_(ids), reviews.c.state == "closed", reviews.c.kind == "review"
        )
    ):
        out[cid] = max(out.get(cid, 0), int(rid))
    return out


def _outcomes(conn: Connection, disputed: Mapping[int, str]) -> dict[int, Review]:
    """For each disputed review id: the next closed review of its call, if any."""
    if not disputed:
        return {}
    rows = conn.execute(
        select(reviews)
        .where(
            reviews.c.call_id.in_(set(disputed.values())),
            reviews.c.state == "closed",
            reviews.c.kind == "review",
        )
        .order_by(reviews.c.id)
    ).mappings()
    by_call: dict[str, list[Mapping[Any, Any]]] = {}
    for r in rows:
        by_call.setdefault(r["call_id"], []).append(r)
    out: dict[int, Review] = {}
    for rid, cid in disputed.items():
        later = next((r for r in by_call.get(cid, ()) if r["id"] > rid), None)
        if later is not None:
            out[rid] = review_from_row(later)
    return out


def agent_reviews(conn: Connection, agent: str) -> list[AgentReview]:
    """The closed reviews of ``agent``'s calls, newest first (at most 500)."""
    rows = (
        conn.execute(
            select(reviews)
            .join(calls, calls.c.call_id == reviews.c.call_id)
            .where(calls.c.agent == agent, reviews.c.state == "closed", reviews.c.kind == "review")
            .order_by(reviews.c.closed_at.desc(), reviews.c.id.desc())
            .limit(_LIST_LIMIT)
        )
        .mappings()
        .all()
    )
    return _views(conn, rows)


def _views(conn: Connection, rows: Sequence[Mapping[Any, Any]]) -> list[AgentReview]:
    if not rows:
        return []
    call_ids = {r["call_id"] for r in rows}
    crow = {
        r["call_id"]: r
        for r in conn.execute(select(calls).where(calls.c.call_id.in_(call_ids))).mappings()
    }
    frows: dict[str, list[Mapping[Any, Any]]] = {}
    for f in conn.execute(select(findings).where(findings.c.call_id.in_(call_ids))).mappings():
        frows.setdefault(f["call_id"], []).append(f)
    answers = {
        r["review_id"]: _response(r)
        for r in conn.execute(
            select(review_responses).where(
                review_responses.c.review_id.in_([r["id"] for r in rows])
            )
        ).mappings()
    }
    disputed = {rid: a.call_id for rid, a in answers.items() if a.kind == "disputed"}
    outcomes = _outcomes(conn, disputed)
    latest = _latest_closed(conn, call_ids)
    return [
        AgentReview(
            review=review_from_row(r),
            call=record_from_rows(crow[r["call_id"]], frows.get(r["call_id"], [])),
            response=answers.get(r["id"]),
            outcome=outcomes.get(r["id"]),
            latest=latest.get(r["call_id"]) == r["id"],
        )
        for r in rows
    ]


def agent_review(conn: Connection, agent: str, review_id: int) -> AgentReview:
    """One closed review of ``agent``'s call; NotFoundError for any other (never a hint)."""
    row = (
        conn.execute(
            select(reviews)
            .join(calls, calls.c.call_id == reviews.c.call_id)
            .where(
                reviews.c.id == review_id,
                reviews.c.state == "closed",
                reviews.c.kind == "review",
                calls.c.agent == agent,
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(f"no review {review_id} of your calls")
    return _views(conn, [row])[0]


def respond(
    conn: Connection,
    user: str,
    agent: str,
    review_id: int,
    kind: str,
    comment: str,
    now: float,
) -> ReviewResponse:
    """Acknowledge or dispute a closed review of the agent's own call (audited). A dispute
    needs a comment and puts the call back in the QA queue (its flag opens again)."""
    if kind not in RESPONSE_KINDS:
        raise StoreError(f"answer {kind!r} is not one of {', '.join(RESPONSE_KINDS)}")
    text = comment.strip()
    if kind == "disputed" and not text:
        raise StoreError("say why you dispute this review: the comment goes to QA")
    view = agent_review(conn, agent, review_id)
    if view.response is not None:
        raise StoreError(
            f"you already answered this review ({view.response.kind}); "
            "a new review of the call can be answered again"
        )
    if not view.latest:
        raise StoreError("a newer review of this call replaced this one; answer that one")
    call_id = view.review.call_id
    response = ReviewResponse(
        review_id=review_id,
        call_id=call_id,
        user_name=user,
        agent=agent,
        kind=kind,
        comment=text,
        at=now,
    )
    conn.execute(review_responses.insert().values(**asdict(response)))
    reopened = False
    if kind == "disputed":
        res = conn.execute(
            update(flags)
            .where(flags.c.call_id == call_id, flags.c.status == "closed")
            .values(status="open", claimed_by=None, claimed_at=None, updated_at=now)
        )
        reopened = res.rowcount == 1
    action = "review_acknowledge" if kind == "acknowledged" else "review_dispute"
    detail: dict[str, Any] = {"review_id": review_id, "agent": agent}
    if kind == "disputed":
        detail.update(comment=text, reopened=reopened)
    write_audit(conn, now, user, action, call_id, detail)
    return response


def responses_for_call(conn: Connection, call_id: str) -> list[ReviewResponse]:
    """Every agent answer on a call's reviews, oldest first (for the QA call page)."""
    return [
        _response(r)
        for r in conn.execute(
            select(review_responses)
            .where(review_responses.c.call_id == call_id)
            .order_by(review_responses.c.id)
        ).mappings()
    ]


def queue_marks(conn: Connection, call_ids: Iterable[str]) -> dict[str, QueueMark]:
    """Marks for the QA queue rows: sampled calls, and disputes not yet re-reviewed."""
    ids = list(dict.fromkeys(call_ids))
    if not ids:
        return {}
    sampled = {
        r[0]
        for r in conn.execute(select(qa_samples.c.call_id).where(qa_samples.c.call_id.in_(ids)))
    }
    later = reviews.alias("later")
    pending = conn.execute(
        select(review_responses.c.call_id, review_responses.c.comment, review_responses.c.agent)
        .where(review_responses.c.call_id.in_(ids), review_responses.c.kind == "disputed")
        .where(
            ~select(later.c.id)
            .where(
                and_(
                    later.c.call_id == review_responses.c.call_id,
                    later.c.state == "closed",
                    later.c.id > review_responses.c.review_id,
                )
            )
            .exists()
        )
        .order_by(review_responses.c.id)
    ).all()
    disputes = {cid: (comment, who) for cid, comment, who in pending}
    return {
        cid: QueueMark(
            sample=cid in sampled,
            dispute=disputes[cid][0] if cid in disputes else None,
            disputed_by=disputes[cid][1] if cid in disputes else None,
        )
        for cid in ids
        if cid in sampled or cid in disputes
    }
