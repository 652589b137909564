"""Issue 19, item 9 (store): an agent login linked to the agent on calls sees only the closed
reviews of their own calls; acknowledging and disputing are audited; a dispute (comment
required) puts the call back in the QA queue with its comment, and the next review is the
outcome the agent sees. SQLite and PostgreSQL (the ``store`` fixture is parametrised)."""

from __future__ import annotations

import pytest
from callrecord_factory import T0, record

from monitor.errors import NotFoundError, StoreError
from monitor.store import FlagFilter, Store


@pytest.fixture
def reviewed(store: Store) -> Store:
    store.save_call(record("c1", agent="Carol Clark"))
    store.save_call(record("c2", agent="Bob Brown", started_at=T0 + 100))
    store.add_user("qa1", "qa", "correct horse")
    store.add_user("carol", "agent", "correct horse", agent="Carol Clark")
    store.add_user("bob", "agent", "correct horse", agent=" Bob Brown ")
    for cid in ("c1", "c2"):
        store.claim(cid, "qa1")
        store.submit_review(cid, "qa1", "coaching_needed", {"greeted": False}, "greet by name")
    return store


def test_agent_login_needs_the_agent_name_and_only_agents_take_one(store: Store) -> None:
    with pytest.raises(StoreError, match="--agent 'Carol Clark'"):
        store.add_user("carol", "agent", "correct horse")
    with pytest.raises(StoreError, match="only for role agent"):
        store.add_user("sup", "supervisor", "correct horse", agent="Carol Clark")
    assert [u.name for u in store.users()] == []  # both refused whole (one transaction)
    store.add_user("carol", "agent", "correct horse", agent="Carol Clark")
    assert store.agent_for("carol") == "Carol Clark"
    assert store.agent_for("nobody") is None
    # deleted and added again (the name is free): linked to the new agent name
    store.delete_user("carol")
    store.add_user("carol", "agent", "correct horse", agent="Carol Smith")
    assert store.agent_for("carol") == "Carol Smith"
    added = [e for e in store.audit_entries() if e.action == "user_add"][::-1]
    assert added[0].detail == {"name": "carol", "role": "agent", "agent": "Carol Clark"}


def test_agent_sees_only_their_own_reviews(reviewed: Store) -> None:
    carol = reviewed.agent_reviews("Carol Clark")
    assert [v.review.call_id for v in carol] == ["c1"]
    assert carol[0].state == "awaiting answer" and carol[0].call.agent == "Carol Clark"
    bob_review = reviewed.agent_reviews("Bob Brown")[0].review.id
    with pytest.raises(NotFoundError, match="no review"):
        reviewed.agent_review("Carol Clark", bob_review)  # not hers: not found, no hint
    with pytest.raises(NotFoundError):
        reviewed.respond_to_review("carol", "Carol Clark", bob_review, "acknowledged")


def test_acknowledge_is_audited_and_final(reviewed: Store) -> None:
    rid = reviewed.agent_reviews("Carol Clark")[0].review.id
    reviewed.respond_to_review("carol", "Carol Clark", rid, "acknowledged")
    view = reviewed.agent_review("Carol Clark", rid)
    assert view.state == "acknowledged" and view.response is not None
    with pytest.raises(StoreError, match="already answered"):
        reviewed.respond_to_review("carol", "Carol Clark", rid, "disputed", "changed my mind")
    entry = next(e for e in reviewed.audit_entries("c1") if e.action == "review_acknowledge")
    assert entry.actor == "carol" and entry.detail == {"review_id": rid, "agent": "Carol Clark"}
    assert reviewed.call("c1").flag.status == "closed"  # type: ignore[union-attr]


def test_dispute_needs_a_comment_goes_back_to_qa_and_shows_the_outcome(reviewed: Store) -> None:
    s = reviewed
    rid = s.agent_reviews("Carol Clark")[0].review.id
    with pytest.raises(StoreError, match="say why"):
        s.respond_to_review("carol", "Carol Clark", rid, "disputed", "   ")
    with pytest.raises(StoreError, match="not one of"):
        s.respond_to_review("carol", "Carol Clark", rid, "ignored")
    s.respond_to_review("carol", "Carol Clark", rid, "disputed", "I greeted by name at 0:03")
    # back in the QA queue, open, with the comment
    open_ids = [r.call_id for r in s.flagged(FlagFilter(status="open")).items]
    assert open_ids == ["c1"]
    mark = s.queue_marks(["c1", "c2"])
    assert set(mark) == {"c1"} and mark["c1"].dispute == "I greeted by name at 0:03"
    assert mark["c1"].disputed_by == "Carol Clark" and not mark["c1"].sample
    assert s.agent_review("Carol Clark", rid).state == "disputed: with QA"
    audit = next(e for e in s.audit_entries("c1") if e.action == "review_dispute")
    assert audit.detail["comment"] == "I greeted by name at 0:03" and audit.detail["reopened"]
    assert [a.kind for a in s.review_responses("c1")] == ["disputed"]
    # QA reviews it again: the outcome the agent sees; the mark goes
    s.claim("c1", "qa1")
    s.submit_review("c1", "qa1", "not_a_breach", {"greeted": True}, "you did; sorry")
    view = s.agent_review("Carol Clark", rid)
    assert view.state == "disputed: re-reviewed" and view.outcome is not None
    assert view.outcome.disposition == "not_a_breach" and not view.latest
    assert s.queue_marks(["c1"]) == {}
    with pytest.raises(StoreError, match="already answered"):
        s.respond_to_review("carol", "Carol Clark", rid, "acknowledged")
    # the new review can be answered
    newest = s.agent_reviews("Carol Clark")[0]
    assert newest.review.id == view.outcome.id and newest.state == "awaiting answer"
    s.respond_to_review("carol", "Carol Clark", newest.review.id, "acknowledged")
    # a review QA replaced before the agent answered is superseded, not answerable
    old = s.agent_reviews("Bob Brown")[0].review.id
    s.reopen("c2", "qa1", "second look")
    s.submit_review("c2", "qa1", "not_a_breach", {}, "")
    assert s.agent_review("Bob Brown", old).state == "superseded"
    with pytest.raises(StoreError, match="newer review"):
        s.respond_to_review("bob", "Bob Brown", old, "acknowledged")


def test_a_tables_dropped_store_gets_them_back_on_open(db_url: str, clock: object) -> None:
    """An existing store from before this change (no agent tables) upgrades on open."""
    from callrecord_factory import FAST_HASHER
    from sqlalchemy import inspect

    from monitor.store.qa_tables import agent_logins, qa_sample_weeks, qa_samples, review_responses

    s = Store.open(db_url, hasher=FAST_HASHER, clock=clock)  # type: ignore[arg-type]
    for table in (review_responses, qa_samples, qa_sample_weeks, agent_logins):
        table.drop(s.engine)
    s.close()
    s = Store.open(db_url, hasher=FAST_HASHER, clock=clock)  # type: ignore[arg-type]
    try:
        names = set(inspect(s.engine).get_table_names())
        assert {"agent_logins", "review_responses", "qa_samples", "qa_sample_weeks"} <= names
        s.add_user("carol", "agent", "correct horse", agent="Carol Clark")
        assert s.agent_for("carol") == "Carol Clark"
    finally:
        s.close()
