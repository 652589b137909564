"""The QA review on the web and the API (issue 19): claim, the prefilled checklist with
override reasons, submit, re-open, calibration scores and the calibration view.

Roles: monitor/web/permissions.py. The store does the checks (claims, reasons, immutability);
these handlers parse forms and JSON, compute the prefill (monitor/web/prefill.py) and hand
both over.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from monitor.record import iso
from monitor.store.answers import MAX_OVERRIDE_REASON, answer_text
from monitor.store.calibration import Comparison, compare
from monitor.store.models import Review, StoredCall
from monitor.store.schema import REVIEW_DISPOSITIONS
from monitor.web.app import AppContext, render
from monitor.web.errors import form_schema
from monitor.web.permissions import Me, may
from monitor.web.prefill import prefill, request_rules, request_site
from monitor.web.security import Principal, check_csrf

__all__ = [
    "MAX_NOTES",
    "MAX_REASON",
    "back_to_call",
    "limited",
    "read_form",
    "review_context",
    "router",
]

router = APIRouter()
Reviewer = Me  # roles: monitor/web/permissions.py
MAX_NOTES = 10_000  # characters of review notes
MAX_REASON = 2_000  # characters of a re-open reason
_VALUES: dict[str, bool | None] = {"yes": True, "no": False, "na": None}


def _ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def _stored(ctx: AppContext, call_id: str) -> StoredCall:
    stored = ctx.store.call(call_id)
    if stored is None:
        raise HTTPException(404, f"no call {call_id[:128]!r} in the store")
    return stored


def _prefill(request: Request, stored: StoredCall) -> dict[str, dict[str, Any]]:
    ctx = _ctx(request)
    return prefill(
        stored.record, ctx.settings.checklist, request_rules(request), request_site(request)
    )


def _checklist(ctx: AppContext) -> list[tuple[str, str]]:
    return [(i.key, i.label) for i in ctx.settings.checklist]


def comparisons(ctx: AppContext, stored: StoredCall) -> list[Comparison]:
    """Each closed review of the call that has closed calibration scores, beside them."""
    out = []
    for r in stored.reviews:
        if r.kind != "review" or r.state != "closed":
            continue
        cals = [
            c
            for c in stored.reviews
            if c.kind == "calibration" and c.state == "closed" and c.calibrates == r.id
        ]
        if cals:
            out.append(compare(r, cals, _checklist(ctx)))
    return out


def review_context(request: Request, stored: StoredCall, me: Principal) -> dict[str, Any]:
    """What the call page's review section (``review_section.html``) needs."""
    ctx = _ctx(request)
    draft = stored.open_review
    mine = stored.calibration_draft(me.user.name)
    form_review = draft if draft is not None and draft.reviewer == me.user.name else mine
    current = _prefill(request, stored) if stored.flag is not None else {}
    form_prefill = (form_review.answers if form_review and form_review.answers else None) or current
    closed = [r for r in stored.reviews if r.kind == "review" and r.state == "closed"]
    calibrated = {
        r.calibrates
        for r in stored.reviews
        if r.kind == "calibration" and r.reviewer == me.user.name
    }
    return {
        "form_prefill": form_prefill,
        "calibration_draft": mine,
        # blind calibration: the other scores stay hidden until this reviewer submits theirs
        "blind": mine is not None,
        "can_calibrate": (
            may(me, "POST", "/calls/{call_id}/calibrate")
            and mine is None
            and bool(closed)
            and closed[-1].reviewer != me.user.name
            and closed[-1].id not in calibrated
        ),
        "comparisons": comparisons(ctx, stored),
        "answer_text": answer_text,
        "max_override_reason": MAX_OVERRIDE_REASON,
    }


async def read_form(request: Request, me: Principal) -> dict[str, str]:
    form = await request.form()
    check_csrf(me.csrf, form.get("csrf"))
    return {k: v for k, v in form.items() if isinstance(v, str)}


def limited(form: dict[str, str], name: str, limit: int) -> str:
    """A text field, refused (400) when longer than ``limit`` — never silently cut."""
    value = str(form.get(name, ""))
    if len(value) > limit:
        raise HTTPException(
            400,
            f"{name} is {len(value):,} characters; the limit is {limit:,}. "
            "Shorten it and submit again.",
        )
    return value


def back_to_call(call_id: str) -> Response:
    return RedirectResponse(f"/calls/{quote(call_id, safe='')}", status_code=303)


