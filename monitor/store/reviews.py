"""QA review lifecycle: claim -> submit (closes, immutable) -> re-open (a new review row).

Every step is one transaction with conditional updates, so two reviewers racing for the
same call get one winner and a clear StoreError for the other. A draft starts with the
checklist prefilled from the measurements (``prefill``, monitor/store/answers.py); submitting
an answer that differs from it needs a reason. Calibration scores (a second reviewer scoring
a closed review again) are rows of kind ``calibration`` (monitor/store/calibration.py): the
claim, release and reassign steps here never touch them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from monitor.errors import NotFoundError, StoreError
from monitor.store.answers import settle
from monitor.store.models import Review
from monitor.store.schema import REVIEW_DISPOSITIONS, audit_log, calls, flags, reviews, users

__all__ = [
    "assign",
    "claim",
    "claimed_text",
    "flag_row",
    "release",
    "reopen",
    "review_from_row",
    "start_draft",
    "submit_review",
    "write_audit",
]


def write_audit(
    conn: Connection,
    now: float,
    actor: str,
    action: str,
    call_id: str | None,
    detail: Mapping[Any, Any] | None = None,
) -> None:
    conn.execute(
        audit_log.insert().values(
            at=now, actor=actor, action=action, call_id=call_id, detail=dict(detail or {})
        )
    )


def review_from_row(r: Mapping[Any, Any]) -> Review:
    return Review(
        id=r["id"],
        call_id=r["call_id"],
        reviewer=r["reviewer"],
        state=r["state"],
        disposition=r["disposition"],
        checklist=dict(r["checklist"] or {}),
        score=r["score"],
        score_max=r["score_max"],
        notes=r["notes"],
        reopened_from=r["reopened_from"],
        reopen_reason=r["reopen_reason"],
        created_at=r["created_at"],
        closed_at=r["closed_at"],
        kind=r.get("kind") or "review",
        calibrates=r.get("calibrates"),
        answers=dict(r["answers"]) if r.get("answers") else None,
    )


def claimed_text(flag: Mapping[Any, Any]) -> str:
    """``claimed by 'qa1' since 2026-09-21 10:00:00 UTC`` for messages."""
    since = flag["claimed_at"]
    when = ""
    if since is not None:
        when = " since " + datetime.fromtimestamp(since, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"claimed by {flag['claimed_by']!r}{when}"


def start_draft(
    conn: Connection,
    call_id: str,
    user: str,
    now: float,
    prefill: Mapping[str, Any] | None,
    kind: str = "review",
    **extra: Any,
) -> Review:
    """Insert an open (draft) review row of ``kind`` holding the checklist ``prefill``."""
    rid = conn.execute(
        reviews.insert().values(
            call_id=call_id,
            reviewer=user,
            state="open",
            kind=kind,
            checklist={},
            answers=dict(prefill) if prefill else None,
            notes="",
            created_at=now,
            **extra,
        )
    ).inserted_primary_key
    assert rid is not None
    row = conn.execute(select(reviews).where(reviews.c.id == rid[0])).mappings().one()
    return review_from_row(row)


def _draft(conn: Connection, call_id: str, user: str | None = None) -> Mapping[Any, Any] | None:
    """The newest open draft of the (primary) review of ``call_id``, by ``user`` if given."""
    stmt = select(reviews).where(
        reviews.c.call_id == call_id, reviews.c.state == "open", reviews.c.kind == "review"
    )
    if user is not None:
        stmt = stmt.where(reviews.c.reviewer == user)
    return conn.execute(stmt.order_by(reviews.c.id.desc())).mappings().first()


def flag_row(conn: Connection, call_id: str) -> Mapping[Any, Any]:
    row = conn.execute(select(flags).where(flags.c.call_id == call_id)).mappings().first()
    if row is None:
        known = conn.execute(select(calls.c.call_id).where(calls.c.call_id == call_id)).first()
        if known is None:
            raise NotFoundError(f"no call {call_id[:128]!r} in the store")
        raise NotFoundError(f"call {call_id!r} is not flagged for review")
    return row


def claim(
    conn: Connection,
    call_id: str,
    user: str,
    now: float,
    prefill: Mapping[str, Any] | None = None,
) -> Review:
    """Claim an open flag for ``user`` and start their (draft) review, its checklist
    prefilled with ``prefill`` (``{key: {"prefill", "evidence"}}``)."""
    flag = flag_row(conn, call_id)
    if flag["status"] == "claimed" and flag["claimed_by"] == user:
        row = _draft(conn, call_id)
        if row is not None:
            return review_from_row(row)
    res = conn.execute(
        update(flags)
        .where(flags.c.call_id == call_id, flags.c.status == "open")
        .values(status="claimed", claimed_by=user, claimed_at=now, updated_at=now)
    )
    if res.rowcount != 1:
        if flag["status"] == "closed":
            raise StoreError(f"call {call_id!r} is already reviewed; re-open it to review again")
        raise StoreError(f"call {call_id!r} is already {claimed_text(flag)}")
    draft = start_draft(conn, call_id, user, now, prefill)
    write_audit(conn, now, user, "claim", call_id)
    return draft


def submit_review(
    conn: Connection,
    call_id: str,
    user: str,
    disposition: str,
    checklist: Mapping[str, bool | None],
    notes: str,
    now: float,
    reasons: Mapping[str, str] | None = None,
    prefill: Mapping[str, Any] | None = None,
) -> Review:
    """Close ``user``'s open review of ``call_id`` (or their calibration score of it); it can
    never be edited afterwards. An item answered otherwise than its prefill needs a reason in
    ``reasons`` (``InputError`` names each one missing); an item left out of ``checklist``
    keeps its prefill. ``prefill`` stands in for a draft started without one."""
    if disposition not in REVIEW_DISPOSITIONS:
        raise StoreError(
            f"disposition {disposition!r} is not one of {', '.join(REVIEW_DISPOSITIONS)}"
        )
    flag = flag_row(conn, call_id)
    draft = None
    if flag["status"] == "claimed" and flag["claimed_by"] == user:
        draft = _draft(conn, call_id, user)
        if draft is None:
            raise StoreError(f"no open review of call {call_id!r} by {user!r}; claim it first")
    else:
        draft = (
            conn.execute(
                select(reviews)
                .where(
                    reviews.c.call_id == call_id,
                    reviews.c.state == "open",
                    reviews.c.kind == "calibration",
                    reviews.c.reviewer == user,
                )
                .order_by(reviews.c.id.desc())
            )
            .mappings()
            .first()
        )
        if draft is None:
            if flag["status"] == "closed":
                raise StoreError(
                    f"the review of call {call_id!r} is closed and cannot be edited; re-open "
                    "it, or start a calibration score to score it again beside it"
                )
            if flag["status"] == "claimed":
                raise StoreError(
                    f"call {call_id!r} is {claimed_text(flag)}; only they can submit its review"
                )
            raise StoreError(f"claim call {call_id!r} before submitting a review")
    answers = settle(draft["answers"] or prefill, checklist, reasons or {})
    final = {k: a["value"] for k, a in answers.items()}
    answered = {k: v for k, v in final.items() if v is not None}
    score = sum(1 for v in answered.values() if v)
    res = conn.execute(
        update(reviews)
        .where(reviews.c.id == draft["id"], reviews.c.state == "open")
        .values(
            state="closed",
            disposition=disposition,
            checklist=final,
            answers=answers,
            score=score,
            score_max=len(answered),
            notes=notes,
            closed_at=now,
        )
    )
    if res.rowcount != 1:
        raise StoreError(f"the review of call {call_id!r} was closed meanwhile")
    calibration = draft["kind"] == "calibration"
    if not calibration:
        conn.execute(
            update(flags).where(flags.c.call_id == call_id).values(status="closed", updated_at=now)
        )
    detail: dict[str, Any] = {
        "review_id": draft["id"],
        "disposition": disposition,
        "score": score,
        "score_max": len(answered),
    }
    changed = {k: a["reason"] for k, a in answers.items() if a["reason"]}
    if changed:
        detail["overrides"] = changed
    if calibration:
        detail["calibrates"] = draft["calibrates"]
    write_audit(conn, now, user, "calibration" if calibration else "review", call_id, detail)
    row = conn.execute(select(reviews).where(reviews.c.id == draft["id"])).mappings().one()
    return review_from_row(row)


def reopen(
    conn: Connection,
    call_id: str,
    user: str,
    reason: str,
    now: float,
    prefill: Mapping[str, Any] | None = None,
) -> Review:
    """Re-open a closed review: the closed one stays as it was; a new draft row starts
    (prefilled with ``prefill``)."""
    if not reason.strip():
        raise StoreError("give a reason to re-open a review")
    flag_row(conn, call_id)
    last = conn.execute(
        select(reviews.c.id)
        .where(
            reviews.c.call_id == call_id, reviews.c.state == "closed", reviews.c.kind == "review"
        )
        .order_by(reviews.c.id.desc())
    ).first()
    res = conn.execute(
        update(flags)
        .where(flags.c.call_id == call_id, flags.c.status == "closed")
        .values(status="claimed", claimed_by=user, claimed_at=now, updated_at=now)
    )
    if res.rowcount != 1 or last is None:
        raise StoreError(f"call {call_id!r} has no closed review to re-open")
    draft = start_draft(
        conn, call_id, user, now, prefill, reopened_from=last.id, reopen_reason=reason.strip()
    )
    detail = {"review_id": draft.id, "reopened_from": last.id, "reason": reason.strip()}
    write_audit(conn, now, user, "reopen", call_id, detail)
    return draft


def _claimed(conn: Connection, call_id: str) -> Mapping[Any, Any]:
    flag = flag_row(conn, call_id)
    if flag["status"] != "claimed":
        raise StoreError(f"call {call_id!r} is {flag['status']}, not claimed: nothing to hand over")
    return flag


def release(conn: Connection, call_id: str, admin: str, reason: str, now: float) -> None:
    """An admin takes a claimed call back to the open queue; the claimer's empty draft goes
    (a draft holds nothing until it is submitted)."""
    flag = _claimed(conn, call_id)
    res = conn.execute(
        update(flags)
        .where(flags.c.call_id == call_id, flags.c.status == "claimed")
        .values(status="open", claimed_by=None, claimed_at=None, updated_at=now)
    )
    if res.rowcount != 1:
        raise StoreError(f"call {call_id!r} changed meanwhile; reload and try again")
    conn.execute(
        delete(reviews).where(
            reviews.c.call_id == call_id, reviews.c.state == "open", reviews.c.kind == "review"
        )
    )
    write_audit(
        conn, now, admin, "release", call_id, {"from": flag["claimed_by"], "reason": reason.strip()}
    )


def assign(conn: Connection, call_id: str, admin: str, to: str, now: float) -> None:
    """An admin hands a claimed call (and its draft review) to another reviewer."""
    flag = _claimed(conn, call_id)
    row = conn.execute(select(users.c.role, users.c.disabled).where(users.c.name == to)).first()
    if row is None or row.disabled or row.role not in ("qa", "admin"):
        raise StoreError(f"{to!r} is not an enabled qa or admin user; choose a reviewer")
    if flag["claimed_by"] == to:
        return
    res = conn.execute(
        update(flags)
        .where(flags.c.call_id == call_id, flags.c.status == "claimed")
        .values(claimed_by=to, claimed_at=now, updated_at=now)
    )
    if res.rowcount != 1:
        raise StoreError(f"call {call_id!r} changed meanwhile; reload and try again")
    conn.execute(
        update(reviews)
        .where(reviews.c.call_id == call_id, reviews.c.state == "open", reviews.c.kind == "review")
        .values(reviewer=to)
    )
    write_audit(conn, now, admin, "reassign", call_id, {"from": flag["claimed_by"], "to": to})
