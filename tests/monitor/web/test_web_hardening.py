"""Issue 14, point 6: Origin/Referer checks, HSTS over TLS, the request body limit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from web_testkit import csrf_of, login

from monitor.web import WebSettings, create_app


def _claim(client, **headers: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/flags").text)
    return client.post("/calls/c1/claim", data={"csrf": token}, headers=headers)


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "http://testserver.evil.example"},
        {"referer": "https://evil.example/page"},
        {"referer": "not a url"},
    ],
)
def test_cross_site_posts_are_refused(client_for, store, headers) -> None:  # type: ignore[no-untyped-def]
    resp = _claim(client_for("qa1"), **headers)
    assert resp.status_code == 403 and "cross-site request refused" in resp.text
    assert store.call("c1").flag.status == "open"


def test_cross_site_api_post_and_login_are_refused(client_for) -> None:  # type: ignore[no-untyped-def]
    sup = client_for("sup1")
    token = csrf_of(sup.get("/flags").text)
    resp = sup.post(
        "/api/promises", json={"number": "+44 7700 900123", "due_in_seconds": 60},
        headers={"x-csrf-token": token, "origin": "https://evil.example"},
    )  # fmt: skip
    assert resp.status_code == 403 and "cross-site" in resp.json()["error"]
    anon = client_for(None)
    page = anon.get("/login")
    resp = anon.post(
        "/login", data={"username": "qa1", "password": "x", "csrf": csrf_of(page.text)},
        headers={"origin": "https://evil.example"},
    )  # fmt: skip
    assert resp.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [{"origin": "http://testserver"}, {"referer": "http://testserver/calls/c1"}, {}],
)
def test_same_site_posts_pass(client_for, store, headers) -> None:  # type: ignore[no-untyped-def]
    assert _claim(client_for("qa1"), **headers).status_code == 200
    assert store.call("c1").flag.claimed_by == "qa1"


def test_configured_origin_is_allowed(store, live) -> None:  # type: ignore[no-untyped-def]
    app = create_app(store, WebSettings(allowed_origins=("https://Wall.example.com",)), live=live)
    with TestClient(app) as c:
        login(c, "qa1")
        assert _claim(c, origin="https://wall.example.com").status_code == 200
        assert _claim(c, origin="https://other.example.com").status_code == 403


def test_hsts_only_over_tls(store, live) -> None:  # type: ignore[no-untyped-def]
    app = create_app(store, WebSettings(), live=live)
    with TestClient(app, base_url="https://ringwatch.example") as tls:
        h = tls.get("/login").headers
        assert h["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        page = tls.get("/login")
        resp = tls.post(
            "/login",
            data={"username": "qa1", "password": "correct horse battery",
                  "csrf": csrf_of(page.text), "next": "/"},
            headers={"origin": "https://ringwatch.example"},  # same origin over https
            follow_redirects=False,
        )  # fmt: skip
        assert resp.status_code == 303 and "secure" in resp.headers["set-cookie"].lower()
    with TestClient(app, base_url="http://ringwatch.example") as plain:
        assert "strict-transport-security" not in plain.get("/login").headers
        forged = plain.get("/login", headers={"x-forwarded-proto": "https"})
        assert "strict-transport-security" not in forged.headers  # not trusted by default
    trusting = create_app(store, WebSettings(trust_forwarded_proto=True), live=live)
    with TestClient(trusting, base_url="http://ringwatch.example") as behind_proxy:
        resp = behind_proxy.get("/login", headers={"x-forwarded-proto": "https"})
        assert "strict-transport-security" in resp.headers
        assert "secure" in resp.headers["set-cookie"].lower()


def test_request_body_over_the_limit_is_413(client_for) -> None:  # type: ignore[no-untyped-def]
    sup = client_for("sup1")
    token = csrf_of(sup.get("/flags").text)
    big = {"number": "+44 7700 900123", "due_in_seconds": 60, "reason": "x" * 300_000}
    resp = sup.post("/api/promises", json=big, headers={"x-csrf-token": token})
    assert resp.status_code == 413
    assert resp.json() == {
        "error": "request body is larger than the limit of 262,144 bytes; send less"
    }
    assert resp.headers["x-frame-options"] == "DENY"  # the security headers too

    def chunks():  # no Content-Length: counted as it streams
        for _ in range(40):
            yield b"x" * 10_000

    streamed = sup.post(
        "/api/promises", content=chunks(),
        headers={"x-csrf-token": token, "content-type": "application/json"},
    )  # fmt: skip
    assert streamed.status_code == 413 and "larger than the limit" in streamed.json()["error"]


def test_longest_allowed_notes_fit_under_the_body_limit(client_for, store) -> None:  # type: ignore[no-untyped-def]
    qa = client_for("qa1")
    token = csrf_of(qa.get("/flags").text)
    qa.post("/calls/c1/claim", data={"csrf": token})
    notes = "ü" * 10_000  # 60 kB once UTF-8 and form-encoded
    resp = qa.post(
        "/calls/c1/review", data={"csrf": token, "disposition": "not_a_breach", "notes": notes}
    )
    assert resp.status_code == 200
    assert store.call("c1").reviews[-1].notes == notes
