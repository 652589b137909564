"""Kiosk tokens (issue 19, item 4): ``ringwatch users kiosk add|list|revoke`` (audited), and
what a kiosk session may do: the wallboard and its stream, nothing else."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient

from monitor.cli.main import cli
from monitor.store import Store
from monitor.store.kiosks import KIOSK_TTL_SECONDS
from monitor.web.permissions import ANONYMOUS, KIOSK, PERMISSIONS, WALL, allowed
from monitor.web.security import SESSION_COOKIE


def test_cli_adds_lists_and_revokes_a_kiosk_audited(tmp_path: Path) -> None:
    url = str(tmp_path / "rw.sqlite")
    run = CliRunner()
    missing = run.invoke(cli, ["users", "kiosk", "add", "tv-floor1", "--store", url])
    assert missing.exit_code != 0 and "does not exist" in str(missing.exception)
    Store.open(url).close()  # only `users add` creates a store
    added = run.invoke(cli, ["users", "kiosk", "add", "tv-floor1", "--store", url])
    assert added.exit_code == 0, added.output
    token = added.output.split("token (shown once; keep it secret): ")[1].split()[0]
    assert len(token) >= 40
    listed = run.invoke(cli, ["users", "kiosk", "list", "--store", url])
    assert listed.exit_code == 0 and listed.output.startswith("tv-floor1\tcreated ")
    store = Store.open(url)
    try:
        found = store.session(token)
        assert found is not None and found[0].role == KIOSK
        assert store.authenticate("tv-floor1", token) is None  # the token is no password
    finally:
        store.close()
    dup = run.invoke(cli, ["users", "kiosk", "add", "tv-floor1", "--store", url])
    assert dup.exit_code != 0 and "already exists" in str(dup.exception)
    revoked = run.invoke(cli, ["users", "kiosk", "revoke", "tv-floor1", "--store", url])
    assert revoked.exit_code == 0 and "1 session ended" in revoked.output
    again = run.invoke(cli, ["users", "kiosk", "revoke", "tv-floor1", "--store", url])
    assert again.exit_code != 0 and "no kiosk 'tv-floor1'" in str(again.exception)
    store = Store.open(url)
    try:
        assert store.session(token) is None
        actions = [e.action for e in store.audit_entries()]
        assert actions[:2] == ["kiosk_revoke", "kiosk_add"]
        assert store.kiosks() == []
    finally:
        store.close()


def test_a_kiosk_sees_the_wallboard_only_and_does_not_expire_with_a_shift(
    app: object, store: Store
) -> None:
    assert {"supervisor", "qa", "admin", KIOSK} == WALL
    token = store.add_kiosk("tv1", actor="admin1")
    with TestClient(app, base_url="http://testserver") as c:  # type: ignore[arg-type]
        bad = c.post("/kiosk", data={"token": "nope"})
        assert bad.status_code == 401 and "not valid" in bad.text
        signed = c.post("/kiosk", data={"token": token}, follow_redirects=False)
        assert signed.status_code == 303 and signed.headers["location"] == "/wallboard"
        cookie = signed.headers["set-cookie"]
        assert f"Max-Age={int(KIOSK_TTL_SECONDS)}" in cookie and "HttpOnly" in cookie
        assert c.cookies.get(SESSION_COOKIE) == token
        page = c.get("/wallboard")
        assert page.status_code == 200 and "wall screen: tv1" in page.text
        assert 'action="/logout"' not in page.text and 'href="/flags"' not in page.text
        for (method, path), (roles, _what) in PERMISSIONS.items():
            if method != "GET" or "{" in path or KIOSK in roles or ANONYMOUS in roles:
                continue
            resp = c.get(path, follow_redirects=False)
            assert resp.status_code == 403, (path, resp.status_code)
            assert not allowed(KIOSK, method, path)
        assert c.get("/calls/c1").status_code == 403
        assert c.get("/api/calls/c1").status_code == 403
        assert c.post("/logout", data={"csrf": "x"}).status_code == 403
    shift, _csrf = store.create_session("sup1", 8 * 3600.0)
    real = store.clock
    store.clock = lambda: real() + 30 * 86400.0  # a month later
    try:
        assert store.session(shift) is None  # a shift's session has ended
        assert store.session(token) is not None  # the kiosk has not
    finally:
        store.clock = real
    assert store.revoke_kiosk("tv1", actor="admin1") == 1
    with TestClient(app, base_url="http://testserver") as c:  # type: ignore[arg-type]
        c.cookies.set(SESSION_COOKIE, token)
        assert c.get("/wallboard/stream").status_code == 401


def test_wrong_kiosk_tokens_back_off_per_address_and_the_lock_is_audited(
    app: object, store: Store
) -> None:
    token = store.add_kiosk("tv2", actor="admin1")
    with TestClient(app, base_url="http://testserver") as c:  # type: ignore[arg-type]
        codes = [c.post("/kiosk", data={"token": f"guess-{i}"}).status_code for i in range(8)]
        assert codes[:6] == [401] * 6 and set(codes[6:]) == {429}, codes  # 5 free, 6th locks
        locked = c.post("/kiosk", data={"token": token}, follow_redirects=False)
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
        assert "Too many wrong kiosk tokens" in locked.text
    actions = [entry.action for entry in store.audit_entries(limit=50)]
    assert "kiosk_locked" in actions
