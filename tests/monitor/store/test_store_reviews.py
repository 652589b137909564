"""Store: claim, immutable reviews, re-open, users, sessions and the audit log."""

from __future__ import annotations

import pytest
from callrecord_factory import record

from monitor.errors import StoreError
from monitor.store import Store


@pytest.fixture
def flagged(store: Store) -> Store:
    store.save_call(record("c1"))
    store.add_user("qa1", "qa", "correct horse")
    store.add_user("qa2", "qa", "battery staple")
    return store


def test_review_lifecycle_and_audit(flagged: Store) -> None:
    s = flagged
    draft = s.claim("c1", "qa1")
    assert draft.state == "open" and draft.reviewer == "qa1"
    assert s.claim("c1", "qa1").id == draft.id  # claiming again is a no-op
    with pytest.raises(StoreError, match="already claimed by 'qa1' since 2026-09-22 14:13:20 UTC"):
        s.claim("c1", "qa2")
    with pytest.raises(StoreError, match=r"claimed by .qa1. since .*only they can submit"):
        s.submit_review("c1", "qa2", "confirmed_breach", {}, "")
    done = s.submit_review(
        "c1", "qa1", "coaching_needed", {"greeted": True, "dead_air": False, "hold": None}, "n"
    )
    assert done.state == "closed" and done.score == 1 and done.score_max == 2
    with pytest.raises(StoreError, match="closed and cannot be edited"):
        s.submit_review("c1", "qa1", "not_a_breach", {}, "changed my mind")
    with pytest.raises(StoreError, match="already reviewed"):
        s.claim("c1", "qa2")
    with pytest.raises(StoreError, match="reason"):
        s.reopen("c1", "qa2", "  ")
    again = s.reopen("c1", "qa2", "agent disputes")
    assert again.reopened_from == done.id and again.state == "open"
    second = s.submit_review("c1", "qa2", "not_a_breach", {}, "ok")
    got = s.call("c1")
    assert got is not None and got.flag is not None and got.flag.status == "closed"
    assert [r.id for r in got.reviews] == [done.id, second.id]
    first = got.reviews[0]
    assert first.disposition == "coaching_needed" and first.notes == "n"  # untouched
    actions = [e.action for e in reversed(s.audit_entries(call_id="c1"))]
    assert actions == ["claim", "review", "reopen", "review"]


def test_bad_disposition_and_unflagged(flagged: Store) -> None:
    flagged.claim("c1", "qa1")
    with pytest.raises(StoreError, match="disposition"):
        flagged.submit_review("c1", "qa1", "meh", {}, "")
    flagged.save_call(record("plain", findings=()))
    with pytest.raises(StoreError, match="not flagged"):
        flagged.claim("plain", "qa1")


def test_users_and_passwords(store: Store) -> None:
    store.add_user("ann", "supervisor", "long enough pw")
    with pytest.raises(StoreError, match="already exists"):
        store.add_user("ann", "qa", "long enough pw")
    with pytest.raises(StoreError, match="role"):
        store.add_user("bob", "boss", "long enough pw")
    with pytest.raises(StoreError, match="too short"):
        store.add_user("bob", "qa", "short")
    with pytest.raises(StoreError, match="not valid"):
        store.add_user("../bob", "qa", "long enough pw")
    assert [(u.name, u.role) for u in store.users()] == [("ann", "supervisor")]
    user = store.authenticate("ann", "long enough pw")
    assert user is not None and user.role == "supervisor"
    assert store.authenticate("ann", "wrong password") is None
    assert store.authenticate("nobody", "long enough pw") is None
    store.set_password("ann", "another long pw")
    assert store.authenticate("ann", "another long pw") is not None
    with store.engine.connect() as conn:
        hashed = conn.exec_driver_sql("SELECT password_hash FROM users").scalar()
    assert isinstance(hashed, str) and hashed.startswith("$argon2")


def test_sessions_expire(store: Store, clock: object) -> None:
    store.add_user("ann", "qa", "long enough pw")
    token, csrf = store.create_session("ann", ttl_seconds=60)
    found = store.session(token)
    assert found is not None and found[0].name == "ann" and found[1] == csrf
    assert store.session("forged") is None
    clock.now += 61  # type: ignore[attr-defined]
    assert store.session(token) is None
    token2, _ = store.create_session("ann", ttl_seconds=60)
    store.end_session(token2)
    assert store.session(token2) is None
