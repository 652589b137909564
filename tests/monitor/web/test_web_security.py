"""Web security: hostile caller-ID names, auth on every route, roles, CSRF, path traversal,
security headers."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.routing import APIRoute
from web_testkit import HOSTILE, csrf_of

# Every route with a sample path; the ones anyone may fetch are listed apart.
PUBLIC = {"/login", "/healthz", "/metrics"}
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
}


def _routes(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from monitor.web import routes_api, routes_auth, routes_pages, routes_wallboard

    out = []
    for module in (routes_api, routes_auth, routes_pages, routes_wallboard):
        for r in module.router.routes:
            if not isinstance(r, APIRoute):
                continue
            for m in r.methods:
                out.append((m, SAMPLES.get(r.path, r.path)))
    return sorted(out)


def test_every_route_is_known(app) -> None:  # type: ignore[no-untyped-def]
    paths = {p for _, p in _routes(app)}
    assert "{" not in "".join(paths), "add a sample path for every parametrised route"
    assert {
        "/flags",
        "/wallboard",
        "/wallboard/stream",
        "/api/flags",
        "/export/calls.csv",
        "/recordings/2026/c1.wav",
        "/admin/audit",
    } <= paths


def test_anonymous_is_refused_everywhere(app, client_for) -> None:  # type: ignore[no-untyped-def]
    anon = client_for(None)
    checked = 0
    for method, path in _routes(app):
        if path in PUBLIC:
            continue
        resp = anon.request(method, path, follow_redirects=False)
        assert resp.status_code in (401, 303), (method, path, resp.status_code)
        if resp.status_code == 303:
            assert resp.headers["location"].startswith("/login?next="), path
        assert "Jane Caller" not in resp.text
        checked += 1
    assert checked >= 18
    api = anon.get("/api/calls")
    assert api.status_code == 401 and api.json() == {"error": "login required"}
    assert anon.get("/recordings/2026/c1.wav").status_code == 401


@pytest.mark.parametrize(
    ("user", "method", "path"),
    [
        ("sup1", "POST", "/calls/c1/claim"),
        ("sup1", "POST", "/calls/c1/review"),
        ("sup1", "POST", "/calls/c1/reopen"),
        ("sup1", "GET", "/recordings/2026/c1.wav"),
        ("sup1", "GET", "/admin/audit"),
        ("qa1", "GET", "/admin/audit"),
        ("qa1", "POST", "/promises/1/cancel"),
    ],
)
def test_wrong_role_is_forbidden(client_for, user, method, path) -> None:  # type: ignore[no-untyped-def]
    c = client_for(user)
    token = csrf_of(c.get("/flags").text)
    resp = c.request(method, path, data={"csrf": token} if method == "POST" else None)
    assert resp.status_code == 403, resp.text
    assert "your role" in resp.text


def test_admin_sees_audit(client_for) -> None:  # type: ignore[no-untyped-def]
    page = client_for("admin1").get("/admin/audit")
    assert page.status_code == 200 and "login" in page.text and "qa1" in page.text


def test_hostile_caller_name_is_inert(client_for) -> None:  # type: ignore[no-untyped-def]
    qa = client_for("qa1")
    for path in ("/flags", "/calls/c2"):
        html = qa.get(path).text
        assert HOSTILE not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    api = qa.get("/api/calls/c2").json()
    assert api["caller"] == "+441632960001"
    resp = client_for("sup1").get("/export/calls.csv")
    # issue 19: the caller's name is a CSV column now; a download, never rendered as HTML
    assert resp.headers["content-type"].startswith("text/csv")
    assert resp.headers["content-disposition"].startswith("attachment")
    assert resp.headers["x-content-type-options"] == "nosniff"
    rows = {r["call_id"]: r for r in csv.DictReader(io.StringIO(resp.text))}
    assert rows["c2"]["caller_name"] == HOSTILE  # the text as given, in its own cell


def test_post_without_csrf_is_refused(client_for, store) -> None:  # type: ignore[no-untyped-def]
    qa = client_for("qa1")
    assert qa.post("/calls/c1/claim", data={}).status_code == 403
    assert qa.post("/calls/c1/claim", data={"csrf": "forged"}).status_code == 403
    stored = store.call("c1")
    assert stored.flag.status == "open"
    sup = client_for("sup1")
    assert sup.post("/logout", data={}).status_code == 403
    anon = client_for(None)
    resp = anon.post("/login", data={"username": "qa1", "password": "correct horse battery"})
    assert resp.status_code == 403  # no login CSRF cookie/field


def test_non_ascii_csrf_token_is_refused_not_a_crash(client_for) -> None:  # type: ignore[no-untyped-def]
    qa = client_for("qa1")
    assert qa.post("/calls/c1/claim", data={"csrf": "\x80é"}).status_code == 403
    anon = client_for(None)
    anon.get("/login")
    resp = anon.post("/login", data={"username": "qa1", "password": "x", "csrf": "ü"})
    assert resp.status_code == 403


def test_other_users_csrf_token_is_refused(client_for) -> None:  # type: ignore[no-untyped-def]
    qa1, qa2 = client_for("qa1"), client_for("qa2")
    token1 = csrf_of(qa1.get("/flags").text)
    assert qa2.post("/calls/c1/claim", data={"csrf": token1}).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/recordings/..%2F..%2Fetc%2Fpasswd",
        "/recordings/%2E%2E/secret.wav",
        "/recordings/2026/..%2F..%2Fsecret.wav",
        "/recordings//etc/passwd",
        "/recordings/%2Fetc%2Fpasswd",
        "/recordings/2026/missing.wav",
        "/recordings/2026/c1.wav%00.txt",
    ],
)
def test_path_traversal_refused(client_for, path) -> None:  # type: ignore[no-untyped-def]
    resp = client_for("qa1").get(path)
    assert resp.status_code == 404
    assert b"top secret" not in resp.content and b"root:" not in resp.content


def test_security_headers(client_for) -> None:  # type: ignore[no-untyped-def]
    for c, path in ((client_for(None), "/login"), (client_for("qa1"), "/calls/c1")):
        h = c.get(path).headers
        assert "script-src 'self'" in h["content-security-policy"]
        assert "unsafe-inline" not in h["content-security-policy"]
        assert h["x-frame-options"] == "DENY"
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "same-origin"


def test_open_redirect_refused(client_for) -> None:  # type: ignore[no-untyped-def]
    anon = client_for(None)
    page = anon.get("/login")
    resp = anon.post(
        "/login",
        data={
            "username": "qa1",
            "password": "correct horse battery",
            "csrf": csrf_of(page.text),
            "next": "//evil.example",
        },
        follow_redirects=False,
    )
    assert resp.headers["location"] == "/flags"
