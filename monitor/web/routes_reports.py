"""Standards reports on the web: the page with charts, the calls behind a number, and the
same report as JSON (``/api/reports``), CSV and printable PDF.

Roles: every viewer (supervisor, qa, admin) may read reports; nothing here changes state.
The report's rules come from ``app.state.report_rules`` (the service sets it to its current
rule set); without it standards show their ids and no target.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from monitor.errors import InputError
from monitor.reports.calls import calls_behind
from monitor.reports.params import request_from
from monitor.reports.query import build_report
from monitor.reports.svg import bar_chart
from monitor.rules import RuleSet
from monitor.web.app import AppContext, render
from monitor.web.permissions import Me

__all__ = ["router"]

router = APIRouter()
View = Me  # roles: monitor/web/permissions.py (every viewer)

_PARAMS = (
    "from",
    "to",
    "interval",
    "breakdown",
    "queue",
    "agent",
    "pbx",
    "direction",
    "sl",
    "short",
    "sites",
)


def _ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def _timezone(request: Request) -> str:
    return str(getattr(request.app.state, "report_timezone", "UTC"))


def _rules(request: Request) -> RuleSet | None:
    provider = getattr(request.app.state, "report_rules", None)
    if provider is None:
        return None
    rules: RuleSet = provider()
    return rules


def _report(request: Request) -> dict[str, Any]:
    params = {k: request.query_params.get(k) for k in _PARAMS}
    try:
        req = request_from(params, _timezone(request))
        return build_report(_ctx(request).store.engine, req, _rules(request))
    except InputError as exc:
        raise HTTPException(400, str(exc)) from exc


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, me: View) -> Response:
    report = _report(request)
    query = request.url.query
    per: dict[str, list[float]] = {}
    for row in report["rows"]:
        pair = per.setdefault(row["interval"], [0.0, 0.0])
        pair[0] += row["figures"]["offered"]
        pair[1] += row["figures"]["answered"]
    chart = bar_chart(
        list(per),
        [("offered", [v[0] for v in per.values()]), ("answered", [v[1] for v in per.values()])],
    )
    sl_chart = bar_chart(
        [r["key"] for r in report["totals"]],
        [
            (
                "service level %",
                [100 * (r["figures"]["service_level"] or 0) for r in report["totals"]],
            )
        ],
    )
    form = {k: request.query_params.get(k) or "" for k in _PARAMS}
    form.setdefault("interval", "day")
    return render(
        request,
        "reports.html",
        {"report": report, "chart": chart, "sl_chart": sl_chart, "form": form, "query": query},
        principal=me,
    )


@router.get("/reports/calls", response_class=HTMLResponse)
def report_calls_page(request: Request, me: View) -> Response:
    try:
        rows = calls_behind(_ctx(request).store.engine, request.query_params, _timezone(request))
    except InputError as exc:
        raise HTTPException(400, str(exc)) from exc
    return render(
        request,
        "report_calls.html",
        {"rows": rows, "params": dict(request.query_params)},
        principal=me,
    )


@router.get("/api/reports")
def reports_api(request: Request, me: View) -> JSONResponse:
    return JSONResponse(_report(request))


@router.get("/api/reports/calls")
def report_calls_api(request: Request, me: View) -> JSONResponse:
    try:
        rows = calls_behind(_ctx(request).store.engine, request.query_params, _timezone(request))
    except InputError as exc:
        raise HTTPException(400, str(exc)) from exc
    return JSONResponse({"calls": rows})


@router.get("/export/report.csv")
def report_csv_download(request: Request, me: View) -> Response:
    from monitor.reports.render import report_csv

    body = "".join(report_csv(_report(request)))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="ringwatch-report.csv"'},
    )


@router.get("/export/report.pdf")
def report_pdf_download(request: Request, me: View) -> Response:
    from monitor.reports.pdf import report_pdf

    return Response(
        report_pdf(_report(request)),
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="ringwatch-report.pdf"'},
    )
