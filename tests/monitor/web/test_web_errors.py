"""Issue 14, point 3: no 500s, one error shape, nothing echoed back."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from web_testkit import csrf_of

SECURITY = ("content-security-policy", "x-frame-options", "x-content-type-options")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/flags?page=9223372036854775807", 400),
        ("GET", "/flags?page=-1", 400),
        ("GET", "/api/flags?page=2e17", 400),
        ("GET", "/api/flags?page=200000000000000000", 400),
        ("GET", "/api/flags?per_page=100000", 400),
        ("GET", "/api/calls?offset=99999999999999999999", 400),
        ("GET", "/api/calls?since=99999-99-99", 400),
        ("GET", "/api/promises/99999999999999999999999", 404),
        ("GET", "/api/promises/0", 404),
        ("GET", "/api/promises?offset=99999999999999999999", 400),
        ("POST", "/api/promises/99999999999999999999999/cancel", 404),
        ("POST", "/api/promises/2147483648/cancel", 404),
    ],
)
def test_hostile_numbers_are_client_errors(client_for, method, path, status) -> None:  # type: ignore[no-untyped-def]
    admin = client_for("admin1")
    token = csrf_of(admin.get("/flags").text)
    resp = admin.request(
        method, path, json={"reason": "x"} if method == "POST" else None,
        headers={"x-csrf-token": token, "accept": "application/json"},
    )  # fmt: skip
    assert resp.status_code == status, resp.text
    assert set(resp.json()) == {"error"} and isinstance(resp.json()["error"], str)


def test_web_cancel_of_a_huge_promise_id_is_404(client_for) -> None:  # type: ignore[no-untyped-def]
    sup = client_for("sup1")
    token = csrf_of(sup.get("/flags").text)
    for pid in ("99999999999999999999999", "2147483648", "٣", "0"):
        resp = sup.post(f"/promises/{pid}/cancel", data={"csrf": token, "reason": "r"})
        assert resp.status_code == 404, (pid, resp.text)
        assert "no such promise" in resp.text


@pytest.mark.parametrize("action", ["claim", "review", "reopen"])
def test_unknown_call_is_404(client_for, action: str) -> None:  # type: ignore[no-untyped-def]
    qa = client_for("qa1")
    token = csrf_of(qa.get("/flags").text)
    data = {"csrf": token, "disposition": "not_a_breach", "reason": "again"}
    resp = qa.post(f"/calls/no-such-call/{action}", data=data)
    assert resp.status_code == 404, resp.text
    api = qa.post(
        f"/calls/no-such-call/{action}", data=data, headers={"accept": "application/json"}
    )
    assert api.status_code == 404 and "no call" in api.json()["error"]
    unflagged = qa.post(f"/calls/c3/{action}", data=data)  # in the store, never flagged
    assert unflagged.status_code == 404 and "not flagged" in unflagged.text


def test_validation_errors_take_the_one_shape_and_echo_nothing(client_for) -> None:  # type: ignore[no-untyped-def]
    sup = client_for("sup1")
    token = csrf_of(sup.get("/flags").text)
    marker = "ECHO" * 10_000  # 40 kB
    resp = sup.post(
        "/api/promises", json={"number": marker, "due_in_seconds": "soon", "reason": marker},
        headers={"x-csrf-token": token},
    )  # fmt: skip
    assert resp.status_code == 422
    body = resp.json()
    assert set(body) == {"error"} and body["error"].startswith("invalid request: body number")
    assert "ECHO" not in resp.text and len(resp.content) < 1000
    not_json = sup.post(
        "/api/promises", content=b"{" + marker.encode(),
        headers={"x-csrf-token": token, "content-type": "application/json"},
    )  # fmt: skip
    assert not_json.status_code == 422 and "ECHO" not in not_json.text
    assert set(not_json.json()) == {"error"}


def test_unexpected_errors_are_500_in_the_shape_with_headers(app, store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("database exploded: SECRET-DETAIL")

    client = TestClient(app, raise_server_exceptions=False)
    from web_testkit import login

    login(client, "qa1")
    monkeypatch.setattr(store, "list_calls", boom)
    monkeypatch.setattr(store, "flagged", boom)
    api = client.get("/api/calls")
    page = client.get("/flags")
    for resp in (api, page):
        assert resp.status_code == 500
        for name in SECURITY:
            assert name in resp.headers, (name, resp.headers)
        assert resp.headers["cache-control"] == "no-store"
        assert "SECRET-DETAIL" not in resp.text and "Traceback" not in resp.text
    assert api.json() == {
        "error": "internal error: the server could not answer this request; it was logged"
    }
    assert page.headers["content-type"].startswith("text/html") and "<h1>500</h1>" in page.text
    client.close()


def test_long_review_notes_are_refused_not_cut(client_for, store) -> None:  # type: ignore[no-untyped-def]
    qa = client_for("qa1")
    token = csrf_of(qa.get("/flags").text)
    assert qa.post("/calls/c1/claim", data={"csrf": token}).status_code == 200
    notes = "n" * 10_001
    resp = qa.post(
        "/calls/c1/review", data={"csrf": token, "disposition": "not_a_breach", "notes": notes}
    )
    assert resp.status_code == 400
    assert "notes is 10,001 characters; the limit is 10,000" in resp.text
    assert store.call("c1").flag.status == "claimed"  # nothing stored
    ok = qa.post(
        "/calls/c1/review", data={"csrf": token, "disposition": "not_a_breach", "notes": notes[1:]}
    )
    assert ok.status_code == 200
    assert store.call("c1").reviews[-1].notes == notes[1:]
