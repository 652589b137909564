"""HTML pages: the flagged-calls queue, the call page and its review, promises, audit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from monitor.rules.model import RuleSet
from monitor.store import FlagFilter
from monitor.store.models import SORTS
from monitor.store.promises_read import PROMISE_VIEWS
from monitor.store.schema import FLAG_STATUSES, REVIEW_DISPOSITIONS, SEVERITY_RANK
from monitor.web.app import AppContext, render
from monitor.web.callview import (
    finding_views,
    record_rows,
    recording_start_note,
    rule_units,
)
from monitor.web.errors import MAX_PAGE, form_schema, int_param
from monitor.web.permissions import Me, may
from monitor.web.recordings import MEDIA_TYPES, recording_path, resolve_recording
from monitor.web.routes_review import MAX_NOTES, MAX_REASON, review_context
from monitor.web.routes_review import back_to_call as _back
from monitor.web.routes_review import limited as _limited
from monitor.web.routes_review import read_form as _form
from monitor.web.timeline import timeline_svg

__all__ = [
    "MAX_NOTES",
    "MAX_REASON",
    "QueueQuery",
    "loaded_rules",
    "parse_day",
    "queue_filter",
    "router",
]

router = APIRouter()
View = Me

Reviewer = Me


def _ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


class QueueQuery(BaseModel):
    """The queue's query parameters (declared for validation and the API schema)."""

    model_config = ConfigDict(populate_by_name=True)

    status: Literal["open", "claimed", "closed", ""] | None = None
    severity: Literal["info", "warning", "critical", ""] | None = None
    sort: str | None = Field(default=None, max_length=20)
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    rule: str | None = Field(default=None, max_length=128)
    queue: str | None = Field(default=None, max_length=128)
    agent: str | None = Field(default=None, max_length=128)
    from_: str | None = Field(default=None, alias="from", max_length=40)
    to: str | None = Field(default=None, max_length=40)


