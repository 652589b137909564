"""Issue 14, point 5: an admin releases or reassigns a claimed call (web and API), audited."""

from __future__ import annotations

import pytest
from web_testkit import csrf_of


def _claim(client_for, store, who: str = "qa1"):  # type: ignore[no-untyped-def]
    qa = client_for(who)
    token = csrf_of(qa.get("/flags").text)
    assert qa.post("/calls/c1/claim", data={"csrf": token}).status_code == 200
    assert store.call("c1").flag.claimed_by == who
    return qa, token


def test_admin_releases_a_claimed_call_on_the_web(client_for, store) -> None:  # type: ignore[no-untyped-def]
    _claim(client_for, store)
    admin = client_for("admin1")
    page = admin.get("/calls/c1")
    assert 'id="release"' in page.text and 'id="assign"' in page.text
    token = csrf_of(page.text)
    resp = admin.post("/calls/c1/release", data={"csrf": token, "reason": "qa1 is off sick"})
    assert resp.status_code == 200
    stored = store.call("c1")
    assert stored.flag.status == "open" and stored.flag.claimed_by is None
    assert [r.state for r in stored.reviews] == []  # the empty draft went
    entry = next(e for e in store.audit_entries() if e.action == "release")
    assert entry.actor == "admin1" and entry.call_id == "c1"
    assert entry.detail == {"from": "qa1", "reason": "qa1 is off sick"}
    assert "qa2" in page.text  # reviewers offered for reassigning
    again = admin.post("/calls/c1/release", data={"csrf": token})
    assert again.status_code == 409 and "not claimed" in again.text


def test_admin_reassigns_by_api_and_the_new_reviewer_finishes(client_for, store) -> None:  # type: ignore[no-untyped-def]
    qa1, qa1_token = _claim(client_for, store)
    admin = client_for("admin1")
    token = csrf_of(admin.get("/flags").text)
    hdr = {"x-csrf-token": token}
    bad = admin.post("/api/calls/c1/assign", json={"to": "sup1"}, headers=hdr)
    assert bad.status_code == 409 and "not an enabled qa or admin" in bad.json()["error"]
    resp = admin.post("/api/calls/c1/assign", json={"to": "qa2"}, headers=hdr)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"call_id": "c1", "status": "claimed", "claimed_by": "qa2"}
    entry = next(e for e in store.audit_entries() if e.action == "reassign")
    assert entry.actor == "admin1" and entry.detail == {"from": "qa1", "to": "qa2"}
    review = {"csrf": qa1_token, "disposition": "not_a_breach"}
    assert qa1.post("/calls/c1/review", data=review).status_code == 409  # no longer theirs
    qa2 = client_for("qa2")
    review["csrf"] = csrf_of(qa2.get("/flags").text)
    assert qa2.post("/calls/c1/review", data=review).status_code == 200
    assert store.call("c1").reviews[-1].reviewer == "qa2"
    assert store.call("c1").flag.status == "closed"


@pytest.mark.parametrize("path", ["/api/calls/c1/release", "/api/calls/c1/assign"])
def test_only_admins_hand_over_calls(client_for, store, path: str) -> None:  # type: ignore[no-untyped-def]
    qa2 = client_for("qa2")
    _claim(client_for, store)
    token = csrf_of(qa2.get("/flags").text)
    resp = qa2.post(path, json={"to": "qa2"}, headers={"x-csrf-token": token})
    assert resp.status_code == 403
    assert store.call("c1").flag.claimed_by == "qa1"


def test_admin_api_release_and_unknown_call(client_for, store) -> None:  # type: ignore[no-untyped-def]
    _claim(client_for, store)
    admin = client_for("admin1")
    hdr = {"x-csrf-token": csrf_of(admin.get("/flags").text)}
    assert admin.post("/api/calls/nope/release", json={}, headers=hdr).status_code == 404
    resp = admin.post("/api/calls/c1/release", json={"reason": "stuck"}, headers=hdr)
    assert resp.status_code == 200 and resp.json() == {"call_id": "c1", "status": "open"}
    assert store.call("c1").flag.status == "open"
