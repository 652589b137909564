"""Issue 14, point 1: a promise made through the API must not store (and so serve) the
maker's session or CSRF token; point 2: the API obeys the web form's roles and is audited."""

from __future__ import annotations

from web_testkit import csrf_of

from monitor.web.security import SESSION_COOKIE

BODY = {"number": "+44 7700 900123", "due_in_seconds": 3600, "reason": "call back"}


def _api_headers(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"x-csrf-token": csrf_of(client.get("/flags").text)}


def test_promise_api_does_not_leak_the_session(client_for) -> None:  # type: ignore[no-untyped-def]
    admin = client_for("admin1")
    admin_token = admin.cookies.get(SESSION_COOKIE)
    admin_csrf = _api_headers(admin)["x-csrf-token"]
    made = admin.post("/api/promises", json=BODY, headers={"x-csrf-token": admin_csrf})
    assert made.status_code == 201, made.text
    pid = made.json()["promise"]["id"]
    assert made.json()["promise"]["agent"] == "admin1"

    sup = client_for("sup1")
    listed = sup.get("/api/promises?view=open")
    shown = sup.get(f"/api/promises/{pid}")
    page = sup.get("/promises")
    for resp in (made, listed, shown, page):
        assert resp.status_code == 200 or resp.status_code == 201
        assert admin_token not in resp.text and admin_csrf not in resp.text
        assert "token=" not in resp.text and "csrf=" not in resp.text
    assert listed.json()["promises"][0]["agent"] == "admin1"
    assert shown.json()["history"][0]["actor"] == "user:admin1"

    # the takeover itself: a supervisor using any string the API served as a session cookie
    served = (listed.text + shown.text).replace('"', " ").replace("'", " ").split()
    thief = client_for(None)
    for word in {w for w in served if len(w) > 20}:
        thief.cookies.set(SESSION_COOKIE, word)
        assert thief.get("/admin/audit", follow_redirects=False).status_code in (303, 401)
    assert sup.get("/admin/audit").status_code == 403


def test_actor_is_the_name_and_a_principal_prints_no_secret() -> None:
    from monitor.promises.api import default_actor
    from monitor.store import User
    from monitor.web.security import Principal

    p = Principal(User("admin1", "admin", False, 1.0), csrf="CSRF-SECRET", token="SESSION-SECRET")
    assert default_actor(p) == "admin1" and p.username == "admin1"
    assert "SECRET" not in repr(p) and "SECRET" not in str(p)
    assert default_actor({"username": "carol"}) == "carol"
    assert default_actor(object()) == "unknown"  # never the object's text
