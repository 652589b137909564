"""Issue 14, point 2: one permission table for pages and API, checked route by route for
every role; docs/web.md's route table is generated from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from web_testkit import PASSWORD, csrf_of

from monitor.web.permissions import ANONYMOUS, PERMISSIONS, allowed, route_table_markdown

ROLE_USERS = {
    "supervisor": "sup1", "qa": "qa1", "admin": "admin1", "agent": "agent1", ANONYMOUS: None,
}  # fmt: skip

# a concrete path for every parametrised route
SAMPLES = {
    "/calls/{call_id}": "/calls/c1",
    "/calls/{call_id}/claim": "/calls/c1/claim",
    "/calls/{call_id}/review": "/calls/c1/review",
    "/calls/{call_id}/reopen": "/calls/c1/reopen",
    "/calls/{call_id}/release": "/calls/c1/release",
    "/calls/{call_id}/assign": "/calls/c1/assign",
    "/api/calls/{call_id}/release": "/api/calls/c1/release",
    "/api/calls/{call_id}/assign": "/api/calls/c1/assign",
    "/recordings/{path:path}": "/recordings/2026/c1.wav",
    "/promises/{promise_id}/cancel": "/promises/1/cancel",
    "/api/calls/{call_id}": "/api/calls/c1",
    "/api/promises/{promise_id}": "/api/promises/1",
    "/api/promises/{promise_id}/cancel": "/api/promises/1/cancel",
    "/my/reviews/{review_id}": "/my/reviews/1",
    "/my/reviews/{review_id}/acknowledge": "/my/reviews/1/acknowledge",
    "/my/reviews/{review_id}/dispute": "/my/reviews/1/dispute",
}
JSON_BODIES = {
    "/api/promises": {"number": "+44 7700 900123", "due_in_seconds": 3600},
    "/api/promises/{promise_id}/cancel": {"reason": "customer asked"},
    "/api/calls/{call_id}/assign": {"to": "qa2"},
    "/api/calls/{call_id}/release": {},
}
FORM_FIELDS = {
    "/calls/{call_id}/review": {"disposition": "not_a_breach"},
    "/calls/{call_id}/reopen": {"reason": "second look"},
    "/calls/{call_id}/assign": {"to": "qa2"},
    "/promises/{promise_id}/cancel": {"reason": "customer asked"},
    "/my/reviews/{review_id}/dispute": {"comment": "I followed the script"},
}


def app_routes(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(method, path) of every FastAPI route, through included routers."""
    return sorted(
        (method, str(ctx.path))
        for ctx in iter_route_contexts(app.routes)
        if isinstance(ctx.original_route, APIRoute)
        for method in ctx.methods or ()
    )


def test_every_route_has_a_table_entry(app) -> None:  # type: ignore[no-untyped-def]
    routes = app_routes(app)
    missing = [r for r in routes if r not in PERMISSIONS]
    assert not missing, f"add these routes to monitor/web/permissions.py PERMISSIONS: {missing}"
    stale = sorted(set(PERMISSIONS) - set(routes))
    assert not stale, f"the permission table names routes the app does not have: {stale}"
    assert len(routes) >= 28


def test_unknown_route_is_refused_fail_closed(app, client_for) -> None:  # type: ignore[no-untyped-def]
    from fastapi import APIRouter

    extra = APIRouter()

    @extra.get("/api/not-in-the-table")
    def _nothing() -> dict[str, str]:
        return {"secret": "yes"}

    app.include_router(extra)
    for who in ("admin1", None):
        resp = client_for(who).get("/api/not-in-the-table")
        assert resp.status_code == 403 and "secret" not in resp.text


