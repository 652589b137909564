"""The one permission table of the web tier: every route (pages and API) -> the roles allowed.

``authorize`` is the app-wide dependency (``FastAPI(dependencies=[Depends(authorize)])``): it
looks the matched route up here and refuses what the table does not allow — anonymous gets
"login required" (pages redirect to /login, the API answers 401), a role not listed gets 403.
A route missing from the table is refused for everyone (fail closed), and
``tests/monitor/web/test_web_permissions.py`` fails until it is added. docs/web.md's route
table is ``route_table_markdown()`` (checked by the same test).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from monitor.web.security import (
    LoginRequired,
    Principal,
    check_csrf,
    check_origin,
    current,
)

__all__ = [
    "ADMIN",
    "AGENT",
    "AGENTS",
    "ANONYMOUS",
    "KIOSK",
    "PERMISSIONS",
    "PROMISE_ACTORS",
    "PUBLIC",
    "REVIEWERS",
    "ROLES",
    "SIGNED_IN",
    "STAFF",
    "VIEWERS",
    "WALL",
    "Me",
    "allowed",
    "authorize",
    "home_for",
    "may",
    "route_table_markdown",
    "signed_in",
]

ROLES: tuple[str, ...] = ("supervisor", "qa", "admin", "agent")
STAFF: tuple[str, ...] = ("supervisor", "qa", "admin")
AGENT = "agent"  # an agent's login: only the reviews of their own calls (issue 19)
KIOSK = "kiosk"  # a wall screen's read-only sign-in (monitor/store/kiosks.py)
ANONYMOUS = "anonymous"
PUBLIC: frozenset[str] = frozenset({ANONYMOUS, *ROLES})
VIEWERS: frozenset[str] = frozenset(STAFF)
SIGNED_IN: frozenset[str] = frozenset(ROLES)
AGENTS: frozenset[str] = frozenset({AGENT})
REVIEWERS: frozenset[str] = frozenset({"qa", "admin"})
PROMISE_ACTORS: frozenset[str] = frozenset({"supervisor", "admin"})
ADMIN: frozenset[str] = frozenset({"admin"})
WALL: frozenset[str] = frozenset({*STAFF, KIOSK})

# (method, route path as FastAPI declares it) -> (roles, what it does: for docs/web.md)
PERMISSIONS: dict[tuple[str, str], tuple[frozenset[str], str]] = {
    ("GET", "/login"): (PUBLIC, "the login form"),
    ("POST", "/login"): (PUBLIC, "log in (argon2, rate-limited; CSRF double-submit cookie)"),
    ("POST", "/logout"): (SIGNED_IN, "end the session (CSRF)"),
    ("GET", "/"): (
        SIGNED_IN,
        "redirect to the wallboard (supervisor), the queue (qa, admin) or My reviews (agent)",
    ),
    ("GET", "/flags"): (VIEWERS, "the flagged-calls queue (filters, sort, pages)"),
    ("GET", "/calls/{call_id}"): (VIEWERS, "the call page: timeline, findings, review"),
    ("POST", "/calls/{call_id}/claim"): (REVIEWERS, "claim a flagged call (CSRF)"),
    ("POST", "/calls/{call_id}/review"): (
        REVIEWERS,
        "submit the review or calibration score, final (overrides need a reason; CSRF)",
    ),
    ("POST", "/calls/{call_id}/reopen"): (REVIEWERS, "re-open a closed review (CSRF)"),
    ("POST", "/calls/{call_id}/calibrate"): (
        REVIEWERS,
        "start a calibration score of the closed review (a second reviewer; CSRF, audited)",
    ),
    ("GET", "/calibration"): (VIEWERS, "calibration: reviews beside their calibration scores"),
    ("POST", "/calls/{call_id}/release"): (ADMIN, "release a claimed call (CSRF, audited)"),
    ("POST", "/calls/{call_id}/assign"): (ADMIN, "reassign a claimed call (CSRF, audited)"),
    ("GET", "/recordings/{path:path}"): (REVIEWERS, "audio from the recordings directory"),
    ("GET", "/promises"): (VIEWERS, "callback promises by view"),
    ("POST", "/promises/{promise_id}/cancel"): (PROMISE_ACTORS, "cancel a promise (CSRF, audited)"),
    ("GET", "/admin/audit"): (ADMIN, "users and the audit log"),
    ("GET", "/wallboard"): (WALL, "the live wallboard: tiles, queues, calls, agents"),
    ("GET", "/wallboard/stream"): (WALL, "the wallboard as Server-Sent Events"),
    ("GET", "/kiosk"): (PUBLIC, "the wall-screen sign-in form (kiosk token)"),
    ("POST", "/kiosk"): (PUBLIC, "sign a wall screen in with its kiosk token (audited)"),
    ("GET", "/export/calls.csv"): (VIEWERS, "calls as CSV (audited)"),
    ("GET", "/export/findings.csv"): (VIEWERS, "findings as CSV (audited)"),
    ("GET", "/api/calls"): (VIEWERS, "calls as JSON (`CallRecord.to_contract()`)"),
    ("GET", "/api/calls/{call_id}"): (VIEWERS, "one call as JSON"),
    ("POST", "/api/calls/{call_id}/release"): (ADMIN, "release a claimed call (CSRF, audited)"),
    ("POST", "/api/calls/{call_id}/assign"): (ADMIN, "reassign a claimed call (CSRF, audited)"),
    ("GET", "/api/calls/{call_id}/review"): (
        VIEWERS,
        "the flag (who holds the claim, since when), reviews with answers, prefill, calibration",
    ),
    ("POST", "/api/calls/{call_id}/claim"): (REVIEWERS, "claim a flagged call (CSRF, audited)"),
    ("POST", "/api/calls/{call_id}/review"): (
        REVIEWERS,
        "submit the review or calibration score: answers, override reasons (CSRF, audited)",
    ),
    ("POST", "/api/calls/{call_id}/calibrate"): (
        REVIEWERS,
        "start a calibration score (CSRF, audited)",
    ),
    ("GET", "/api/calibration"): (VIEWERS, "calibration scores and their variance as JSON"),
    ("GET", "/api/flags"): (VIEWERS, "the flagged-calls queue as JSON"),
    ("GET", "/api/findings"): (VIEWERS, "findings as JSON"),
    ("POST", "/api/promises"): (PROMISE_ACTORS, "make a callback promise (CSRF, audited)"),
    ("GET", "/api/promises"): (VIEWERS, "promises in a view"),
    ("GET", "/api/promises/counts"): (VIEWERS, "promise counts by state"),
    ("GET", "/api/promises/{promise_id}"): (VIEWERS, "one promise with its history"),
    ("POST", "/api/promises/{promise_id}/cancel"): (
        PROMISE_ACTORS,
        "cancel a promise (CSRF, audited)",
    ),
    ("GET", "/reports"): (VIEWERS, "the standards report: charts, figures, trend"),
    ("GET", "/reports/calls"): (VIEWERS, "the calls behind a report figure"),
    ("GET", "/api/reports"): (VIEWERS, "the standards report as JSON"),
    ("GET", "/api/reports/calls"): (VIEWERS, "the calls behind a report figure as JSON"),
    ("GET", "/export/report.csv"): (VIEWERS, "the standards report as CSV"),
    ("GET", "/export/report.pdf"): (VIEWERS, "the standards report as a printable PDF"),
    ("GET", "/my/reviews"): (AGENTS, "an agent's reviews of their own calls, with answers"),
    ("GET", "/my/reviews/{review_id}"): (AGENTS, "one review of the agent's own call"),
    ("POST", "/my/reviews/{review_id}/acknowledge"): (
        AGENTS,
        "acknowledge a review of one's own call (CSRF, audited)",
    ),
    ("POST", "/my/reviews/{review_id}/dispute"): (
        AGENTS,
        "dispute it with a comment: back to the QA queue (CSRF, audited)",
    ),
    ("GET", "/healthz"): (PUBLIC, 'status only: `{"status": "ok"}` (503 `degraded`)'),
    ("GET", "/healthz/details"): (VIEWERS, "store and per-component health (AMI, audio)"),
    ("GET", "/metrics"): (PUBLIC, "the Prometheus registry (no phone numbers or call ids)"),
}

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def home_for(role: str) -> str:
    """Where ``/`` and a login without ``next`` take each role."""
    return {"supervisor": "/wallboard", AGENT: "/my/reviews"}.get(role, "/flags")


def allowed(role: str, method: str, path: str) -> bool:
    """May ``role`` (or ``ANONYMOUS``) use ``method path``? False for routes not in the table."""
    entry = PERMISSIONS.get((method, path))
    return entry is not None and role in entry[0]


def may(principal: Principal | None, method: str, path: str) -> bool:
    return allowed(ANONYMOUS if principal is None else principal.user.role, method, path)


def authorize(request: Request) -> Principal | None:
    """The app-wide dependency: the signed-in principal (None on a public route), after the
    table allowed the route to their role. Any state-changing request must come from this
    site (``check_origin``). State-changing ``/api/`` requests must also carry
    the session's CSRF token in ``X-CSRF-Token`` (forms carry it in the ``csrf`` field)."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    method = "GET" if request.method == "HEAD" else request.method
    if method not in _SAFE:
        settings = request.app.state.ctx.settings
        check_origin(request, settings.allowed_origins, settings.trust_forwarded_proto)
    entry = PERMISSIONS.get((method, str(path)))
    if entry is None:
        raise HTTPException(403, "this route is not in the permission table")
    roles = entry[0]
    if ANONYMOUS in roles:
        return None
    principal = current(request)
    if principal.user.role not in roles:
        raise HTTPException(
            status_code=403,
            detail=f"your role ({principal.user.role}) cannot do this; it needs one of: "
            + ", ".join(sorted(roles)),
        )
    if method not in _SAFE and request.url.path.startswith("/api/"):
        check_csrf(principal.csrf, request.headers.get("x-csrf-token"))
    return principal


def signed_in(principal: Annotated[Principal | None, Depends(authorize)]) -> Principal:
    """For endpoints that need the user (``authorize`` runs once per request: cached)."""
    if principal is None:
        raise LoginRequired()
    return principal


Me = Annotated[Principal, Depends(signed_in)]


def _roles_text(roles: frozenset[str]) -> str:
    if ANONYMOUS in roles:
        return "anyone"
    return ", ".join(r for r in (*ROLES, KIOSK) if r in roles)


def route_table_markdown() -> str:
    """The route table of docs/web.md, generated from ``PERMISSIONS``."""
    lines = ["| Route | Roles | What |", "|---|---|---|"]
    for (method, path), (roles, what) in PERMISSIONS.items():
        shown = path.replace("{path:path}", "{path}")
        lines.append(f"| `{method} {shown}` | {_roles_text(roles)} | {what} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m monitor.web.permissions > the table for docs/web.md
    print(route_table_markdown(), end="")