def parse_day(text: str | None, field: str, end: bool = False) -> float | None:
    """``YYYY-MM-DD`` or an ISO 8601 time (UTC when no offset) -> epoch seconds."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        ts = dt.timestamp()
    except (ValueError, OverflowError) as exc:
        raise HTTPException(400, f"{field} is not a date; use YYYY-MM-DD") from exc
    return ts + 86400.0 if end and len(text) == 10 else ts


def queue_filter(request: Request) -> tuple[FlagFilter, str, int]:
    q = request.query_params
    status = q.get("status") or None
    severity = q.get("severity") or None
    if status is not None and status not in FLAG_STATUSES:
        raise HTTPException(400, f"status is not one of {', '.join(FLAG_STATUSES)}")
    if severity is not None and severity not in SEVERITY_RANK:
        raise HTTPException(400, f"severity is not one of {', '.join(SEVERITY_RANK)}")
    sort = q.get("sort") or "-started_at"
    if sort.lstrip("-") not in SORTS:
        raise HTTPException(400, f"sort is not one of {', '.join(SORTS)} (- for descending)")
    page = int_param(request, "page", 1, 1, MAX_PAGE)
    flt = FlagFilter(
        rule=q.get("rule") or None,
        severity=severity,
        queue=q.get("queue") or None,
        agent=q.get("agent") or None,
        since=parse_day(q.get("from"), "from"),
        until=parse_day(q.get("to"), "to", end=True),
        status=status,
    )
    return flt, sort, page


@router.get("/flags")
def flags_page(request: Request, me: View, filters: Annotated[QueueQuery, Query()]) -> Response:
    ctx = _ctx(request)
    flt, sort, page_no = queue_filter(request)
    page = ctx.store.flagged(flt, sort, page_no, ctx.settings.page_size)
    keep = {k: v for k, v in request.query_params.items() if v and k != "page"}

    def link(n: int) -> str:
        return "/flags?" + urlencode({**keep, "page": n})

    return render(
        request,
        "flags.html",
        {
            "page": page,
            "q": request.query_params,
            "link": link,
            "statuses": FLAG_STATUSES,
            "severities": tuple(SEVERITY_RANK),
            "sorts": SORTS,
            "sort": sort,
            "marks": ctx.store.queue_marks(r.call_id for r in page.items),  # sample, dispute
        },
        principal=me,
    )


@router.get("/calls/{call_id}")
def call_page(request: Request, call_id: str, me: View) -> Response:
    ctx = _ctx(request)
    stored = ctx.store.call(call_id)
    if stored is None:
        raise HTTPException(404, "no such call in the store")
    rec = stored.record
    rec_path = recording_path(rec.recording, ctx.settings.pbx_recordings_dir)
    # a player only for a file that is there: a missing file is said, not offered
    rec_file = resolve_recording(ctx.settings.recordings_dir, rec_path) if rec_path else None
    can_listen = may(me, "GET", "/recordings/{path:path}") and rec_file is not None
    can_manage = may(me, "POST", "/calls/{call_id}/assign")
    zone = ZoneInfo(ctx.settings.timezone)
    mode = ctx.settings.recording_start
    return render(
        request,
        "call.html",
        {
            "c": stored,
            "rec": rec,
            "svg": Markup(timeline_svg(rec, mode)),
            "rec_path": rec_path,
            "rec_found": rec_file is not None,
            "findings": finding_views(rec, rule_units(loaded_rules(request)), mode),
            "rows": record_rows(rec, zone),
            "recording_start_text": recording_start_note(rec, zone, mode),
            "can_review": may(me, "POST", "/calls/{call_id}/claim"),
            "can_manage": can_manage,
            "reviewers": _reviewers(ctx) if can_manage else [],
            "max_notes": MAX_NOTES,
            "max_reason": MAX_REASON,
            "can_listen": can_listen,
            "checklist": ctx.settings.checklist,
            "dispositions": REVIEW_DISPOSITIONS,
            "audio": rec.audio,
            "qa_mark": ctx.store.queue_marks([call_id]).get(call_id),  # issue 19
            "agent_answers": ctx.store.review_responses(call_id),
            **review_context(request, stored, me),
        },
        principal=me,
    )


def _reviewers(ctx: AppContext) -> list[str]:
    return [u.name for u in ctx.store.users() if u.role in ("qa", "admin") and not u.disabled]


def loaded_rules(request: Request) -> RuleSet | None:
    """The service's loaded rules (``app.state.report_rules``), for the findings' units."""
    current = getattr(request.app.state, "report_rules", None)
    rules = current() if callable(current) else None
    return rules if isinstance(rules, RuleSet) else None


@router.post("/calls/{call_id}/release", openapi_extra=form_schema(reason=MAX_REASON + 10))
async def release(request: Request, call_id: str, me: Me) -> Response:
    """An admin puts a claimed call back in the open queue (audited)."""
    form = await _form(request, me)
    reason = _limited(form, "reason", MAX_REASON)
    await run_in_threadpool(_ctx(request).store.release, call_id, me.user.name, reason)
    return _back(call_id)


@router.post("/calls/{call_id}/assign", openapi_extra=form_schema(to=80))
async def assign(request: Request, call_id: str, me: Me) -> Response:
    """An admin hands a claimed call to another reviewer (audited)."""
    form = await _form(request, me)
    to = _limited(form, "to", 64).strip()
    if not to:
        raise HTTPException(400, "choose the reviewer to hand the call to")
    await run_in_threadpool(_ctx(request).store.assign, call_id, me.user.name, to)
    return _back(call_id)


@router.get("/recordings/{path:path}")
def recording(request: Request, path: str, me: Reviewer) -> Response:
    ctx = _ctx(request)
    full = resolve_recording(ctx.settings.recordings_dir, path)
    if full is None:
        raise HTTPException(404, "no such recording")
    return FileResponse(
        full,
        media_type=MEDIA_TYPES[full.suffix.lower()],
        headers={"cache-control": "private, no-store"},
    )


@router.get("/promises")
def promises_page(request: Request, me: View) -> Response:
    view = request.query_params.get("view") or "open"
    if view not in PROMISE_VIEWS:
        raise HTTPException(400, f"view={view!r} is not one of {', '.join(PROMISE_VIEWS)}")
    ctx = _ctx(request)
    from monitor.store.promises_read import ledger_available

    return render(
        request,
        "promises.html",
        {
            "rows": ctx.store.promises(view),
            "view": view,
            "views": PROMISE_VIEWS,
            "enabled": ledger_available(),
            "can_cancel": may(me, "POST", "/promises/{promise_id}/cancel"),
        },
        principal=me,
    )


@router.post("/promises/{promise_id}/cancel", openapi_extra=form_schema(reason=MAX_REASON + 10))
async def cancel_promise(
    request: Request,
    promise_id: str,
    me: Me,
) -> Response:
    form = await _form(request, me)
    await run_in_threadpool(
        _ctx(request).store.cancel_promise,
        promise_id,
        me.user.name,
        _limited(form, "reason", MAX_REASON),
    )
    return RedirectResponse("/promises", status_code=303)


@router.get("/admin/audit")
def audit_page(request: Request, me: Me) -> Response:
    ctx = _ctx(request)
    return render(
        request,
        "audit.html",
        {
            "entries": ctx.store.audit_entries(limit=500),
            "users": ctx.store.users(),
        },
        principal=me,
    )