def _request(client, role: str, method: str, route: str):  # type: ignore[no-untyped-def]
    path = SAMPLES.get(route, route)
    if method == "GET":
        return client.get(path, follow_redirects=False)
    if route == "/login":
        page = client.get("/login")
        data = {"csrf": csrf_of(page.text), "username": ROLE_USERS[role] or "qa1"}
        return client.post(path, data={**data, "password": PASSWORD}, follow_redirects=False)
    if route == "/kiosk":  # a real kiosk token: the sign-in then holds the kiosk's session
        token = client.app.state.ctx.store.add_kiosk(f"wall-{role}")
        return client.post(path, data={"token": token}, follow_redirects=False)
    home = "/my/reviews" if role == "agent" else "/flags"  # an agent may not see the queue
    token = csrf_of(client.get(home).text) if role != ANONYMOUS else "none"
    if route.startswith("/api/"):
        return client.request(
            method, path, json=JSON_BODIES.get(route, {}), headers={"x-csrf-token": token},
            follow_redirects=False,
        )  # fmt: skip
    data = {"csrf": token, **FORM_FIELDS.get(route, {})}
    return client.request(method, path, data=data, follow_redirects=False)


@pytest.mark.parametrize("role", sorted(ROLE_USERS))
def test_every_route_for_every_role(app, client_for, role: str) -> None:  # type: ignore[no-untyped-def]
    # logout, login and kiosk sign-in change the session: check them last, in this order
    last = {("POST", "/logout"): 1, ("POST", "/login"): 2, ("POST", "/kiosk"): 3}
    routes = sorted(app_routes(app), key=lambda r: (last.get(r, 0), r))
    client = client_for(ROLE_USERS[role])
    checked = 0
    for method, route in routes:
        resp = _request(client, role, method, route)
        code = resp.status_code
        where = (role, method, route, code, resp.text[:200])
        assert code < 500, where
        if allowed(role, method, route):
            assert code not in (401, 403), where
            if code == 303 and route != "/logout":
                assert not resp.headers["location"].startswith("/login"), where
        elif role == ANONYMOUS:
            assert code in (303, 401), where
            if code == 303:
                assert resp.headers["location"].startswith("/login?next="), where
            else:
                assert resp.json() == {"error": "login required"}, where
        else:
            assert code == 403 and "your role" in resp.text, where
        checked += 1
    assert checked == len(PERMISSIONS)


def test_qa_cannot_make_or_cancel_promises_by_api(client_for, store) -> None:  # type: ignore[no-untyped-def]
    sup = client_for("sup1")
    token = csrf_of(sup.get("/flags").text)
    made = sup.post("/api/promises", json=JSON_BODIES["/api/promises"],
                    headers={"x-csrf-token": token})  # fmt: skip
    assert made.status_code == 201, made.text
    pid = made.json()["promise"]["id"]

    qa = client_for("qa1")
    qa_token = csrf_of(qa.get("/flags").text)
    refused = qa.post("/api/promises", json=JSON_BODIES["/api/promises"],
                      headers={"x-csrf-token": qa_token})  # fmt: skip
    assert refused.status_code == 403 and "your role (qa)" in refused.json()["error"]
    cancel = qa.post(f"/api/promises/{pid}/cancel", json={"reason": "no"},
                     headers={"x-csrf-token": qa_token})  # fmt: skip
    assert cancel.status_code == 403
    # the web form refuses QA the same way
    form = qa.post(f"/promises/{pid}/cancel", data={"csrf": qa_token, "reason": "no"})
    assert form.status_code == 403

    no_csrf = sup.post(f"/api/promises/{pid}/cancel", json={"reason": "asked"})
    assert no_csrf.status_code == 403
    done = sup.post(f"/api/promises/{pid}/cancel", json={"reason": " asked "},
                    headers={"x-csrf-token": token})  # fmt: skip
    assert done.status_code == 200, done.text
    entries = {e.action: e for e in store.audit_entries()}
    assert entries["promise_add"].actor == "sup1"
    cancel_entry = entries["promise_cancel"]
    assert cancel_entry.actor == "sup1"
    assert cancel_entry.detail == {"promise_id": str(pid), "reason": "asked", "via": "api"}


def test_docs_route_table_matches_the_permission_table() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "web.md").read_text(encoding="utf-8")
    assert route_table_markdown() in doc, (
        "docs/web.md's route table is out of date: paste `python -m monitor.web.permissions`"
    )
