"""Issue 14, point 4: brute force is throttled per user and per address with back-off,
lockouts are audited, and concurrent password checks are bounded."""

from __future__ import annotations

import threading

import pytest
from web_testkit import PASSWORD, csrf_of

from monitor.store import Store
from monitor.store.login_failures import prune
from monitor.store.schema import login_failures
from monitor.web.app import create_app
from monitor.web.throttle import Busy, LoginGuard, LoginThrottle, StoredLoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _attempt(client, user: str, password: str):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": user, "password": password, "csrf": csrf_of(page.text), "next": "/"},
        follow_redirects=False,
    )


@pytest.fixture
def clock(app) -> Clock:  # type: ignore[no-untyped-def]
    c = Clock()
    app.state.login_guard.throttle.clock = c
    return c


def test_repeated_wrong_passwords_lock_the_user(app, client_for, store, clock) -> None:  # type: ignore[no-untyped-def]
    anon = client_for(None)
    codes = [_attempt(anon, "qa1", f"wrong {i}").status_code for i in range(50)]
    assert codes[:6] == [401] * 6  # 5 free failures, the 6th sets a 1 s lock
    assert codes[6:] == [429] * 44  # refused without a password check while locked
    right = _attempt(anon, "qa1", PASSWORD)
    assert right.status_code == 429, "the right password right after must be refused"
    assert right.headers["retry-after"] == "1"
    assert "Too many failed logins" in right.text
    locks = [e for e in store.audit_entries() if e.action == "login_locked"]
    assert len(locks) == 1 and locks[0].actor == "qa1"
    assert locks[0].detail["locked"] == "user:qa1" and locks[0].detail["seconds"] == 1.0
    other = client_for(None)
    assert _attempt(other, "qa2", PASSWORD).status_code == 303  # other users unaffected

    clock.now += 1.5
    assert _attempt(anon, "qa1", "wrong again").status_code == 401  # lock doubles: 2 s
    clock.now += 1.5
    assert _attempt(anon, "qa1", PASSWORD).status_code == 429
    clock.now += 1.0
    assert _attempt(anon, "qa1", PASSWORD).status_code == 303  # after the lock: let in
    assert _attempt(client_for(None), "qa1", "wrong").status_code == 401  # count was cleared


def test_many_names_from_one_address_lock_the_address(client_for, store, clock) -> None:  # type: ignore[no-untyped-def]
    anon = client_for(None)
    codes = [_attempt(anon, f"guess{i}", "wrong password").status_code for i in range(21)]
    assert codes == [401] * 21  # 20 free; the 21st sets the address lock
    assert _attempt(anon, "sup1", PASSWORD).status_code == 429
    locks = [e.detail["locked"] for e in store.audit_entries() if e.action == "login_locked"]
    assert locks == ["address:testclient"]


@pytest.mark.parametrize("kept", ["memory", "store"])
def test_back_off_doubles_up_to_the_cap(store, kept: str) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    kw = {"free_user": 2, "free_address": 100, "base_seconds": 1, "max_seconds": 8}
    t = (
        LoginThrottle(clock=clock, **kw)  # type: ignore[arg-type]
        if kept == "memory"
        else StoredLoginThrottle(store.engine, clock=clock, **kw)
    )
    seconds = []
    for _ in range(8):
        clock.now += 100  # always after the previous lock
        seconds += [lock.seconds for lock in t.failed("user:a", "address:x")]
    assert seconds == [1, 2, 4, 8, 8, 8]
    assert t.retry_after("user:a") == 8
    clock.now += 901 + 8  # forgotten after 900 s without a failure
    assert t.failed("user:a", "address:x") == []


def test_password_checks_are_bounded_and_excess_refused_at_once() -> None:
    guard = LoginGuard(LoginThrottle(), max_concurrent=1, max_waiting=1, wait_seconds=0.05)
    release = threading.Event()
    started = threading.Event()

    def slow() -> str:
        started.set()
        release.wait(5)
        return "done"

    guard.admit()
    worker = threading.Thread(target=guard.check, args=(slow,))
    worker.start()
    assert started.wait(5)
    guard.admit()  # a waiting place
    with pytest.raises(Busy):
        guard.admit()  # no place left: refused at once
    with pytest.raises(Busy):
        guard.check(lambda: "x")  # waited wait_seconds for the running check
    release.set()
    worker.join(5)
    guard.leave()
    guard.leave()
    assert guard.check(lambda: "free") == "free"


def test_web_processes_on_one_store_share_one_budget_and_a_restart_keeps_it(
    app,
    store,
    settings,
    client_for,
    db_url: str,  # type: ignore[no-untyped-def]
) -> None:
    """Two web tiers (two processes behind a load balancer) on one store: failures on either
    count together, and a lock set through one holds on the other and after a restart."""
    from fastapi.testclient import TestClient

    other_store = Store.open(db_url)
    other = TestClient(create_app(other_store, settings), base_url="http://testserver")
    here = client_for(None)
    codes = [_attempt(here if i % 2 else other, "qa1", f"wrong {i}").status_code for i in range(6)]
    assert codes == [401] * 6  # 5 free between them; the 6th sets the lock
    assert _attempt(here, "qa1", PASSWORD).status_code == 429
    assert _attempt(other, "qa1", PASSWORD).status_code == 429
    restarted = TestClient(create_app(Store.open(db_url), settings), base_url="http://testserver")
    assert _attempt(restarted, "qa1", PASSWORD).status_code == 429
    other.close()
    restarted.close()
    other_store.close()


def test_forgotten_keys_are_pruned(store) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    t = StoredLoginThrottle(store.engine, free_user=1, clock=clock)
    t.failed("user:a", "address:x")
    t.failed("user:a", "address:x")  # a 1 s lock on user:a
    clock.now += 901
    t.failed("user:b", "address:y")
    with store.engine.begin() as conn:
        assert prune(conn, clock.now, t.forget_seconds) == 2  # user:a, address:x
        left = {r.key for r in conn.execute(login_failures.select())}
    assert left == {"user:b", "address:y"}