def _start(request: Request, call_id: str, me: Principal, kind: str) -> Review:
    """Claim (``review``) or start a calibration score, the draft prefilled."""
    ctx = _ctx(request)
    pre = _prefill(request, _stored(ctx, call_id))
    start = ctx.store.claim if kind == "review" else ctx.store.calibrate
    return start(call_id, me.user.name, pre)


@router.post("/calls/{call_id}/claim", openapi_extra=form_schema())
async def claim(request: Request, call_id: str, me: Reviewer) -> Response:
    await read_form(request, me)
    await run_in_threadpool(_start, request, call_id, me, "review")
    return back_to_call(call_id)


def _answers_from_form(
    ctx: AppContext, form: dict[str, str], pre: dict[str, Any]
) -> tuple[dict[str, bool | None], dict[str, str]]:
    checklist: dict[str, bool | None] = {}
    reasons: dict[str, str] = {}
    for item in ctx.settings.checklist:
        raw = form.get(f"check_{item.key}")
        if raw is None:  # left out: keeps its prefill (unanswered when there is none)
            checklist[item.key] = (pre.get(item.key) or {}).get("prefill")
        elif raw in _VALUES:
            checklist[item.key] = _VALUES[raw]
        else:
            raise HTTPException(400, f"check_{item.key} must be yes, no or na")
        reason = form.get(f"reason_{item.key}", "")
        if reason.strip():
            reasons[item.key] = reason
    return checklist, reasons


@router.post(
    "/calls/{call_id}/review",
    openapi_extra=form_schema(
        disposition=32, notes=MAX_NOTES + 10, check_greeting=4, reason_no_dead_air=600
    ),
)
async def review(request: Request, call_id: str, me: Reviewer) -> Response:
    ctx = _ctx(request)
    form = await read_form(request, me)
    if form.get("disposition") not in REVIEW_DISPOSITIONS:
        raise HTTPException(
            400, "choose a disposition: " + ", ".join(REVIEW_DISPOSITIONS).replace("_", " ")
        )
    stored = await run_in_threadpool(_stored, ctx, call_id)
    pre = _draft_prefill(request, stored, me.user.name)
    checklist, reasons = _answers_from_form(ctx, form, pre)
    await run_in_threadpool(
        ctx.store.submit_review,
        call_id,
        me.user.name,
        form.get("disposition", ""),
        checklist,
        limited(form, "notes", MAX_NOTES),
        reasons,
        pre,
    )
    return back_to_call(call_id)


def _draft_prefill(request: Request, stored: StoredCall, user: str) -> dict[str, Any]:
    """The prefill the user's draft started with (else the one the measurements give now)."""
    draft = stored.open_review
    if draft is None or draft.reviewer != user:
        draft = stored.calibration_draft(user)
    if draft is not None and draft.answers:
        return draft.answers
    return _prefill(request, stored)


@router.post("/calls/{call_id}/reopen", openapi_extra=form_schema(reason=MAX_REASON + 10))
async def reopen(request: Request, call_id: str, me: Reviewer) -> Response:
    form = await read_form(request, me)
    ctx = _ctx(request)
    reason = limited(form, "reason", MAX_REASON)
    stored = await run_in_threadpool(_stored, ctx, call_id)
    await run_in_threadpool(
        ctx.store.reopen, call_id, me.user.name, reason, _prefill(request, stored)
    )
    return back_to_call(call_id)


@router.post("/calls/{call_id}/calibrate", openapi_extra=form_schema())
async def calibrate(request: Request, call_id: str, me: Reviewer) -> Response:
    """Start a calibration score of the call's closed review (a second reviewer)."""
    await read_form(request, me)
    await run_in_threadpool(_start, request, call_id, me, "calibration")
    return back_to_call(call_id)


@router.get("/calibration")
def calibration_page(request: Request, me: Me) -> Response:
    ctx = _ctx(request)
    sets = [
        compare(r, cals, _checklist(ctx)) for r, cals in ctx.store.calibrations(viewer=me.user.name)
    ]
    return render(
        request,
        "calibration.html",
        {"sets": sets, "summary": summary(sets), "checklist": ctx.settings.checklist},
        principal=me,
    )


def summary(sets: list[Comparison]) -> dict[str, Any]:
    """Across calls: how far calibration scores sit from the reviews, and which items
    reviewers disagree on most."""
    diffs = [abs(d) for c in sets for d in c.differences if d is not None]
    items: dict[str, list[int]] = {}
    for c in sets:
        for i in c.items:
            if any(v is not None for v in i.values):
                seen = items.setdefault(i.key, [0, 0])
                seen[0] += 0 if i.agree else 1
                seen[1] += 1
    return {
        "calls": len(sets),
        "mean_abs_difference": round(sum(diffs) / len(diffs), 1) if diffs else None,
        "same_disposition": sum(1 for c in sets if c.same_disposition),
        "items": {k: {"disagree": v[0], "of": v[1]} for k, v in items.items()},
    }


