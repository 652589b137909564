"""Calibration (issue 19): a second reviewer scores a call whose review is closed, beside it.

The model: a calibration is a review row of kind ``calibration`` that ``calibrates`` one
closed review (the newest closed review of the call when it starts). It has its own
checklist, prefill, disposition, score and notes, is submitted through the same step as a
review (``reviews.submit_review``) and is as immutable; it never changes the flag or the
review it calibrates. One calibration per reviewer per review; the review's own author
cannot calibrate it. ``compare`` sets the scores side by side item by item: the score
difference (percentage points of the items each answered), the items that disagree, and the
variance of the scores (population variance, in percentage points squared).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from monitor.errors import StoreError
from monitor.store.models import Review
from monitor.store.reviews import flag_row, review_from_row, start_draft, write_audit
from monitor.store.schema import reviews

__all__ = [
    "Comparison",
    "ItemRow",
    "calibration_sets",
    "compare",
    "start_calibration",
]


def start_calibration(
    conn: Connection,
    call_id: str,
    user: str,
    now: float,
    prefill: Mapping[str, Any] | None = None,
) -> Review:
    """Start ``user``'s calibration score of the call's newest closed review (or return the
    one they already started)."""
    flag_row(conn, call_id)
    target = (
        conn.execute(
            select(reviews.c.id, reviews.c.reviewer)
            .where(
                reviews.c.call_id == call_id,
                reviews.c.state == "closed",
                reviews.c.kind == "review",
            )
            .order_by(reviews.c.id.desc())
        )
        .mappings()
        .first()
    )
    if target is None:
        raise StoreError(
            f"call {call_id!r} has no closed review yet: calibration scores a closed review "
            "again; review it first"
        )
    if target["reviewer"] == user:
        raise StoreError(
            f"you wrote review #{target['id']} of call {call_id!r}; calibration needs a second "
            "reviewer"
        )
    mine = (
        conn.execute(
            select(reviews).where(
                reviews.c.calibrates == target["id"],
                reviews.c.kind == "calibration",
                reviews.c.reviewer == user,
            )
        )
        .mappings()
        .first()
    )
    if mine is not None:
        if mine["state"] == "open":
            return review_from_row(mine)
        raise StoreError(
            f"you already scored review #{target['id']} of call {call_id!r} "
            f"(calibration #{mine['id']}); a calibration is final"
        )
    draft = start_draft(conn, call_id, user, now, prefill, "calibration", calibrates=target["id"])
    detail = {"review_id": draft.id, "calibrates": target["id"]}
    write_audit(conn, now, user, "calibration_start", call_id, detail)
    return draft


def calibration_sets(
    conn: Connection, limit: int = 200, viewer: str | None = None
) -> list[tuple[Review, tuple[Review, ...]]]:
    """Closed reviews with at least one closed calibration, newest calibration first, each
    with its closed calibrations (oldest first). Reviews ``viewer`` is still scoring blind
    (an open calibration of theirs) are left out."""
    blind: set[int] = set()
    if viewer is not None:
        blind = set(
            conn.execute(
                select(reviews.c.calibrates).where(
                    reviews.c.kind == "calibration",
                    reviews.c.state == "open",
                    reviews.c.reviewer == viewer,
                )
            ).scalars()
        )
    cal = (
        conn.execute(
            select(reviews)
            .where(reviews.c.kind == "calibration", reviews.c.state == "closed")
            .order_by(reviews.c.closed_at.desc(), reviews.c.id.desc())
        )
        .mappings()
        .all()
    )
    order: list[int] = []
    by_target: dict[int, list[Review]] = {}
    for row in cal:
        target = row["calibrates"]
        if target in blind:
            continue
        if target not in by_target:
            if len(order) >= limit:
                continue
            order.append(target)
            by_target[target] = []
        by_target[target].append(review_from_row(row))
    if not order:
        return []
    prim = {
        r["id"]: review_from_row(r)
        for r in conn.execute(select(reviews).where(reviews.c.id.in_(order))).mappings()
    }
    return [(prim[t], tuple(sorted(by_target[t], key=lambda r: r.id))) for t in order if t in prim]


@dataclass(frozen=True, slots=True)
class ItemRow:
    """One checklist item across the scores: each reviewer's answer and whether they agree."""

    key: str
    label: str
    values: tuple[bool | None, ...]
    prefill: bool | None

    @property
    def agree(self) -> bool:
        return len(set(self.values)) <= 1


@dataclass(frozen=True, slots=True)
class Comparison:
    """A closed review beside its calibration scores."""

    review: Review
    calibrations: tuple[Review, ...]
    items: tuple[ItemRow, ...]

    @property
    def scores(self) -> tuple[Review, ...]:
        return (self.review, *self.calibrations)

    @property
    def differences(self) -> tuple[float | None, ...]:
        """Each calibration's score minus the review's, in percentage points."""
        base = self.review.percent
        return tuple(
            None if base is None or c.percent is None else round(c.percent - base, 1)
            for c in self.calibrations
        )

    @property
    def variance(self) -> float | None:
        """Population variance of the scores (percentage points squared)."""
        pcts = [r.percent for r in self.scores if r.percent is not None]
        if len(pcts) < 2:
            return None
        mean = sum(pcts) / len(pcts)
        return round(sum((p - mean) ** 2 for p in pcts) / len(pcts), 1)

    @property
    def disagreements(self) -> tuple[ItemRow, ...]:
        return tuple(i for i in self.items if not i.agree)

    @property
    def same_disposition(self) -> bool:
        return len({r.disposition for r in self.scores}) <= 1

    def to_json(self) -> dict[str, Any]:
        return {
            "call_id": self.review.call_id,
            "review_id": self.review.id,
            "scores": [
                {
                    "review_id": r.id,
                    "kind": r.kind,
                    "reviewer": r.reviewer,
                    "disposition": r.disposition,
                    "score": r.score,
                    "score_max": r.score_max,
                    "percent": None if r.percent is None else round(r.percent, 1),
                }
                for r in self.scores
            ],
            "differences": list(self.differences),
            "variance": self.variance,
            "same_disposition": self.same_disposition,
            "disagreements": [i.key for i in self.disagreements],
            "items": [
                {"key": i.key, "prefill": i.prefill, "values": list(i.values), "agree": i.agree}
                for i in self.items
            ],
        }


def compare(
    review: Review, calibrations: Sequence[Review], checklist: Sequence[tuple[str, str]]
) -> Comparison:
    """Set ``review`` and its closed ``calibrations`` side by side over ``checklist``
    (``(key, label)`` pairs; keys answered but no longer on the checklist come last)."""
    scores = (review, *calibrations)
    keys = [k for k, _ in checklist]
    labels = dict(checklist)
    for r in scores:
        keys += [k for k in r.checklist if k not in keys]
    items = []
    for key in keys:
        pre = (review.answers or {}).get(key, {}).get("prefill")
        items.append(
            ItemRow(
                key=key,
                label=labels.get(key, key),
                values=tuple(r.checklist.get(key) for r in scores),
                prefill=pre,
            )
        )
    return Comparison(review, tuple(calibrations), tuple(items))
