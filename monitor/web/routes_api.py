"""JSON API (session cookie), CSV export, health and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from monitor.metrics.exposition import render_metrics
from monitor.record import iso
from monitor.web.app import AppContext
from monitor.web.callview import rule_units
from monitor.web.errors import MAX_OFFSET
from monitor.web.permissions import Me
from monitor.web.routes_pages import QueueQuery, loaded_rules, parse_day, queue_filter
from monitor.web.security import Principal

__all__ = ["router"]

router = APIRouter()
View = Me


def _ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Text = Annotated[str | None, Query(max_length=200)]


@router.get("/api/calls")
def api_calls(
    request: Request,
    me: View,
    since: Text = None,
    until: Text = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    recs = _ctx(request).store.list_calls(
        since=parse_day(since, "since"),
        until=parse_day(until, "until"),
        limit=limit,
        offset=offset,
    )
    return {"calls": [r.to_contract() for r in recs]}


@router.get("/api/calls/{call_id}")
def api_call(request: Request, call_id: str, me: View) -> dict[str, Any]:
    stored = _ctx(request).store.call(call_id)
    if stored is None:
        raise HTTPException(404, "no such call in the store")
    return stored.record.to_contract()


class ReleaseRequest(BaseModel):
    reason: str = Field(default="", max_length=2000)


class AssignRequest(BaseModel):
    to: str = Field(min_length=1, max_length=64)


@router.post("/api/calls/{call_id}/release")
def api_release(request: Request, call_id: str, body: ReleaseRequest, me: View) -> dict[str, Any]:
    """An admin puts a claimed call back in the open queue (audited)."""
    _ctx(request).store.release(call_id, me.user.name, body.reason)
    return {"call_id": call_id, "status": "open"}


@router.post("/api/calls/{call_id}/assign")
def api_assign(request: Request, call_id: str, body: AssignRequest, me: View) -> dict[str, Any]:
    """An admin hands a claimed call to another qa/admin user (audited)."""
    _ctx(request).store.assign(call_id, me.user.name, body.to.strip())
    return {"call_id": call_id, "status": "claimed", "claimed_by": body.to.strip()}


@router.get("/api/flags")
def api_flags(
    request: Request,
    me: View,
    filters: Annotated[QueueQuery, Query()],
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    flt, sort, page_no = queue_filter(request)
    page = _ctx(request).store.flagged(flt, sort, page_no, per_page)
    marks = _ctx(request).store.queue_marks(r.call_id for r in page.items)  # issue 19
    return {
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "counts": page.counts,
        "items": [
            {
                "call_id": r.call_id,
                "status": r.status,
                "severity": r.severity,
                "rules": list(r.rules),
                "queue": r.queue,
                "agent": r.agent,
                "started_at": iso(r.started_at),
                "claimed_by": r.claimed_by,
                "claimed_at": iso(r.claimed_at),
                "outcome": r.outcome,
                "disposition": r.disposition,
                "score": r.score,
                "score_max": r.score_max,
                "reviewer": r.reviewer,
                "sample": r.call_id in marks and marks[r.call_id].sample,
                "dispute": marks[r.call_id].dispute if r.call_id in marks else None,
            }
            for r in page.items
        ],
    }


@router.get("/api/findings")
def api_findings(
    request: Request, me: View, rule: Text = None, limit: Limit = 100, offset: Offset = 0
) -> dict[str, Any]:
    rows = _ctx(request).store.findings_for(rule=rule or None, limit=limit, offset=offset)
    return {
        "findings": [
            {
                "call_id": r["call_id"],
                "rule": r["rule"],
                "severity": r["severity"],
                "value": r["value"],
                "threshold": r["threshold"],
                "at": iso(r["at"]),
                "title": r["title"],
                "flag": bool(r["flag"]),
            }
            for r in rows
        ]
    }


def _csv(request: Request, me: Principal, kind: str) -> Response:
    """Rows from ``from`` to ``to`` (query: YYYY-MM-DD or ISO 8601)."""
    ctx = _ctx(request)
    q = request.query_params
    since = parse_day(q.get("from"), "from")
    until = parse_day(q.get("to"), "to", end=True)
    ctx.store.audit(
        me.user.name, f"export_{kind}", None, {"from": q.get("from"), "to": q.get("to")}
    )
    rows = (
        ctx.store.export_calls_csv(since, until)
        if kind == "calls"
        else ctx.store.export_findings_csv(since, until, rule_units(loaded_rules(request)))
    )
    return StreamingResponse(
        rows,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="ringwatch-{kind}.csv"'},
    )


@router.get("/export/calls.csv")
def export_calls(request: Request, me: View) -> Response:
    return _csv(request, me, "calls")


@router.get("/export/findings.csv")
def export_findings(request: Request, me: View) -> Response:
    return _csv(request, me, "findings")


def _health(request: Request) -> tuple[bool, dict[str, object]]:
    ctx = _ctx(request)
    try:
        with ctx.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        ok = True
    except SQLAlchemyError:
        ok = False
    body: dict[str, object] = {
        "status": "ok" if ok else "degraded",
        "store": ctx.store.backend,
        "store_ok": ok,
    }
    service_health = getattr(request.app.state, "health", None)
    if service_health is not None:  # set by the service: health per component
        report = service_health()
        body["components"] = report["components"]
        if report["status"] != "ok":
            body["status"] = "degraded"
            ok = False
    return ok, body


@router.get("/healthz")
def healthz(request: Request) -> Response:
    """For load balancers, anyone: ``{"status": "ok"}`` or 503 ``{"status": "degraded"}``."""
    ok, _ = _health(request)
    return JSONResponse({"status": "ok" if ok else "degraded"}, status_code=200 if ok else 503)


@router.get("/healthz/details")
def healthz_details(request: Request, me: View) -> Response:
    """Logged in: the store and every component (AMI links, audio) with their details."""
    ok, body = _health(request)
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """OpenMetrics (with call-id exemplars) when Prometheus asks for it, gzip when accepted."""
    out = render_metrics(
        _ctx(request).registry,
        request.headers.get("accept"),
        request.headers.get("accept-encoding"),
    )
    return Response(out.body, headers=dict(out.headers))