# ---- JSON API --------------------------------------------------------------------------


def review_json(r: Review, hidden: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": r.id,
        "kind": r.kind,
        "calibrates": r.calibrates,
        "reviewer": r.reviewer,
        "state": r.state,
        "created_at": iso(r.created_at),
        "closed_at": iso(r.closed_at),
        "reopened_from": r.reopened_from,
        "reopen_reason": r.reopen_reason,
    }
    if hidden:
        out["hidden"] = "blind calibration: shown once you submit your calibration score"
        return out
    out.update(
        disposition=r.disposition,
        score=r.score,
        score_max=r.score_max,
        checklist=r.checklist,
        answers=r.answers,
        notes=r.notes,
    )
    return out


def _flag_json(stored: StoredCall) -> dict[str, Any] | None:
    f = stored.flag
    if f is None:
        return None
    return {
        "status": f.status,
        "severity": f.severity,
        "rules": list(f.rules),
        "claimed_by": f.claimed_by,
        "claimed_at": iso(f.claimed_at),
    }


@router.get("/api/calls/{call_id}/review")
def api_review(request: Request, call_id: str, me: Me) -> dict[str, Any]:
    """The flag (who holds the claim, since when), every review and calibration score with
    its answers, the prefill the measurements give, and the calibration comparisons."""
    ctx = _ctx(request)
    stored = _stored(ctx, call_id)
    blind = stored.calibration_draft(me.user.name) is not None
    return {
        "call_id": call_id,
        "flag": _flag_json(stored),
        "prefill": _prefill(request, stored) if stored.flag is not None else {},
        "reviews": [
            review_json(r, hidden=blind and r.state == "closed" and r.reviewer != me.user.name)
            for r in stored.reviews
        ],
        "calibration": [] if blind else [c.to_json() for c in comparisons(ctx, stored)],
    }


@router.post("/api/calls/{call_id}/claim")
def api_claim(request: Request, call_id: str, me: Reviewer) -> dict[str, Any]:
    """Claim a flagged call; 409 names who holds it and since when."""
    return review_json(_start(request, call_id, me, "review"))


@router.post("/api/calls/{call_id}/calibrate")
def api_calibrate(request: Request, call_id: str, me: Reviewer) -> dict[str, Any]:
    return review_json(_start(request, call_id, me, "calibration"))


class AnswerIn(BaseModel):
    value: Literal["yes", "no", "na"]
    reason: str = Field(default="", max_length=MAX_OVERRIDE_REASON)


class ReviewIn(BaseModel):
    disposition: Literal["confirmed_breach", "not_a_breach", "coaching_needed"]
    answers: dict[str, AnswerIn] = Field(default_factory=dict, max_length=100)
    notes: str = Field(default="", max_length=MAX_NOTES)


@router.post("/api/calls/{call_id}/review")
def api_submit(request: Request, call_id: str, body: ReviewIn, me: Reviewer) -> dict[str, Any]:
    """Submit the user's review (or calibration score): ``answers`` by checklist key; an item
    left out keeps its prefill; an answer other than its prefill needs a ``reason``."""
    ctx = _ctx(request)
    keys = [i.key for i in ctx.settings.checklist]
    unknown = [k for k in body.answers if k not in keys]
    if unknown:
        raise HTTPException(
            400,
            f"no checklist item {unknown[0][:64]!r}; the items are: " + ", ".join(keys),
        )
    stored = _stored(ctx, call_id)
    pre = _draft_prefill(request, stored, me.user.name)
    form: dict[str, str] = {f"check_{k}": a.value for k, a in body.answers.items()}
    form.update({f"reason_{k}": a.reason for k, a in body.answers.items()})
    checklist, reasons = _answers_from_form(ctx, form, pre)
    done = ctx.store.submit_review(
        call_id, me.user.name, body.disposition, checklist, body.notes, reasons, pre
    )
    return review_json(done)


@router.get("/api/calibration")
def api_calibration(
    request: Request, me: Me, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> dict[str, Any]:
    ctx = _ctx(request)
    sets = [
        compare(r, cals, _checklist(ctx)) for r, cals in ctx.store.calibrations(limit, me.user.name)
    ]
    return {"summary": summary(sets), "calls": [c.to_json() for c in sets]}
