"""Issue 19, item 9 (web): an agent login sees only the reviews of their own calls, never
another agent's, the queue, call pages, promises or admin pages; acknowledges or disputes
(CSRF, audited); a dispute shows in the QA queue with its comment and on the QA call page;
the agent sees the outcome. Random samples are marked in the queue. SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from callrecord_factory import T0, record
from web_testkit import HOSTILE, csrf_of

from monitor.store import Store


def _review(store: Store, call_id: str, disposition: str = "coaching_needed") -> int:
    store.claim(call_id, "qa1")
    return store.submit_review(call_id, "qa1", disposition, {"greeting": False}, "use your name").id


@pytest.fixture
def reviewed(store: Store) -> dict[str, int]:
    return {"c1": _review(store, "c1"), "c2": _review(store, "c2")}  # alice's, bob's


def test_agent_lands_on_my_reviews_and_sees_only_their_own(client_for, reviewed) -> None:  # type: ignore[no-untyped-def]
    agent = client_for("agent1")
    home = agent.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/my/reviews"
    page = agent.get("/my/reviews")
    assert page.status_code == 200 and 'id="agent-name">alice<' in page.text
    ids = re.findall(r'data-review="(\d+)"', page.text)
    assert ids == [str(reviewed["c1"])]
    assert "awaiting answer" in page.text and "coaching needed" in page.text
    # bob's review: not found for alice, and nothing of it shows
    for huge in ("2147483648", "99999999999999999999"):  # beyond the database's integer
        assert agent.get(f"/my/reviews/{huge}").status_code == 404
    other = agent.get(f"/my/reviews/{reviewed['c2']}")
    assert other.status_code == 404 and HOSTILE not in other.text and "sales" not in other.text
    token = csrf_of(page.text)
    for verb, data in (("acknowledge", {}), ("dispute", {"comment": "not me"})):
        resp = agent.post(f"/my/reviews/{reviewed['c2']}/{verb}", data={"csrf": token, **data})
        assert resp.status_code == 404, resp.text
    # the rest of the site is closed to an agent, route by route in test_web_permissions.py
    closed = ("/flags", "/calls/c1", "/calls/c2", "/api/calls", "/promises", "/admin/audit",
              "/wallboard", "/export/calls.csv", "/reports", "/recordings/2026/c1.wav")  # fmt: skip
    for path in closed:
        assert agent.get(path, follow_redirects=False).status_code == 403, path


def test_staff_cannot_use_the_agent_pages(client_for, reviewed) -> None:  # type: ignore[no-untyped-def]
    for user in ("qa1", "sup1", "admin1"):
        assert client_for(user).get("/my/reviews").status_code == 403


def test_acknowledge_needs_csrf_and_is_audited(client_for, store, reviewed) -> None:  # type: ignore[no-untyped-def]
    agent = client_for("agent1")
    rid = reviewed["c1"]
    page = agent.get(f"/my/reviews/{rid}")
    assert page.status_code == 200 and 'id="acknowledge"' in page.text
    assert agent.post(f"/my/reviews/{rid}/acknowledge", data={}).status_code == 403
    done = agent.post(
        f"/my/reviews/{rid}/acknowledge", data={"csrf": csrf_of(page.text)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == f"/my/reviews/{rid}"
    after = agent.get(f"/my/reviews/{rid}")
    assert "acknowledged" in after.text and 'id="acknowledge"' not in after.text
    entry = next(e for e in store.audit_entries("c1") if e.action == "review_acknowledge")
    assert entry.actor == "agent1" and entry.detail["review_id"] == rid


def test_dispute_goes_back_to_qa_with_its_comment_and_the_agent_sees_the_outcome(  # type: ignore[no-untyped-def]
    client_for, store, reviewed
) -> None:
    agent = client_for("agent1")
    rid = reviewed["c1"]
    token = csrf_of(agent.get(f"/my/reviews/{rid}").text)
    empty = agent.post(f"/my/reviews/{rid}/dispute", data={"csrf": token, "comment": "  "})
    assert empty.status_code == 400 and "say why" in empty.text
    long = agent.post(f"/my/reviews/{rid}/dispute", data={"csrf": token, "comment": "x" * 2001})
    assert long.status_code == 400 and "limit is 2,000" in long.text
    comment = f"I did greet by name {HOSTILE}"
    resp = agent.post(f"/my/reviews/{rid}/dispute", data={"csrf": token, "comment": comment})
    assert resp.status_code == 200 and "disputed: with QA" in resp.text
    assert HOSTILE not in resp.text and "&lt;script&gt;" in resp.text
    # QA: the call is open again in the queue, marked disputed, with the comment
    qa = client_for("qa1")
    queue = qa.get("/flags?status=open")
    assert "/calls/c1" in queue.text and "badge disputed" in queue.text
    assert "I did greet by name" in queue.text and HOSTILE not in queue.text
    api = {i["call_id"]: i for i in qa.get("/api/flags").json()["items"]}
    assert api["c1"]["dispute"] == comment and api["c1"]["status"] == "open"
    call = qa.get("/calls/c1")
    assert 'id="agent-answers"' in call.text and "disputed review #" in call.text
    assert "Claim for review" in call.text
    # QA reviews it again; the agent sees the outcome, and the queue mark goes
    qa.post("/calls/c1/claim", data={"csrf": csrf_of(call.text)})
    qa.post("/calls/c1/review", data={"csrf": csrf_of(call.text), "disposition": "not_a_breach",
                                      "notes": "you did, sorry"})  # fmt: skip
    outcome = agent.get(f"/my/reviews/{rid}")
    assert 'id="outcome"' in outcome.text and "not a breach" in outcome.text
    assert "changed from coaching needed" in outcome.text and "you did, sorry" in outcome.text
    assert "badge disputed" not in qa.get("/flags").text
    item = next(i for i in qa.get("/api/flags").json()["items"] if i["call_id"] == "c1")
    assert item["dispute"] is None and item["sample"] is False
    assert [a.kind for a in store.review_responses("c1")] == ["disputed"]


def test_sampled_calls_are_marked_in_the_queue_and_on_the_call_page(client_for, store) -> None:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    from monitor.store.sampling import week_of

    _, start, end = week_of(record().started_at, ZoneInfo("UTC"))
    store.save_call(record("later", started_at=end + 86400, findings=()))
    assert store.sample_calls(1, "UTC", 3600.0).picked >= 1  # c3: alice's unflagged call
    qa = client_for("qa1")
    queue = qa.get("/flags")
    assert "badge sample" in queue.text
    api = {i["call_id"]: i for i in qa.get("/api/flags").json()["items"]}
    assert api["c3"]["sample"] is True and api["c3"]["severity"] == "none"
    assert api["c1"]["sample"] is False
    assert 'id="sample-mark"' in qa.get("/calls/c3").text
    assert 'id="sample-mark"' not in qa.get("/calls/c1").text
    assert start <= T0 + 200 < end
